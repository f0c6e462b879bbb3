"""The walk over a definition's tree (ir.read_flow): each node to the part of the emitter
that writes it. Words go to calls.py's `emit_word`, loops to loops.py, IFs to if_arms.py's
strategies; the branches out of a structure (WHILE, LEAVE's branch, a return, a second
REPEAT) are written here. Every instruction met leaves a mark (line_marks.py).
"""
from __future__ import annotations

from ..decoder import Instruction, NotCompilable
from ..ir import (Begin, Continue, DoLoop, Exit, If, Invalid, LoopExit, Node, Sequence, Word,
                  read_flow)
from ..line_marks import MARK_SHIFT
from .base import EmitterBase

# Python's parser takes at most 100 levels of indentation: deeper code stays threaded (and
# is given up on before the work of emitting it)
_MAX_DEPTH = 90


class Structure(EmitterBase):
    """The walk over the tree, and the branches out of structures."""

    def emit_body(self, depth: int, flush_end: bool = True, tail: bool = False) -> None:
        """Emit the whole definition (a callee being inlined: all but its final EXIT)."""
        self.block(self.flow_tree(), depth, flush_end, tail)

    def flow_tree(self) -> Sequence:
        """read_flow's tree of the definition; of a callee being inlined (all but its final
        EXIT, and a branch to its end does not return), the one kept with its instructions,
        since it is inlined at every call site."""
        code = self.ins
        if not self.inline_mode:
            return read_flow(code, 0, len(code), True, self.index, self.back_edges)
        known = self.vm.codegen.flow_trees.get(code[0].addr)
        if known is not None and known[0] is code:
            return known[1]
        tree = read_flow(code, 0, len(code) - 1, False, self.index, self.back_edges)
        self.vm.codegen.flow_trees[code[0].addr] = (code, tree)
        return tree

    def block(self, seq: Sequence, depth: int, flush_end: bool = True,
              tail: bool = False) -> None:
        """Emit the nodes of seq. tail: the definition returns right after seq (nothing of it
        runs after this block), so an IF whose arm ends in EXIT can take the rest of the
        block as its ELSE arm."""
        if depth > _MAX_DEPTH:
            raise NotCompilable
        lines = self.lines
        start_len = len(lines)
        for place, node in enumerate(seq.items):
            if type(node) is Word or type(node) is Exit:    # most nodes: no call of emit_node
                ins = node.ins
                lines.marks.append(len(lines) << MARK_SHIFT | self.site << 32 | ins.addr)
                self.emit_word(ins, self.index[ins.addr], depth)
            elif self.emit_node(node, seq, place, depth, tail):
                break
        if not flush_end:
            return
        self.flush(depth)
        self.flush_rs(depth)
        if len(self.lines) == start_len:
            self.emit(depth, "pass")

    def mark(self, instruction: Instruction) -> None:
        """Note that the lines from here on are made from instruction (line_marks.py)."""
        self.lines.marks.append(len(self.lines) << MARK_SHIFT | self.site << 32 | instruction.addr)

    def emit_node(self, node: Node, seq: Sequence, place: int, depth: int, tail: bool) -> bool:
        """Emit node, the place-th of seq; True when it took the rest of seq too (an IF ...
        EXIT THEN whose ELSE arm the rest became)."""
        if isinstance(node, (Word, Exit)):
            ins = node.ins
            self.lines.marks.append(len(self.lines) << MARK_SHIFT | self.site << 32 | ins.addr)
            self.emit_word(ins, self.index[ins.addr], depth)
        elif isinstance(node, Begin):
            first = self.target(node.closing.arg)
            self.mark(self.ins[first])
            self.begin_loop(node, first, depth)
        elif isinstance(node, DoLoop):
            self.mark(node.start)
            self.do_loop(node, depth)
        elif isinstance(node, Continue):
            self.mark(node.ins)
            self.flush_rs(depth)
            self.restart_loop(depth)
        else:
            return self.emit_branch_node(node, seq, place, depth, tail)
        return False

    def emit_branch_node(self, node: Node, seq: Sequence, place: int, depth: int,
                    tail: bool) -> bool:
        """An IF, a loop exit, a return or an invalid branch, after the ?DUP in front of it
        (whose item is the flag, and stays only where the branch is not taken, when it is
        cached; else ?DUP runs as a word of its own)."""
        branch = node.test if isinstance(node, If) else node.ins
        dup = None
        if node.dup is not None:
            self.mark(node.dup)
            if self.stack.items:
                dup = self.take(depth)
            else:
                self.emit_word(node.dup, self.index[node.dup.addr], depth)
                self.mark(branch)
        else:
            self.mark(branch)
        if isinstance(node, If):
            return self.if_structure(node, seq, place, depth, dup, tail)
        if isinstance(node, Invalid):
            if node.flush_rs:
                self.flush_rs(depth)
            raise NotCompilable
        if branch.name == "0branch":
            self.conditional_exit(node, depth, dup)
        else:
            self.flush_rs(depth)
            self.unconditional_exit(node, depth)
        return False

    def begin_loop(self, node: Begin, first: int, depth: int) -> None:
        """The BEGIN loop starting at first, kept if it can be."""
        close = self.index[node.closing.addr]
        self.flush_rs(depth)
        if not self.begin_loop_kept(node, first, close, depth):
            self.begin_loop_flushed(node, first, close, depth)

    def do_loop(self, node: DoLoop, depth: int) -> None:
        """The DO loop node, kept if it can be."""
        self.flush_rs(depth)
        start = self.index[node.start.addr]
        end = self.index[node.closing.addr] + 1
        if not self.do_loop_kept(node, start, end, depth):
            self.do_loop_flushed(node, start, end, depth)

    def conditional_exit(self, node: Node, depth: int, dup: str | None) -> None:
        """A 0branch out of the loop around (WHILE) or to the end of the definition. dup:
        the flag of ?DUP WHILE."""
        if isinstance(node, LoopExit):
            loop = self.loops[-1]
            self.flush_rs(depth)
            if loop.kept:
                self.emit(depth, f"if not {dup or self.cond_kept(depth)}:")
                self.leave_kept(loop, depth + 1)
            else:
                grown = self.stack.since_check
                self.put(depth, f"if not {dup or self.cond(depth)}: break")
                # leaving the loop does not grow the stack: the flag is all it took
                self.stack.since_check = None if grown is None or dup else grown - 1
            if dup:
                self.stack.items.append(dup)
            return
        self.put(depth, f"if not {dup or self.cond(depth)}: return")
        if dup:
            self.stack.items.append(dup)
            self.stack.since_check = None

    def if_structure(self, node: If, seq: Sequence, place: int, depth: int, dup: str | None,
                     tail: bool) -> bool:
        """IF ... THEN, or with an ELSE: emitted by the first strategy that can (an arm that
        always throws, kept, cold, flushed). True when the rest of seq became its ELSE arm
        (IF ... EXIT THEN rest: IF ... ELSE rest THEN, both arms ending where the definition
        returns)."""
        pos = self.index[node.test.addr]
        then_target = self.target(node.test.arg)
        then_arm, else_arm = node.then, node.otherwise
        else_end = None if else_arm is None else else_arm.hi
        took_rest = False
        if else_arm is None and tail and then_target - 1 > pos and \
                self.ins[then_target - 1].name == "exit" and isinstance(then_arm.items[-1], Exit) \
                and not self.loops and \
                not self.jumps_to(pos + 1, then_target - 1, then_target):
            then_arm = Sequence(then_arm.items[:-1], pos + 1, then_target - 1)
            else_arm = Sequence(seq.items[place + 1:], then_target, seq.hi)
            else_end, took_rest = seq.hi, True
        arms_tail = tail and (then_target if else_end is None else else_end) == seq.hi
        if (else_end is not None or not self.if_throws(pos, then_arm, depth, dup)) and \
                not self.if_kept(pos, then_arm, else_arm, depth, dup, arms_tail):
            self.flush_rs(depth)
            if else_end is not None or not self.if_cold(pos, then_arm, depth, dup):
                self.if_flushed(pos, then_arm, else_arm, depth, dup, arms_tail)
        return took_rest

    def unconditional_exit(self, node: Node, depth: int) -> None:
        """A branch out of the loop around (LEAVE's way, REPEAT's exit) or a return."""
        if isinstance(node, LoopExit):
            loop = self.loops[-1]
            if loop.kept:
                self.leave_kept(loop, depth)
            else:
                self.put(depth, "break")
        else:
            self.put(depth, "return")

    def restart_loop(self, depth: int) -> None:
        """A branch back to the BEGIN of the loop around (a second REPEAT, say)."""
        loop = self.loops[-1]
        if loop.kept:
            self.to_loop_state(loop.names, depth, "continue")
        else:
            self.put(depth, "continue")
