"""Generated code against threaded code, on random definitions.

The code generator (vm/codegen/) promises that a definition's generated code leaves exactly what its threaded code
leaves: the same stack, the same memory, the same error, and after an error half way through
the same stack for CATCH to hand back. test_jit_stack_cache.py checks that on chosen
programs; here hypothesis builds colon definitions from the constructs the code generator
treats specially (stack shuffles, arithmetic near the 64-bit limits, comparisons feeding
branches, IF/ELSE and ?DUP IF arms, BEGIN and DO loops, >R ... R>, VALUEs, variables,
CONSTANTs, fetches and stores, stores into a compiled body, calls of short and looping
helpers, CATCH of helpers that may fail, errors) and runs each one
four times on a random starting stack in two VMs, one with generated code and one without.
See tests/README.md for the long run (SLOFPY_FUZZ_SCALE).
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import fuzz_settings
from slofpy import ForthError, Machine

SETUP = r"""
create buf 40 allot  buf 40 erase
variable var  0 var !
0 value val
#7 constant seven
: h-sq  dup * ;
: h-exit  dup 0< IF EXIT THEN 1+ ;
: h-loop  0 swap 3 and 0 ?DO 1+ LOOP ;
: h-rs  >r r@ IF r> 2* EXIT THEN r> 1- ;
: h-fail  1+ -8 @ ;
: h-str ( a u n -- a' u' )  3 and 0 ?DO 1 /string LOOP ;
\ a literal in a compiled body that stores change (its loop keeps it from being inlined:
\ code built on an inlined body that is changed while that code runs is not followed)
: h-lit  #5 #0 #0 ?DO LOOP ;
"""

NUMBERS = ["#0", "#1", "#-1", "#2", "#3", "#7", "#100", "$7fffffffffffffff",
           "$-8000000000000000", "$4000000000000000", "#-9"]
UNARY = ["negate", "invert", "1+", "1-", "2*", "cells", "abs", "0=", "0<", "0<>", "2/", "char+"]
BINARY = ["+", "-", "*", "and", "or", "xor", "=", "<>", "<", ">", "u<", "min", "max",
          "lshift", "rshift", "/", "mod"]
SHUFFLES = ["dup", "drop", "swap", "over", "rot", "-rot", "nip", "tuck", "2dup", "2drop",
            "2swap", "2over", "#0 pick", "#1 pick", "#2 pick"]
MEMORY = ["#3 and cells buf + @", "#3 and cells buf + !", "#31 and buf + c@",
          "#31 and buf + c!", "#3 and cells buf + +!", "var @", "var !", "val", "to val",
          "seven", "here drop", "-8 @", "buf #8 + buf #3 move", "#3 and buf + l@",
          # stores into a compiled body: h-lit's literal cell, and one byte of it
          "['] h-lit #16 + !", "['] h-lit #23 + c!"]
CALLS = ["h-sq", "h-exit", "h-loop", "h-rs", "h-lit", "h-str",
         "['] h-fail catch", "['] h-str catch", "['] h-sq catch", "['] h-exit catch"]

# the recursive strategy below describes itself at length; that is not a problem here
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

atoms = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(UNARY), st.sampled_from(BINARY),
                  st.sampled_from(SHUFFLES), st.sampled_from(MEMORY), st.sampled_from(CALLS))


def _structures(inner):
    seq = st.lists(inner, max_size=6).map(" ".join)
    return st.one_of(
        seq.map(lambda b: f"IF {b} THEN"),
        st.tuples(seq, seq).map(lambda t: f"IF {t[0]} ELSE {t[1]} THEN"),
        seq.map(lambda b: f"?dup IF {b} THEN"),
        seq.map(lambda b: f">r {b} r>"),
        st.tuples(st.integers(0, 3), seq).map(lambda t: f"#{t[0]} #0 ?DO {t[1]} LOOP"),
        st.tuples(st.integers(1, 3), seq).map(lambda t: f"#{t[0]} #0 DO i {t[1]} LOOP"),
        st.tuples(st.integers(1, 3), seq).map(
            lambda t: f"#{t[0]} BEGIN >r {t[1]} r> 1- dup 0= UNTIL drop"),
        st.tuples(st.integers(1, 3), seq).map(
            lambda t: f"#{t[0]} BEGIN dup WHILE >r {t[1]} r> 1- REPEAT drop"),
        st.tuples(st.integers(1, 3), seq).map(
            lambda t: f"#{t[0]} BEGIN 1- ?dup WHILE >r {t[1]} r> REPEAT"),
        st.tuples(st.integers(1, 6), seq).map(lambda t: f"#{t[0]} #0 DO {t[1]} #2 +LOOP"),
        st.tuples(st.integers(1, 4), seq).map(
            lambda t: f"#{t[0]} #0 DO i #1 = IF LEAVE THEN {t[1]} LOOP"),
        seq.map(lambda b: f"2>r {b} 2r@ drop drop 2r>"),
    )


items = st.recursive(atoms, _structures, max_leaves=25)
bodies = st.lists(items, min_size=1, max_size=12).map(" ".join)
stacks = st.lists(st.sampled_from([0, 1, -1, 2, 5, 2**63 - 1, -2**63, 12345]), max_size=4)


def _run(body: str, start: list[int], jit: bool) -> tuple[list, Machine]:
    m = Machine(memory_size=24 << 20, heap_size=4 << 20)     # small: two VMs a case
    m.vm.jit_enabled = jit
    m.evaluate(SETUP)
    m.evaluate(f": fz-word {body} ;")
    seen = []
    for _ in range(4):             # the third call compiles it; the fourth runs it again
        m.vm.s[:] = start
        try:
            m.evaluate("fz-word", timeout=20)
            code = None
        except ForthError as e:
            code = e.code
        seen.append((list(m.vm.s), code))
    m.vm.s.clear()
    m.evaluate("buf var val")
    buf, var, val = m.stack
    seen.append((m.read(buf, 40), m.cell(var), val))      # what the stores left
    return seen, m


@fuzz_settings(300)
@given(body=bodies, start=stacks)
def test_generated_code_does_what_threaded_code_does(body, start):
    threaded, _ = _run(body, start, jit=False)
    generated, m = _run(body, start, jit=True)
    assert generated == threaded, body
