"""Reading a definition's threaded code: the instructions of a colon body, once.

`decode` walks the cells of a colon body (or of DOES> code) from its first cell to the EXIT
that ends it, and gives one `Instruction` per word compiled there, with the inline operand
LIT, the branches, the DO-loop words, (TO) and (SLITERAL) carry. Everything else in the code
generator works on these, or on the tree `ir.build_tree` makes of them.
"""
from __future__ import annotations

from .. import layout as L
from ..cells import U

# the most instructions read from one body: longer ones stay threaded
MAX_INSTRUCTIONS = 20000

# words followed by one cell of operand: a literal, or a branch target
_CELL_OPERAND = ("lit", "(to)")
_BRANCHES = ("branch", "0branch", "(do)", "(?do)", "(loop)", "(+loop)")


class NotCompilable(Exception):
    """The definition (or the part asked about) cannot have generated code."""


class Instruction:
    """One compiled word: where it is (addr), its execution token (xt), the kind cell the xt
    holds (kind: a primitive's number or L.K_*), the primitive's name (None for other
    words), and its inline operand (arg: a literal, a branch target, (address, length) of
    an inline string, or None)."""
    __slots__ = ("addr", "xt", "kind", "name", "arg")

    def __init__(self, addr: int, xt: int, kind: int, name: str | None, arg=None) -> None:
        self.addr, self.xt, self.kind, self.name, self.arg = addr, xt, kind, name, arg

    def __repr__(self) -> str:
        return f"<{self.addr:x} {self.name or hex(self.xt)} {self.arg!r}>"


def decode(vm, body: int) -> list[Instruction]:
    """The instructions of the colon body at body, up to its final EXIT (or the (does>)
    that ends a defining word's part before DOES>). Remembered with the body's bytes (the
    same list while they are unchanged: callers must not change it)."""
    known = vm.codegen.decoded.get(body)
    if known is not None and vm.mem[body:known[0]] == known[1]:
        return known[2]
    code = _read(vm, body)
    end = code[-1].addr + 8
    vm.codegen.decoded[body] = (end, bytes(vm.mem[body:end]), code)
    return code


def _read(vm, body: int) -> list[Instruction]:
    mem = vm.mem
    names = vm.builtin_names
    code: list[Instruction] = []
    ip = body
    furthest = body         # the furthest branch target seen: the body goes on to there
    for _ in range(MAX_INSTRUCTIONS):
        xt = U(mem, ip)[0]
        if xt < 0 or xt > vm.size - 8:
            raise NotCompilable
        kind = U(mem, xt)[0]
        name = names.get(kind) if kind >= L.PRIM_BASE else None
        ins = Instruction(ip, xt, kind, name)
        ip += 8
        if name in _CELL_OPERAND or name in _BRANCHES:
            ins.arg = U(mem, ip)[0]
            ip += 8
            if name in _BRANCHES:
                furthest = max(furthest, ins.arg)
        elif name == "(sliteral)":
            length = U(mem, ip)[0]
            ins.arg = (ip + 8, length)
            ip = (ip + 8 + length + 7) & ~7
        code.append(ins)
        if name in ("exit", "(does>)") and ip > furthest:
            if exits_inside_do(code):
                raise NotCompilable
            return code          # (DOES> code after a (does>) is code of its own)
    raise NotCompilable


def exits_inside_do(code: list[Instruction]) -> bool:
    """Does an EXIT leave a DO loop without as many UNLOOPs right before it as there are
    loops around it? The threaded code then returns into the loop's parameters; generated
    code could not do the same."""
    loop_ends: list[int] = []           # where each enclosing DO loop's LEAVE goes
    unloops = 0
    for ins in code[:-1]:
        while loop_ends and ins.addr >= loop_ends[-1]:
            loop_ends.pop()
        if ins.name in ("(do)", "(?do)"):
            loop_ends.append(ins.arg)
        elif ins.name == "exit" and unloops < len(loop_ends):
            return True
        unloops = unloops + 1 if ins.name == "unloop" else 0
    return False
