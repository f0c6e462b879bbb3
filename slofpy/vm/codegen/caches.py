"""What one VM keeps of its generated code: one object, `GeneratedCode`, with `reset()`.

The inner interpreter (core.py) reads some of these tables on every call and store, so the VM
binds them under its own names too (`vm.jit_code`, `vm.jit_cells`...): the same objects, which
`reset()` empties in place.
"""
from __future__ import annotations

from typing import Callable


class GeneratedCode:
    """The generated code of one VM and what is known about it."""

    def __init__(self) -> None:
        self.functions: dict[int, Callable[[], None]] = {}   # xt -> its generated code
        self.call_counts: dict[int, int] = {}    # xt -> calls so far (negative: given up)
        self.ranges: dict[int, int] = {}         # start of a compiled body -> its end
        # page number -> starts of compiled bodies on that page (entries whose body is no
        # longer in ranges are stale and are dropped when met)
        self.pages: dict[int, set[int]] = {}
        # cell numbers (address >> 3) inside compiled bodies: most stores to a page with
        # code hit a VALUE or VARIABLE next to it, and this tells them apart
        self.cells: set[int] = set()
        # start of a compiled body -> the threaded bodies (start, end) its code depends on
        # (callees inlined, constants built in, calls counted on to throw)
        self.depends_on: dict[int, list[tuple[int, int]]] = {}
        self.sources: dict[int, str] = {}       # xt -> the Python source generated
        # xt -> where in its generated source each threaded instruction's lines begin, and
        # the cells they come from (codegen.line_marks.TaggedLines): what a backtrace reads
        self.line_tags: dict[int, list[int]] = {}
        # xt -> the globals of generated code that calls it through a slot
        self.callers: dict[int, list[dict]] = {}
        self.rs_readers: dict[int, bool] = {}   # analysis.reads_callers_return_stack
        # analysis answers, each kept with the bytes of the bodies it was read from
        self.effects: dict[int, tuple] = {}
        self.throwers: dict[int, tuple] = {}
        self.compiling: set[int] = set()        # definitions being compiled right now
        # start of a body -> (its end, its bytes, its instructions): decoder.decode's memo
        self.decoded: dict[int, tuple] = {}
        # start of a body -> (its decoded instructions, the words they name): what
        # source_cache.read_spans reads of it, kept while decode gives the same list
        self.named_words: dict[int, tuple] = {}
        # start of a callee's body -> (its decoded instructions, ir.read_flow's tree of
        # them as it is inlined): kept while decode gives the same list, so a callee is
        # read once, not at every call site
        self.flow_trees: dict[int, tuple] = {}

    def reset(self) -> None:
        """Forget all generated code and every answer about threaded code (the VM's memory
        was replaced, say). The tables stay the same objects."""
        for table in (self.functions, self.call_counts, self.ranges, self.pages, self.cells,
                      self.depends_on, self.sources, self.line_tags, self.callers, self.rs_readers,
                      self.effects, self.throwers, self.compiling, self.decoded,
                      self.named_words, self.flow_trees):
            table.clear()
