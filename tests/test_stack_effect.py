"""codegen/analysis.py tells the code generator how much a piece of threaded code changes the
depth of the data stack; a wrong answer would make generated code take the wrong items back
into locals, so every kind of code it follows is checked here, and so are the ones it must
refuse."""
from __future__ import annotations

import pytest

from slofpy import Machine
from slofpy.vm.codegen import analysis as stack_effect
from slofpy.vm.dictionary import find

WORDS = r"""
variable var
create buf 10 allot
2 3 2constant pair
: straight  dup + swap over ;
: arms  IF 1 ELSE 2 3 + THEN ;
: uneven  IF 1 THEN ;
: qdup-arm  ?dup IF drop THEN ;
: exits  dup 0< IF drop 0 EXIT THEN 1+ ;
: uneven-exits  dup 0< IF EXIT THEN drop ;
: do-loop  0 swap 0 ?DO i + LOOP ;
: do-plus  0 swap 0 ?DO i + 2 +LOOP ;
: do-grows  0 ?DO i LOOP ;
: begin-loop  BEGIN 1- dup 0= UNTIL ;
: while-loop  0 swap BEGIN dup WHILE tuck + swap 1- REPEAT drop ;
: while-leaves  BEGIN dup 5 < WHILE 1+ REPEAT 7 ;
: grows-until  BEGIN dup dup 0= UNTIL ;
: grows-while  BEGIN dup WHILE dup REPEAT ;
: again-loop  BEGIN 1+ dup 5 = IF EXIT THEN AGAIN ;
: two-whiles  BEGIN dup WHILE dup 1 = WHILE 1- REPEAT THEN ;
: executes  execute ;
: calls  straight arms ;
: words  var buf pair here ;
: python-words  8 alloc-mem 8 free-mem ;
: picks-rolls  1 2 3 2 pick 3 roll ;
: r-stack  >r r@ r> 2>r 2r@ 2r> rdrop ;
: fails  s" no" true -rot (abort") ;
: checked  dup 0< IF s" negative" fails THEN 1+ ;
: checked-else  dup IF 2* ELSE drop s" zero" fails THEN ;
: only-fails  drop fails ;
: commas  here 1 , 2 c, 3 w, 4 l, align 8 allot ;
: strings  s" abc" 1 /string ;
: maker  s" made" $create , DOES> @ ;
: searches  wordlist forth-wordlist base hex decimal ;
"""


@pytest.fixture(scope="module")
def machine():
    m = Machine(dictionary_cache=False)
    m.evaluate(WORDS)
    return m


@pytest.mark.parametrize("word, delta", [
    ("straight", 1), ("arms", 0), ("qdup-arm", -1), ("exits", 0), ("do-loop", 0),
    ("do-plus", 0), ("calls", 1), ("words", 5), ("python-words", 0), ("picks-rolls", 4),
    ("uneven", None), ("uneven-exits", None), ("do-grows", None), ("begin-loop", 0),
    ("while-loop", 0), ("while-leaves", 1), ("grows-until", None), ("grows-while", None),
    ("again-loop", None), ("two-whiles", None),
    ("executes", None),
    # an arm that always throws does not count (what follows it never runs)
    ("checked", 0), ("checked-else", 0), ("commas", 1), ("strings", 2), ("maker", -1),
    ("searches", 3),
])
def test_definition_delta(machine, word, delta):
    xt = find(machine.vm, word.encode())[0]
    assert stack_effect.definition_delta(machine.vm, xt, []) == delta


def test_the_answer_is_read_again_when_the_body_changes(machine):
    m = Machine(dictionary_cache=False)
    m.evaluate(": inner 1 2 ; : outer inner + ;")
    vm = m.vm
    outer = find(vm, b"outer")[0]
    inner = find(vm, b"inner")[0]
    deps: list = []
    assert stack_effect.definition_delta(vm, outer, deps) == 1
    assert (inner + 8, inner + 8 + 40) in deps     # lit 1, lit 2, exit: read from inner
    # inner's second literal becomes DROP EXIT: inner now pushes nothing, outer takes one
    m.evaluate(f"' drop {inner + 24:x} !  ' exit {inner + 32:x} !  7 inner")
    assert m.stack == [7]
    assert stack_effect.definition_delta(vm, outer, []) == -1


def test_a_definition_that_always_throws(machine):
    vm = machine.vm
    for word in ("fails", "only-fails"):
        xt = find(vm, word.encode())[0]
        # every path through it ends in a throw: read from its threaded code, without
        # compiling it to find out
        assert stack_effect.call_always_throws(vm, xt) is not None
        assert xt not in vm.jit_code
    from slofpy.vm.codegen.decoder import Instruction  # noqa: F401  (what words are read as)
    checked = find(vm, b"checked")[0]
    deps: list = []
    assert stack_effect.definition_delta(vm, checked, deps) == 0
    fails = find(vm, b"fails")[0]
    assert any(lo == fails + 8 for lo, _ in deps)     # code that counts on it follows it


def test_a_buffer_made_by_create_does_not_hide_a_throw():
    # an error word that writes into a CREATE'd buffer first (as fdt-import.fs's fdt-error
    # does) still always throws; a CREATE word with DOES> code may do anything, so a word
    # that runs one is not counted on to throw
    m = Machine(dictionary_cache=False)
    m.evaluate(r"""
        create text 20 allot
        : buf-fails  text drop s" no" true -rot (abort") ;
        : does-maker  create DOES> drop ;
        does-maker child
        : child-fails  child s" no" true -rot (abort") ;
    """)
    vm = m.vm
    text = find(vm, b"text")[0]
    spans = stack_effect.call_always_throws(vm, find(vm, b"buf-fails")[0])
    assert spans is not None
    assert (text + 8, text + 16) in spans       # counted on: text has no DOES> code
    assert stack_effect.call_always_throws(vm, find(vm, b"child-fails")[0]) is None
