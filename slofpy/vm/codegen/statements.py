"""The emitter's output as objects: one `Line` per line of generated code, its text made last.

A line keeps its block depth apart from its code (so a step that moves lines into or out of a
block changes a number, not the text), and the lines a later step looks back at say what they
are (`role`, with the `value` that step needs):

* `FLAG`: `name = -1 if comparison else 0`, value (name, comparison). A branch right after it
  that tests name alone tests the comparison instead, and the line goes (Emitter.test).
* `STACK_CHECK`: the data-stack check at the top of a flushed loop's pass; it moves in front
  of the loop when no pass can leave the stack deeper (Emitter.hoist_check).
* `OVERFLOW_CHECK`: the first of the three lines of a -3 check for the cached items, value its
  limit; a second check right after it folds into it (Emitter.overflow_check).

`render` makes the text of a function body from the lines, once the emitter is done.
"""
from __future__ import annotations

from typing import Iterable

FLAG = "flag"
STACK_CHECK = "stack-check"
OVERFLOW_CHECK = "overflow-check"

INDENT = "    "


class Line:
    """One line of generated code: its block depth, its code (the text after the block's
    indentation, which may itself start with indentation inside a multi-line statement),
    and for lines later steps look for, its role and value."""
    __slots__ = ("depth", "code", "role", "value")

    def __init__(self, depth: int, code: str, role: str | None = None, value=None) -> None:
        self.depth, self.code, self.role, self.value = depth, code, role, value

    def indented(self) -> "Line":
        """The same line one block deeper."""
        return Line(self.depth + 1, self.code, self.role, self.value)

    def __repr__(self) -> str:
        return f"<Line {self.depth} {self.code!r}{' ' + self.role if self.role else ''}>"


def lines_of(depth: int, code: str, role: str | None = None, value=None) -> list[Line]:
    """The lines of code (one or more, "\\n" apart) at depth; role and value go to the first."""
    parts = code.split("\n")
    made = [Line(depth, parts[0], role, value)]
    made.extend(Line(depth, part) for part in parts[1:])
    return made


def render(lines: Iterable[Line]) -> str:
    """The text of the lines, each indented by its depth."""
    return "\n".join(INDENT * line.depth + line.code for line in lines)
