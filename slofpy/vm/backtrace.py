"""Backtraces: which colon definitions an uncaught error happened in, innermost first, each
with the source file and line of the place in it that was running.

Nothing here runs unless an error reaches the top (Machine turns it into a ForthError);
running code pays nothing for it. What is kept while compiling is small:

- `note_code_line`: the outer interpreter, while compiling, remembers the address of the
  first cell compiled for each definition and from each source line (VM.code_lines:
  address -> (file, line)); the line of any cell is that of the nearest remembered address
  at or below it in the same definition.
- `TaggedLines`: the code generator (jit.py) writes its Python lines into one of these, which
  remembers for each line the threaded cells it was made from (outermost first: a call
  inlined into its caller gives the caller's calling cell, then the callee's own cell).

When an error is reported, `call_sites` walks the Python traceback of the exception: a frame
of the threaded interpreter (VM.run_threaded) gives the cell it was running (ip - 8) and the
return addresses its nested calls left on the return stack; a frame of generated code
(function `_jit_XT`) gives the cells its line was made from. So threaded and generated code
give the same chain of cells, and `describe` names the definition of each and its line.
"""
from __future__ import annotations

from bisect import bisect_right

from ..errors import BacktraceEntry
from . import layout as L
from .cells import U

#: the lines generated code has before the body its emitter wrote (the def line and the
#: stack check on entry; see jit.compile_definition)
GENERATED_HEAD_LINES = 4

#: at most this many definitions are listed (deep recursion would list thousands)
MAX_ENTRIES = 24


class TaggedLines(list):
    """A list of lines of generated code that remembers, for each line, `where` was when
    it was added: the threaded cells (addresses, outermost first) being translated."""

    def __init__(self) -> None:
        super().__init__()
        self.where: tuple[int, ...] = ()
        self.tags: list[tuple[int, ...]] = []

    def append(self, line) -> None:
        super().append(line)
        self.tags.append(self.where)

    def extend(self, lines) -> None:
        lines = list(lines)
        super().extend(lines)
        self.tags.extend([self.where] * len(lines))

    def __iadd__(self, lines):
        self.extend(lines)
        return self

    def insert(self, index, line) -> None:
        super().insert(index, line)
        self.tags.insert(index, self.where)

    def pop(self, index=-1):
        self.tags.pop(index)
        return super().pop(index)

    def __delitem__(self, index) -> None:
        super().__delitem__(index)
        del self.tags[index]

    def __setitem__(self, index, value) -> None:
        if isinstance(index, slice):
            value = list(value)
            super().__setitem__(index, value)
            self.tags[index] = [self.where] * len(value)
        else:
            super().__setitem__(index, value)      # a line replaced keeps its tag

    def clear(self) -> None:
        super().clear()
        self.tags.clear()


# ---------------------------------------------------------------- while compiling
def note_code_line(vm, src, start: int) -> int:
    """Remember that the cell about to be compiled at HERE comes from the line of the
    source text at offset start. Returns the offset where that line ends (the outer
    interpreter notes nothing more until it compiles from a later line)."""
    vm.code_lines[U(vm.mem, L.DP)[0]] = src.locate(start)
    end = src.text.find(b"\n", start)
    return end if end >= 0 else len(src.text)


# ---------------------------------------------------------------- when an error is reported
def backtrace(vm, exc: BaseException) -> tuple[BacktraceEntry, ...]:
    """The definitions exc was raised in, innermost first (call this before the return
    stack is emptied). Reporting never fails because of it: anything odd gives ()."""
    try:
        return describe(vm, call_sites(vm, exc))
    except Exception:       # a half-made state the walk does not understand: no backtrace
        return ()


def call_sites(vm, exc: BaseException) -> list[int]:
    """The threaded cells that were running when exc was raised, outermost first."""
    from .core import VM
    threaded = VM.run_threaded.__code__
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    # where each threaded interpreter's own part of the return stack ends: where the next
    # one's begins
    bases = [f.f_locals.get("base") for f, _ in frames if f.f_code is threaded]
    bases = [b for b in bases if b is not None]
    rs = vm.rs
    sites: list[int] = []
    k = 0
    for frame, lineno in frames:
        code = frame.f_code
        if code is threaded:
            local = frame.f_locals
            base, ip = local.get("base"), local.get("ip")
            if base is None or ip is None:
                continue        # it handed over to generated code before starting
            k += 1
            top = bases[k] if k < len(bases) else len(rs)
            sites.extend(a - 8 for a in rs[base:top] if _is_return_address(vm, a))
            sites.append(ip - 8)
        elif code.co_name.startswith("_jit_"):
            try:
                xt = int(code.co_name[5:])
            except ValueError:
                continue
            tags = vm.jit_line_tags.get(xt)
            index = lineno - 1 - GENERATED_HEAD_LINES
            if tags is not None and 0 <= index < len(tags):
                sites.extend(tags[index])
    return sites


def _is_return_address(vm, a: int) -> bool:
    """Does a look like a return address a call in threaded code left (the cell before it
    holds the xt of a colon definition or EXECUTE)? Loop parameters and >R items sit on
    the same stack."""
    if not (L.DICTIONARY + 8 <= a <= vm.size - 8) or a & 7:
        return False
    x = U(vm.mem, a - 8)[0]
    if not 0 <= x <= vm.size - 8:
        return False
    k = U(vm.mem, x)[0]
    return k == L.K_COLON or vm.builtin_names.get(k) == "execute"


def describe(vm, sites: list[int]) -> tuple[BacktraceEntry, ...]:
    """A BacktraceEntry for each site, innermost first (the same definition running
    itself many times in a row is listed up to MAX_ENTRIES times)."""
    from .dictionary import lfa_to_xt, name_of, xt_name
    headers = vm.headers
    lines = _line_index(vm)
    entries = []
    for a in reversed(sites):
        i = bisect_right(headers, a) - 1
        if i < 0:
            continue
        lfa = headers[i]
        start = lfa_to_xt(lfa, vm.mem)
        if a < start + 8:
            continue
        word = name_of(vm, lfa).decode("latin-1")
        file = line = None
        # the nearest line noted at or below the cell, inside the same definition (the
        # first cell of each definition and of each source line of it is noted)
        j = bisect_right(lines, a) - 1
        if j >= 0 and lines[j] >= start:
            file, line = vm.code_lines[lines[j]]
        at = None
        if 0 <= a <= vm.size - 8:
            x = U(vm.mem, a)[0]
            if 0 < x <= vm.size - 8:
                at = _callee_name(vm, x, xt_name)
        entries.append(BacktraceEntry(word, file, line, at))
        if len(entries) >= MAX_ENTRIES:
            break
    return tuple(entries)


def _callee_name(vm, x: int, xt_name) -> str | None:
    """The name of the word whose xt a cell holds, if it is one."""
    try:
        name = xt_name(vm, x)
    except Exception:       # not an xt after all: no name
        return None
    return None if name.startswith("<noname") else name


def _line_index(vm) -> list[int]:
    """The addresses in vm.code_lines, sorted (made again when new ones have come)."""
    cached = vm.code_line_index
    if len(cached) != len(vm.code_lines):
        cached = vm.code_line_index = sorted(vm.code_lines)
    return cached
