#!/usr/bin/env python3
"""Capture what real QEMU's qemu-xhci registers hold at real SLOF's prompt, on the pci-misc
machine (-device e1000 -device qemu-xhci -device usb-kbd; make-seeds.py's configuration).

Boots QEMU+SLOF to its first "0 >" prompt (after the failed net boot: about 90 s under TCG)
and reads the capability registers and the eight PORTSC registers with `rl@` at the BAR's
CPU address (SLOF put BAR 0 at PCI 0x80080000, which the PHB's 32-bit window maps at CPU
0x200080080000). `rl@` reads big-endian, so each value is the register byte-swapped. Writes
xhci-registers.txt next to this file: "OFFSET VALUE" lines (hex, as SLOF printed them).

Usage: capture.py      (needs qemu-system-ppc64 and /usr/share/qemu/slof.bin)
"""
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
BAR_CPU = 0x200080080000
OFFSETS = [0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x20, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38,
           0x3C] + [0x440 + 0x10 * i for i in range(8)]


def main() -> None:
    spec = importlib.util.spec_from_file_location("make_seeds",
                                                  HERE.parent / "seeds" / "make-seeds.py")
    ms = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ms)
    cfg = next(c for c in ms.CONFIGS if c["name"] == "pci-misc")
    session = ms.Session(cfg["args"])
    lines = [f"# qemu-xhci registers at real SLOF's prompt: {ms.qemu_cmdline(cfg)}"]
    try:
        session.wait_prompt(300)
        for offset in OFFSETS:
            reply = session.command(f"{BAR_CPU + offset:x} rl@ .").decode().split()[0]
            lines.append(f"{offset:x} {reply}")
    finally:
        session.close()
    (HERE / "xhci-registers.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
