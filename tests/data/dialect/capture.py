#!/usr/bin/env python3
"""Capture real SLOF's answers to the dialect lines in LINES at its "0 >" prompt.

Boots QEMU's pseries machine (the `default` configuration of ../seeds/make-seeds.py, whose
Session class drives the console) and types each line; writes slof-prompt.txt next to this
script: "=== LINE", then what SLOF printed (echo and prompt removed, CRLF -> LF).

Usage: python3 tests/data/dialect/capture.py     (needs qemu-system-ppc64 with slof.bin)
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("make_seeds", HERE.parent / "seeds" / "make-seeds.py")
make_seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_seeds)

# `sp` prints the top string in brackets: after split ( left len right len ) `sp sp` shows
# the right part, then the left one.
LINES = [
    ': sp ( str len -- ) ." [" type ." ]" ;',
    's" /a/b" 2f split sp sp',
    's" a/b/c" 2f split sp sp',
    's" abc" 2f split sp sp',
    's" abc/" 2f split sp sp',
    's" /" 2f split sp sp',
    's" a//b" 2f split sp sp',
    's" " 2f split sp sp',
    's" a/b/c" 2f rsplit sp sp',
    's" /a/b" 2f rsplit sp sp',
    's" abc" 2f rsplit sp sp',
    's" abc/" 2f rsplit sp sp',
    's" a//b" 2f rsplit sp sp',
    's" a/b/c" 2f left-parse-string sp sp',
    'lsprop /vdevice/vty@71000000',
    'lsprop /vdevice/nvram@71000001',
    'lsprop /vdevice',
]


def main() -> int:
    s = make_seeds.Session(["-m", "512"])
    try:
        s.wait_prompt(600)
        parts = []
        for line in LINES:
            parts.append(f"=== {line}\n" + s.command(line).decode("latin1") + "\n")
    finally:
        s.close()
    head = ("# Real SLOF (QEMU 7.2 pseries, -m 512 -nic none -vga none) at its '0 >' prompt;\n"
            "# captured with tests/data/dialect/capture.py.\n\n")
    (HERE / "slof-prompt.txt").write_bytes((head + "".join(parts)).encode("latin1"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
