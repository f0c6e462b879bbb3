"""Control flow: the runtime words the inner interpreter handles (LIT, branches, loop
runtime, EXIT...), EXECUTE, CATCH/THROW, and the compiling words IF ELSE THEN BEGIN UNTIL
AGAIN WHILE REPEAT DO ?DO LOOP +LOOP LEAVE CASE OF ENDOF ENDCASE AHEAD RECURSE EXIT.

At interpret level (STATE 0) the opening words start compiling into the comp-buffer; the
word that closes the outermost structure runs what was compiled, as SLOF does.
"""
from __future__ import annotations

import struct

from ...errors import Throw
from .. import layout as L
from .table import snippet, special, word
from ..cells import U, P

for _name in ("lit", "exit", "branch", "0branch", "(do)", "(?do)", "(loop)", "(+loop)",
              "leave", "?leave", "(sliteral)", "(to)", "execute", "(does>)"):
    # LIT pushes its cell, (SLITERAL) its string's ( addr len ), (TO) stores the top
    special(_name, effect={"lit": 1, "(sliteral)": 2, "(to)": -1}.get(_name))

snippet("i", "s.append(rs[-1])", effect=1)
snippet("j", "s.append(rs[-4])", effect=1)
snippet("unloop", "if len(rs) < vm.rbase + 3: raise Throw(-26)\ndel rs[-3:]")
snippet("noop", "pass")


def to_throw(e: BaseException) -> Throw | None:
    """The Forth error a Python exception inside the VM stands for (None: not ours)."""
    if isinstance(e, Throw):
        return e
    if isinstance(e, IndexError):
        return Throw(-4)
    if isinstance(e, struct.error):
        return Throw(-9)
    if isinstance(e, RecursionError):
        return Throw(-5)
    if isinstance(e, ZeroDivisionError):
        return Throw(-10)
    if isinstance(e, KeyboardInterrupt):
        return Throw(-28)
    if isinstance(e, (OverflowError, ValueError)):
        return Throw(-11)
    if isinstance(e, MemoryError):
        return Throw(-8)
    return None


def carry(e: BaseException, t: Throw) -> Throw:
    for attr in ("forth_where", "forth_word"):
        if getattr(e, attr, None) is not None and getattr(t, attr, None) is None:
            setattr(t, attr, getattr(e, attr))
    return t


@word("catch")
def catch(vm) -> None:
    s, rs = vm.s, vm.rs
    xt = s.pop()
    depth, rdepth, rbase = len(s), len(rs), vm.rbase
    nsources, ncontrol, ntemp = len(vm.sources), len(vm.control), len(vm.temp_compiles)
    state = U(vm.mem, L.STATE)[0]
    catcher = U(vm.mem, L.CATCHER)[0]
    # paflof's CATCHER: the return-stack depth once CATCH has saved its two cells there
    P(vm.mem, L.CATCHER, rdepth + 2)
    try:
        vm.execute(xt)
    except BaseException as e:  # every Forth error, including Ctrl-C, comes here
        P(vm.mem, L.CATCHER, catcher)
        t = to_throw(e)
        if t is None:
            raise
        del rs[rdepth:]
        vm.rbase = rbase
        if len(s) > depth:
            del s[depth:]
        else:
            s.extend([0] * (depth - len(s)))
        del vm.sources[nsources:]
        del vm.control[ncontrol:]
        from ..compiler import abandon_temp_compiles
        abandon_temp_compiles(vm, ntemp)
        vm.set_cell(L.STATE, state)
        vm.last_error = carry(e, t)
        s.append(t.code)
        return
    P(vm.mem, L.CATCHER, catcher)
    s.append(0)


@word("throw", effect=-1)
def throw(vm) -> None:
    code = vm.s.pop()
    if code:
        if code == -2:
            cstr = vm.cell(L.ABORT_CSTR)
            if cstr and cstr != L.ABORT_BUF:    # a message Forth stored into ABORT"-STR
                msg = vm.read(cstr + 1, vm.read(cstr, 1)[0]).decode("latin-1")
                raise Throw(-2, msg)
            msg = vm.read(vm.cell(L.ABORT_STR), vm.cell(L.ABORT_LEN)).decode("latin-1")
            raise Throw(-2, msg)
        raise Throw(code)


@word("abort")
def abort(vm) -> None:
    raise Throw(-1)


# ( flag str len -- ): a snippet, since it runs on every pass through an ABORT" that
# does not abort
snippet("(abort\")", f"""
n = s.pop()
a = s.pop()
if s.pop():
    P(mem, {L.ABORT_STR}, a)
    P(mem, {L.ABORT_LEN}, n)
    if n < 0 or a < 0 or a + n > MS: raise Throw(-9)
    raise Throw(-2, bytes(mem[a:a + n]).decode("latin-1"))""", effect=-3)


# ---------------------------------------------------------------- compiling control flow
def _c():
    from .. import compiler
    return compiler


@word("if", immediate=True)
def w_if(vm) -> None:
    _c().open_structure(vm)
    _c().mark_forward(vm, "0branch", "orig")


@word("ahead", immediate=True)
def w_ahead(vm) -> None:
    _c().open_structure(vm)
    _c().mark_forward(vm, "branch", "orig")


@word("then", immediate=True)
def w_then(vm) -> None:
    _c().resolve_forward(vm, _c().pop_control(vm, "orig"))
    _c().close_structure(vm)


@word("else", immediate=True)
def w_else(vm) -> None:
    c = _c()
    orig = c.pop_control(vm, "orig")
    c.mark_forward(vm, "branch", "orig")
    c.resolve_forward(vm, orig)


@word("begin", immediate=True)
def w_begin(vm) -> None:
    _c().open_structure(vm)
    _c().push_control(vm, "dest", _c().here(vm))


@word("until", immediate=True)
def w_until(vm) -> None:
    c = _c()
    c.compile_branch(vm, "0branch", c.pop_control(vm, "dest"))
    c.close_structure(vm)


@word("again", immediate=True)
def w_again(vm) -> None:
    c = _c()
    c.compile_branch(vm, "branch", c.pop_control(vm, "dest"))
    c.close_structure(vm)


@word("while", immediate=True)
def w_while(vm) -> None:
    c = _c()
    dest = c.pop_control(vm, "dest")
    c.mark_forward(vm, "0branch", "orig")
    c.push_control(vm, "dest", dest)


@word("repeat", immediate=True)
def w_repeat(vm) -> None:
    c = _c()
    c.compile_branch(vm, "branch", c.pop_control(vm, "dest"))
    c.resolve_forward(vm, c.pop_control(vm, "orig"))
    c.close_structure(vm)


@word("do", immediate=True)
def w_do(vm) -> None:
    _c().open_structure(vm)
    _c().mark_forward(vm, "(do)", "do")


@word("?do", immediate=True)
def w_qdo(vm) -> None:
    _c().open_structure(vm)
    _c().mark_forward(vm, "(?do)", "do")


def _close_loop(vm, runtime: str) -> None:
    c = _c()
    operand = c.pop_control(vm, "do")
    c.compile_branch(vm, runtime, operand + 8)
    c.resolve_forward(vm, operand)
    c.close_structure(vm)


@word("loop", immediate=True)
def w_loop(vm) -> None:
    _close_loop(vm, "(loop)")


@word("+loop", immediate=True)
def w_ploop(vm) -> None:
    _close_loop(vm, "(+loop)")


@word("case", immediate=True)
def w_case(vm) -> None:
    _c().open_structure(vm)
    _c().push_control(vm, "case", 0)


@word("of", immediate=True)
def w_of(vm) -> None:
    c = _c()
    c.compile_word(vm, "over")
    c.compile_word(vm, "=")
    c.mark_forward(vm, "0branch", "of")
    c.compile_word(vm, "drop")


@word("endof", immediate=True)
def w_endof(vm) -> None:
    c = _c()
    of = c.pop_control(vm, "of")
    c.mark_forward(vm, "branch", "endof")
    c.resolve_forward(vm, of)


@word("endcase", immediate=True)
def w_endcase(vm) -> None:
    c = _c()
    c.compile_word(vm, "drop")
    while vm.control and vm.control[-1][0] == "endof":
        c.resolve_forward(vm, vm.control.pop()[1])
    c.pop_control(vm, "case")
    c.close_structure(vm)


@word("recurse", immediate=True)
def w_recurse(vm) -> None:
    _c().require_compiling(vm)
    from ..dictionary import comma
    comma(vm, vm.cell(L.LAST_XT))
