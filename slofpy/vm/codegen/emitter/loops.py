"""BEGIN and DO loops, kept (the cached items in the same names at every pass's start and
end, and at every exit) or flushed (the items on the real stack, a stack check at the top
of each pass, moved in front of the loop when no pass can grow the stack).
"""
from __future__ import annotations

from ... import layout as L
from .. import statements
from ..decoder import Instruction
from ..ir import Begin, DoLoop
from ..stack_cache import Loop
from ..statements import Line
from .base import HEADROOM, EmitterBase, Unclean, pop_into


class Loops(EmitterBase):
    """Loops, kept or flushed, and what leaves or restarts them."""

    def cond_kept(self, depth: int, now: bool = True) -> str:
        """The flag on top, taken off without flushing the items under it; now: tested
        right away (not after the loop's names are assigned)."""
        flag = self.take(depth)
        if now:
            return self.test(flag, depth)
        if flag in self.loop_names:
            copy = self.tmp()
            self.emit(depth, f"{copy} = {flag}")
            flag = copy
        return flag

    def to_loop_state(self, names: list[str], depth: int, jump: str) -> None:
        """Leave or restart a kept loop: the cached items into the loop's names, then jump."""
        if len(self.stack.items) != len(names):
            raise Unclean
        self.assign(depth, names, self.stack.items)
        self.emit(depth, jump)

    def leave_kept(self, loop: Loop, depth: int) -> None:
        """Leave a kept loop early: every exit leaves its items in the same names (the
        loop's own when the exit has as many items, else names the first exit makes)."""
        if loop.exit_names is None:
            items = self.stack.items
            loop.exit_names = loop.names if len(items) == len(loop.names) \
                else [self.tmp() for _ in items]
        self.to_loop_state(loop.exit_names, depth, "break")

    def after_kept_loop(self, loop: Loop, check: int) -> None:
        """After a kept loop: the items are in the names its exits leave them in."""
        self.stack.known.clear()
        self.stack.items[:] = loop.names if loop.exit_names is None else loop.exit_names
        self.stack.since_check = check + len(self.stack.items) - len(loop.names)

    def enter_kept_loop(self, depth: int, head: int | None = None) -> tuple[list[str], int]:
        """Before a kept loop: the data stack check (unless the stack is known to be below
        its limit), and the cached items into fresh names that every pass starts and ends
        with. Every pass starts as deep as the first (the real stack is left alone), so
        what was known of its room holds at each start; returned (since_check there).
        head: the address of the loop's first instruction, where the threaded code can take
        over (or None): then the check asks for HEADROOM cells, and when they are not there
        the rest of the definition runs threaded, which checks at every step."""
        items = self.stack.items
        check = self.stack.since_check
        if head is not None and (check is None or check > -HEADROOM // 2) and \
                self.can_resume_threaded():
            # (asked for even when the stack is known to be below its limit, unless there is
            # ample room: a check here spares the checks a pass would make)
            self.emit(depth, f"if len(s) > {L.DATA_STACK_CELLS - len(items) - HEADROOM}:\n"
                             f"    {self.spill(items)}\n    return RT({head}, 0)")
            self.stack.since_check = -HEADROOM
        elif check is None or check > 0:
            limit = L.DATA_STACK_CELLS - len(items)
            self.emit(depth, f"if len(s) > {limit}:\n    {self.spill(items)}\n    raise Throw(-3)",
                      statements.OVERFLOW_CHECK, limit)
            self.stack.since_check = 0
        names = [self.tmp() for _ in items]
        self.assign(depth, names, items)
        self.stack.known.clear()
        items[:] = names
        self.loop_names.update(names)
        return names, self.stack.since_check

    def in_kept_loop(self) -> bool:
        """Is the innermost loop around this point one being kept in locals?"""
        return bool(self.loops) and self.loops[-1].kept

    def end_kept_pass(self, names: list[str], depth: int, touch: int, rs_depth: int) -> None:
        if self.stack.touch != touch or self.rs_depth != rs_depth or len(self.stack.items) != len(names):
            raise Unclean
        self.assign(depth, names, self.stack.items)

    def begin_loop_kept(self, node: Begin, first: int, close: int, depth: int,
                        pull: int = 0) -> bool:
        """pull: items to take off the real stack into locals first (a pass that reached
        under the cached items could not be kept): when there are fewer, the threaded code
        runs the loop and the rest of the definition, and finds them missing as it would."""
        if first in self.keep_failed:
            return False
        snap = self.snapshot()
        pops = self.stack.pops
        try:
            if pull:
                names = [self.tmp() for _ in range(pull)]
                self.emit(depth, f"if len(s) < {pull}:\n    {self.spill(self.stack.items)}\n"
                                 f"    return RT({self.ins[first].addr}, 0)\n" + pop_into(names))
                self.stack.items[:0] = names
            names, check = self.enter_kept_loop(depth, self.ins[first].addr)
            self.emit(depth, "while True:")
            head = len(self.lines)
            # [the names every exit leaves the items in]: the pass's own names when the
            # loop can end at its end (UNTIL), else set by the first exit met
            loop = Loop("begin", close + 1, first, names,
                        names if self.ins[close].name == "0branch" else None)
            self.loops.append(loop)
            touch, rs_depth = self.stack.touch, self.rs_depth
            try:
                self.block(node.body, depth + 1, flush_end=False)
                self.flush_rs(depth + 1)
                if self.ins[close].name == "0branch":        # UNTIL
                    flag = self.cond_kept(depth + 1, now=False)
                    self.end_kept_pass(names, depth + 1, touch, rs_depth)
                    self.emit(depth + 1, f"if {flag}: break")
                else:                                    # AGAIN, REPEAT
                    self.end_kept_pass(names, depth + 1, touch, rs_depth)
                    if len(self.lines) == head:
                        self.emit(depth + 1, "pass")
            finally:
                self.loops.pop()
        except Unclean:
            return self.retry_pulling(snap, pops, pull, first,
                                      lambda reached: self.begin_loop_kept(node, first, close,
                                                                           depth, reached))
        self.after_kept_loop(loop, check)
        return True

    def retry_pulling(self, snap, pops: int, pull: int, pos: int, retry) -> bool:
        """A kept loop at pos found Unclean: undo the attempt. If it took items off the real
        stack below the cached ones (and had not pulled any yet), try once more with that
        many pulled into locals first (retry(reached)); else never keep it."""
        reached = self.stack.pops - pops
        self.rollback(snap)
        if not pull and reached > 0 and self.can_resume_threaded():
            return retry(reached)
        return self.unkeep(pos, snap)

    def begin_loop_flushed(self, node: Begin, first: int, close: int, depth: int) -> None:
        closing = self.ins[close]
        self.put(depth, "while True:")
        head = len(self.lines) - 1
        self.put_stack_check(depth + 1)
        self.loops.append(Loop("begin", close + 1, first))
        self.block(node.body, depth + 1)
        self.hoist_check(head, depth)
        if closing.name == "0branch":
            self.put(depth + 1, "if s.pop(): break")
        self.stack.since_check = None     # what the loop left is not known here
        self.loops.pop()
        self.stack.known.clear()

    def pull_into_locals(self, count: int, depth: int, resume: int, above: list[str]) -> None:
        """Take count items off the real stack into locals under the cached ones, before a
        loop whose passes reach under them. When there are fewer, the threaded code runs from
        resume (the loop's first instruction), with the cached items and then above put onto
        the real stack, and finds them missing as it would."""
        names = [self.tmp() for _ in range(count)]
        self.emit(depth, f"if len(s) < {count}:\n    {self.spill(self.stack.items + above)}\n"
                         f"    return RT({resume}, 0)\n" + pop_into(names))
        self.stack.items[:0] = names

    def do_loop_kept(self, node: DoLoop, start: int, end: int, depth: int, pull: int = 0) -> bool:
        """A DO loop whose passes leave the cached items as they found them. pull: as
        begin_loop_kept's (the index and the limit go back onto the real stack for the
        threaded code's (do) when the items are not there)."""
        if start in self.keep_failed:
            return False
        opening, closing = self.ins[start], self.ins[end - 1]
        snap = self.snapshot()
        level = self.do_depth
        index_name, limit_name = f"_i{level}", f"_l{level}"
        try:
            first = self.take(depth)
            limit = self.take(depth)
            if pull:
                self.pull_into_locals(pull, depth, opening.addr, [limit, first])
            pops = self.stack.pops
            self.emit(depth, f"{index_name} = {first}\n{limit_name} = {limit}")
            names, check = self.enter_kept_loop(depth)
            inner = self.do_loop_head(opening, closing, index_name, limit_name, depth, self.emit)
            head = len(self.lines)
            loop = Loop("do", end, None, names, names)
            self.loops.append(loop)
            self.do_depth += 1
            touch, rs_depth = self.stack.touch, self.rs_depth
            try:
                self.block(node.body, inner + 1, flush_end=False)
                self.flush_rs(inner + 1)
                if closing.name == "(+loop)":
                    step = self.cond_kept(inner + 1, now=False)
                    self.end_kept_pass(names, inner + 1, touch, rs_depth)
                    self.emit(inner + 1, self.plus_loop_step(index_name, limit_name, step))
                else:
                    self.end_kept_pass(names, inner + 1, touch, rs_depth)
                    if len(self.lines) == head:
                        self.emit(inner + 1, "pass")
            finally:
                self.do_depth -= 1
                self.loops.pop()
        except Unclean:
            return self.retry_pulling(snap, pops, pull, start,
                                      lambda reached: self.do_loop_kept(node, start, end, depth,
                                                                        reached))
        self.after_kept_loop(loop, check)
        return True

    @staticmethod
    def do_loop_head(opening: Instruction, closing: Instruction, index_name: str, limit_name: str, depth: int, out) -> int:
        """Emit through out (emit or put) what starts a DO loop once its index and limit are
        set: ?DO's test and the loop over the passes. Returns the depth of the body."""
        inner = depth
        if opening.name == "(?do)":
            out(depth, f"if {index_name} != {limit_name}:")
            inner = depth + 1
        if closing.name == "(loop)":
            # the indexes LOOP steps through: a range, or counting on through the
            # wrap-around when the limit is not above the start
            out(inner, f"for {index_name} in (range({index_name}, {limit_name}) if {index_name} < {limit_name} else WR({index_name}, {limit_name})):")
        else:
            out(inner, "while True:")
        return inner

    @staticmethod
    def plus_loop_step(index_name: str, limit_name: str, step: str) -> str:
        return (f"n = {step}\nd = (({index_name} - {limit_name} + SB) & M) - SB\ne = d + n\n"
                f"if (d < 0 <= e) if n >= 0 else (e < 0 <= d): break\n"
                f"{index_name} = (({limit_name} + e + SB) & M) - SB")

    def do_loop_flushed(self, node: DoLoop, start: int, end: int, depth: int) -> None:
        opening, closing = self.ins[start], self.ins[end - 1]
        level = self.do_depth
        index_name, limit_name = f"_i{level}", f"_l{level}"
        if len(self.stack.items) >= 2:
            first, limit = self.take(depth), self.take(depth)
            self.put(depth, f"{index_name} = {first}\n{limit_name} = {limit}")
        else:
            self.put(depth, f"{index_name} = s.pop()\n{limit_name} = s.pop()")
        inner = self.do_loop_head(opening, closing, index_name, limit_name, depth, self.put)
        head = len(self.lines) - 1
        self.put_stack_check(inner + 1)
        self.loops.append(Loop("do", end))
        self.do_depth += 1
        self.block(node.body, inner + 1)
        self.do_depth -= 1
        self.loops.pop()
        self.hoist_check(head, inner)
        if closing.name != "(loop)":
            self.put(inner + 1, self.plus_loop_step(index_name, limit_name, "s.pop()"))
        self.stack.since_check = None     # what the loop left is not known here
        self.stack.known.clear()

    def hoist_check(self, head: int, depth: int) -> None:
        """The loop whose header is lines[head] checks the data stack at the top of every
        pass. When its body cannot leave the stack deeper than it found it (straight code
        and exits only), the check before the first pass is the only one that can fire:
        it moves in front of the loop."""
        grown = self.stack.since_check
        check = self.lines[head + 1]
        if grown is not None and grown <= 0 and check.role == statements.STACK_CHECK:
            del self.lines[head + 1]
            self.lines.insert(head, Line(depth, check.code, check.role))

    def innermost_do(self) -> int:
        for distance, loop in enumerate(reversed(self.loops)):
            if loop.kind == "do":
                if distance != 0:
                    return -2       # a BEGIN loop sits inside the DO loop
                return self.do_depth - 1
        return -1
