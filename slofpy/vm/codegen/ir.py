"""The tree a definition's instructions make: its control structures read back from the
branch targets, once.

A colon body compiled by the structured words (IF ELSE THEN, BEGIN UNTIL / AGAIN / WHILE
REPEAT, DO ?DO LOOP +LOOP) is a `Sequence` of nodes: `Word` (a primitive, a literal, a call:
anything that is not control flow), `Exit`, `If`, `Begin` and `DoLoop`. `build_tree` makes the
tree of a range of a definition's instructions; code whose branches make another shape (two
WHILEs, a branch out of a structure) raises `Unstructured`. The analyses (analysis.py) work
on this tree.

`read_flow` reads the same instructions as the emitter walks them: every branch out of a
structure is a node of its own (`LoopExit` for WHILE and LEAVE's branch, `Return`,
`Continue`), so any shape the emitter can write fits, and a branch that fits nothing is an
`Invalid` node where the tree stops (the emitter gives up when it gets there).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .decoder import Instruction, NotCompilable


class Unstructured(NotCompilable):
    """The branches in the code asked about do not make plain nested structures."""


class Node:
    """One piece of a definition's tree."""
    __slots__ = ()


@dataclass(slots=True)
class Sequence(Node):
    """Nodes run one after another: instructions lo..hi-1 of the definition."""
    items: list[Node] = field(default_factory=list)
    lo: int = 0
    hi: int = 0


@dataclass(slots=True)
class Word(Node):
    """An instruction that is not control flow: a primitive (LIT and its operand, >R, a
    store...), a call of a colon definition, a variable, a constant..."""
    ins: Instruction


@dataclass(slots=True)
class Exit(Node):
    """EXIT before the end of the definition (at the end of an IF arm, say)."""
    ins: Instruction


@dataclass(slots=True)
class If(Node):
    """IF then THEN, or IF then ELSE otherwise THEN; dup: the ?DUP of ?DUP IF, which
    leaves the flag on the stack for the first arm only."""
    test: Instruction
    then: Sequence
    otherwise: Sequence | None = None
    dup: Instruction | None = None


@dataclass(slots=True)
class Begin(Node):
    """BEGIN body UNTIL ("until"), BEGIN body AGAIN ("again"), or BEGIN body WHILE rest
    REPEAT ("while"; the flag WHILE tests is the last thing body leaves)."""
    kind: str
    body: Sequence
    rest: Sequence | None
    closing: Instruction


@dataclass(slots=True)
class DoLoop(Node):
    """DO or ?DO (start) body LOOP or +LOOP (closing)."""
    start: Instruction
    body: Sequence
    closing: Instruction


@dataclass(slots=True)
class LoopExit(Node):
    """A branch (LEAVE's way out, REPEAT's exit) or 0branch (WHILE) to just after the
    innermost loop around it; dup: the ?DUP of ?DUP WHILE."""
    ins: Instruction
    dup: Instruction | None = None


@dataclass(slots=True)
class Return(Node):
    """A branch or 0branch to where the definition returns, from inside its structures."""
    ins: Instruction
    dup: Instruction | None = None


@dataclass(slots=True)
class Continue(Node):
    """A branch back to the first instruction of the BEGIN loop around it (a second
    REPEAT, say)."""
    ins: Instruction


@dataclass(slots=True)
class Invalid(Node):
    """A branch that fits no structure (its target is not an instruction, or lies
    outside what encloses it): code that cannot have generated code. The tree stops
    there. flush_rs: whether the emitter puts its cached return-stack items away before it
    finds that out (it does for branch and DO); dup: as LoopExit's."""
    ins: Instruction
    flush_rs: bool = False
    dup: Instruction | None = None


class _Reader:
    """The instructions of a definition, with the maps build_tree needs."""

    def __init__(self, code: list[Instruction]) -> None:
        self.code = code
        self.index = {ins.addr: i for i, ins in enumerate(code)}
        self.index[code[-1].addr + 8] = len(code)
        # index of a BEGIN loop's first instruction -> index of its closing branch (the
        # last branch back to it)
        self.loop_close: dict[int, int] = {}
        for i, ins in enumerate(code):
            if ins.name in ("branch", "0branch") and ins.arg <= ins.addr and ins.arg in self.index:
                self.loop_close[self.index[ins.arg]] = i

    def target(self, ins: Instruction) -> int:
        found = self.index.get(ins.arg)
        if found is None:
            raise Unstructured
        return found


def build_tree(code: list[Instruction], lo: int = 0, hi: int | None = None) -> Sequence:
    """The tree of instructions lo..hi-1 of a definition's code (all of it by default)."""
    return _sequence(_Reader(code), lo, len(code) if hi is None else hi)


def _sequence(reader: _Reader, lo: int, hi: int) -> Sequence:
    code = reader.code
    items: list[Node] = []
    pos = lo
    while pos < hi:
        close = reader.loop_close.get(pos)
        ins = code[pos]
        if close is not None and close < hi:
            items.append(_begin(reader, pos, close))
            pos = close + 1
        elif ins.name == "?dup" and pos + 1 < hi and code[pos + 1].name == "0branch":
            node, pos = _if(reader, pos + 1, hi, ins)
            items.append(node)
        elif ins.name == "0branch":
            node, pos = _if(reader, pos, hi, None)
            items.append(node)
        elif ins.name in ("(do)", "(?do)"):
            node, pos = _do_loop(reader, pos, hi)
            items.append(node)
        elif ins.name in ("branch", "(loop)", "(+loop)"):
            raise Unstructured
        else:
            items.append(Exit(ins) if ins.name == "exit" else Word(ins))
            pos += 1
    return Sequence(items, lo, hi)


def _if(reader: _Reader, pos: int, hi: int, dup: Instruction | None) -> tuple[If, int]:
    code = reader.code
    test = code[pos]
    then_end = reader.target(test)
    if not pos < then_end <= hi:
        raise Unstructured
    before = code[then_end - 1]
    if then_end - 1 > pos and before.name == "branch" and before.arg > before.addr:
        else_end = reader.target(before)
        if not then_end < else_end <= hi:
            raise Unstructured
        node = If(test, _sequence(reader, pos + 1, then_end - 1),
                  _sequence(reader, then_end, else_end), dup)
        return node, else_end
    return If(test, _sequence(reader, pos + 1, then_end), None, dup), then_end


def _begin(reader: _Reader, head: int, close: int) -> Begin:
    code = reader.code
    closing = code[close]
    if closing.name == "0branch":
        return Begin("until", _sequence(reader, head, close), None, closing)
    whiles = [i for i in range(head, close) if code[i].name == "0branch"
              and reader.index.get(code[i].arg) == close + 1]
    if not whiles:
        return Begin("again", _sequence(reader, head, close), None, closing)
    if len(whiles) > 1:
        raise Unstructured
    while_pos = whiles[0]
    return Begin("while", _sequence(reader, head, while_pos), _sequence(reader, while_pos + 1, close), closing)


def _do_loop(reader: _Reader, pos: int, hi: int) -> tuple[DoLoop, int]:
    code = reader.code
    start = code[pos]
    end = reader.target(start)
    if not pos + 1 < end <= hi:
        raise Unstructured
    closing = code[end - 1]
    if closing.name not in ("(loop)", "(+loop)") or reader.index.get(closing.arg) != pos + 1:
        raise Unstructured
    return DoLoop(start, _sequence(reader, pos + 1, end - 1), closing), end


def contains(node: Node, kinds: tuple[type, ...]) -> bool:
    """Is there a node of one of these kinds in the tree under node (node included)?"""
    if isinstance(node, kinds):
        return True
    if isinstance(node, Sequence):
        return any(contains(item, kinds) for item in node.items)
    if isinstance(node, If):
        return contains(node.then, kinds) or (node.otherwise is not None
                                              and contains(node.otherwise, kinds))
    if isinstance(node, Begin):
        return contains(node.body, kinds) or (node.rest is not None
                                              and contains(node.rest, kinds))
    if isinstance(node, DoLoop):
        return contains(node.body, kinds)
    return False


# ------------------------------------------------------------ the emitter's reading
# The emitter walks the tree `read_flow` makes: the same structures, with every branch out of
# one (WHILE, LEAVE's branch, a second REPEAT, a return from inside an IF or a loop) a node
# of its own, so any number of WHILEs and exits fit. A BEGIN loop is then one body up to its
# closing branch (kind "until" or "again"; a WHILE in it is a LoopExit), and IF ... EXIT THEN
# keeps its EXIT: the emitter makes the rest of the definition its ELSE arm where it can.

class _Flow:
    """The state read_flow keeps: the instructions, their back edges, the loops around."""

    def __init__(self, code: list[Instruction], returns: bool, index: dict | None,
                 back_edges: dict | None) -> None:
        self.code = code
        self.returns = returns
        self.index = index if index is not None else code_index(code)
        # index of a BEGIN loop's first instruction -> its closing branch's (the last back)
        self.back_edges = back_edges if back_edges is not None else \
            loop_heads(code, self.index)
        self.inside: set[int] = set()       # heads of the BEGIN loops being read
        self.loops: list[tuple[str, int, int | None]] = []      # (kind, end, head)

    def is_end(self, target: int) -> bool:
        """Is index target where the definition returns (its final EXIT, or past it)?"""
        end = len(self.code) - 1
        return target == end + 1 or (target == end and self.code[end].name == "exit")

    def loop_head(self, pos: int) -> int | None:
        """The index of the closing branch of the BEGIN loop starting at pos, if one does."""
        return None if pos in self.inside else self.back_edges.get(pos)


def code_index(code: list[Instruction]) -> dict[int, int]:
    """address -> position of each instruction, and of the cell after the last."""
    index = {ins.addr: i for i, ins in enumerate(code)}
    index[code[-1].addr + 8] = len(code)
    return index


def loop_heads(code: list[Instruction], index: dict[int, int]) -> dict[int, int]:
    """position of each instruction a branch goes back to -> position of the last such
    branch (a BEGIN loop's first instruction -> its closing branch)."""
    heads: dict[int, int] = {}
    for i, ins in enumerate(code):
        if ins.name in ("branch", "0branch") and ins.arg <= ins.addr:
            head = index.get(ins.arg)
            if head is not None:
                heads[head] = max(heads.get(head, -1), i)
    return heads


def read_flow(code: list[Instruction], lo: int, hi: int, returns: bool,
              index: dict | None = None, back_edges: dict | None = None) -> Sequence:
    """The tree of instructions lo..hi-1 as the emitter walks it; returns: a branch to the
    end of the definition is a Return (not in a callee being inlined). index and
    back_edges: code_index's and loop_heads' answers, when the caller has them."""
    return _flow_sequence(_Flow(code, returns, index, back_edges), lo, hi)


# the instructions _flow_sequence looks at twice (any other one is a Word or an Exit)
_FLOW_WORDS = frozenset(("?dup", "0branch", "branch", "(do)", "(?do)"))


def _flow_sequence(flow: _Flow, lo: int, hi: int) -> Sequence:
    code = flow.code
    back_edges = flow.back_edges
    items: list[Node] = []
    pos = lo
    while pos < hi:
        ins = code[pos]
        if ins.name not in _FLOW_WORDS and pos not in back_edges:
            items.append(Exit(ins) if ins.name == "exit" else Word(ins))
            pos += 1
            continue
        close = flow.loop_head(pos)
        if close is not None and close < hi:
            items.append(_flow_begin(flow, pos, close))
            pos = close + 1
            continue
        dup = _dup_before(flow, pos, hi)
        if dup is not None:
            pos += 1
            ins = code[pos]
        if ins.name == "0branch":
            node, pos = _flow_conditional(flow, pos, hi, dup)
        elif ins.name == "branch":
            node, pos = _flow_branch(flow, ins), pos + 1
        elif ins.name in ("(do)", "(?do)"):
            node, pos = _flow_do_loop(flow, pos)
        else:
            node, pos = (Exit(ins) if ins.name == "exit" else Word(ins)), pos + 1
        items.append(node)
        if isinstance(node, Invalid):
            break
    return Sequence(items, lo, hi)


def _dup_before(flow: _Flow, pos: int, hi: int) -> Instruction | None:
    """The ?DUP at pos when a forward 0branch follows it (?DUP IF, ?DUP WHILE)."""
    code = flow.code
    if code[pos].name != "?dup" or pos + 1 >= hi or code[pos + 1].name != "0branch" \
            or flow.loop_head(pos + 1) is not None:
        return None
    target = flow.index.get(code[pos + 1].arg)
    return code[pos] if target is not None and target > pos + 1 else None


def _flow_conditional(flow: _Flow, pos: int, hi: int, dup: Instruction | None):
    """The 0branch at pos: a WHILE-like exit of the loop around, a return, or an IF; the
    node and the index after what it covers."""
    ins = flow.code[pos]
    target = flow.index.get(ins.arg)
    if target is None or target <= pos:
        return Invalid(ins, dup=dup), pos + 1
    if flow.loops and target == flow.loops[-1][1]:
        return LoopExit(ins, dup), pos + 1
    if flow.returns and flow.is_end(target):
        return Return(ins, dup), pos + 1
    if target > hi:
        return Invalid(ins, dup=dup), pos + 1
    return _flow_if(flow, pos, target, hi, dup)


def _flow_if(flow: _Flow, pos: int, then_target: int, hi: int, dup: Instruction | None):
    code = flow.code
    before = code[then_target - 1] if then_target - 1 > pos else None
    else_end = None
    if before is not None and before.name == "branch" and before.arg > before.addr:
        else_end = flow.index.get(before.arg)
        if else_end is None:
            return Invalid(code[pos], dup=dup), pos + 1
        if not then_target < else_end <= hi:
            else_end = None
    if else_end is None:
        return If(code[pos], _flow_sequence(flow, pos + 1, then_target), None, dup), then_target
    return If(code[pos], _flow_sequence(flow, pos + 1, then_target - 1),
              _flow_sequence(flow, then_target, else_end), dup), else_end


def _flow_branch(flow: _Flow, ins: Instruction) -> Node:
    """A branch that is not an ELSE: out of the loop around, a return, or back to the
    BEGIN of the loop around."""
    target = flow.index.get(ins.arg)
    loop = flow.loops[-1] if flow.loops else None
    if target is None:
        return Invalid(ins, flush_rs=True)
    if loop is not None and target == loop[1]:
        return LoopExit(ins)
    if flow.returns and flow.is_end(target):
        return Return(ins)
    if loop is not None and loop[0] == "begin" and target == loop[2]:
        return Continue(ins)
    return Invalid(ins, flush_rs=True)


def _flow_begin(flow: _Flow, head: int, close: int) -> Begin:
    closing = flow.code[close]
    flow.inside.add(head)
    flow.loops.append(("begin", close + 1, head))
    try:
        body = _flow_sequence(flow, head, close)
    finally:
        flow.loops.pop()
        flow.inside.discard(head)
    return Begin("until" if closing.name == "0branch" else "again", body, None, closing)


def _flow_do_loop(flow: _Flow, pos: int):
    code = flow.code
    start = code[pos]
    end = flow.index.get(start.arg)
    closing = code[end - 1] if end is not None and end > 0 else None
    if closing is None or closing.name not in ("(loop)", "(+loop)") \
            or flow.index.get(closing.arg) != pos + 1:
        return Invalid(start, flush_rs=True), pos + 1
    flow.loops.append(("do", end, None))
    try:
        body = _flow_sequence(flow, pos + 1, end - 1)
    finally:
        flow.loops.pop()
    return DoLoop(start, body, closing), end
