"""The QEMU pseries board (board-qemu/): booting real QEMU seeds, what the tree looks like next
to what real SLOF made of the same seeds, the host's view after quiesce, the methods drivers
attach, the prompt's display words next to real SLOF's console, and `slofpy boot`."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from slofpy import ForthError
from slofpy.firmware.board import boot_machine
from slofpy.fdt.blob import parse_blob

from conftest import REFERENCE_SEEDS, REPO, SLOF_CONSOLE, TREE_SCORE

OWN_SEEDS = REPO / "tests" / "data" / "seeds"
SHARED_SEEDS = REFERENCE_SEEDS
EXPECTED = REPO / "tests" / "data" / "board-differences"


def seed_pairs():
    pairs = [(p.name.split(".")[0], p, p.with_name(p.name.replace(".seed.", ".slof.")))
             for p in sorted(SHARED_SEEDS.glob("*.seed.dtb"))]
    pairs += [(p.name.split(".")[0] + "-own", p, p.with_name(p.name.replace(".seed.", ".slof.")))
              for p in sorted(OWN_SEEDS.glob("*.seed.dtb")) if p.name != "default.seed.dtb"]
    return pairs


SEEDS = seed_pairs()
assert len(SEEDS) >= 2


@pytest.fixture(scope="module")
def booted():
    return boot_machine()


@pytest.fixture
def fw(booted):
    snap = booted.snapshot()
    yield booted
    booted.restore(snap)
    booted.take_output()


def quiesced_blob(seed: Path) -> tuple[bytes, object]:
    fw = boot_machine(seed)
    fw.quiesce()
    assert fw.host.stored_blob is not None
    return fw.host.stored_blob, fw


UNCOMPARABLE = {("/chosen", "rng-seed")} | {("/chosen", k) for k in ("stdout", "stdin", "mmu",
                                                                      "memory", "cpu")}
"""Values that cannot agree: a random seed per boot, and instance addresses (ihandles): only
whether they are there is compared."""


def fidelity(real: Path, ours: bytes) -> tuple[list[str], int, int]:
    """What `slofpy diff REAL OURS` says that counts against slofpy (a property only slofpy
    has does not), and how many of real SLOF's property values slofpy has the same."""
    from slofpy.fdt.tree_diff import ABSENT, tree_differences
    reference, _, _ = parse_blob(real.read_bytes())
    props = {path: len(node.props) for path, node in reference.walk()}
    lines, lost = [], 0
    for d in tree_differences(real.read_bytes(), ours):
        if d.prop != "(node)" and d.a == ABSENT:
            continue
        if (d.path, d.prop) in UNCOMPARABLE and ABSENT not in (d.a, d.b):
            continue
        lines.append(str(d))
        lost += props.get(d.path, 0) if d.prop == "(node)" and d.b == ABSENT else d.prop != "(node)"
    total = sum(props.values())
    return lines, total - lost, total


# ---------------------------------------------------------------- fidelity
@pytest.mark.parametrize("name,seed,real", SEEDS, ids=[s[0] for s in SEEDS])
def test_quiesced_tree_matches_real_slof_but_for_reviewed_differences(name, seed, real):
    blob, _ = quiesced_blob(seed)
    differences, same, total = fidelity(real, blob)
    expected = (EXPECTED / f"{name}.txt").read_text().splitlines()
    # each reviewed line says what differs and (after " # ") why
    assert sorted(differences) == sorted(line.split(" # ")[0] for line in expected if line.strip())
    if seed.parent == SHARED_SEEDS:
        assert same / total >= 0.98, f"{same}/{total}"


def test_host_sees_the_phandles_the_guest_uses(tmp_path):
    blob, fw = quiesced_blob(SHARED_SEEDS / "default.seed.dtb")
    root, _, _ = parse_blob(blob)
    nodes = dict(root.walk())
    ic = int.from_bytes(nodes["/interrupt-controller"].get("phandle"), "big")
    assert fw.host.interrupt_controller_phandle() == ic == fw.tree.find("/interrupt-controller").phandle
    imap = nodes["/pci@800000020000000"].get("interrupt-map")
    assert {imap[o:o + 4] for o in range(0x10, len(imap), 0x1C)} == {ic.to_bytes(4, "big")}
    assert fw.host.quiesced


def test_instantiate_rtas_tells_the_host_where_rtas_is():
    fw = boot_machine()
    base = fw._alloc(0x1000)
    ih = fw.client("open", "/rtas")[0]
    catch, entry = fw.client("call-method", "instantiate-rtas", ih, base, nret=2)
    assert catch == 0
    assert fw.tree.find("/rtas")["linux,rtas-base"] == base.to_bytes(4, "big")
    fw.quiesce()
    assert fw.host.rtas_base() == base
    assert fw.read(base, 4) == bytes.fromhex("7c641b78")


def test_quiesce_happens_once_and_rejected_blobs_are_reported():
    from slofpy.host.qemu import QemuBackend

    class Strict(QemuBackend):
        def update_dt(self, memory, addr):
            return -4
    fw = boot_machine(host=Strict())
    fw.quiesce()
    assert "HV-UPDATE-DT error: -4" in fw.take_output()
    fw.quiesce()
    assert fw.take_output() == ""


# ---------------------------------------------------------------- what the board builds
def test_boot_and_quiesce_leave_an_empty_stack():
    fw = boot_machine(OWN_SEEDS / "phb2.seed.dtb")
    assert fw.stack == []
    fw.quiesce()
    assert fw.stack == []


def test_root_nodes_slof_adds(fw):
    names = [n.qname for n in fw.tree.root.children]
    assert names[-5:] == ["aliases", "options", "openprom", "packages", "mmu"]
    assert [n.name for n in fw.tree.find("/packages").children] == [
        "deblocker", "disk-label", "fat-files", "rom-files", "ext2-files", "obp-tftp", "iso-9660"]


def test_chosen_holds_open_instances(fw):
    chosen = fw.tree.find("/chosen")
    for name, path in (("cpu", "/cpus/PowerPC,POWER9@0"), ("memory", "/memory@0"), ("mmu", "/mmu"),
                       ("stdin", "/vdevice/vty@71000000"), ("stdout", "/vdevice/vty@71000000")):
        ih = int.from_bytes(chosen[name], "big")
        fw.push(ih)
        fw.execute("ihandle>phandle")
        assert fw.pop() == fw.tree.find(path).phandle, name


def test_vdevice_and_pci_nodes_have_their_methods():
    fw = boot_machine(OWN_SEEDS / "vio.seed.dtb")
    want = {"hvterm1": {"open", "close", "read", "write"},
            "qemu,spapr-nvram": {"open", "close", "read", "write", "seek", "size"},
            "IBM,v-scsi": {"open", "close"}, "IBM,l-lan": {"open", "close"},
            "IBM,vtpm20": {"open", "close"}}
    seen = 0
    for node in fw.tree.find("/vdevice").children:
        compatible = node["compatible"].split(b"\0")[0].decode()
        assert want[compatible] <= set(node.methods()), node.path
        seen += 1
    assert seen == 7
    fw = boot_machine(OWN_SEEDS / "phb2.seed.dtb")
    for path in ("/pci@800000020000000", "/pci@800000020000001", "/pci@800000020000000/pci@0"):
        assert {"decode-unit", "encode-unit"} <= set(fw.tree.find(path).methods()), path


def test_console_writes_through_the_host(fw):
    ih = fw.client("open", "hvterm")[0]
    buf = fw._alloc(8)
    fw.write(buf, b"hi!")
    assert fw.client("call-method", "write", ih, 3, buf, nret=2) == [0, 3]
    assert fw.take_output() == "hi!"


def test_nvram_reads_and_writes_through_rtas(fw):
    ih = fw.client("open", "nvram")[0]
    buf = fw._alloc(16)
    fw.write(buf, b"firmware")
    assert fw.client("call-method", "write", ih, 8, buf, nret=2) == [0, 8]
    fw.client("call-method", "seek", ih, 0, 0, nret=2)
    fw.write(buf, bytes(8))
    assert fw.client("call-method", "read", ih, 8, buf, nret=2) == [0, 8]
    assert fw.read(buf, 8) == b"firmware"
    assert bytes(fw.host.nvram[:8]) == b"firmware"


def test_host_bridge_config_methods_read_through_rtas():
    fw = boot_machine(SHARED_SEEDS / "rng.seed.dtb")
    ih = fw.client("open", "/pci@800000020000000")[0]
    assert fw.client("call-method", "config-l@", ih, 0, nret=2) == [0, 0x10051AF4]
    assert fw.client("call-method", "config-w@", ih, 2, nret=2) == [0, 0x1005]


def test_pci_bars_are_assigned_in_the_bridge_windows():
    fw = boot_machine(SHARED_SEEDS / "rng.seed.dtb")
    dev = fw.tree.find("/pci@800000020000000/legacy-device@0")
    cells = [int.from_bytes(dev["assigned-addresses"][i:i + 4], "big")
             for i in range(0, len(dev["assigned-addresses"]), 4)]
    assert cells == [0x81000010, 0, 0x20, 0, 0x20, 0x82000014, 0, 0x80000000, 0, 0x1000,
                     0xC3000020, 0x2100, 0, 0, 0x4000]


# ---------------------------------------------------------------- the prompt, next to real SLOF
CONSOLE = SLOF_CONSOLE.read_text(encoding="latin-1")


def transcript(command: str) -> str:
    """What real SLOF printed for command, without the echo and the final " ok"."""
    body = re.split(r"^=== (.*)$", CONSOLE, flags=re.M)
    i = body.index(command)
    text = body[i + 1][1:].rstrip("\n")
    text = text[2:] if text.startswith("  ") else text
    return text[:-3] if text.endswith(" ok") else text


@pytest.mark.parametrize("command", [
    "dev /rtas .properties", "dev /options .properties", "dev /openprom .properties",
    "dev /mmu .properties", "dev /interrupt-controller .properties",
    "dev /cpus/PowerPC,POWER9@0 .properties", "show-devs /pci", "1 2 3 .s", "-1 .",
])
def test_output_is_byte_for_byte_real_slofs(fw, command):
    fw.take_output()
    fw.evaluate(command)
    assert fw.take_output() == transcript(command)


@pytest.mark.parametrize("command", ["dev / ls", "dev /vdevice ls", "dev /packages ls"])
def test_ls_matches_real_slof_but_for_addresses_and_the_probed_disk(fw, command):
    fw.take_output()
    fw.evaluate(command)
    ours = re.sub(r"^[0-9a-f]{8} :", "PH :", fw.take_output(), flags=re.M)
    real = re.sub(r"^[0-9a-f]{8} :", "PH :", transcript(command), flags=re.M)
    real = "\n".join(line for line in real.split("\n") if not line.endswith("+-- disk"))
    real = real.replace("+-- v-scsi@71000002", "+-- v-scsi@71000002")
    assert ours == real


def test_chosen_properties_match_but_for_instance_addresses(fw):
    fw.take_output()
    fw.evaluate("dev /chosen .properties")
    strip = lambda t: re.sub(r"^((?:stdout|stdin|mmu|memory|cpu) +)[0-9a-f]{8}", r"\1IH", t, flags=re.M)
    ours, real = strip(fw.take_output()), strip(transcript("dev /chosen .properties"))
    real_lines = [l for l in real.split("\n")]
    ours_lines = ours.split("\n")
    # rng-seed is random per boot: compare everything else
    skip = {i for i, l in enumerate(real_lines) if l.startswith("rng-seed")}
    skip |= {i + 1 for i in skip} | {i + 2 for i in skip}
    assert [l for i, l in enumerate(ours_lines) if i not in skip] == \
        [l for i, l in enumerate(real_lines) if i not in skip]


# ---------------------------------------------------------------- slofpy boot
def slofpy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_slofpy_boot_summary_and_outputs(tmp_path):
    r = slofpy("boot", "-o", str(tmp_path / "t.dtb"), "--dts", str(tmp_path / "t.dts"))
    assert r.returncode == 0, r.stderr
    assert "H_UPDATE_DT: 0 (accepted)" in r.stdout
    assert re.search(r"seed: +16 nodes, 175 properties", r.stdout)
    assert re.search(r"interrupt-controller phandle: 0x[0-9a-f]+", r.stdout)
    blob = (tmp_path / "t.dtb").read_bytes()
    assert parse_blob(blob)[0].child("openprom") is not None
    dts = (tmp_path / "t.dts").read_text()
    assert 'model = "SLOF,HEAD";' in dts and "relative-addressing;" in dts


def test_slofpy_boot_from_dts_seed(tmp_path):
    r = slofpy("boot", "-q", "--seed", str(SHARED_SEEDS / "rng.seed.dts"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_bytes(b"\xd0\x0d\xfe\xed\0\0\0\x28" + bytes(32)), "version below 16"),
    (lambda p: p.write_bytes((SHARED_SEEDS / "default.seed.dtb").read_bytes()[:200]), "totalsize"),
    (lambda p: p.write_text("/dts-v1/;\n/ { a = <1 ; };\n"), ":2:"),
])
def test_slofpy_boot_bad_seed_is_one_line_exit_1(tmp_path, make, message):
    seed = tmp_path / ("s.dts" if message == ":2:" else "s.dtb")
    make(seed)
    r = slofpy("boot", "--seed", str(seed))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr
    assert "Traceback" not in r.stderr


def test_slofpy_boot_usage_errors_exit_2():
    assert slofpy("boot", "--no-such-flag").returncode == 2
    r = slofpy("boot", "--host", "nosuch")
    assert r.returncode == 1 and "unknown host" in r.stderr


def test_snapshot_and_restore_cover_the_host_too():
    fw = boot_machine()
    snap = fw.snapshot()
    fw.quiesce()
    assert fw.host.stored_blob is not None and fw.host.quiesced
    fw.restore(snap)
    assert fw.host.stored_blob is None and not fw.host.quiesced
    fw.quiesce()                                  # quiesce runs again after the restore
    assert fw.host.stored_blob is not None
    fw.restore(snap)
    assert fw.host.stored_blob is None


def test_slofpy_boot_timeout_is_one_line_exit_1():
    r = slofpy("boot", "--timeout", "0.01")
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "timed out after 0.01 s" in r.stderr
    assert "Traceback" not in r.stderr
    assert slofpy("boot", "--timeout", "0").returncode == 2
