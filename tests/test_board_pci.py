"""The board's PCI setup next to real SLOF on QEMU configurations captured for issue 16
(tests/data/seeds, made with make-seeds.py): nested PCI-to-PCI bridges on two and three
levels (windows, interrupt-maps), virtio-serial (legacy and modern IDs), and the devices of
SLOF's PCI driver table (virtio-9p, OHCI/EHCI/xHCI, modern virtio-blk/scsi/net, a NIC
without a driver, std VGA and Cirrus). test_board.py scores whole trees; these tests name
each property the defects were in, and check what tree-score does not: no property slofpy
adds that SLOF does not, and the aliases exactly."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from slofpy.firmware.board import boot_machine
from slofpy.fdt.blob import parse_blob

SEEDS = Path(__file__).parent / "data" / "seeds"
DIFFERENCES = Path(__file__).parent / "data" / "board-differences"
NEW = ["bridges2", "bridges3", "vserial-legacy", "vserial-modern", "pci-drivers", "pci-drivers2",
       "pci-vga", "pci-nics"]
PHB = "/pci@800000020000000"


@lru_cache(maxsize=None)
def trees(name: str) -> tuple[dict, dict]:
    """(real SLOF's nodes, ours) as path -> {property: value}."""
    fw = boot_machine(SEEDS / f"{name}.seed.dtb")
    fw.quiesce()
    def nodes(blob: bytes) -> dict:
        return {path: dict(node.props) for path, node in parse_blob(blob)[0].walk()}
    return nodes((SEEDS / f"{name}.slof.dtb").read_bytes()), nodes(fw.host.stored_blob)


def cells(value: bytes) -> list[int]:
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value), 4)]


def phandle_paths(nodes: dict) -> dict[int, str]:
    return {cells(props["phandle"])[0]: path for path, props in nodes.items() if "phandle" in props}


def interrupt_map(nodes: dict, path: str) -> list:
    """The map with each parent phandle (cell 4 of 9) replaced by the parent's path."""
    where = phandle_paths(nodes)
    values = cells(nodes[path]["interrupt-map"])
    return [where.get(v, v) if i % 9 == 4 else v for i, v in enumerate(values)]


def bridges(nodes: dict) -> list[str]:
    return [p for p, props in nodes.items() if props.get("device_type") == b"pci\0" and p != PHB
            and p.startswith(PHB + "/")]


@pytest.mark.parametrize("name,levels", [("bridges2", 2), ("bridges3", 3)])
def test_nested_bridge_windows_and_interrupt_maps_are_slofs(name, levels):
    real, ours = trees(name)
    found = bridges(real)
    assert len(found) == levels and max(p.count("/pci@") for p in found) == levels + 1
    for path in found:
        assert cells(ours[path]["ranges"]) == cells(real[path]["ranges"]), path
        assert interrupt_map(ours, path) == interrupt_map(real, path), path
        for key in ("bus-range", "primary-bus", "secondary-bus", "subordinate-bus"):
            assert ours[path][key] == real[path][key], (path, key)
    # the devices behind every level got the same addresses
    for path, props in real.items():
        if path.startswith(PHB + "/") and "assigned-addresses" in props:
            assert ours[path]["assigned-addresses"] == props["assigned-addresses"], path


@pytest.mark.parametrize("name,nodes", [
    ("vserial-legacy", ["communication-controller@0"]),
    ("vserial-modern", ["communication-controller@4", "communication-controller@6"]),
])
def test_virtio_serial_is_a_serial_device_and_the_first_is_vsterm(name, nodes):
    real, ours = trees(name)
    for node in nodes:
        assert real[f"{PHB}/{node}"]["device_type"] == b"serial\0"
        assert ours[f"{PHB}/{node}"]["device_type"] == b"serial\0"
    assert ours["/aliases"]["vsterm"] == real["/aliases"]["vsterm"] == f"{PHB}/{nodes[0]}\0".encode()


@pytest.mark.parametrize("name,node,keys", [
    ("pci-drivers", "virtio-9p@0", ["device_type"]),
    ("pci-drivers", "usb-ohci@1", ["device_type", "#address-cells", "#size-cells"]),
    ("pci-drivers", "usb-ehci@2", ["device_type", "#address-cells", "#size-cells"]),
    ("pci-drivers", "scsi@3", ["device_type"]),
    ("pci-drivers", "scsi@4", ["#address-cells", "#size-cells"]),
    ("pci-drivers2", "virtio-9p@0", ["device_type"]),
    ("pci-vga", "vga@0", ["compatible", "device_type", "character-set", "depth", "linebytes",
                          "height", "width", "assigned-addresses"]),
    ("pci-vga", "vga@1", ["device_type", "character-set", "depth", "linebytes", "height",
                          "width", "reg", "assigned-addresses"]),
    ("pci-nics", "ethernet@0", ["device_type"]),
    ("pci-nics", "ethernet@1", ["device_type"]),
])
def test_driver_table_sets_what_slofs_drivers_set(name, node, keys):
    real, ours = trees(name)
    path = f"{PHB}/{node}"
    assert path in ours, f"{path} missing (named as SLOF names it?)"
    for key in keys:
        assert key in real[path], (path, key)
        assert ours[path].get(key) == real[path][key], (path, key)


def test_storage_without_a_slof_driver_gets_nothing():
    """LSI SCSI and AHCI: SLOF has no driver, and its generic setup adds no device_type and
    no alias for them."""
    real, ours = trees("pci-drivers2")
    for node in ("scsi@1", "sata@2"):
        path = f"{PHB}/{node}"
        assert "device_type" not in real[path] and "device_type" not in ours[path]
        assert set(ours[path]) == set(real[path])


def reviewed_missing(name: str) -> set[tuple[str, str]]:
    lines = (DIFFERENCES / f"{name}-own.txt").read_text().splitlines()
    # `slofpy diff` lines, real SLOF's side first: "PATH: PROP: VALUE | (none) # why"
    missing = set()
    for line in lines:
        head = line.split(" # ")[0]
        path, prop, _ = head.split(": ", 2)
        if prop != "(node)" and head.endswith("| (none)"):
            missing.add((path, prop))
    return missing


@pytest.mark.parametrize("name", NEW + ["pci-misc", "pci-virtio", "phb2"])
def test_no_property_slof_lacks_and_the_aliases_exactly(name):
    real, ours = trees(name)
    for path, props in ours.items():
        assert path in real, f"extra node {path}"
        extra = set(props) - set(real[path])
        assert not extra, f"{path}: properties SLOF does not have: {sorted(extra)}"
    probed = {prop for node, prop in reviewed_missing(name) if node == "/aliases"}
    expected = {k: v for k, v in real["/aliases"].items() if k not in probed and k != "phandle"}
    assert {k: v for k, v in ours["/aliases"].items() if k != "phandle"} == expected
