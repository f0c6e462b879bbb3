#!/usr/bin/env python3
"""Capture what real SLOF reads from QEMU's display adapters, for test_slof_display.

QEMU 7.2 boots Debian's slof.bin on the pci-vga machine (tests/data/seeds/make-seeds.py has
the same command line: std VGA at 00.0, cirrus-vga at 01.0, virtio-gpu-pci at 02.0); at the
"0 >" prompt each line of LINES is typed in turn and what SLOF printed is written to
replies.txt as

    === LINE
    <reply, echo and prompt removed, CRLF -> LF>
    --- end

The addresses are the ones real SLOF assigned (pci-vga.slof.dts): the PHB's I/O window at
0x200000000000 (VGA ports 0x3b0-0x3df), std VGA BAR 0 (framebuffer) at 0x200080000000 and
BAR 2 (MMIO) at 0x200081000000, Cirrus BAR 0 (linear framebuffer) at 0x200082000000.
Run from anywhere:

    python3 tests/data/display/capture.py
"""
from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds"
spec = importlib.util.spec_from_file_location("make_seeds", SEEDS / "make-seeds.py")
make_seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_seeds)

ARGS = ["-m", "512", "-device", "VGA", "-device", "cirrus-vga", "-device", "virtio-gpu-pci"]
LINES = [
    # input status 1 through the I/O window, twice: it toggles
    "2000000003da rb@ . 2000000003da rb@ .",
    # the std VGA's own input status 1, through its MMIO BAR
    "20008100041a rb@ .",
    # the VBE ID register
    "200081000500 rw@-le .",
    # the framebuffers after the boot
    "200082000000 rx@ . 200082100000 rx@ . 200080000000 rx@ .",
    # RFILL: the pattern's low byte, the length exact
    "200082000000 11 1234 rfill 200082000000 rx@ . 200082000008 rx@ . 200082000010 rx@ .",
    "200080000003 7 a5 rfill 200080000000 rx@ . 200080000008 rx@ .",
    # RMOVE from RAM to a framebuffer, back, and within one
    's" ABCDEFGHIJ" 200082000100 swap rmove 200082000100 rx@ . 200082000108 rw@ .',
    "200082000101 here 6 rmove here 6 type",
    "200082000100 200082000102 8 rmove 200082000100 rx@ . 200082000108 rw@ .",
    's" xyz" 200080000101 swap mrmove 200080000100 rl@ .',
    # the same bytes read with each CI load size
    "200082000100 rb@ . 200082000100 rw@ . 200082000100 rl@ .",
]


def main() -> int:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        s = make_seeds.Session(ARGS, cwd=tmp)
        try:
            s.wait_prompt(600)
            for line in LINES:
                reply = s.command(line).decode("latin-1")
                out.append(f"=== {line}\n{reply}\n--- end\n")
        finally:
            s.close()
    head = ("# Real SLOF (Debian's slof.bin) on QEMU 7.2, pseries, TCG: "
            f"{' '.join(ARGS)}; written by capture.py\n")
    (HERE / "replies.txt").write_text(head + "".join(out), encoding="latin-1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
