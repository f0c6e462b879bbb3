"""Booting SLOF's own Forth (Debian's slof.bin) on slofpy: the console, the tree it hands the
host at quiesce, and errors.

Real SLOF is the oracle: tests/data/slof-boot holds its console while booting QEMU's default
pseries machine, and tests/data/seeds holds the trees it flattened (see make-seeds.py).
"""
from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys

import libfdt
import pytest

from conftest import DATA, TREE_SCORE
from slofpy.firmware.board import boot_machine
from slofpy.slof.boot import SlofError, boot_slof

SEEDS = DATA / "seeds"
CONSOLE = DATA / "slof-boot" / "default.console.raw"


@pytest.fixture(scope="module")
def booted(slof_bin):
    out: list[str] = []
    slof = boot_slof(slof_bin, output=out.append, timeout=120)
    return slof, "".join(out)


# SLOF's copyright banner (copyright-oss.fs) is printed by SLOF's own Forth, so it is in
# slofpy's console as in real SLOF's; the captures keep a placeholder line instead of its
# text, and these lines are left out on both sides
BANNER = re.compile(r"  (Copyright \(c\) |This program and the accompanying |under the terms of "
                    r"the BSD |http://www\.opensource\.org/|\[SLOF's copyright banner)")


def _lines(text: str) -> list[str]:
    """Console text as lines: checkpoints (C0xxx<CR>) and terminal escapes dropped, CRLF and
    lone CRs made line ends, blank lines, trailing blanks and the copyright banner dropped."""
    text = re.sub(r"C0[0-9A-F]{3}\r", "", text)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    out = []
    for line in re.split(r"\r\n|\n|\r", text):
        line = line.rstrip()
        if line and not BANNER.match(line):
            out.append(line)
    return out


def test_the_console_shows_what_real_slof_prints(booted):
    _, console = booted
    real = CONSOLE.read_bytes().split(b"\n", 1)[1].decode("latin-1")
    ours, theirs = _lines(console), _lines(real)
    # real SLOF's first lines come from its low-level start-up (the build date, the banner
    # stars); from the first checkpointed message on, the lines are the same, in order
    start = theirs.index("Populating /vdevice methods")
    assert theirs[-2:] == ["Ready!", "0 >"]
    assert ours[ours.index("Populating /vdevice methods"):] == theirs[start:-1]
    assert any(" FW Version = release " in line for line in ours[:5])


def _score(real: str, ours: bytes, tmp_path) -> tuple[int, ...]:
    path = tmp_path / "ours.dtb"
    path.write_bytes(ours)
    r = subprocess.run([sys.executable, str(TREE_SCORE), real, str(path)], capture_output=True,
                       text=True, check=True)
    last = r.stdout.strip().splitlines()[-1]
    return tuple(int(x) for x in re.findall(r"(\d+)/\d+", last))


def test_quiesce_hands_slofs_own_flattened_tree_to_the_host(booted, tmp_path):
    slof, _ = booted
    slof.quiesce()
    blob = slof.host.stored_blob
    assert libfdt.fdt_check_full(bytearray(blob), len(blob)) == 0
    own = boot_machine()
    own.quiesce()
    real = str(SEEDS / "default.slof.dtb")
    slof_score = _score(real, blob, tmp_path)
    own_score = _score(real, own.host.stored_blob, tmp_path)
    print("SLOF on slofpy:", slof_score, "slofpy's firmware:", own_score)
    assert slof_score >= own_score


def test_slofs_own_tree_and_slofpys_firmwares_differ_only_where_reviewed(booted, tmp_path):
    """SLOF's tree on slofpy against slofpy's own firmware's, on the default seed: every
    difference is one reviewed in data/board-differences/default.txt (with its reason), where
    slofpy's firmware is compared with real SLOF."""
    from test_board import EXPECTED, fidelity
    slof, _ = booted
    slof.quiesce()
    reference = tmp_path / "slof-on-slofpy.dtb"
    reference.write_bytes(slof.host.stored_blob)
    own = boot_machine()
    own.quiesce()
    differences, same, total = fidelity(reference, own.host.stored_blob)
    reviewed = (EXPECTED / "default.txt").read_text().splitlines()
    assert sorted(differences) == sorted(line.split(" # ")[0] for line in reviewed if line.strip())
    assert same / total >= 0.98


def test_slofpy_boot_firmware_on_the_command_line(slof_bin, tmp_path):
    out = tmp_path / "o.dtb"
    r = subprocess.run([sys.executable, "-m", "slofpy", "boot", "--firmware", str(slof_bin),
                        "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Welcome to Open Firmware" in r.stdout and "H_UPDATE_DT: 0 (accepted)" in r.stdout
    assert out.read_bytes()[:4] == b"\xd0\x0d\xfe\xed"


def test_forth_that_fails_while_booting_names_the_file_and_line_in_slofs_tree(slof_tree, tmp_path):
    tree = tmp_path / "SLOF"
    shutil.copytree(slof_tree, tree, symlinks=True)
    target = tree / "board-qemu" / "slof" / "tree.fs"
    lines = target.read_text().splitlines()
    lines.insert(20, "this-word-is-not-defined")
    target.write_text("\n".join(lines) + "\n")
    with pytest.raises(SlofError) as info:
        boot_slof(tree, output=lambda t: None, timeout=120)
    assert info.value.file == "board-qemu/slof/tree.fs" and info.value.line == 21
    r = subprocess.run([sys.executable, "-m", "slofpy", "boot", "--firmware", str(tree)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "board-qemu/slof/tree.fs:21" in r.stderr, r.stderr


from test_slof_chain import slof_tree  # noqa: E402,F401  (the fixture)


def test_repl_and_run_on_slof_itself(slof_bin, tmp_path):
    """`slofpy repl --firmware` answers with SLOF's own words after its boot; `slofpy run
    --boot --firmware` runs a script on it and quiesces."""
    r = subprocess.run([sys.executable, "-m", "slofpy", "repl", "--firmware", str(slof_bin)],
                       input="decimal 1 2 + .\nslof-revision type\n", capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("Ready!3 001")
    out = tmp_path / "q.dtb"
    r = subprocess.run([sys.executable, "-m", "slofpy", "run", "--boot", "--firmware",
                        str(slof_bin), "-e", 'cr s" /vdevice" find-node node>path type cr',
                        "--quiesce", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("Ready!\n/vdevice\n")
    assert out.read_bytes()[:4] == b"\xd0\x0d\xfe\xed"


def test_seed_mutations_through_slofpy_boot_firmware_end_in_exit_0_or_one_line(
        capsys, tmp_path, slof_bin):
    """Mutated default seeds (test_boot_command's mutations) booted by SLOF itself: the host
    refuses the seed, SLOF's Forth fails, or the host accepts SLOF's tree; never a traceback
    or a hang. 4 cases in CI; SLOFPY_FUZZ_SCALE multiplies them."""
    from fuzz_support import SEED, cases, report
    from test_boot_command import _mutations, boot, one_line_failure, DEFAULT
    rng = random.Random(SEED + 19)
    seed = tmp_path / "s.dtb"
    outcomes = {"ok": 0, "one line": 0}
    for case in range(cases(4)):
        seed.write_bytes(_mutations(rng, DEFAULT))
        rc, stdout, err = boot(capsys, "--firmware", str(slof_bin), "--seed", str(seed), "-q",
                               "-o", str(tmp_path / "o.dtb"), "--timeout", "120")
        if rc == 0:
            blob = (tmp_path / "o.dtb").read_bytes()
            assert libfdt.fdt_check_full(bytearray(blob), len(blob)) == 0, f"case {case}"
            outcomes["ok"] += 1
        else:
            one_line_failure(rc, err)
            outcomes["one line"] += 1
    report(f"slofpy boot --firmware seed mutations: {outcomes}")


def test_a_source_tree_boots_to_the_tree_its_image_gives(booted, slof_tree):
    """SLOF booted from the source tree Debian built slof.bin from hands the host the same
    flattened tree, byte for byte, and prints the same console from its first probe on."""
    slof, console = booted
    slof.quiesce()
    out: list[str] = []
    from_tree = boot_slof(slof_tree, output=out.append, timeout=120)
    from_tree.quiesce()
    assert from_tree.host.stored_blob == slof.host.stored_blob
    mine, theirs = _lines("".join(out)), _lines(console)
    start = theirs.index("Populating /vdevice methods")
    assert mine[mine.index("Populating /vdevice methods"):] == theirs[start:]


def test_client_interface_calls_on_slof_itself(slof_bin):
    """The Python client-interface calls go through SLOF's own client-voc words, as a client
    program's do: arguments and results through the argument block, strings by address."""
    slof = boot_slof(slof_bin, output=lambda t: None, timeout=120)
    vdevice = slof.client("finddevice", "/vdevice")[0]
    slof.evaluate('s" /vdevice" find-node')
    assert vdevice == slof.pop()
    buf = slof.scratch + 0x800
    assert slof.client("getprop", vdevice, "name", buf, 32) == [8]
    assert slof.read(buf, 8) == b"vdevice\0"
    assert slof.client("finddevice", "/no-such-node") == [0xFFFFFFFF]
    with pytest.raises(SlofError, match="no service 'no-such-service'"):
        slof.client("no-such-service")
    assert slof.stack == []


def test_the_linux_like_client_and_a_phb_hotplug_on_slof_itself(slof_bin):
    """prom_init's steps (slofpy.client) against SLOF itself: CAS through SLOF's own
    ibm,client-architecture-support, RTAS instantiated in memory `claim` gave, SLOF's tree
    copied and quiesced into the host; then a PHB hotplug finds /interrupt-controller by the
    phandle SLOF's tree gave it."""
    r = subprocess.run([sys.executable, "-m", "slofpy", "boot", "--firmware", str(slof_bin),
                        "--client", "linux", "--hotplug-phb", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "CAS: ibm,client-architecture-support returned 0" in r.stdout
    assert "H_UPDATE_DT: accepted" in r.stdout and "the client's tree is the host's" in r.stdout
    assert re.search(r"hotplug: /pci@800000020000001 interrupt-parent 0x1e[0-9a-f]{6} -> "
                     r"/interrupt-controller", r.stdout), r.stdout[-400:]


def test_a_key_key_question_saw_is_the_key_key_reads(slof_bin):
    """SLOF's key? asks terminal 0 and its vty's read method (behind key) asks the vty's unit
    address; libhvcall keeps one input buffer for both, so the key key? brought in is the
    one key returns (SLOF's start-it reads a key typed during boot this way: before the
    buffer was one, that boot hung)."""
    out: list[str] = []
    slof = boot_slof(slof_bin, output=out.append, timeout=120)
    out.clear()
    slof.host.feed_console(b"t")
    slof.evaluate(": t9 key? IF key CASE 74 OF 2 . ENDOF ENDCASE ELSE 4 . THEN ; t9",
                  timeout=20)
    assert "".join(out) == "2 "
