"""KVMPPC_H_LOGICAL_MEMOP as QEMU's pseries machine carries it out (h_logical_memop).

QEMU checks the arguments, then copies `count` elements of 1 << esize bytes one at a time
through the machine's physical address space (guest RAM, or whatever device memory region
is mapped at the address), backwards when the destination starts inside the source so
that an overlapping copy is a memmove; op 1 copies each element inverted. The loads and
stores are big-endian (the target's order), so on RAM and on byte-addressed device memory
(a framebuffer) the copy moves bytes as they are.

`logical_memop` here takes the address space as two functions: `span(addr, length)`, a
writable buffer and offset holding the whole range when it is plain memory (RAM or a
framebuffer: one bulk copy then), else None; and `load(addr, size)` / `store(addr, data)`
for one element anywhere else (device registers). An address that is neither raises
`GuestMemoryError` (QEMU would read zeros there and drop the writes; slofpy models no such
unassigned space and says so instead).
"""
from __future__ import annotations

from collections.abc import Callable

from slofpy.abi.hcalls import H_PARAMETER, H_SUCCESS

MEMOP_COPY = 0
MEMOP_INVERT = 1
MAX_COUNT = 0x80000000
"""QEMU refuses a count above this with H_PARAMETER."""

Span = Callable[[int, int], "tuple[bytearray | memoryview, int] | None"]
Load = Callable[[int, int], bytes]
Store = Callable[[int, bytes], None]


def check(dst: int, src: int, esize: int, count: int, op: int) -> int:
    """H_SUCCESS if QEMU goes on to copy, else its H_PARAMETER."""
    if count > MAX_COUNT or esize not in (0, 1, 2, 3) or op not in (MEMOP_COPY, MEMOP_INVERT):
        return H_PARAMETER
    mask = (1 << esize) - 1
    if dst & mask or src & mask:
        return H_PARAMETER
    return H_SUCCESS


def _invert(data: bytes) -> bytes:
    return (~int.from_bytes(data, "big") & ((1 << 8 * len(data)) - 1)).to_bytes(len(data), "big")


def logical_memop(span: Span, load: Load, store: Store, dst: int, src: int, esize: int,
                  count: int, op: int) -> int:
    """The hcall's result; the copy is done through `span`, else `load` and `store`."""
    rc = check(dst, src, esize, count, op)
    if rc != H_SUCCESS or count == 0:
        return rc
    step = 1 << esize
    length = count * step
    source, target = span(src, length), span(dst, length)
    if source is not None and target is not None:
        (sbuf, soff), (dbuf, doff) = source, target
        data = bytes(sbuf[soff:soff + length])
        dbuf[doff:doff + length] = _invert(data) if op == MEMOP_INVERT else data
        return H_SUCCESS
    order = range(count)
    if src <= dst < src + length:
        order = range(count - 1, -1, -1)
    for i in order:
        data = load(src + i * step, step)
        store(dst + i * step, _invert(data) if op == MEMOP_INVERT else data)
    return H_SUCCESS
