"""Making generated code for a definition and filing it: `compile_definition`.

The emitter (emitter/) gives the statements of the body; this module puts the entry check
in front, binds the names the body uses as the function's defaults (fast locals), compiles
the text (through the compiled-code cache), and files the function in the VM's
`GeneratedCode` (caches.py) with what invalidates it: the pages and cells of its threaded
body and of the bodies it depends on. Callers reach it through their slot for it, which this
module and VM.drop_jit keep current.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ...codecache import compile_cached
from ...errors import Throw
from .. import layout as L
from ..words.table import HELPERS
from .analysis import executed_code_reads_callers_return_stack, reads_callers_return_stack
from .decoder import NotCompilable, decode
from . import source_cache
from .source_cache import Emitted

if TYPE_CHECKING:
    from .emitter import Emitter

# names of the VM's namespace generated code may use (bound only when the body does)
_PARAMS = ("s", "rs", "mem", "vm", "U", "U2", "P", "UU", "PU", "UL", "PL", "UW", "PW", "SB", "M",
           "MS", "CP", "JC", "Throw", "OUTSIDE")
_NAME = re.compile(r"[A-Za-z_]\w*")
_GIVEN_UP = -1_000_000      # a call count that keeps a definition from being tried again soon


def wrapping_indexes(start: int, limit: int):
    """The indexes of a DO ... LOOP whose start is not below its limit: on through the
    64-bit wrap-around until the limit comes round."""
    index = start
    while True:
        yield index
        index += 1
        if index == L.SIGN64:
            index = -L.SIGN64
        if index == limit:
            return


def compile_definition(vm, xt: int) -> bool:
    """Try to generate Python code for the colon definition at xt; True if it now has some."""
    codegen = vm.codegen
    body = xt + 8
    if L.COMP_BUFFER <= body < L.COMP_BUFFER_END or xt in codegen.functions \
            or xt in codegen.compiling:
        return xt in codegen.functions
    codegen.compiling.add(xt)
    try:
        emitted = _emitted(vm, xt)
        if emitted is not None:
            function, slots = _make_function(vm, xt, emitted)
    except (NotCompilable, Throw, RecursionError, SyntaxError):
        emitted = None
    finally:
        codegen.compiling.discard(xt)
    if emitted is None:
        codegen.call_counts[xt] = _GIVEN_UP
        return False
    _install(vm, xt, function, slots, emitted.calls)
    _mark_bodies(vm, body, emitted.end, emitted.deps)
    codegen.sources[xt] = emitted.source
    codegen.line_tags[xt] = list(emitted.marks)
    return True


def _emitted(vm, xt: int) -> Emitted | None:
    """What the emitter makes of the definition at xt (None: it stays threaded), from the
    source cache when the same code was emitted before."""
    known = source_cache.lookup(vm, xt)
    if known is not None:
        return known if known.source else None
    try:
        emitted = _emit_fresh(vm, xt)
    except NotCompilable:
        emitted = _NOT_COMPILABLE
    source_cache.keep(vm, xt, emitted)
    return emitted if emitted.source else None


# what the source cache keeps for a definition that stays threaded
_NOT_COMPILABLE = Emitted("", (), (), (), (), 0, ())


def _emit_fresh(vm, xt: int) -> Emitted:
    """Run the emitter over the definition at xt, and put its output in one piece. (The
    emitter is imported here: a run whose definitions all come from the source cache never
    loads it.)"""
    from .emitter import HEADROOM, STACK_CHECK
    code = decode(vm, xt + 8)
    emitter = _emit(vm, xt, code)
    body = xt + 8
    # on entry: HEADROOM cells free, so the checks the calls it inlines make cannot fire
    # until it has grown by that much (since_check); nearer the limit the threaded code
    # runs instead, which checks at every call
    check = (f"    if len(s) > {L.DATA_STACK_CELLS - HEADROOM}:\n"
             f"        {STACK_CHECK}\n"
             f"        return RT({body}, 0)\n")
    body_src = check + emitter.text() + "\n"
    # bound as defaults (fast locals), but only the names the body uses: a call fills in
    # every default
    # the primitives it calls, bound as _w<kind> (emitter.call_builtin)
    primitives = {name: int(name[2:]) for name in emitter.consts}
    used = set(_NAME.findall(body_src))
    params = [p for p in list(_PARAMS) + sorted(HELPERS) + sorted(_BOUND) + sorted(primitives)
              if p in used]
    source = f"def _jit_{xt}(" + ", ".join(f"{p}={p}" for p in params) + "):\n" + body_src
    return Emitted(source, tuple(params), tuple(sorted(primitives.items())),
                   tuple(sorted(emitter.calls)), tuple(emitter.deps), code[-1].addr + 8,
                   tuple(emitter.lines.marks))


def _emit(vm, xt: int, code: list) -> "Emitter":
    """The emitter, run over the whole definition."""
    from .emitter import HEADROOM, Emitter
    if reads_callers_return_stack(vm, xt):
        raise NotCompilable
    emitter = Emitter(vm, code, xt=xt)
    emitter.stack.since_check = -HEADROOM    # what the check on entry (below) leaves room for
    emitter.emit_body(1, tail=True)
    if emitter.rs_depth != 0:
        raise NotCompilable
    return emitter


# the names generated code binds besides the VM's namespace and the primitives it calls
_BOUND = ("EX", "WR", "RT", "JCODE", "RR")


def _make_function(vm, xt: int, emitted: Emitted) -> tuple[Callable[[], None], dict]:
    """The generated function, and the globals that hold its call slots."""
    bound = dict(EX=vm.execute, WR=wrapping_indexes, RT=vm.run_threaded,
                 JCODE=vm.codegen.functions,
                 RR=lambda x: executed_code_reads_callers_return_stack(vm, x))
    bound.update((name, vm.prims[kind]) for name, kind in emitted.primitives)
    local = {p: vm.ns[p] for p in emitted.params if p in vm.ns}
    local.update((p, bound[p]) for p in emitted.params if p in bound)
    # the function's own globals hold the slots of the definitions it calls
    slots: dict = {f"_c{callee}": vm.codegen.functions.get(callee) or vm.threaded_runner(callee)
                   for callee in emitted.calls}
    compiled = compile_cached(emitted.source, f"<jit {xt:x}>", "jit")
    exec(compiled, slots, local)  # noqa: S102 - code generated from the VM's own threaded code
    return local[f"_jit_{xt}"], slots


def _install(vm, xt: int, function: Callable[[], None], slots: dict, calls: set) -> None:
    """File the function, and point every slot that calls xt at it."""
    codegen = vm.codegen
    for callee in calls:
        codegen.callers.setdefault(callee, []).append(slots)
    codegen.functions[xt] = function
    for caller in codegen.callers.get(xt, ()):
        caller[f"_c{xt}"] = function


def _mark_bodies(vm, body: int, end: int, depends_on: list) -> None:
    """Mark the pages and cells of the body and of the bodies its code depends on, so that a
    store into one of them drops the code (VM.code_store)."""
    codegen = vm.codegen
    codegen.ranges[body] = end
    for lo, hi in [(body, end)] + list(depends_on):
        for page in range(lo >> 12, ((hi - 1) >> 12) + 1):
            vm.codepages[page] = 1
            codegen.pages.setdefault(page, set()).add(body)
        codegen.cells.update(range(lo >> 3, (hi + 7) >> 3))
    if depends_on:
        codegen.depends_on[body] = list(depends_on)
    else:
        codegen.depends_on.pop(body, None)
