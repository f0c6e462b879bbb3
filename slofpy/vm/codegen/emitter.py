"""The emitter: Python source for one colon definition, from its instructions.

See codegen/__init__.py for what generated code promises. The emitter walks a definition's
instructions once, keeping the top items of the data stack in Python locals (stack caching),
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
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import layout as L
from .line_marks import MARK_SHIFT, TaggedLines
from ..cells import U
from ..words.table import BUILTINS
from . import analysis
from .convention import resume_address
from .decoder import Instruction, NotCompilable, decode
from .ir import (Begin, Continue, DoLoop, Exit, If, Invalid, LoopExit, Node, Sequence, Word,
                 read_flow)
from . import statements
from .stack_cache import Loop, StackCache
from .statements import Line
from .primitives import (BINARY, COMMA, DIVISION, FETCH, M, MAY_STORE, MODULAR, RS_FORBIDDEN, RS_PEEK,
                         RS_POP, RS_PUSH, SB, SHUFFLE, STORE, UNARY, snippet_parts)

# Python's parser takes at most 100 levels of indentation: deeper code stays threaded (and
# is given up on before the work of emitting it)
_MAX_DEPTH = 90

# data stack overflow, checked on entry and at the top of every loop (see layout.py)
STACK_CHECK = f"if len(s) > {L.DATA_STACK_CELLS}: raise Throw(-3)"

_STEP = re.compile(r"\{a\} ([+-]) (\d+)")


def _pop_into(names: list[str]) -> str:
    """Code that takes len(names) items off the real data stack into names, deepest first."""
    if len(names) == 1:
        return f"{names[0]} = s.pop()"
    return f"{', '.join(names)}, = s[-{len(names)}:]\ndel s[-{len(names)}:]"



@dataclass
class _Snapshot:
    """The emitter's state before an attempt at a kept structure (Emitter.snapshot)."""
    stack: StackCache
    rs_depth: int
    line_count: int
    last_line: list[str]
    dep_count: int
    consts: dict[str, object]


class _Unclean(Exception):
    """A control structure cannot keep the cached stack items in locals (see block())."""


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()



# Short colon definitions (straight code and IF/ELSE, no loops, an EXIT before the end only
# at the end of an IF arm that nothing follows but the rest of the definition) are
# inlined into their callers, to this many instructions and two levels deep; the caller's
# code depends on the callee's threaded body then, and a store into it drops both.
MAX_INLINE = 40
MAX_INLINE_DEPTH = 2
HEADROOM = 64       # data-stack cells generated code wants free on entry (compile_definition)
_NOT_INLINED = {"(do)", "(?do)", "(loop)", "(+loop)", "leave", "?leave", "unloop",
                "i", "j", "(does>)"}


class Emitter:
    def __init__(self, vm, ins: list[Instruction], parent: "Emitter | None" = None, xt: int = 0):
        self.vm = vm
        self.ins = ins
        self.index = {instruction.addr: pos for pos, instruction in enumerate(ins)}
        self.index[ins[-1].addr + 8] = len(ins)   # just past the final EXIT
        self.loops: list[Loop] = []     # the loops around the point being emitted
        self.keep_failed: set[int] = set()   # structures that could not be kept
        self.throw_failed: set[int] = set()  # IFs whose arm was found to come back
        self.cold_failed: set[int] = set()   # IFs whose arm could not be run flushed (if_cold)
        self.do_depth = 0
        for instruction in ins:       # a branch back to what is not an instruction: none
            if instruction.name in ("branch", "0branch") and instruction.arg <= instruction.addr:
                self.target(instruction.arg)
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

    def jumps_to(self, start: int, stop: int, target: int) -> bool:
        """Does a branch among instructions start..stop-1 go to target or beyond?"""
        return any(x.name in ("branch", "0branch") and self.target(x.arg) >= target
                   for x in self.ins[start:stop])

    def target(self, addr: int) -> int:
        found = self.index.get(addr)
        if found is None:
            raise NotCompilable
        return found

    def put(self, depth: int, code: str) -> None:
        """Emit code that sees the real stack: the cached items go onto it first. Cached
        return-stack items too, unless it is a call (a colon definition or Python word
        leaves its caller's return-stack items alone: analysis.reads_callers_return_stack)."""
        if self.stack.items:
            self.flush(depth)
        if self.stack.return_items:
            self.flush_rs(depth)
        self.emit(depth, code)
        self.stack.touch += 1
        self.stack.known.clear()
        self.stack.since_check = None

    def put_call(self, depth: int, function: str) -> None:
        """put() for a call of a colon definition's slot or a Python word: it leaves its
        caller's return-stack items alone (analysis.reads_callers_return_stack), so the
        cached ones stay cached."""
        if self.stack.items:
            self.flush(depth)
        self.emit(depth, f"{function}()")
        self.stack.touch += 1
        self.stack.known.clear()
        self.stack.since_check = None

    def put_stack_check(self, depth: int) -> None:
        """put() of the data-stack check (at the top of a flushed loop's pass)."""
        self.put(depth, STACK_CHECK)
        self.lines[-1].role = statements.STACK_CHECK
        self.stack.since_check = 0

    def text(self) -> str:
        """The statements emitted, as the generated function's body."""
        return statements.render(self.lines)

    def emit(self, depth: int, code: str, role: str | None = None, value=None) -> None:
        """Append code (one or more lines) at block depth; role and value: what its first
        line is, for a step that looks back at it (statements.py)."""
        self.lines.extend(statements.lines_of(depth, code, role, value))

    # ------------------------------------------------------------ the cached stack top
    def spill(self, items: list[str], stack: str = "s") -> str:
        """Code that pushes items onto the real data stack (or the stack named)."""
        if not items:
            return "pass"
        items = [f"((({x} + SB) & M) - SB)" if x in self.stack.unwrapped else x for x in items]
        if len(items) == 1:
            return f"{stack}.append({items[0]})"
        return f"{stack}.extend(({', '.join(items)},))"

    def put_on(self, items: list[str], stack: str, depth: int) -> None:
        """The cached items onto the real stack named, wrapped first; items emptied."""
        for name in dict.fromkeys(items):
            self.wrapped(name, depth)
        self.emit(depth, self.spill(items, stack))
        items.clear()

    def flush(self, depth: int) -> None:
        if self.stack.items:
            self.put_on(self.stack.items, "s", depth)
            self.stack.touch += 1

    def flush_rs(self, depth: int) -> None:
        if self.stack.return_items:
            self.put_on(self.stack.return_items, "rs", depth)

    def tmp(self) -> str:
        self.ntmp += 1
        return f"_t{self.ntmp}"

    # Results of + - * and the like are not brought back into 64 bits where they are made:
    # such a name is "unwrapped" (with the block depth it was made at), and it is wrapped
    # in place where a word needs the 64-bit value (a comparison, an index, a store, a
    # flush...). + - * and the bitwise words give the same 64 bits on unwrapped inputs.
    def wrapped(self, name: str, depth: int) -> str:
        """name, wrapped to 64 bits first if it may be outside them."""
        made = self.stack.unwrapped.get(name)
        if made is not None:
            test = {"hi": f"{name} >= SB", "lo": f"{name} < -SB"}.get(
                self.wrap_side.get(name), f"not -SB <= {name} < SB")
            self.emit(depth, f"if {test}: {name} = (({name} + SB) & M) - SB")
            if made == depth:          # every later use in this block sees it wrapped
                del self.stack.unwrapped[name]
        return name

    def side(self, name: str, step: int) -> str | None:
        """The side name + step can leave 64 bits on, when only one: "hi" or "lo"."""
        side = "hi" if step > 0 else "lo"
        if name not in self.stack.unwrapped or self.wrap_side.get(name) == side:
            return side
        return None

    def take_raw(self, depth: int) -> str:
        """The top item for a word that works modulo 2**64: not wrapped."""
        if self.stack.items:
            return self.stack.items.pop()
        return self.take(depth)

    def take(self, depth: int) -> str:
        """The top item, taken off: a cached one, or popped from the real stack (which throws
        just as the threaded code would, since nothing is cached then)."""
        if self.stack.items:
            return self.wrapped(self.stack.items.pop(), depth)
        name = self.tmp()
        self.emit(depth, f"{name} = s.pop()")
        self.stack.pops += 1
        self.stack.touch += 1
        return name

    def ensure(self, count: int, depth: int) -> None:
        """At least count items cached: the missing ones popped off the real stack, the top one
        first. Only for words that pop all count inputs before anything else can fail: then an
        underflow leaves the stack empty, as the threaded word leaves it."""
        items = self.stack.items
        while len(items) < count:
            name = self.tmp()
            self.emit(depth, f"{name} = s.pop()")
            self.stack.pops += 1
            self.stack.touch += 1
            items.insert(0, name)

    def read_missing(self, count: int, depth: int) -> None:
        """At least count items cached: the missing ones read off the real stack, the deepest
        first, and only then taken off it; an underflow leaves the real stack as it was,
        with the cached items put onto it."""
        missing = count - len(self.stack.items)
        if missing <= 0:
            return
        names = [self.tmp() for _ in range(missing)]
        reads = "\n".join(f"{name} = s[-{missing - i}]" for i, name in enumerate(names))
        self.emit_reads(depth, f"{reads}\ndel s[-{missing}:]")
        self.stack.pops += missing
        self.stack.touch += 1
        self.stack.items[:0] = names

    def result(self, depth: int, expr: str, wrap: bool, inputs: tuple[str, ...] = ()) -> None:
        if inputs and all(_is_int(i) for i in inputs):
            # literals only: the result is a literal too
            value = eval(expr, {"SB": SB, "M": M})  # noqa: S307 - an expression made above
            self.stack.items.append(str(((value + SB) & M) - SB if wrap else value))
            return
        name = self.tmp()
        if expr.startswith("-1 if ") and expr.endswith(" else 0"):
            self.emit(depth, f"{name} = {expr}", statements.FLAG, (name, expr[6:-7]))
        else:
            self.emit(depth, f"{name} = {expr}")
        if wrap:
            self.stack.unwrapped[name] = depth
        self.stack.items.append(name)

    def access(self, depth: int, addr: str, size: int, spill: str, stmt: str) -> None:
        """stmt, a memory access of size bytes at addr, with its -9 check (spill puts the real
        stack as the throw must leave it); no check when addr is a literal inside memory. The
        access itself tells an address past the end (OUTSIDE), so only the sign is tested."""
        if _is_int(addr) and 0 <= int(addr) <= self.vm.size - size:
            self.emit(depth, stmt)
            return
        made = self.stack.unwrapped.get(addr)
        if made is None:
            sign = f"if {addr} < 0: raise IndexError"
        else:       # inside memory means inside 64 bits: wrap only when the address is outside
            sign = (f"if {addr} < 0:\n    {addr} = (({addr} + SB) & M) - SB\n"
                    f"    if {addr} < 0: raise IndexError")
            if made == depth:
                del self.stack.unwrapped[addr]
        self.emit(depth, "try:")
        self.emit(depth + 1, f"{sign}\n{stmt}")
        self.emit(depth, f"except OUTSIDE:\n    {spill}\n    raise Throw(-9)")

    # Cells read or written by literal address (VALUEs, variables, HERE) are remembered
    # in straight-line code: a second read uses the name the first one (or the store)
    # left. Anything else that may write memory (a call, a word run on the real stack, a
    # store to an address not known here) and every edge of a control structure forget it.
    def read_cell(self, depth: int, addr: int) -> None:
        name = self.stack.known.get(addr)
        if name is None:
            self.result(depth, f"U(mem, {addr})[0]", False)
            self.stack.known[addr] = self.stack.items[-1]
        else:
            self.stack.items.append(name)

    def stored(self, addr: str, size: int, value: str | None) -> None:
        """Note a store of size bytes at addr (value: the 8-byte value stored, if known)."""
        known = self.stack.known
        if not _is_int(addr):
            known.clear()
            return
        start = int(addr)
        for k in [k for k in known if k < start + size and start < k + 8]:
            del known[k]
        if value is not None:
            known[start] = value

    def emit_reads(self, depth: int, reads: str) -> None:
        """reads (assignments from the real stack, the deepest first) made to throw stack
        underflow with the cached items put onto the real stack: reading the deepest item
        is the check (a try costs nothing in Python 3.11 until it catches)."""
        if not self.stack.items:
            self.emit(depth, reads)
        else:
            self.emit_guarded(depth, reads, "IndexError", self.spill(self.stack.items))

    def emit_guarded(self, depth: int, code: str, caught: str, spill: str) -> None:
        """code in a try whose handler, for the exceptions caught, runs spill (the cached
        items onto the real stack) and raises again."""
        self.emit(depth, "try:")
        self.emit(depth + 1, code)
        self.emit(depth, f"except {caught}:")
        self.emit(depth + 1, f"{spill}\nraise")

    def emit_if(self, depth: int, test: str, code: str) -> None:
        """code run when test is true."""
        self.emit(depth, f"if {test}:")
        self.emit(depth + 1, code)

    def cond(self, depth: int) -> str:
        """A flag for a branch: the cached top item, the rest pushed; or s.pop()."""
        if self.stack.items:
            flag = self.test(self.take(depth), depth)
            self.flush(depth)
            return flag
        return "s.pop()"

    def test(self, flag: str, depth: int) -> str:
        """What a branch tests for flag: the comparison itself when the line just emitted
        made flag from it and nothing else holds it."""
        last = self.lines[-1] if self.lines else None
        if last is not None and last.role == statements.FLAG and last.value[0] == flag and \
                last.depth == depth and flag not in self.stack.items:
            del self.lines[-1]
            return f"({last.value[1]})"
        return flag

    def binary(self, depth: int, name: str) -> None:
        """A primitive of BINARY on the two cached top items (taken off by ensure first)."""
        expr, wrap = BINARY[name]
        side = None
        if name in MODULAR:
            right = self.take_raw(depth)
            left = self.take_raw(depth)
            wrap = wrap or left in self.stack.unwrapped or right in self.stack.unwrapped
            if name == "and" and (_is_int(left) and int(left) >= 0 or _is_int(right) and int(right) >= 0):
                wrap = False            # masked by a non-negative literal: in range
            elif name in ("+", "-") and _is_int(right) and int(right):
                side = self.side(left, int(right) if name == "+" else -int(right))
            elif name == "+" and _is_int(left) and int(left):
                side = self.side(right, int(left))
        else:
            right = self.take(depth)
            left = self.take(depth)
        self.result(depth, expr.format(a=left, b=right), wrap, (left, right))
        if side is not None and self.stack.items[-1] in self.stack.unwrapped:
            self.wrap_side[self.stack.items[-1]] = side

    def cached(self, instruction: Instruction, depth: int) -> bool:
        """Carry out instruction on the cached stack top if it is one of the words that can be; True
        if done. Each kind of primitive has its lowering (_LOWERINGS); any other snippet
        that pops its inputs and pushes its results is inlined on cached items."""
        if instruction.name is None:
            return self.cached_word(instruction, depth)
        lowering = _LOWERINGS.get(instruction.name)
        if lowering is None:
            return self.cached_snippet(instruction, depth)
        return lowering(self, instruction, depth)

    def cached_word(self, instruction: Instruction, depth: int) -> bool:
        """A variable, constant, buffer, value, CREATEd word or FIELD on the cached stack top;
        True if done."""
        items = self.stack.items
        kind = instruction.kind
        if kind == L.K_VARIABLE:
            items.append(str(instruction.xt + 8))
        elif kind in (L.K_CONSTANT, L.K_BUFFER):
            # the value as a literal: a store into the constant's cell drops this code
            items.append(str(U(self.vm.mem, instruction.xt + 8)[0]))
            self.deps.append((instruction.xt + 8, instruction.xt + 16))
        elif kind == L.K_VALUE:
            self.read_cell(depth, instruction.xt + 8)
        elif kind == L.K_CREATE:
            does = U(self.vm.mem, instruction.xt + 8)[0]
            if does == 0:
                items.append(str(instruction.xt + 16))
            elif does == self.vm.field_does:
                # a FIELD: its offset as a literal (a store into it drops this code)
                off = U(self.vm.mem, instruction.xt + 16)[0]
                self.deps.append((instruction.xt + 16, instruction.xt + 24))
                self.ensure(1, depth)
                if off:
                    items.append(str(off))
                    self.binary(depth, "+")
            else:
                return False
        else:
            return False
        return True

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
        if not (_is_int(divisor) and int(divisor)):
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

    def lower_fetch(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        self.ensure(1, depth)
        size, expr = FETCH[name]
        addr = items[-1]
        if size == 8 and _is_int(addr) and 0 <= int(addr) <= self.vm.size - 8:
            items.pop()
            self.read_cell(depth, int(addr))
            return True
        spill_code = self.spill(items)
        items.pop()
        name = self.tmp()
        self.access(depth, addr, size, spill_code, f"{name} = {expr.format(a=addr)}")
        items.append(name)
        return True

    def lower_store(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        self.ensure(2, depth)
        size, stmt = STORE[name]
        addr = self.take_raw(depth)
        value = self.take(depth)
        check = (f"({addr}) >> 3 in JC or ({addr} + {size - 1}) >> 3 in JC" if size > 1
                 else f"({addr}) >> 3 in JC")
        self.access(depth, addr, size, self.spill(items), stmt.format(a=addr, v=value))
        self.emit(depth, f"if CP[({addr}) >> 12] and ({check}): vm.code_store({addr}, {size})")
        self.stored(addr, size, value if size == 8 else None)
        return True

    def lower_plus_store(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(2, depth)
        addr = self.take_raw(depth)
        value = self.take_raw(depth)
        self.access(depth, addr, 8, self.spill(items),
                    f"P(mem, {addr}, ((U(mem, {addr})[0] + {value} + SB) & M) - SB)")
        self.stored(addr, 8, None)
        self.emit(depth, f"if CP[({addr}) >> 12] and (({addr}) >> 3 in JC or ({addr} + 7) >> 3 in JC): "
                         f"vm.code_store({addr}, 8)")
        return True

    def lower_move(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        count, dest, source = self.take(depth), self.take(depth), self.take(depth)
        spill_code = self.spill(items)
        self.stack.known.clear()
        self.emit(depth, f"if {count}:\n"
                         f"    if {count} < 0 or {source} < 0 or {source} + {count} > MS or {dest} < 0 or {dest} + {count} > MS:\n"
                         f"        {spill_code}\n        raise Throw(-9)\n"
                         f"    mem[{dest}:{dest} + {count}] = mem[{source}:{source} + {count}]\n"
                         f"    if {count} > 4096 or CP[{dest} >> 12] or CP[({dest} + {count} - 1) >> 12]: "
                         f"vm.code_store({dest}, {count})")
        return True

    def lower_pick(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not items or not _is_int(items[-1]) or int(items[-1]) < 0:
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

    def lower_abort_quote(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        length, addr, flag = self.take(depth), self.take(depth), self.take(depth)
        throw = (f"{self.spill(items)}\n"
                 f"P(mem, {L.ABORT_STR}, {addr})\nP(mem, {L.ABORT_LEN}, {length})\n"
                 f"if {length} < 0 or {addr} < 0 or {addr} + {length} > MS: raise Throw(-9)\n"
                 f"raise Throw(-2, bytes(mem[{addr}:{addr} + {length}]).decode('latin-1'))")
        if not _is_int(flag):
            self.emit_if(depth, flag, throw)
        elif int(flag):                  # ABORT" on a literal true: always throws
            self.emit(depth, throw)
        return True

    def lower_string_equal(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(4, depth)
        len2, addr2, len1, addr1 = self.take(depth), self.take(depth), self.take(depth), self.take(depth)
        spill_code = self.spill(items)
        if not self.literal_string(addr2, len2) and self.literal_string(addr1, len1):
            addr1, len1, addr2, len2 = addr2, len2, addr1, len1       # str= is symmetric
        text = self.literal_string(addr2, len2)
        if text:                  # against a string in this code: known, and inside memory
            self.emit(depth, f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS):\n    {spill_code}\n"
                             "    raise Throw(-9)")
            self.result(depth, f"-1 if {len1} == {len(text)} and mem[{addr1}:{addr1} + {len(text)}] == "
                               f"{text!r} else 0", False)
            return True
        if len1 == len2:              # one length (as `2dup ... over str=`)
            self.emit(depth, f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS or {addr2} < 0 or "
                             f"{addr2} + {len1} > MS):\n    {spill_code}\n    raise Throw(-9)")
            self.result(depth, f"-1 if {len1} <= 0 or mem[{addr1}:{addr1} + {len1}] == mem[{addr2}:{addr2} + {len1}] "
                               "else 0", False)
            return True
        self.emit(depth, f"if {len2} > 0 and ({addr2} < 0 or {addr2} + {len2} > MS):\n    {spill_code}\n    raise Throw(-9)\n"
                         f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS):\n    {spill_code}\n    raise Throw(-9)")
        self.result(depth, f"(-1 if {len1} <= 0 and {len2} <= 0 else 0) if {len1} <= 0 or {len2} <= 0 "
                           f"else (-1 if {len1} == {len2} and mem[{addr1}:{addr1} + {len1}] == mem[{addr2}:{addr2} + {len2}] "
                           f"else 0)", False)
        return True

    def lower_to(self, instruction: Instruction, depth: int) -> bool:
        # a VALUE's cell after its code field; CURRENT, CONTEXT, IB and SOURCE-ID store into
        # their system cell, as the threaded DOTO does
        cell = self.vm.sysvalue_xt.get(instruction.arg, instruction.arg + 8)
        value = self.take(depth)
        self.emit(depth, f"P(mem, {cell}, {value})" + self.to_check(instruction.arg))
        self.stored(str(cell), 8, value)
        return True

    def lower_comma(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        size, store = COMMA[name]
        self.ensure(1, depth)
        value = self.take(depth)
        under = self.spill(items + [value])          # it throws before taking its value
        here, new_here = self.reserve(depth, str(size), under)
        self.emit(depth, f"if {here} > MS - {size}:\n    {under}\n    raise Throw(-9)\n"
                         + store.format(d=here, v=value) + "\n"
                         f"if CP[{here} >> 12] and ({here} >> 3 in JC or ({here} + {size - 1}) >> 3 in JC): "
                         f"vm.code_store({here}, {size})")
        self.stack.known.clear()                    # HERE's cell lies below the dictionary
        self.stack.known[L.DP] = new_here
        return True

    def lower_allot(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(1, depth)
        size = self.take(depth)
        self.reserve(depth, size, self.spill(items))
        return True

    def lower_align(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        here = self.here(depth)
        aligned = self.tmp()
        self.emit(depth, f"{aligned} = ({here} + 7) & -8")
        self.reserve(depth, None, self.spill(items), (here, aligned))
        return True

    def lower_cell_read(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        self.read_cell(depth, L.DP if name == "here" else L.CURRENT)
        return True

    def lower_set_current(self, instruction: Instruction, depth: int) -> bool:
        value = self.take(depth)
        self.emit(depth, f"P(mem, {L.CURRENT}, {value})")
        self.stored(str(L.CURRENT), 8, value)
        return True

    def lower_return_stack(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        return self.cached_rs(name, depth)
        return True

    def lower_voc_find(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not (len(items) >= 3 and self.literal_string(items[-3], items[-2])):
            return self.cached_snippet(instruction, depth)
        # a name this code holds: the key is a constant, and the name is inside memory
        key = self.literal_string(items[-3], items[-2]).lower()
        wid = self.take(depth)
        del items[-2:]
        # the snippet's own lookup of the wordlist's table, without its string check
        body = snippet_parts(BUILTINS[instruction.kind - L.PRIM_BASE].code)[1]
        code = "\n".join([f"wid = {wid}"] + [line for line in body if not line.startswith("if n < 0")])
        if items:
            self.emit_guarded(depth, code, "BaseException", self.spill(items))
        else:
            self.emit(depth, code)
        self.result(depth, f"c[1].get({key!r}, 0)", False)
        return True

    def literal_string(self, addr: str, length: str) -> bytes | None:
        """The bytes of a string this definition holds (an S" in its own body), given
        its address and length as literals; None if addr and length are not that."""
        if not (_is_int(addr) and _is_int(length)) or int(length) <= 0:
            return None
        string_start, string_end = int(addr), int(addr) + int(length)
        if not any(start <= string_start < string_end <= end for start, end in self.bodies):
            return None
        return bytes(self.vm.mem[string_start:string_end])

    def to_check(self, xt: int) -> str:
        """What follows TO's store into xt's cell: the check that drops generated code built
        on it. Nothing for a VALUE: no code is built on a VALUE's cell (it is read where used);
        a CONSTANT's value is (it becomes a literal), and TO works on one too."""
        cell = xt + 8
        if U(self.vm.mem, xt)[0] == L.K_VALUE:
            return ""
        return f"\nif CP[{cell >> 12}] and {cell >> 3} in JC: vm.code_store({cell}, 8)"

    def here(self, depth: int) -> str:
        """A name holding HERE (read once, then remembered)."""
        self.read_cell(depth, L.DP)
        return self.stack.items.pop()

    def reserve(self, depth: int, size: str | None, under: str,
                ends: tuple[str, str] | None = None) -> tuple[str, str]:
        """Data space moved on by size bytes, with allot's checks (the stack as under leaves
        it when one throws); ends: HERE and where it goes, already named. Returns those."""
        if ends is None:
            here, new_here = self.here(depth), self.tmp()
            self.emit(depth, f"{new_here} = {here} + {size}")
        else:
            here, new_here = ends
        check = (f"if {new_here} > U(mem, {L.DICT_LIMIT})[0]:\n    {under}\n    raise Throw(-8)\n"
                 f"if {new_here} < {L.DICTIONARY} and not ({L.COMP_BUFFER} <= {new_here} <= {L.COMP_BUFFER_END}):"
                 f"\n    {under}\n    raise Throw(-9)\nP(mem, {L.DP}, {new_here})")
        if ends is not None:            # align: nothing to do when HERE is aligned already
            self.emit_if(depth, f"{new_here} != {here}", check)
        else:
            self.emit(depth, check)
        self.stored(str(L.DP), 8, new_here)
        return here, new_here

    def cached_snippet(self, instruction: Instruction, depth: int) -> bool:
        """A primitive whose snippet pops its inputs first and pushes its results last,
        with the inputs taken from the cached items and the results left cached. The
        items under the inputs go onto the real stack first when the snippet can throw, so
        that it finds the stack as the threaded code leaves it."""
        builtin = BUILTINS[instruction.kind - L.PRIM_BASE]
        if not builtin.inline or builtin.code is None:
            return False
        parts = snippet_parts(builtin.code)
        if parts is None:
            return False
        pops, body, pushes, safe = parts
        args = [self.take(depth) for _ in pops]
        lines = [f"{var} = {arg}{tail}" for (var, tail), arg in zip(pops, args)] + body
        if not safe:
            # results that may throw or store (a call of a helper) are made inside it too
            names = [self.tmp() for _ in pushes]
            lines += [f"{t} = {expr}" for t, expr in zip(names, pushes)]
            pushes = names
        code = "\n".join(lines)
        if not safe:
            if MAY_STORE.search(code):
                self.stack.known.clear()           # it may store anywhere
            if self.stack.items:
                # the items under the inputs go onto the real stack only if it throws
                for v in dict.fromkeys(self.stack.items):
                    self.wrapped(v, depth)
                self.emit_guarded(depth, code, "BaseException", self.spill(self.stack.items))
                code = None
        if code is not None:
            self.emit(depth, code)
        if safe:
            for expr in pushes:
                self.result(depth, expr, False)
        else:
            self.stack.items.extend(pushes)
        return True

    def cached_rs(self, name: str, depth: int) -> bool:
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

    # ------------------------------------------------------------ blocks
    def body(self, depth: int, flush_end: bool = True, tail: bool = False) -> None:
        """Emit the whole definition (a callee being inlined: all but its final EXIT)."""
        hi = len(self.ins) - 1 if self.inline_mode else len(self.ins)
        self.block(read_flow(self.ins, 0, hi, not self.inline_mode), depth, flush_end, tail)

    def block(self, seq: Sequence, depth: int, flush_end: bool = True,
              tail: bool = False) -> None:
        """Emit the nodes of seq. tail: the definition returns right after seq (nothing of it
        runs after this block), so an IF whose arm ends in EXIT can take the rest of the
        block as its ELSE arm."""
        if depth > _MAX_DEPTH:
            raise NotCompilable
        start_len = len(self.lines)
        for place, node in enumerate(seq.items):
            if self.node(node, seq, place, depth, tail):
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

    def node(self, node: Node, seq: Sequence, place: int, depth: int, tail: bool) -> bool:
        """Emit node, the place-th of seq; True when it took the rest of seq too (an IF ...
        EXIT THEN whose ELSE arm the rest became)."""
        if isinstance(node, (Word, Exit)):
            self.mark(node.ins)
            self.simple(node.ins, self.index[node.ins.addr], depth)
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
            return self.branch_node(node, seq, place, depth, tail)
        return False

    def branch_node(self, node: Node, seq: Sequence, place: int, depth: int,
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
                self.simple(node.dup, self.index[node.dup.addr], depth)
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

    # Control structures are emitted one of two ways. Kept: the cached stack items stay in
    # locals through the structure; at the end of each IF arm, at every loop edge and exit
    # they are copied into the same names, so the code after the structure knows where each
    # item is. That is only possible when the structure leaves the real stack alone (no
    # call, no word that needs the items on the real stack) and its arms or passes end with
    # as many items as they began with; otherwise the attempt is undone and the structure is
    # emitted flushed: the cached items go onto the real stack first, as before.
    def snapshot(self) -> "_Snapshot":
        """What rollback() needs to undo an attempt at a kept structure."""
        return _Snapshot(self.stack.copy(), self.rs_depth, len(self.lines), self.lines[-1:],
                         len(self.deps), dict(self.consts))

    def rollback(self, snap: "_Snapshot") -> None:
        """Back to where snapshot() was taken: the lines emitted since dropped (the last one
        before put back: test() may have taken it), the cached items and counts restored."""
        del self.lines[snap.line_count - len(snap.last_line):]
        self.lines.extend(snap.last_line)
        self.stack.restore(snap.stack, keep_known=False)
        self.rs_depth = snap.rs_depth
        del self.deps[snap.dep_count:]
        self.consts.clear()
        self.consts.update(snap.consts)

    def assign(self, depth: int, names: list[str], values: list[str], wrap: bool = True) -> None:
        """names = values, all at once (a value may be one of the names); the values
        wrapped to 64 bits first unless wrap is False."""
        pairs = [(name, value) for name, value in zip(names, values) if name != value]
        if wrap:
            for _, value in pairs:
                self.wrapped(value, depth)
        if pairs:
            self.emit(depth, ", ".join(name for name, _ in pairs) + " = " + ", ".join(value for _, value in pairs))

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
            raise _Unclean
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

    def unkeep(self, pos: int, snap: tuple) -> bool:
        """The structure at pos cannot be kept: undo the attempt, never try again. False."""
        self.keep_failed.add(pos)
        self.rollback(snap)
        return False

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
            self.emit(depth, _pop_into(names))
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

    def end_kept_pass(self, names: list[str], depth: int, touch: int, rs_depth: int) -> None:
        if self.stack.touch != touch or self.rs_depth != rs_depth or len(self.stack.items) != len(names):
            raise _Unclean
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
                                 f"    return RT({self.ins[first].addr}, 0)\n" + _pop_into(names))
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
        except _Unclean:
            reached = self.stack.pops - pops
            self.rollback(snap)
            if not pull and reached > 0 and self.can_resume_threaded():
                return self.begin_loop_kept(node, first, close, depth, reached)
            return self.unkeep(first, snap)
        self.after_kept_loop(loop, check)
        return True

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
                         f"    return RT({resume}, 0)\n" + _pop_into(names))
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
        except _Unclean:
            reached = self.stack.pops - pops
            self.rollback(snap)
            if not pull and reached > 0 and self.can_resume_threaded():
                return self.do_loop_kept(node, start, end, depth, reached)
            return self.unkeep(start, snap)
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
        except (NotCompilable, _Unclean):
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
            self.emit(depth + 1, _pop_into(names))
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
        sub = Emitter(vm, code, parent=self)
        try:
            # a call checks the data stack on entry; so does the inlined body, unless the
            # stack cannot have grown since the last check
            if self.stack.since_check is None or self.stack.since_check > 0:
                self.overflow_check(depth)
                self.stack.since_check = 0
            sub.body(depth, flush_end=False, tail=True)
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

    def innermost_do(self) -> int:
        for distance, loop in enumerate(reversed(self.loops)):
            if loop.kind == "do":
                if distance != 0:
                    return -2       # a BEGIN loop sits inside the DO loop
                return self.do_depth - 1
        return -1

    def simple(self, instruction: Instruction, pos: int, depth: int) -> None:
        """One instruction that is not control flow (pos: its index): on the cached items where
        it can be (cached), else on the real stack: a primitive (flushed_primitive) or any
        other word (flushed_word)."""
        before, pops = len(self.stack.items), self.stack.pops
        if self.cached(instruction, depth):
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

# primitive name -> the Emitter method that lowers it onto cached items
_LOWERINGS: dict = {}
_LOWERINGS.update(dict.fromkeys(("lit",), Emitter.lower_literal))
_LOWERINGS.update(dict.fromkeys(("(sliteral)",), Emitter.lower_string_literal))
_LOWERINGS.update(dict.fromkeys(("true", "false",), Emitter.lower_flag))
_LOWERINGS.update(dict.fromkeys(("i", "j",), Emitter.lower_loop_index))
_LOWERINGS.update(dict.fromkeys(BINARY, Emitter.lower_binary))
_LOWERINGS.update(dict.fromkeys(UNARY, Emitter.lower_unary))
_LOWERINGS.update(dict.fromkeys(("dup",), Emitter.lower_dup))
_LOWERINGS.update(dict.fromkeys(("drop",), Emitter.lower_drop))
_LOWERINGS.update(dict.fromkeys(SHUFFLE, Emitter.lower_shuffle))
_LOWERINGS.update(dict.fromkeys(("/string",), Emitter.lower_slash_string))
_LOWERINGS.update(dict.fromkeys(DIVISION, Emitter.lower_division))
_LOWERINGS.update(dict.fromkeys(("between", "within",), Emitter.lower_range_test))
_LOWERINGS.update(dict.fromkeys(FETCH, Emitter.lower_fetch))
_LOWERINGS.update(dict.fromkeys(STORE, Emitter.lower_store))
_LOWERINGS.update(dict.fromkeys(("+!",), Emitter.lower_plus_store))
_LOWERINGS.update(dict.fromkeys(("move",), Emitter.lower_move))
_LOWERINGS.update(dict.fromkeys(("pick",), Emitter.lower_pick))
_LOWERINGS.update(dict.fromkeys(("(abort\")",), Emitter.lower_abort_quote))
_LOWERINGS.update(dict.fromkeys(("str=",), Emitter.lower_string_equal))
_LOWERINGS.update(dict.fromkeys(("(to)",), Emitter.lower_to))
_LOWERINGS.update(dict.fromkeys(COMMA, Emitter.lower_comma))
_LOWERINGS.update(dict.fromkeys(("allot",), Emitter.lower_allot))
_LOWERINGS.update(dict.fromkeys(("align",), Emitter.lower_align))
_LOWERINGS.update(dict.fromkeys(("here", "get-current",), Emitter.lower_cell_read))
_LOWERINGS.update(dict.fromkeys(("set-current",), Emitter.lower_set_current))
_LOWERINGS.update(dict.fromkeys((*RS_PUSH, *RS_POP, *RS_PEEK,), Emitter.lower_return_stack))
_LOWERINGS.update(dict.fromkeys(("voc-find",), Emitter.lower_voc_find))
