#!/usr/bin/env python3
"""Capture real SLOF's replies to lines that drive its virtio drivers, for test_slof_seeds_virtio.

For each configuration below, QEMU 7.2 boots Debian's slof.bin with the devices of the seed of
the same name (tests/data/seeds/make-seeds.py has the same command lines); at the "0 >" prompt
the lines are typed one after another and what SLOF printed for each is written to
replies.txt as

    === CONFIG | LINE
    <reply, echo and prompt removed, CRLF -> LF>
    --- end

The virtio-blk image (disk0.img, 1 MiB) has "SLOF" at offset 0, "sector 1" at 0x200 and
the 55 AA signature at 0x1fe; the scsi-hd image (disk1.img) is blank. (No loops typed at the
prompt: SLOF compiles an interpreted DO into the memory at HERE, where the buffers are.)
The virtio-legacy configuration has no seed in tests/data/seeds: its seed is dumped here
(virtio-legacy.seed.dtb). Run from anywhere, for all configurations or the named ones:

    python3 tests/data/virtio/capture.py [NAME ...]
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds"
spec = importlib.util.spec_from_file_location("make_seeds", SEEDS / "make-seeds.py")
make_seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_seeds)


def disk0() -> bytes:
    image = bytearray(1 << 20)
    image[0:4] = b"SLOF"
    image[0x1FE:0x200] = b"\x55\xaa"
    image[0x200:0x208] = b"sector 1"
    return bytes(image)


DISK_LINES = [
    "0 value dsk",
    '-1 s" disk" open-dev to dsk drop',
    "dsk 0<> .",
    'here 400 s" read" dsk $call-method .',
    "here 4 type",
    "here 1fe + c@ .",
    "here 200 + 8 type",
    "dsk close-dev",
]
NET_LINES = [
    "0 value nt",
    '-1 s" net" open-dev to nt drop',
    "nt 0<> .",
    'here 40 s" read" nt $call-method .',
    "nt close-dev",
]
SCSI_LINES = [
    "0 value sd",
    '-1 s" disk1" open-dev to sd drop',
    "sd 0<> .",
    "here 200 55 fill",
    'here 200 s" read" sd $call-method .',
    "here c@ . here 1ff + c@ .",
    's" block-size" sd $call-method .',
    "sd close-dev",
]
SERIAL_LINES = [
    "0 value vs",
    '-1 s" vsterm" open-dev to vs drop',
    "vs 0<> .",
    's" hello" s" write" vs $call-method .',
    'here 1 s" read" vs $call-method .',
]
FS_LINES = [
    "0 value fs",
    '-1 s" virtfs" open-dev to fs drop',
    "fs 0<> .",
    "fs close-dev",
]

CONFIGS = {
    "pci-virtio": (["-m", "512", "-device", "virtio-net-pci",
                    "-drive", "if=none,id=d0,file=disk0.img,format=raw",
                    "-device", "virtio-blk-pci,drive=d0",
                    "-device", "virtio-scsi-pci,id=vs0",
                    "-drive", "if=none,id=d1,file=disk1.img,format=raw",
                    "-device", "scsi-hd,drive=d1,bus=vs0.0"],
                   DISK_LINES + NET_LINES + SCSI_LINES),
    "vserial-legacy": (["-m", "512", "-device", "virtio-serial-pci,disable-modern=on"],
                       SERIAL_LINES),
    "vserial-modern": (["-m", "512", "-device", "virtio-serial-pci,disable-legacy=on,addr=4",
                        "-device", "virtio-serial-pci,disable-modern=on,addr=6"],
                       SERIAL_LINES),
    # the pci-virtio devices with only the legacy interface: its seed is dumped here too
    "virtio-legacy": (["-m", "512", "-device", "virtio-net-pci,disable-modern=on",
                       "-drive", "if=none,id=d0,file=disk0.img,format=raw",
                       "-device", "virtio-blk-pci,drive=d0,disable-modern=on",
                       "-device", "virtio-scsi-pci,id=vs0,disable-modern=on",
                       "-drive", "if=none,id=d1,file=disk1.img,format=raw",
                       "-device", "scsi-hd,drive=d1,bus=vs0.0"],
                      DISK_LINES + NET_LINES + SCSI_LINES),
    "pci-drivers2": (["-m", "512", "-fsdev", "local,id=fs0,path=.,security_model=none",
                      "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share,disable-legacy=on",
                      "-device", "lsi53c895a", "-device", "ich9-ahci"],
                     FS_LINES),
}
SEEDS_DUMPED_HERE = ("virtio-legacy",)


def main(names: list[str]) -> int:
    """Capture the named configurations (all without names); replies of the others stay."""
    names = names or list(CONFIGS)
    sections: dict[str, str] = {}
    replies = HERE / "replies.txt"
    if replies.exists():
        for block in replies.read_text(encoding="latin-1").split("=== ")[1:]:
            name = block.split(" | ", 1)[0]
            sections[name] = sections.get(name, "") + "=== " + block
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "disk0.img").write_bytes(disk0())
        (Path(work) / "disk1.img").write_bytes(bytes(1 << 20))
        for name in names:
            args, lines = CONFIGS[name]
            if name in SEEDS_DUMPED_HERE:
                seed = HERE / f"{name}.seed.dtb"
                subprocess.run([make_seeds.QEMU, "-M", f"pseries,dumpdtb={seed}",
                                *make_seeds.BASE_ARGS, *args, "-display", "none"],
                               cwd=work, check=True, capture_output=True)
            out = []
            session = make_seeds.Session(args, cwd=work)
            try:
                session.wait_prompt(600)
                for line in lines:
                    reply = session.command(line, 120).decode("latin-1")
                    out.append(f"=== {name} | {line}\n{reply}\n--- end\n")
                    print(name, line, "->", repr(reply), flush=True)
            finally:
                session.close()
            sections[name] = "".join(out)
    replies.write_text("".join(sections[n] for n in CONFIGS if n in sections),
                       encoding="latin-1")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
