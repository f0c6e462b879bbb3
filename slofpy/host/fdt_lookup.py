"""Read-only queries on flattened device-tree blobs, done with libfdt (pylibfdt).

The host backends use these on QEMU's initial tree (the seed) and on the blob SLOF hands
over with H_UPDATE_DT. Only libfdt's read-only calls are used, so SLOF's layout (strings
block before the struct block) is fine.
"""
from __future__ import annotations

from collections.abc import Iterator

import libfdt

FDT_HEADER_SIZE = 40
"""Bytes in a version-17 FDT header (10 big-endian u32 fields)."""

PHANDLE_INTC = 0x1111
"""QEMU's fixed phandle for /interrupt-controller in the trees it builds (PHANDLE_INTC)."""


class TreeLookupError(LookupError):
    """A lookup QEMU makes in the current tree failed; the message is QEMU's."""


def check_full(blob: bytes) -> int:
    """libfdt's fdt_check_full() on the whole of `blob`: 0 if valid, else -FDT_ERR_*."""
    if len(blob) == 0:
        # Nothing to check; libfdt says TRUNCATED without touching the buffer.
        return -int(libfdt.TRUNCATED)
    return int(libfdt.fdt_check_full(bytearray(blob), len(blob)))


def header_totalsize(header: bytes) -> int:
    """The totalsize field (big-endian u32 at offset 4) of an FDT header."""
    return int.from_bytes(header[4:8], "big")


def open_tree(blob: bytes) -> libfdt.Fdt:
    """A libfdt view of `blob` (which must pass `check_full`)."""
    return libfdt.Fdt(bytearray(blob))


def child_nodes(fdt: libfdt.Fdt, parent: int) -> Iterator[int]:
    """Offsets of the direct children of node `parent`."""
    child = fdt.first_subnode(parent, quiet=(libfdt.NOTFOUND,))
    while child >= 0:
        yield child
        child = fdt.next_subnode(child, quiet=(libfdt.NOTFOUND,))


def descendant_nodes(fdt: libfdt.Fdt, parent: int) -> Iterator[int]:
    """Offsets of every node below `parent`, depth first."""
    for child in child_nodes(fdt, parent):
        yield child
        yield from descendant_nodes(fdt, child)


def _raw_bytes(fdt: libfdt.Fdt) -> bytearray:
    """The blob under a libfdt view, without a copy (pylibfdt keeps it as `_fdt`)."""
    raw = getattr(fdt, "_fdt", None)
    return raw if isinstance(raw, bytearray) else fdt.as_bytearray()


def node_properties(fdt: libfdt.Fdt, node: int) -> dict[str, bytes]:
    """The properties of `node` as name -> value (the first of any duplicate names).

    Names are read from the strings block as bytes and decoded as Latin-1, as QEMU (which
    treats them as C strings) sees them: pylibfdt's own name lookup fails on a name that is
    not UTF-8.
    """
    buf = _raw_bytes(fdt)
    struct_at = int.from_bytes(buf[8:12], "big")
    strings_at = int.from_bytes(buf[12:16], "big")
    found: dict[str, bytes] = {}
    prop = fdt.first_property_offset(node, quiet=(libfdt.NOTFOUND,))
    while prop >= 0:
        header = struct_at + prop
        length = int.from_bytes(buf[header + 4:header + 8], "big")
        start = strings_at + int.from_bytes(buf[header + 8:header + 12], "big")
        end = buf.find(b"\0", start)
        name = bytes(buf[start:end if end >= 0 else len(buf)]).decode("latin-1")
        found.setdefault(name, bytes(buf[header + 12:header + 12 + length]))
        prop = fdt.next_property_offset(prop, quiet=(libfdt.NOTFOUND,))
    return found


def cells(value: bytes) -> list[int]:
    """A property value as big-endian u32 cells (a trailing partial cell is ignored)."""
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


def combine_cells(values: list[int]) -> int:
    """Cells (most significant first) joined into one integer."""
    number = 0
    for value in values:
        number = (number << 32) | value
    return number


def strings(value: bytes) -> list[str]:
    """A property value as its list of NUL-terminated strings."""
    return [part.decode("latin-1") for part in value.split(b"\0")[:-1]] if value else []


def node_name(fdt: libfdt.Fdt, node: int) -> str:
    """The node's name with unit address ("vty@71000000"), decoded as Latin-1."""
    buf = _raw_bytes(fdt)
    at = int.from_bytes(buf[8:12], "big") + node + 4
    return bytes(buf[at:buf.index(b"\0", at)]).decode("latin-1")


def interrupt_controller_phandle(blob: bytes) -> int:
    """The phandle QEMU's PHB hotplug takes from `blob` (spapr_irq_get_phandle).

    The root's subnode "interrupt-controller" (libfdt also matches
    "interrupt-controller@<unit>"), then its phandle ("phandle", else "linux,phandle",
    exactly 4 bytes). Raises `TreeLookupError` where QEMU reports an error: any libfdt
    error from the node lookup (NOTFOUND, or BADOFFSET in a tree fdt_check_full accepts
    without a root node at offset 0), or a phandle of 0.
    """
    buf = bytearray(blob)
    node = libfdt.fdt_subnode_offset(buf, 0, "interrupt-controller")
    if node < 0:
        raise TreeLookupError(
            'Can\'t find node "interrupt-controller": ' + libfdt.fdt_strerror(node)
        )
    phandle = int(libfdt.fdt_get_phandle(buf, node))
    if phandle == 0:
        raise TreeLookupError('Can\'t get phandle of node "interrupt-controller"')
    return phandle


def rtas_base(blob: bytes) -> int:
    """/rtas "linux,rtas-base" in `blob` as QEMU's FWNMI code reads it (spapr_get_rtas_addr).

    0 when libfdt finds no /rtas or no such property (whatever the error). Otherwise QEMU
    reads a big-endian u32 where the value starts, whatever its length: a value shorter
    than 4 bytes is read together with the bytes that follow it in the structure block
    (always inside the blob, since at least the closing tokens follow).
    """
    buf = bytearray(blob)
    node = libfdt.fdt_path_offset(buf, "/rtas")
    if node < 0:
        return 0
    value, length = libfdt.fdt_getprop(buf, node, "linux,rtas-base")
    if value is None or length < 0:
        return 0
    if length >= 4:
        return int.from_bytes(bytes(value[:4]), "big")
    at = _property_value_offset(buf, node, b"linux,rtas-base")
    return int.from_bytes(bytes(buf[at:at + 4]), "big")


def _property_value_offset(buf: bytearray, node: int, name: bytes) -> int:
    """Where (from the start of the blob) the value of node's first property called name
    begins, in a tree libfdt accepted and where fdt_getprop found it."""
    struct_at = int.from_bytes(buf[8:12], "big")
    strings_at = int.from_bytes(buf[12:16], "big")
    prop = libfdt.fdt_first_property_offset(buf, node)
    while prop >= 0:
        header = struct_at + prop
        start = strings_at + int.from_bytes(buf[header + 8:header + 12], "big")
        if buf[start:buf.index(b"\0", start)] == name:
            return header + 12
        prop = libfdt.fdt_next_property_offset(buf, prop)
    raise TreeLookupError(f"property {name!r} vanished")  # libfdt just found it
