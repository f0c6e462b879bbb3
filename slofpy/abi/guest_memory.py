"""Guest memory as the hypervisor sees it: a flat, big-endian, byte-addressed physical space.

`GuestMemory` is the protocol the hypervisor and host backends need; `BufferGuestMemory`
implements it over the VM's own bytearray (shared, not copied, so both sides see every write).
Every access is bounds-checked and an access that does not lie wholly inside memory raises
`GuestMemoryError`; the hypervisor turns that into H_PARAMETER for the guest.

Real-mode address masking: QEMU converts an address an hcall receives as a *real* address
with ``ppc64_phys_to_real()``, which clears the top 4 bits (``addr & ~0xF000000000000000``),
so a guest may pass a plain real address or a 0xC...-style one. QEMU does this per handler
(H_UPDATE_DT's blob address, the RTAS argument block, the CAS option vector), not for every
access: H_LOGICAL_CI_LOAD/STORE and the memop hcall use their addresses as they are. So the
memory object itself does not mask; handlers call `real_address()` where QEMU does.
"""
from __future__ import annotations

import mmap
from typing import Protocol, runtime_checkable

REAL_ADDRESS_MASK = 0x0FFF_FFFF_FFFF_FFFF
"""What ppc64_phys_to_real() keeps: everything but the top 4 bits of a 64-bit address."""


def real_address(addr: int) -> int:
    """`addr` with its top 4 bits cleared, as QEMU's ppc64_phys_to_real() does."""
    return addr & REAL_ADDRESS_MASK


class GuestMemoryError(Exception):
    """A guest memory access outside guest memory (the guest's fault, not the host's)."""

    def __init__(self, addr: int, length: int, size: int):
        self.addr = addr
        self.length = length
        self.size = size
        super().__init__(
            f"guest memory access {addr:#x}+{length:#x} outside memory of size {size:#x}"
        )


@runtime_checkable
class GuestMemory(Protocol):
    """What the hypervisor needs from guest memory.

    ``size`` is the number of bytes; addresses run from 0 to size-1. ``read`` returns exactly
    ``length`` bytes; ``write`` stores all of ``data``. Both raise `GuestMemoryError` unless
    the whole range lies inside memory (and then change nothing).
    """

    size: int

    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


class BufferGuestMemory:
    """`GuestMemory` over a writable buffer (a bytearray, or the anonymous mmap a VM's memory
    is), shared with its owner."""

    def __init__(self, buffer: bytearray | mmap.mmap):
        if not isinstance(buffer, (bytearray, mmap.mmap)):
            raise TypeError(f"guest memory must be a bytearray or an mmap, not {type(buffer).__name__}")
        self.buffer = buffer

    @property
    def size(self) -> int:
        """Memory size in bytes."""
        return len(self.buffer)

    def check(self, addr: int, length: int) -> None:
        """Raise `GuestMemoryError` unless [addr, addr+length) lies inside memory."""
        if addr < 0 or length < 0 or addr + length > len(self.buffer):
            raise GuestMemoryError(addr, length, len(self.buffer))

    def read(self, addr: int, length: int) -> bytes:
        """The `length` bytes at `addr`."""
        self.check(addr, length)
        return bytes(self.buffer[addr:addr + length])

    def write(self, addr: int, data: bytes) -> None:
        """Store `data` at `addr`."""
        self.check(addr, len(data))
        self.buffer[addr:addr + len(data)] = data


def read_u32(memory: GuestMemory, addr: int) -> int:
    """The big-endian unsigned 32-bit value at `addr` of any `GuestMemory`."""
    return int.from_bytes(memory.read(addr, 4), "big")


def write_u32(memory: GuestMemory, addr: int, value: int) -> None:
    """Store the low 32 bits of `value` big-endian at `addr` of any `GuestMemory`."""
    memory.write(addr, (value & 0xFFFF_FFFF).to_bytes(4, "big"))
