"""The VGA I/O registers (ports 0x3b0-0x3df) of QEMU's display adapters, as far as SLOF's
std-VGA and Cirrus drivers use them.

Ports are byte-wide in QEMU (its port handlers take one byte at a time; a wider access
is split, lowest address first), so the model takes bytes: `write(port, value)` and
`read(port)`.

Stores: the index/data pairs (attribute 0x3c0 with its flip-flop, sequencer 0x3c4/5,
graphics 0x3ce/f, CRT controller 0x3d4/5 or 0x3b4/5), the miscellaneous output register
(0x3c2, whose colour bit moves the CRT controller and input status between 0x3dx and
0x3bx: QEMU ignores the other set), the palette (0x3c8 write index, three 0x3c9 bytes
an entry) and the feature control (0x3da/0x3ba). The values are kept as written: nothing
SLOF's drivers do reads them back, and QEMU's per-register masks are not modelled.

Loads: input status 1 (0x3da, or 0x3ba in monochrome mode), what SLOF's Cirrus driver
reads: QEMU's default "dumb" retrace toggles the vertical-retrace and display-enable bits
(0x09) at each read and resets the attribute flip-flop. A port of the other colour set
reads 0xff. Any other load raises `DeviceNotModelled` (one line, naming the port).
"""
from __future__ import annotations

from slofpy.errors import DeviceNotModelled

FIRST_PORT = 0x3B0
LAST_PORT = 0x3DF
MISC_COLOR = 0x01          # miscellaneous output: CRTC and input status at 0x3dx
RETRACE_TOGGLE = 0x09      # vertical retrace | display enable


class VgaPorts:
    """One adapter's VGA register file (`name` says whose, in error messages)."""

    def __init__(self, name: str):
        self.name = name
        self.msr = 0
        self.st01 = 0
        self.fcr = 0
        self.ar_flip_flop = 0
        self.index = {"ar": 0, "sr": 0, "gr": 0, "cr": 0}
        self.regs: dict[str, dict[int, int]] = {"ar": {}, "sr": {}, "gr": {}, "cr": {}}
        self.dac_write_index = 0
        self.dac_cache: list[int] = []
        self.palette = bytearray(768)

    def _other_colour_set(self, port: int) -> bool:
        """Whether `port` belongs to the CRTC/status set the colour bit does not select."""
        if self.msr & MISC_COLOR:
            return 0x3B0 <= port <= 0x3BF
        return 0x3D0 <= port <= 0x3DF

    def write(self, port: int, value: int) -> None:
        """A byte stored to `port`."""
        value &= 0xFF
        if self._other_colour_set(port):
            return
        if port == 0x3C0:
            self._attribute(value)
        elif port == 0x3C2:
            self.msr = value & ~0x10
        elif port == 0x3C8:
            self.dac_write_index, self.dac_cache = value, []
        elif port == 0x3C9:
            self._palette(value)
        elif port in (0x3DA, 0x3BA):
            self.fcr = value & 0x10
        else:
            pair = {0x3C4: "sr", 0x3C5: "sr", 0x3CE: "gr", 0x3CF: "gr", 0x3D4: "cr",
                    0x3D5: "cr", 0x3B4: "cr", 0x3B5: "cr"}.get(port)
            if pair is None:
                raise DeviceNotModelled(f"{self.name}: a store to VGA port {port:#x} is not "
                                        f"modelled by slofpy")
            if port & 1:                 # the odd port of a pair is data, the even index
                self.regs[pair][self.index[pair]] = value
            else:
                self.index[pair] = value

    def _attribute(self, value: int) -> None:
        if self.ar_flip_flop == 0:
            self.index["ar"] = value & 0x3F
        else:
            self.regs["ar"][self.index["ar"] & 0x1F] = value
        self.ar_flip_flop ^= 1

    def _palette(self, value: int) -> None:
        self.dac_cache.append(value)
        if len(self.dac_cache) == 3:
            entry = (self.dac_write_index & 0xFF) * 3
            self.palette[entry:entry + 3] = bytes(self.dac_cache)
            self.dac_cache = []
            self.dac_write_index = (self.dac_write_index + 1) & 0xFF

    def read(self, port: int) -> int:
        """The byte a load from `port` gives."""
        if self._other_colour_set(port):
            return 0xFF
        if port in (0x3DA, 0x3BA):
            self.st01 ^= RETRACE_TOGGLE
            self.ar_flip_flop = 0
            return self.st01
        raise DeviceNotModelled(f"{self.name}: a load from VGA port {port:#x} is not "
                                f"modelled by slofpy")
