"""Defining and compiling words: : ; :noname CREATE DOES> VARIABLE CONSTANT VALUE DEFER
BUFFER: ALIAS 2CONSTANT TO IS ' ['] POSTPONE LITERAL IMMEDIATE, data space (HERE ALLOT ,
C, W, L, X, ALIGN), STRUCT/FIELD, MARKER and friends."""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from ..outer import parse_word_or_fail, compile_literal
from .table import MemoryAccess, helper, snippet, word


def _name(vm) -> bytes:
    return parse_word_or_fail(vm)


def _tick(vm) -> int:
    name = _name(vm)
    hit = D.find(vm, name)
    if hit is None:
        raise Throw(-13, word=name.decode("latin-1"))
    return hit[0]


def _define(vm, kind: int, name: bytes | None = None) -> int:
    xt = D.make_header(vm, name if name is not None else _name(vm), kind)
    return xt


# ---------------------------------------------------------------- colon definitions
@word(":")
def colon(vm) -> None:
    if vm.cell(L.STATE):
        raise Throw(-29)
    _define(vm, L.K_COLON)
    vm.control.clear()
    vm.set_cell(L.STATE, -1)


@word(":noname")
def colon_noname(vm) -> None:
    if vm.cell(L.STATE):
        raise Throw(-29)
    D.align(vm)
    xt = D.here(vm)
    D.comma(vm, L.K_COLON)
    vm.set_cell(L.LAST_XT, xt)
    vm.defining = None
    vm.control.clear()
    vm.s.append(xt)
    vm.set_cell(L.STATE, -1)


@word(";", immediate=True)
def semicolon(vm) -> None:
    if not vm.cell(L.STATE):
        raise Throw(-14)
    if vm.control:
        vm.control.clear()
        raise Throw(-22)
    D.comma(vm, vm.builtin_xt["exit"])
    vm.set_cell(L.STATE, 0)
    D.reveal(vm)


@word("recursive", immediate=True)
def recursive(vm) -> None:
    D.reveal(vm)


@word("[", immediate=True)
def left_bracket(vm) -> None:
    vm.set_cell(L.STATE, 0)


@word("]")
def right_bracket(vm) -> None:
    vm.set_cell(L.STATE, -1)


@word("immediate")
def immediate(vm) -> None:
    D.set_immediate(vm)


@word("reveal")
def w_reveal(vm) -> None:
    D.reveal(vm)


# ---------------------------------------------------------------- other defining words
def _word_with_cells(vm, kind: int, cells: list[int], name: bytes | None = None) -> None:
    """Define a word of the given kind whose body is the given cells, and reveal it."""
    D.define_word(vm, name if name is not None else _name(vm), kind, cells)


@word("create")
def create(vm) -> None:
    _word_with_cells(vm, L.K_CREATE, [0])


@word("$create", effect=-2)
def dollar_create(vm) -> None:
    s = vm.s
    n = s.pop()
    D.define_word(vm, vm.read(s.pop(), n), L.K_CREATE, (0,))


@word("does>", immediate=True)
def does(vm) -> None:
    from ..compiler import require_compiling
    require_compiling(vm)
    D.comma(vm, vm.builtin_xt["(does>)"])


@word("variable")
def variable(vm) -> None:
    _word_with_cells(vm, L.K_VARIABLE, [0])


@word("2variable")
def two_variable(vm) -> None:
    _word_with_cells(vm, L.K_VARIABLE, [0, 0])


@word("constant")
def constant(vm) -> None:
    _word_with_cells(vm, L.K_CONSTANT, [vm.s.pop()])


@word("value")
def value(vm) -> None:
    _word_with_cells(vm, L.K_VALUE, [vm.s.pop()])


@word("2constant")
def two_constant(vm) -> None:
    hi = vm.s.pop()
    _word_with_cells(vm, L.K_2CONSTANT, [vm.s.pop(), hi])


# ( lo hi str len -- ): every device-tree property is one, so it is a snippet, which
# generated code runs with its arguments in hand
helper("DEFINE_WORD", D.define_word)
snippet("$2constant", f"""n = s.pop()
a = s.pop()
hi = s.pop()
lo = s.pop()
if n < 0 or a < 0 or a + n > MS: raise Throw(-9)
DEFINE_WORD(vm, bytes(mem[a:a + n]), {L.K_2CONSTANT}, (lo, hi))""")


@word("defer")
def defer(vm) -> None:
    _word_with_cells(vm, L.K_DEFER, [0])


@word("buffer:")
def buffer_colon(vm) -> None:
    n = vm.s.pop()
    _define(vm, L.K_BUFFER)
    D.comma(vm, 0)
    D.reveal(vm)
    xt = vm.cell(L.LAST_XT)
    D.align(vm)
    a = D.allot(vm, max(n, 0))
    vm.mem[a:a + max(n, 0)] = bytes(max(n, 0))
    vm.code_store(a, max(n, 0))
    vm.set_cell(xt + 8, a)


@word("alias")
def alias(vm) -> None:
    name = _name(vm)
    target = _tick(vm)
    lfa = D.xt_to_lfa(vm, target)
    _define(vm, L.K_ALIAS, name)
    D.comma(vm, target)
    D.reveal(vm)
    if lfa and D.is_immediate(vm, lfa):
        D.set_immediate(vm)


# ---------------------------------------------------------------- ticks and TO
@word("'")
def tick(vm) -> None:
    vm.s.append(_tick(vm))


@word("[']", immediate=True)
def bracket_tick(vm) -> None:
    xt = _tick(vm)
    if vm.cell(L.STATE):
        compile_literal(vm, xt)
    else:
        vm.s.append(xt)


@word("find")
def find(vm) -> None:
    a = vm.s.pop()
    n = vm.read(a, 1)[0]          # a counted string outside memory is -9
    hit = D.find(vm, vm.read(a + 1, n))
    if hit is None:
        vm.s.extend((a, 0))
    else:
        vm.s.extend((hit[0], 1 if hit[1] else -1))


@word("$find")
def dollar_find(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    hit = D.find(vm, D.name_at(vm, a, n))
    if hit is None:
        vm.s.extend((a, n, 0))
    else:
        vm.s.extend((hit[0], -1))


def _store_to(vm, xt: int) -> None:
    addr = vm.sysvalue_xt.get(xt)
    if addr is not None:            # CURRENT, CONTEXT, IB, SOURCE-ID: a system cell
        if vm.cell(L.STATE):
            compile_literal(vm, addr)
            D.comma(vm, vm.builtin_xt["(sysvalue!)"])
        else:
            store_sysvalue(vm, vm.s.pop(), addr)
        return
    if vm.cell(xt) >= L.PRIM_BASE:
        raise Throw(-32, f"{D.xt_name(vm, xt)} is a built-in word, not a VALUE or DEFER")
    if vm.cell(L.STATE):
        D.comma(vm, vm.builtin_xt["(to)"])
        D.comma(vm, xt)
    else:
        vm.set_cell(xt + 8, vm.s.pop())


def store_sysvalue(vm, value: int, addr: int) -> None:
    vm.set_cell(addr, value)
    if addr == L.CONTEXT:
        vm.find_cache.clear()


@word("(sysvalue!)", effect=-2)
def sysvalue_store(vm) -> None:
    # ( x addr -- ): what TO compiles for CURRENT, CONTEXT, IB and SOURCE-ID
    addr = vm.s.pop()
    store_sysvalue(vm, vm.s.pop(), addr)


@word("to", immediate=True)
def w_to(vm) -> None:
    _store_to(vm, _tick(vm))


@word("is", immediate=True)
def w_is(vm) -> None:
    _store_to(vm, _tick(vm))


@word("defer!")
def defer_store(vm) -> None:
    xt = vm.s.pop()
    vm.set_cell(xt + 8, vm.s.pop())


@word("defer@")
def defer_fetch(vm) -> None:
    vm.s.append(vm.cell(vm.s.pop() + 8))


@word("behavior")
def behavior(vm) -> None:
    vm.s.append(vm.cell(vm.s.pop() + 8))


@word("action-of", immediate=True)
def action_of(vm) -> None:
    xt = _tick(vm)
    if vm.cell(L.STATE):
        compile_literal(vm, xt)
        D.comma(vm, vm.builtin_xt["defer@"])
    else:
        vm.s.append(vm.cell(xt + 8))


# ( xt -- addr ) and ( addr -- xt ): paflof's 2 CELLS + and 2 CELLS -, for every word.
# A CREATE'd word's data is there (its code field and DOES> cell come first); for other
# words it is paflof's answer too (a colon definition's second body cell, the cell after a
# VARIABLE's or VALUE's value): slofpy's own code reaches those cells with CELL+
snippet(">body", """a = s.pop()
if a < 0 or a > MS - 16: raise Throw(-9)
s.append(a + 16)""")
snippet("body>", """s.append(s.pop() - 16)""")


# ---------------------------------------------------------------- compiling
@word("literal", immediate=True)
def literal(vm) -> None:
    compile_literal(vm, vm.s.pop())


@word("2literal", immediate=True)
def two_literal(vm) -> None:
    hi = vm.s.pop()
    compile_literal(vm, vm.s.pop())
    compile_literal(vm, hi)


@word("compile,")
def compile_comma(vm) -> None:
    D.comma(vm, vm.s.pop())


@word("postpone", immediate=True)
def postpone(vm) -> None:
    name = _name(vm)
    hit = D.find(vm, name)
    if hit is None:
        raise Throw(-13, word=name.decode("latin-1"))
    xt, imm = hit
    if imm:
        D.comma(vm, xt)
    else:
        compile_literal(vm, xt)
        D.comma(vm, vm.builtin_xt["compile,"])


@word("[compile]", immediate=True)
def bracket_compile(vm) -> None:
    D.comma(vm, _tick(vm))


@word("compile")
def compile_next(vm) -> None:
    # SLOF's COMPILE: compile the xt that follows in the calling definition
    rs = vm.rs
    if len(rs) <= vm.rbase:
        raise Throw(-6)
    ip = rs[-1] + 8         # the return address is the calling cell; the xt follows it
    D.comma(vm, vm.cell(ip))
    rs[-1] = ip


# ---------------------------------------------------------------- data space
# here, allot and , run in nearly every word that builds data: snippets, so generated code
# has them inline. The checks are those of dictionary.allot/comma.
_ALLOT = f"""d = U(mem, {L.DP})[0]
e = d + n
if e > U(mem, {L.DICT_LIMIT})[0]: raise Throw(-8)
if e < {L.DICTIONARY} and not ({L.COMP_BUFFER} <= e <= {L.COMP_BUFFER_END}): raise Throw(-9)
P(mem, {L.DP}, e)"""
snippet("here", f"s.append(U(mem, {L.DP})[0])")
snippet("allot", "n = s.pop()\n" + _ALLOT)


def _store_comma(n: int, store: str) -> str:
    """n bytes laid down at HERE by store (which takes the value from the stack)."""
    return (f"n = {n}\n" + _ALLOT + f"""
if d < 0 or d > MS - {n}: raise Throw(-9)
{store}
if CP[d >> 12] and (d >> 3 in JC or (d + {n - 1}) >> 3 in JC): vm.code_store(d, {n})""")


def comma(name: str, n: int, stmt: str) -> None:
    """( x -- ): x laid down in n bytes at HERE, stored at {d} by stmt (which stores {v});
    the code generator lowers it from the same statement."""
    snippet(name, _store_comma(n, stmt.format(d="d", v="s.pop()")),
            lowering=MemoryAccess("comma", n, stmt))


comma(",", 8, "P(mem, {d}, {v})")


@word("x,")
def x_comma(vm) -> None:
    D.comma(vm, vm.s.pop())


comma("l,", 4, "PL(mem, {d}, {v} & 0xffffffff)")
comma("w,", 2, "PW(mem, {d}, {v} & 0xffff)")
comma("c,", 1, "mem[{d}] = {v} & 0xff")

snippet("align", f"""d = U(mem, {L.DP})[0]
if d & 7:
    n = 8 - (d & 7)
""" + "\n".join("    " + line for line in _ALLOT.split("\n")), effect=0)


@word("unused")
def unused(vm) -> None:
    vm.s.append(vm.cell(L.DICT_LIMIT) - vm.cell(L.DP))


# LAST ( -- addr ): paflof's CURRENT CELL+, the head cell of the compilation wordlist
snippet("last", f"s.append(U(mem, {L.CURRENT})[0] + 8)")


@word("latest", effect=1)
def latest(vm) -> None:
    # ( -- addr ): the variable holding the newest header's link address, in any wordlist
    vm.s.append(L.LATEST)


# SLOF's structures: struct ( -- 0 ) field ( off size "name" -- off+size ) end-struct
snippet("struct", "s.append(0)")


@word("field")
def field(vm) -> None:
    size = vm.s.pop()
    off = vm.s[-1]
    vm.s[-1] = off + size
    _define(vm, L.K_CREATE)
    D.comma(vm, 0)
    D.comma(vm, off)
    D.reveal(vm)
    _make_field(vm)


def _make_field(vm) -> None:
    # a field adds its offset: CREATE <off> DOES> @ +
    xt = vm.cell(L.LAST_XT)
    vm.set_cell(xt + 8, vm.field_does)


@word("+field")
def plus_field(vm) -> None:
    field(vm)


@word("end-struct", effect=-1)
def end_struct(vm) -> None:
    # ( size -- ): as paflof, the size is dropped and no name parsed
    vm.s.pop()


@word("begin-structure")
def begin_structure(vm) -> None:
    _define(vm, L.K_CREATE)
    D.comma(vm, 0)
    D.reveal(vm)
    xt = vm.cell(L.LAST_XT)
    vm.s.append(xt + 16)
    vm.s.append(0)
    D.comma(vm, 0)
    vm.set_cell(xt + 8, vm.struct_does)


@word("end-structure")
def end_structure(vm) -> None:
    size = vm.s.pop()
    vm.set_cell(vm.s.pop(), size)


@word("marker")
def marker(vm) -> None:
    wids = []
    w = vm.cell(L.WORDLISTS)
    while w:
        wids.append((w, vm.cell(w + 8)))
        w = vm.cell(w)
    dp = vm.cell(L.DP)
    saved = (dp, vm.cell(L.LATEST), vm.cell(L.WORDLISTS), wids,
             D.search_order(vm), vm.cell(L.CURRENT))
    _define(vm, L.K_CREATE)
    D.comma(vm, 0)
    D.reveal(vm)
    xt = vm.cell(L.LAST_XT)
    vm.markers[xt] = saved
    vm.set_cell(xt + 8, vm.marker_does)


def run_marker(vm, xt: int) -> None:
    if xt not in vm.markers:   # not a MARKER's body (`100 (marker)`), or one already run
        raise Throw(-15)
    dp, latest, wordlists, wids, order, current = vm.markers.pop(xt)
    for w, head in wids:
        vm.set_cell(w + 8, head)
    vm.set_cell(L.WORDLISTS, wordlists)
    vm.set_cell(L.DP, dp)
    vm.set_cell(L.LATEST, latest)
    D.set_search_order(vm, [w for w in order if w < dp])
    vm.set_cell(L.CURRENT, current if current < dp else L.FORTH_WID)
    D.forget_caches(vm)
    for body in list(vm.jit_ranges):
        if body >= dp:
            vm.drop_jit(body)


@word("(marker)")
def marker_runtime(vm) -> None:
    body = vm.s.pop()
    run_marker(vm, body - 16)


@word("(field)")
def field_runtime(vm) -> None:
    body = vm.s.pop()
    vm.s[-1] = vm.s[-1] + vm.cell(body)


@word("(structure)")
def structure_runtime(vm) -> None:
    vm.s.append(vm.cell(vm.s.pop()))
