"""Marks that tie each line of generated code to the threaded cells it was made from.

The code generator writes them while it emits (`TaggedLines`); backtraces (vm/backtrace.py)
read them when an error is reported, so an error inside generated code names the same words
and lines as one in threaded code.
"""
from __future__ import annotations

#: a mark is one int: (line index << MARK_SHIFT) | the cells, 32 bits each, outermost in
#: the highest bits (an address is below 4 GiB and never 0). Ints are cheap to make and the
#: garbage collector does not follow them.
MARK_SHIFT = 32 * 6
CELL_BITS = (1 << 32) - 1
_LOW = (1 << MARK_SHIFT) - 1


def cells_of(packed: int) -> tuple[int, ...]:
    """The cells a mark (or an emitter's site) holds, outermost first."""
    cells = []
    packed &= _LOW
    while packed:
        cells.append(packed & CELL_BITS)
        packed >>= 32
    return tuple(reversed(cells))


class TaggedLines(list):
    """The lines of generated code (statements.Line), with marks saying which threaded cell each run of lines
    was made from. The code generator appends a mark as it starts on each threaded
    instruction: `index << MARK_SHIFT | site << 32 | address`, where site holds the calling
    cells of the callees being inlined (0 for none); a line belongs to the last mark at or
    before it. Appending lines costs what a list's append costs; the few edits that move
    lines also move the marks after them."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[int] = []

    def where(self) -> int:
        """The cells being translated now, packed as an emitter's site."""
        return self.marks[-1] & _LOW if self.marks else 0

    def _moved(self, first: int, stop: int, inserted: int) -> None:
        """Lines first..stop-1 were replaced by `inserted` lines: marks after them move; of the
        marks inside them the first stays (at first), the others go. Only the marks after
        line first are looked at (mostly a few: lines are taken back at the end)."""
        marks = self.marks
        cut = len(marks)
        while cut and marks[cut - 1] >> MARK_SHIFT > first:
            cut -= 1
        if cut == len(marks):
            return
        shift = inserted - (stop - first)
        tail = []
        inside = False
        for mark in marks[cut:]:
            line = mark >> MARK_SHIFT
            if line < stop:                       # inside the replaced lines
                if not inside:
                    tail.append(first << MARK_SHIFT | (mark & _LOW))
                    inside = True
            else:
                tail.append((line + shift) << MARK_SHIFT | (mark & _LOW))
        del marks[cut:]
        marks.extend(tail)

    def _span(self, index) -> tuple[int, int] | None:
        count = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(count)
            return (start, max(start, stop)) if step == 1 else None
        if index < 0:
            index += count
        return index, index + 1

    def __delitem__(self, index) -> None:
        span = self._span(index)
        super().__delitem__(index)
        if span is not None:
            self._moved(span[0], span[1], 0)

    def __setitem__(self, index, value) -> None:
        if isinstance(index, slice):
            value = list(value)
            span = self._span(index)
            super().__setitem__(index, value)
            if span is not None:
                self._moved(span[0], span[1], len(value))
        else:
            super().__setitem__(index, value)

    def insert(self, index, line) -> None:
        count = len(self)
        at = max(0, min(count, index + count if index < 0 else index))
        super().insert(index, line)
        self._moved(at, at, 1)

    def pop(self, index=-1):
        span = self._span(index)
        line = super().pop(index)
        self._moved(span[0], span[1], 0)
        return line

    def remove(self, line) -> None:
        del self[self.index(line)]

    def clear(self) -> None:
        super().clear()
        self.marks.clear()
