#!/usr/bin/env python3
"""Capture real SLOF's libnvram at its "0 >" prompt: the oracle for slofpy/slof/libs/libnvram.py.

Boots `qemu-system-ppc64 -M pseries -m 512` (the slof.bin QEMU ships; QEMU's NVRAM starts
zeroed, so SLOF re-initialises it while booting), keeps the boot's console output in
boot-console.txt, then types every line of LINES in order at the prompt and writes
replies.txt next to this file:

    === GROUP | LINE
    <what SLOF printed between its echo of the line and the next prompt>
    --- depth N

The lines call libnvram's words directly (nvram-c@ ... internal-set-env), each mutation
followed by `nvdump`, which prints every run of non-zero NVRAM bytes as
"OFFSET : HEXBYTES" (so a reply of nvdump is the whole NVRAM image). The first nvdump is
the NVRAM as SLOF's boot left it. tests/test_slof_libnvram.py loads that image into a
host's NVRAM and types the same lines into slofpy's library.

Then two more boots on one NVRAM file (persist.txt): the first sets a few variables with
setenv, the second boots from the NVRAM the first left.

Usage: capture.py            (needs qemu-system-ppc64 and /usr/share/qemu/slof.bin)
"""
from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "replies.txt"
BOOT = HERE / "boot-console.txt"
PERSIST = HERE / "persist.txt"
NVRAM_SIZE = 0x10000

# typed at the first of two boots on one NVRAM file; PERSIST_CHECK at the second
PERSIST_LINES = ["setenv boot-device disk net", "setenv auto-boot? false",
                 "setenv load-base 5000"]
PERSIST_CHECK = ["printenv boot-device", "printenv auto-boot?", "printenv load-base"]

# the common partition's data area, as a Forth phrase ( -- addr len )
COMMON = "70 get-nvram-partition drop"

LINES: list[tuple[str, str]] = [
    # ---- words of the capture itself (no reply): nvdump, and printers for a partition
    # ( addr len FALSE | TRUE -- ) and a variable ( val len TRUE | FALSE -- )
    ("define", ": nvrun ( a -- a' ) BEGIN dup nvram-size < IF dup nvram-c@ ELSE 0 THEN "
               "WHILE dup nvram-c@ 2 0.r 1+ REPEAT ;"),
    ("define", ": nvdump ( -- ) 0 BEGIN dup nvram-size < WHILE dup nvram-c@ "
               "IF dup . .\" : \" nvrun cr ELSE 1+ THEN REPEAT drop ;"),
    ("define", ": common ( -- addr len ) 70 get-nvram-partition drop ;"),
    ("define", ": .p ( addr len FALSE | TRUE -- ) IF .\" none \" ELSE swap . . THEN ;"),
    ("define", ": .e ( val len TRUE | FALSE -- ) IF [char] [ emit type [char] ] emit "
               "ELSE .\" none \" THEN ;"),
    # ---- the NVRAM as the boot left it, and what printenv shows of it
    ("boot", "nvram-size ."),
    ("boot", "nvdump"),
    ("printenv", "printenv"),
    # ---- partitions by type and by name
    ("get-partition", "70 get-nvram-partition .p"),
    ("get-partition", "7f get-nvram-partition .p"),
    ("get-partition", "51 get-nvram-partition .p"),
    ("get-partition", "0 get-nvram-partition .p"),
    ("get-partition", "12 get-nvram-partition .p"),
    ("get-partition", "170 get-nvram-partition .p"),
    ("get-partition", "-1 get-nvram-partition .p"),
    ("get-named", "s\" common\" get-named-nvram-partition .p"),
    ("get-named", "s\" ibm,CPU1log\" get-named-nvram-partition .p"),
    ("get-named", "s\" free space\" get-named-nvram-partition .p"),
    ("get-named", "s\" comm\" get-named-nvram-partition .p"),
    ("get-named", "s\" commonxxxxxxxxx\" get-named-nvram-partition .p"),
    ("get-named", "s\" \" get-named-nvram-partition .p"),
    # ---- the access words: big-endian, offsets cut to 32 bits, out of range reads 0
    ("access", "0 nvram-c@ . 1 nvram-c@ . 2 nvram-w@ . 4 nvram-l@ . 4 nvram-x@ ."),
    ("access", "2810 nvram-x@ . 2811 nvram-l@ . 2813 nvram-w@ ."),
    ("access", "nvram-size 1- nvram-c@ . nvram-size nvram-c@ . nvram-size 2 - nvram-w@ ."),
    ("access", "nvram-size 1- nvram-w@ . nvram-size 8 - nvram-x@ . nvram-size 7 - nvram-x@ ."),
    ("access", "100000000 nvram-c@ . 100000002 nvram-w@ . -1 nvram-c@ ."),
    ("access", "1122334455667788 3900 nvram-x! aabbccdd 3910 nvram-l! eeff 3920 nvram-w!"),
    ("access", "99 3930 nvram-c! 3900 nvram-x@ . 3910 nvram-l@ . 3920 nvram-w@ . 3930 nvram-c@ ."),
    ("access", "3904 nvram-l@ . 3902 nvram-w@ . 390f nvram-x@ ."),
    ("access", "123456 3941 nvram-c! 3941 nvram-c@ ."),
    ("access", "1234567890 3950 nvram-l! 3950 nvram-x@ ."),
    ("access", "55 100003960 nvram-c! 3960 nvram-c@ . 66 nvram-size nvram-c! 77 -1 nvram-c!"),
    ("access", "nvdump"),
    # ---- environment variables in the common partition
    ("get-env", "common s\" auto-boot?\" internal-get-env .e"),
    ("get-env", "common s\" auto\" internal-get-env .e"),
    ("get-env", "common s\" load-base\" internal-get-env .e"),
    ("get-env", "common s\" nonexistent\" internal-get-env .e"),
    ("get-env", "common s\" \" internal-get-env .e"),
    ("get-env", "0 0 s\" auto-boot?\" internal-get-env .e"),
    ("set-env", "common s\" boot-device\" s\" disk net\" internal-set-env ."),
    ("set-env", "nvdump"),
    ("set-env", "common s\" boot-device\" s\" disk net\" internal-set-env ."),
    ("set-env", "common s\" boot-device\" s\" d\" internal-set-env ."),
    ("set-env", "nvdump"),
    ("set-env", "common s\" boot-device\" internal-get-env .e"),
    ("add-env", "common s\" my-var\" s\" 42\" internal-add-env ."),
    ("add-env", "common s\" other-var\" s\" abc\" internal-set-env ."),
    ("add-env", "nvdump"),
    ("add-env", "common s\" my-var\" internal-get-env .e"),
    ("del-env", "common s\" my-var\" internal-del-env ."),
    ("del-env", "nvdump"),
    ("del-env", "common s\" my-var\" internal-get-env .e"),
    ("del-env", "0 0 s\" x\" internal-del-env ."),
    ("del-env", "7f get-nvram-partition .p"),
    # a partition too short to hold the list's end: the C writes from offset -1, which wraps
    # to 0 and overwrites the first header
    ("add-env", "2810 20 s\" x\" s\" 01234567890123456789012345678901234\" internal-add-env ."),
    ("add-env", "nvdump"),
    ("reset", "internal-reset-nvram"),
    # ---- partitions: new, erase, increase, delete
    ("new-partition", "60 s\" mypart\" 100 new-nvram-partition .p"),
    ("new-partition", "61 s\" averyveryverylongname\" 20 new-nvram-partition .p"),
    ("new-partition", "nvdump"),
    ("new-partition", "7f get-nvram-partition .p"),
    ("new-partition", "62 s\" huge\" 10000 new-nvram-partition .p"),
    ("new-partition", "s\" averyveryver\" get-named-nvram-partition .p"),
    ("new-partition", "nvdump"),
    ("erase-partition", "s\" mypart\" get-named-nvram-partition drop "
                        "abcdef 2 pick nvram-l! 12 2 pick 80 + nvram-c!"),
    ("erase-partition", "nvdump"),
    ("erase-partition", "erase-nvram-partition ."),
    ("erase-partition", "nvdump"),
    ("erase-partition", "0 10 erase-nvram-partition ."),
    ("increase-partition", "200 s\" mypart\" get-named-nvram-partition drop swap "
                           "increase-nvram-partition ."),
    ("increase-partition", "nvdump"),
    ("increase-partition", "s\" mypart\" get-named-nvram-partition .p"),
    ("increase-partition", "60 get-nvram-partition .p"),
    ("reset", "internal-reset-nvram nvdump"),
    ("new-partition", "62 s\" second\" 40 new-nvram-partition .p"),
    ("increase-partition", "10 40 3810 increase-nvram-partition ."),
    ("increase-partition", "80 40 3810 increase-nvram-partition ."),
    ("increase-partition", "nvdump"),
    ("increase-partition", "s\" second\" get-named-nvram-partition .p"),
    ("reset", "internal-reset-nvram"),
    ("delete-partition", "63 s\" third\" 30 new-nvram-partition .p"),
    ("delete-partition", "64 s\" fourth\" 50 new-nvram-partition .p"),
    ("delete-partition", "s\" third\" get-named-nvram-partition drop delete-nvram-partition ."),
    ("delete-partition", "nvdump"),
    ("delete-partition", "0 0 delete-nvram-partition ."),
    ("delete-partition", "0 -1 delete-nvram-partition ."),
    ("debug", "nvram-debug"),
    ("wipe", "wipe-nvram nvdump"),
    ("wipe", "70 get-nvram-partition .p"),
    ("wipe", "0 get-nvram-partition .p"),
    ("wipe", "s\" \" get-named-nvram-partition .p"),
    ("wipe", "70 s\" common\" ff0 new-nvram-partition .p"),
    ("wipe", "nvdump"),
    ("reset", "internal-reset-nvram nvdump"),
]


def _session_module():
    path = HERE.parent / "seeds" / "make-seeds.py"
    spec = importlib.util.spec_from_file_location("make_seeds", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PROMPT_RE = re.compile(rb"\r\n(-?[0-9a-f]+) > $")


def ask(session, line: str) -> tuple[str, int]:
    """Type line; SLOF's reply (echo and prompt taken off) and the depth the prompt shows."""
    data = line.encode("ascii") + b"\r"
    session.proc.stdin.write(data)
    session.proc.stdin.flush()
    out = b""
    while True:
        out += session.read_until(b" > ", 300)
        m = PROMPT_RE.search(out)
        if m:
            break
    depth = int(m.group(1), 16)
    out = out[:m.start()]
    echo = re.match(rb"\x1b7.*?\x1b8\x1b\[\d+C", out, re.S)
    if echo is None:
        raise ValueError(f"unexpected echo for {line!r}: {out[:200]!r}")
    return out[echo.end():].replace(b"\r\n", b"\n").decode("latin-1"), depth


def dump_text(image: bytes) -> str:
    """An NVRAM image as nvdump prints it: "OFFSET : HEXBYTES" for each run of non-zero bytes."""
    lines, i = [], 0
    while i < len(image):
        if not image[i]:
            i += 1
            continue
        end = i
        while end < len(image) and image[end]:
            end += 1
        lines.append(f"{i:x} : {image[i:end].hex()}")
        i = end
    return "\n".join(lines) + "\n"


def capture_persistence(ms) -> None:
    """Two boots on one NVRAM file (QEMU's spapr-nvram backed by a drive): the first finds
    it blank and re-initialises it, then takes PERSIST_LINES; the second boots from what
    the first left. Writes persist.txt: the image after the first boot's lines, the second
    boot's console up to its prompt, and its replies to PERSIST_CHECK."""
    with tempfile.TemporaryDirectory() as tmp:
        nvram = Path(tmp) / "nvram.img"
        nvram.write_bytes(bytes(NVRAM_SIZE))
        args = ["-m", "512", "-drive", f"file={nvram},if=none,format=raw,id=nvram0",
                "-global", "spapr-nvram.drive=nvram0"]
        session = ms.Session(args)
        try:
            session.wait_prompt(300)
            for line in PERSIST_LINES:
                ask(session, line)
        finally:
            session.close()
        image = nvram.read_bytes()
        session = ms.Session(args)
        try:
            session.wait_prompt(300)
            console = session.transcript.replace(b"\r\n", b"\n").decode("latin-1")
            replies = [ask(session, line)[0] for line in PERSIST_CHECK]
        finally:
            session.close()
    parts = ["# real SLOF under qemu-system-ppc64 -M pseries -m 512 with its NVRAM on a file, "
             "captured by capture.py\n",
             "=== image after: " + " | ".join(PERSIST_LINES) + "\n" + dump_text(image),
             "=== second boot console\n" + without_banner(console) + "\n"]
    parts += [f"=== {line}\n{reply}\n" for line, reply in zip(PERSIST_CHECK, replies)]
    PERSIST.write_text("".join(parts), encoding="latin-1")
    print(f"wrote {PERSIST}")


def without_banner(console: str) -> str:
    """The console with SLOF's copyright banner (4 lines of copyright-oss.fs) left out: the
    captures keep what SLOF does, not its text."""
    return re.sub(r"  Copyright \(c\) .*?\n  This program .*?\n  under the terms .*?\n"
                  r"  http://www\.opensource\.org/\S*",
                  "  [SLOF's copyright banner (4 lines) is not kept in this capture]", console)


def main() -> int:
    ms = _session_module()
    session = ms.Session(["-m", "512"])
    try:
        session.wait_prompt(300)
        boot = session.transcript.replace(b"\r\n", b"\n").decode("latin-1")
        banner = re.search(r"FW Version = (.*?)\n", boot)
        parts = [f"# real SLOF ({banner.group(1).strip() if banner else '?'}) under "
                 f"qemu-system-ppc64 -M pseries -m 512, captured by capture.py\n"]
        for group, line in LINES:
            print(f"{group} | {line}", file=sys.stderr, flush=True)
            reply, depth = ask(session, line)
            parts.append(f"=== {group} | {line}\n{reply}\n--- depth {depth}\n")
    finally:
        session.close()
    BOOT.write_text(without_banner(boot), encoding="latin-1")
    OUT.write_text("".join(parts), encoding="latin-1")
    print(f"wrote {OUT} ({len(LINES)} lines) and {BOOT}")
    capture_persistence(ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
