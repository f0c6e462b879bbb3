"""Big-endian cell access on a bytearray: the packers every part of the engine shares."""
import struct

_Q = struct.Struct(">q")
_UQ = struct.Struct(">Q")
_L = struct.Struct(">I")
_W = struct.Struct(">H")
U = _Q.unpack_from      # signed 64-bit
P = _Q.pack_into
UU = _UQ.unpack_from    # unsigned 64-bit
PU = _UQ.pack_into
UL = _L.unpack_from     # unsigned 32-bit
PL = _L.pack_into
UW = _W.unpack_from     # unsigned 16-bit
U2 = struct.Struct(">qq").unpack_from   # two signed cells
PW = _W.pack_into

# What the accesses above (and indexing the bytearray) raise for an offset past the end of
# memory or too large for an index. A negative offset raises nothing (it counts from the
# end), so whoever catches these checks for one first.
OUTSIDE = (struct.error, IndexError, OverflowError)
