"""slofpy's replies to small Forth lines against real SLOF's, captured at its prompt.

tests/data/slof-prompt/replies.txt holds what real SLOF (QEMU 7.2's slof.bin) printed for
each line of tests/data/slof-prompt/capture.py, typed one after another at its "0 >" prompt,
and the stack depth its next prompt showed. Here the same lines go, in the same order, into
one bare slofpy VM as lines typed at its prompt (Machine.interpret_line), and what they print
(white space folded) and the depth afterwards must be the same.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from slofpy import Machine
from slofpy.errors import ForthError

DATA = Path(__file__).resolve().parent / "data" / "slof-prompt" / "replies.txt"

# Lines about issue 18's item 1, the return-address convention (`r>` in a called word is the
# address of the cell that called it, so SLOF's inline-operand readers such as `r> cell+ dup
# >r @` and instance.fs's (doito) work). slofpy follows it; they are compared like the rest.
RETURN_ADDRESS = "return-address"

# Lines whose reply depends on something other than the convention they were captured for,
# where slofpy still differs from paflof on purpose, each with the reason. Kept out of the
# comparison; test_return_address_is_the_calling_cell checks the convention itself.
NOT_COMPARED: set[str] = set()


def captured() -> list[tuple[str, str, str, int]]:
    """(group, line, reply, depth) for every captured line, in capture order."""
    text = DATA.read_text(encoding="latin-1")
    out = []
    for m in re.finditer(r"^=== ([^\n|]*?) \| ([^\n]*)\n(.*?)\n--- depth (-?\d+)\n", text, re.M | re.S):
        out.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
    return out


def fold(text: str) -> str:
    return " ".join(text.split())


def slofpy_replies(lines: list[str]) -> list[tuple[str, int]]:
    """Each line typed into one VM: what it printed, as SLOF's prompt shows it (the output,
    then "ok", or SLOF's error line), and the stack depth after it."""
    m = Machine()
    out = []
    for line in lines:
        before = m.stack
        try:
            m.interpret_line(line, timeout=20)
            reply = m.take_output() + " ok"
        except ForthError as e:
            reply = m.take_output() + f" {e}"
            m.vm.s[:] = before            # SLOF's prompt gives back the stack from before
        out.append((fold(reply), len(m.stack)))
    return out


ALL = captured()
COMPARED = [c for c in ALL if c[1] not in NOT_COMPARED]


def test_capture_is_complete():
    """Every group the capture script names is in the data, and lines ran without errors
    at SLOF's prompt (a reply ending in "ok")."""
    groups = {c[0] for c in ALL}
    assert {"wordlist", "current", "context", "find", "there", "search", "struct",
            "sliteral", "input", "pocket", "abort", "runtime", "backslash", "c@+",
            RETURN_ADDRESS} <= groups
    assert len(COMPARED) >= 70
    for group, line, reply, _ in ALL:
        assert fold(reply).endswith("ok"), (group, line, reply)


@pytest.fixture(scope="module")
def replies() -> dict[str, tuple[str, int]]:
    lines = [c[1] for c in COMPARED]
    return dict(zip(lines, slofpy_replies(lines)))


@pytest.mark.parametrize("group,line,reply,depth", COMPARED,
                         ids=[f"{c[0]}:{i}" for i, c in enumerate(COMPARED)])
def test_reply_matches_real_slof(replies, group, line, reply, depth):
    assert replies[line] == (fold(reply), depth), line


def test_return_address_is_the_calling_cell():
    """The convention the ra1 line was captured for: R> in a called word is the address of
    the cell holding its xt in the caller (here the caller's first body cell, paflof's
    ' rb1 >body less a cell, as real SLOF prints -8), in threaded and in generated code."""
    for jit in (False, True):
        m = Machine()
        m.vm.jit_enabled = jit
        m.interpret_line(": ra1 r> dup >r ; : rb1 ra1 ;  : rb3 rb1 rb1 rb1 ;")
        m.interpret_line("rb3 rb1 ' rb1 >body - . ' rb1 >body - . ' rb1 >body - . ' rb1 >body - .")
        m.interpret_line("' ra1 ' rb1 cell+ @ = .")
        assert fold(m.take_output()) == "-8 -8 -8 -8 -1", jit
