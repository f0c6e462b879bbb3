"""What the emitter knows of the stacks at one point of the code it writes: `StackCache`.

Generated code keeps the top items of the data stack (and the return-stack items it pushed
itself) in Python locals. A `StackCache` names them and says what else is known there: which
names may hold values outside 64 bits, which memory cells a name already holds, how much the
stack can have grown since the last overflow check. The emitter keeps one, shared with the
callees it inlines; a strategy that tries a control structure one way takes a `copy()` first
and `restore()`s it when the attempt fails.

A `Loop` is one loop around the point being emitted: its kind, where it ends, and (for a
loop kept in locals) the names every pass starts and ends with and the names it is left with.
"""
from __future__ import annotations

from dataclasses import dataclass


class StackCache:
    """The cached stack items at one point of the generated code, and what is known of them."""
    __slots__ = ("items", "return_items", "unwrapped", "known", "since_check", "pops", "touch")

    def __init__(self) -> None:
        # the cached top of the data stack: names (or literals) of locals, deepest first
        self.items: list[str] = []
        # return-stack items this code pushed and has not put onto the real one yet (>r
        # 2>r), deepest first; they go there before anything that may look at it
        self.return_items: list[str] = []
        # names whose value may lie outside 64 bits -> the block depth they were made at
        self.unwrapped: dict[str, int] = {}
        # cell address -> the name holding its value (straight-line code only)
        self.known: dict[int, str] = {}
        # how much the stack (real plus cached) can have grown since the last overflow check
        # the generated code makes; None when that is not known (after a call, a branch...)
        self.since_check: int | None = 0
        self.pops = 0           # items taken off the real stack by cached words
        self.touch = 0          # counts code that changes the real data stack

    def copy(self) -> "StackCache":
        """An independent copy (the lists and dicts copied too)."""
        other = StackCache.__new__(StackCache)
        other.items = list(self.items)
        other.return_items = list(self.return_items)
        other.unwrapped = dict(self.unwrapped)
        other.known = dict(self.known)
        other.since_check, other.pops, other.touch = self.since_check, self.pops, self.touch
        return other

    def restore(self, saved: "StackCache", keep_known: bool = True) -> None:
        """Back to saved (a copy taken earlier), in place: the lists and dicts stay the same
        objects, since callers and inlined callees hold them. keep_known False: forget every
        known cell instead of going back to saved's."""
        self.items[:] = saved.items
        self.return_items[:] = saved.return_items
        self.unwrapped.clear()
        self.unwrapped.update(saved.unwrapped)
        self.known.clear()
        if keep_known:
            self.known.update(saved.known)
        self.since_check, self.pops, self.touch = saved.since_check, saved.pops, saved.touch

    def rewind(self, saved: "StackCache") -> None:
        """Back to saved for the next way through a structure (an IF's other arm): the items,
        return-stack items, known cells and since_check as saved has them. What was learnt of
        names (unwrapped) and the counts (pops, touch) go on: they cover every way."""
        self.items[:] = saved.items
        self.return_items[:] = saved.return_items
        self.known.clear()
        self.known.update(saved.known)
        self.since_check = saved.since_check


@dataclass
class Loop:
    """A loop around the point being emitted.

    kind: "begin" or "do"; end: the index of the instruction just after it (where a WHILE,
    LEAVE or REPEAT's exit goes); head: the index of a BEGIN loop's first instruction (None
    for a DO loop). A loop kept in locals has names, the names every pass starts and ends with
    its cached items in, and exit_names, the names every exit leaves them in (the pass's own
    when the loop ends at its end, else set by the first exit met); a flushed loop has None
    for both.
    """
    kind: str
    end: int
    head: int | None = None
    names: list[str] | None = None
    exit_names: list[str] | None = None

    @property
    def kept(self) -> bool:
        """Is the loop kept in locals?"""
        return self.names is not None
