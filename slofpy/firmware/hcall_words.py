"""The board's words that reach the machine: one `sc 1` each, as board-qemu has them.

On QEMU's pseries board SLOF talks to the machine through hypervisor calls only. These are
the Forth words that make them, for slofpy's board (board.py) and for SLOF itself
(slofpy.slof): SLOF's libhvcall words (hv-putchar, hv-getchar, hv-haschar, the CRQ and TCE
calls, hv-rtas, hv-cas, hv-update-dt, hv-logical-memop), paflof's RB@ ... RX! and RB! ... RX!
(H_LOGICAL_CI_LOAD/STORE). The engine knows none of them (paflof's own FDT-START, the address
the firmware was handed at entry, is the engine's: vm.fdt_start): `HcallWords.install` defines them on a machine
as the board loads, each a colon definition of one (C-CODE) call, and gives the engine's
RMOVE, MRMOVE and RFILL the board's way of copying (`vm.device_copy`): paflof on board-qemu
copies with the KVMPPC_H_LOGICAL_MEMOP hcall (include/ppcp7/cache.h, lib/libhvcall/rfill.c),
so the host moves the bytes and device memory (a BAR) is reached as the host routes it.

The hypervisor is anything with ``hcall(number, *args) -> (rc, outputs)`` (slofpy.hv).
"""
from __future__ import annotations

from typing import Callable

from ..abi.hcalls import (H_FREE_CRQ, H_GET_TERM_CHAR, H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE,
                          H_PUT_TCE, H_PUT_TERM_CHAR, H_REG_CRQ, H_SEND_CRQ, KVMPPC_H_CAS,
                          KVMPPC_H_LOGICAL_MEMOP, KVMPPC_H_RTAS, KVMPPC_H_UPDATE_DT)
from ..errors import DeviceNotModelled, Throw
from ..vm import layout as L

MEMOP_COPY = 0
RFILL_CHUNK = 512     # fast_rfill's buffer: 64 cells on paflof's C stack
_MASK64 = (1 << 64) - 1

# the hcalls whose word takes its arguments off the stack as they are and leaves the code
_RC_WORDS = (
    ("hv-update-dt", KVMPPC_H_UPDATE_DT, 1),        # ( dtb -- rc )
    ("hv-rtas", KVMPPC_H_RTAS, 1),                  # ( rtas-args -- rc )
    ("hv-cas", KVMPPC_H_CAS, 3),                    # ( vec buf size -- rc )
    ("hv-put-tce", H_PUT_TCE, 3),                   # ( liobn ioba tce -- rc )
    ("hv-reg-crq", H_REG_CRQ, 3),                   # ( unit qaddr qsize -- rc )
    ("hv-logical-memop", KVMPPC_H_LOGICAL_MEMOP, 5),  # ( dst src esize count op -- rc )
)


def signed(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


def memop_esize(src: int, dst: int, length: int) -> int:
    """The element size (log2 bytes) _FASTRMOVE picks from the alignment of src|dst|len:
    8 bytes when all are cell-aligned, 4 when 4-aligned, 2 when 2-aligned, else 1."""
    low = (src | dst | length) & 7
    if low == 0:
        return 3
    if low == 4:
        return 2
    return 1 if low in (2, 6) else 0


def _pop(vm, n: int) -> list[int]:
    s = vm.s
    if len(s) < n:
        raise Throw(-4)
    args = s[len(s) - n:]
    del s[len(s) - n:]
    return args


class HcallWords:
    """The hcall words of one booting machine, with what they keep: the console input
    H_GET_TERM_CHAR brought that hv-getchar has not handed out yet (one buffer for every
    terminal number, as SLOF's libhvcall keeps one)."""

    def __init__(self, hypervisor):
        self.hypervisor = hypervisor
        self.term_input = bytearray()

    def hcall(self, number: int, *args: int) -> tuple[int, tuple[int, ...]]:
        """(rc as a signed cell, outputs); a device the host does not model is -21."""
        try:
            rc, outputs = self.hypervisor.hcall(number, *args)
        except DeviceNotModelled as e:
            raise Throw(-21, str(e)) from None
        return signed(rc), tuple(outputs)

    def install(self, machine) -> None:
        """Define the words on machine (a slofpy Machine) and give its engine the board's
        RMOVE/RFILL copies."""
        machine.define_python_words(self.words(), "<slofpy: the board's hcall words>")
        machine.vm.device_copy = self

    def words(self) -> dict[str, Callable]:
        """name -> f(vm) for every word."""
        out: dict[str, Callable] = {name: self._rc_word(number, nargs)
                                    for name, number, nargs in _RC_WORDS}
        out.update({"hv-free-crq": self._free_crq, "hv-send-crq": self._send_crq,
                    "hv-putchar": self._putchar, "hv-haschar": self._haschar,
                    "hv-getchar": self._getchar})
        for suffix, size in (("b", 1), ("w", 2), ("l", 4), ("x", 8)):
            out[f"r{suffix}@"] = self._ci_load(size)
            out[f"r{suffix}!"] = self._ci_store(size)
        return out

    # ------------------------------------------------------------ the words
    def _rc_word(self, number: int, nargs: int) -> Callable:
        def run(vm) -> None:
            vm.s.append(self.hcall(number, *_pop(vm, nargs))[0])
        return run

    def _free_crq(self, vm) -> None:                    # ( unit -- )
        self.hcall(H_FREE_CRQ, *_pop(vm, 1))

    def _send_crq(self, vm) -> None:                    # ( unit msgaddr -- rc )
        unit, msg = _pop(vm, 2)
        data = vm.read(msg, 16)
        vm.s.append(self.hcall(H_SEND_CRQ, unit, int.from_bytes(data[:8], "big"),
                               int.from_bytes(data[8:], "big"))[0])

    def _putchar(self, vm) -> None:                     # ( termno char -- )
        termno, char = _pop(vm, 2)
        self.hcall(H_PUT_TERM_CHAR, termno, 1, (char & 0xFF) << 56, 0)

    def _term_input(self, vm) -> bytearray:
        """The bytes waiting, asking the host for the popped terminal number's when none
        are. SLOF's key? asks terminal 0 (QEMU's default vty) and the vty node's read
        method its unit address: a character key? brought in is what read hands out next."""
        termno, = _pop(vm, 1)
        buf = self.term_input
        if not buf:
            rc, out = self.hcall(H_GET_TERM_CHAR, termno)
            if rc == 0 and out and out[0]:
                length = min(out[0], 16)
                buf += ((out[1] & _MASK64).to_bytes(8, "big")
                        + (out[2] & _MASK64).to_bytes(8, "big"))[:length]
        return buf

    def _haschar(self, vm) -> None:                     # ( termno -- flag )
        vm.s.append(-1 if self._term_input(vm) else 0)

    def _getchar(self, vm) -> None:                     # ( termno -- char )
        buf = self._term_input(vm)
        vm.s.append(buf.pop(0) if buf else 0)

    def _ci_load(self, size: int) -> Callable:
        def run(vm) -> None:                            # ( addr -- value )
            addr, = _pop(vm, 1)
            rc, out = self.hcall(H_LOGICAL_CI_LOAD, size, addr)
            vm.s.append(signed(out[0]) if rc == 0 and out else -1)
        return run

    def _ci_store(self, size: int) -> Callable:
        def run(vm) -> None:                            # ( value addr -- )
            value, addr = _pop(vm, 2)
            self.hcall(H_LOGICAL_CI_STORE, size, addr, value & ((1 << (8 * size)) - 1))
        return run

    # ------------------------------------------------------------ paflof's memop copies
    def move(self, vm, src: int, dst: int, length: int, name: str) -> None:
        """( src dst len ) copied as one memop hcall, as _FASTRMOVE does (len taken
        unsigned); a refused copy (memory that is neither guest RAM nor device memory the
        host models) is one -9 error naming the word and the range."""
        src, dst, length = src & _MASK64, dst & _MASK64, length & _MASK64
        esize = memop_esize(src, dst, length)
        rc, _ = self.hcall(KVMPPC_H_LOGICAL_MEMOP, dst, src, esize, length >> esize, MEMOP_COPY)
        if rc != 0:
            raise Throw(-9, f"{name}: the host refused to copy {length:#x} bytes from {src:#x} "
                            f"to {dst:#x} (memop hcall rc {rc}): not memory it has")

    def fill(self, vm, dst: int, length: int, pattern: int) -> None:
        """paflof's fast_rfill: the low byte of `pattern` (a C char) fills a 512-byte buffer
        on the C stack, which is copied out with memop hcalls in 512-byte pieces, the last
        one the rest. slofpy's stand-in for that stack frame is L.RFILL_BUFFER."""
        length &= _MASK64
        dst &= _MASK64
        buf = L.RFILL_BUFFER
        vm.write(buf, bytes((pattern & 0xFF,)) * min(length, RFILL_CHUNK))
        while length > RFILL_CHUNK:
            self.move(vm, buf, dst, RFILL_CHUNK, "RFILL")
            dst += RFILL_CHUNK
            length -= RFILL_CHUNK
        self.move(vm, buf, dst, length, "RFILL")
