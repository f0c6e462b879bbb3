"""FDT import (fdt-unflatten) and flattening (fdt-flatten-tree) in Forth, checked against
libfdt, dtc and the third-party `fdt` reader, on real QEMU seeds and generated trees."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import fdt as fdt_package
import libfdt
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slofpy import ForthError
from slofpy.fdt.blob import Node, build_blob, parse_blob, read_header
from slofpy.firmware import Firmware

from conftest import REFERENCE_SEEDS, need_tool

SEEDS = sorted(REFERENCE_SEEDS.glob("*.seed.dtb"))
assert SEEDS, "the reference QEMU seeds (tests/data/reference-seeds) are missing"


@pytest.fixture(scope="module")
def bare() -> Firmware:
    return Firmware()


@pytest.fixture
def fw(bare: Firmware) -> Firmware:
    snap = bare.snapshot()
    yield bare
    bare.restore(snap)


def flat_map(blob: bytes) -> dict[str, dict[str, bytes]]:
    root, _, _ = parse_blob(blob)
    return {path: dict(node.props) for path, node in root.walk()}


@pytest.fixture(params=SEEDS, ids=lambda p: p.name.split(".")[0], scope="module")
def seed_roundtrip(request, bare):
    seed = request.param.read_bytes()
    snap = bare.snapshot()
    bare.import_fdt(seed)
    out = bare.flatten()
    bare.restore(snap)
    return seed, out


# ---------------------------------------------------------------- real seeds
def walk_pairs(a: bytes, b: bytes):
    """The nodes of two blobs side by side, in order (their trees must have the same shape)."""
    ra, rb = parse_blob(a)[0], parse_blob(b)[0]
    wa, wb = list(ra.walk()), list(rb.walk())
    assert len(wa) == len(wb)
    return zip(wa, wb)


def test_every_seed_node_and_property_survives(seed_roundtrip):
    """Every property comes back with its value; the phandle-carrying ones (interrupt-parent,
    interrupt-map) with each of QEMU's phandles replaced by the new phandle of the same node,
    as SLOF does (and QEMU's linux,phandle/phandle replaced by the node's own phandle)."""
    seed, out = seed_roundtrip
    pairs = list(walk_pairs(seed, out))
    old_phandle = {}
    for (path, old), _ in pairs:
        for name, value in old.props:
            if name in ("phandle", "linux,phandle"):
                old_phandle[int.from_bytes(value, "big")] = path
    new_phandle = {path: dict(new.props)["phandle"] for (path, _), (_, new) in pairs}
    assert len(new_phandle) == len(pairs) and all(len(v) == 4 for v in new_phandle.values())

    def renumbered(value: bytes) -> bytes:
        cells = [value[i:i + 4] for i in range(0, len(value), 4)]
        return b"".join(new_phandle[old_phandle[int.from_bytes(c, "big")]]
                        if int.from_bytes(c, "big") in old_phandle else c for c in cells)

    patched = 0
    for (path, old), (new_path, new) in pairs:
        # units are re-encoded by the parent's encode-unit: the PCI bus's own form needs the
        # board (pci@... children get "dev,fn" there); here they are hex cells
        assert path.split("@")[0] == new_path.split("@")[0]
        props = dict(new.props)
        for name, value in old.props:
            if name in ("phandle", "linux,phandle"):
                continue
            if name in ("interrupt-parent", "interrupt-map"):
                assert props[name] == renumbered(value), (path, name)
                patched += props[name] != value
                continue
            assert props[name] == value, (path, name)
        assert props["slof,from-fdt"] == b"\0\0\0\0"
    assert patched > 0          # the seeds do refer to /interrupt-controller by phandle


def test_flattened_blob_passes_libfdt_check_full(seed_roundtrip):
    _, out = seed_roundtrip
    assert libfdt.fdt_check_full(bytearray(out), len(out)) == 0


def test_flattened_blob_decodes_with_dtc(seed_roundtrip, tmp_path):
    dtc = need_tool("dtc")
    _, out = seed_roundtrip
    (tmp_path / "out.dtb").write_bytes(out)
    r = subprocess.run([dtc, "-I", "dtb", "-O", "dts", str(tmp_path / "out.dtb")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr


def fdt_package_value(prop) -> bytes:
    """A property as the third-party `fdt` package decoded it, back in blob bytes."""
    kind = type(prop).__name__
    if kind == "PropWords":
        size = prop.word_size // 8
        return b"".join(w.to_bytes(size, "big") for w in prop.data)
    if kind == "PropStrings":
        return b"".join(t.encode("latin-1") + b"\0" for t in prop.data)
    if kind == "PropBytes":
        return bytes(prop.data)
    assert kind == "Property", kind      # a property with no value
    return b""


def test_flattened_blob_reads_the_same_with_the_fdt_package(seed_roundtrip):
    """The same nodes, the same property names on each, and every value the same bytes,
    read by an independent parser."""
    _, out = seed_roundtrip
    other = fdt_package.parse_dtb(out)
    mine = flat_map(out)
    theirs = {}
    for path, _, _ in other.walk():
        node = other.get_node(path)
        theirs[path] = {p.name: fdt_package_value(p) for p in node.props}
    assert set(theirs) == set(mine)
    for path, props in mine.items():
        assert theirs[path] == props, path


def test_layout_and_header_are_slofs(seed_roundtrip):
    _, out = seed_roundtrip
    h = read_header(out)
    assert (h.version, h.last_comp_version) == (17, 16)
    assert h.off_mem_rsvmap == 0x28 and out[0x28:0x38] == bytes(16)
    assert h.off_dt_strings == 0x38
    assert h.off_dt_struct == 0x38 + h.size_dt_strings
    assert h.totalsize == len(out)


def test_each_property_name_is_stored_once(seed_roundtrip):
    _, out = seed_roundtrip
    h = read_header(out)
    names = out[h.off_dt_strings:h.off_dt_strings + h.size_dt_strings].rstrip(b"\0").split(b"\0")
    assert len(names) == len(set(names))


def test_nodes_start_with_their_own_phandle_and_have_one(seed_roundtrip):
    _, out = seed_roundtrip
    root, _, _ = parse_blob(out)
    seen = set()
    for path, node in root.walk():
        assert node.props[0][0] == "phandle", path
        assert [n for n, _ in node.props].count("phandle") == 1
        assert node.get("linux,phandle") is None
        assert node.get("name") is None
        seen.add(node.props[0][1])
    assert len(seen) == sum(1 for _ in root.walk())


def test_phandle_references_point_at_the_new_phandles(seed_roundtrip):
    seed, out = seed_roundtrip
    pairs = list(walk_pairs(seed, out))
    new = {path: n for (path, _), (_, n) in pairs}
    old_by_phandle = {node.get("phandle"): path for (path, node), _ in pairs if node.get("phandle")}
    checked = 0
    for (path, node), _ in pairs:
        ref = node.get("interrupt-parent")
        if ref:
            assert new[path].get("interrupt-parent") == new[old_by_phandle[ref]].get("phandle")
            checked += 1
        imap = node.get("interrupt-map")
        if imap:
            nmap = new[path].get("interrupt-map")
            for off in range(0x10, len(imap), 0x1C):
                target = old_by_phandle[imap[off:off + 4]]
                assert nmap[off:off + 4] == new[target].get("phandle")
                checked += 1
    assert checked > 0


def test_import_and_flatten_leave_the_stack_as_it_was(bare):
    snap = bare.snapshot()
    try:
        bare.push(7)
        bare.import_fdt(SEEDS[0].read_bytes())
        bare.flatten()
        assert bare.stack == [7]
    finally:
        bare.restore(snap)


def test_units_come_from_reg(bare):
    snap = bare.snapshot()
    try:
        bare.import_fdt(SEEDS[0].read_bytes())
        paths = {n.path for n in bare.tree.nodes()}
        assert "/pci@800000020000000" in paths and "/vdevice/vty@71000000" in paths
        assert "decode-unit" in bare.tree.find("/vdevice").methods()
    finally:
        bare.restore(snap)


def test_unit_from_reg_else_from_the_name(bare):
    # a "reg" long enough gives the unit; without one (or with one too short) the name does,
    # also for a node whose children follow its properties
    one = struct.pack(">I", 1)
    zero = struct.pack(">I", 0)
    root = Node("", [("#address-cells", one), ("#size-cells", zero)], [
        Node("a@10", []),
        Node("b@10", [("reg", struct.pack(">I", 0x20))]),
        Node("c@30", [("reg", b"")]),
        Node("d@40", [("#address-cells", one), ("#size-cells", zero)], [
            Node("e@5", []), Node("g@6", [("reg", struct.pack(">I", 7))])]),
        Node("f", []),
    ])
    snap = bare.snapshot()
    try:
        bare.import_fdt(build_blob(root))
        paths = {n.path for n in bare.tree.nodes()}
        assert paths == {"/", "/a@10", "/b@20", "/c@30", "/d@40", "/d@40/e@5", "/d@40/g@7", "/f"}
        assert not bare.tree.find("/f").unit_set
    finally:
        bare.restore(snap)


# ---------------------------------------------------------------- broken seeds
def good_seed() -> bytes:
    return SEEDS[0].read_bytes()


def patch(blob: bytes, offset: int, data: bytes) -> bytes:
    return blob[:offset] + data + blob[offset + len(data):]


def struct_offset(blob: bytes) -> int:
    return read_header(blob).off_dt_struct


@pytest.mark.parametrize("mutate,message,offset", [
    (lambda b: patch(b, 0, b"\xd0\x0d\xfe\xee"), "wrong magic", lambda b: 0),
    (lambda b: patch(b, 20, struct.pack(">I", 15)), "version below 16", lambda b: 20),
    (lambda b: patch(b, 36, struct.pack(">I", 0x100000)), "structure block runs past totalsize", lambda b: 36),
    (lambda b: patch(b, struct_offset(b), struct.pack(">I", 7)), "does not start with a node",
     struct_offset),
    (lambda b: patch(b, 8, struct.pack(">I", read_header(b).off_dt_struct + 2)), "not 4-byte aligned",
     lambda b: 8),
])
def test_malformed_seed_is_one_error_with_offset_and_nothing_stays(fw, mutate, message, offset):
    blob = good_seed()
    bad = mutate(blob)
    with pytest.raises(ForthError) as e:
        fw.import_fdt(bad)
    assert message in e.value.text
    assert e.value.text.endswith(f"at offset 0x{offset(blob):x}")
    assert fw.tree.root is None
    fw.evaluate("1 2 + .")
    assert fw.take_output().endswith("3 ")
    fw.import_fdt(blob)                        # the VM can still import a good seed
    assert fw.tree.find("/cpus") is not None


def test_truncated_property_and_bad_name_offset(fw):
    root = Node("", [("a", b"\x01\x02\x03\x04")], [Node("n@1", [("reg", b"\0\0\0\1")])])
    blob = bytearray(build_blob(root))
    h = read_header(bytes(blob))
    # the first PROP's nameoff points far outside the strings block
    prop = h.off_dt_struct + 8
    assert blob[prop:prop + 4] == b"\0\0\0\3"
    bad = bytes(blob[:prop + 8]) + struct.pack(">I", 0x7FFF) + bytes(blob[prop + 12:])
    with pytest.raises(ForthError) as e:
        fw.import_fdt(bad)
    assert "name offset outside the strings block" in e.value.text
    bad = bytes(blob[:prop + 4]) + struct.pack(">I", 0x7FFFFF) + bytes(blob[prop + 8:])
    with pytest.raises(ForthError) as e:
        fw.import_fdt(bad)
    assert "runs past the structure block" in e.value.text
    assert fw.tree.root is None


def test_unbalanced_nodes(fw):
    blob = bytearray(build_blob(Node("", [], [Node("a")])))
    h = read_header(bytes(blob))
    end = h.off_dt_struct + h.size_dt_struct
    # drop the root's END_NODE: END comes while a node is open
    bad = bytes(blob[:end - 8]) + struct.pack(">I", 9) + bytes(4)
    with pytest.raises(ForthError) as e:
        fw.import_fdt(bad)
    assert "END before all nodes were closed" in e.value.text


# ---------------------------------------------------------------- generated trees
NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-,", min_size=1, max_size=12)
PROP_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-,#", min_size=1, max_size=16).filter(
    lambda n: n not in ("name", "phandle", "linux,phandle", "reg", "#address-cells", "slof,from-fdt"))
VALUE = st.one_of(st.binary(max_size=24),
                  st.text("abcdefgh /@,", min_size=1, max_size=12).map(lambda t: t.encode() + b"\0"))


@st.composite
def trees(draw, depth=0):
    props = draw(st.dictionaries(PROP_NAME, VALUE, max_size=5))
    kids = []
    if depth < 3:
        names = draw(st.lists(NAME, max_size=4, unique=True))
        kids = [draw(trees(depth=depth + 1)) for _ in names]
        for k, n in zip(kids, names):
            k.name = n
    return Node("", list(props.items()), kids)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees())
def test_flatten_of_unflatten_keeps_every_node_and_property(bare, tree):
    snap = bare.snapshot()
    try:
        bare.import_fdt(build_blob(tree))
        out = bare.flatten()
    finally:
        bare.restore(snap)
    before, after = flat_map(build_blob(tree)), flat_map(out)
    assert set(before) == set(after)
    for path, props in before.items():
        got = dict(after[path])
        assert got.pop("phandle") and got.pop("slof,from-fdt") == bytes(4)
        assert got == props


def test_property_after_a_subnode_is_an_error(fw):
    blob = build_blob(Node("", [("a", b"1\0")], [Node("kid", [("b", b"2\0")])]))
    h = read_header(blob)
    start = h.off_dt_struct
    struct_block = blob[start:start + h.size_dt_struct]
    # move the root's property behind the child: BEGIN root, BEGIN kid .. END kid, PROP a, END
    root_begin = struct_block[:8]
    prop_a = struct_block[8:8 + 12 + 4]
    kid = struct_block[8 + 16:-8]
    bad_struct = root_begin + kid + prop_a + struct_block[-8:]
    bad = blob[:start] + bad_struct + blob[start + len(bad_struct):]
    with pytest.raises(ForthError) as e:
        fw.import_fdt(bad)
    assert "property after a subnode" in e.value.text
    offset = start + len(root_begin) + len(kid)
    assert e.value.text.endswith(f"at offset 0x{offset:x}")
    assert fw.tree.root is None


def test_nop_tokens_are_skipped_wherever_they_stand(fw):
    # libfdt turns a property or a whole node into NOP tokens in place: NOPs then stand
    # between properties, after the last one, and where a subnode was
    tree = Node("", [("a", b"1\0"), ("gone", b"x\0"), ("b", b"2\0")],
                [Node("kid", [("c", b"3\0"), ("gone", b"y\0")]), Node("dead", [("d", b"4\0")]),
                 Node("last", [("gone", b"z\0")])])
    f = libfdt.Fdt(bytearray(build_blob(tree)))
    for path in ("/", "/kid", "/last"):
        assert libfdt.fdt_nop_property(f._fdt, f.path_offset(path), "gone") == 0
    assert libfdt.fdt_nop_node(f._fdt, f.path_offset("/dead")) == 0
    fw.import_fdt(bytes(f._fdt))
    got = {path: {k: v for k, v in props.items() if k not in ("phandle", "slof,from-fdt")}
           for path, props in flat_map(fw.flatten()).items()}
    assert got == {"/": {"a": b"1\0", "b": b"2\0"}, "/kid": {"c": b"3\0"}, "/last": {}}


def test_ten_thousand_levels_deep_import_and_flatten(fw):
    node = Node("leaf", [("x", b"\1\2\3\4")])
    for i in range(10_000):
        node = Node(f"n{i}", [], [node])
    node.name = ""
    blob = build_blob(node)
    fw.import_fdt(blob)
    out = fw.flatten()
    assert libfdt.fdt_check_full(bytearray(out), len(out)) == 0
    assert len(list(parse_blob(out)[0].walk())) == 10_001     # the root, 9,999 levels, the leaf
