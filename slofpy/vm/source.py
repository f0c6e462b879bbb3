"""Loading Forth source files: the search path and the cpp-like pre-pass.

SLOF runs its sources through the C preprocessor before Forth sees them. slofpy does the
same job itself when a file is loaded: `#include "f"` (the including file's folder first,
then the search path), `#include <f>` (search path only), `#define NAME [VALUE]`,
`#undef`, `#ifdef`, `#ifndef`, `#if EXPR`, `#elif EXPR`, `#else`, `#endif`, where EXPR is
what cpp takes for SLOF's build: `defined(NAME)` / `defined NAME`, integers, defined names
(their value; an undefined name is 0), `!`, `&&`, `||`, `==` `!=` `<` `>` `<=` `>=` and
parentheses. Defined names are replaced where they stand as whole Forth words. The result is one text plus a map from offsets back to file and line,
so errors can name the file and line they come from.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Throw
from . import layout as L

MAX_SOURCE_BYTES = L.SOURCES_END - L.SOURCES
"""The most source text one file can have: the VM's source area (a bigger file is refused
before it is read)."""


@dataclass
class Segment:
    offset: int      # where this piece starts in the combined text
    file: str        # file it comes from (as the user named it)
    line: int        # line number in that file of the piece's first line


@dataclass
class Preprocessed:
    text: bytes
    segments: list[Segment] = field(default_factory=list)

    def locate(self, offset: int) -> tuple[str, int]:
        seg = self.segments[0]
        for s in self.segments:
            if s.offset <= offset:
                seg = s
            else:
                break
        line = seg.line + self.text.count(b"\n", seg.offset, offset)
        return seg.file, line


class SourceError(Exception):
    def __init__(self, file: str, line: int, text: str):
        super().__init__(f"{file}:{line}: {text}")
        self.file, self.line, self.text = file, line, text


_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(include|define|undef|ifdef|ifndef|else|endif|if|elif)\b(.*)$")


def display_name(path: Path) -> str:
    """How errors name a source file: relative to the current folder when it lies inside
    it, else the whole path (a file outside is named as the user would find it)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel == ".." or rel.startswith("../") else rel


def resolve_include(name: str, quoted: bool, including_dir: Path | None,
                    search_path: list[Path]) -> Path | None:
    candidates: list[Path] = []
    if quoted and including_dir is not None:
        candidates.append(including_dir / name)
    candidates.extend(Path(d) / name for d in search_path)
    if quoted and including_dir is None:
        candidates.append(Path(name))
    for c in candidates:
        try:
            if c.is_file():
                return c
        except (OSError, ValueError):   # a name too long for the system, or holding a NUL
            continue
    return None


def preprocess_file(path: Path, search_path: list[Path],
                    defines: dict[bytes, bytes] | None = None) -> Preprocessed:
    out = Preprocessed(b"")
    parts: list[bytes] = []
    defs = dict(defines or {})
    _preprocess(path, search_path, defs, parts, out.segments, [0], stack=[])
    out.text = b"".join(parts)
    if not out.segments:
        out.segments.append(Segment(0, display_name(path), 1))
    return out


def _read_source(path: Path, name: str) -> bytes:
    """The bytes of a source file, which must fit the VM's source area."""
    try:
        with open(path, "rb") as f:
            # checked before reading: all source text must fit the VM's source area
            if os.fstat(f.fileno()).st_size > MAX_SOURCE_BYTES:
                raise SourceError(name, 1, f"too large: more than the {MAX_SOURCE_BYTES} bytes "
                                  "of source text the VM holds")
            data = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as e:
        raise SourceError(name, 1, f"cannot read: {e.strerror}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(name, 1, f"too large: more than the {MAX_SOURCE_BYTES} bytes "
                          "of source text the VM holds")
    return data


_CONDITIONALS = (b"ifdef", b"ifndef", b"if", b"elif", b"else", b"endif")


def _conditional(what: bytes, rest: bytes, active: list[bool], taken: list[bool], defs,
                 name: str, line_no: int) -> None:
    """One of #ifdef #ifndef #if #elif #else #endif (what) at line_no: the open conditions
    updated (active: is each one's text in, taken: has one of its arms been)."""
    if what in (b"ifdef", b"ifndef"):
        word = rest.split()[0] if rest else b""
        cond = (word in defs) == (what == b"ifdef")
        active.append(cond and all(active))
        taken.append(cond)
    elif what == b"if":
        cond = all(active) and _condition(rest, defs, name, line_no)
        active.append(cond)
        taken.append(cond)
    elif what == b"elif":
        if len(active) == 1:
            raise SourceError(name, line_no, "#elif without #if")
        cond = (not taken[-1]) and all(active[:-1]) and _condition(rest, defs, name, line_no)
        active[-1] = cond
        taken[-1] = taken[-1] or cond
    elif what == b"else":
        if len(active) == 1:
            raise SourceError(name, line_no, "#else without #ifdef")
        active[-1] = (not taken[-1]) and all(active[:-1])
        taken[-1] = True
    else:
        if len(active) == 1:
            raise SourceError(name, line_no, "#endif without #ifdef")
        active.pop()
        taken.pop()


def _preprocess(path: Path, search_path, defs, parts, segments, pos, stack) -> None:
    name = display_name(path)
    if len(stack) > 64 or path.resolve() in stack:
        raise SourceError(name, 1, "#include nests too deeply (or includes itself)")
    data = _read_source(path, name)
    stack = stack + [path.resolve()]
    lines = data.split(b"\n")
    active = [True]         # one entry per open #if
    taken = [True]
    segments.append(Segment(pos[0], name, 1))
    for no, line in enumerate(lines, 1):
        last = no == len(lines)
        m = _DIRECTIVE.match(line)
        if m is None:
            if all(active):
                text = _substitute(line, defs) if defs else line
            else:
                text = b""
            text = text if last else text + b"\n"
            parts.append(text)
            pos[0] += len(text)
            continue
        what, rest = m.group(1), m.group(2).strip()
        if what in _CONDITIONALS:
            _conditional(what, rest, active, taken, defs, name, no)
        elif not all(active):
            pass
        elif what == b"define":
            bits = rest.split(None, 1)
            if not bits:
                raise SourceError(name, no, "#define needs a name")
            defs[bits[0]] = bits[1] if len(bits) > 1 else b""
        elif what == b"undef":
            if rest:
                defs.pop(rest.split()[0], None)
        elif what == b"include":
            target, quoted = _include_target(rest)
            if target is None:
                raise SourceError(name, no, "#include needs \"file\" or <file>")
            found = resolve_include(target, quoted, path.parent, search_path)
            if found is None:
                raise SourceError(name, no, f"#include: {target}: file not found")
            _preprocess(found, search_path, defs, parts, segments, pos, stack)
            segments.append(Segment(pos[0], name, no + 1))
            continue
        # the directive line itself becomes an empty line, keeping line numbers
        if not last:
            parts.append(b"\n")
            pos[0] += 1
    if len(active) != 1:
        raise SourceError(name, len(lines), "#ifdef without #endif")


_EXPR_TOKEN = re.compile(rb"\s*(?:(\d\w*)|([A-Za-z_]\w*)|(&&|\|\||==|!=|<=|>=|[()!<>]))")


class _Condition:
    """cpp's #if expression over integers: || && (== !=) (< > <= >=) ! defined() ( )."""

    def __init__(self, text: bytes, defs: dict[bytes, bytes]):
        self.defs = defs
        self.tokens: list[tuple[str, object]] = []
        pos = 0
        text = text.split(b"//")[0].split(b"/*")[0].rstrip()
        while pos < len(text):
            m = _EXPR_TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == b"":
                    break
                raise ValueError(f"cannot read {text[pos:].decode('latin-1')!r}")
            pos = m.end()
            if m.group(1):
                num = m.group(1).decode().rstrip("uUlL")
                self.tokens.append(("num", int(num, 0) if not (len(num) > 1 and num[0] == "0"
                                                                and num[1].isdigit())
                                    else int(num, 8)))
            elif m.group(2):
                self.tokens.append(("name", m.group(2)))
            else:
                self.tokens.append(("op", m.group(3).decode()))
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", None)

    def take(self, op: str | None = None):
        tok = self.peek()
        if op is not None and tok != ("op", op):
            raise ValueError(f"expected {op!r}")
        self.i += 1
        return tok

    def value(self) -> int:
        v = self.or_expr()
        if self.peek()[0] != "end":
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return v

    def or_expr(self) -> int:
        v = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            r = self.and_expr()
            v = int(bool(v) or bool(r))
        return v

    def and_expr(self) -> int:
        v = self.eq_expr()
        while self.peek() == ("op", "&&"):
            self.take()
            r = self.eq_expr()
            v = int(bool(v) and bool(r))
        return v

    def eq_expr(self) -> int:
        v = self.rel_expr()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            r = self.rel_expr()
            v = int(v == r) if op == "==" else int(v != r)
        return v

    def rel_expr(self) -> int:
        v = self.unary()
        while self.peek() in (("op", "<"), ("op", ">"), ("op", "<="), ("op", ">=")):
            op = self.take()[1]
            r = self.unary()
            v = int({"<": v < r, ">": v > r, "<=": v <= r, ">=": v >= r}[op])
        return v

    def unary(self) -> int:
        kind, val = self.peek()
        if (kind, val) == ("op", "!"):
            self.take()
            return int(not self.unary())
        if (kind, val) == ("op", "("):
            self.take()
            v = self.or_expr()
            self.take(")")
            return v
        if kind == "num":
            self.take()
            return val
        if kind == "name" and val == b"defined":
            self.take()
            paren = self.peek() == ("op", "(")
            if paren:
                self.take()
            kind, val = self.take()
            if kind != "name":
                raise ValueError("defined needs a name")
            if paren:
                self.take(")")
            return int(val in self.defs)
        if kind == "name":
            self.take()
            body = self.defs.get(val)
            if body is None or not body.strip():
                return 0            # cpp: a name that is not a macro (or is empty) is 0
            return _Condition(body, {k: v for k, v in self.defs.items() if k != val}).value()
        raise ValueError("expression ends too early" if kind == "end" else f"unexpected {val!r}")


def _condition(rest: bytes, defs: dict[bytes, bytes], name: str, no: int) -> bool:
    try:
        return _Condition(rest, defs).value() != 0
    except (ValueError, RecursionError) as e:
        raise SourceError(name, no, f"#if: {e}") from None


def _include_target(rest: bytes) -> tuple[str | None, bool]:
    rest = rest.strip()
    if len(rest) >= 2 and rest[:1] == b'"' and b'"' in rest[1:]:
        return rest[1:rest.index(b'"', 1)].decode("latin-1"), True
    if len(rest) >= 2 and rest[:1] == b"<" and b">" in rest:
        return rest[1:rest.index(b">")].decode("latin-1"), False
    return None, False


_TOKEN = re.compile(rb"[^\s]+")


def _substitute(line: bytes, defs: dict[bytes, bytes]) -> bytes:
    if not any(d in line for d in defs):
        return line
    return _TOKEN.sub(lambda m: defs.get(m.group(), m.group()), line)


def read_for_include(name: str, vm_search_path: list[Path], including: Path | None) -> Path:
    found = resolve_include(name, True, including, vm_search_path)
    if found is None:
        raise Throw(-38, f"{name}: file not found")
    return found
