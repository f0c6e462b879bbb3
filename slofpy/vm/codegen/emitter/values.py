"""Words on values lowered onto the cached stack top: literals, arithmetic and comparisons,
shuffles, DO-loop indexes, division, PICK and the return-stack words. Each `lower_*` method
carries out one kind of primitive (the table is in lowering.py) and returns True when done.
"""
from __future__ import annotations

import re

from ..decoder import Instruction, NotCompilable
from ..primitives import BINARY, DIVISION, MODULAR, RS_PEEK, RS_POP, RS_PUSH, SHUFFLE, UNARY
from .base import EmitterBase, is_int

_STEP = re.compile(r"\{a\} ([+-]) (\d+)")


class ValueLowerings(EmitterBase):
    """Lowerings of the primitives that work on stack items only."""

    def binary(self, depth: int, name: str) -> None:
        """A primitive of BINARY on the two cached top items (taken off by ensure first)."""
        expr, wrap = BINARY[name]
        side = None
        if name in MODULAR:
            right = self.take_raw(depth)
            left = self.take_raw(depth)
            wrap = wrap or left in self.stack.unwrapped or right in self.stack.unwrapped
            if name == "and" and (is_int(left) and int(left) >= 0 or is_int(right) and int(right) >= 0):
                wrap = False            # masked by a non-negative literal: in range
            elif name in ("+", "-") and is_int(right) and int(right):
                side = self.side(left, int(right) if name == "+" else -int(right))
            elif name == "+" and is_int(left) and int(left):
                side = self.side(right, int(left))
        else:
            right = self.take(depth)
            left = self.take(depth)
        self.result(depth, expr.format(a=left, b=right), wrap, (left, right))
        if side is not None and self.stack.items[-1] in self.stack.unwrapped:
            self.wrap_side[self.stack.items[-1]] = side

    def lower_literal(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        items.append(str(instruction.arg))
        return True

    def lower_string_literal(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        items.extend((str(instruction.arg[0]), str(instruction.arg[1])))
        return True

    def lower_flag(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        items.append("-1" if name == "true" else "0")
        return True

    def lower_loop_index(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        level = self.innermost_do()
        if level < 0 or (name == "j" and self.do_depth < 2):
            return False
        items.append(f"_i{level}" if name == "i" else f"_i{self.do_depth - 2}")
        return True

    def lower_binary(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        self.binary(depth, name)
        return True

    def lower_unary(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        expr, wrap = UNARY[name]
        side = None
        if name in MODULAR:
            operand = self.take_raw(depth)
            wrap = wrap or operand in self.stack.unwrapped
            step = _STEP.fullmatch(expr)
            if step:
                side = self.side(operand, int(step.group(2)) * (1 if step.group(1) == "+" else -1))
        else:
            operand = self.take(depth)
        self.result(depth, expr.format(a=operand), wrap, (operand,))
        if side is not None and self.stack.items[-1] in self.stack.unwrapped:
            self.wrap_side[self.stack.items[-1]] = side
        return True

    def lower_dup(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if items:
            items.append(items[-1])
        else:
            name = self.tmp()
            self.emit(depth, f"{name} = s[-1]")
            items.append(name)
        return True

    def lower_drop(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not items:
            return False
        items.pop()
        return True

    def lower_shuffle(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        count, out = SHUFFLE[name]
        if len(items) < count:
            # the missing inputs are the deepest ones, on the real stack; the threaded
            # shuffle throws before changing anything when they are not there, and so
            # does this. Inputs the shuffle leaves where they are (the bottom of over,
            # 2dup, 2over) are only read; the others come off the stack.
            pull = count - len(items)
            names = [self.tmp() for _ in range(pull)]
            stay = tuple(out[:pull]) == tuple(range(pull))
            # (with nothing cached, reading the deepest one first is the check)
            self.emit_reads(depth, "\n".join(f"{t} = s[{i - pull}]"
                                              for i, t in enumerate(names)))
            if not stay:
                self.emit(depth, f"del s[-{pull}:]")
                self.stack.pops += pull
                self.stack.touch += 1
            inputs = names + items
            items.clear()
            items.extend(inputs[i] for i in (out[pull:] if stay else out))
        else:
            inputs = items[-count:]
            del items[-count:]
            items.extend(inputs[i] for i in out)
        return True

    def lower_slash_string(self, instruction: Instruction, depth: int) -> bool:
        """( a n k -- a+k n-k ), unwrapped as the threaded code leaves it."""
        # the threaded word pops k, then finds a and n in place: an underflow there
        # leaves the stack without k (emit_reads puts back what is cached under k)
        step = self.take(depth)
        self.read_missing(2, depth)
        length, addr = self.take(depth), self.take(depth)
        self.result(depth, f"{addr} + {step}", False, (addr, step))
        self.result(depth, f"{length} - {step}", False, (length, step))
        return True

    def lower_division(self, instruction: Instruction, depth: int) -> bool:
        """/ MOD: the divisor, its zero check, then the dividend (as the snippet does)."""
        name = instruction.name
        items = self.stack.items
        divisor = self.take(depth)
        if not (is_int(divisor) and int(divisor)):
            self.emit(depth, f"if {divisor} == 0:\n    {self.spill(items)}\n    raise Throw(-10)")
        dividend = self.take(depth)
        expr, wrap = DIVISION[name]
        self.result(depth, expr.format(a=dividend, b=divisor), wrap)
        return True

    def lower_range_test(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        self.ensure(3, depth)
        high, low, value = self.take(depth), self.take(depth), self.take(depth)
        expr = (f"-1 if {low} <= {value} <= {high} else 0" if name == "between"
                else f"-1 if (({value} - {low}) & M) < (({high} - {low}) & M) else 0")
        self.result(depth, expr, False)
        return True

    def lower_pick(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not items or not is_int(items[-1]) or int(items[-1]) < 0:
            return False
        index = int(items.pop())
        if index < len(items):
            items.append(items[-1 - index])
        else:
            below = index - len(items) + 1          # how deep into the real stack
            name = self.tmp()
            self.emit_reads(depth, f"{name} = s[-{below}]")
            items.append(name)
        return True

    def lower_return_stack(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        return self.lower_rs_word(name, depth)

    def lower_rs_word(self, name: str, depth: int) -> bool:
        """>r r> r@ rdrop 2>r 2r> 2r@ on the cached stack top. The return stack is the real
        one; its underflow check stays, with the data stack put right before the throw."""
        items, return_items = self.stack.items, self.stack.return_items
        self.rs_depth += RS_PUSH.get(name, 0) - RS_POP.get(name, 0)
        if self.rs_depth < 0 or (name in RS_PEEK and self.rs_depth < RS_PEEK[name]):
            raise NotCompilable
        if name in RS_PUSH:                # onto the cached return-stack items: no code
            self.ensure(RS_PUSH[name], depth)
            items = [self.take(depth) for _ in range(RS_PUSH[name])]
            return_items.extend(reversed(items))
            return True
        count = RS_POP.get(name) or RS_PEEK[name]
        if len(return_items) >= count:
            if name != "rdrop":
                items.extend(return_items[-count:])
            if name not in RS_PEEK:
                del return_items[-count:]
            return True
        self.flush_rs(depth)
        # no underflow check: the code pushed what it takes (analysis.return_stack_unbalanced, rs_depth)
        if name == "rdrop":
            self.emit(depth, "rs.pop()")
        elif name == "r>":
            self.result(depth, "rs.pop()", False)
        elif name == "r@":
            self.result(depth, "rs[-1]", False)
        else:
            self.result(depth, "rs[-2]", False)
            self.result(depth, "rs[-1]", False)
            if name == "2r>":
                self.emit(depth, "del rs[-2:]")
        return True
