"""Dialect words next to real SLOF's answers at its prompt (issue 16, items 4 and 5): `split`,
`rsplit` and `left-parse-string` (which part keeps the delimiter), and `lsprop` (the `node:`
header, the children one level deeper). The answers were captured from real SLOF by
tests/data/dialect/capture.py into tests/data/dialect/slof-prompt.txt; each typed line runs
on the booted board and must print byte for byte what SLOF printed."""
from __future__ import annotations

from pathlib import Path

import pytest

from slofpy.firmware.board import boot_machine

CAPTURE = Path(__file__).parent / "data" / "dialect" / "slof-prompt.txt"


def transcript() -> list[tuple[str, str]]:
    """(typed line, SLOF's answer without the echo's two spaces and the closing " ok")."""
    text = CAPTURE.read_bytes().decode("latin-1")
    pairs = []
    for block in text.split("\n=== ")[1:]:
        line, _, answer = block.partition("\n")
        answer = answer.rstrip("\n")
        answer = answer[2:] if answer.startswith("  ") else answer
        pairs.append((line, answer[:-3] if answer.endswith(" ok") else answer))
    return pairs


PAIRS = transcript()
DEFINITION = PAIRS[0][0]           # the `sp` helper the other lines use
assert DEFINITION.startswith(": sp ")


@pytest.fixture(scope="module")
def board():
    fw = boot_machine()
    fw.evaluate(DEFINITION)
    fw.take_output()
    return fw


# The one part real SLOF prints that slofpy cannot: the disk it found by probing the v-scsi
# target (tests/data/board-differences: the hosts model no SCSI target).
PROBED_DISK = ("\n\n        node: disk\n        device_type                      block\x00\n"
               "                                         626c6f63  6b00\n"
               "        name                             disk\x00\n"
               "                                         6469736b  00")


@pytest.mark.parametrize("line,answer", PAIRS[1:], ids=[p[0] for p in PAIRS[1:]])
def test_prints_what_real_slof_prints(board, line, answer):
    board.evaluate(line)
    if line == "lsprop /vdevice":
        assert PROBED_DISK in answer
        answer = answer.replace(PROBED_DISK, "")
    assert board.take_output() == answer
    assert board.stack == []


def test_the_capture_covers_both_items():
    typed = [line for line, _ in PAIRS]
    assert sum(" split " in t for t in typed) >= 5 and sum("rsplit" in t for t in typed) >= 3
    assert any(t.startswith("lsprop /vdevice/") for t in typed) and "lsprop /vdevice" in typed
    assert all("node: " in a for t, a in PAIRS if t.startswith("lsprop"))


def test_properties_are_not_indented_after_lsprop(board):
    board.evaluate("lsprop /vdevice")
    board.evaluate("dev /vdevice/vty@71000000 .properties device-end")
    out = board.take_output()
    tail = out[out.rindex("\n\n") + 1:]
    assert tail.startswith("\nslof,from-fdt")
