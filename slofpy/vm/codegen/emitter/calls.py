"""Words that are not lowered onto cached items: primitives on the real stack (the ones the
emitter handles by name, their snippets, calls of their Python functions), EXECUTE, DOES>
words and FIELDs, and calls of colon definitions: inlined when short, else through their
slots (kept in a kept loop when their effect is known).
"""
from __future__ import annotations

from ... import layout as L
from ...cells import U
from ...words.table import BUILTINS
from .. import analysis, statements
from ..convention import resume_address
from ..decoder import Instruction, NotCompilable, decode
from ..primitives import RS_FORBIDDEN, RS_PEEK, RS_POP, RS_PUSH
from .base import EmitterBase, pop_into

# Short colon definitions (straight code and IF/ELSE, no loops, an EXIT before the end only
# at the end of an IF arm that nothing follows but the rest of the definition) are
# inlined into their callers, to this many instructions and two levels deep; the caller's
# code depends on the callee's threaded body then, and a store into it drops both.
MAX_INLINE = 40
MAX_INLINE_DEPTH = 2
_NOT_INLINED = {"(do)", "(?do)", "(loop)", "(+loop)", "leave", "?leave", "unloop",
                "i", "j", "(does>)"}


class Calls(EmitterBase):
    """Words on the real stack, EXECUTE, DOES> words and calls."""

    def emit_word(self, instruction: Instruction, pos: int, depth: int) -> None:
        """One instruction that is not control flow (pos: its index): on the cached items where
        it can be (try_lowering), else on the real stack: a primitive (flushed_primitive) or any
        other word (flushed_word)."""
        before, pops = len(self.stack.items), self.stack.pops
        if self.try_lowering(instruction, depth):
            if self.stack.since_check is not None:
                self.stack.since_check += len(self.stack.items) - before - (self.stack.pops - pops)
            return
        if instruction.name is not None:
            self.flushed_primitive(instruction, pos, depth)
        else:
            self.flushed_word(instruction, depth)

    def flushed_primitive(self, instruction: Instruction, pos: int, depth: int) -> None:
        """A primitive on the real stack: the ones the emitter handles by name (LIT, EXIT,
        EXECUTE, the loop words, (DOES>), the return-stack words), else its snippet or a
        call of its Python function."""
        name = instruction.name
        if name == "lit":
            self.put(depth, f"s.append({instruction.arg})")
        elif name == "(sliteral)":
            self.put(depth, f"s.append({instruction.arg[0]})\ns.append({instruction.arg[1]})")
        elif name == "exit":
            if self.inline_mode:
                raise NotCompilable        # only an EXIT block() turns into an ELSE arm
            if pos != len(self.ins) - 1:
                self.put(depth, "return")
        elif name == "(to)":
            self.put(depth, f"P(mem, {instruction.arg + 8}, s.pop())" + self.to_check(instruction.arg))
        elif name == "execute":
            self.flushed_execute(depth, instruction.addr)
        elif name == "i":
            level = self.innermost_do()
            if level < 0:
                raise NotCompilable
            self.put(depth, f"s.append(_i{level})")
        elif name == "j":
            if self.do_depth < 2 or self.innermost_do() < 0:
                raise NotCompilable
            self.put(depth, f"s.append(_i{self.do_depth - 2})")
        elif name in ("leave", "?leave"):
            if self.innermost_do() < 0:
                raise NotCompilable
            self.put(depth, "break" if name == "leave" else "if s.pop(): break")
        elif name == "unloop":
            if self.innermost_do() < 0:
                raise NotCompilable
        elif name == "(does>)":
            if pos != len(self.ins) - 1:
                raise NotCompilable
            # the newest word runs the code after this one; the definition ends here
            self.put(depth, f"vm.set_does({instruction.addr + 8})")
        elif name in RS_FORBIDDEN:
            raise NotCompilable
        elif name in RS_PUSH or name in RS_POP or name in RS_PEEK:
            self.rs_depth += RS_PUSH.get(name, 0) - RS_POP.get(name, 0)
            if self.rs_depth < 0 or (name in RS_PEEK and self.rs_depth < RS_PEEK[name]):
                raise NotCompilable
            self.put(depth, BUILTINS[instruction.kind - L.PRIM_BASE].code)
        else:
            self.call_builtin(instruction, depth)

    def flushed_execute(self, depth: int, addr: int) -> None:
        """EXECUTE (compiled at addr): a 2CONSTANT (a property) is pushed here; any other
        word runs through execute, and a colon definition with generated code is called
        straight. A colon definition that reads its caller's return stack (an inline-operand
        reader: R> is the calling cell, convention.return_address) needs the threaded call,
        so where the threaded code can take over, the xt goes back and the rest of the
        definition runs threaded from the EXECUTE cell on."""
        target = self.take(depth)
        kind = self.tmp()
        handover = ""
        if self.can_resume_threaded():
            handover = (f"elif ({kind} == {L.K_COLON} or {kind} == {L.K_CREATE} and "
                        f"U(mem, {target} + 8)[0]) and RR({target}): "
                        f"s.append({target}); return RT({addr}, 0)\n")
        self.put(depth, f"{kind} = U(mem, {target})[0] if 0 <= {target} <= MS - 24 else 0\n"
                        f"if {kind} == {L.K_2CONSTANT}: s.extend(U2(mem, {target} + 8))\n"
                        f"elif {kind} == {L.K_COLON} and {target} in JCODE: JCODE[{target}]()\n"
                        + handover +
                        f"else: EX({target})")

    def call_builtin(self, instruction: Instruction, depth: int) -> None:
        """A primitive the emitter has no lowering for: its snippet inlined, or a call of
        its Python function (inside a kept loop, with its declared effect, kept)."""
        builtin = BUILTINS[instruction.kind - L.PRIM_BASE]
        if builtin.code is not None and builtin.inline:
            self.put(depth, builtin.code)
        elif builtin.func is not None:
            fname = f"_w{instruction.kind}"
            self.consts[fname] = self.vm.prims[instruction.kind]
            if builtin.effect is not None and self.in_kept_loop() and \
                    self.call_kept(depth, f"{fname}()", builtin.effect, None):
                return
            grown = self.stack.since_check
            self.put_call(depth, fname)
            if grown is not None and builtin.effect is not None:
                self.stack.since_check = grown + builtin.effect
        else:
            raise NotCompilable

    def flushed_word(self, instruction: Instruction, depth: int) -> None:
        """A word that is not a primitive, on the real stack."""
        vm = self.vm
        if instruction.kind == L.K_COLON:
            self.call_colon(instruction, depth)
        elif instruction.kind == L.K_VARIABLE:
            self.put(depth, f"s.append({instruction.xt + 8})")
        elif instruction.kind in (L.K_CONSTANT, L.K_VALUE, L.K_BUFFER):
            self.put(depth, f"s.append(U(mem, {instruction.xt + 8})[0])")
        elif instruction.kind == L.K_CREATE:
            does = U(vm.mem, instruction.xt + 8)[0]
            if does == vm.field_does:
                # a FIELD: what (field) does, without walking its DOES> code
                self.put(depth, f"s[-1] += U(mem, {instruction.xt + 16})[0]")
                return
            if does and analysis.reads_callers_return_stack(vm, does - 8):
                raise NotCompilable        # its DOES> code needs the threaded call
            self.put(depth, f"s.append({instruction.xt + 16})")
            if does:
                self.calls.add(does - 8)
                self.put_call(depth, f"_c{does - 8}")
        elif instruction.kind == L.K_DEFER:
            self.put(depth, f"EX(U(mem, {instruction.xt + 8})[0])")
        else:
            self.put(depth, f"EX({instruction.xt})")

    def call_colon(self, instruction: Instruction, depth: int) -> None:
        """A call of a colon definition: inlined when short, else through its slot."""
        vm = self.vm
        if analysis.reads_callers_return_stack(vm, instruction.xt):
            raise NotCompilable
        if self.inline(instruction, depth):
            return
        # through the callee's slot: its generated code, or a runner of its threaded
        # code while it has none (compile_definition and VM.drop_jit keep it current)
        self.calls.add(instruction.xt)
        if self.in_kept_loop():
            delta = analysis.definition_delta(vm, instruction.xt, [])
            if isinstance(delta, int) and self.call_kept(depth, f"_c{instruction.xt}()", delta,
                                                   resume_address(instruction.addr)):
                return
        self.put_call(depth, f"_c{instruction.xt}")

    def inline(self, instruction: Instruction, depth: int) -> bool:
        """Emit the colon definition instruction calls in place of the call, if it is short and plain
        enough; False (nothing emitted) if not."""
        vm = self.vm
        xt = instruction.xt
        body = xt + 8
        if (len(self.inlined) >= MAX_INLINE_DEPTH or xt == self.xt or xt in self.inlined
                or L.COMP_BUFFER <= body < L.COMP_BUFFER_END):
            return False
        try:
            code = decode(vm, body)
        except NotCompilable:
            return False
        if len(code) > MAX_INLINE + 1 or code[-1].name != "exit":     # not one ending in DOES>
            return False
        for word in code[:-1]:
            if word.name in _NOT_INLINED or (word.name in ("branch", "0branch") and word.arg <= word.addr):
                return False
        saved = self.snapshot()
        sub = type(self)(vm, code, parent=self)
        try:
            # a call checks the data stack on entry; so does the inlined body, unless the
            # stack cannot have grown since the last check
            if self.stack.since_check is None or self.stack.since_check > 0:
                self.overflow_check(depth)
                self.stack.since_check = 0
            sub.emit_body(depth, flush_end=False, tail=True)
            if sub.rs_depth != 0:
                raise NotCompilable
        except NotCompilable:
            self.rollback(saved)
            return False
        self.ntmp = sub.ntmp
        self.deps.append((body, code[-1].addr + 8))
        return True

    def overflow_check(self, depth: int) -> None:
        """The -3 check a call makes on entry, for the cached items as they are. Right
        after another such check (nothing emitted between, so the real stack is the same)
        the two become one test in the common case."""
        limit = L.DATA_STACK_CELLS - len(self.stack.items)
        raise_here = f"    {self.spill(self.stack.items)}\n    raise Throw(-3)"
        lines = self.lines
        prev = lines[-3] if len(lines) >= 3 else None
        if prev is None or prev.role != statements.OVERFLOW_CHECK or prev.depth != depth:
            self.emit(depth, f"if len(s) > {limit}:\n" + raise_here,
                      statements.OVERFLOW_CHECK, limit)
            return
        if limit >= prev.value:
            return                    # implied by the one before
        before = lines[-3:]
        del lines[-3:]
        self.emit(depth, f"if len(s) > {limit}:")
        lines.extend(line.indented() for line in before)
        self.emit(depth, raise_here)

    def call_kept(self, depth: int, call: str, delta: int, resume: int | None) -> bool:
        """A call inside a kept loop, which leaves the real stack as it found it: the cached
        items go onto it, the call runs, and as many items as it should leave (delta more)
        come back into new names. resume: where the threaded code goes on when the call
        leaves another depth than delta (a colon definition's effect is what its code
        says now; it may change): the depth is checked after the call, and if it is not
        that, the rest of the definition runs threaded. None: the effect is declared (a
        Python word), no check. False, with nothing emitted, where this cannot be done."""
        items = self.stack.items
        count = len(items) + delta
        if count < 0 or (resume is not None and not self.can_resume_threaded()):
            return False
        self.put_on(items, "s", depth)
        if resume is None:
            self.emit(depth, call)
        else:
            expected = self.tmp()
            self.emit(depth, f"{expected} = len(s) + {delta}\n{call}\n"
                             f"if len(s) != {expected}: return RT({resume}, 0)")
        names = [self.tmp() for _ in range(count)]
        if count:
            self.emit(depth, pop_into(names))
        items.extend(names)
        self.stack.known.clear()
        if self.stack.since_check is not None:
            self.stack.since_check += delta
        return True

    def can_resume_threaded(self) -> bool:
        """Could the definition's threaded code take over here, with the cached items put
        onto the real stack? Not in an inlined callee (the caller's code would be left out),
        nor with return-stack items or DO loop indexes held in locals."""
        return (not self.inline_mode and self.rs_depth == 0 and not self.stack.return_items
                and all(loop.kind != "do" for loop in self.loops))
