"""The Linux-like client (slofpy.client.linux) through the client interface, quiesce, and a PHB
hotplug after it: consistent when the host got the tree, dangling when it did not."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slofpy.firmware.board import boot_machine
from slofpy.client.linux import LinuxClient, linux_option_vectors
from slofpy.fdt.blob import parse_blob
from slofpy.fdt.tree_diff import tree_differences
from slofpy.host.phb_hotplug import HotplugError, phb_node
from slofpy.host.fdt_lookup import PHANDLE_INTC

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[1]


def client_run(seed=None, quiesce=True):
    fw = boot_machine(seed)
    client = LinuxClient(fw)
    report = client.run(quiesce=quiesce)
    return fw, client, report


@pytest.fixture(scope="module")
def quiesced():
    return client_run()


def test_the_client_sees_the_console_cas_and_rtas(quiesced):
    fw, client, report = quiesced
    assert report.stdout_path == "/vdevice/vty@71000000"
    assert report.cas_result == 0
    assert report.interrupt_mode == "XIVE"          # the default machine is ic-mode=dual
    assert fw.tree.find("/chosen")["linux,stdout-path"] == b"/vdevice/vty@71000000\0"
    rtas = fw.tree.find("/rtas")
    assert rtas["linux,rtas-base"] == report.rtas_base.to_bytes(4, "big")
    assert fw.host.rtas_base() == report.rtas_base
    assert report.quiesced and fw.host.quiesced


def test_the_clients_tree_is_the_hosts_stored_tree(quiesced):
    fw, client, report = quiesced
    assert fw.host.stored_blob is not None
    assert tree_differences(report.blob, fw.host.stored_blob) == []
    root, _, _ = parse_blob(report.blob)
    assert report.nodes == len(list(root.walk()))
    # a check that can fail: the seed is not that tree
    assert tree_differences(report.blob, fw.seed) != []


def test_the_clients_tree_follows_cas_on_a_xics_machine():
    fw, client, report = client_run(DATA / "cas" / "xics.seed.dtb")
    assert report.interrupt_mode == "XICS"
    assert tree_differences(report.blob, fw.host.stored_blob) == []
    root, _, _ = parse_blob(report.blob)
    assert root.child("chosen").get("ibm,architecture-vec-5")[23] == 0      # no XIVE byte


def test_hotplug_after_quiesce_finds_the_guests_interrupt_controller():
    fw, client, report = client_run()
    fw.host.phb_hotplug.plug(1)
    status, line = client.hotplug_phb(1)
    phandle = fw.host.interrupt_controller_phandle()
    assert phandle != PHANDLE_INTC
    assert (status, line) == (0, f"hotplug: /pci@800000020000001 interrupt-parent "
                                 f"{phandle:#x} -> /interrupt-controller@60302031b0000")
    assert client.root.child("pci@800000020000001") is not None


def test_hotplug_on_a_xics_machine_finds_the_xics_node_cas_made_anew():
    fw, client, report = client_run(DATA / "cas" / "xics.seed.dtb")
    node = fw.tree.find("/interrupt-controller")
    fw.host.phb_hotplug.plug(2)
    assert client.hotplug_phb(2) == (0, f"hotplug: /pci@800000020000002 interrupt-parent "
                                        f"{node.phandle:#x} -> /interrupt-controller")


def test_hotplug_without_quiesce_dangles_on_qemus_own_phandle():
    fw, client, report = client_run(quiesce=False)
    assert fw.host.stored_blob is None
    fw.host.phb_hotplug.plug(1)
    assert client.hotplug_phb(1) == (
        1, "hotplug: /pci@800000020000001: interrupt-map parent phandle 0x1111 points to no node")


def test_a_phb_that_is_not_plugged_in_is_reported():
    fw, client, report = client_run()
    status, line = client.hotplug_phb(2)
    assert status == 1 and "nothing is plugged into PHB 2" in line


def test_the_hotplug_fragment_is_qemus_phb_node():
    # QEMU's own node for PHB 1 (the phb2 seed) against the one made from PHB 0
    seed = (DATA / "seeds" / "default.seed.dtb").read_bytes()
    ours = phb_node(seed, 1, PHANDLE_INTC)
    root, _, _ = parse_blob((DATA / "seeds" / "phb2.seed.dtb").read_bytes())
    real = root.child("pci@800000020000001")
    assert ours.name == real.name
    mine, theirs = dict(ours.props), dict(real.props)
    assert mine.pop("name") == b"pci\0"              # QEMU names a hotplugged PHB itself
    assert set(mine) == set(theirs)

    def drcs(props):   # the slot DRCs as a set: QEMU lists them in hash-table order
        ids = [int.from_bytes(props["ibm,drc-indexes"][i:i + 4], "big")
               for i in range(4, len(props["ibm,drc-indexes"]), 4)]
        names = props["ibm,drc-names"][4:].split(b"\0")[:len(ids)]
        return set(zip(ids, names))
    assert drcs(mine) == drcs(theirs)
    for name in set(mine) - {"ibm,drc-indexes", "ibm,drc-names"}:
        assert mine[name] == theirs[name], name


def test_plugging_a_phb_the_machine_has_or_cannot_have_fails():
    fw = boot_machine()
    with pytest.raises(HotplugError, match="in use"):
        fw.host.phb_hotplug.plug(0)
    with pytest.raises(HotplugError, match="no DRC"):
        fw.host.phb_hotplug.plug(200)


def test_linux_vectors_follow_the_platform_support():
    xics = linux_option_vectors(bytes.fromhex("170018c019001a40"))
    xive = linux_option_vectors(bytes.fromhex("174018c019001a40"))
    assert xics != xive and xics == (DATA / "cas" / "xics.vectors.bin").read_bytes()


def slofpy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


def test_slofpy_boot_client_linux_hotplug_both_outcomes(tmp_path):
    ok = slofpy("boot", "--client", "linux", "--hotplug-phb", "1",
                "--client-tree", str(tmp_path / "client.dtb"), "-o", str(tmp_path / "host.dtb"))
    assert ok.returncode == 0, ok.stderr
    assert "the client's tree is the host's" in ok.stdout
    last = ok.stdout.strip().splitlines()[-1]
    assert last.startswith("hotplug: /pci@800000020000001 interrupt-parent 0x")
    assert last.endswith(" -> /interrupt-controller@60302031b0000")
    diff = slofpy("diff", str(tmp_path / "host.dtb"), str(tmp_path / "client.dtb"))
    assert (diff.returncode, diff.stdout) == (1, "/pci@800000020000001: (node): (none) | present\n")

    dangling = slofpy("boot", "--client", "linux", "--no-quiesce", "--hotplug-phb", "1", "-q")
    assert dangling.returncode == 1
    assert dangling.stdout == ("hotplug: /pci@800000020000001: interrupt-map parent phandle "
                               "0x1111 points to no node\n")


def test_slofpy_boot_client_usage_errors_exit_2():
    r = slofpy("boot", "--hotplug-phb", "1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    r = slofpy("boot", "--client", "windows")
    assert r.returncode == 2
