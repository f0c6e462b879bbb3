"""What the code generator knows of the primitives: their stack effects, and how each kind
of primitive is lowered onto cached stack items.

The primitives themselves are defined once, in vm/words/ (see words/table.py): a snippet of
Python statements on the real stacks, or a Python function. This module holds the tables the
code generator lowers them by when their operands are Python locals (the expression of a
binary or unary word and whether its result needs wrapping to 64 bits, the cell size and
expression of a fetch or store, the permutation a shuffle makes), reads a snippet written as
pops, plain statements and pushes into those parts (`snippet_parts`), and gives the change in
data-stack depth of each primitive (`primitive_delta`) and its use of the return stack.
"""
from __future__ import annotations

import re

from .. import layout as L
from ..words.table import BUILTINS

SB = L.SIGN64
M = L.MASK64

# words whose use of the return stack reaches outside their own pushes
RS_PUSH = {">r": 1, "2>r": 2}
RS_POP = {"r>": 1, "rdrop": 1, "2r>": 2}
RS_PEEK = {"r@": 1, "2r@": 2}
RS_FORBIDDEN = {"rpick", "rdepth", "rdepth!", "compile", "i'", "(does>)"}
RS_CALLERS = RS_FORBIDDEN - {"(does>)"}

# primitives whose snippet takes its inputs and leaves its results in these forms (see
# Emitter.cached_snippet)
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

# stack shuffles done on cached items only: ( inputs -- outputs ) as indexes into the inputs
SHUFFLE = {
    "swap": (2, (1, 0)), "over": (2, (0, 1, 0)), "nip": (2, (1,)), "tuck": (2, (1, 0, 1)),
    "rot": (3, (1, 2, 0)), "-rot": (3, (2, 0, 1)), "2dup": (2, (0, 1, 0, 1)),
    "2drop": (2, ()), "2swap": (4, (2, 3, 0, 1)), "2over": (4, (0, 1, 2, 3, 0, 1)),
    "3drop": (3, ()), "chars": (1, (0,)), "/c*": (1, (0,)),
}

# fetches ( a -- x ): cell size and expression
FETCH = {"@": (8, "U(mem, {a})[0]"), "x@": (8, "U(mem, {a})[0]"), "l@": (4, "UL(mem, {a})[0]"),
          "w@": (2, "UW(mem, {a})[0]"), "c@": (1, "mem[{a}]"),
          "unaligned-l@": (4, "UL(mem, {a})[0]"), "unaligned-w@": (2, "UW(mem, {a})[0]")}
# stores ( x a -- ): size and statement
STORE = {"!": (8, "P(mem, {a}, {v})"), "x!": (8, "P(mem, {a}, {v})"),
          "l!": (4, "PL(mem, {a}, {v} & 0xffffffff)"), "w!": (2, "PW(mem, {a}, {v} & 0xffff)"),
          "c!": (1, "mem[{a}] = {v} & 0xff"),
          "unaligned-l!": (4, "PL(mem, {a}, {v} & 0xffffffff)"),
          "unaligned-w!": (2, "PW(mem, {a}, {v} & 0xffff)")}


# data-space stores ( x -- ): size and the store of v at d
COMMA = {",": (8, "P(mem, {d}, {v})"), "l,": (4, "PL(mem, {d}, {v} & 0xffffffff)"),
          "w,": (2, "PW(mem, {d}, {v} & 0xffff)"), "c,": (1, "mem[{d}] = {v} & 0xff")}



# ( a b -- r ) that throw -10 when b is 0: the expression, and whether it needs wrapping
DIVISION = {"/": ("{a} // {b}", True), "mod": ("{a} % {b}", False)}

# the change in depth of primitives handled by name (the rest: a snippet's pops and pushes,
# a Python word's declared effect, or unknown)
_DELTA: dict[str, int] = {"lit": 1, "(sliteral)": 2, "drop": -1, "dup": 1, "true": 1,
                          "false": 1, "between": -2, "within": -2, "+!": -2, "move": -3,
                          "(abort\")": -3, "str=": -3, "(to)": -1, "here": 1,
                          "get-current": 1, "set-current": -1, ">r": -1, "r>": 1, "r@": 1,
                          "2>r": -2, "2r>": 2, "2r@": 2, "rdrop": 0, "pick": 0, "roll": -1,
                          "i": 1, "j": 1, ",": -1, "c,": -1, "w,": -1, "l,": -1,
                          "allot": -1, "align": 0, "/string": -1}
_DELTA.update({n: len(out) - k for n, (k, out) in SHUFFLE.items()})
_DELTA.update({n: -1 for n in BINARY})
_DELTA.update({n: -1 for n in DIVISION})
_DELTA.update({n: 0 for n in UNARY})
_DELTA.update({n: 0 for n in FETCH})
_DELTA.update({n: -2 for n in STORE})
_UNKNOWN_DELTA = {"execute", "(do)", "(?do)", "(loop)", "(+loop)", "leave", "?leave",
                  "unloop", "(does>)", "branch", "?dup", "depth", "clear", "depth!"}


def primitive_delta(name: str, kind: int) -> int | None:
    """How much deeper (negative: shallower) the primitive leaves the data stack, when that
    is always the same; None when it is not, or not known."""
    if name in _UNKNOWN_DELTA:
        return None
    delta = _DELTA.get(name)
    if delta is not None:
        return delta
    builtin = BUILTINS[kind - L.PRIM_BASE]
    if builtin.code is None:
        return builtin.effect
    parts = snippet_parts(builtin.code)
    return None if parts is None else len(parts[2]) - len(parts[0])
