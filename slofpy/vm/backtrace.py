"""Backtraces: which colon definitions an uncaught error happened in, innermost first, each
with the source file and line of the place in it that was running.

Nothing here runs unless an error reaches the top (Machine turns it into a ForthError);
running code pays nothing for it. What is kept while compiling is small:

- `note_code_line`: the outer interpreter, while compiling, remembers the address of the
  first cell compiled for each definition and from each source line (VM.code_lines:
  address -> (file, line)); the line of any cell is that of the nearest remembered address
  at or below it in the same definition.
- `TaggedLines`: the code generator (jit.py) writes its Python lines into one of these, and
  marks where each threaded instruction's lines begin, with the cells it comes from
  (outermost first: a call inlined into its caller gives the caller's calling cell, then
  the callee's own cell).

When an error is reported, `call_sites` walks the Python traceback of the exception: a frame
of the threaded interpreter (VM.run_threaded) gives the cell it was running (ip - 8) and the
return addresses (each the calling cell, as paflof) its nested calls left on the return stack; a frame of generated code
(function `_jit_XT`) gives the cells its line was made from. So threaded and generated code
give the same chain of cells, and `describe` names the definition of each and its line.
"""
from __future__ import annotations

import re
from bisect import bisect_right

from ..errors import BacktraceEntry
from . import layout as L
from .cells import U

#: the lines generated code has before the body its emitter wrote (the def line and the
#: stack check on entry; see jit.compile_definition)
GENERATED_HEAD_LINES = 4

#: a call of a colon definition in generated code: `_c<xt>()`
_CALL = re.compile(r"\b_c(\d+)\(")

#: at most this many definitions are listed (deep recursion would list thousands)
MAX_ENTRIES = 24


from .codegen.line_marks import MARK_SHIFT, cells_of


# ---------------------------------------------------------------- while compiling
def note_code_line(vm, src, start: int) -> int:
    """Remember that the cell about to be compiled at HERE comes from the line of the
    source text at offset start. Returns the offset where that line ends (the outer
    interpreter notes nothing more until it compiles from a later line or another
    definition). The line is counted on from the one noted before in the same piece of
    the same file (src.noted), not from the start of the file each time."""
    where = src.where
    if where is None:
        place = (None, None)
    else:
        cursor = getattr(src, "noted", None)
        if cursor is not None and cursor[0] <= start < cursor[1]:
            at, end, file, line = cursor
            line += src.text.count(b"\n", at, start)
        else:
            file, line = where.locate(start)
            end = next((s.offset for s in where.segments if s.offset > start), len(src.text))
        src.noted = (start, end, file, line)
        place = (file, line)
    vm.code_lines[U(vm.mem, L.DP)[0]] = place
    end_of_line = src.text.find(b"\n", start)
    return end_of_line if end_of_line >= 0 else len(src.text)


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
    threaded = type(vm).run_threaded.__code__
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
            for a in rs[base:top]:
                site = _call_site(vm, a)
                if site is not None:
                    sites.append(site)
            sites.append(ip - 8)
        elif code.co_name.startswith("_jit_"):
            try:
                xt = int(code.co_name[5:])
            except ValueError:
                continue
            sites.extend(_generated_sites(vm, xt, lineno))
    return sites


def _generated_sites(vm, xt: int, lineno: int) -> tuple[int, ...]:
    """The threaded cells line lineno of xt's generated code was made from."""
    marks = vm.jit_line_tags.get(xt)
    index = lineno - 1 - GENERATED_HEAD_LINES
    if not marks or index < 0:
        return ()
    j = bisect_right(marks, (index + 1) << MARK_SHIFT) - 1
    if j < 0:
        return ()
    chain = cells_of(marks[j])
    # a call left behind when inlining the callee was tried and given up: the chain may
    # still name a cell inside the callee; the call itself is the cell holding its xt
    source = vm.jit_sources.get(xt, "").split("\n")
    call = _CALL.search(source[lineno - 1]) if lineno - 1 < len(source) else None
    if call is not None:
        callee = int(call.group(1))
        for n in range(len(chain), 0, -1):
            if 0 <= chain[n - 1] <= vm.size - 8 and U(vm.mem, chain[n - 1])[0] == callee:
                return chain[:n]
    return chain


# how far back from a return address a call of an inline-operand reader is looked for
READER_OPERAND_CELLS = 4


def _call_site(vm, a: int) -> int | None:
    """The calling cell a return address a stands for, or None where a is not one (loop
    parameters and >R items sit on the same stack). paflof's convention: a call in threaded
    code leaves the calling cell itself, holding the xt it called (_calls_at). A
    reader of inline operands (`r> cell+ dup >r @`) moves it onto its operand: then the
    call is the nearest cell before it holding such a reader."""
    if not (L.DICTIONARY <= a <= vm.size - 8) or a & 7:
        return None
    if _calls_at(vm, a):
        return a
    from .codegen.analysis import reads_callers_return_stack
    for site in range(a - 8, max(L.DICTIONARY, a - 8 * READER_OPERAND_CELLS) - 8, -8):
        x = U(vm.mem, site)[0]
        if not _calls_at(vm, site):
            continue
        k = U(vm.mem, x)[0]
        if k == L.K_CREATE:
            x = U(vm.mem, x + 8)[0] - 8          # its DOES> code, filed as generated code is
        if k != L.K_CREATE and k != L.K_COLON:
            continue
        if reads_callers_return_stack(vm, x):
            return site
    return None


def _calls_at(vm, a: int) -> bool:
    """Does the cell at a hold the xt of a colon definition, of a child of CREATE ... DOES>
    or of EXECUTE?"""
    x = U(vm.mem, a)[0]
    if not 0 <= x <= vm.size - 16:
        return False
    k = U(vm.mem, x)[0]
    return k == L.K_COLON or (k == L.K_CREATE and U(vm.mem, x + 8)[0] != 0) \
        or vm.builtin_names.get(k) == "execute"


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
