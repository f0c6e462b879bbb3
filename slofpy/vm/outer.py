"""The outer interpreter: input sources, parsing, number conversion, INTERPRET, EVALUATE
and INCLUDED.

Every text being interpreted lives in VM memory (SOURCE gives its address); Python keeps a
bytes copy of it for fast scanning. A file is pre-processed (source.py) and evaluated as one
string, as SLOF does, so `(` and `"` may span lines and `\\` runs to the end of the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import Throw
from . import layout as L
from .cells import U, P
from .dictionary import find, comma
from .source import Preprocessed, Segment, preprocess_file, SourceError, resolve_include
from .backtrace import note_code_line

_NAME = re.compile(rb"[^\x00-\x20]+")


@dataclass
class Source:
    text: bytes
    addr: int
    ident: int                      # SOURCE-ID: 0 terminal, -1 string
    where: Preprocessed | None      # file/line map, None for unnamed strings
    path: Path | None = None        # file being loaded, for relative includes
    word_start: int = 0             # offset of the word being interpreted

    def locate(self, offset: int) -> tuple[str | None, int | None]:
        if self.where is None:
            return None, None
        return self.where.locate(offset)

    def follow(self, vm, addr: int, length: int) -> None:
        """The input was switched by hand (IB and SPAN stored, as SLOF's `load` does, then
        put back by RESTORE-SOURCE): read from addr..addr+length from now on, and from the
        text this source started with, with its file/line map, once that is back."""
        home = self.__dict__.setdefault("home", (self.addr, self.text, self.where))
        if (addr, length) == (home[0], len(home[1])):
            self.addr, self.text, self.where = home
            return
        if addr < 0 or length < 0 or addr + length > vm.size:
            raise Throw(-9, "input buffer outside memory")
        self.addr, self.text, self.where = addr, vm.read(addr, length), None


# ---------------------------------------------------------------- parsing
def current(vm) -> Source:
    if not vm.sources:
        raise Throw(-21, "no input source")
    src = vm.sources[-1]
    mem = vm.mem
    if U(mem, L.SOURCE_ADDR)[0] != src.addr or U(mem, L.SOURCE_LEN)[0] != len(src.text):
        src.follow(vm, U(mem, L.SOURCE_ADDR)[0], U(mem, L.SOURCE_LEN)[0])
    return src


def parse_name(vm) -> tuple[int, bytes]:
    """Skip blanks, take the next blank-delimited word: (its address, its bytes)."""
    src = current(vm)
    text = src.text
    toin = U(vm.mem, L.TOIN)[0]
    m = _NAME.search(text, toin) if 0 <= toin < len(text) else None
    if m is None:
        P(vm.mem, L.TOIN, len(text))
        return src.addr + len(text), b""
    start, end = m.span()
    P(vm.mem, L.TOIN, end + 1 if end < len(text) else end)
    return src.addr + start, m.group()


def parse(vm, delim: int) -> tuple[int, bytes]:
    """Take text up to the delimiter (not skipping leading blanks); >IN moves past it."""
    src = current(vm)
    text = src.text
    toin = U(vm.mem, L.TOIN)[0]
    if toin >= len(text):
        return src.addr + len(text), b""
    if delim == 0x20:
        # a blank delimiter also ends at any white space, as in SLOF's parse
        m = re.compile(rb"[\x00-\x20]").search(text, toin)
        end = m.start() if m else len(text)
    else:
        end = text.find(bytes((delim,)), toin)
        if end < 0:
            end = len(text)
    P(vm.mem, L.TOIN, min(end + 1, len(text)))
    return src.addr + toin, text[toin:end]


def skip_blanks(vm) -> None:
    src = current(vm)
    text = src.text
    toin = U(vm.mem, L.TOIN)[0]
    while toin < len(text) and text[toin] <= 0x20:
        toin += 1
    P(vm.mem, L.TOIN, toin)


def parse_word_or_fail(vm) -> bytes:
    _, name = parse_name(vm)
    if not name:
        raise Throw(-16)
    return name


# ---------------------------------------------------------------- numbers
def to_number(vm, token: bytes) -> int | None:
    """The number a token spells in the current BASE (SLOF: optional leading '-'), or with
    a Forth 2012 prefix (# decimal, $ hex, % binary, 'c' a character). None if it is not."""
    base = vm.cell(L.BASE)
    t = token
    if len(t) == 3 and t[0] == 0x27 and t[2] == 0x27:
        return t[1]
    if t[:1] in (b"#", b"$", b"%") and len(t) > 1:
        base = {b"#": 10, b"$": 16, b"%": 2}[t[:1]]
        t = t[1:]
    return digits_value(t, base)


def digits_value(t: bytes, base: int) -> int | None:
    neg = False
    if t[:1] == b"-" and len(t) > 1:
        neg = True
        t = t[1:]
    if not t or not 2 <= base <= 36:
        return None
    n = 0
    mask = L.MASK64
    for c in t:
        d = digit_value(c)
        if d < 0 or d >= base:
            return None
        n = (n * base + d) & mask   # wraps as it goes: linear in the length, same value
    if neg:
        n = -n
    return ((n + L.SIGN64) & L.MASK64) - L.SIGN64


def digit_value(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 90:
        return c - 55
    if 97 <= c <= 122:
        return c - 87
    return -1


# ---------------------------------------------------------------- interpreting
def compile_literal(vm, n: int) -> None:
    comma(vm, vm.builtin_xt["lit"])
    comma(vm, n)


def interpret(vm) -> None:
    """Interpret the current source to its end."""
    src = current(vm)
    text = src.text
    mem = vm.mem
    execute = vm.execute
    stack = vm.s
    search = _NAME.search
    n = len(text)
    # compiling: the source line noted last ends here, and the definition it was noted for
    # (backtrace.py: each definition, and each line of it, gets its first cell noted)
    line_end = -1
    noted = None
    while True:
        toin = U(mem, L.TOIN)[0]
        m = search(text, toin) if 0 <= toin < n else None
        if m is None:
            P(mem, L.TOIN, n)
            return
        start, end = m.span()
        P(mem, L.TOIN, end + 1 if end < n else end)
        token = m.group()
        src.word_start = start
        hit = find(vm, token)
        if hit is not None:
            xt, immediate = hit
            if immediate or not U(mem, L.STATE)[0]:
                if immediate and (start > line_end or vm.defining is not noted) \
                        and U(mem, L.STATE)[0]:
                    line_end = note_code_line(vm, src, start)
                    noted = vm.defining
                execute(xt)
                if len(stack) > L.DATA_STACK_CELLS:
                    raise Throw(-3)
            else:
                if start > line_end or vm.defining is not noted:
                    line_end = note_code_line(vm, src, start)
                    noted = vm.defining
                comma(vm, xt)
            continue
        value = to_number(vm, token)
        if value is None:
            raise Throw(-13, word=token.decode("latin-1"))
        if U(mem, L.STATE)[0]:
            if start > line_end or vm.defining is not noted:
                line_end = note_code_line(vm, src, start)
                noted = vm.defining
            compile_literal(vm, value)
        else:
            stack.append(value)
            if len(stack) > L.DATA_STACK_CELLS:
                raise Throw(-3)


def push_source(vm, text: bytes, addr: int | None = None, ident: int = -1,
                where: Preprocessed | None = None, path: Path | None = None) -> Source:
    """Make text the current input source (copying it into VM memory unless it is there)."""
    if addr is None:
        top = vm.cell(L.SRC_TOP)
        if top + len(text) + 8 > L.SOURCES_END:
            raise Throw(-8, "source text too large")
        vm.mem[top:top + len(text)] = text
        vm.set_cell(L.SRC_TOP, (top + len(text) + 8) & ~7)
        addr = top
    src = Source(text, addr, ident, where, path)
    src.saved = (vm.cell(L.SOURCE_ADDR), vm.cell(L.SOURCE_LEN), vm.cell(L.TOIN),
                 vm.cell(L.SOURCE_ID), vm.cell(L.SRC_TOP) if addr is None else None,
                 vm.cell(L.NIB))
    vm.sources.append(src)
    vm.set_cell(L.SOURCE_ADDR, addr)
    vm.set_cell(L.SOURCE_LEN, len(text))       # SPAN
    vm.set_cell(L.NIB, len(text))              # #IB
    vm.set_cell(L.TOIN, 0)
    vm.set_cell(L.SOURCE_ID, ident)
    return src


def pop_source(vm, src: Source, src_top: int) -> None:
    if vm.sources and vm.sources[-1] is src:
        vm.sources.pop()
    a, n, toin, ident, _, nib = src.saved
    vm.set_cell(L.NIB, nib)
    vm.set_cell(L.SOURCE_ADDR, a)
    vm.set_cell(L.SOURCE_LEN, n)
    vm.set_cell(L.TOIN, toin)
    vm.set_cell(L.SOURCE_ID, ident)
    vm.set_cell(L.SRC_TOP, src_top)


def run_source(vm, src: Source, src_top: int) -> None:
    try:
        interpret(vm)
    except BaseException as e:
        note_location(e, src)
        raise
    finally:
        pop_source(vm, src, src_top)


def note_location(e: BaseException, src: Source) -> None:
    """Remember, on the error, the innermost source position it came from."""
    if getattr(e, "forth_word", None) is None:
        token = _NAME.match(src.text, src.word_start)
        e.forth_word = token.group().decode("latin-1") if token else None
    if getattr(e, "forth_where", None) is not None:
        return
    file, line = src.locate(src.word_start)
    if file is not None:
        e.forth_where = (file, line)


def evaluate_text(vm, text: bytes, name: str | None = None, ident: int = -1,
                  first_line: int = 1) -> None:
    """Interpret text from Python. With a name, errors say name:line."""
    top = vm.cell(L.SRC_TOP)
    where = Preprocessed(text, [Segment(0, name, first_line)]) if name else None
    src = push_source(vm, text, ident=ident, where=where)
    run_source(vm, src, top)


def evaluate_memory(vm, addr: int, length: int) -> None:
    """EVALUATE: interpret a string that is already in VM memory."""
    text = vm.read(addr, length)
    top = vm.cell(L.SRC_TOP)
    outer = vm.sources[-1] if vm.sources else None
    src = push_source(vm, text, addr=addr, ident=-1)
    # text whoever runs the VM knows the origin of (a file of SLOF's romfs, say) is reported
    # where it comes from; errors inside other evaluated strings where the EVALUATE was
    named = vm.name_memory_text(addr, length) if vm.name_memory_text else None
    if named is not None:
        src.where = named
    elif outer is not None and outer.where is not None:
        src.where = None
    run_source(vm, src, top)


def interpret_memory(vm, addr: int, length: int, ident: int) -> None:
    """paflof's INTERPRET: the text at addr (already in memory) with SOURCE-ID ident."""
    text = vm.read(addr, length)
    top = vm.cell(L.SRC_TOP)
    src = push_source(vm, text, addr=addr, ident=ident)
    run_source(vm, src, top)


def interpret_terminal_line(vm, text: bytes) -> None:
    """A line typed at SLOF's prompt: it goes into the terminal input buffer, IB is TIB,
    #IB is #TIB (the buffer's size), SPAN the line's length and SOURCE-ID 0. A line longer
    than the buffer is interpreted where it is copied for EVALUATE, as a whole."""
    if len(text) > vm.cell(L.NTIB) or len(text) > L.TIB_SIZE:
        evaluate_text(vm, text, ident=0)
        return
    vm.mem[L.TIB:L.TIB + len(text)] = text
    top = vm.cell(L.SRC_TOP)
    src = push_source(vm, text, addr=L.TIB, ident=0)
    vm.set_cell(L.NIB, vm.cell(L.NTIB))
    catcher = vm.cell(L.CATCHER)
    vm.set_cell(L.CATCHER, len(vm.rs) + 2)     # the line runs under QUIT's CATCH
    try:
        run_source(vm, src, top)
    finally:
        vm.set_cell(L.CATCHER, catcher)


def include_file(vm, path: Path) -> None:
    """INCLUDED: pre-process a file and interpret it as one string."""
    try:
        pre = preprocess_file(path, vm.search_path, vm.defines)
    except SourceError as e:
        err = Throw(-38 if "not found" in e.text or "cannot read" in e.text else -21, e.text)
        err.forth_where = (e.file, e.line)
        err.forth_word = ""
        raise err from None
    top = vm.cell(L.SRC_TOP)
    src = push_source(vm, pre.text, ident=-1, where=pre, path=path)
    run_source(vm, src, top)


def include_named(vm, name: str) -> None:
    including = None
    for src in reversed(vm.sources):
        if src.path is not None:
            including = src.path.parent
            break
    found = resolve_include(name, True, including, vm.search_path)
    if found is None:
        raise Throw(-38, f"{name}: file not found")
    include_file(vm, found)
