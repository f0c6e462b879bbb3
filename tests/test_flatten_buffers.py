"""fdt-flatten-tree's buffers start small and grow while the tree is written: trees whose
structure or strings block is many times the first buffer come out whole, and the heap gets
every block back."""
from __future__ import annotations

import pytest

from slofpy.fdt.blob import Node, build_blob, parse_blob
from slofpy.firmware import Firmware


def flat(blob: bytes) -> dict[str, dict[str, bytes]]:
    root, _, _ = parse_blob(blob)
    return {path: dict(node.props) for path, node in root.walk()}


def round_trip(tree: Node) -> tuple[dict, dict, Firmware]:
    fw = Firmware(memory_size=96 << 20, heap_size=32 << 20)
    fw.import_fdt(build_blob(tree))
    return flat(build_blob(tree)), flat(fw.flatten()), fw


def same_properties(seed: dict, out: dict) -> None:
    assert [p.split("@")[0] for p in seed] == [p.split("@")[0] for p in out]
    for (path, props), new in zip(seed.items(), out.values()):
        for name, value in props.items():
            if name not in ("phandle", "linux,phandle"):
                assert new[name] == value, (path, name)


@pytest.mark.parametrize("values", [0x40, 0x800])
def test_a_structure_block_far_bigger_than_the_first_buffer(values):
    # 64 nodes of 16 properties: 64 KiB and 2 MiB of values
    root = Node("", [("#address-cells", b"\0\0\0\1"), ("#size-cells", b"\0\0\0\0")])
    for i in range(64):
        props = [(f"p{k}", bytes((i + k + j) & 0xFF for j in range(values))) for k in range(16)]
        root.children.append(Node(f"n@{i:x}", [("reg", i.to_bytes(4, "big"))] + props))
    seed, out, _ = round_trip(root)
    same_properties(seed, out)


def test_a_strings_block_far_bigger_than_the_first_buffer():
    # 1500 different property names of about 40 bytes: 60 KiB of strings
    root = Node("", [])
    for i in range(30):
        props = [(f"vendor,a-rather-long-property-name-{i:03d}-{k:03d}", b"\0\0\0\1")
                 for k in range(50)]
        root.children.append(Node(f"node{i}", props))
    seed, out, _ = round_trip(root)
    same_properties(seed, out)


def test_flattening_again_gives_the_same_blob_and_reuses_the_freed_blocks():
    from slofpy.vm import layout as L
    root = Node("", [])
    for i in range(200):
        root.children.append(Node(f"n{i}", [(f"name-{i}", b"x" * 300)]))
    fw = Firmware(memory_size=96 << 20, heap_size=32 << 20)
    fw.import_fdt(build_blob(root))
    first = fw.flatten()
    assert fw.flatten() == first
    untouched = fw.vm.cell(L.HEAP_WILD)       # where the never-used part of the heap starts
    for _ in range(5):
        assert fw.flatten() == first
    assert fw.vm.cell(L.HEAP_WILD) == untouched
