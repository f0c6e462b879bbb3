"""One virtqueue of a virtio device, as the device side walks it in guest memory.

A split virtqueue is three areas the driver lays out: the descriptor table (16 bytes a
descriptor: address, length, flags, next), the available ring (flags, index, the heads the
driver offers) and the used ring (flags, index, (head, length written) pairs the device
gives back). A legacy device reads them in the guest's byte order (big-endian for SLOF);
once VIRTIO_F_VERSION_1 is negotiated they are little-endian.

`Virtqueue.pop()` takes the next chain the driver made available as `Chain` (the
descriptors' guest addresses, lengths and whether the device may write them);
`Virtqueue.push()` hands a chain back with the number of bytes written into it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slofpy.abi.guest_memory import GuestMemory

DESC_F_NEXT = 1
DESC_F_WRITE = 2
DESC_F_INDIRECT = 4
DESC_SIZE = 16
LEGACY_ALIGN = 4096


@dataclass
class Buffer:
    """One descriptor of a chain."""

    addr: int
    length: int
    writable: bool


@dataclass
class Chain:
    """A descriptor chain the driver made available, by its head index."""

    head: int
    buffers: list[Buffer] = field(default_factory=list)

    def readable(self) -> list[Buffer]:
        return [b for b in self.buffers if not b.writable]

    def writable(self) -> list[Buffer]:
        return [b for b in self.buffers if b.writable]

    def gather(self, memory: GuestMemory) -> bytes:
        """Everything the driver gave the device to read, in chain order."""
        return b"".join(memory.read(b.addr, b.length) for b in self.readable())

    def scatter(self, memory: GuestMemory, data: bytes) -> int:
        """Write `data` into the device-writable buffers in chain order; bytes written."""
        done = 0
        for b in self.writable():
            if done >= len(data):
                break
            part = data[done:done + b.length]
            memory.write(b.addr, part)
            done += len(part)
        return done

    def writable_size(self) -> int:
        return sum(b.length for b in self.writable())


class VirtqueueError(Exception):
    """The driver's rings are not usable (a loop, an index out of the table ...)."""


class Virtqueue:
    """The device's view of one queue: its size and where the driver put the rings."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.reset()

    def reset(self) -> None:
        self.size = self.max_size
        self.desc = self.avail = self.used = 0
        self.enabled = False
        self.last_avail = 0
        self.used_idx = 0

    @property
    def ready(self) -> bool:
        return self.desc != 0 and self.size > 0

    def set_legacy_pfn(self, pfn: int) -> None:
        """Legacy layout: the rings one after the other from page `pfn`, used page-aligned."""
        self.desc = pfn << 12
        self.avail = self.desc + DESC_SIZE * self.size
        used = self.avail + 4 + 2 * self.size
        self.used = (used + LEGACY_ALIGN - 1) & ~(LEGACY_ALIGN - 1)
        self.enabled = pfn != 0
        self.last_avail = self.used_idx = 0

    def _u(self, memory: GuestMemory, addr: int, size: int, order: str) -> int:
        return int.from_bytes(memory.read(addr, size), order)  # type: ignore[arg-type]

    def pop(self, memory: GuestMemory, order: str) -> Chain | None:
        """The next available chain, or None when the driver offered nothing new."""
        if not self.ready:
            return None
        avail_idx = self._u(memory, self.avail + 2, 2, order)
        if avail_idx == self.last_avail:
            return None
        slot = self.avail + 4 + 2 * (self.last_avail % self.size)
        head = self._u(memory, slot, 2, order)
        self.last_avail = (self.last_avail + 1) & 0xFFFF
        chain = Chain(head)
        index = head
        for _ in range(self.size):
            if index >= self.size:
                raise VirtqueueError(f"descriptor {index} outside a table of {self.size}")
            entry = memory.read(self.desc + DESC_SIZE * index, DESC_SIZE)
            addr = int.from_bytes(entry[0:8], order)  # type: ignore[arg-type]
            length = int.from_bytes(entry[8:12], order)  # type: ignore[arg-type]
            flags = int.from_bytes(entry[12:14], order)  # type: ignore[arg-type]
            nxt = int.from_bytes(entry[14:16], order)  # type: ignore[arg-type]
            if flags & DESC_F_INDIRECT:
                raise VirtqueueError("indirect descriptors are not modelled")
            chain.buffers.append(Buffer(addr, length, bool(flags & DESC_F_WRITE)))
            if not flags & DESC_F_NEXT:
                return chain
            index = nxt
        raise VirtqueueError("descriptor chain loops")

    def push(self, memory: GuestMemory, order: str, chain: Chain, written: int) -> None:
        """Give `chain` back to the driver with `written` bytes written into it."""
        elem = self.used + 4 + 8 * (self.used_idx % self.size)
        memory.write(elem, chain.head.to_bytes(4, order)  # type: ignore[arg-type]
                     + written.to_bytes(4, order))  # type: ignore[arg-type]
        self.used_idx = (self.used_idx + 1) & 0xFFFF
        memory.write(self.used + 2, self.used_idx.to_bytes(2, order))  # type: ignore[arg-type]
