#!/usr/bin/env python3
"""Capture real SLOF's console while it boots one of make-seeds.py's configurations.

Boots qemu-system-ppc64 (pseries, TCG, the slof.bin QEMU ships) with the configuration's
arguments and the console on a pipe, and writes NAME.console.raw next to this file: a header
line, then the bytes SLOF sent up to its first "0 >" prompt, with its copyright banner
replaced by one placeholder line (the captures keep what SLOF does, not its text). With
--times it also writes NAME.times.txt: each console line with the seconds since QEMU started
when its last byte arrived (where the boot spends its time: net-boot timeouts and the like).

With --pcap, the configuration's e1000 gets a network of its own (a QEMU hub port nothing
else is on) and a filter-dump writes every frame it sends to NAME.net.pcap: what SLOF's
net boot puts on the wire when nobody answers (pci-misc.net.pcap).

Usage: capture.py NAME [--times] [--pcap]     (NAME as in ../seeds/make-seeds.py --list)
"""
from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds"


def _make_seeds():
    spec = importlib.util.spec_from_file_location("make_seeds", SEEDS / "make-seeds.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def without_banner(console: bytes) -> bytes:
    """SLOF's copyright banner (4 lines of copyright-oss.fs) as one placeholder line."""
    return re.sub(rb"  Copyright \(c\) [^\n]*\n[ .0-9]*  This program [^\n]*\n[ .0-9]*  under the "
                  rb"terms [^\n]*\n[ .0-9]*  http://www\.opensource\.org/[^\r\n]*",
                  b"  [SLOF's copyright banner (4 lines) is not kept in this capture]", console)


def main(argv: list[str]) -> int:
    ms = _make_seeds()
    name = argv[0]
    cfg = next(c for c in ms.CONFIGS if c["name"] == name)
    args = list(cfg["args"])
    if "--pcap" in argv:
        i = args.index("e1000")
        args[i:i + 1] = ["e1000,netdev=h0", "-netdev", "hubport,id=h0,hubid=0", "-object",
                         f"filter-dump,id=f0,netdev=h0,file={HERE / (name + '.net.pcap')}"]
    session = ms.Session(args)
    times: list[str] = []
    try:
        pending = b""
        while True:
            chunk = session.read_until(b"\n", 300)
            now = time.monotonic() - session.t0
            pending += chunk
            times.append(f"{now:8.3f} {chunk.decode('latin-1').rstrip()}")
            if b"Type 'boot' and press return" in chunk:
                break
        rest = session.read_until(ms.PROMPT, 300)
        pending += rest
    finally:
        session.close()
    header = (f"# Real SLOF's console while booting, configuration '{name}': "
              f"{ms.qemu_cmdline(cfg)}; bytes as sent, up to the first prompt\n").encode()
    (HERE / f"{name}.console.raw").write_bytes(header + without_banner(pending))
    if "--times" in argv:
        text = without_banner("\n".join(times).encode("latin-1")).decode("latin-1")
        (HERE / f"{name}.times.txt").write_text(text + "\n", encoding="latin-1")
    print(f"wrote {HERE / (name + '.console.raw')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
