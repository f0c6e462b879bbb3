#!/usr/bin/env python3
"""Capture what real SLOF does with CAS (ibm,client-architecture-support), for slofpy's tests.

For each interrupt-controller mode in MODES (QEMU's `ic-mode` machine property), this boots
QEMU's pseries machine with real SLOF (the same way as ../seeds/make-seeds.py, whose Session
class it uses), and at SLOF's "0 >" prompt:

1. flattens SLOF's tree: MODE.before.dtb;
2. builds Linux's option vectors in Forth (the bytes of VECTORS, with the interrupt and MMU
   bytes chosen from /chosen "ibm,arch-vec-5-platform-support" as Linux's prom_init does),
   opens "/" and calls its method ibm,client-architecture-support with them; the method's
   result goes to MODE.result.txt;
3. flattens SLOF's tree again: MODE.after.dtb;
4. calls hv-cas (0xF002) itself with the same vectors and a 2 MiB buffer of its own and
   keeps what QEMU wrote after the 4-byte update header: MODE.update.dtb (QEMU's tree after
   CAS; the header's version goes to MODE.result.txt).

Also MODE.seed.dtb (-M pseries,ic-mode=MODE,dumpdtb=...). Every .dtb gets a .dts (dtc).

Usage: make-cas.py [MODE ...]     (xics, xive, dual; about a minute each)
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("make_seeds", HERE.parent / "seeds" / "make-seeds.py")
seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seeds)

MODES = ["xics", "xive", "dual"]
ARGS = ["-m", "512"]

# Linux's ibm_architecture_vec (arch/powerpc/kernel/prom_init.c), as bytes: the PVR list
# (mask, value pairs; the last one, with a value bit outside its mask, ends it), then the
# number of vectors less one and vectors 1..6, each a length-less-one byte and its bytes.
PVRS = [(0xfffe0000, 0x003a0000), (0xffff0000, 0x003e0000), (0xffff0000, 0x003f0000),
        (0xffff0000, 0x004b0000), (0xffff0000, 0x004c0000), (0xffff0000, 0x004d0000),
        (0xffff0000, 0x004e0000), (0xffff0000, 0x00800000), (0xffffffff, 0x0f000006),
        (0xffffffff, 0x0f000005), (0xffffffff, 0x0f000004), (0xffffffff, 0x0f000003),
        (0xffffffff, 0x0f000002), (0xfffffffe, 0x0f000001)]


def linux_vectors(intarch: int, mmu: int, radix_ext: int) -> bytes:
    """Linux's option vectors with vector 5's interrupt (byte 23) and MMU bytes (24, 26)."""
    out = bytearray()
    for mask, value in PVRS:
        out += mask.to_bytes(4, "big") + value.to_bytes(4, "big")
    out.append(5)                                   # six vectors
    vec1 = bytes([0x00, 0xff, 0xc0])                # ISA 2.00 .. 2.07, 3.00, 3.1
    vec2 = (bytes([0x20, 0, 0]) + b"\xff" * 16 + (512).to_bytes(4, "big") + b"\xff" * 4
            + bytes([0, 48]))                       # real mode, min RMA 512 MB, max PFT 48
    vec3 = bytes([0x00, 0xe0])                      # FP, VMX, DFP
    vec4 = bytes([0x00, 10])                        # minimum entitled capacity 10%
    vec5 = bytearray(26)
    vec5[1] = 0xf3          # LPAR SPLPAR DRCONF_MEMORY LARGE_PAGES DONATE_DEDICATE_CPU MSI
    vec5[3] = 0xc0          # CMO XCMO
    vec5[4] = 0xe0          # FORM1 affinity, PRRN, FORM2 affinity
    vec5[5] = 0x05          # HP_EVT, RESIZE_HPT
    vec5[8:12] = (2048).to_bytes(4, "big")          # max cores
    vec5[16] = 0xe0         # PFO: RNG, encryption, 842
    vec5[20] = 1            # sub-processors
    vec5[21] = 0xc0         # DRMEM_V2, DRC_INFO
    vec5[22] = intarch
    vec5[23] = mmu
    vec5[25] = radix_ext
    vec6 = bytes([0x00, 0x00, 0x02])                # OS name: Linux
    for vec in (vec1, vec2, vec3, vec4, bytes(vec5), vec6):
        out.append(len(vec) - 1)
        out += vec
    return bytes(out)


def choices(platform_support: bytes) -> tuple[int, int, int]:
    """(intarch, mmu, radix_ext) as prom_init picks them from the platform-support pairs."""
    pairs = {platform_support[i]: platform_support[i + 1]
             for i in range(0, len(platform_support) - 1, 2)}
    xive = pairs.get(0x17, 0) & 0xc0 in (0x40, 0x80)
    radix = pairs.get(0x18, 0) & 0xc0 in (0x40, 0x80, 0xc0)
    gtse = bool(pairs.get(0x1a, 0) & 0x40)
    return (0x40 if xive else 0), (0x40 if radix else 0), (0x40 if radix and gtse else 0)


def forth_lines(vec: bytes) -> list[str]:
    """Forth lines that put `vec` into the buffer `ov`, one byte at a time."""
    lines = ["create ov 400 allot  variable ovp  ov ovp !",
             ": ov-c ( c -- ) ovp @ c! 1 ovp +! ;"]
    for i in range(0, len(vec), 24):
        lines.append(" ".join(f"{b:x} ov-c" for b in vec[i:i + 24]))
    return lines


def platform_support(seed: bytes) -> bytes:
    import libfdt
    fdt = libfdt.Fdt(bytearray(seed))
    node = fdt.path_offset("/chosen")
    return bytes(fdt.getprop(node, "ibm,arch-vec-5-platform-support"))


def capture(mode: str, work: Path) -> None:
    seed = HERE / f"{mode}.seed.dtb"
    res = subprocess.run([seeds.QEMU, "-M", f"pseries,ic-mode={mode},dumpdtb={seed}",
                          *seeds.BASE_ARGS, *ARGS], cwd=work, capture_output=True, text=True)
    if not seed.is_file():
        raise RuntimeError(f"dumpdtb failed: {res.stderr}")
    vec = linux_vectors(*choices(platform_support(seed.read_bytes())))
    (HERE / f"{mode}.vectors.bin").write_bytes(vec)
    s = Session(mode, work)
    try:
        s.wait_prompt(600)
        s.command(seeds.DEFINE_HX)
        blobs = {"before": seeds.parse_hex_dump(s.command(seeds.FLATTEN, 600))}
        for line in forth_lines(vec):
            s.command(line)
        result = s.command('ov s" ibm,client-architecture-support" s" /" open-dev $call-method .')
        blobs["after"] = seeds.parse_hex_dump(s.command(seeds.FLATTEN, 600))
        s.command("200000 alloc-mem value casbuf")
        rc = s.command("ov casbuf 200000 hv-cas .")
        version = s.command("casbuf l@ .")
        blobs["update"] = seeds.parse_hex_dump(s.command(
            'casbuf 4 + dup >fdth_tsize l@ cr ." <<<" cr hx ." >>>" cr'))
    finally:
        (work / f"{mode}.transcript.txt").write_bytes(s.transcript)
        s.close()
    for name, blob in blobs.items():
        seeds.check_blob(blob, f"{mode}.{name}.dtb")
        path = HERE / f"{mode}.{name}.dtb"
        path.write_bytes(blob)
        seeds.dtb_to_dts(path, path.with_suffix(".dts"))
    seeds.dtb_to_dts(seed, seed.with_suffix(".dts"))
    result, rc, version = (x.decode().replace(" ok", "").strip() for x in (result, rc, version))
    (HERE / f"{mode}.result.txt").write_text(
        f"# real SLOF, qemu-system-ppc64 -M pseries,ic-mode={mode} {' '.join(ARGS)}\n"
        f"method ibm,client-architecture-support returned: {result}\n"
        f"hv-cas returned: {rc}\n"
        f"update header version: {version}\n")
    print(f"{mode}: method {result!r}, hv-cas {rc!r}, "
          + ", ".join(f"{k} {len(v)} bytes" for k, v in blobs.items()))


class Session(seeds.Session):
    """make-seeds' Session with the ic-mode machine property."""

    def __init__(self, mode: str, cwd: Path):
        import subprocess as sp
        import time
        self.t0 = time.monotonic()
        self.proc = sp.Popen([seeds.QEMU, "-M", f"pseries,ic-mode={mode}", *seeds.BASE_ARGS,
                              *ARGS, *seeds.RUN_ARGS], stdin=sp.PIPE, stdout=sp.PIPE,
                             stderr=sp.DEVNULL, cwd=str(cwd), start_new_session=True)
        self.buf = b""
        self.transcript = b""


def main(argv: list[str]) -> int:
    modes = argv or MODES
    with tempfile.TemporaryDirectory(prefix="slof-cas-") as tmp:
        work = Path(os.environ.get("CAS_WORKDIR") or tmp)   # keeps transcripts when set
        for mode in modes:
            capture(mode, work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
