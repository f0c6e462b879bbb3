"""The emitter: Python source for one colon definition, from the tree of its instructions.

See codegen/__init__.py for what generated code promises. The emitter walks a definition's
tree (ir.read_flow) once, keeping the top items of the data stack in Python locals (stack caching),
and writes statements for each word: inlined snippets, lowerings of the primitives it knows
(primitives.py), calls through slots. Loops and IF arms are "kept" (their items stay in
locals through them) where that is possible, else "flushed" (the items go onto the real stack
first); an IF arm that leaves the depth alone runs "cold" (flushed inside, items taken back
after); an arm that always throws (analysis.py) lets the code after it go on as if it were
not taken. Whenever something can throw, the real stack is made what the threaded code would
have left there.

The state it keeps of the stacks is a StackCache (stack_cache.py), copied before an attempt
at a kept structure and restored when the attempt fails. What it writes is a list of Line
objects (statements.py): the few steps that look back at what was just written (a branch on
a flag made by a comparison, the stack check of a loop moved in front of it, two overflow
checks in a row) look at their roles, not at the text, which is made last.

The emitter is one class, `Emitter`, made of parts with one concern each:

* `base`: the lines written, the cached stack top, snapshot and rollback;
* `values`, `memory`: the primitives lowered onto cached items (arithmetic, shuffles and
  the return stack; fetches, stores and the dictionary words), `lowering`: which lowering
  an instruction takes;
* `structure`: the walk over the definition's tree (ir.read_flow), and the branches out of
  structures;
* `if_arms`: the strategies for IF; `loops`: BEGIN and DO loops, kept or flushed;
* `calls`: words on the real stack, EXECUTE, DOES> words, calls and inlining.

Each part is a class over `EmitterBase` and imports nothing of the others but the base (the
lowering part takes its two tables' parts); they call each other through self, and only this
module puts them together.
"""
from __future__ import annotations

from ..decoder import Instruction
from ..ir import code_index
from ..line_marks import TaggedLines
from ..stack_cache import Loop, StackCache
from ..statements import Line
from .base import HEADROOM, STACK_CHECK
from .calls import Calls
from .if_arms import IfArms
from .loops import Loops
from .lowering import Lowering
from .structure import Structure

__all__ = ["Emitter", "HEADROOM", "STACK_CHECK"]


class Emitter(Structure, IfArms, Loops, Calls, Lowering):
    """Python statements for one colon definition (or, with parent, a callee inlined into
    the parent's code)."""

    def __init__(self, vm, ins: list[Instruction], parent: "Emitter | None" = None, xt: int = 0):
        self.vm = vm
        self.ins = ins
        self.index = code_index(ins)    # address -> position (and just past the final EXIT)
        self.loops: list[Loop] = []     # the loops around the point being emitted
        self.keep_failed: set[int] = set()   # structures that could not be kept
        self.throw_failed: set[int] = set()  # IFs whose arm was found to come back
        self.cold_failed: set[int] = set()   # IFs whose arm could not be run flushed (if_cold)
        self.do_depth = 0
        # BEGIN loops' first instructions -> their closing branches (read_flow's); a branch
        # back to what is not an instruction: no generated code
        self.back_edges: dict[int, int] = {}
        for pos, instruction in enumerate(ins):
            if instruction.name in ("branch", "0branch") and instruction.arg <= instruction.addr:
                head = self.target(instruction.arg)
                self.back_edges[head] = max(self.back_edges.get(head, -1), pos)
        self.rs_depth = 0               # return-stack entries this definition has pushed
        self.inline_mode = parent is not None
        if parent is None:
            self.lines: list[Line] = TaggedLines()   # each line knows its threaded cells
            self.consts: dict[str, object] = {}
            self.stack = StackCache()
            self.ntmp = 0
            self.deps: list[tuple[int, int]] = []     # threaded bodies inlined: (start, end)
            self.xt = xt
            self.inlined: tuple[int, ...] = ()        # callees being inlined, outermost first
            self.loop_names: set[str] = set()    # names kept loops hold cached items in
            # unwrapped names that can only be above 64 bits ("hi") or only below ("lo"):
            # one comparison wraps them (a + 8, a - 1 ...)
            self.wrap_side: dict[str, str] = {}
            self.calls: set[int] = set()          # colon definitions called through slots
            self.bodies: tuple[tuple[int, int], ...] = ()
            self.site = 0
        else:       # an inlined callee writes into its caller's code, on its stack cache
            self.lines, self.consts, self.stack = parent.lines, parent.consts, parent.stack
            self.deps, self.ntmp, self.xt = parent.deps, parent.ntmp, parent.xt
            self.inlined = parent.inlined + (ins[0].addr - 8,)
            self.loop_names, self.wrap_side = parent.loop_names, parent.wrap_side
            self.calls = parent.calls
            self.bodies = parent.bodies
            self.site = parent.lines.where()    # calling cells, packed
        # the threaded bodies this code is made from (its own, and the callees inlined so
        # far): a store into one drops the code, so the strings in them are constants here
        self.bodies = self.bodies + ((ins[0].addr, ins[-1].addr),)
