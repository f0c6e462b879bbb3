"""Source text for the DTS compiler: /include/ splicing and error locations.

dtc handles ``/include/ "file"`` in its lexer by switching to the named file
and back.  Here the same effect is had before parsing: every directive is
replaced by the text of the file it names (found relative to the including
file first, then in the extra include directories), recursively.  The
result is one string for the parser plus a map from positions in that
string back to ``(file, line, column)`` so that every error can name the
place in the file the user wrote.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from typing import Sequence

#: How deeply /include/ may nest before we assume a loop.
MAX_INCLUDE_DEPTH = 64


#: The longest piece of input an error message quotes.
MAX_QUOTED = 60


def shorten(text: str, limit: int = MAX_QUOTED) -> str:
    """`text` for an error message: cut to `limit` characters (saying how long it was)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


class DtsError(Exception):
    """A DTS input cannot be compiled.

    ``str(error)`` is one line, ``FILE:LINE:COL: message``.  The parts are
    also available as ``filename``, ``line``, ``column`` (both 1-based)
    and ``message``.
    """

    def __init__(self, message: str, filename: str, line: int, column: int) -> None:
        message = shorten(message, 4 * MAX_QUOTED)   # the one line stays a line
        super().__init__(f"{filename}:{line}:{column}: {message}")
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column


class SourceError(Exception):
    """An error at a position of the spliced text, not yet located.

    Raised inside the compiler; :meth:`SourceText.error` turns it into a
    :class:`DtsError`.
    """

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass
class _File:
    name: str
    text: str
    line_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def line_column(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


@dataclass
class SourceText:
    """The spliced text and the map from its positions back to files.

    ``segments`` holds ``(start in text, file, offset in that file)``
    triples in increasing order of start; a position belongs to the last
    segment starting at or before it.
    """

    text: str
    segments: list[tuple[int, _File, int]]

    def locate(self, pos: int) -> tuple[str, int, int]:
        """``(file name, line, column)`` of position ``pos`` of :attr:`text`."""
        starts = [start for start, _, _ in self.segments]
        index = max(0, bisect.bisect_right(starts, pos) - 1)
        start, source, offset = self.segments[index]
        line, column = source.line_column(offset + (pos - start))
        return source.name, line, column

    def filename_at(self, pos: int) -> str:
        """Name of the file that position ``pos`` came from."""
        return self.locate(pos)[0]

    def error(self, message: str, pos: int) -> DtsError:
        """A :class:`DtsError` for ``message`` at position ``pos``."""
        filename, line, column = self.locate(pos)
        return DtsError(message, filename, line, column)


# Things /include/ must not be recognised inside, and the directive itself.
_SCAN = re.compile(
    r"""(?P<comment>//[^\n]*|/\*[\s\S]*?\*/)
      | (?P<open_comment>/\*)
      | (?P<string>"(?:[^"\\\n]|\\[^\n])*")
      | (?P<open_string>")
      | (?P<char>'(?:[^'\\\n]|\\[^\n])*')
      | (?P<open_char>')
      | (?P<include>/include/[ \t\r\n]*(?:"(?P<file>[^"\n]*)")?)
    """,
    re.VERBOSE,
)


def read_text_file(path: str) -> str:
    """Read a source file; bytes that are not UTF-8 survive as surrogates."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return handle.read()


def find_file(name: str, including_file: str, include_dirs: Sequence[str]) -> str | None:
    """Resolve ``name`` as dtc does: relative to the including file, then the dirs."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    base = os.path.dirname(including_file) if including_file and not including_file.startswith("<") else ""
    candidates = [os.path.join(base, name)] if base else [name]
    candidates += [os.path.join(directory, name) for directory in include_dirs]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return None


def read_roots(filename: str, include_dirs: Sequence[str], read_dirs: Sequence[str] = ()) -> tuple[str, ...]:
    """The folders /include/ and /incbin/ may read from: the top file's folder (the current
    folder for text with no file), the include folders and `read_dirs`, links resolved."""
    top = os.path.dirname(filename) if filename and not filename.startswith("<") else ""
    return tuple(os.path.realpath(d or ".") for d in (top, *include_dirs, *read_dirs))


def outside_roots(path: str, roots: Sequence[str]) -> bool:
    """Whether `path` (links resolved, so `../` and links cannot escape) lies outside
    every folder of `roots`."""
    real = os.path.realpath(path)
    return not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def outside_message(directive: str, name: str) -> str:
    """The error for a file outside the folders a DTS may read from."""
    return (f'{directive} file "{name}" is outside the folders a DTS may read '
            "(its own folder and the -I folders; --allow-read DIR adds one)")


def load_source(text: str, filename: str, include_dirs: Sequence[str] = (),
                read_dirs: Sequence[str] | None = ()) -> SourceText:
    """Splice every ``/include/`` of ``text`` (from ``filename``) into one text.

    Raises :class:`DtsError` for a missing or recursive include, an
    ``/include/`` without a quoted file name, and for unterminated strings,
    character literals and comments (which would otherwise hide or fake an
    ``/include/``), and for an included file outside :func:`read_roots` (``read_dirs`` None:
    no such limit).
    """
    roots = None if read_dirs is None else read_roots(filename, include_dirs, read_dirs)
    pieces: list[str] = []
    segments: list[tuple[int, _File, int]] = []
    length = 0

    def emit(piece: str, source: _File, offset: int) -> None:
        nonlocal length
        if not piece:
            return
        segments.append((length, source, offset))
        pieces.append(piece)
        length += len(piece)

    def fail(message: str, source: _File, offset: int) -> DtsError:
        line, column = source.line_column(offset)
        return DtsError(message, source.name, line, column)

    def splice(source: _File, stack: list[str]) -> None:
        done = 0
        for match in _SCAN.finditer(source.text):
            kind = match.lastgroup
            if kind == "open_comment":
                raise fail("unterminated comment", source, match.start())
            if kind == "open_string":
                raise fail("unterminated string", source, match.start())
            if kind == "open_char":
                raise fail("unterminated character literal", source, match.start())
            if match.group("include") is None:
                continue
            name = match.group("file")
            if name is None:
                raise fail('/include/ must be followed by a file name in double quotes', source, match.start())
            path = find_file(name, source.name, include_dirs)
            if path is None:
                raise fail(f'cannot find include file "{name}"', source, match.start())
            if roots is not None and outside_roots(path, roots):
                raise fail(outside_message("/include/", name), source, match.start())
            real = os.path.realpath(path)
            if real in stack:
                raise fail(f'recursive /include/ of "{name}"', source, match.start())
            if len(stack) >= MAX_INCLUDE_DEPTH:
                raise fail(f"/include/ nested more than {MAX_INCLUDE_DEPTH} deep", source, match.start())
            try:
                included = _File(path, read_text_file(path))
            except OSError as exc:
                raise fail(f'cannot read include file "{name}": {exc.strerror}', source, match.start()) from None
            emit(source.text[done:match.start()], source, done)
            # Newlines keep tokens of the two files apart and let line
            # markers at the start of the included file be recognised.
            emit("\n", source, match.start())
            splice(included, stack + [real])
            emit("\n", source, match.end())
            done = match.end()
        emit(source.text[done:], source, done)

    top = _File(filename, text)
    top_real = os.path.realpath(filename) if not filename.startswith("<") else filename
    splice(top, [top_real])
    if not segments:
        segments.append((0, top, 0))
    return SourceText("".join(pieces), segments)
