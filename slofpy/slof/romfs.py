"""SLOF's romfs: the chain of files at the start of slof.bin, and the lookup SLOF's Forth calls.

A romfs is a chain of entries. Each entry starts with four big-endian 64-bit cells: the
distance to the next entry (0 in the last one), the length of the file's data, flags, and the
distance from the entry's start to its data. The file's name, NUL-padded, fills the room
between those cells and the data. slof.bin's first entry is `header`; paflof's own code is
`ofw_main`; the rest are the files SLOF's Forth loads at run time with `included`.

`parse` reads a chain (raising RomfsError with the offset of what is wrong), `build` lays one
out (for a SLOF source tree, whose files are not in an image yet), and `lookup` is the C code
behind SLOF's ROMFS-LOOKUP-ENTRY: it walks the chain where it lies in guest memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ENTRY_CELLS = 4
HEADER_BYTES = 8 * ENTRY_CELLS
MAX_NAME = 256


class RomfsError(ValueError):
    """A romfs that is not one: the message says what is wrong and at which offset."""


@dataclass(frozen=True)
class RomfsEntry:
    name: str
    offset: int         # of the entry, from the romfs's start
    data_offset: int    # of the file's data, from the romfs's start
    length: int
    flags: int


def _cells(data: bytes, at: int) -> tuple[int, int, int, int]:
    return tuple(int.from_bytes(data[at + 8 * i:at + 8 * i + 8], "big") for i in range(4))


def parse(data: bytes, limit: int = 4096) -> list[RomfsEntry]:
    """The entries of the romfs at the start of data, in chain order."""
    entries: list[RomfsEntry] = []
    at = 0
    while True:
        if at + HEADER_BYTES > len(data):
            raise RomfsError(f"romfs entry at offset {at:#x} runs past the end "
                             f"({len(data)} bytes)")
        step, length, flags, to_data = _cells(data, at)
        name_end = data.find(b"\0", at + HEADER_BYTES, at + to_data)
        if not HEADER_BYTES < to_data <= HEADER_BYTES + MAX_NAME or name_end <= at + HEADER_BYTES:
            raise RomfsError(f"romfs entry at offset {at:#x} has no file name "
                             f"(data offset {to_data:#x})")
        if at + to_data + length > len(data):
            raise RomfsError(f"romfs file at offset {at:#x} ({length} bytes) runs past the "
                             f"end ({len(data)} bytes)")
        name = data[at + HEADER_BYTES:name_end].decode("latin-1")
        entries.append(RomfsEntry(name, at, at + to_data, length, flags))
        if step == 0:
            return entries
        if step < to_data + length or len(entries) >= limit:
            raise RomfsError(f"romfs entry {name!r} at offset {at:#x}: next entry at "
                             f"{at + step:#x} overlaps it")
        at += step


def read_file(data: bytes, entry: RomfsEntry) -> bytes:
    return data[entry.data_offset:entry.data_offset + entry.length]


def build(files: list[tuple[str, bytes]]) -> bytes:
    """A romfs holding files (name, data) in order, each entry 8-byte aligned."""
    out = bytearray()
    for i, (name, data) in enumerate(files):
        raw = name.encode("latin-1")
        to_data = HEADER_BYTES + ((len(raw) + 1 + 7) & ~7)
        size = (to_data + len(data) + 7) & ~7
        step = 0 if i == len(files) - 1 else size
        entry = bytearray(size)
        for j, v in enumerate((step, len(data), 0, to_data)):
            entry[8 * j:8 * j + 8] = v.to_bytes(8, "big")
        entry[HEADER_BYTES:HEADER_BYTES + len(raw)] = raw
        entry[to_data:to_data + len(data)] = data
        out += entry
    return bytes(out)


def lookup(read: Callable[[int, int], bytes], base: int, name: bytes,
           limit: int = 4096) -> tuple[int, int] | None:
    """(address, length) of file `name` in the romfs at `base` of memory that read(addr,
    length) gives, or None when the chain has no such file."""
    at = base
    for _ in range(limit):
        step, length, _, to_data = _cells(read(at, HEADER_BYTES), 0)
        raw = read(at + HEADER_BYTES, max(0, min(to_data - HEADER_BYTES, MAX_NAME)))
        if raw.split(b"\0", 1)[0] == name:
            return at + to_data, length
        if step == 0:
            return None
        at += step
    return None
