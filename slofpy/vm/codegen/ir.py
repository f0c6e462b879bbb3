"""The tree a definition's instructions make: its control structures read back from the
branch targets, once.

A colon body compiled by the structured words (IF ELSE THEN, BEGIN UNTIL / AGAIN / WHILE
REPEAT, DO ?DO LOOP +LOOP) is a `Sequence` of nodes: `Word` (a primitive, a literal, a call:
anything that is not control flow), `Exit`, `If`, `Begin` and `DoLoop`. `build_tree` makes the
tree of a range of a definition's instructions; code whose branches make another shape (two
WHILEs, a branch out of a structure) raises `Unstructured`. The analyses (analysis.py) work
on this tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .decoder import Instruction, NotCompilable


class Unstructured(NotCompilable):
    """The branches in the code asked about do not make plain nested structures."""


class Node:
    """One piece of a definition's tree."""
    __slots__ = ()


@dataclass
class Sequence(Node):
    """Nodes run one after another."""
    items: list[Node] = field(default_factory=list)


@dataclass
class Word(Node):
    """An instruction that is not control flow: a primitive (LIT and its operand, >R, a
    store...), a call of a colon definition, a variable, a constant..."""
    ins: Instruction


@dataclass
class Exit(Node):
    """EXIT before the end of the definition (at the end of an IF arm, say)."""
    ins: Instruction


@dataclass
class If(Node):
    """IF then THEN, or IF then ELSE otherwise THEN; dup: the ?DUP of ?DUP IF, which
    leaves the flag on the stack for the first arm only."""
    test: Instruction
    then: Sequence
    otherwise: Sequence | None = None
    dup: Instruction | None = None


@dataclass
class Begin(Node):
    """BEGIN body UNTIL ("until"), BEGIN body AGAIN ("again"), or BEGIN body WHILE rest
    REPEAT ("while"; the flag WHILE tests is the last thing body leaves)."""
    kind: str
    body: Sequence
    rest: Sequence | None
    closing: Instruction


@dataclass
class DoLoop(Node):
    """DO or ?DO (start) body LOOP or +LOOP (closing)."""
    start: Instruction
    body: Sequence
    closing: Instruction


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
    return Sequence(items)


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
