"""Questions the code generator asks about threaded code, answered from the decoded
instructions and their tree (ir.py) without side effects: nothing is compiled to answer.

* `has_loop`: is a definition worth compiling on its first call?
* `reads_callers_return_stack`: does a word pop or peek return-stack entries it did not push
  (then code that calls it cannot be generated)? `executed_code_reads_callers_return_stack`:
  the same for what EXECUTE of an xt runs (a colon definition or DOES> code).
* `definition_delta` and `range_delta`: how much a definition, or a range of one, changes the
  depth of the data stack, when every path makes the same change. The emitter asks this of an
  IF arm it cannot keep in locals (a "cold" arm: it leaves the depth alone, so the items can
  be put onto the real stack at its start and taken back at its end) and of a call inside a
  loop it keeps in locals. Followed: straight code, IF/ELSE (both arms must agree), EXIT at the
  end of an arm, DO loops and BEGIN ... UNTIL / BEGIN ... WHILE ... REPEAT loops whose passes
  leave the depth alone. An arm that always throws does not count, and a defining word's part
  before DOES> is followed to the (does>). Other loops, EXECUTE, deferred words and Python
  words of unknown effect give None. The answer for each definition is remembered with the
  bytes of the threaded bodies it was read from, and recomputed when one has changed.
* `call_always_throws`: does a call of a colon definition never come back (every path ends in
  THROW of a known non-zero code, ABORT, ABORT" of a known true flag, or a call of such a
  word)? The emitter lets the code after an IF arm that always throws go on as if the arm
  were not taken.
"""
from __future__ import annotations

from .. import layout as L
from ..cells import U
from .decoder import Instruction, NotCompilable, decode
from .ir import (Begin, DoLoop, Exit, If, Node, Sequence, Unstructured, Word, build_tree,
                 contains)
from .primitives import RS_CALLERS, RS_FORBIDDEN, RS_PEEK, RS_POP, RS_PUSH, SHUFFLE, primitive_delta

EXITED = object()       # every path through the code ends in EXIT
THROWN = object()       # every path through the code throws (or is EXITED, where some do)
_ENDED = (EXITED, THROWN)
_MAX_NESTING = 20       # calls followed into, at most


def has_loop(vm, xt: int) -> bool:
    """Does the colon body at xt contain a loop (worth compiling on its first call)?"""
    try:
        code = decode(vm, xt + 8)
    except NotCompilable:
        return False
    return any(ins.name in ("(do)", "(?do)") or
               (ins.name in ("branch", "0branch") and ins.arg <= ins.addr) for ins in code)


def reads_callers_return_stack(vm, xt: int) -> bool:
    """Does the word at xt pop or peek return-stack entries it did not push?"""
    cache = vm.codegen.rs_readers
    if xt in cache:
        return cache[xt]
    cache[xt] = True          # while we look (recursion), assume the worst
    try:
        result = return_stack_unbalanced(decode(vm, xt + 8))
    except NotCompilable:
        result = True
    cache[xt] = result
    return result


def executed_code_reads_callers_return_stack(vm, xt: int) -> bool:
    """For EXECUTE of xt, a colon definition or a child of CREATE ... DOES> (with DOES>
    code): does the code it runs read its caller's return stack?"""
    if U(vm.mem, xt)[0] == L.K_COLON:
        return reads_callers_return_stack(vm, xt)
    return reads_callers_return_stack(vm, U(vm.mem, xt + 8)[0] - 8)


def return_stack_unbalanced(code: list[Instruction]) -> bool:
    """Does some path through code pop or peek a return-stack entry it did not push, or
    end with entries of its own left? The number of entries pushed so far must be the same
    on every path into an instruction. Read on the definition's tree; code the tree cannot
    show (several WHILEs, a branch out of a structure) is followed branch by branch."""
    names = {instruction.name for instruction in code}
    if names & RS_CALLERS:
        return True
    if names & {"leave", "?leave", "unloop"} and names & (set(RS_PUSH) | set(RS_POP)):
        return True             # LEAVE's jump is not followed here: no mixing
    try:
        depth = _rs_sequence(build_tree(code), 0)
    except _Unbalanced:
        return True
    except Unstructured:
        return _rs_unbalanced_by_branches(code)
    return depth is not None and depth != 0       # falling off the end: a branch past it


class _Unbalanced(Exception):
    """The return stack is read below what the code pushed, or left unbalanced."""


def _rs_join(first: int | None, second: int | None) -> int | None:
    """The depth where two paths meet (None: a path that does not get there)."""
    if first is None:
        return second
    if second is not None and second != first:
        raise _Unbalanced
    return first


def _rs_sequence(seq: Sequence, depth: int | None) -> int | None:
    """The return-stack depth (entries of the code's own) after seq, run at depth; None
    when no path runs past its end (EXIT, LEAVE, AGAIN...)."""
    for item in seq.items:
        if depth is None:
            return None         # the rest is reached by no path
        depth = _rs_node(item, depth)
    return depth


def _rs_node(node: Node, depth: int) -> int | None:
    if isinstance(node, Word):
        return _rs_word(node.ins.name, depth)
    if isinstance(node, Exit):
        if depth:
            raise _Unbalanced
        return None
    if isinstance(node, If):
        otherwise = depth if node.otherwise is None else _rs_sequence(node.otherwise, depth)
        return _rs_join(_rs_sequence(node.then, depth), otherwise)
    if isinstance(node, Begin):
        return _rs_begin(node, depth)
    assert isinstance(node, DoLoop)
    body = _rs_sequence(node.body, depth)
    _rs_join(body, depth)       # LOOP jumps back to the body's start
    # past the loop: LOOP going on, and ?DO's jump when it runs no iteration
    return _rs_join(body, depth if node.start.name == "(?do)" else None)


def _rs_begin(node: Begin, depth: int) -> int | None:
    body = _rs_sequence(node.body, depth)
    if node.kind == "until":
        _rs_join(body, depth)                   # UNTIL's jump back
        return body
    if node.kind == "again":
        _rs_join(body, depth)
        return None
    if body is not None:                        # WHILE: REPEAT jumps back
        _rs_join(_rs_sequence(node.rest, body), depth)
    return body


def _rs_word(name: str | None, depth: int) -> int | None:
    """The depth after one instruction that is not control flow (None: LEAVE, or the end
    of a defining word's part before DOES>)."""
    if name in RS_PUSH:
        depth += RS_PUSH[name]
    elif name in RS_POP:
        depth -= RS_POP[name]
    elif name in RS_PEEK and depth < RS_PEEK[name]:
        raise _Unbalanced
    if depth < 0:
        raise _Unbalanced
    if name == "(does>)":
        if depth:
            raise _Unbalanced
        return None
    return None if name == "leave" else depth


def _rs_unbalanced_by_branches(code: list[Instruction]) -> bool:
    """return_stack_unbalanced for code the tree cannot show: each branch is followed with
    the number of entries pushed so far."""
    index = {instruction.addr: pos for pos, instruction in enumerate(code)}
    end = code[-1].addr + 8
    depth_at = {0: 0}
    work = [0]
    while work:
        pos = work.pop()
        depth = depth_at[pos]
        instruction = code[pos]
        name = instruction.name
        if name in RS_PUSH:
            depth += RS_PUSH[name]
        elif name in RS_POP:
            depth -= RS_POP[name]
        elif name in RS_PEEK and depth < RS_PEEK[name]:
            return True
        if depth < 0:
            return True
        if name in ("exit", "(does>)"):
            if depth:
                return True
            continue
        nexts = []
        if name in ("branch", "0branch", "(?do)", "(loop)", "(+loop)"):
            if instruction.arg == end:
                if depth:
                    return True
            elif instruction.arg in index:
                nexts.append(index[instruction.arg])
            else:
                return True
        if name not in ("branch", "leave"):
            nexts.append(pos + 1)
        for next_pos in nexts:
            if next_pos >= len(code):
                return True
            seen = depth_at.get(next_pos)
            if seen is None:
                depth_at[next_pos] = depth
                work.append(next_pos)
            elif seen != depth:
                return True
    return False



def _remembered(vm, table: dict, xt: int):
    """What table remembers for xt, if the threaded bodies it was read from are unchanged:
    (answer, [(start, end) of the bodies]); else None."""
    known = table.get(xt)
    if known is None:
        return None
    mem = vm.mem
    if all(mem[lo:hi] == code for (lo, hi), code in known[0]):
        return known[1], [span for span, _ in known[0]]
    return None


def _remember(vm, table: dict, xt: int, answer, spans: list) -> None:
    table[xt] = ([((lo, hi), bytes(vm.mem[lo:hi])) for lo, hi in spans], answer)


# ------------------------------------------------------------------ stack effect
class _EffectQuery:
    """One question about stack effects: the VM, the threaded bodies the answer is read
    from (deps, collected), and the definitions being followed (seen)."""

    def __init__(self, vm, deps: list, seen: tuple) -> None:
        self.vm, self.deps, self.seen = vm, deps, seen


def definition_delta(vm, xt: int, deps: list, seen: tuple = ()) -> int | None:
    """The change in depth a call of the colon definition (or DOES> code) at xt makes;
    deps collects the threaded bodies the answer was read from."""
    if xt in seen or len(seen) > _MAX_NESTING:
        return None
    body = xt + 8
    try:
        code = decode(vm, body)
    except NotCompilable:
        return None
    end = code[-1].addr + 8
    known = _remembered(vm, vm.codegen.effects, xt)
    if known is not None:
        delta, spans = known
        callees = spans[1:]
    else:
        callees = []
        delta = _whole_delta(_EffectQuery(vm, callees, seen + (xt,)), code)
        _remember(vm, vm.codegen.effects, xt, delta, [(body, end)] + callees)
    if delta is not None:
        deps.append((body, end))
        deps.extend(callees)
    return delta


def _whole_delta(query: _EffectQuery, code: list[Instruction]):
    """The change a definition's code makes, to its final EXIT or (does>) (an EXIT ending
    an arm must leave the same depth)."""
    if code[-1].name not in ("exit", "(does>)"):
        return None
    exits: list[int] = []
    try:
        delta = _sequence_delta(query, build_tree(code, 0, len(code) - 1), 0, exits)
    except Unstructured:
        return None
    if delta is THROWN and exits:
        delta = EXITED
    if delta is EXITED:
        delta = exits[0] if exits else None
    if delta is not None and any(depth != delta for depth in exits):
        return None
    return delta


def range_delta(vm, code: list[Instruction], lo: int, hi: int, deps: list):
    """The change in depth instructions lo..hi-1 of a definition's code make, when every
    path through them makes the same one; None if not (or if they are not structured)."""
    try:
        tree = build_tree(code, lo, hi)
    except Unstructured:
        return None
    return _sequence_delta(_EffectQuery(vm, deps, ()), tree, 0, None)


def _sequence_delta(query: _EffectQuery, seq: Sequence, base: int, exits: list | None):
    """The change seq makes. exits (a list, or None when no EXIT is allowed): an EXIT that
    ends seq puts the depth there (from the start of the definition; base at seq's start)
    into it, and seq gives EXITED."""
    delta = 0
    last = len(seq.items) - 1
    for pos, item in enumerate(seq.items):
        if isinstance(item, Exit):
            if exits is None or pos != last:
                return None
            exits.append(base + delta)
            return EXITED
        if isinstance(item, If):
            after = _if_delta(query, item, delta, base, exits)
            if after is None or after in _ENDED:
                return after
            delta = after
            continue
        if isinstance(item, Begin):
            change = _begin_delta(query, item, base + delta, exits)
        elif isinstance(item, DoLoop):
            change = _do_loop_delta(query, item)
        else:
            change = _word_delta(query, item.ins, pos == last)
            if change is THROWN:
                return THROWN       # (nothing after a call that always throws runs)
        if change is None:
            return None
        delta += change
    return delta


def _if_delta(query: _EffectQuery, node: If, delta: int, base: int, exits: list | None):
    """The depth after an IF (from seq's start, delta before it), or EXITED / THROWN when
    neither arm comes back, or None."""
    start = delta if node.dup else delta - 1    # ?DUP IF: the first arm has the item
    taken = _sequence_delta(query, node.then, base + start, exits)
    other = 0
    if node.otherwise is not None:
        other = _sequence_delta(query, node.otherwise, base + start - (1 if node.dup else 0),
                                exits)
    if taken is None or other is None:
        return None
    if other not in _ENDED and node.dup:
        other -= 1                              # the way past without the item
    if taken in _ENDED and other in _ENDED:
        return EXITED if EXITED in (taken, other) else THROWN
    if taken in _ENDED:
        return start + other
    if other in _ENDED or taken == other:
        return start + taken
    return None


def _begin_delta(query: _EffectQuery, node: Begin, base: int, exits: list | None):
    """The change a BEGIN loop makes when every pass leaves the depth as it found it: BEGIN
    a UNTIL (a pushes the flag) and BEGIN a WHILE b REPEAT (leaving at the WHILE, the loop
    made a's change less the flag). Else None."""
    if node.kind == "again":
        return None
    first = _sequence_delta(query, node.body, base, exits)
    if node.kind == "until":
        return 0 if first == 1 else None
    if first is None or first in _ENDED:
        return None
    rest = _sequence_delta(query, node.rest, base + first - 1, exits)
    if rest is None or rest in _ENDED or first - 1 + rest != 0:
        return None
    return first - 1


def _do_loop_delta(query: _EffectQuery, node: DoLoop) -> int | None:
    """A DO loop whose passes leave the depth alone (+LOOP's pass leaves the step) takes
    the index and the limit."""
    body = _sequence_delta(query, node.body, 0, None)
    return -2 if body == (1 if node.closing.name == "(+loop)" else 0) else None


def _word_delta(query: _EffectQuery, ins: Instruction, last: bool):
    """The change in depth one instruction makes. last: it ends the code asked about (an
    arm, say), where a call that always throws counts as THROWN."""
    vm = query.vm
    if ins.name is not None:
        return primitive_delta(ins.name, ins.kind)
    kind = ins.kind
    if kind in (L.K_VARIABLE, L.K_CONSTANT, L.K_VALUE, L.K_BUFFER):
        return 1
    if kind == L.K_2CONSTANT:
        return 2
    if kind == L.K_COLON:
        throws = call_always_throws(vm, ins.xt) if last else None
        if throws is not None:
            query.deps.extend(throws)
            return THROWN
        return definition_delta(vm, ins.xt, query.deps, query.seen)
    if kind == L.K_CREATE:
        does = U(vm.mem, ins.xt + 8)[0]
        if does == 0:
            return 1
        if does == vm.field_does:
            return 0
        delta = definition_delta(vm, does - 8, query.deps, query.seen)
        return None if delta is None else delta + 1
    return None


# ------------------------------------------------------------------ calls that always throw
class _MayLeave(Exception):
    """Control may leave the code asked about some other way than by its end or a throw (a
    word that reads its caller's return stack, EXECUTE, a deferred word)."""


def call_always_throws(vm, xt: int, seen: tuple = ()) -> list | None:
    """If a call of the colon definition at xt never comes back (every path through it ends
    in a throw), the threaded bodies that make it so, as (start, end) pairs: the code that
    counts on it depends on them. Else None."""
    if xt in seen or len(seen) > _MAX_NESTING:
        return None
    known = _remembered(vm, vm.codegen.throwers, xt)
    if known is not None:
        return known[1] if known[0] else None
    spans: list = []
    throws = _definition_throws(vm, xt, spans, seen + (xt,))
    _remember(vm, vm.codegen.throwers, xt, throws, spans)
    return spans if throws else None


def _definition_throws(vm, xt: int, spans: list, seen: tuple) -> bool:
    try:
        code = decode(vm, xt + 8)
    except NotCompilable:
        return False
    spans.append((xt + 8, code[-1].addr + 8))
    if code[-1].name != "exit" or reads_callers_return_stack(vm, xt):
        return False
    try:
        tree = build_tree(code, 0, len(code) - 1)
        return not contains(tree, (Exit,)) and _throws(vm, tree, [], spans, seen)
    except (Unstructured, _MayLeave):
        return False


def _throws(vm, seq: Sequence, known: list, spans: list, seen: tuple) -> bool:
    """Does seq never come back? known: the values of the top stack items as far as they
    are known literals (None: not known), the top last; kept up to date as seq runs."""
    for item in seq.items:
        if isinstance(item, Word):
            if _word_throws(vm, item.ins, known, spans, seen):
                return True
        elif isinstance(item, If):
            flag = known.pop() if known else None
            then_known = known + [flag] if item.dup else list(known)
            if _throws(vm, item.then, then_known, spans, seen) and item.otherwise is not None \
                    and _throws(vm, item.otherwise, list(known), spans, seen):
                return True
            known.clear()
        else:                               # a loop: what it leaves is not followed
            known.clear()
    return False


def _word_throws(vm, ins: Instruction, known: list, spans: list, seen: tuple) -> bool:
    """Does ins always throw, given the known top items (updated for what it leaves)?"""
    name = ins.name

    def top() -> int | None:
        return known.pop() if known else None
    if name == "lit":
        known.append(ins.arg)
    elif name in ("true", "false"):
        known.append(-1 if name == "true" else 0)
    elif name == "(sliteral)":
        known.extend((None, ins.arg[1]))
    elif name == "throw":
        code = top()
        return code is not None and code != 0
    elif name == "(abort\")":
        top(), top()
        flag = top()
        return flag is not None and flag != 0
    elif name == "abort":
        return True
    elif name in SHUFFLE:
        count, order = SHUFFLE[name]
        inputs = ([None] * count + known)[-count:]
        del known[-count:]
        known.extend(inputs[index] for index in order)
    elif name in ("drop", "dup"):
        value = top()
        known.extend([value, value] if name == "dup" else [])
    elif name in RS_FORBIDDEN or name == "execute":
        raise _MayLeave
    elif name is None and ins.kind == L.K_COLON:
        if reads_callers_return_stack(vm, ins.xt):
            raise _MayLeave
        callee = call_always_throws(vm, ins.xt, seen)
        if callee is not None:
            spans.extend(callee)
            return True
        known.clear()
    elif name is None and ins.kind == L.K_CREATE and U(vm.mem, ins.xt + 8)[0] == 0:
        # a CREATE word without DOES> code (a buffer, a table) only pushes its body; the
        # cell that would hold DOES> code is counted on
        spans.append((ins.xt + 8, ins.xt + 16))
        known.append(None)
    elif name is None and ins.kind in (L.K_DEFER, L.K_ALIAS, L.K_CREATE):
        raise _MayLeave
    else:
        known.clear()
    return False


def range_always_throws(vm, code: list[Instruction], lo: int, hi: int) -> list | None:
    """call_always_throws for instructions lo..hi-1 of a definition's code (an IF arm):
    the threaded bodies that make them never come back, or None."""
    spans: list = []
    try:
        tree = build_tree(code, lo, hi)
        if contains(tree, (Exit,)) or not _throws(vm, tree, [], spans, ()):
            return None
    except (Unstructured, _MayLeave):
        return None
    return spans
