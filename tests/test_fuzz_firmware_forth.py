"""Random Forth over the whole vocabulary of the booted board (the kernel's words, forth/'s
Open Firmware words and board-qemu's) ends only in success or a `ForthError` (issue 16,
item 7): never another Python exception. Each case is a short random token stream, run on
the board after the previous case; when a case leaves the VM unable to run `1 2 + .` (it
may legitimately: these streams store anywhere, redefine and retarget words), the board is
restored from its snapshot. A case that runs out of its time limit (a random loop count, a
random `spaces`) is a ForthError too and is counted, not failed.

100 cases in CI; SLOFPY_FUZZ_SCALE=100 runs 10,000 (tests/README.md)."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from fuzz_support import SEED, cases, report
from slofpy import ForthError
from slofpy.firmware.board import boot_machine
from slofpy.machine import Bye

CASE_TIME_LIMIT = 2.0

# Only what ends the VM by design; every other word, firmware ones included, is fair game.
LEAVES = {"bye", "reset-all", "power-off", "halt", "reboot", "quit"}


@pytest.fixture(scope="module")
def board():
    fw = boot_machine()
    return fw, fw.snapshot()


def vocabulary(fw) -> list[str]:
    fw.evaluate("words also client-voc words previous")
    return sorted({w for w in fw.take_output().split() if w.lower() not in LEAVES})


def token(rng: random.Random, words: list[str]) -> str:
    pick = rng.random()
    if pick < 0.7:
        return rng.choice(words)
    if pick < 0.9:
        return "#" + str(rng.choice([0, 1, 2, 3, 4, 8, 16, -1, 0x100, 1 << 32, -(1 << 63),
                                     rng.randrange(-(1 << 63), 1 << 63)]))
    return rng.choice(['s" /vdevice"', 's" /cpus"', 's" /pci@800000020000000"', 's" reg"',
                       's" name"', 'c" x"', '" /"', "here", "pad", "get-node", "device-tree @",
                       "dev /", "dev /vdevice", "device-end"])


def test_random_firmware_forth_ends_only_in_forth_errors(board):
    fw, snap = board
    words = vocabulary(fw)
    assert len(words) > 900 and "find-node" in words and "encode-int" in words
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    restores = 0
    for case in range(cases(100)):
        program = " ".join(token(rng, words) for _ in range(rng.randint(1, 10)))
        try:
            fw.evaluate(program, timeout=CASE_TIME_LIMIT)
            outcomes["ok"] += 1
        except ForthError as e:
            outcomes["timeout" if e.code == -256 else "error"] += 1
        except Bye:
            outcomes["bye"] += 1
        except Exception as e:     # the defect this test is for
            pytest.fail(f"case {case}: {program!r} raised {type(e).__name__}: {e}")
        fw.take_output()
        fw.vm.s.clear()
        try:
            fw.evaluate("device-end decimal 1 2 + .", timeout=CASE_TIME_LIMIT)
            sane = fw.take_output().endswith("3 ")
        except ForthError:
            sane = False
        if not sane:
            fw.restore(snap)
            fw.take_output()
            restores += 1
    report(f"firmware Forth: {dict(outcomes)}, {restores} restores")
    assert outcomes["ok"] + outcomes["error"] + outcomes["timeout"] + outcomes["bye"] == cases(100)
