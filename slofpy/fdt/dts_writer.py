"""Turn a flattened device tree blob back into DTS text, in dtc's style.

:func:`blob_to_dts` prints ``/dts-v1/;``, one ``/memreserve/`` line per
reservation, then the tree with tab indentation and a blank line before
each subnode.  A property value is shown as

* nothing (``name;``) when it is empty;
* strings (``"a", "b"``) when it looks like NUL-terminated printable text;
* 32-bit cells (``<0x1 0x2>``) when its length is a multiple of 4;
* bytes (``[01 02]``) otherwise,

which is how dtc guesses.  A caller that knows how a property was encoded
(the Forth VM does) can pass ``kinds`` to override the guess per property.
The text compiles back to the same tree with
:func:`slofpy.fdt.dts_compiler.compile_dts` or dtc.
"""

from __future__ import annotations

import struct
from typing import Mapping, Sequence

from .blob import Node, parse_blob

#: Property kinds a caller may ask for in ``kinds``.
KINDS = ("string", "int", "bytes")

_STRING_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0B: "\\v",
    0x0C: "\\f",
    0x0D: "\\r",
    0x5C: "\\\\",
    0x22: '\\"',
    0x27: "\\'",
}


def _is_string_byte(byte: int) -> bool:
    """dtc's notion of a byte that can appear in guessed string data."""
    return 0x20 <= byte < 0x7F or byte == 0 or 0x07 <= byte <= 0x0D


def looks_like_strings(value: bytes) -> bool:
    """True if dtc would print ``value`` as strings.

    It must end in NUL, hold only printable characters, common control
    characters and NULs, and have no more NULs than other characters.
    """
    if not value or value[-1] != 0:
        return False
    if not all(_is_string_byte(byte) for byte in value):
        return False
    nuls = value.count(0)
    return nuls <= len(value) - nuls


def _quote(segment: bytes) -> str:
    out = ['"']
    for byte in segment:
        escape = _STRING_ESCAPES.get(byte)
        if escape is not None:
            out.append(escape)
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


def format_strings(value: bytes) -> str:
    """``"a", "b"`` for NUL-terminated ``value`` (``b"a\\0b\\0"``)."""
    return ", ".join(_quote(segment) for segment in value[:-1].split(b"\0"))


def format_cells(value: bytes) -> str:
    """``<0x01 0x02>`` for ``value``, whose length must be a multiple of 4."""
    cells = struct.unpack(f">{len(value) // 4}I", value)
    return "<" + " ".join(f"0x{cell:02x}" for cell in cells) + ">"


def format_bytes(value: bytes) -> str:
    """``[01 02]`` for ``value``."""
    return "[" + " ".join(f"{byte:02x}" for byte in value) + "]"


def format_value(value: bytes, kind: str | None = None) -> str:
    """DTS text for a non-empty property value (what follows ``name = ``).

    ``kind`` None guesses as dtc does.  ``"string"`` prints strings; a tail
    after the last NUL is added as bytes.  ``"int"`` prints 32-bit cells; a
    tail of 1 to 3 bytes is added as bytes.  ``"bytes"`` prints bytes.
    """
    if kind is None:
        if looks_like_strings(value):
            return format_strings(value)
        if len(value) % 4 == 0:
            return format_cells(value)
        return format_bytes(value)
    if kind == "string":
        end = value.rfind(b"\0") + 1
        parts = []
        if end:
            parts.append(format_strings(value[:end]))
        if end < len(value):
            parts.append(format_bytes(value[end:]))
        return ", ".join(parts)
    if kind == "int":
        whole = len(value) - len(value) % 4
        parts = []
        if whole:
            parts.append(format_cells(value[:whole]))
        if whole < len(value):
            parts.append(format_bytes(value[whole:]))
        return ", ".join(parts)
    if kind == "bytes":
        return format_bytes(value)
    raise ValueError(f"unknown property kind {kind!r}, expected one of {', '.join(KINDS)}")


def _write_tree(root: Node, kinds: Mapping[tuple[str, str], str], lines: list[str]) -> None:
    # An explicit stack instead of recursion: None closes the node below it.
    stack: list[tuple[Node, str, int] | tuple[None, str, int]] = [(root, "/", 0)]
    while stack:
        node, path, depth = stack.pop()
        indent = "\t" * depth
        if node is None:
            lines.append(f"{indent}}};")
            continue
        if depth:
            lines.append("")
        lines.append(f"{indent}{node.name if depth else '/'} {{")
        for name, value in node.props:
            if value:
                text = format_value(value, kinds.get((path, name)))
                lines.append(f"{indent}\t{name} = {text};")
            else:
                lines.append(f"{indent}\t{name};")
        stack.append((None, path, depth))
        prefix = path if path != "/" else ""
        for child in reversed(node.children):
            stack.append((child, f"{prefix}/{child.name}", depth + 1))


def tree_to_dts(
    root: Node,
    memreserve: Sequence[tuple[int, int]] = (),
    kinds: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """DTS text for an in-memory tree; see :func:`blob_to_dts`."""
    kinds = kinds or {}
    for key, kind in kinds.items():
        if kind not in KINDS:
            raise ValueError(f"unknown property kind {kind!r} for {key}, expected one of {', '.join(KINDS)}")
    lines = ["/dts-v1/;", ""]
    for address, size in memreserve:
        lines.append(f"/memreserve/\t0x{address:016x} 0x{size:016x};")
    _write_tree(root, kinds, lines)
    return "\n".join(lines) + "\n"


def blob_to_dts(blob: bytes, kinds: Mapping[tuple[str, str], str] | None = None) -> str:
    """DTS text for ``blob`` in dtc's style.

    ``kinds`` maps ``(node path, property name)`` to ``"string"``,
    ``"int"`` or ``"bytes"`` to say how to show that property instead of
    guessing; node paths look like ``"/"`` and ``"/cpus/cpu@0"``.
    Raises :class:`slofpy.fdt.blob.BlobError` for a malformed blob and
    ValueError for an unknown kind.
    """
    root, memreserve, _header = parse_blob(blob)
    return tree_to_dts(root, memreserve, kinds)
