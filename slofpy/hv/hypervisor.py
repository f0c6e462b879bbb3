"""`Hypervisor`: turns an hcall (number plus register arguments) into a host backend call.

This is the `sc 1` of SLOF's lib/libhvcall: r3 holds the hcall number, r4... the arguments,
and the result comes back as (r3, (r4, r5, ...)). The hypervisor decodes what is packed into
registers (console bytes, CRQ messages), hands the work to the backend, and guarantees the
guest always gets a return code:

* an hcall it has no method for goes to `backend.other_hcall()`, which answers H_FUNCTION
  (-2) unless a backend implements it;
* a `GuestMemoryError` from the backend (the guest named memory that does not exist)
  becomes H_PARAMETER (-4).
  A `slofpy.errors.DeviceNotModelled` (a device access the host's models do not cover)
  is not an answer QEMU would give: it goes on to the caller, which says so in one line.

Arguments are register values: each is reduced to an unsigned 64-bit number first, so a
Forth cell of -1 arrives as 0xFFFFFFFFFFFFFFFF; missing arguments read as 0.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import GuestMemory, GuestMemoryError

if TYPE_CHECKING:
    from slofpy.host.backend import HostBackend

REGISTER_MASK = (1 << 64) - 1
ARGUMENT_REGISTERS = 8  # r4..r11
TERM_BYTES = 16


def _pack_term_bytes(data: bytes) -> tuple[int, int, int]:
    """Console bytes as (length, r-high, r-low): byte 0 is the top byte of the first."""
    padded = bytes(data[:TERM_BYTES]).ljust(TERM_BYTES, b"\0")
    return (min(len(data), TERM_BYTES), int.from_bytes(padded[:8], "big"),
            int.from_bytes(padded[8:], "big"))


def _unpack_term_bytes(length: int, high: int, low: int) -> bytes:
    """The first `length` bytes of two registers (big-endian, high register first)."""
    return (high.to_bytes(8, "big") + low.to_bytes(8, "big"))[:length]


class Hypervisor:
    """The hcall entry point of a guest with memory `memory`, served by `backend`."""

    def __init__(self, memory: GuestMemory, backend: HostBackend):
        self.memory = memory
        self.backend = backend
        self._handlers: dict[int, Callable[[tuple[int, ...]], tuple[int, tuple[int, ...]]]] = {
            hc.H_GET_TCE: self._get_tce,
            hc.H_PUT_TCE: self._put_tce,
            hc.H_LOGICAL_CI_LOAD: self._logical_ci_load,
            hc.H_LOGICAL_CI_STORE: self._logical_ci_store,
            hc.H_GET_TERM_CHAR: self._get_term_char,
            hc.H_PUT_TERM_CHAR: self._put_term_char,
            hc.H_REG_CRQ: self._reg_crq,
            hc.H_FREE_CRQ: self._free_crq,
            hc.H_SEND_CRQ: self._send_crq,
            hc.KVMPPC_H_RTAS: self._rtas,
            hc.KVMPPC_H_LOGICAL_MEMOP: self._logical_memop,
            hc.KVMPPC_H_CAS: self._cas,
            hc.KVMPPC_H_UPDATE_DT: self._update_dt,
        }

    def reset(self, seed: bytes) -> None:
        """Machine reset: tell the backend the initial device-tree blob (QEMU's FDT)."""
        self.backend.reset(bytes(seed))

    def hcall(self, number: int, *args: int) -> tuple[int, tuple[int, ...]]:
        """Make hcall `number` with register arguments `args`: (rc, output registers)."""
        number &= REGISTER_MASK
        given = tuple(arg & REGISTER_MASK for arg in args)
        registers = given + (0,) * max(0, ARGUMENT_REGISTERS - len(given))
        handler = self._handlers.get(number)
        try:
            if handler is None:
                rc, outputs = self.backend.other_hcall(self.memory, number, registers)
            else:
                rc, outputs = handler(registers)
        except GuestMemoryError:
            rc, outputs = hc.H_PARAMETER, ()
        outputs = tuple(value & REGISTER_MASK for value in outputs)
        self.backend.observe_hcall(number, given, rc, outputs)
        return rc, outputs

    # --- one method per hcall: registers in, (rc, outputs) out ---------------------------

    def _get_tce(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        rc, tce = self.backend.get_tce(r[0], r[1])
        return rc, (tce,)

    def _put_tce(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.put_tce(r[0], r[1], r[2]), ()

    def _logical_ci_load(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        rc, value = self.backend.logical_ci_load(self.memory, r[0], r[1])
        return rc, (value,)

    def _logical_ci_store(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.logical_ci_store(self.memory, r[0], r[1], r[2]), ()

    def _get_term_char(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        rc, data = self.backend.get_term_char(r[0])
        if rc != hc.H_SUCCESS:
            return rc, (0, 0, 0)
        return rc, _pack_term_bytes(data)

    def _put_term_char(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        length = r[1]
        if length > TERM_BYTES:
            return hc.H_PARAMETER, ()
        return self.backend.put_term_char(r[0], _unpack_term_bytes(length, r[2], r[3])), ()

    def _reg_crq(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.reg_crq(r[0], r[1], r[2]), ()

    def _free_crq(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.free_crq(r[0]), ()

    def _send_crq(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        message = r[1].to_bytes(8, "big") + r[2].to_bytes(8, "big")
        return self.backend.send_crq(self.memory, r[0], message), ()

    def _rtas(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.rtas(self.memory, r[0]), ()

    def _logical_memop(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.logical_memop(self.memory, r[0], r[1], r[2], r[3], r[4]), ()

    def _cas(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.cas(self.memory, r[0], r[1], r[2]), ()

    def _update_dt(self, r: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        return self.backend.update_dt(self.memory, r[0]), ()
