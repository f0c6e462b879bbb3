"""Flattened device tree (FDT/DTB) blobs: reading, strict checking and building.

This module knows the binary format only.  It offers

* the format constants (magic number, structure-block tokens, header sizes);
* :func:`read_header`, which decodes the ten header fields into :class:`Header`;
* :func:`read_memreserve`, which decodes the memory-reservation block;
* :func:`walk_struct`, a strict walker over the structure block that yields
  :class:`BeginNode`, :class:`Prop` and :class:`EndNode` events and raises
  :class:`BlobError` (message plus byte offset) for anything malformed;
* :class:`Node`, a minimal in-memory tree (name, ordered properties, children),
  with :func:`parse_blob` turning a blob into one and :func:`build_blob`
  turning one into a blob laid out as ``dtc -O dtb`` does (header, reservation
  map at 0x28, structure block, strings block, property names deduplicated).

All multi-byte integers in a blob are big-endian.  Node and property names
are bytes in a blob; they are read and written as Latin-1 so that any byte
survives a round trip (device tree names are ASCII in practice).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

FDT_MAGIC = 0xD00DFEED

FDT_BEGIN_NODE = 0x1
FDT_END_NODE = 0x2
FDT_PROP = 0x3
FDT_NOP = 0x4
FDT_END = 0x9

TOKEN_NAMES = {
    FDT_BEGIN_NODE: "BEGIN_NODE",
    FDT_END_NODE: "END_NODE",
    FDT_PROP: "PROP",
    FDT_NOP: "NOP",
    FDT_END: "END",
}

#: Header size in bytes for the versions this module reads and writes.
HEADER_SIZE_V16 = 36
HEADER_SIZE_V17 = 40

#: Oldest and newest format versions understood here.
FIRST_SUPPORTED_VERSION = 16
LAST_SUPPORTED_VERSION = 17

class BlobError(ValueError):
    """A blob is malformed.

    ``message`` says what is wrong, ``offset`` is the byte offset (from the
    start of the blob) where the problem was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at offset 0x{offset:x})")
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Header:
    """The ten 32-bit fields of an FDT header.

    For a version 16 blob, whose header has no ``size_dt_struct`` field,
    ``size_dt_struct`` is 0.
    """

    magic: int
    totalsize: int
    off_dt_struct: int
    off_dt_strings: int
    off_mem_rsvmap: int
    version: int
    last_comp_version: int
    boot_cpuid_phys: int
    size_dt_strings: int
    size_dt_struct: int

    @property
    def header_size(self) -> int:
        """Size in bytes of the header for this blob's version."""
        return HEADER_SIZE_V17 if self.version >= 17 else HEADER_SIZE_V16


@dataclass(frozen=True)
class BeginNode:
    """Structure-block event: a node starts.  ``name`` is the unit name."""

    offset: int
    name: str


@dataclass(frozen=True)
class Prop:
    """Structure-block event: a property of the innermost open node."""

    offset: int
    name: str
    value: bytes


@dataclass(frozen=True)
class EndNode:
    """Structure-block event: the innermost open node ends."""

    offset: int


@dataclass
class Node:
    """A device tree node: unit name, properties in order, children in order.

    The root node's name is the empty string.
    """

    name: str
    props: list[tuple[str, bytes]] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)

    def get(self, name: str) -> bytes | None:
        """Value of property ``name``, or None if the node has none."""
        for prop_name, value in self.props:
            if prop_name == name:
                return value
        return None

    def child(self, name: str) -> "Node | None":
        """The first child called ``name``, or None."""
        for node in self.children:
            if node.name == name:
                return node
        return None

    def walk(self, path: str = "/") -> Iterator[tuple[str, "Node"]]:
        """Yield ``(path, node)`` for this node and every descendant, pre-order."""
        stack: list[tuple[str, Node]] = [(path, self)]
        while stack:
            node_path, node = stack.pop()
            yield node_path, node
            prefix = node_path.rstrip("/") + "/"
            stack.extend((prefix + child.name, child) for child in reversed(node.children))


def _u32(blob: bytes, offset: int) -> int:
    return struct.unpack_from(">I", blob, offset)[0]


def read_header(blob: bytes) -> Header:
    """Decode and check the header of ``blob``.

    Checks the magic number, the version, that ``totalsize`` fits in the
    buffer, and that the three blocks lie inside the blob with the alignment
    the specification requires.  Raises :class:`BlobError` otherwise.
    """
    size = len(blob)
    if size < 4:
        raise BlobError(f"blob truncated: {size} bytes, no room for the magic number", size)
    magic = _u32(blob, 0)
    if magic != FDT_MAGIC:
        raise BlobError(f"bad magic 0x{magic:08x}, expected 0x{FDT_MAGIC:08x}", 0)
    if size < 0x18:
        raise BlobError(f"blob truncated: {size} bytes, header incomplete", size)
    version = _u32(blob, 0x14)
    if version < FIRST_SUPPORTED_VERSION:
        raise BlobError(f"unsupported version {version}, need at least {FIRST_SUPPORTED_VERSION}", 0x14)
    header_size = HEADER_SIZE_V17 if version >= 17 else HEADER_SIZE_V16
    if size < header_size:
        raise BlobError(f"blob truncated: {size} bytes, header needs {header_size}", size)
    values = list(struct.unpack_from(">9I", blob, 0))
    values.append(_u32(blob, 0x24) if version >= 17 else 0)
    header = Header(*values)

    if header.last_comp_version > LAST_SUPPORTED_VERSION:
        raise BlobError(
            f"last_comp_version {header.last_comp_version} is newer than {LAST_SUPPORTED_VERSION}", 0x18
        )
    if header.last_comp_version > version:
        raise BlobError(
            f"last_comp_version {header.last_comp_version} is greater than version {version}", 0x18
        )
    if header.totalsize < header_size:
        raise BlobError(f"totalsize {header.totalsize} smaller than the {header_size}-byte header", 0x04)
    if header.totalsize > size:
        raise BlobError(f"blob truncated: totalsize is {header.totalsize} but only {size} bytes present", 0x04)

    total = header.totalsize
    if header.off_mem_rsvmap % 8:
        raise BlobError(f"memory reservation block offset 0x{header.off_mem_rsvmap:x} not 8-byte aligned", 0x10)
    if not header_size <= header.off_mem_rsvmap <= total:
        raise BlobError(f"memory reservation block offset 0x{header.off_mem_rsvmap:x} outside the blob", 0x10)
    if header.off_dt_struct % 4:
        raise BlobError(f"structure block offset 0x{header.off_dt_struct:x} not 4-byte aligned", 0x08)
    if not header_size <= header.off_dt_struct <= total:
        raise BlobError(f"structure block offset 0x{header.off_dt_struct:x} outside the blob", 0x08)
    if version >= 17 and header.off_dt_struct + header.size_dt_struct > total:
        raise BlobError(
            f"structure block (0x{header.off_dt_struct:x} + 0x{header.size_dt_struct:x}) extends past totalsize",
            0x24,
        )
    if not header_size <= header.off_dt_strings <= total:
        raise BlobError(f"strings block offset 0x{header.off_dt_strings:x} outside the blob", 0x0C)
    if header.off_dt_strings + header.size_dt_strings > total:
        raise BlobError(
            f"strings block (0x{header.off_dt_strings:x} + 0x{header.size_dt_strings:x}) extends past totalsize",
            0x20,
        )
    return header


def read_memreserve(blob: bytes, header: Header | None = None) -> list[tuple[int, int]]:
    """The (address, size) entries of the memory-reservation block.

    The list ends at the first entry whose size is 0 (as libfdt reads it);
    that terminator is not included.  Raises :class:`BlobError` if the block
    runs past ``totalsize`` without a terminator.
    """
    if header is None:
        header = read_header(blob)
    entries = []
    offset = header.off_mem_rsvmap
    while True:
        if offset + 16 > header.totalsize:
            raise BlobError("memory reservation block not terminated inside the blob", offset)
        address, size = struct.unpack_from(">QQ", blob, offset)
        if size == 0:
            return entries
        entries.append((address, size))
        offset += 16


def _align4(value: int) -> int:
    return (value + 3) & ~3


def walk_struct(blob: bytes, header: Header | None = None) -> Iterator[BeginNode | Prop | EndNode]:
    """Walk the structure block strictly, yielding node and property events.

    NOP tokens are skipped wherever they appear.  The walk stops at the END
    token.  Raises :class:`BlobError` naming the problem and its byte offset
    for: tokens or payloads running past the structure block, unterminated
    node names, unknown tokens, a property outside a node or after a subnode,
    an unbalanced END_NODE, END inside an open node, a second root node, a
    named root, and property names outside the strings block.
    """
    if not isinstance(blob, (bytes, bytearray)):
        blob = bytes(blob)  # e.g. a memoryview, which has no find()
    if header is None:
        header = read_header(blob)
    walk = _StructWalk(blob, header)
    offset = header.off_dt_struct
    while True:
        if offset + 4 > walk.end:
            raise BlobError("structure block ends without an END token", offset)
        token = _u32(blob, offset)
        token_offset = offset
        offset += 4
        if token == FDT_NOP:
            continue
        if token == FDT_BEGIN_NODE:
            event, offset = walk.begin_node(token_offset, offset)
        elif token == FDT_END_NODE:
            event = walk.end_node(token_offset)
        elif token == FDT_PROP:
            event, offset = walk.prop(token_offset, offset)
        elif token == FDT_END:
            walk.finish(token_offset)
            return
        else:
            raise BlobError(f"bad token 0x{token:08x}", token_offset)
        yield event


class _StructWalk:
    """What walk_struct knows as it goes: the block's bounds, the open nodes, whether the
    root has closed. Each token's method checks it and gives its event (and the offset
    after its payload)."""

    def __init__(self, blob: bytes, header: Header) -> None:
        self.blob, self.header = blob, header
        start = header.off_dt_struct
        if header.version >= 17:
            self.end = start + header.size_dt_struct
        else:
            self.end = header.totalsize
        self.strings_start = header.off_dt_strings
        self.strings_end = self.strings_start + header.size_dt_strings
        self.root_done = False
        # for each open node (the depth is its length): has it had a subnode yet?
        self.had_subnode: list[bool] = []

    def begin_node(self, token_offset: int, offset: int) -> tuple[BeginNode, int]:
        blob, end = self.blob, self.end
        name_end = blob.find(b"\0", offset, end)
        if name_end < 0:
            raise BlobError("node name not NUL-terminated inside the structure block", offset)
        raw_name = blob[offset:name_end]
        offset = _align4(name_end + 1)
        if offset > end:
            raise BlobError("node name padding runs past the structure block", name_end + 1)
        if not self.had_subnode:
            if self.root_done:
                raise BlobError("second root node after the root node closed", token_offset)
            if raw_name:
                raise BlobError(f"root node has a name ({raw_name!r}), it must be empty", token_offset + 4)
        else:
            self.had_subnode[-1] = True
        self.had_subnode.append(False)
        return BeginNode(token_offset, raw_name.decode("latin-1")), offset

    def end_node(self, token_offset: int) -> EndNode:
        if not self.had_subnode:
            raise BlobError("END_NODE without a matching BEGIN_NODE", token_offset)
        self.had_subnode.pop()
        if not self.had_subnode:
            self.root_done = True
        return EndNode(token_offset)

    def prop(self, token_offset: int, offset: int) -> tuple[Prop, int]:
        blob, end, header = self.blob, self.end, self.header
        if offset + 8 > end:
            raise BlobError("property header runs past the structure block", token_offset)
        length, name_offset = struct.unpack_from(">II", blob, offset)
        value_start = offset + 8
        if value_start + length > end:
            raise BlobError(
                f"property value of {length} bytes runs past the structure block", offset
            )
        if not self.had_subnode:
            raise BlobError("property outside any node", token_offset)
        if self.had_subnode[-1]:
            raise BlobError("property after a subnode (properties must precede subnodes)", token_offset)
        if name_offset >= header.size_dt_strings:
            raise BlobError(
                f"property name offset 0x{name_offset:x} outside the strings block "
                f"(size 0x{header.size_dt_strings:x})",
                offset + 4,
            )
        name_start = self.strings_start + name_offset
        name_end = blob.find(b"\0", name_start, self.strings_end)
        if name_end < 0:
            raise BlobError("property name not NUL-terminated inside the strings block", name_start)
        name = blob[name_start:name_end].decode("latin-1")
        value = bytes(blob[value_start:value_start + length])
        return Prop(token_offset, name, value), _align4(value_start + length)

    def finish(self, token_offset: int) -> None:
        if self.had_subnode:
            raise BlobError(f"END token with {len(self.had_subnode)} node(s) still open", token_offset)
        if not self.root_done:
            raise BlobError("END token before any root node", token_offset)


def parse_blob(blob: bytes) -> tuple[Node, list[tuple[int, int]], Header]:
    """Read a whole blob strictly: ``(root node, memreserve entries, header)``."""
    header = read_header(blob)
    memreserve = read_memreserve(blob, header)
    stack: list[Node] = []
    root: Node | None = None
    for event in walk_struct(blob, header):
        if isinstance(event, BeginNode):
            node = Node(event.name)
            if stack:
                stack[-1].children.append(node)
            else:
                root = node
            stack.append(node)
        elif isinstance(event, Prop):
            stack[-1].props.append((event.name, event.value))
        else:
            stack.pop()
    assert root is not None  # walk_struct guarantees exactly one root
    return root, memreserve, header


class _StringTable:
    """Strings block under construction; a name already present is reused."""

    def __init__(self) -> None:
        self.data = bytearray()

    def offset_of(self, name: str) -> int:
        encoded = _encode_name(name, "property name") + b"\0"
        # Any occurrence works, including the tail of a longer name,
        # which is what dtc does too.
        found = self.data.find(encoded)
        if found >= 0:
            return found
        found = len(self.data)
        self.data += encoded
        return found


def _encode_name(name: str, what: str) -> bytes:
    if "\0" in name:
        raise ValueError(f"{what} {name!r} contains a NUL character")
    try:
        return name.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {name!r} has characters outside Latin-1") from None


def _emit_node(node: Node, out: bytearray, strings: _StringTable) -> None:
    # Iterative so that very deep trees do not hit Python's recursion limit.
    work: list[Node | None] = [node]
    while work:
        item = work.pop()
        if item is None:
            out += struct.pack(">I", FDT_END_NODE)
            continue
        name = _encode_name(item.name, "node name") + b"\0"
        out += struct.pack(">I", FDT_BEGIN_NODE)
        out += name
        out += bytes(_align4(len(name)) - len(name))
        for prop_name, value in item.props:
            value = bytes(value)
            out += struct.pack(">III", FDT_PROP, len(value), strings.offset_of(prop_name))
            out += value
            out += bytes(_align4(len(value)) - len(value))
        work.append(None)
        work.extend(reversed(item.children))


def build_blob(
    root: Node,
    memreserve: Iterable[tuple[int, int]] = (),
    boot_cpuid: int = 0,
    version: int = 17,
    first_strings: Iterable[str] = (),
) -> bytes:
    """Flatten ``root`` into a blob laid out as dtc lays it out.

    Layout: header, memory-reservation block at the first 8-byte boundary
    after the header (0x28), structure block, strings block; no free space.
    ``version`` may be 17 (the default, last_comp_version 16) or 16.
    ``first_strings`` are property names put into the strings block first, in that order
    (each reused where it fits, as always), for producers that add names in another order.
    Raises ValueError for a named root, names with NUL or non-Latin-1
    characters, entries with size 0, or values out of range.
    """
    if version not in (16, 17):
        raise ValueError(f"can only build version 16 or 17 blobs, not {version}")
    if root.name:
        raise ValueError(f"root node must have an empty name, not {root.name!r}")
    if not 0 <= boot_cpuid <= 0xFFFFFFFF:
        raise ValueError(f"boot_cpuid {boot_cpuid} does not fit in 32 bits")
    header_size = HEADER_SIZE_V17 if version == 17 else HEADER_SIZE_V16

    rsvmap = bytearray()
    for address, size in memreserve:
        if size == 0:
            raise ValueError(f"memreserve entry at 0x{address:x} has size 0, which would end the list")
        if not (0 <= address < 1 << 64 and 0 < size < 1 << 64):
            raise ValueError(f"memreserve entry (0x{address:x}, 0x{size:x}) does not fit in 64 bits")
        rsvmap += struct.pack(">QQ", address, size)
    rsvmap += bytes(16)

    structure = bytearray()
    strings = _StringTable()
    for name in first_strings:
        strings.offset_of(name)
    _emit_node(root, structure, strings)
    structure += struct.pack(">I", FDT_END)

    off_mem_rsvmap = (header_size + 7) & ~7
    off_dt_struct = off_mem_rsvmap + len(rsvmap)
    off_dt_strings = off_dt_struct + len(structure)
    totalsize = off_dt_strings + len(strings.data)

    fields: Sequence[int] = (
        FDT_MAGIC,
        totalsize,
        off_dt_struct,
        off_dt_strings,
        off_mem_rsvmap,
        version,
        16,
        boot_cpuid,
        len(strings.data),
    )
    header = struct.pack(">9I", *fields)
    if version == 17:
        header += struct.pack(">I", len(structure))
    header += bytes(off_mem_rsvmap - len(header))
    return bytes(header + rsvmap + structure + strings.data)
