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


def _is_int(x: str) -> bool:
    return x.lstrip("-").isdigit()



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
        self.index = {x.addr: i for i, x in enumerate(ins)}
        self.index[ins[-1].addr + 8] = len(ins)   # just past the final EXIT
        self.loops: list[Loop] = []     # the loops around the point being emitted
        self.keep_failed: set[int] = set()   # structures that could not be kept
        self.throw_failed: set[int] = set()  # IFs whose arm was found to come back
        self.cold_failed: set[int] = set()   # IFs whose arm could not be run flushed (if_cold)
        self.do_depth = 0
        self.back_edges: dict[int, int] = {}
        for i, x in enumerate(ins):
            if x.name in ("branch", "0branch") and x.arg <= x.addr:
                t = self.target(x.arg)
                self.back_edges[t] = max(self.back_edges.get(t, -1), i)
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

    def is_end(self, t: int) -> bool:
        """Is instruction index t where the definition returns (its final EXIT, or past
        it)? Not its final (does>), which still has to run."""
        end = len(self.ins) - 1
        return t == end + 1 or (t == end and self.ins[end].name == "exit")

    def jumps_to(self, lo: int, hi: int, t: int) -> bool:
        """Does a branch among instructions lo..hi-1 go to t or beyond?"""
        return any(x.name in ("branch", "0branch") and self.target(x.arg) >= t
                   for x in self.ins[lo:hi])

    def target(self, addr: int) -> int:
        i = self.index.get(addr)
        if i is None:
            raise NotCompilable
        return i

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
        for v in dict.fromkeys(items):
            self.wrapped(v, depth)
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

    def side(self, a: str, step: int) -> str | None:
        """The side a + step can leave 64 bits on, when only one: "hi" or "lo"."""
        side = "hi" if step > 0 else "lo"
        if a not in self.stack.unwrapped or self.wrap_side.get(a) == side:
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
        t = self.tmp()
        self.emit(depth, f"{t} = s.pop()")
        self.stack.pops += 1
        self.stack.touch += 1
        return t

    def ensure(self, k: int, depth: int) -> None:
        """At least k items cached: the missing ones popped off the real stack, the top one
        first. Only for words that pop all k inputs before anything else can fail: then an
        underflow leaves the stack empty, as the threaded word leaves it."""
        items = self.stack.items
        while len(items) < k:
            t = self.tmp()
            self.emit(depth, f"{t} = s.pop()")
            self.stack.pops += 1
            self.stack.touch += 1
            items.insert(0, t)

    def read_missing(self, k: int, depth: int) -> None:
        """At least k items cached: the missing ones read off the real stack, the deepest
        first, and only then taken off it; an underflow leaves the real stack as it was,
        with the cached items put onto it."""
        missing = k - len(self.stack.items)
        if missing <= 0:
            return
        names = [self.tmp() for _ in range(missing)]
        reads = "\n".join(f"{name} = s[-{missing - i}]" for i, name in enumerate(names))
        self.emit(depth, self.read_real(f"{reads}\ndel s[-{missing}:]"))
        self.stack.pops += missing
        self.stack.touch += 1
        self.stack.items[:0] = names

    def result(self, depth: int, expr: str, wrap: bool, inputs: tuple[str, ...] = ()) -> None:
        if inputs and all(_is_int(i) for i in inputs):
            # literals only: the result is a literal too
            v = eval(expr, {"SB": SB, "M": M})  # noqa: S307 - an expression made above
            self.stack.items.append(str(((v + SB) & M) - SB if wrap else v))
            return
        t = self.tmp()
        if expr.startswith("-1 if ") and expr.endswith(" else 0"):
            self.emit(depth, f"{t} = {expr}", statements.FLAG, (t, expr[6:-7]))
        else:
            self.emit(depth, f"{t} = {expr}")
        if wrap:
            self.stack.unwrapped[t] = depth
        self.stack.items.append(t)

    def access(self, depth: int, a: str, size: int, spill: str, stmt: str) -> None:
        """stmt, a memory access of size bytes at a, with its -9 check (spill puts the real
        stack as the throw must leave it); no check when a is a literal inside memory. The
        access itself tells an address past the end (OUTSIDE), so only the sign is tested."""
        if _is_int(a) and 0 <= int(a) <= self.vm.size - size:
            self.emit(depth, stmt)
            return
        made = self.stack.unwrapped.get(a)
        if made is None:
            sign = f"if {a} < 0: raise IndexError"
        else:       # inside memory means inside 64 bits: wrap only when the address is outside
            sign = (f"if {a} < 0:\n    {a} = (({a} + SB) & M) - SB\n"
                    f"    if {a} < 0: raise IndexError")
            if made == depth:
                del self.stack.unwrapped[a]
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

    def stored(self, a: str, size: int, v: str | None) -> None:
        """Note a store of size bytes at a (v: the 8-byte value stored, if known)."""
        known = self.stack.known
        if not _is_int(a):
            known.clear()
            return
        lo = int(a)
        for k in [k for k in known if k < lo + size and lo < k + 8]:
            del known[k]
        if v is not None:
            known[lo] = v

    def read_real(self, reads: str) -> str:
        """reads (assignments from the real stack, the deepest first) made to throw stack
        underflow with the cached items put onto the real stack: reading the deepest item
        is the check (a try costs nothing in Python 3.11 until it catches)."""
        if not self.stack.items:
            return reads
        return ("try:\n    " + reads.replace("\n", "\n    ")
                + f"\nexcept IndexError:\n    {self.spill(self.stack.items)}\n    raise")

    def cond(self, depth: int) -> str:
        """A flag for a branch: the cached top item, the rest pushed; or s.pop()."""
        if self.stack.items:
            c = self.test(self.take(depth), depth)
            self.flush(depth)
            return c
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

    def binary(self, depth: int, n: str) -> None:
        """A primitive of BINARY on the two cached top items (taken off by ensure first)."""
        expr, wrap = BINARY[n]
        side = None
        if n in MODULAR:
            b = self.take_raw(depth)
            a = self.take_raw(depth)
            wrap = wrap or a in self.stack.unwrapped or b in self.stack.unwrapped
            if n == "and" and (_is_int(a) and int(a) >= 0 or _is_int(b) and int(b) >= 0):
                wrap = False            # masked by a non-negative literal: in range
            elif n in ("+", "-") and _is_int(b) and int(b):
                side = self.side(a, int(b) if n == "+" else -int(b))
            elif n == "+" and _is_int(a) and int(a):
                side = self.side(b, int(a))
        else:
            b = self.take(depth)
            a = self.take(depth)
        self.result(depth, expr.format(a=a, b=b), wrap, (a, b))
        if side is not None and self.stack.items[-1] in self.stack.unwrapped:
            self.wrap_side[self.stack.items[-1]] = side

    def cached(self, x: Instruction, depth: int) -> bool:
        """Carry out x on the cached stack top if it is one of the words that can be; True
        if done. Each kind of primitive has its lowering (_LOWERINGS); any other snippet
        that pops its inputs and pushes its results is inlined on cached items."""
        if x.name is None:
            return self.cached_word(x, depth)
        lowering = _LOWERINGS.get(x.name)
        if lowering is None:
            return self.cached_snippet(x, depth)
        return lowering(self, x, depth)

    def cached_word(self, x: Instruction, depth: int) -> bool:
        """A variable, constant, buffer, value, CREATEd word or FIELD on the cached stack top;
        True if done."""
        items = self.stack.items
        k = x.kind
        if k == L.K_VARIABLE:
            items.append(str(x.xt + 8))
        elif k in (L.K_CONSTANT, L.K_BUFFER):
            # the value as a literal: a store into the constant's cell drops this code
            items.append(str(U(self.vm.mem, x.xt + 8)[0]))
            self.deps.append((x.xt + 8, x.xt + 16))
        elif k == L.K_VALUE:
            self.read_cell(depth, x.xt + 8)
        elif k == L.K_CREATE:
            does = U(self.vm.mem, x.xt + 8)[0]
            if does == 0:
                items.append(str(x.xt + 16))
            elif does == self.vm.field_does:
                # a FIELD: its offset as a literal (a store into it drops this code)
                off = U(self.vm.mem, x.xt + 16)[0]
                self.deps.append((x.xt + 16, x.xt + 24))
                self.ensure(1, depth)
                if off:
                    items.append(str(off))
                    self.binary(depth, "+")
            else:
                return False
        else:
            return False
        return True

    def lower_literal(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        items.append(str(x.arg))
        return True

    def lower_string_literal(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        items.extend((str(x.arg[0]), str(x.arg[1])))
        return True

    def lower_flag(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        items.append("-1" if n == "true" else "0")
        return True

    def lower_loop_index(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        d = self.innermost_do()
        if d < 0 or (n == "j" and self.do_depth < 2):
            return False
        items.append(f"_i{d}" if n == "i" else f"_i{self.do_depth - 2}")
        return True

    def lower_binary(self, x: Instruction, depth: int) -> bool:
        n = x.name
        self.binary(depth, n)
        return True

    def lower_unary(self, x: Instruction, depth: int) -> bool:
        n = x.name
        expr, wrap = UNARY[n]
        side = None
        if n in MODULAR:
            a = self.take_raw(depth)
            wrap = wrap or a in self.stack.unwrapped
            step = _STEP.fullmatch(expr)
            if step:
                side = self.side(a, int(step.group(2)) * (1 if step.group(1) == "+" else -1))
        else:
            a = self.take(depth)
        self.result(depth, expr.format(a=a), wrap, (a,))
        if side is not None and self.stack.items[-1] in self.stack.unwrapped:
            self.wrap_side[self.stack.items[-1]] = side
        return True

    def lower_dup(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        if items:
            items.append(items[-1])
        else:
            t = self.tmp()
            self.emit(depth, f"{t} = s[-1]")
            items.append(t)
        return True

    def lower_drop(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not items:
            return False
        items.pop()
        return True

    def lower_shuffle(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        k, out = SHUFFLE[n]
        if len(items) < k:
            # the missing inputs are the deepest ones, on the real stack; the threaded
            # shuffle throws before changing anything when they are not there, and so
            # does this. Inputs the shuffle leaves where they are (the bottom of over,
            # 2dup, 2over) are only read; the others come off the stack.
            pull = k - len(items)
            names = [self.tmp() for _ in range(pull)]
            stay = tuple(out[:pull]) == tuple(range(pull))
            # (with nothing cached, reading the deepest one first is the check)
            self.emit(depth, self.read_real("\n".join(f"{t} = s[{i - pull}]"
                                                        for i, t in enumerate(names)))
                             + ("" if stay else f"\ndel s[-{pull}:]"))
            if not stay:
                self.stack.pops += pull
                self.stack.touch += 1
            ins = names + items
            items.clear()
            items.extend(ins[i] for i in (out[pull:] if stay else out))
        else:
            ins = items[-k:]
            del items[-k:]
            items.extend(ins[i] for i in out)
        return True

    def lower_slash_string(self, x: Instruction, depth: int) -> bool:
        """( a n k -- a+k n-k ), unwrapped as the threaded code leaves it."""
        # the threaded word pops k, then finds a and n in place: an underflow there
        # leaves the stack without k (read_real puts back what is cached under k)
        k = self.take(depth)
        self.read_missing(2, depth)
        ln, a = self.take(depth), self.take(depth)
        self.result(depth, f"{a} + {k}", False, (a, k))
        self.result(depth, f"{ln} - {k}", False, (ln, k))
        return True

    def lower_division(self, x: Instruction, depth: int) -> bool:
        """/ MOD: the divisor, its zero check, then the dividend (as the snippet does)."""
        n = x.name
        items = self.stack.items
        divisor = self.take(depth)
        if not (_is_int(divisor) and int(divisor)):
            self.emit(depth, f"if {divisor} == 0:\n    {self.spill(items)}\n    raise Throw(-10)")
        dividend = self.take(depth)
        expr, wrap = DIVISION[n]
        self.result(depth, expr.format(a=dividend, b=divisor), wrap)
        return True

    def lower_range_test(self, x: Instruction, depth: int) -> bool:
        n = x.name
        self.ensure(3, depth)
        h, lo, v = self.take(depth), self.take(depth), self.take(depth)
        expr = (f"-1 if {lo} <= {v} <= {h} else 0" if n == "between"
                else f"-1 if (({v} - {lo}) & M) < (({h} - {lo}) & M) else 0")
        self.result(depth, expr, False)
        return True

    def lower_fetch(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        self.ensure(1, depth)
        size, expr = FETCH[n]
        a = items[-1]
        if size == 8 and _is_int(a) and 0 <= int(a) <= self.vm.size - 8:
            items.pop()
            self.read_cell(depth, int(a))
            return True
        sp = self.spill(items)
        items.pop()
        t = self.tmp()
        self.access(depth, a, size, sp, f"{t} = {expr.format(a=a)}")
        items.append(t)
        return True

    def lower_store(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        self.ensure(2, depth)
        size, stmt = STORE[n]
        a = self.take_raw(depth)
        v = self.take(depth)
        check = (f"({a}) >> 3 in JC or ({a} + {size - 1}) >> 3 in JC" if size > 1
                 else f"({a}) >> 3 in JC")
        self.access(depth, a, size, self.spill(items), stmt.format(a=a, v=v))
        self.emit(depth, f"if CP[({a}) >> 12] and ({check}): vm.code_store({a}, {size})")
        self.stored(a, size, v if size == 8 else None)
        return True

    def lower_plus_store(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(2, depth)
        a = self.take_raw(depth)
        v = self.take_raw(depth)
        self.access(depth, a, 8, self.spill(items),
                    f"P(mem, {a}, ((U(mem, {a})[0] + {v} + SB) & M) - SB)")
        self.stored(a, 8, None)
        self.emit(depth, f"if CP[({a}) >> 12] and (({a}) >> 3 in JC or ({a} + 7) >> 3 in JC): "
                         f"vm.code_store({a}, 8)")
        return True

    def lower_move(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        c, d, a = self.take(depth), self.take(depth), self.take(depth)
        sp = self.spill(items)
        self.stack.known.clear()
        self.emit(depth, f"if {c}:\n"
                         f"    if {c} < 0 or {a} < 0 or {a} + {c} > MS or {d} < 0 or {d} + {c} > MS:\n"
                         f"        {sp}\n        raise Throw(-9)\n"
                         f"    mem[{d}:{d} + {c}] = mem[{a}:{a} + {c}]\n"
                         f"    if {c} > 4096 or CP[{d} >> 12] or CP[({d} + {c} - 1) >> 12]: "
                         f"vm.code_store({d}, {c})")
        return True

    def lower_pick(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not items or not _is_int(items[-1]) or int(items[-1]) < 0:
            return False
        k = int(items.pop())
        if k < len(items):
            items.append(items[-1 - k])
        else:
            below = k - len(items) + 1          # how deep into the real stack
            t = self.tmp()
            self.emit(depth, self.read_real(f"{t} = s[-{below}]"))
            items.append(t)
        return True

    def lower_abort_quote(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        ln, a, flag = self.take(depth), self.take(depth), self.take(depth)
        throw = (f"{self.spill(items)}\n"
                 f"P(mem, {L.ABORT_STR}, {a})\nP(mem, {L.ABORT_LEN}, {ln})\n"
                 f"if {ln} < 0 or {a} < 0 or {a} + {ln} > MS: raise Throw(-9)\n"
                 f"raise Throw(-2, bytes(mem[{a}:{a} + {ln}]).decode('latin-1'))")
        if not _is_int(flag):
            self.emit(depth, f"if {flag}:\n    " + throw.replace("\n", "\n    "))
        elif int(flag):                  # ABORT" on a literal true: always throws
            self.emit(depth, throw)
        return True

    def lower_string_equal(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(4, depth)
        m_, b, n_, a = self.take(depth), self.take(depth), self.take(depth), self.take(depth)
        sp = self.spill(items)
        if not self.literal_string(b, m_) and self.literal_string(a, n_):
            a, n_, b, m_ = b, m_, a, n_       # str= is symmetric
        text = self.literal_string(b, m_)
        if text:                  # against a string in this code: known, and inside memory
            self.emit(depth, f"if {n_} > 0 and ({a} < 0 or {a} + {n_} > MS):\n    {sp}\n"
                             "    raise Throw(-9)")
            self.result(depth, f"-1 if {n_} == {len(text)} and mem[{a}:{a} + {len(text)}] == "
                               f"{text!r} else 0", False)
            return True
        if n_ == m_:              # one length (as `2dup ... over str=`)
            self.emit(depth, f"if {n_} > 0 and ({a} < 0 or {a} + {n_} > MS or {b} < 0 or "
                             f"{b} + {n_} > MS):\n    {sp}\n    raise Throw(-9)")
            self.result(depth, f"-1 if {n_} <= 0 or mem[{a}:{a} + {n_}] == mem[{b}:{b} + {n_}] "
                               "else 0", False)
            return True
        self.emit(depth, f"if {m_} > 0 and ({b} < 0 or {b} + {m_} > MS):\n    {sp}\n    raise Throw(-9)\n"
                         f"if {n_} > 0 and ({a} < 0 or {a} + {n_} > MS):\n    {sp}\n    raise Throw(-9)")
        self.result(depth, f"(-1 if {n_} <= 0 and {m_} <= 0 else 0) if {n_} <= 0 or {m_} <= 0 "
                           f"else (-1 if {n_} == {m_} and mem[{a}:{a} + {n_}] == mem[{b}:{b} + {m_}] "
                           f"else 0)", False)
        return True

    def lower_to(self, x: Instruction, depth: int) -> bool:
        # a VALUE's cell after its code field; CURRENT, CONTEXT, IB and SOURCE-ID store into
        # their system cell, as the threaded DOTO does
        t = self.vm.sysvalue_xt.get(x.arg, x.arg + 8)
        v = self.take(depth)
        self.emit(depth, f"P(mem, {t}, {v})" + self.to_check(x.arg))
        self.stored(str(t), 8, v)
        return True

    def lower_comma(self, x: Instruction, depth: int) -> bool:
        n = x.name
        items = self.stack.items
        size, store = COMMA[n]
        self.ensure(1, depth)
        v = self.take(depth)
        under = self.spill(items + [v])          # it throws before taking its value
        d, e = self.reserve(depth, str(size), under)
        self.emit(depth, f"if {d} > MS - {size}:\n    {under}\n    raise Throw(-9)\n"
                         + store.format(d=d, v=v) + "\n"
                         f"if CP[{d} >> 12] and ({d} >> 3 in JC or ({d} + {size - 1}) >> 3 in JC): "
                         f"vm.code_store({d}, {size})")
        self.stack.known.clear()                    # HERE's cell lies below the dictionary
        self.stack.known[L.DP] = e
        return True

    def lower_allot(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(1, depth)
        size = self.take(depth)
        self.reserve(depth, size, self.spill(items))
        return True

    def lower_align(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        d = self.here(depth)
        e = self.tmp()
        self.emit(depth, f"{e} = ({d} + 7) & -8")
        self.reserve(depth, None, self.spill(items), (d, e))
        return True

    def lower_cell_read(self, x: Instruction, depth: int) -> bool:
        n = x.name
        self.read_cell(depth, L.DP if n == "here" else L.CURRENT)
        return True

    def lower_set_current(self, x: Instruction, depth: int) -> bool:
        v = self.take(depth)
        self.emit(depth, f"P(mem, {L.CURRENT}, {v})")
        self.stored(str(L.CURRENT), 8, v)
        return True

    def lower_return_stack(self, x: Instruction, depth: int) -> bool:
        n = x.name
        return self.cached_rs(n, depth)
        return True

    def lower_voc_find(self, x: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not (len(items) >= 3 and self.literal_string(items[-3], items[-2])):
            return self.cached_snippet(x, depth)
        # a name this code holds: the key is a constant, and the name is inside memory
        key = self.literal_string(items[-3], items[-2]).lower()
        wid = self.take(depth)
        del items[-2:]
        # the snippet's own lookup of the wordlist's table, without its string check
        body = snippet_parts(BUILTINS[x.kind - L.PRIM_BASE].code)[1]
        code = "\n".join([f"wid = {wid}"] + [ln for ln in body if not ln.startswith("if n < 0")])
        if items:
            code = ("try:\n    " + code.replace("\n", "\n    ")
                    + f"\nexcept BaseException:\n    {self.spill(items)}\n    raise")
        self.emit(depth, code)
        self.result(depth, f"c[1].get({key!r}, 0)", False)
        return True

    def literal_string(self, a: str, n: str) -> bytes | None:
        """The bytes of a string this definition holds (an S" in its own body), given
        its address and length as literals; None if a and n are not that."""
        if not (_is_int(a) and _is_int(n)) or int(n) <= 0:
            return None
        lo, hi = int(a), int(a) + int(n)
        if not any(start <= lo < hi <= end for start, end in self.bodies):
            return None
        return bytes(self.vm.mem[lo:hi])

    def to_check(self, xt: int) -> str:
        """What follows TO's store into xt's cell: the check that drops generated code built
        on it. Nothing for a VALUE: no code is built on a VALUE's cell (it is read where used);
        a CONSTANT's value is (it becomes a literal), and TO works on one too."""
        t = xt + 8
        if U(self.vm.mem, xt)[0] == L.K_VALUE:
            return ""
        return f"\nif CP[{t >> 12}] and {t >> 3} in JC: vm.code_store({t}, 8)"

    def here(self, depth: int) -> str:
        """A name holding HERE (read once, then remembered)."""
        self.read_cell(depth, L.DP)
        return self.stack.items.pop()

    def reserve(self, depth: int, size: str | None, under: str,
                ends: tuple[str, str] | None = None) -> tuple[str, str]:
        """Data space moved on by size bytes, with allot's checks (the stack as under leaves
        it when one throws); ends: HERE and where it goes, already named. Returns those."""
        if ends is None:
            d, e = self.here(depth), self.tmp()
            self.emit(depth, f"{e} = {d} + {size}")
        else:
            d, e = ends
        check = (f"if {e} > U(mem, {L.DICT_LIMIT})[0]:\n    {under}\n    raise Throw(-8)\n"
                 f"if {e} < {L.DICTIONARY} and not ({L.COMP_BUFFER} <= {e} <= {L.COMP_BUFFER_END}):"
                 f"\n    {under}\n    raise Throw(-9)\nP(mem, {L.DP}, {e})")
        if ends is not None:            # align: nothing to do when HERE is aligned already
            check = f"if {e} != {d}:\n    " + check.replace("\n", "\n    ")
        self.emit(depth, check)
        self.stored(str(L.DP), 8, e)
        return d, e

    def cached_snippet(self, x: Instruction, depth: int) -> bool:
        """A primitive whose snippet pops its inputs first and pushes its results last,
        with the inputs taken from the cached items and the results left cached. The
        items under the inputs go onto the real stack first when the snippet can throw, so
        that it finds the stack as the threaded code leaves it."""
        b = BUILTINS[x.kind - L.PRIM_BASE]
        if not b.inline or b.code is None:
            return False
        parts = snippet_parts(b.code)
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
                code = ("try:\n    " + code.replace("\n", "\n    ")
                        + f"\nexcept BaseException:\n    {self.spill(self.stack.items)}\n    raise")
        self.emit(depth, code)
        if safe:
            for expr in pushes:
                self.result(depth, expr, False)
        else:
            self.stack.items.extend(pushes)
        return True

    def cached_rs(self, n: str, depth: int) -> bool:
        """>r r> r@ rdrop 2>r 2r> 2r@ on the cached stack top. The return stack is the real
        one; its underflow check stays, with the data stack put right before the throw."""
        items, return_items = self.stack.items, self.stack.return_items
        self.rs_depth += RS_PUSH.get(n, 0) - RS_POP.get(n, 0)
        if self.rs_depth < 0 or (n in RS_PEEK and self.rs_depth < RS_PEEK[n]):
            raise NotCompilable
        if n in RS_PUSH:                # onto the cached return-stack items: no code
            self.ensure(RS_PUSH[n], depth)
            items = [self.take(depth) for _ in range(RS_PUSH[n])]
            return_items.extend(reversed(items))
            return True
        k = RS_POP.get(n) or RS_PEEK[n]
        if len(return_items) >= k:
            if n != "rdrop":
                items.extend(return_items[-k:])
            if n not in RS_PEEK:
                del return_items[-k:]
            return True
        self.flush_rs(depth)
        # no underflow check: the code pushed what it takes (analysis.return_stack_unbalanced, rs_depth)
        if n == "rdrop":
            self.emit(depth, "rs.pop()")
        elif n == "r>":
            self.result(depth, "rs.pop()", False)
        elif n == "r@":
            self.result(depth, "rs[-1]", False)
        else:
            self.result(depth, "rs[-2]", False)
            self.result(depth, "rs[-1]", False)
            if n == "2r>":
                self.emit(depth, "del rs[-2:]")
        return True

    # ------------------------------------------------------------ blocks
    def block(self, lo: int, hi: int, depth: int, flush_end: bool = True,
              tail: bool = False) -> None:
        """Emit instructions lo..hi-1. tail: the definition returns right after hi (nothing
        of it runs after this block), so an IF whose arm ends in EXIT can take the rest of
        the block as its ELSE arm."""
        if depth > _MAX_DEPTH:
            raise NotCompilable
        start_len = len(self.lines)
        p = lo
        while p < hi:
            x = self.ins[p]
            self.lines.marks.append(len(self.lines) << MARK_SHIFT | self.site << 32 | x.addr)
            n = x.name
            if p in self.back_edges and self.back_edges[p] < hi and \
                    not self.walking_body_of(p):
                p = self.begin_loop(p, depth)
                continue
            dup = None
            if (n == "?dup" and self.stack.items and p + 1 < hi and self.ins[p + 1].name == "0branch"
                    and p + 1 not in self.back_edges and self.target(self.ins[p + 1].arg) > p + 1):
                # ?dup IF / ?dup WHILE: the item is the flag, and stays only where the
                # branch is not taken
                dup = self.take(depth)
                p += 1
                x, n = self.ins[p], "0branch"
            if n == "0branch":
                p = self.conditional_branch(p, hi, depth, dup, tail)
            elif n == "branch":
                self.unconditional_branch(x, depth)
                p += 1
            elif n in ("(do)", "(?do)"):
                p = self.do_loop(p, depth)
            else:
                self.simple(x, p, depth)
                p += 1
        if not flush_end:
            return
        self.flush(depth)
        self.flush_rs(depth)
        if len(self.lines) == start_len:
            self.emit(depth, "pass")

    def walking_body_of(self, head: int) -> bool:
        """Is the innermost loop the BEGIN loop whose first instruction is head (so that
        head, met again, starts its body rather than a new loop)?"""
        loop = self.loops[-1] if self.loops else None
        return loop is not None and loop.kind == "begin" and loop.head == head \
            and loop.end == self.back_edges[head] + 1

    def begin_loop(self, p: int, depth: int) -> int:
        """The BEGIN loop starting at p, kept if it can be; the index after it."""
        q = self.back_edges[p]
        self.flush_rs(depth)
        if not self.begin_loop_kept(p, q, depth):
            self.begin_loop_flushed(p, q, depth)
        return q + 1

    def do_loop(self, p: int, depth: int) -> int:
        """The DO loop starting at p, kept if it can be; the index after it."""
        self.flush_rs(depth)
        e = self.target(self.ins[p].arg)
        closing = self.ins[e - 1]
        if closing.name not in ("(loop)", "(+loop)") or self.target(closing.arg) != p + 1:
            raise NotCompilable
        if not self.do_loop_kept(p, e, depth):
            self.do_loop_flushed(p, e, depth)
        return e

    def conditional_branch(self, p: int, hi: int, depth: int, dup: str | None,
                           tail: bool) -> int:
        """The 0branch at p: a WHILE (or ?LEAVE-like exit) of the loop around, a return,
        or an IF; the index after what it covers. dup: the flag of ?DUP IF."""
        t = self.target(self.ins[p].arg)
        if t <= p:
            raise NotCompilable
        loop = self.loops[-1] if self.loops else None
        if loop is not None and t == loop.end:
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
            return p + 1
        if self.is_end(t) and not self.inline_mode:
            self.put(depth, f"if not {dup or self.cond(depth)}: return")
            if dup:
                self.stack.items.append(dup)
                self.stack.since_check = None
            return p + 1
        if t > hi:
            raise NotCompilable
        return self.if_structure(p, t, hi, depth, dup, tail)

    def if_structure(self, p: int, t: int, hi: int, depth: int, dup: str | None,
                     tail: bool) -> int:
        """IF (the 0branch at p) ... THEN (t), or with an ELSE: emitted by the first
        strategy that can (an arm that always throws, kept, cold, flushed); the index after
        it."""
        before = self.ins[t - 1] if t - 1 > p else None
        t2 = None
        if before is not None and before.name == "branch" and before.arg > before.addr:
            t2 = self.target(before.arg)
            if not t < t2 <= hi:
                t2 = None
        elif tail and before is not None and before.name == "exit" and \
                not self.loops and not self.jumps_to(p + 1, t - 1, t):
            # IF ... EXIT THEN rest: IF ... ELSE rest THEN, both arms ending where the
            # definition returns
            t2 = hi
        arms_tail = tail and (t if t2 is None else t2) == hi
        if (t2 is not None or not self.if_throws(p, t, depth, dup)) and \
                not self.if_kept(p, t, t2, depth, dup, arms_tail):
            self.flush_rs(depth)
            if t2 is not None or not self.if_cold(p, t, depth, dup):
                self.if_flushed(p, t, t2, depth, dup, arms_tail)
        return t if t2 is None else t2

    def unconditional_branch(self, x: Instruction, depth: int) -> None:
        """A branch: out of the loop around (LEAVE's way, REPEAT's exit), a return, or back
        to the BEGIN of the loop around (a second REPEAT, say)."""
        self.flush_rs(depth)
        t = self.target(x.arg)
        loop = self.loops[-1] if self.loops else None
        if loop is not None and t == loop.end:
            if loop.kept:
                self.leave_kept(loop, depth)
            else:
                self.put(depth, "break")
        elif self.is_end(t) and not self.inline_mode:
            self.put(depth, "return")
        elif loop is not None and loop.kind == "begin" and t == loop.head:
            if loop.kept:
                self.to_loop_state(loop.names, depth, "continue")
            else:
                self.put(depth, "continue")
        else:
            raise NotCompilable

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
        pairs = [(a, b) for a, b in zip(names, values) if a != b]
        if wrap:
            for _, b in pairs:
                self.wrapped(b, depth)
        if pairs:
            self.emit(depth, ", ".join(a for a, _ in pairs) + " = " + ", ".join(b for _, b in pairs))

    def cond_kept(self, depth: int, now: bool = True) -> str:
        """The flag on top, taken off without flushing the items under it; now: tested
        right away (not after the loop's names are assigned)."""
        c = self.take(depth)
        if now:
            return self.test(c, depth)
        if c in self.loop_names:
            t = self.tmp()
            self.emit(depth, f"{t} = {c}")
            c = t
        return c

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

    def unkeep(self, p: int, snap: tuple) -> bool:
        """The structure at p cannot be kept: undo the attempt, never try again. False."""
        self.keep_failed.add(p)
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
        k = len(items) + delta
        if k < 0 or (resume is not None and not self.can_resume_threaded()):
            return False
        self.put_on(items, "s", depth)
        if resume is None:
            self.emit(depth, call)
        else:
            n = self.tmp()
            self.emit(depth, f"{n} = len(s) + {delta}\n{call}\n"
                             f"if len(s) != {n}: return RT({resume}, 0)")
        names = [self.tmp() for _ in range(k)]
        if k:
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

    def begin_loop_kept(self, p: int, q: int, depth: int, pull: int = 0) -> bool:
        """pull: items to take off the real stack into locals first (a pass that reached
        under the cached items could not be kept): when there are fewer, the threaded code
        runs the loop and the rest of the definition, and finds them missing as it would."""
        if p in self.keep_failed:
            return False
        snap = self.snapshot()
        pops = self.stack.pops
        try:
            if pull:
                names = [self.tmp() for _ in range(pull)]
                self.emit(depth, f"if len(s) < {pull}:\n    {self.spill(self.stack.items)}\n"
                                 f"    return RT({self.ins[p].addr}, 0)\n" + _pop_into(names))
                self.stack.items[:0] = names
            names, check = self.enter_kept_loop(depth, self.ins[p].addr)
            self.emit(depth, "while True:")
            head = len(self.lines)
            # [the names every exit leaves the items in]: the pass's own names when the
            # loop can end at its end (UNTIL), else set by the first exit met
            loop = Loop("begin", q + 1, p, names,
                        names if self.ins[q].name == "0branch" else None)
            self.loops.append(loop)
            touch, rs_depth = self.stack.touch, self.rs_depth
            try:
                self.block_loop_body(p, q, depth + 1, flush_end=False)
                self.flush_rs(depth + 1)
                if self.ins[q].name == "0branch":        # UNTIL
                    c = self.cond_kept(depth + 1, now=False)
                    self.end_kept_pass(names, depth + 1, touch, rs_depth)
                    self.emit(depth + 1, f"if {c}: break")
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
                return self.begin_loop_kept(p, q, depth, reached)
            return self.unkeep(p, snap)
        self.after_kept_loop(loop, check)
        return True

    def begin_loop_flushed(self, p: int, q: int, depth: int) -> None:
        closing = self.ins[q]
        self.put(depth, "while True:")
        head = len(self.lines) - 1
        self.put_stack_check(depth + 1)
        self.loops.append(Loop("begin", q + 1, p))
        self.block_loop_body(p, q, depth + 1)
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

    def do_loop_kept(self, p: int, e: int, depth: int, pull: int = 0) -> bool:
        """A DO loop whose passes leave the cached items as they found them. pull: as
        begin_loop_kept's (the index and the limit go back onto the real stack for the
        threaded code's (do) when the items are not there)."""
        if p in self.keep_failed:
            return False
        x, closing = self.ins[p], self.ins[e - 1]
        snap = self.snapshot()
        d = self.do_depth
        iv, lv = f"_i{d}", f"_l{d}"
        try:
            first = self.take(depth)
            limit = self.take(depth)
            if pull:
                self.pull_into_locals(pull, depth, x.addr, [limit, first])
            pops = self.stack.pops
            self.emit(depth, f"{iv} = {first}\n{lv} = {limit}")
            names, check = self.enter_kept_loop(depth)
            inner = self.do_loop_head(x, closing, iv, lv, depth, self.emit)
            head = len(self.lines)
            loop = Loop("do", e, None, names, names)
            self.loops.append(loop)
            self.do_depth += 1
            touch, rs_depth = self.stack.touch, self.rs_depth
            try:
                self.block(p + 1, e - 1, inner + 1, flush_end=False)
                self.flush_rs(inner + 1)
                if closing.name == "(+loop)":
                    step = self.cond_kept(inner + 1, now=False)
                    self.end_kept_pass(names, inner + 1, touch, rs_depth)
                    self.emit(inner + 1, self.plus_loop_step(iv, lv, step))
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
                return self.do_loop_kept(p, e, depth, reached)
            return self.unkeep(p, snap)
        self.after_kept_loop(loop, check)
        return True

    @staticmethod
    def do_loop_head(x: Instruction, closing: Instruction, iv: str, lv: str, depth: int, out) -> int:
        """Emit through out (emit or put) what starts a DO loop once its index and limit are
        set: ?DO's test and the loop over the passes. Returns the depth of the body."""
        inner = depth
        if x.name == "(?do)":
            out(depth, f"if {iv} != {lv}:")
            inner = depth + 1
        if closing.name == "(loop)":
            # the indexes LOOP steps through: a range, or counting on through the
            # wrap-around when the limit is not above the start
            out(inner, f"for {iv} in (range({iv}, {lv}) if {iv} < {lv} else WR({iv}, {lv})):")
        else:
            out(inner, "while True:")
        return inner

    @staticmethod
    def plus_loop_step(iv: str, lv: str, step: str) -> str:
        return (f"n = {step}\nd = (({iv} - {lv} + SB) & M) - SB\ne = d + n\n"
                f"if (d < 0 <= e) if n >= 0 else (e < 0 <= d): break\n"
                f"{iv} = (({lv} + e + SB) & M) - SB")

    def do_loop_flushed(self, p: int, e: int, depth: int) -> None:
        x, closing = self.ins[p], self.ins[e - 1]
        d = self.do_depth
        iv, lv = f"_i{d}", f"_l{d}"
        if len(self.stack.items) >= 2:
            first, limit = self.take(depth), self.take(depth)
            self.put(depth, f"{iv} = {first}\n{lv} = {limit}")
        else:
            self.put(depth, f"{iv} = s.pop()\n{lv} = s.pop()")
        inner = self.do_loop_head(x, closing, iv, lv, depth, self.put)
        head = len(self.lines) - 1
        self.put_stack_check(inner + 1)
        self.loops.append(Loop("do", e))
        self.do_depth += 1
        self.block(p + 1, e - 1, inner + 1)
        self.do_depth -= 1
        self.loops.pop()
        self.hoist_check(head, inner)
        if closing.name != "(loop)":
            self.put(inner + 1, self.plus_loop_step(iv, lv, "s.pop()"))
        self.stack.since_check = None     # what the loop left is not known here
        self.stack.known.clear()

    def if_throws(self, p: int, t: int, depth: int, dup: str | None) -> bool:
        """IF ... THEN whose arm never comes back: it ends in a throw and nothing in it
        branches out of it. The arm starts from the cached items as they are (and puts them
        onto the real stack itself where it needs them); the code after the IF goes on as
        if the IF had not been taken. False, with nothing emitted, for any other IF."""
        if p in self.throw_failed or t <= p + 1:
            return False
        last = self.ins[t - 1]        # only an arm ending in ABORT", THROW or a call can throw
        if last.name not in ("(abort\")", "throw") and last.kind != L.K_COLON:
            return False
        for x in self.ins[p + 1:t]:
            if x.name in ("exit", "leave", "?leave", "unloop") or (
                    x.name in ("branch", "0branch") and not p < self.target(x.arg) < t):
                self.throw_failed.add(p)
                return False
        throwers = analysis.range_always_throws(self.vm, self.ins, p + 1, t)
        if throwers is None:
            self.throw_failed.add(p)
            return False
        snap = self.snapshot()
        try:
            self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
            after, rs_depth = self.stack.copy(), self.rs_depth
            if dup:
                self.stack.items.append(dup)
                self.stack.since_check = None
            self.block(p + 1, t, depth + 1, flush_end=False)
        except (NotCompilable, _Unclean):
            self.throw_failed.add(p)
            self.rollback(snap)
            return False
        # the way past the arm: as before it (nothing the arm stored is seen past it)
        self.stack.restore(after)
        self.rs_depth = rs_depth
        self.deps.extend(throwers)    # a store into a word counted on to throw drops this
        return True

    def if_cold(self, p: int, t: int, depth: int, dup: str | None) -> bool:
        """IF ... THEN whose arm cannot be kept (it calls, say) but leaves the stack as deep
        as it found it (analysis.range_delta): the arm puts the cached items onto the real stack
        when it starts and takes as many back into locals when it ends, so the code around
        it keeps them cached. False, with nothing emitted, if the arm's effect is not that."""
        if not self.stack.items or p in self.cold_failed:
            return False
        deps: list = []
        if analysis.range_delta(self.vm, self.ins, p + 1, t, deps) != (-1 if dup else 0):
            return False
        snap = self.snapshot()
        try:
            self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
            entry, rs_depth = self.stack.copy(), self.rs_depth
            before = entry.items
            self.emit(depth + 1, self.spill(before + ([dup] if dup else [])))
            self.stack.items.clear()
            self.stack.since_check = None
            self.block(p + 1, t, depth + 1)
            if self.rs_depth != rs_depth:
                raise NotCompilable
        except NotCompilable:
            self.cold_failed.add(p)
            self.rollback(snap)
            return False
        # the items come back into the names they had where that is possible (a name held
        # once, not a literal); else into new ones, which the way past the arm sets too
        reuse = all(b.isidentifier() for b in before) and len(set(before)) == len(before)
        names = list(before) if reuse else [self.tmp() for _ in before]
        k = len(names)
        if k:
            self.emit(depth + 1, _pop_into(names))
            if not reuse:
                self.emit(depth, "else:")
                self.assign(depth + 1, names, before, wrap=False)
        for m, b in zip(names, before):
            if b in self.stack.unwrapped:
                self.stack.unwrapped[m] = depth
        self.stack.items[:] = names
        self.deps.extend(deps)
        self.stack.known.clear()
        # the real stack is as deep as before and the items are back in names: a kept
        # structure around the IF can stay kept (what the arm did to the real stack in
        # between does not count)
        stack = self.stack          # the arm leaves the stack as deep as it found it
        stack.since_check, stack.touch, stack.pops = entry.since_check, entry.touch, entry.pops
        return True

    def if_kept(self, p: int, t: int, t2: int | None, depth: int, dup: str | None = None,
                tail: bool = False) -> bool:
        """IF ... THEN (t2 None) or IF ... ELSE ... THEN with the cached items kept; dup:
        the flag of ?dup IF, which the first arm starts with on the stack."""
        if p in self.keep_failed:
            return False
        snap = self.snapshot()
        self.emit(depth, f"if {dup or self.cond_kept(depth)}:")
        # each arm starts knowing the cells known before the IF; after it, those both arms
        # left in the same name are still known
        known0 = dict(self.stack.known)
        touch, rs_depth, check0 = self.stack.touch, self.rs_depth, self.stack.since_check
        before = list(self.stack.items)
        head = len(self.lines)
        if dup:
            self.stack.items.append(dup)
            self.stack.since_check = None
        return_items = list(self.stack.return_items)         # the arms must leave the cached return-stack items alone
        self.block(p + 1, t if t2 is None else t - 1, depth + 1, flush_end=False, tail=tail)
        then_rvs = list(self.stack.return_items)
        then_vs, then_check, then_end = list(self.stack.items), self.stack.since_check, len(self.lines)
        else_vs, else_check = before, check0
        rs_then, self.rs_depth = self.rs_depth, rs_depth
        then_known = dict(self.stack.known)
        self.stack.known.clear()
        self.stack.known.update(known0)
        if t2 is not None:
            self.stack.items[:] = before
            self.stack.since_check = check0
            self.emit(depth, "else:")
            else_head = len(self.lines)
            self.stack.return_items[:] = return_items
            self.block(t, t2, depth + 1, flush_end=False, tail=tail)
            else_vs, else_check = list(self.stack.items), self.stack.since_check
            else_empty = len(self.lines) == else_head
        if self.stack.touch != touch or self.rs_depth != rs_depth or rs_then != rs_depth or \
                len(then_vs) != len(else_vs) or then_rvs != return_items or self.stack.return_items != return_items:
            return self.unkeep(p, snap)
        merged, names, then_vals, else_vals = [], [], [], []
        for a, b in zip(then_vs, else_vs):
            if a == b:
                merged.append(a)
            else:
                m = self.tmp()
                if a in self.stack.unwrapped or b in self.stack.unwrapped:
                    self.stack.unwrapped[m] = depth
                merged.append(m)
                names.append(m)
                then_vals.append(a)
                else_vals.append(b)
        if names:
            self.lines.insert(then_end, Line(depth + 1, ", ".join(names) + " = "
                                             + ", ".join(then_vals)))
        elif then_end == head:
            self.lines.insert(then_end, Line(depth + 1, "pass"))
        if t2 is not None:
            if names:
                self.assign(depth + 1, names, else_vals, wrap=False)
            elif else_empty:
                self.emit(depth + 1, "pass")
        elif names:
            self.emit(depth, "else:")
            self.assign(depth + 1, names, else_vals, wrap=False)
        self.stack.items[:] = merged
        else_known = dict(self.stack.known)
        self.stack.known.clear()
        self.stack.known.update({a: v for a, v in then_known.items() if else_known.get(a) == v})
        self.stack.since_check = None if then_check is None or else_check is None \
            else max(then_check, else_check)
        return True

    def if_flushed(self, p: int, t: int, t2: int | None, depth: int, dup: str | None = None,
                   tail: bool = False) -> None:
        self.put(depth, f"if {dup or self.cond(depth)}:")
        if dup:
            self.stack.items.append(dup)
        rs_before = self.rs_depth
        then_end = t if t2 is None else t - 1
        self.block(p + 1, then_end, depth + 1, tail=tail)
        rs_then = self.rs_depth
        rs_else, else_exits = rs_before, False
        if t2 is not None:
            self.rs_depth = rs_before
            self.put(depth, "else:")
            self.block(t, t2, depth + 1, tail=tail)
            rs_else, else_exits = self.rs_depth, self.ins[t2 - 1].name == "exit"
        # the return-stack entries pushed so far, from the arm that goes on (an arm that
        # ends in EXIT does not)
        if then_end > p + 1 and self.ins[then_end - 1].name == "exit":
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

    def inline(self, x: Instruction, depth: int) -> bool:
        """Emit the colon definition x calls in place of the call, if it is short and plain
        enough; False (nothing emitted) if not."""
        vm = self.vm
        xt = x.xt
        body = xt + 8
        if (len(self.inlined) >= MAX_INLINE_DEPTH or xt == self.xt or xt in self.inlined
                or L.COMP_BUFFER <= body < L.COMP_BUFFER_END):
            return False
        try:
            ins = decode(vm, body)
        except NotCompilable:
            return False
        if len(ins) > MAX_INLINE + 1 or ins[-1].name != "exit":     # not one ending in DOES>
            return False
        for i in ins[:-1]:
            if i.name in _NOT_INLINED or (i.name in ("branch", "0branch") and i.arg <= i.addr):
                return False
        saved = self.snapshot()
        sub = Emitter(vm, ins, parent=self)
        try:
            # a call checks the data stack on entry; so does the inlined body, unless the
            # stack cannot have grown since the last check
            if self.stack.since_check is None or self.stack.since_check > 0:
                self.overflow_check(depth)
                self.stack.since_check = 0
            sub.block(0, len(ins) - 1, depth, flush_end=False, tail=True)
            if sub.rs_depth != 0:
                raise NotCompilable
        except NotCompilable:
            self.rollback(saved)
            return False
        self.ntmp = sub.ntmp
        self.deps.append((body, ins[-1].addr + 8))
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

    def block_loop_body(self, p: int, q: int, depth: int, flush_end: bool = True) -> None:
        # the loop head itself is not a new loop when the body is walked
        edges = self.back_edges
        saved = edges.pop(p)
        try:
            self.block(p, q, depth, flush_end)
        finally:
            edges[p] = saved

    def innermost_do(self) -> int:
        for k, loop in enumerate(reversed(self.loops)):
            if loop.kind == "do":
                if k != 0:
                    return -2       # a BEGIN loop sits inside the DO loop
                return self.do_depth - 1
        return -1

    def simple(self, x: Instruction, p: int, depth: int) -> None:
        """One instruction that is not control flow (p: its index): on the cached items where
        it can be (cached), else on the real stack: a primitive (flushed_primitive) or any
        other word (flushed_word)."""
        before, pops = len(self.stack.items), self.stack.pops
        if self.cached(x, depth):
            if self.stack.since_check is not None:
                self.stack.since_check += len(self.stack.items) - before - (self.stack.pops - pops)
            return
        if x.name is not None:
            self.flushed_primitive(x, p, depth)
        else:
            self.flushed_word(x, depth)

    def flushed_primitive(self, x: Instruction, p: int, depth: int) -> None:
        """A primitive on the real stack: the ones the emitter handles by name (LIT, EXIT,
        EXECUTE, the loop words, (DOES>), the return-stack words), else its snippet or a
        call of its Python function."""
        n = x.name
        if n == "lit":
            self.put(depth, f"s.append({x.arg})")
        elif n == "(sliteral)":
            self.put(depth, f"s.append({x.arg[0]})\ns.append({x.arg[1]})")
        elif n == "exit":
            if self.inline_mode:
                raise NotCompilable        # only an EXIT block() turns into an ELSE arm
            if p != len(self.ins) - 1:
                self.put(depth, "return")
        elif n == "(to)":
            self.put(depth, f"P(mem, {x.arg + 8}, s.pop())" + self.to_check(x.arg))
        elif n == "execute":
            self.flushed_execute(depth, x.addr)
        elif n == "i":
            d = self.innermost_do()
            if d < 0:
                raise NotCompilable
            self.put(depth, f"s.append(_i{d})")
        elif n == "j":
            if self.do_depth < 2 or self.innermost_do() < 0:
                raise NotCompilable
            self.put(depth, f"s.append(_i{self.do_depth - 2})")
        elif n in ("leave", "?leave"):
            if self.innermost_do() < 0:
                raise NotCompilable
            self.put(depth, "break" if n == "leave" else "if s.pop(): break")
        elif n == "unloop":
            if self.innermost_do() < 0:
                raise NotCompilable
        elif n == "(does>)":
            if p != len(self.ins) - 1:
                raise NotCompilable
            # the newest word runs the code after this one; the definition ends here
            self.put(depth, f"vm.set_does({x.addr + 8})")
        elif n in RS_FORBIDDEN:
            raise NotCompilable
        elif n in RS_PUSH or n in RS_POP or n in RS_PEEK:
            self.rs_depth += RS_PUSH.get(n, 0) - RS_POP.get(n, 0)
            if self.rs_depth < 0 or (n in RS_PEEK and self.rs_depth < RS_PEEK[n]):
                raise NotCompilable
            self.put(depth, BUILTINS[x.kind - L.PRIM_BASE].code)
        else:
            self.call_builtin(x, depth)

    def flushed_execute(self, depth: int, addr: int) -> None:
        """EXECUTE (compiled at addr): a 2CONSTANT (a property) is pushed here; any other
        word runs through execute, and a colon definition with generated code is called
        straight. A colon definition that reads its caller's return stack (an inline-operand
        reader: R> is the calling cell, convention.return_address) needs the threaded call,
        so where the threaded code can take over, the xt goes back and the rest of the
        definition runs threaded from the EXECUTE cell on."""
        v = self.take(depth)
        k = self.tmp()
        handover = ""
        if self.can_resume_threaded():
            handover = (f"elif ({k} == {L.K_COLON} or {k} == {L.K_CREATE} and "
                        f"U(mem, {v} + 8)[0]) and RR({v}): "
                        f"s.append({v}); return RT({addr}, 0)\n")
        self.put(depth, f"{k} = U(mem, {v})[0] if 0 <= {v} <= MS - 24 else 0\n"
                        f"if {k} == {L.K_2CONSTANT}: s.extend(U2(mem, {v} + 8))\n"
                        f"elif {k} == {L.K_COLON} and {v} in JCODE: JCODE[{v}]()\n"
                        + handover +
                        f"else: EX({v})")

    def call_builtin(self, x: Instruction, depth: int) -> None:
        """A primitive the emitter has no lowering for: its snippet inlined, or a call of
        its Python function (inside a kept loop, with its declared effect, kept)."""
        b = BUILTINS[x.kind - L.PRIM_BASE]
        if b.code is not None and b.inline:
            self.put(depth, b.code)
        elif b.func is not None:
            fname = f"_w{x.kind}"
            self.consts[fname] = self.vm.prims[x.kind]
            if b.effect is not None and self.in_kept_loop() and \
                    self.call_kept(depth, f"{fname}()", b.effect, None):
                return
            grown = self.stack.since_check
            self.put_call(depth, fname)
            if grown is not None and b.effect is not None:
                self.stack.since_check = grown + b.effect
        else:
            raise NotCompilable

    def flushed_word(self, x: Instruction, depth: int) -> None:
        """A word that is not a primitive, on the real stack."""
        vm = self.vm
        if x.kind == L.K_COLON:
            self.call_colon(x, depth)
        elif x.kind == L.K_VARIABLE:
            self.put(depth, f"s.append({x.xt + 8})")
        elif x.kind in (L.K_CONSTANT, L.K_VALUE, L.K_BUFFER):
            self.put(depth, f"s.append(U(mem, {x.xt + 8})[0])")
        elif x.kind == L.K_CREATE:
            does = U(vm.mem, x.xt + 8)[0]
            if does == vm.field_does:
                # a FIELD: what (field) does, without walking its DOES> code
                self.put(depth, f"s[-1] += U(mem, {x.xt + 16})[0]")
                return
            if does and analysis.reads_callers_return_stack(vm, does - 8):
                raise NotCompilable        # its DOES> code needs the threaded call
            self.put(depth, f"s.append({x.xt + 16})")
            if does:
                self.calls.add(does - 8)
                self.put_call(depth, f"_c{does - 8}")
        elif x.kind == L.K_DEFER:
            self.put(depth, f"EX(U(mem, {x.xt + 8})[0])")
        else:
            self.put(depth, f"EX({x.xt})")

    def call_colon(self, x: Instruction, depth: int) -> None:
        """A call of a colon definition: inlined when short, else through its slot."""
        vm = self.vm
        if analysis.reads_callers_return_stack(vm, x.xt):
            raise NotCompilable
        if self.inline(x, depth):
            return
        # through the callee's slot: its generated code, or a runner of its threaded
        # code while it has none (compile_definition and VM.drop_jit keep it current)
        self.calls.add(x.xt)
        if self.in_kept_loop():
            d = analysis.definition_delta(vm, x.xt, [])
            if isinstance(d, int) and self.call_kept(depth, f"_c{x.xt}()", d,
                                                   resume_address(x.addr)):
                return
        self.put_call(depth, f"_c{x.xt}")

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
