#!/usr/bin/env python3
"""Capture the PCI configuration space real QEMU answers, read through real SLOF's RTAS calls.

For each configuration NAME of ../seeds/make-seeds.py given on the command line, this boots
QEMU+SLOF with the same options, waits for SLOF's "0 >" prompt (so SLOF has probed and
assigned every BAR and bridge window), and writes NAME.config.txt next to this script:

  phb BUID                 a PCI host bridge (BUID = its reg address)
  fn BUS:DEV.FN            a function below it, as QEMU's seed lists it
  cfg OFFSET: DWORDS       config space as SLOF's ibm,read-pci-config reads it (4 bytes each)
  ones OFFSET: DWORDS      each header dword read back after writing all ones to it
                           (the value before is written back right after; at 3C the
                           ones leave out bit 22, a bridge's secondary bus reset)

The functions are those QEMU's seed tree (../seeds/NAME.seed.dtb) describes. Only the
first 64 bytes get the all-ones probe: the header's writable bits, the BAR sizes and the
bridge's bus numbers and window registers.

Usage: capture-pci-config.py NAME ...   (bridges2 bridges3 phb2 default)
"""
from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path

import libfdt

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds"

_spec = importlib.util.spec_from_file_location("make_seeds", SEEDS / "make-seeds.py")
make_seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_seeds)

# ( addr -- ) the 64 dwords of a function's config space, in hex.
DEFINE_DUMP = (": cfgdump ( addr -- ) 100 0 do dup i + rtas-config-l@ 8 0.r space "
               "4 +loop drop ;")
# ( addr -- ) each of the 16 header dwords after writing all ones; then the old value again.
# At 3C the ones leave out bit 22: on a bridge that is "secondary bus reset" (bridge
# control bit 6), which would reset every function behind it.
DEFINE_ONES = (": cfgones ( addr -- ) 40 0 do dup i + dup rtas-config-l@ over "
               "i 3c = if ffbfffff else ffffffff then swap "
               "rtas-config-l! over rtas-config-l@ 8 0.r space swap rtas-config-l! "
               "4 +loop drop ;")


def seed_functions(seed: Path) -> list[tuple[int, list[int]]]:
    """(BUID, [config address of each function]) for every PHB of the seed tree."""
    fdt = libfdt.Fdt(seed.read_bytes())
    phbs = []
    root = fdt.path_offset("/")
    node = fdt.first_subnode(root, quiet=(libfdt.NOTFOUND,))
    while node >= 0:
        device_type = fdt.getprop(node, "device_type", quiet=(libfdt.NOTFOUND,))
        if not isinstance(device_type, int) and bytes(device_type) == b"pci\0":
            reg = bytes(fdt.getprop(node, "reg"))
            buid = int.from_bytes(reg[:8], "big")
            addrs = []
            depth = 0
            child = node
            while True:
                child, depth = fdt.next_node(child, depth, quiet=(libfdt.NOTFOUND,))
                if child < 0 or depth <= 0:
                    break
                creg = fdt.getprop(child, "reg", quiet=(libfdt.NOTFOUND,))
                if not isinstance(creg, int) and len(creg) >= 20:
                    addrs.append(int.from_bytes(bytes(creg)[:4], "big") & 0xFFFF00)
            phbs.append((buid, addrs))
        node = fdt.next_subnode(node, quiet=(libfdt.NOTFOUND,))
    return phbs


def words(out: bytes) -> str:
    text = out.decode("latin1")
    found = re.findall(r"\b[0-9a-fA-F]{8}\b", text)
    return " ".join(w.lower() for w in found)


def capture(name: str) -> str:
    cfg = next(c for c in make_seeds.CONFIGS if c["name"] == name)
    phbs = seed_functions(SEEDS / f"{name}.seed.dtb")
    lines = [f"# {name}: {make_seeds.qemu_cmdline(cfg)}",
             "# QEMU's config space read through real SLOF's RTAS calls at its prompt."]
    with tempfile.TemporaryDirectory() as scratch:
        for image, size in make_seeds.IMAGES.items():
            (Path(scratch) / image).write_bytes(bytes(size))
        session = make_seeds.Session(make_seeds.substitute(cfg["args"], None), cwd=scratch)
        try:
            session.wait_prompt(600)
            session.command(DEFINE_DUMP)
            session.command(DEFINE_ONES)
            # Every function's state first, then the all-ones probes (which briefly
            # change bus numbers and windows).
            dumps = {}
            for buid, addrs in phbs:
                for addr in addrs:
                    dumps[buid, addr] = words(
                        session.command(f"{buid:x} to puid {addr:x} cfgdump"))
            ones = {}
            for buid, addrs in phbs:
                for addr in addrs:
                    ones[buid, addr] = words(
                        session.command(f"{buid:x} to puid {addr:x} cfgones"))
            for buid, addrs in phbs:
                lines.append(f"phb {buid:x}")
                for addr in addrs:
                    where = f"{addr >> 16:02x}:{(addr >> 11) & 0x1F:02x}.{(addr >> 8) & 7:x}"
                    dump, probe = dumps[buid, addr], ones[buid, addr]
                    if len(dump.split()) != 64 or len(probe.split()) != 16:
                        raise ValueError(f"{name} {where}: short dump {dump!r} {probe!r}")
                    lines.append(f"fn {where}")
                    lines.append(f"cfg {dump}")
                    lines.append(f"ones {probe}")
        finally:
            session.close()
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    for name in argv:
        (HERE / f"{name}.config.txt").write_text(capture(name))
        print(f"wrote {name}.config.txt", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
