"""How much a piece of threaded code changes the depth of the data stack, when that can be
told from the code alone.

The code generator (jit.py) asks this of an IF arm it cannot keep in locals: when the arm
leaves the stack as deep as it found it, the arm can put the cached items onto the real stack
at its start and take them back into locals at its end, and the code around it goes on with
its items cached. It asks it of a call inside a loop it keeps in locals, too (and checks the
depth after the call: see jit.py's call_kept).

Followed: straight code, IF/ELSE (both arms must agree), EXIT at the end of an arm, DO loops
and BEGIN ... UNTIL / BEGIN ... WHILE ... REPEAT loops whose passes leave the depth alone.
An arm that always throws (it calls a word whose generated code has no way out but a throw)
does not count, and a defining word's part before DOES> is followed to the (does>). Other
loops (AGAIN, more than one WHILE), EXECUTE, deferred words and Python words of unknown
effect give None. Colon definitions called are followed in turn; the answer for each is
remembered with its threaded body, and recomputed when the body has changed since.
"""
from __future__ import annotations

import weakref

from . import layout as L
from .cells import U
from .jit import (NotCompilable, _BINARY, _FETCH, _SHUFFLE, _STORE, _UNARY, _decode,
                  _snippet_parts)
from .words.table import BUILTINS

# primitives handled by name (the rest: a snippet's pops and pushes, or unknown)
_DELTA: dict[str, int] = {"lit": 1, "(sliteral)": 2, "drop": -1, "dup": 1, "true": 1,
                          "false": 1, "between": -2, "within": -2, "+!": -2, "move": -3,
                          "(abort\")": -3, "str=": -3, "(to)": -1, "here": 1,
                          "get-current": 1, "set-current": -1, ">r": -1, "r>": 1, "r@": 1,
                          "2>r": -2, "2r>": 2, "2r@": 2, "rdrop": 0, "pick": 0, "roll": -1,
                          "i": 1, "j": 1, ",": -1, "c,": -1, "w,": -1, "l,": -1,
                          "allot": -1, "align": 0, "/string": -1}
_DELTA.update({n: len(out) - k for n, (k, out) in _SHUFFLE.items()})
_DELTA.update({n: -1 for n in _BINARY})
_DELTA.update({n: 0 for n in _UNARY})
_DELTA.update({n: 0 for n in _FETCH})
_DELTA.update({n: -2 for n in _STORE})
_UNKNOWN = {"execute", "(do)", "(?do)", "(loop)", "(+loop)", "leave", "?leave",
            "unloop", "(does>)", "branch", "?dup", "depth", "clear", "depth!"}

# vm -> {xt: ([((start, end), bytes) of its body and of the bodies it was read from], delta)}
_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _primitive_delta(vm, name: str, kind: int) -> int | None:
    if name in _UNKNOWN:
        return None
    d = _DELTA.get(name)
    if d is not None:
        return d
    b = BUILTINS[kind - L.PRIM_BASE]
    if b.code is None:
        return b.effect
    parts = _snippet_parts(b.code)
    return None if parts is None else len(parts[2]) - len(parts[0])


def word_delta(vm, x, deps: list, seen: tuple = (), last: bool = False) -> int | None:
    """The change in depth one instruction x makes; deps collects the threaded bodies
    the answer was read from. last: x ends the code asked about (an arm, say), where a call
    that always throws is looked for (which may compile the callee to tell)."""
    if x.name is not None:
        return _primitive_delta(vm, x.name, x.kind)
    k = x.kind
    if k in (L.K_VARIABLE, L.K_CONSTANT, L.K_VALUE, L.K_BUFFER):
        return 1
    if k == L.K_2CONSTANT:
        return 2
    if k == L.K_COLON:
        chain = _always_throws(vm, x.xt) if last else None
        if chain is not None:        # its generated code has no way out but a throw
            deps.extend((w + 8, vm.jit_ranges[w + 8]) for w in chain)
            return THROWN
        return definition_delta(vm, x.xt, deps, seen)
    if k == L.K_CREATE:
        does = U(vm.mem, x.xt + 8)[0]
        if does == 0:
            return 1
        if does == vm.field_does:
            return 0
        d = definition_delta(vm, does - 8, deps, seen)
        return None if d is None else d + 1
    return None


def definition_delta(vm, xt: int, deps: list, seen: tuple = ()) -> int | None:
    """The change in depth a call of the colon definition (or DOES> code) at xt makes."""
    if xt in seen or len(seen) > 20:
        return None
    body = xt + 8
    try:
        ins = _decode(vm, body)
    except NotCompilable:
        return None
    end = ins[-1].addr + 8
    mem = vm.mem
    memo = _MEMO.setdefault(vm, {})
    known = memo.get(xt)
    if known is not None and all(mem[lo:hi] == code for (lo, hi), code in known[0]):
        d, callees = known[1], [r for r, _ in known[0][1:]]
    else:
        callees: list = []
        d = None
        # (a defining word's part before DOES> ends where (does>) makes the newest word run
        # the code after it)
        if ins[-1].name in ("exit", "(does>)"):
            exits: list[int] = []
            d = range_delta(vm, ins, 0, len(ins) - 1, callees, seen + (xt,), exits)
            if d is THROWN and exits:
                d = EXITED
            if d is EXITED:
                d = exits[0] if exits else None
            if d is not None and any(e != d for e in exits):
                d = None
        memo[xt] = ([((lo, hi), bytes(mem[lo:hi])) for lo, hi in [(body, end)] + callees], d)
    if d is not None:
        deps.append((body, end))
        deps.extend(callees)
    return d


def _maps(ins: list) -> tuple[dict, dict]:
    """For a definition's instructions: index by address, and for each instruction a BEGIN
    loop starts at, the index of the loop's closing branch (the last one back to it)."""
    index = {x.addr: i for i, x in enumerate(ins)}
    backs: dict[int, int] = {}
    for i, x in enumerate(ins):
        if x.name in ("branch", "0branch") and x.arg <= x.addr and x.arg in index:
            backs[index[x.arg]] = i
    return index, backs


def _loop_delta(vm, ins: list, maps: tuple, p: int, q: int, deps: list, seen: tuple,
                exits: list | None, base: int):
    """The change in depth a BEGIN loop from p to q makes when every pass leaves the depth
    as it found it: BEGIN a UNTIL (a pushes the flag) and BEGIN a WHILE b REPEAT (one
    WHILE; leaving at it, the loop made a's change less the flag). Else None."""
    index = maps[0]
    closing = ins[q]
    if closing.name == "0branch":                          # UNTIL
        a = range_delta(vm, ins, p, q, deps, seen, exits, base, maps)
        return 0 if a == 1 else None
    whiles = [w for w in range(p, q) if ins[w].name == "0branch"
              and index.get(ins[w].arg) == q + 1]
    if len(whiles) != 1:
        return None                                        # AGAIN, or more ways out
    w = whiles[0]
    a = range_delta(vm, ins, p, w, deps, seen, exits, base, maps)
    if a is None or a in _ENDED:
        return None
    b = range_delta(vm, ins, w + 1, q, deps, seen, exits, base + a - 1, maps)
    if b is None or b in _ENDED or a - 1 + b != 0:
        return None
    return a - 1


EXITED = object()       # every path through the code ends in EXIT
THROWN = object()       # every path through the code throws (or is EXITED, where some do)
_ENDED = (EXITED, THROWN)


def _always_throws(vm, xt: int) -> tuple | None:
    """The words that make a call of xt always throw (jit.py's answer, from its generated
    code, made here if it has none yet), or None."""
    from .jit import throwing_callees
    return throwing_callees(vm, xt)


def range_delta(vm, ins: list, lo: int, hi: int, deps: list, seen: tuple = (),
                exits: list | None = None, base: int = 0, maps: tuple | None = None):
    """The change in depth instructions lo..hi-1 of a definition make, when every path
    through them makes the same one; None if not. With exits (a list), an EXIT ending an
    arm is allowed: the depth there (from the start of the definition, base at lo) goes
    into exits, and a range whose every path ends in EXIT gives EXITED. maps: _maps(ins),
    made once for a definition."""
    if maps is None:
        maps = _maps(ins)
    index, backs = maps
    d = 0
    p = lo
    while p < hi:
        q = backs.get(p)
        if q is not None and q < hi:        # a BEGIN loop from p to q
            e = _loop_delta(vm, ins, maps, p, q, deps, seen, exits, base + d)
            if e is None:
                return None
            d += e
            p = q + 1
            continue
        x = ins[p]
        if x.name == "exit":
            if exits is None or p != hi - 1:
                return None
            exits.append(base + d)
            return EXITED
        dup = x.name == "?dup" and p + 1 < hi and ins[p + 1].name == "0branch"
        if dup:
            p += 1
            x = ins[p]
        if x.name == "0branch":
            t = index.get(x.arg)
            if t is None or not p < t <= hi:
                return None
            before = ins[t - 1]
            t2 = None
            if t - 1 > p and before.name == "branch" and before.arg > before.addr:
                t2 = index.get(before.arg)
                if t2 is None or not t < t2 <= hi:
                    return None
            # ?dup IF: the arm starts with the item, the way past it without
            d0 = d if dup else d - 1
            taken = range_delta(vm, ins, p + 1, t if t2 is None else t - 1, deps, seen,
                                exits, base + d0, maps)
            other = 0 if t2 is None else range_delta(vm, ins, t, t2, deps, seen, exits,
                                                     base + d0 - (1 if dup else 0), maps)
            if taken is None or other is None:
                return None
            if other not in _ENDED and dup:
                other -= 1
            if taken in _ENDED and other in _ENDED:
                return EXITED if EXITED in (taken, other) else THROWN
            if taken in _ENDED:
                d = d0 + other
            elif other in _ENDED:
                d = d0 + taken
            elif taken != other:
                return None
            else:
                d = d0 + taken
            p = t if t2 is None else t2
            continue
        if x.name in ("(do)", "(?do)"):       # a DO loop whose passes leave the depth alone
            e = index.get(x.arg)
            if e is None or not p + 1 < e <= hi or ins[e - 1].name not in ("(loop)", "(+loop)") \
                    or index.get(ins[e - 1].arg) != p + 1:
                return None
            body = range_delta(vm, ins, p + 1, e - 1, deps, seen, maps=maps)
            if body != (1 if ins[e - 1].name == "(+loop)" else 0):
                return None
            d -= 2
            p = e
            continue
        e = word_delta(vm, x, deps, seen, p == hi - 1)
        if e is None or e is THROWN:
            return e                # (nothing after a call that always throws runs)
        d += e
        p += 1
    return d
