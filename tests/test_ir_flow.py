"""codegen/ir.py's read_flow: the tree the emitter walks. Every branch out of a structure is a
node of its own (LoopExit, Return, Continue), so shapes build_tree cannot show (several
WHILEs, an EXIT-like branch from inside a loop) still read as one tree, and a branch that fits
nothing is an Invalid node where the tree stops. The instructions are made by hand here:
read_flow looks only at their names, addresses and branch targets."""
from __future__ import annotations

import pytest

from slofpy.vm.codegen.decoder import Instruction
from slofpy.vm.codegen.ir import (Begin, Continue, DoLoop, Exit, If, Invalid, LoopExit, Return,
                                  Unstructured, Word, build_tree, read_flow)

_BRANCHES = ("branch", "0branch", "(do)", "(?do)", "(loop)", "(+loop)")


def assemble(*words: str) -> list[Instruction]:
    """Instructions from words: "name", "name>label" (a branch to label) or "label:"."""
    addr, labels, placed = 0x1000, {}, []
    for word in words:
        if word.endswith(":"):
            labels[word[:-1]] = addr
            continue
        name, _, label = word.partition(">")
        placed.append((addr, name, label))
        addr += 16 if name in _BRANCHES else 8
    return [Instruction(at, 0, 0, name, labels[label] if label else None)
            for at, name, label in placed]


def kinds(seq) -> list[str]:
    return [type(node).__name__ for node in seq.items]


def test_plain_structures_read_as_build_tree_reads_them():
    code = assemble("dup", "0branch>else", "1", "branch>then", "else:", "2", "then:",
                    "(do)>after", "body:", "i", "(loop)>body", "after:", "exit")
    tree = read_flow(code, 0, len(code), returns=True)
    assert kinds(tree) == ["Word", "If", "DoLoop", "Exit"]
    assert kinds(tree) == kinds(build_tree(code))
    node = tree.items[1]
    assert isinstance(node, If) and kinds(node.then) == ["Word"] and kinds(node.otherwise) == ["Word"]
    assert isinstance(tree.items[2], DoLoop) and kinds(tree.items[2].body) == ["Word"]
    assert (tree.lo, tree.hi) == (0, len(code))


def test_two_whiles_are_two_loop_exits_of_one_loop():
    # BEGIN dup WHILE dup 1 = WHILE 1- REPEAT THEN
    code = assemble("head:", "dup", "0branch>out", "dup", "1", "=", "0branch>then", "1-",
                    "branch>head", "then:", "out:", "exit")
    with pytest.raises(Unstructured):
        build_tree(code)
    tree = read_flow(code, 0, len(code), returns=True)
    assert kinds(tree) == ["Begin", "Exit"]
    loop = tree.items[0]
    assert isinstance(loop, Begin) and loop.kind == "again"
    assert kinds(loop.body) == ["Word", "LoopExit", "Word", "Word", "Word", "LoopExit", "Word"]


def test_a_branch_to_the_end_is_a_return_unless_inlined():
    # BEGIN 1- dup 0= IF EXIT THEN AGAIN, with its EXIT compiled as a branch to the end
    code = assemble("head:", "1-", "dup", "0=", "0branch>then", "branch>end", "then:",
                    "branch>head", "drop", "end:", "exit")
    loop = read_flow(code, 0, len(code), returns=True).items[0]
    arm = loop.body.items[-1]
    assert isinstance(arm, If) and kinds(arm.then) == ["Return"]
    inlined = read_flow(code, 0, len(code) - 1, returns=False).items[0]
    assert isinstance(inlined.body.items[-1].then.items[0], Invalid)


def test_a_second_branch_back_is_a_continue_and_until_closes_a_loop():
    code = assemble("head:", "dup", "0branch>skip", "branch>head", "skip:", "1-", "dup",
                    "0branch>head", "exit")
    loop = read_flow(code, 0, len(code), returns=True).items[0]
    assert isinstance(loop, Begin) and loop.kind == "until"
    assert isinstance(loop.body.items[1].then.items[0], Continue)


def test_a_conditional_return_and_a_dup_flag():
    code = assemble("?dup", "0branch>end", "1+", "end:", "exit")
    tree = read_flow(code, 0, len(code), returns=True)
    assert kinds(tree) == ["Return", "Word", "Exit"]
    assert tree.items[0].dup is code[0]
    assert isinstance(tree.items[0], Return) and isinstance(tree.items[1], Word)
    assert isinstance(tree.items[2], Exit)


def test_a_branch_that_fits_nothing_stops_the_tree():
    # a 0branch from inside an IF arm to past the IF, neither a loop's end nor the return
    code = assemble("0branch>then", "1", "0branch>far", "2", "then:", "3", "far:", "4", "exit")
    tree = read_flow(code, 0, len(code), returns=True)
    arm = tree.items[0].then
    assert kinds(arm) == ["Word", "Invalid"]
    assert arm.items[1].ins is code[2]


def test_leave_branch_out_of_a_do_loop_is_a_loop_exit():
    code = assemble("(do)>after", "body:", "i", "0branch>next", "branch>after", "next:",
                    "(loop)>body", "after:", "exit")
    loop = read_flow(code, 0, len(code), returns=True).items[0]
    assert isinstance(loop, DoLoop)
    assert isinstance(loop.body.items[1].then.items[0], LoopExit)
