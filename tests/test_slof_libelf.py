"""libelf's elf_get_file_size in Python (slofpy.slof.libs.libelf.elf_file_size), which libtpm
uses to measure only the ELF file inside a larger buffer: the end of the furthest program
segment or section, rounded up to 4, for both classes and byte orders; -1 for what is not
ELF or claims more than the buffer holds."""
import struct

from slofpy.slof.libs.libelf import elf_file_size


def elf64(order: str, segments, sections, shoff: int = 0x200) -> bytes:
    header = b"\x7fELF" + bytes([2, 1 if order == "<" else 2, 1]) + bytes(9)
    header += struct.pack(order + "HHIQQQIHHHHHH", 2, 21, 1, 0, 64, shoff, 0, 64, 56,
                          len(segments), 64, len(sections), 0)
    data = bytearray(header.ljust(0x1000, b"\0"))
    for i, (offset, size) in enumerate(segments):
        struct.pack_into(order + "IIQQQQQQ", data, 64 + 56 * i, 1, 5, offset, 0, 0, size,
                         size, 0)
    for i, (offset, size) in enumerate(sections):
        if shoff + 64 * (i + 1) <= len(data):
            struct.pack_into(order + "IIQQQQIIQQ", data, shoff + 64 * i, 0, 1, 0, 0, offset,
                             size, 0, 0, 0, 0)
    return bytes(data)


def elf32(segments) -> bytes:
    header = b"\x7fELF" + bytes([1, 2, 1]) + bytes(9)
    header += struct.pack(">HHIIIIIHHHHHH", 2, 20, 1, 0, 52, 0, 0, 52, 32, len(segments),
                          40, 0, 0)
    data = bytearray(header.ljust(0x800, b"\0"))
    for i, (offset, size) in enumerate(segments):
        struct.pack_into(">IIIIIIII", data, 52 + 32 * i, 1, offset, 0, 0, size, size, 5, 0)
    return bytes(data)


def test_the_furthest_segment_or_section_rounded_to_four():
    assert elf_file_size(elf64(">", [(0x100, 0x31)], [])) == 0x134
    assert elf_file_size(elf64("<", [(0x100, 0x31)], [(0x300, 0x101)])) == 0x404
    assert elf_file_size(elf32([(0x80, 0x100), (0x400, 0x2)])) == 0x404


def test_not_elf_or_too_big_is_minus_one():
    assert elf_file_size(b"\x7fELX" + bytes(100)) == -1
    assert elf_file_size(b"\x7fELF") == -1
    assert elf_file_size(elf64(">", [(0xF00, 0x200)], [])) == -1
    assert elf_file_size(elf64(">", [], [(0, 0)], shoff=0xFF0)) == -1    # table past the end
