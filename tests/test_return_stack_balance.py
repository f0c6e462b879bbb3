"""codegen/analysis.py's return-stack balance: a definition that reads return-stack entries
it did not push (or leaves some of its own) must not be compiled, since generated code keeps
no threaded return addresses. The answer is read on the definition's tree, and branch by
branch where the tree cannot show the code; both readings are checked here on the same
definitions."""
from __future__ import annotations

import pytest

from slofpy import Machine
from slofpy.vm.codegen import analysis
from slofpy.vm.codegen.decoder import decode
from slofpy.vm.codegen.ir import Unstructured, build_tree
from slofpy.vm.dictionary import find

WORDS = r"""
: pushes-pops  >r 1 r> + ;
: peeks  >r r@ r> + ;
: pops-callers  r> drop ;
: peeks-callers  r@ ;
: leaves-one  >r ;
: arms-agree  IF >r 1 r> ELSE 2 THEN ;
: arms-differ  IF >r THEN 1 ;
: pops-in-arm  >r IF r> ELSE r> THEN ;
: exits-pushed  >r IF EXIT THEN r> ;
: exits-clean  >r IF r> EXIT THEN r> ;
: until-balanced  BEGIN >r r> 1- dup 0= UNTIL ;
: until-grows  BEGIN >r 1- dup 0= UNTIL ;
: while-balanced  BEGIN dup WHILE >r 1- r> drop REPEAT ;
: while-grows  BEGIN dup WHILE >r 1- REPEAT ;
: again-exits  BEGIN 1- dup 0= IF EXIT THEN AGAIN ;
: do-balanced  0 ?DO i >r r> drop LOOP ;
: do-grows  0 DO i >r LOOP ;
: two-pairs  2>r 2r@ 2r> 2drop ;
: two-whiles-balanced  BEGIN dup WHILE dup 1 = WHILE >r 1- r> REPEAT THEN ;
: two-whiles-grow  BEGIN dup WHILE dup 1 = WHILE >r 1- REPEAT THEN ;
"""

UNBALANCED = {"pops-callers", "peeks-callers", "leaves-one", "arms-differ", "exits-pushed",
              "until-grows", "while-grows", "do-grows", "two-whiles-grow"}
NAMES = [line.split()[1] for line in WORDS.strip().splitlines()]


@pytest.fixture(scope="module")
def machine():
    m = Machine(dictionary_cache=False)
    m.evaluate(WORDS)
    return m


def code_of(machine, name: str):
    vm = machine.vm
    xt, _ = find(vm, name.encode())
    return decode(vm, xt + 8)


@pytest.mark.parametrize("name", NAMES)
def test_balance_read_on_the_tree_and_branch_by_branch_agree(machine, name):
    code = code_of(machine, name)
    expected = name in UNBALANCED
    assert analysis.return_stack_unbalanced(code) is expected
    if not analysis.RS_CALLERS & {ins.name for ins in code}:
        assert analysis._rs_unbalanced_by_branches(code) is expected


@pytest.mark.parametrize("name", ["two-whiles-balanced", "two-whiles-grow"])
def test_code_the_tree_cannot_show_is_followed_branch_by_branch(machine, name):
    with pytest.raises(Unstructured):
        build_tree(code_of(machine, name))
