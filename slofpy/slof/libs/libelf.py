"""libelf: loading an ELF client into memory. slofpy does not run client programs; the boot
path reaches these only once a boot device gave an image, and then says so.

`elf_file_size` is libelf's elf_get_file_size, which libtpm uses to measure only the ELF
file inside a larger buffer."""
from __future__ import annotations

import struct

from .base import CLibrary

ELF_MAGIC = b"\x7fELF"
ELF_IDENT_BYTES = 24            # SLOF's struct ehdr: the part common to both classes
# class -> (header size, offsets of phoff, shoff, ehsize, and the formats of an address,
#           a program header's (offset, filesz), a section header's (offset, size))
_LAYOUT = {
    1: (52, 28, 32, 40, "I", (4, 16), (16, 20)),
    2: (64, 32, 40, 52, "Q", (8, 32), (24, 32)),
}


def elf_file_size(data: bytes) -> int:
    """The size of the ELF file at the start of `data` (the end of its furthest segment or
    section, rounded up to 4), or -1 when data is not an ELF file or the size exceeds it."""
    if len(data) < ELF_IDENT_BYTES or data[:4] != ELF_MAGIC or data[4] not in _LAYOUT:
        return -1
    size, at_phoff, at_shoff, at_ehsize, word, ph_fields, sh_fields = _LAYOUT[data[4]]
    order = "<" if data[5] == 1 else ">"
    if len(data) < size:
        return -1

    def field(fmt: str, at: int) -> int:
        return struct.unpack_from(order + fmt, data, at)[0]

    if field("H", at_ehsize) != size:
        return -1
    end = 0
    for table, count_at, fields in ((field(word, at_phoff), at_ehsize + 2, ph_fields),
                                    (field(word, at_shoff), at_ehsize + 6, sh_fields)):
        entsize, count = field("H", count_at), field("H", count_at + 2)
        for i in range(count):
            entry = table + i * entsize
            if entry + entsize > len(data) or entry + fields[1] + struct.calcsize(word) > len(data):
                return -1
            end = max(end, field(word, entry + fields[0]) + field(word, entry + fields[1]))
    end = (end + 3) & ~3
    return end if end <= len(data) else -1


class LibElf(CLibrary):
    UNSUPPORTED = ("elf-load-file", "elf-load-file-to-addr")


LIBRARY = LibElf
