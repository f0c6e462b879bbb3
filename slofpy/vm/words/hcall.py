"""Hypervisor calls: SLOF's lib/libhvcall words, each one `sc 1` with its hcall number.

The engine knows nothing of what an hcall does: it hands the number and the register values
to `vm.hypervisor` (anything with ``hcall(number, *args) -> (rc, outputs)``; see slofpy.hv)
and pushes what comes back. Without a hypervisor every hcall answers H_FUNCTION (-2), as an
old QEMU does for hcalls it does not know. `fdt-start` gives the address at which the
firmware was handed its flattened device tree (SLOF's r3 at entry), 0 when there is none.

`memop_move` and `memop_fill` are paflof's RMOVE/MRMOVE and RFILL on board-qemu
(include/ppcp7/cache.h, lib/libhvcall/rfill.c): the copy is KVMPPC_H_LOGICAL_MEMOP, so the
host moves the bytes and device memory (a BAR) is reached as the host routes it.
"""
from __future__ import annotations

from ...errors import DeviceNotModelled, Throw
from .. import layout as L
from .table import word

H_FUNCTION = -2
H_GET_TCE, H_PUT_TCE = 0x1C, 0x20
H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE = 0x3C, 0x40
H_GET_TERM_CHAR, H_PUT_TERM_CHAR = 0x54, 0x58
H_REG_CRQ, H_FREE_CRQ, H_SEND_CRQ = 0xFC, 0x100, 0x108
KVMPPC_H_RTAS, KVMPPC_H_LOGICAL_MEMOP, KVMPPC_H_CAS, KVMPPC_H_UPDATE_DT = 0xF000, 0xF001, 0xF002, 0xF003


def signed(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


def hcall(vm, number: int, *args: int) -> tuple[int, tuple[int, ...]]:
    hv = vm.hypervisor
    if hv is None:
        return H_FUNCTION, ()
    try:
        rc, outputs = hv.hcall(number, *args)
    except DeviceNotModelled as e:
        raise Throw(-21, str(e)) from None
    return signed(rc), tuple(outputs)


def _pop(vm, n: int) -> list[int]:
    s = vm.s
    if len(s) < n:
        raise Throw(-4)
    args = s[len(s) - n:]
    del s[len(s) - n:]
    return args


def _rc_word(name: str, number: int, nargs: int) -> None:
    """A word ( args -- rc ) for an hcall that returns only its code."""
    def run(vm) -> None:
        vm.s.append(hcall(vm, number, *_pop(vm, nargs))[0])
    word(name)(run)


_rc_word("hv-update-dt", KVMPPC_H_UPDATE_DT, 1)        # ( dtb -- rc )
_rc_word("hv-rtas", KVMPPC_H_RTAS, 1)                  # ( rtas-args -- rc )
_rc_word("hv-cas", KVMPPC_H_CAS, 3)                    # ( vec buf size -- rc )
_rc_word("hv-put-tce", H_PUT_TCE, 3)                   # ( liobn ioba tce -- rc )
_rc_word("hv-reg-crq", H_REG_CRQ, 3)                   # ( unit qaddr qsize -- rc )
_rc_word("hv-logical-memop", KVMPPC_H_LOGICAL_MEMOP, 5)  # ( dst src esize count op -- rc )


@word("hv-free-crq")
def hv_free_crq(vm) -> None:                            # ( unit -- )
    hcall(vm, H_FREE_CRQ, *_pop(vm, 1))


@word("hv-send-crq")
def hv_send_crq(vm) -> None:                            # ( unit msgaddr -- rc )
    unit, msg = _pop(vm, 2)
    data = vm.read(msg, 16)
    vm.s.append(hcall(vm, H_SEND_CRQ, unit, int.from_bytes(data[:8], "big"),
                      int.from_bytes(data[8:], "big"))[0])


@word("hv-putchar")
def hv_putchar(vm) -> None:                             # ( termno char -- )
    termno, char = _pop(vm, 2)
    hcall(vm, H_PUT_TERM_CHAR, termno, 1, (char & 0xFF) << 56, 0)


def _term_read(vm, termno: int) -> bytes:
    rc, out = hcall(vm, H_GET_TERM_CHAR, termno)
    if rc != 0 or not out or not out[0]:
        return b""
    length = min(out[0], 16)
    return ((out[1] & ((1 << 64) - 1)).to_bytes(8, "big")
            + (out[2] & ((1 << 64) - 1)).to_bytes(8, "big"))[:length]


def _term_input(vm) -> bytearray:
    """The bytes waiting, asking the host for the popped terminal number's when none are.
    The buffer is one for all terminal numbers, as libhvcall's is: SLOF's key? asks terminal
    0 (QEMU's default vty) and the vty node's read method its unit address, and a character
    key? brought in is what read hands out next."""
    termno, = _pop(vm, 1)
    buf = vm.term_input
    if not buf:
        buf += _term_read(vm, termno)
    return buf


@word("hv-haschar")
def hv_haschar(vm) -> None:                             # ( termno -- flag )
    vm.s.append(-1 if _term_input(vm) else 0)


@word("hv-getchar")
def hv_getchar(vm) -> None:                             # ( termno -- char )
    buf = _term_input(vm)
    vm.s.append(buf.pop(0) if buf else 0)


def _ci_load(size: int):
    def run(vm) -> None:                                # ( addr -- value )
        addr, = _pop(vm, 1)
        rc, out = hcall(vm, H_LOGICAL_CI_LOAD, size, addr)
        vm.s.append(signed(out[0]) if rc == 0 and out else -1)
    return run


def _ci_store(size: int):
    def run(vm) -> None:                                # ( value addr -- )
        value, addr = _pop(vm, 2)
        hcall(vm, H_LOGICAL_CI_STORE, size, addr, value & ((1 << (8 * size)) - 1))
    return run


for _name, _size in (("b", 1), ("w", 2), ("l", 4), ("x", 8)):
    word(f"r{_name}@")(_ci_load(_size))
    word(f"r{_name}!")(_ci_store(_size))


@word("fdt-start")
def fdt_start(vm) -> None:                              # ( -- addr )
    vm.s.append(vm.fdt_start)


# ---------------------------------------------------------------- paflof's memop copies
MEMOP_COPY = 0
RFILL_CHUNK = 512     # fast_rfill's buffer: 64 cells on paflof's C stack


def memop_esize(src: int, dst: int, length: int) -> int:
    """The element size (log2 bytes) _FASTRMOVE picks from the alignment of src|dst|len:
    8 bytes when all are cell-aligned, 4 when 4-aligned, 2 when 2-aligned, else 1."""
    low = (src | dst | length) & 7
    if low == 0:
        return 3
    if low == 4:
        return 2
    return 1 if low in (2, 6) else 0


def memop_move(vm, src: int, dst: int, length: int, name: str) -> None:
    """( src dst len ) copied as one memop hcall, as _FASTRMOVE does (len taken unsigned);
    a refused copy (memory that is neither guest RAM nor device memory the host models)
    is one -9 error naming the word and the range."""
    src, dst, length = src & L.MASK64, dst & L.MASK64, length & L.MASK64
    esize = memop_esize(src, dst, length)
    rc, _ = hcall(vm, KVMPPC_H_LOGICAL_MEMOP, dst, src, esize, length >> esize, MEMOP_COPY)
    if rc != 0:
        raise Throw(-9, f"{name}: the host refused to copy {length:#x} bytes from {src:#x} "
                        f"to {dst:#x} (memop hcall rc {rc}): not memory it has")


def memop_fill(vm, dst: int, length: int, pattern: int) -> None:
    """paflof's fast_rfill: the low byte of `pattern` (a C char) fills a 512-byte buffer on
    the C stack, which is copied out with memop hcalls in 512-byte pieces, the last one
    the rest. slofpy's stand-in for that stack frame is L.RFILL_BUFFER."""
    length &= L.MASK64
    dst &= L.MASK64
    buf = L.RFILL_BUFFER
    vm.write(buf, bytes((pattern & 0xFF,)) * min(length, RFILL_CHUNK))
    while length > RFILL_CHUNK:
        memop_move(vm, buf, dst, RFILL_CHUNK, "RFILL")
        dst += RFILL_CHUNK
        length -= RFILL_CHUNK
    memop_move(vm, buf, dst, length, "RFILL")
