"""`slofpy diff A B`: trees compared with phandles resolved to paths."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from slofpy.fdt.blob import Node, build_blob
from slofpy.fdt.tree_diff import tree_differences

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[1]


def slofpy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def u32(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in values)


def tree(intc_phandle: int, parent: int, extra: list | None = None) -> bytes:
    intc = Node("interrupt-controller", [("phandle", u32(intc_phandle)),
                                         ("#interrupt-cells", u32(2))])
    pci = Node("pci@800000020000000", [
        ("#address-cells", u32(3)), ("#interrupt-cells", u32(1)),
        ("interrupt-map", u32(0, 0, 0, 1, parent, 0x1200, 1, 0x800, 0, 0, 1, parent, 0x1201, 1)),
    ] + (extra or []))
    return build_blob(Node("", [("model", b"qemu\0")], [intc, pci]))


def test_the_same_tree_with_other_phandles_is_equal():
    assert tree_differences(tree(0x1111, 0x1111), tree(0x1e378b80, 0x1e378b80)) == []


def test_a_phandle_that_points_elsewhere_or_nowhere_is_shown():
    lines = [str(d) for d in tree_differences(tree(0x1111, 0x1111), tree(0x2000, 0x1111))]
    assert lines == ["/pci@800000020000000: interrupt-map: <0x0 0x0 0x0 0x1 "
                     "&/interrupt-controller 0x1200 0x1 0x800 0x0 0x0 0x1 &/interrupt-controller "
                     "0x1201 0x1> | <0x0 0x0 0x0 0x1 0x1111 0x1200 0x1 0x800 0x0 0x0 0x1 0x1111 "
                     "0x1201 0x1>"]


def test_properties_and_nodes_only_one_tree_has():
    a = tree(1, 1)
    b = tree(1, 1, [("ibm,my-drc-index", u32(0x20000000))])
    assert [str(d) for d in tree_differences(a, b)] == [
        "/pci@800000020000000: ibm,my-drc-index: (none) | <0x20000000>"]
    empty = build_blob(Node("", [("model", b"qemu\0")]))
    assert [str(d) for d in tree_differences(a, empty)] == [
        "/interrupt-controller: (node): present | (none)",
        "/pci@800000020000000: (node): present | (none)"]


def test_exit_status_equal_different_and_usage(tmp_path):
    seed = DATA / "seeds" / "default.seed.dtb"
    same = slofpy("diff", str(seed), str(DATA / "seeds" / "default.seed.dts"))
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    real = slofpy("diff", str(seed), str(DATA / "seeds" / "default.slof.dtb"))
    assert real.returncode == 1
    lines = real.stdout.splitlines()
    assert "/aliases: (node): (none) | present" in lines
    # QEMU's 0x1111 and SLOF's node address name the same node: no interrupt-map line
    assert not [line for line in lines if "interrupt-map" in line]
    (tmp_path / "bad.dtb").write_bytes(b"\xd0\x0d\xfe\xed" + bytes(20))
    usage = slofpy("diff", str(seed))
    assert usage.returncode == 2 and "the following arguments are required: B" in usage.stderr
    for name in ("missing.dtb", "bad.dtb"):
        r = slofpy("diff", str(seed), str(tmp_path / name))
        assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, name
        assert r.stderr.startswith(f"slofpy: {tmp_path / name}")


def test_an_interrupt_map_is_read_even_when_the_cell_counts_are_not_declared():
    def bare(intc_phandle: int) -> bytes:
        intc = Node("ic", [("phandle", u32(intc_phandle)), ("#interrupt-cells", u32(2))])
        dev = Node("dev", [("interrupt-map", u32(0x800, 0, 0, 1, intc_phandle, 5, 1))])
        return build_blob(Node("", [], [intc, dev]))
    # the node's counts are missing: the entry is 4 + 1 + 2 cells (found), not 2 + 1 + ...
    assert tree_differences(bare(0x1111), bare(0x81a000)) == []
