"""Programming tools: .S DUMP SEE WORDS [IF] [ELSE] [THEN] [DEFINED] [UNDEFINED]."""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from ..outer import parse_name, current
from .io import emit_str, format_number
from .table import word


@word(".s")
def dot_s(vm) -> None:
    base = vm.cell(L.BASE)
    emit_str(vm, "".join(format_number(v, base) + " " for v in vm.s))


@word("dump")
def dump(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    data = vm.read(a, n) if n else b""    # a negative length is -9, as for any read
    for start in range(0, len(data), 4096):   # printed a piece at a time
        lines = []
        for off in range(start, min(start + 4096, len(data)), 16):
            chunk = data[off:off + 16]
            hexes = " ".join(f"{b:02x}" for b in chunk)
            text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
            lines.append(f"\n{a + off:08x}: {hexes:<47}  {text}")
        emit_str(vm, "".join(lines))
    emit_str(vm, "\n")


@word("words")
def words(vm) -> None:
    order = D.search_order(vm)
    if not order:
        return
    names = [D.name_of(vm, lfa).decode("latin-1") for lfa in D.wordlist_words(vm, order[0])]
    emit_str(vm, "\n" + " ".join(names) + " ")


def decompile(vm, xt: int) -> str:
    """SEE's text for one word."""
    name = D.xt_name(vm, xt)
    kind = vm.cell(xt)
    if kind >= L.PRIM_BASE:
        return f"{name} is a primitive"
    if kind in (L.K_CONSTANT, L.K_VALUE):
        what = "constant" if kind == L.K_CONSTANT else "value"
        return f"{format_number(vm.cell(xt + 8), vm.cell(L.BASE))} {what} {name}"
    if kind == L.K_VARIABLE:
        return f"variable {name}"
    if kind in (L.K_DEFER, L.K_ALIAS):
        target = vm.cell(xt + 8)
        what = "defer" if kind == L.K_DEFER else "alias"
        return f"{what} {name} -> {D.xt_name(vm, target) if target else '(unset)'}"
    if kind == L.K_CREATE:
        does = vm.cell(xt + 8)
        text = f"create {name}"
        if does:
            text += " does> " + " ".join(_threaded_words(vm, does))
        return text
    if kind != L.K_COLON:
        return f"{name}: unknown kind {kind}"
    lfa = D.xt_to_lfa(vm, xt)
    imm = " immediate" if lfa and D.is_immediate(vm, lfa) else ""
    return f": {name} " + " ".join(_threaded_words(vm, xt + 8)) + imm


def _threaded_words(vm, ip: int) -> list[str]:
    bx = vm.builtin_xt
    out: list[str] = []
    base = vm.cell(L.BASE)
    last_forward = ip
    for _ in range(100_000):
        x = vm.cell(ip)
        ip += 8
        if x == bx["lit"]:
            out.append(format_number(vm.cell(ip), base))
            ip += 8
        elif x == bx["(sliteral)"]:
            n = vm.cell(ip)
            text = vm.read(ip + 8, n).decode("latin-1")
            out.append(f's" {text}"')
            ip = (ip + 8 + n + 7) & ~7
        elif x in (bx["branch"], bx["0branch"], bx["(do)"], bx["(?do)"], bx["(loop)"],
                   bx["(+loop)"]):
            target = vm.cell(ip)
            out.append(f"{D.xt_name(vm, x)}<{target:x}>")
            last_forward = max(last_forward, target)
            ip += 8
        elif x == bx["(to)"]:
            out.append("to " + D.xt_name(vm, vm.cell(ip)))
            ip += 8
        elif x == bx["exit"]:
            if ip > last_forward:
                out.append(";")
                break
            out.append("exit")
        elif x == bx["(does>)"]:
            out.append("does>")
        else:
            out.append(D.xt_name(vm, x))
    return out


@word("see")
def see(vm) -> None:
    _, name = parse_name(vm)
    hit = D.find(vm, name)
    if hit is None:
        raise Throw(-13, word=name.decode("latin-1"))
    emit_str(vm, decompile(vm, hit[0]) + " ")


@word("(see)")
def paren_see(vm) -> None:
    emit_str(vm, decompile(vm, vm.s.pop()) + " ")


# ---------------------------------------------------------------- conditional compilation
def _skip_conditional(vm, stop_at_else: bool) -> None:
    depth = 0
    while True:
        _, token = parse_name(vm)
        if not token:
            src = current(vm)
            if src.ident == 0:
                return            # a typed line: go on with the next line
            raise Throw(-58, "[IF] without [THEN]")
        t = token.lower()
        if t == b"[if]":
            depth += 1
        elif t == b"[else]":
            if depth == 0 and stop_at_else:
                return
        elif t == b"[then]":
            if depth == 0:
                return
            depth -= 1


@word("[if]", immediate=True)
def bracket_if(vm) -> None:
    if not vm.s.pop():
        _skip_conditional(vm, True)


@word("[else]", immediate=True)
def bracket_else(vm) -> None:
    _skip_conditional(vm, False)


@word("[then]", immediate=True)
def bracket_then(vm) -> None:
    pass


@word("[defined]", immediate=True)
def bracket_defined(vm) -> None:
    _, name = parse_name(vm)
    vm.s.append(-1 if D.find(vm, name) is not None else 0)


@word("[undefined]", immediate=True)
def bracket_undefined(vm) -> None:
    _, name = parse_name(vm)
    vm.s.append(0 if D.find(vm, name) is not None else -1)
