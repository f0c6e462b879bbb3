"""What the code generator knows of the primitives: their stack effects, and how each kind
of primitive is lowered onto cached stack items.

The primitives themselves are defined once, in vm/words/ (see words/table.py): a snippet of
Python statements on the real stacks, or a Python function, and for the ones lowered here a
specification beside it (an Operator, Shuffle, MemoryAccess or Division). This module builds
from those specifications the tables the code generator lowers them by when their operands
are Python locals (the expression of a binary or unary word and whether its result needs
wrapping to 64 bits, the cell size and expression of a fetch or store, the permutation a
shuffle makes), reads a snippet written as pops, plain statements and pushes into those parts
(`snippet_parts`), and gives the change in data-stack depth of each primitive
(`primitive_delta`) and its use of the return stack.
"""
from __future__ import annotations

import re

from .. import layout as L
from ..words.table import BUILTINS, Division, MemoryAccess, Shuffle

SB = L.SIGN64
M = L.MASK64

# words whose use of the return stack reaches outside their own pushes
RS_PUSH = {">r": 1, "2>r": 2}
RS_POP = {"r>": 1, "rdrop": 1, "2r>": 2}
RS_PEEK = {"r@": 1, "2r@": 2}
RS_FORBIDDEN = {"rpick", "rdepth", "rdepth!", "compile", "i'", "(does>)"}
RS_CALLERS = RS_FORBIDDEN - {"(does>)"}

# primitives whose snippet takes its inputs and leaves its results in these forms (see
# Emitter.try_snippet_on_cached_items)
_POP_LINE = re.compile(r"(\w+) = s\.pop\(\)( & M)?")
_PUSH_LINE = re.compile(r"s\.append\((.*)\)")
_USES_STACK = re.compile(r"\bs\b|\brs\b|\bvm\.rbase\b")
_MAY_THROW = re.compile(r"\w\s*[(\[]|\braise\b")
# a snippet that may write memory: a pack, an assignment into mem, or a call given the VM
MAY_STORE = re.compile(r"\bP[LWU]?\(|\bmem\[[^\]]*\]\s*=|\(vm\b|\bvm\.")
_snippet_cache: dict[str, tuple | None] = {}


def snippet_parts(code: str):
    """(pops, body, pushes, safe) of a snippet made of "x = s.pop()" lines, lines that do
    not touch the stacks, and "s.append(expr)" lines, in that order; safe when nothing in
    it can throw. None for any other snippet."""
    if code in _snippet_cache:
        return _snippet_cache[code]
    lines = code.split("\n")
    pops = []
    while lines and (match := _POP_LINE.fullmatch(lines[0])):
        pops.append((match.group(1), match.group(2) or ""))
        lines.pop(0)
    pushes: list[str] = []
    while lines and (match := _PUSH_LINE.fullmatch(lines[-1])):
        pushes.insert(0, match.group(1))
        lines.pop()
    parts = None
    if (pops or pushes) and not any(_USES_STACK.search(x) for x in lines + pushes):
        parts = (pops, lines, pushes, not lines and not any(_MAY_THROW.search(p) for p in pushes))
    _snippet_cache[code] = parts
    return parts



# the primitives that are one expression (words/table.py's operator: one specification for
# their snippet and for these): ( a b -- r ) and ( a -- r ), name -> the expression in {a}
# and {b}, and whether the result needs wrapping to 64 bits
_OPERATORS = [(builtin.name.lower(), builtin.operator) for builtin in BUILTINS
              if builtin.operator is not None]
BINARY = {name: (spec.expr, spec.wrap) for name, spec in _OPERATORS if spec.inputs == 2}
UNARY = {name: (spec.expr, spec.wrap) for name, spec in _OPERATORS if spec.inputs == 1}

# words whose 64-bit result is the same whether or not their inputs were wrapped first
MODULAR = {name for name, spec in _OPERATORS if spec.modular}

# the other primitives lowered here carry their specification beside their snippet
# (words/table.py: Shuffle, MemoryAccess, Division)
_LOWERED = [(builtin.name.lower(), builtin.lowering) for builtin in BUILTINS
            if builtin.lowering is not None]

# stack shuffles done on cached items only: ( inputs -- outputs ) as indexes into the inputs
SHUFFLE = {name: (spec.inputs, spec.outputs) for name, spec in _LOWERED
           if isinstance(spec, Shuffle)}

# fetches ( a -- x ): cell size and expression of {a}
FETCH = {name: (spec.size, spec.expr) for name, spec in _LOWERED
         if isinstance(spec, MemoryAccess) and spec.kind == "fetch"}
# stores ( x a -- ): size and the statement storing {v} at {a}
STORE = {name: (spec.size, spec.expr) for name, spec in _LOWERED
         if isinstance(spec, MemoryAccess) and spec.kind == "store"}
# data-space stores ( x -- ): size and the statement storing {v} at {d}
COMMA = {name: (spec.size, spec.expr) for name, spec in _LOWERED
         if isinstance(spec, MemoryAccess) and spec.kind == "comma"}

# ( a b -- r ) that throw -10 when b is 0: the expression, and whether it needs wrapping
DIVISION = {name: (spec.expr, spec.wrap) for name, spec in _LOWERED
            if isinstance(spec, Division)}

_ACCESS_DELTA = {"fetch": 0, "store": -2, "comma": -1}
# primitives whose change in depth is not fixed (they move ip, or depend on what they find)
_UNKNOWN_DELTA = {"execute", "(do)", "(?do)", "(loop)", "(+loop)", "leave", "?leave",
                  "unloop", "(does>)", "branch", "?dup", "depth", "clear", "depth!"}


def _spec_delta(spec) -> int:
    """The change in depth a primitive's specification (Operator or lowering) makes."""
    if isinstance(spec, Shuffle):
        return len(spec.outputs) - spec.inputs
    if isinstance(spec, MemoryAccess):
        return _ACCESS_DELTA[spec.kind]
    if isinstance(spec, Division):
        return -1
    return 1 - spec.inputs


def primitive_delta(name: str, kind: int) -> int | None:
    """How much deeper (negative: shallower) the primitive leaves the data stack, when that
    is always the same; None when it is not, or not known."""
    if name in _UNKNOWN_DELTA:
        return None
    builtin = BUILTINS[kind - L.PRIM_BASE]
    if builtin.effect is not None:
        return builtin.effect
    spec = builtin.operator or builtin.lowering
    if spec is not None:
        return _spec_delta(spec)
    if builtin.code is None:
        return None
    parts = snippet_parts(builtin.code)
    return None if parts is None else len(parts[2]) - len(parts[0])
