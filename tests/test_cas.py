"""CAS (ibm,client-architecture-support) on the board against real SLOF and QEMU.

tests/data/cas holds, for ic-mode=xics, xive and dual (QEMU 7.2, real SLOF, make-cas.py):
the seed, SLOF's tree before and after calling the root's method with Linux's option vectors
(MODE.vectors.bin), and QEMU's tree after CAS as it came back in the buffer (MODE.update).
"""
from pathlib import Path

import pytest

from slofpy.firmware.board import boot_machine
from slofpy.client.linux import linux_option_vectors
from slofpy.fdt.blob import parse_blob
from slofpy.fdt.tree_diff import tree_differences
from slofpy.abi import hcalls as hc

DATA = Path(__file__).resolve().parent / "data" / "cas"
MODES = ["xics", "xive", "dual"]
RANDOM = {("/chosen", "rng-seed")}          # a new random seed at every reset and CAS


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def call_cas(fw, vectors: bytes) -> list[int]:
    table = fw._alloc(len(vectors))
    fw.write(table, vectors)
    root, = fw.client("open", "/")
    return fw.client("call-method", "ibm,client-architecture-support", root, table, nret=2)


def platform_support(blob: bytes) -> bytes:
    root, _, _ = parse_blob(blob)
    return root.child("chosen").get("ibm,arch-vec-5-platform-support")


def differences(a: bytes, b: bytes) -> set[tuple[str, str, str, str]]:
    return {(d.path, d.prop, d.a, d.b) for d in tree_differences(a, b)
            if (d.path, d.prop) not in RANDOM}


@pytest.fixture(scope="module", params=MODES)
def cas_run(request):
    mode = request.param
    fw = boot_machine(data(f"{mode}.seed.dtb"))
    before = fw.flatten()
    vectors = linux_option_vectors(platform_support(data(f"{mode}.seed.dtb")))
    result = call_cas(fw, vectors)
    return mode, fw, vectors, result, before, fw.flatten()


def test_the_vectors_are_the_ones_real_slof_was_given(cas_run):
    mode, _, vectors, *_ = cas_run
    assert vectors == data(f"{mode}.vectors.bin")


def test_the_method_succeeds_as_on_real_slof(cas_run):
    mode, fw, _, result, *_ = cas_run
    assert "method ibm,client-architecture-support returned: 0" in \
        (DATA / f"{mode}.result.txt").read_text()
    assert result == [0, 0]
    assert fw.host.halt_reason is None


def test_the_host_rebuilds_the_tree_qemu_rebuilds(cas_run):
    mode, fw, *_ = cas_run
    assert differences(data(f"{mode}.update.dtb"), fw.host.cas_blob) == set()
    # the same size too (its strings block built in QEMU's order): H_UPDATE_DT's limit
    assert fw.host.fdt_initial_size == len(fw.host.cas_blob) == len(data(f"{mode}.update.dtb"))


def test_the_merge_changes_what_real_slof_changes(cas_run):
    mode, _, _, _, before, after = cas_run
    real = differences(data(f"{mode}.before.dtb"), data(f"{mode}.after.dtb"))
    assert differences(before, after) == real
    assert real, "CAS changes the tree"


def test_dual_switches_to_xive_and_the_pci_interrupt_map_follows():
    fw = boot_machine(data("dual.seed.dtb"))
    assert "interrupt-controller" in [n.qname for n in fw.tree.root.children]
    assert call_cas(fw, data("dual.vectors.bin")) == [0, 0]
    names = [n.qname for n in fw.tree.root.children]
    assert "interrupt-controller" not in names
    assert "interrupt-controller@60302031b0000" in names
    intc = fw.tree.find("/interrupt-controller@60302031b0000")
    imap = fw.tree.find("/pci@800000020000000")["interrupt-map"]
    assert int.from_bytes(imap[16:20], "big") == intc.phandle & 0xFFFFFFFF


def test_xive_asked_of_a_xics_machine_stops_the_machine():
    fw = boot_machine(data("xics.seed.dtb"))
    vectors = linux_option_vectors(bytes.fromhex("174018c019001a40"))   # says XIVE
    catch, result = call_cas(fw, vectors)
    assert catch == 0 and result == hc.H_PARAMETER & 0xFFFFFFFF
    assert fw.host.halt_reason.startswith("error: Guest requested unavailable interrupt mode (XIVE)")


def test_a_second_cas_keeps_the_nodes_the_firmware_made():
    fw = boot_machine(data("dual.seed.dtb"))
    vectors = linux_option_vectors(platform_support(data("dual.seed.dtb")))
    assert call_cas(fw, vectors) == [0, 0]
    first = {n.path for n in fw.tree.nodes()}
    assert call_cas(fw, vectors) == [0, 0]
    assert {n.path for n in fw.tree.nodes()} == first
    assert fw.tree.find("/")["slof,from-fdt"] == (2).to_bytes(4, "big")
    assert "slof,from-fdt" not in [p.name for p in fw.tree.find("/openprom").properties()]


def test_a_node_the_host_no_longer_has_goes_with_its_alias():
    # a host whose CAS tree lacks the NVRAM (as if it had been unplugged before CAS)
    from slofpy.fdt.blob import build_blob
    from slofpy.host.qemu import CAS_UPDATE_HEADER, QemuBackend

    class Unplugging(QemuBackend):
        def cas(self, memory, vector_addr, buffer_addr, buffer_size):
            root, reserve, _ = parse_blob(self.seed)
            vdevice = root.child("vdevice")
            vdevice.children = [c for c in vdevice.children if not c.name.startswith("nvram")]
            memory.write(buffer_addr, CAS_UPDATE_HEADER + build_blob(root, reserve))
            return hc.H_SUCCESS

    fw = boot_machine(host=Unplugging())
    aliases = fw.tree.find("/aliases")
    assert aliases.get("nvram") is not None and fw.tree.find("/vdevice/nvram@71000001")
    assert call_cas(fw, data("dual.vectors.bin")) == [0, 0]
    assert fw.tree.find("/vdevice/nvram@71000001") is None
    assert [c.qname for c in fw.tree.find("/vdevice").children] == ["vty@71000000",
                                                                    "v-scsi@71000002"]
    assert aliases.get("nvram") is None and aliases.get("hvterm") is not None
    assert fw.tree.find("/openprom") is not None          # the firmware's own nodes stay
