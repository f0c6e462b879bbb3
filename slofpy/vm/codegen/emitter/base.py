"""The emitter's base: the lines it writes and the cached top of the data stack.

`EmitterBase` holds what every part of the emitter uses: appending lines (`emit`, and `put`
for code that sees the real stack, with the cached items put onto it first), naming
temporaries, taking items off the cached top (or the real stack), results left cached,
wrapping to 64 bits where a value is used, guarded reads, the flag a branch tests, and the
snapshot/rollback an attempt at a kept structure is undone with.
"""
from __future__ import annotations

from dataclasses import dataclass

from ... import layout as L
from .. import statements
from ..decoder import NotCompilable
from ..primitives import M, SB
from ..stack_cache import StackCache

# data stack overflow, checked on entry and at the top of every loop (see layout.py)
STACK_CHECK = f"if len(s) > {L.DATA_STACK_CELLS}: raise Throw(-3)"
HEADROOM = 64       # data-stack cells generated code wants free on entry (compile_definition)


def pop_into(names: list[str]) -> str:
    """Code that takes len(names) items off the real data stack into names, deepest first."""
    if len(names) == 1:
        return f"{names[0]} = s.pop()"
    return f"{', '.join(names)}, = s[-{len(names)}:]\ndel s[-{len(names)}:]"


def is_int(text: str) -> bool:
    """Is text an integer literal?"""
    return text.lstrip("-").isdigit()


@dataclass
class Snapshot:
    """The emitter's state before an attempt at a kept structure (EmitterBase.snapshot)."""
    stack: StackCache
    rs_depth: int
    line_count: int
    last_line: list[str]
    dep_count: int
    consts: dict[str, object]


class Unclean(Exception):
    """A control structure cannot keep the cached stack items in locals (loops.py)."""


class EmitterBase:
    """Lines and the cached stack top (the Emitter's state is set up in Emitter.__init__)."""

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
        if inputs and all(is_int(i) for i in inputs):
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

    def snapshot(self) -> "Snapshot":
        """What rollback() needs to undo an attempt at a kept structure."""
        return Snapshot(self.stack.copy(), self.rs_depth, len(self.lines), self.lines[-1:],
                         len(self.deps), dict(self.consts))

    def rollback(self, snap: "Snapshot") -> None:
        """Back to where snapshot() was taken: the lines emitted since dropped (the last one
        before put back: test() may have taken it), the cached items and counts restored."""
        del self.lines[snap.line_count - len(snap.last_line):]
        self.lines.extend(snap.last_line)
        self.stack.restore(snap.stack, keep_known=False)
        self.rs_depth = snap.rs_depth
        del self.deps[snap.dep_count:]
        self.consts.clear()
        self.consts.update(snap.consts)

    def unkeep(self, pos: int, snap: tuple) -> bool:
        """The structure at pos cannot be kept: undo the attempt, never try again. False."""
        self.keep_failed.add(pos)
        self.rollback(snap)
        return False

    def assign(self, depth: int, names: list[str], values: list[str], wrap: bool = True) -> None:
        """names = values, all at once (a value may be one of the names); the values
        wrapped to 64 bits first unless wrap is False."""
        pairs = [(name, value) for name, value in zip(names, values) if name != value]
        if wrap:
            for _, value in pairs:
                self.wrapped(value, depth)
        if pairs:
            self.emit(depth, ", ".join(name for name, _ in pairs) + " = " + ", ".join(value for _, value in pairs))
