"""Generated code against threaded code where the two once parted (issue 16, item 11), and
the return stack's bound (item 9).

Each case runs the same words in a VM with generated code and in one without, and compares
what they leave: the data stack, the error and what CATCH hands back. A store into a compiled
body by any path (here HOLD, with HLD set by hand) must drop the generated code built from
it, and `>r` / `2>r` in a loop must end in -5 (return stack overflow), not in growing
memory."""
from __future__ import annotations

import pytest

from slofpy import ForthError, Machine
from slofpy.vm import layout as L


def _machine(jit: bool) -> Machine:
    m = Machine(memory_size=24 << 20, heap_size=4 << 20)
    m.vm.jit_enabled = jit
    return m


def _calls(m: Machine, call: str, times: int = 4) -> list[tuple[list[int], int | None]]:
    seen = []
    for _ in range(times):              # the third call compiles; the fourth runs the code
        m.vm.s.clear()
        try:
            m.evaluate(call, timeout=20)
            code = None
        except ForthError as e:
            code = e.code
        seen.append((list(m.vm.s), code))
    return seen


def _both(setup: str, call: str) -> tuple[list, list]:
    results = []
    for jit in (False, True):
        m = _machine(jit)
        m.evaluate(setup)
        results.append(_calls(m, call))
    return results[0], results[1]


def test_hold_into_a_compiled_body_drops_its_generated_code():
    """HLD pointed by hand just past the literal 1 in `f`'s body: HOLD's byte turns it into
    5, and `f` must say so whether or not it had generated code."""
    for jit in (False, True):
        m = _machine(jit)
        m.evaluate(": f  1 2 + ;")
        assert _calls(m, "f", 4) == [([3], None)] * 4
        m.evaluate("' f")
        body = m.pop() + 8
        if jit:
            assert body - 8 in m.vm.jit_code           # f has generated code now
        m.set_cell(L.HLD, body + 16)                   # lit, 1 | <- HLD
        m.evaluate("5 hold")
        assert m.read(body + 8, 8) == (5).to_bytes(8, "big")
        assert _calls(m, "f", 1) == [([7], None)], f"jit={jit}"


CASES = {
    # /string finds too few items after ?DO took its two: CATCH hands back the stack the
    # threaded code left at the throw
    "catch-qdo-string": (": f ( a u n -- ) 0 ?do 1 /string loop ;"
                         " : g  3 5 ['] f catch ;", "g"),
    "catch-qdo-string-deeper": (": f ( a u n -- ) 0 ?do 1 /string loop ;"
                                " : g  7 3 5 ['] f catch ;", "g"),
    "qdo-string-ok": (": f ( a u n -- ) 0 ?do 1 /string loop ;"
                      " : g  100 10 5 ['] f catch ;", "g"),
    # EXIT inside DO without UNLOOP: the threaded code returns into the loop's parameters
    "exit-in-do": (": f 10 0 do i 3 = if i exit then loop 99 ;", "1 2 f 7"),
    "exit-in-do-caught": (": f 5 0 do i 2 = if exit then loop ; : g 1 ['] f catch 2 ;", "g"),
    "unloop-exit-in-do": (": f 10 0 do i 3 = if i unloop exit then loop 99 ;", "1 2 f 7"),
    # a DO loop whose passes reach under the cached items takes them into locals first;
    # with too few there, the threaded code runs the loop and finds them missing
    "do-pull": (": f 5 0 do i over xor rot + swap loop drop ;", "0 7 f"),
    "do-pull-short": (": f 5 0 do i over xor rot + swap loop drop ;", "7 f"),
    "do-pull-empty": (": f 5 0 do i over xor rot + swap loop drop ;", "f"),
    "do-pull-throw": (": f 5 0 do i 3 = if -8 @ then i over xor rot + swap loop drop ;",
                      "0 7 f"),
    "do-pull-caught": (": f 5 0 do i 3 = if -8 @ then i over xor rot + swap loop drop ;"
                       " : g 1 2 ['] f catch ;", "g"),
    "qdo-pull": (": f 0 ?do i over xor rot + swap loop drop ;", "0 7 5 f  0 7 0 f"),
    # / and MOD on cached items: the divisor is taken and checked before the dividend
    "div-cached": (": f 1 2 3 swap / 7 mod - ;", "f"),
    "div-zero": (": f 1 2 3 0 / ;", "f"),
    "div-zero-alone": (": f 0 / ;", "f"),
    "mod-zero-caught": (": f 5 swap mod 1+ ; : g 9 0 ['] f catch ;", "g"),
    "div-underflow": (": f 3 / ;", "f"),
    "div-wraps": (": f -8000000000000000 -1 / 7 -2 mod ;", "f"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_leaves_what_threaded_code_leaves(name):
    setup, call = CASES[name]
    threaded, generated = _both(setup, call)
    assert generated == threaded


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("body", ["begin 1 >r again", "begin 1 2 2>r again",
                                  "0 begin dup >r 1+ dup 0= until"])
def test_return_stack_pushes_in_a_loop_end_in_return_stack_overflow(body, jit):
    m = _machine(jit)
    m.evaluate(f": f  {body} ;")
    with pytest.raises(ForthError) as caught:
        m.evaluate("f", timeout=20)
    assert caught.value.code == -5
    assert len(m.vm.rs) <= L.RETURN_STACK_CELLS
    m.evaluate("1 2 + ")                        # and the VM goes on
    assert m.stack[-1] == 3


def test_a_doto_laid_by_hand_on_a_system_value_stores_into_its_system_cell():
    """SLOF's TO lays DOTO with the word's xt; for CURRENT, CONTEXT, IB and SOURCE-ID the
    value lives in a system cell, and generated code must store there as threaded code does
    (not into the cell after the word's code field)."""
    setup = ("' source-id constant sid  "
             ": put ( x -- ) [ ' (to) , sid , ] ;  "
             ": f ( -- old new ) source-id dup 1+ put source-id over put ;")
    threaded, generated = _both(setup, "f")
    assert threaded == generated
    (stack, code), = set((tuple(s), c) for s, c in threaded)
    assert code is None and stack[1] == stack[0] + 1


# SLOF's inline-operand readers, written as SLOF writes them (DOTO, instance.fs's (doito)):
# R> in a called word is the calling cell (paflof's convention), the operand is the cell
# after it, and pushing that cell back makes the caller go on after the operand.
READER = ": inline@ ( -- x ) r> cell+ dup >r @ ;  "
READER_CASES = {
    "straight": (READER + ": f  1 inline@ [ 2a , ] 2 inline@ [ 7 , ] + ;", "f", [1, 0x2a, 9]),
    "in-a-loop": (READER + ": f  0 5 0 DO inline@ [ 3 , ] + LOOP ;", "f", [15]),
    "nested": (READER + ": g  inline@ [ 5 , ] ;  : f  g inline@ [ 6 , ] g * * ;", "f", [150]),
    "through-execute": (READER + ": f  ['] inline@ execute [ 9 , ] 1+ ;", "f", [10]),
    "doto": ("0 value v  : f  [ ' doto compile, ' v , ] v 1+ ;", "41 f", [0x42]),
    "throw-operand": (READER + ": h  inline@ [ -7 , ] throw 99 ;  : f  ['] h catch ;", "f", [-7]),
    "does": (": plus create , does> @ r> cell+ dup >r @ + ;  5 plus five  "
             ": f  five [ 3 , ] 1+ ;", "f", [9]),
    "does-executed": (": plus create , does> @ r> cell+ dup >r @ + ;  5 plus five  "
                      ": f  ['] five execute [ 4 , ] 1+ ;", "f", [10]),
    "no-throw": (READER + ": h  inline@ [ 0 , ] throw 99 ;  : f  ['] h catch ;", "f", [0x99, 0]),
}


@pytest.mark.parametrize("name", sorted(READER_CASES))
def test_inline_operand_readers_as_slof_writes_them(name):
    setup, call, stack = READER_CASES[name]
    threaded, generated = _both(setup, call)
    assert threaded == [(stack, None)] * 4
    assert generated == threaded
