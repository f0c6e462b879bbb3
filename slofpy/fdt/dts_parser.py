"""DTS parsing: the Lark grammar in dts.lark turned into a small syntax tree.

:func:`parse_dts` takes the spliced source (see :mod:`dts_source`) and
returns a :class:`Document`: headers, /memreserve/ entries and top-level
items whose node bodies are lists of property and node definitions.  Values
are already encoded as bytes, except for references (``&label``,
``&{/path}``), which stay as :class:`CellRef` / :class:`PathRef` pieces for
the compiler to resolve.  Integer expressions are evaluated here with
dtc's 64-bit unsigned arithmetic.  Every problem is raised as a
:class:`~slofpy.fdt.dts_source.DtsError`; Lark's own exceptions never escape.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    VisitError,
)

from .dts_source import SourceError, shorten, SourceText, find_file, outside_message, outside_roots, read_roots

_MASK64 = (1 << 64) - 1

#: The most bytes one /incbin/ may read: a flattened tree's size is a 32-bit field, and QEMU's
#: seeds are tens of KiB; anything this big is a mistake or an attack on the host's memory.
MAX_INCBIN_BYTES = 16 << 20

#: Digits a decimal literal may have (2**64 has 20); longer ones are refused before they
#: are converted, which Python would refuse past 4300 digits and do slowly before that.
_MAX_LITERAL_DIGITS = 24


@dataclass(frozen=True)
class Ref:
    """A reference: ``&label`` (``target`` is the label) or ``&{...}``
    (``target`` is the text between the braces, ``braced`` is True)."""

    target: str
    braced: bool
    pos: int

    def __str__(self) -> str:
        return "&{" + self.target + "}" if self.braced else "&" + self.target


@dataclass(frozen=True)
class CellRef:
    """A reference inside ``<...>``: becomes the target's 32-bit phandle."""

    ref: Ref


@dataclass(frozen=True)
class PathRef:
    """A reference outside ``<...>``: becomes the target's path plus NUL."""

    ref: Ref


ValuePiece = Union[bytes, CellRef, PathRef]


@dataclass(frozen=True)
class Label:
    name: str
    pos: int


@dataclass
class PropDef:
    name: str
    labels: list[Label]
    value: list[ValuePiece]
    pos: int  # of the name
    start: int = 0  # of the whole definition


@dataclass
class DeleteProp:
    name: str
    pos: int
    start: int = 0


@dataclass
class NodeDef:
    name: str
    labels: list[Label]
    body: list["BodyItem"]
    omit_if_no_ref: bool
    pos: int


@dataclass
class DeleteNode:
    name: str
    pos: int


BodyItem = Union[PropDef, DeleteProp, NodeDef, DeleteNode]


@dataclass
class RootDef:
    body: list[BodyItem]
    pos: int


@dataclass
class AmendDef:
    labels: list[Label]
    ref: Ref
    body: list[BodyItem]


@dataclass
class DeleteRef:
    ref: Ref


@dataclass
class OmitRef:
    ref: Ref


TopItem = Union[RootDef, AmendDef, DeleteRef, OmitRef]


@dataclass
class MemReserve:
    address: int
    size: int
    pos: int


@dataclass
class Document:
    has_v1_header: bool
    memreserves: list[MemReserve] = field(default_factory=list)
    items: list[TopItem] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("dts.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


# --- literals ---------------------------------------------------------------

_SIMPLE_ESCAPES = {
    "a": 0x07,
    "b": 0x08,
    "t": 0x09,
    "n": 0x0A,
    "v": 0x0B,
    "f": 0x0C,
    "r": 0x0D,
}
_HEX_DIGITS = "0123456789abcdefABCDEF"
_OCT_DIGITS = "01234567"


def unescape(body: str, pos: int) -> bytes:
    """Bytes of the inside of a string or character literal, C escapes decoded.

    ``pos`` is the position of the first character of ``body`` (for errors).
    """
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            index += 1
            continue
        index += 1
        char = body[index]  # the lexer guarantees a character follows
        if char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
            index += 1
        elif char == "x":
            digits = ""
            index += 1
            while index < len(body) and len(digits) < 2 and body[index] in _HEX_DIGITS:
                digits += body[index]
                index += 1
            if not digits:
                raise SourceError("\\x used with no following hex digits", pos + index - 2)
            out.append(int(digits, 16))
        elif char in _OCT_DIGITS:
            digits = ""
            while index < len(body) and len(digits) < 3 and body[index] in _OCT_DIGITS:
                digits += body[index]
                index += 1
            value = int(digits, 8)
            if value > 0xFF:
                raise SourceError(f"octal escape \\{digits} is larger than a byte", pos + index - len(digits) - 1)
            out.append(value)
        else:
            out += char.encode("utf-8", "surrogateescape")
            index += 1
    return bytes(out)


def parse_int_literal(text: str, pos: int) -> int:
    """Value of an integer literal as C's strtoull(base 0) reads it."""
    digits = text.rstrip("uUlL")
    significant = digits[2:] if digits[:2] in ("0x", "0X") else digits
    if len(significant.lstrip("0")) > _MAX_LITERAL_DIGITS:
        raise SourceError(f"integer literal '{shorten(text)}' does not fit in 64 bits", pos)
    if digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
    elif len(digits) > 1 and digits[0] == "0":
        if any(char not in _OCT_DIGITS for char in digits):
            raise SourceError(f"invalid octal literal '{shorten(text)}'", pos)
        value = int(digits, 8)
    else:
        value = int(digits, 10)
    if value > _MASK64:
        raise SourceError(f"integer literal '{shorten(text)}' does not fit in 64 bits", pos)
    return value


def _ref_from_token(token: Token) -> Ref:
    text = str(token)
    if text.startswith("&{"):
        return Ref(text[2:-1], True, token.start_pos)
    return Ref(text[1:], False, token.start_pos)


def _check_fits(value: int, bits: int, pos: int) -> int:
    """Truncate ``value`` to ``bits``, which dtc allows only if the bits
    dropped are all 0 (a value in range) or all 1 (a sign-extended negative)."""
    mask = (1 << bits) - 1
    high = value >> bits
    if high != 0 and high != (_MASK64 >> bits):
        raise SourceError(f"value 0x{value:x} out of range for a {bits}-bit cell", pos)
    return value & mask


# --- tree to syntax objects ---------------------------------------------------


def _first_pos(tree: Tree | Token) -> int:
    if isinstance(tree, Token):
        return tree.start_pos or 0
    meta = tree.meta
    if not getattr(meta, "empty", True):
        return meta.start_pos
    for child in tree.children:
        if isinstance(child, (Tree, Token)):
            return _first_pos(child)
    return 0


@v_args(meta=True)
class _Builder(Transformer):
    """Bottom-up conversion of the Lark tree into the dataclasses above."""

    def __init__(self, source: SourceText, include_dirs: tuple[str, ...],
                 read_dirs: tuple[str, ...] | None = ()) -> None:
        super().__init__()
        self.source = source
        self.include_dirs = include_dirs
        self.read_dirs = read_dirs

    # integer expressions: every value is a (value, pos) pair

    def int_literal(self, meta, children):
        token = children[0]
        return parse_int_literal(str(token), token.start_pos), token.start_pos

    def char_literal(self, meta, children):
        token = children[0]
        data = unescape(str(token)[1:-1], token.start_pos + 1)
        if len(data) != 1:
            raise SourceError(f"character literal {token} has {len(data)} characters instead of 1", token.start_pos)
        return data[0], token.start_pos

    def _binary(self, children, operate):
        (left, pos), (right, _) = children[0], children[-1]
        return operate(left, right) & _MASK64, pos

    def add(self, meta, c):
        return self._binary(c, lambda a, b: a + b)

    def sub(self, meta, c):
        return self._binary(c, lambda a, b: a - b)

    def mul(self, meta, c):
        return self._binary(c, lambda a, b: a * b)

    def div(self, meta, c):
        if c[-1][0] == 0:
            raise SourceError("division by zero", c[1].start_pos)
        return self._binary(c, lambda a, b: a // b)

    def mod(self, meta, c):
        if c[-1][0] == 0:
            raise SourceError("division by zero in '%'", c[1].start_pos)
        return self._binary(c, lambda a, b: a % b)

    def shl(self, meta, c):
        return self._binary(c, lambda a, b: a << b if b < 64 else 0)

    def shr(self, meta, c):
        return self._binary(c, lambda a, b: a >> b if b < 64 else 0)

    def lt(self, meta, c):
        return self._binary(c, lambda a, b: int(a < b))

    def gt(self, meta, c):
        return self._binary(c, lambda a, b: int(a > b))

    def le(self, meta, c):
        return self._binary(c, lambda a, b: int(a <= b))

    def ge(self, meta, c):
        return self._binary(c, lambda a, b: int(a >= b))

    def eq(self, meta, c):
        return self._binary(c, lambda a, b: int(a == b))

    def ne(self, meta, c):
        return self._binary(c, lambda a, b: int(a != b))

    def bit_and(self, meta, c):
        return self._binary(c, lambda a, b: a & b)

    def bit_or(self, meta, c):
        return self._binary(c, lambda a, b: a | b)

    def bit_xor(self, meta, c):
        return self._binary(c, lambda a, b: a ^ b)

    def logical_and(self, meta, c):
        return self._binary(c, lambda a, b: int(bool(a) and bool(b)))

    def logical_or(self, meta, c):
        return self._binary(c, lambda a, b: int(bool(a) or bool(b)))

    def ternary(self, meta, c):
        (condition, pos), _question, (if_true, _), (if_false, _) = c
        return (if_true if condition else if_false), pos

    def neg(self, meta, c):
        value, pos = c[0]
        return (-value) & _MASK64, pos

    def bit_not(self, meta, c):
        value, pos = c[0]
        return (~value) & _MASK64, pos

    def logical_not(self, meta, c):
        value, pos = c[0]
        return int(not value), pos

    # values: each returns a list of ValuePiece

    def string_value(self, meta, children):
        token = children[0]
        return [unescape(str(token)[1:-1], token.start_pos + 1) + b"\0"]

    def _cells(self, bits: int, items) -> list[ValuePiece]:
        pieces: list[ValuePiece] = []
        packed = bytearray()
        layout = {8: ">B", 16: ">H", 32: ">I", 64: ">Q"}[bits]
        for item in items:
            if isinstance(item, Token) and item.type == "LABEL":
                continue
            if isinstance(item, Ref):
                if bits != 32:
                    raise SourceError("references are only allowed in arrays of 32-bit cells", item.pos)
                if packed:
                    pieces.append(bytes(packed))
                    packed = bytearray()
                pieces.append(CellRef(item))
                continue
            value, pos = item
            packed += struct.pack(layout, _check_fits(value, bits, pos))
        if packed:
            pieces.append(bytes(packed))
        return pieces

    def cell_ref(self, meta, children):
        return _ref_from_token(children[0])

    def cell_label(self, meta, children):
        return children[0]

    def cells(self, meta, children):
        return self._cells(32, children)

    def sized_cells(self, meta, children):
        size_token = children[1]
        bits = parse_int_literal(str(size_token), size_token.start_pos)
        if bits not in (8, 16, 32, 64):
            raise SourceError(f"/bits/ must be 8, 16, 32 or 64, not {size_token}", size_token.start_pos)
        return self._cells(bits, children[2:])

    def byte_label(self, meta, children):
        return None

    def byte_string(self, meta, children):
        return [bytes(int(str(token), 16) for token in children if token is not None)]

    def path_value(self, meta, children):
        return [PathRef(_ref_from_token(children[0]))]

    def _read_incbin(self, token: Token, offset: int | None, length: int | None) -> list[ValuePiece]:
        name = unescape(str(token)[1:-1], token.start_pos + 1).decode("utf-8", "surrogateescape")
        including = self.source.filename_at(token.start_pos)
        path = find_file(name, including, self.include_dirs)
        if path is None:
            raise SourceError(f'cannot find /incbin/ file "{name}"', token.start_pos)
        if self.read_dirs is not None:
            top = self.source.segments[0][1].name
            if outside_roots(path, read_roots(top, self.include_dirs, self.read_dirs)):
                raise SourceError(outside_message("/incbin/", name), token.start_pos)
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                start = offset or 0
                if start > size or (length is not None and start + length > size):
                    raise SourceError(f'/incbin/ range is past the end of "{name}" ({size} bytes)',
                                      token.start_pos)
                count = size - start if length is None else length
                if count > MAX_INCBIN_BYTES:
                    raise SourceError(f'/incbin/ of {count} bytes from "{name}" is more than a '
                                      f"device tree can hold ({MAX_INCBIN_BYTES} bytes at most)",
                                      token.start_pos)
                handle.seek(start)
                data = handle.read(count)
        except OSError as exc:
            raise SourceError(f'cannot read /incbin/ file "{name}": {exc.strerror}', token.start_pos) from None
        if len(data) != count:
            raise SourceError(f'/incbin/ file "{name}" changed while it was read', token.start_pos)
        return [data]

    def incbin(self, meta, children):
        return self._read_incbin(children[1], None, None)

    def incbin_range(self, meta, children):
        (offset, _), (length, _) = children[2], children[3]
        if length == _MASK64:  # dtc's /incbin/("f", off, -1): to the end
            return self._read_incbin(children[1], offset, None)
        return self._read_incbin(children[1], offset, length)

    def value(self, meta, children):
        pieces: list[ValuePiece] = []
        for child in children:
            if isinstance(child, list):
                pieces.extend(child)
        return pieces

    # definitions

    @staticmethod
    def _labels(children) -> list[Label]:
        return [
            Label(str(c)[:-1], c.start_pos) for c in children if isinstance(c, Token) and c.type == "LABEL"
        ]

    @staticmethod
    def _name(children) -> Token:
        return next(c for c in children if isinstance(c, Token) and c.type == "NAME")

    @staticmethod
    def _plain_name(token: Token) -> str:
        text = str(token)
        return text[1:] if text.startswith("\\") else text

    def prop_def(self, meta, children):
        name = self._name(children)
        pieces: list[ValuePiece] = []
        for child in children:
            if isinstance(child, list):
                pieces.extend(child)
        return PropDef(self._plain_name(name), self._labels(children), pieces, name.start_pos, meta.start_pos)

    def empty_prop_def(self, meta, children):
        name = self._name(children)
        return PropDef(self._plain_name(name), self._labels(children), [], name.start_pos, meta.start_pos)

    def delete_prop(self, meta, children):
        name = self._name(children)
        return DeleteProp(self._plain_name(name), name.start_pos, meta.start_pos)

    def subnode_def(self, meta, children):
        name = self._name(children)
        return NodeDef(self._plain_name(name), self._labels(children), children[-1], False, name.start_pos)

    def omit_subnode_def(self, meta, children):
        name = self._name(children)
        return NodeDef(self._plain_name(name), self._labels(children), children[-1], True, name.start_pos)

    def delete_subnode(self, meta, children):
        name = self._name(children)
        return DeleteNode(self._plain_name(name), name.start_pos)

    def node_body(self, meta, children):
        items = [c for c in children if not isinstance(c, Token)]
        seen_subnode = False
        for item in items:
            if isinstance(item, (NodeDef, DeleteNode)):
                seen_subnode = True
            elif seen_subnode:
                raise SourceError("properties must precede subnodes", item.start)
        return items

    def root_def(self, meta, children):
        return RootDef(children[0], meta.start_pos)

    def amend_def(self, meta, children):
        ref = next(c for c in children if isinstance(c, Token) and c.type == "REF")
        return AmendDef(self._labels(children), _ref_from_token(ref), children[-1])

    def delete_ref(self, meta, children):
        return DeleteRef(_ref_from_token(children[1]))

    def omit_ref(self, meta, children):
        return OmitRef(_ref_from_token(children[1]))

    def memreserve(self, meta, children):
        keyword = next(c for c in children if isinstance(c, Token) and c.type == "MEMRESERVE")
        (address, _), (size, _) = [c for c in children if isinstance(c, tuple)]
        return MemReserve(address, size, keyword.start_pos)

    def dts_v1(self, meta, children):
        return "v1"

    def plugin(self, meta, children):
        raise SourceError(
            "/plugin/ (device tree overlays) is not supported by this compiler", _first_pos(children[0])
        )

    def start(self, meta, children):
        document = Document(has_v1_header="v1" in children)
        for child in children:
            if isinstance(child, MemReserve):
                document.memreserves.append(child)
            elif isinstance(child, (RootDef, AmendDef, DeleteRef, OmitRef)):
                document.items.append(child)
        return document


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of input"
    return f"'{shorten(str(token))}'"


_TERMINAL_WORDS = {
    "NAME": "a name",
    "LABEL": "a label",
    "REF": "a reference",
    "INT": "an integer",
    "BYTE": "a hex byte",
    "STRING": "a string",
    "CHAR": "a character literal",
}


def _expected_words(expected) -> str:
    """``; expected x, y`` for a syntax error, in the user's words."""
    words = []
    for name in sorted(str(name) for name in expected):
        word = _TERMINAL_WORDS.get(name)
        if word is None:
            try:
                pattern = _parser().get_terminal(name).pattern
            except KeyError:
                continue
            if pattern.type != "str":
                continue
            word = f"'{pattern.value}'"
        if word not in words:
            words.append(word)
    if not words:
        return ""
    if len(words) > 8:
        words = words[:8] + ["..."]
    return "; expected " + ", ".join(words)


def parse_dts(source: SourceText, include_dirs: tuple[str, ...] = (),
              read_dirs: tuple[str, ...] | None = ()) -> Document:
    """Parse the spliced DTS text into a :class:`Document`.

    Raises :class:`~slofpy.fdt.dts_source.DtsError` with a file:line:column
    location for syntax errors and for errors found while building values
    (bad escapes, literals out of range, bad /bits/ sizes, ...).
    """
    text = source.text
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        raise source.error(f"syntax error: unexpected character {char!r}", exc.pos_in_stream) from None
    except UnexpectedToken as exc:
        token = exc.token
        pos = token.start_pos if token.start_pos is not None else len(text)
        if token.type == "$END":
            pos = len(text.rstrip())
        raise source.error(
            f"syntax error: unexpected {_describe_token(token)}{_expected_words(exc.expected)}", pos
        ) from None
    except UnexpectedEOF:
        raise source.error("syntax error: unexpected end of input", len(text.rstrip())) from None
    except LarkError as exc:  # anything else Lark might raise while parsing
        raise source.error(f"syntax error: {str(exc).splitlines()[0]}", 0) from None
    except RecursionError:
        raise source.error("input nested too deeply", 0) from None
    try:
        return _Builder(source, include_dirs, read_dirs).transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, SourceError):
            raise source.error(inner.message, inner.pos) from None
        if isinstance(inner, RecursionError):
            raise source.error("input nested too deeply", 0) from None
        raise
    except SourceError as exc:
        raise source.error(exc.message, exc.pos) from None
    except RecursionError:
        raise source.error("input nested too deeply", 0) from None


__all__ = [
    "AmendDef",
    "CellRef",
    "DeleteNode",
    "DeleteProp",
    "DeleteRef",
    "Document",
    "Label",
    "MemReserve",
    "NodeDef",
    "OmitRef",
    "PathRef",
    "PropDef",
    "Ref",
    "RootDef",
    "parse_dts",
    "parse_int_literal",
    "unescape",
]
