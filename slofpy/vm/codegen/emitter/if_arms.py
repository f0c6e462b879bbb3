"""IF ... THEN and IF ... ELSE ... THEN, by the first strategy that can write them: an arm
that always throws (the code after it goes on as if it were not taken), kept (the cached
items stay in locals through both arms), cold (an arm that leaves the depth alone runs
flushed inside, the items taken back after), flushed.
"""
from __future__ import annotations

from ... import layout as L
from .. import analysis
from ..decoder import NotCompilable
from ..ir import Sequence
from ..stack_cache import StackCache
from ..statements import Line
from .base import EmitterBase, Unclean, pop_into


# Control structures are emitted one of two ways. Kept: the cached stack items stay in
# locals through the structure; at the end of each IF arm, at every loop edge and exit
# they are copied into the same names, so the code after the structure knows where each
# item is. That is only possible when the structure leaves the real stack alone (no
# call, no word that needs the items on the real stack) and its arms or passes end with
# as many items as they began with; otherwise the attempt is undone and the structure is
# emitted flushed: the cached items go onto the real stack first, as before.
class IfArms(EmitterBase):
    """The strategies for IF."""

    def if_throws(self, pos: int, arm: Sequence, depth: int, dup: str | None) -> bool:
        """IF ... THEN whose arm never comes back: it ends in a throw and nothing in it
        branches out of it. The arm starts from the cached items as they are (and puts them
        onto the real stack itself where it needs them); the code after the IF goes on as
        if the IF had not been taken. False, with nothing emitted, for any other IF."""
        end = arm.hi
        if pos in self.throw_failed or end <= pos + 1:
            return False
        last = self.ins[end - 1]        # only an arm ending in ABORT", THROW or a call can throw
        if last.name not in ("(abort\")", "throw") and last.kind != L.K_COLON:
            return False
        for instruction in self.ins[pos + 1:end]:
            if instruction.name in ("exit", "leave", "?leave", "unloop") or (
                    instruction.name in ("branch", "0branch") and not pos < self.target(instruction.arg) < end):
                self.throw_failed.add(pos)
                return False
        throwers = analysis.range_always_throws(self.vm, self.ins, pos + 1, end)
        if throwers is None:
            self.throw_failed.add(pos)
            return False
        snap = self.snapshot()
        try:
            self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
            after, rs_depth = self.stack.copy(), self.rs_depth
            if dup:
                self.stack.items.append(dup)
                self.stack.since_check = None
            self.block(arm, depth + 1, flush_end=False)
        except (NotCompilable, Unclean):
            self.throw_failed.add(pos)
            self.rollback(snap)
            return False
        # the way past the arm: as before it (nothing the arm stored is seen past it)
        self.stack.restore(after)
        self.rs_depth = rs_depth
        self.deps.extend(throwers)    # a store into a word counted on to throw drops this
        return True

    def if_cold(self, pos: int, arm: Sequence, depth: int, dup: str | None) -> bool:
        """IF ... THEN whose arm cannot be kept (it calls, say) but leaves the stack as deep
        as it found it (analysis.range_delta): the arm puts the cached items onto the real stack
        when it starts and takes as many back into locals when it ends, so the code around
        it keeps them cached. False, with nothing emitted, if the arm's effect is not that."""
        if not self.stack.items or pos in self.cold_failed:
            return False
        deps: list = []
        if analysis.range_delta(self.vm, self.ins, pos + 1, arm.hi, deps) != (-1 if dup else 0):
            return False
        snap = self.snapshot()
        try:
            self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
            entry, rs_depth = self.stack.copy(), self.rs_depth
            before = entry.items
            self.emit(depth + 1, self.spill(before + ([dup] if dup else [])))
            self.stack.items.clear()
            self.stack.since_check = None
            self.block(arm, depth + 1)
            if self.rs_depth != rs_depth:
                raise NotCompilable
        except NotCompilable:
            self.cold_failed.add(pos)
            self.rollback(snap)
            return False
        # the items come back into the names they had where that is possible (a name held
        # once, not a literal); else into new ones, which the way past the arm sets too
        reuse = all(value.isidentifier() for value in before) and len(set(before)) == len(before)
        names = list(before) if reuse else [self.tmp() for _ in before]
        count = len(names)
        if count:
            self.emit(depth + 1, pop_into(names))
            if not reuse:
                self.emit(depth, "else:")
                self.assign(depth + 1, names, before, wrap=False)
        for name, value in zip(names, before):
            if value in self.stack.unwrapped:
                self.stack.unwrapped[name] = depth
        self.stack.items[:] = names
        self.deps.extend(deps)
        self.stack.known.clear()
        # the real stack is as deep as before and the items are back in names: a kept
        # structure around the IF can stay kept (what the arm did to the real stack in
        # between does not count)
        stack = self.stack          # the arm leaves the stack as deep as it found it
        stack.since_check, stack.touch, stack.pops = entry.since_check, entry.touch, entry.pops
        return True

    def if_kept(self, pos: int, then_arm: Sequence, else_arm: Sequence | None, depth: int,
                dup: str | None = None, tail: bool = False) -> bool:
        """IF ... THEN (else_end None) or IF ... ELSE ... THEN with the cached items kept; dup:
        the flag of ?dup IF, which the first arm starts with on the stack. Each arm starts
        from the items (and known cells) as they are before the IF; both must leave the real
        stacks alone and as many items as each other (merge_kept_arms)."""
        if pos in self.keep_failed:
            return False
        snap = self.snapshot()
        self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
        entry, rs_depth = self.stack.copy(), self.rs_depth
        head = len(self.lines)
        if dup:
            self.stack.items.append(dup)
            self.stack.since_check = None
        self.block(then_arm, depth + 1, flush_end=False, tail=tail)
        then_stack, then_end, rs_then = self.stack.copy(), len(self.lines), self.rs_depth
        self.rs_depth = rs_depth
        self.stack.rewind(entry)
        else_empty = True
        if else_arm is not None:
            self.emit(depth, "else:")
            else_head = len(self.lines)
            self.block(else_arm, depth + 1, flush_end=False, tail=tail)
            else_empty = len(self.lines) == else_head
        stack = self.stack
        if stack.touch != entry.touch or self.rs_depth != rs_depth or rs_then != rs_depth or \
                len(then_stack.items) != len(stack.items) or \
                then_stack.return_items != entry.return_items or \
                stack.return_items != entry.return_items:
            return self.unkeep(pos, snap)
        self.merge_kept_arms(depth, then_stack, then_end, then_end == head, else_arm is not None,
                             else_empty)
        return True

    def merge_kept_arms(self, depth: int, then_arm: StackCache, then_end: int,
                        then_empty: bool, has_else: bool, else_empty: bool) -> None:
        """After a kept IF's arms (the stack cache as the ELSE arm, or the way past the IF,
        leaves it; then_arm: as the first arm left it, whose lines end at then_end): where
        the two arms leave an item in different names, both arms copy it into one new name.
        Known are the cells both arms left in the same name."""
        stack = self.stack
        merged, names, then_values, else_values = [], [], [], []
        for then_value, else_value in zip(then_arm.items, list(stack.items)):
            if then_value == else_value:
                merged.append(then_value)
                continue
            name = self.tmp()
            if then_value in stack.unwrapped or else_value in stack.unwrapped:
                stack.unwrapped[name] = depth
            merged.append(name)
            names.append(name)
            then_values.append(then_value)
            else_values.append(else_value)
        if names:
            self.lines.insert(then_end, Line(depth + 1, ", ".join(names) + " = "
                                             + ", ".join(then_values)))
        elif then_empty:
            self.lines.insert(then_end, Line(depth + 1, "pass"))
        if has_else:
            if names:
                self.assign(depth + 1, names, else_values, wrap=False)
            elif else_empty:
                self.emit(depth + 1, "pass")
        elif names:
            self.emit(depth, "else:")
            self.assign(depth + 1, names, else_values, wrap=False)
        stack.items[:] = merged
        agreed = {addr: name for addr, name in then_arm.known.items()
                  if stack.known.get(addr) == name}
        stack.known.clear()
        stack.known.update(agreed)
        else_check = stack.since_check
        stack.since_check = None if then_arm.since_check is None or else_check is None \
            else max(then_arm.since_check, else_check)

    def if_flushed(self, pos: int, then_arm: Sequence, else_arm: Sequence | None, depth: int,
                   dup: str | None = None, tail: bool = False) -> None:
        self.put(depth, f"if {dup or self.cond(depth)}:")
        if dup:
            self.stack.items.append(dup)
        rs_before = self.rs_depth
        then_end = then_arm.hi
        self.block(then_arm, depth + 1, tail=tail)
        rs_then = self.rs_depth
        rs_else, else_exits = rs_before, False
        if else_arm is not None:
            self.rs_depth = rs_before
            self.put(depth, "else:")
            self.block(else_arm, depth + 1, tail=tail)
            rs_else, else_exits = self.rs_depth, self.ins[else_arm.hi - 1].name == "exit"
        # the return-stack entries pushed so far, from the arm that goes on (an arm that
        # ends in EXIT does not)
        if then_end > pos + 1 and self.ins[then_end - 1].name == "exit":
            self.rs_depth = rs_else
        elif else_exits or rs_then == rs_else:
            self.rs_depth = rs_then
        else:
            raise NotCompilable
        self.stack.known.clear()
