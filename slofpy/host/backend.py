"""`HostBackend`: the base class of host backends, the things that answer SLOF's hcalls.

The hypervisor (slofpy.hv) decodes registers and calls one method per hcall; a backend sees
the hcall's meaning and guest memory, nothing of the Forth VM. Return codes are the PAPR
values of slofpy.abi.hcalls (H_SUCCESS, H_PARAMETER, ...). A method may let a
`GuestMemoryError` escape when the guest named memory that does not exist; the hypervisor
answers H_PARAMETER for it.

The defaults here are what any host does, or H_FUNCTION ("not implemented") where a host
may lack the service:

* console output (H_PUT_TERM_CHAR) goes to a text stream, `sys.stdout` unless
  `console_output` is set; each byte becomes one character (Latin-1), so output is never
  lost to decoding;
* console input (H_GET_TERM_CHAR) comes from a byte queue fed with `feed_console()`;
* H_LOGICAL_CI_LOAD/STORE and KVMPPC_H_LOGICAL_MEMOP work on guest memory;
* H_UPDATE_DT, RTAS, CAS, TCEs and CRQs answer H_FUNCTION.

QemuBackend (slofpy.host.qemu) overrides these to behave like QEMU's pseries machine.
"""
from __future__ import annotations

import sys
from typing import TextIO

from slofpy.abi.guest_memory import GuestMemory, GuestMemoryError
from slofpy.abi.hcalls import H_FUNCTION, H_PARAMETER, H_SUCCESS

TERM_CHUNK = 16
"""Most console bytes one H_GET_TERM_CHAR / H_PUT_TERM_CHAR moves (two 8-byte registers)."""

CI_SIZES = (1, 2, 4, 8)
MEMOP_COPY = 0
MEMOP_INVERT = 1


class HostBackend:
    """A host with a console and plain memory services; see the module docstring.

    Attributes: ``console_output`` (text stream for guest output; None means whatever
    `sys.stdout` is at the time of writing), ``console_input`` (bytes waiting for the guest),
    ``halt_reason`` (None, or why the guest asked the machine to stop: "power-off",
    "reboot", or "error: ..." where QEMU would exit; the caller decides what to do).
    """

    name = "base"

    def __init__(self, console_output: TextIO | None = None):
        self.console_output = console_output
        self.console_input = bytearray()
        self.halt_reason: str | None = None

    # --- console -------------------------------------------------------------------------

    def feed_console(self, data: bytes) -> None:
        """Queue bytes for the guest to read with H_GET_TERM_CHAR."""
        self.console_input += data

    def write_console(self, data: bytes) -> None:
        """Send guest console bytes to the console stream (Latin-1: one byte, one char)."""
        stream = self.console_output if self.console_output is not None else sys.stdout
        stream.write(data.decode("latin-1"))
        stream.flush()

    def read_console(self, limit: int = TERM_CHUNK) -> bytes:
        """Take up to `limit` queued input bytes (none if nothing is queued)."""
        data = bytes(self.console_input[:limit])
        del self.console_input[:limit]
        return data

    # --- lifecycle -----------------------------------------------------------------------

    def reset(self, seed: bytes) -> None:
        """Machine reset: `seed` is the initial device-tree blob QEMU gives the firmware."""

    def observe_hcall(self, number: int, args: tuple[int, ...], rc: int,
                      outputs: tuple[int, ...]) -> None:
        """Called by the hypervisor after every hcall, handled or not. Default: nothing."""

    # --- hcalls --------------------------------------------------------------------------

    def update_dt(self, memory: GuestMemory, addr: int) -> int:
        """KVMPPC_H_UPDATE_DT: the guest hands over the FDT blob at `addr`."""
        return H_FUNCTION

    def rtas(self, memory: GuestMemory, args_addr: int) -> int:
        """KVMPPC_H_RTAS: run the RTAS call whose argument block is at `args_addr`."""
        return H_FUNCTION

    def cas(self, memory: GuestMemory, vector_addr: int, buffer_addr: int,
            buffer_size: int) -> int:
        """KVMPPC_H_CAS: option vectors at `vector_addr`; a tree update goes to the buffer."""
        return H_FUNCTION

    def put_term_char(self, termno: int, data: bytes) -> int:
        """H_PUT_TERM_CHAR: write `data` (at most 16 bytes) to console `termno`."""
        self.write_console(data)
        return H_SUCCESS

    def get_term_char(self, termno: int) -> tuple[int, bytes]:
        """H_GET_TERM_CHAR: (rc, up to 16 bytes of input from console `termno`)."""
        return H_SUCCESS, self.read_console(TERM_CHUNK)

    def logical_ci_load(self, memory: GuestMemory, size: int, addr: int) -> tuple[int, int]:
        """H_LOGICAL_CI_LOAD: (rc, the big-endian `size`-byte value at `addr`).

        Only guest RAM is modelled; an address outside it raises GuestMemoryError.
        """
        if size not in CI_SIZES:
            return H_PARAMETER, 0
        return H_SUCCESS, int.from_bytes(memory.read(addr, size), "big")

    def logical_ci_store(self, memory: GuestMemory, size: int, addr: int, value: int) -> int:
        """H_LOGICAL_CI_STORE: store the low `size` bytes of `value` big-endian at `addr`."""
        if size not in CI_SIZES:
            return H_PARAMETER
        memory.write(addr, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "big"))
        return H_SUCCESS

    def logical_memop(self, memory: GuestMemory, dst: int, src: int, esize: int,
                      count: int, op: int) -> int:
        """KVMPPC_H_LOGICAL_MEMOP: copy (op 0) or copy inverted (op 1) `count` elements.

        Elements are 1 << `esize` bytes (esize 0..3); both addresses must be aligned to the
        element size. Overlapping ranges behave like memmove. The whole source and
        destination must be in guest memory, else nothing is written (GuestMemoryError).
        """
        if esize not in (0, 1, 2, 3) or op not in (MEMOP_COPY, MEMOP_INVERT):
            return H_PARAMETER
        step = 1 << esize
        if dst % step or src % step:
            return H_PARAMETER
        length = count * step
        for start in (src, dst):
            if start < 0 or start + length > memory.size:
                raise GuestMemoryError(start, length, memory.size)
        data = memory.read(src, length)
        if op == MEMOP_INVERT:
            data = bytes(byte ^ 0xFF for byte in data)
        memory.write(dst, data)
        return H_SUCCESS

    def put_tce(self, liobn: int, ioba: int, tce: int) -> int:
        """H_PUT_TCE: set the DMA translation of bus address `ioba` in table `liobn`."""
        return H_FUNCTION

    def get_tce(self, liobn: int, ioba: int) -> tuple[int, int]:
        """H_GET_TCE: (rc, the DMA translation of `ioba` in table `liobn`)."""
        return H_FUNCTION, 0

    def reg_crq(self, unit: int, queue_addr: int, queue_size: int) -> int:
        """H_REG_CRQ: register a command/response queue for VIO unit `unit`."""
        return H_FUNCTION

    def free_crq(self, unit: int) -> int:
        """H_FREE_CRQ: drop the queue of VIO unit `unit`."""
        return H_FUNCTION

    def send_crq(self, memory: GuestMemory, unit: int, message: bytes) -> int:
        """H_SEND_CRQ: send a 16-byte message to VIO unit `unit` (its device may answer by
        DMA into `memory`)."""
        return H_FUNCTION

    def other_hcall(self, memory: GuestMemory, number: int,
                    args: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """Any hcall the hypervisor has no method for: (rc, output registers)."""
        return H_FUNCTION, ()
