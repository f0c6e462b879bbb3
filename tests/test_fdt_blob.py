"""Tests for slofpy.fdt.blob: header reading, the strict walker, the builder."""

from __future__ import annotations

import struct

import libfdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slofpy.fdt.blob import (
    FDT_BEGIN_NODE,
    FDT_END,
    FDT_END_NODE,
    FDT_MAGIC,
    FDT_NOP,
    FDT_PROP,
    BeginNode,
    BlobError,
    EndNode,
    Node,
    Prop,
    build_blob,
    parse_blob,
    read_header,
    read_memreserve,
    walk_struct,
)


def check_full(blob: bytes) -> int:
    return libfdt.fdt_check_full(bytearray(blob), len(blob))


# --- hand-made blobs ---------------------------------------------------------


def tok(token: int) -> bytes:
    return struct.pack(">I", token)


def begin(name: str) -> bytes:
    raw = name.encode() + b"\0"
    return tok(FDT_BEGIN_NODE) + raw + bytes(-len(raw) % 4)


def prop(nameoff: int, value: bytes) -> bytes:
    return tok(FDT_PROP) + struct.pack(">II", len(value), nameoff) + value + bytes(-len(value) % 4)


END_NODE = tok(FDT_END_NODE)
END = tok(FDT_END)
NOP = tok(FDT_NOP)
STRINGS = b"compatible\0reg\0"  # "compatible" at 0, "reg" at 11


def raw_blob(structure: bytes, strings: bytes = STRINGS, rsvmap: bytes = bytes(16), **fields: int) -> bytes:
    """A v17 blob with dtc's layout around the given blocks; fields override the header."""
    off_rsv = 0x28
    off_struct = off_rsv + len(rsvmap)
    off_strings = off_struct + len(structure)
    values = dict(
        magic=FDT_MAGIC,
        totalsize=off_strings + len(strings),
        off_dt_struct=off_struct,
        off_dt_strings=off_strings,
        off_mem_rsvmap=off_rsv,
        version=17,
        last_comp_version=16,
        boot_cpuid_phys=0,
        size_dt_strings=len(strings),
        size_dt_struct=len(structure),
    )
    values.update(fields)
    header = struct.pack(">10I", *values.values())
    return header + rsvmap + structure + strings


GOOD_STRUCT = (
    begin("")
    + prop(0, b"qemu,pseries\0")
    + begin("cpus")
    + prop(11, b"\0\0\0\1")
    + END_NODE
    + END_NODE
    + END
)


def walk(blob: bytes) -> list:
    return list(walk_struct(blob))


def test_good_hand_made_blob_walks_and_passes_libfdt():
    blob = raw_blob(GOOD_STRUCT)
    assert check_full(blob) == 0
    events = walk(blob)
    assert [type(e) for e in events] == [BeginNode, Prop, BeginNode, Prop, EndNode, EndNode]
    assert events[1] == Prop(0x38 + 8, "compatible", b"qemu,pseries\0")
    assert events[2].name == "cpus"
    assert events[3].name == "reg" and events[3].value == b"\0\0\0\1"


def test_header_fields_are_read():
    blob = raw_blob(GOOD_STRUCT, boot_cpuid_phys=3)
    header = read_header(blob)
    assert header.magic == FDT_MAGIC
    assert header.version == 17 and header.last_comp_version == 16
    assert header.off_mem_rsvmap == 0x28 and header.off_dt_struct == 0x38
    assert header.boot_cpuid_phys == 3
    assert header.totalsize == len(blob)
    assert header.size_dt_struct == len(GOOD_STRUCT)
    assert header.size_dt_strings == len(STRINGS)


def test_nops_anywhere_are_accepted():
    structure = (
        NOP
        + begin("")
        + NOP
        + prop(0, b"x\0")
        + NOP
        + begin("cpus")
        + NOP
        + END_NODE
        + NOP
        + END_NODE
        + NOP
        + END
    )
    events = walk(raw_blob(structure))
    assert [(type(e), getattr(e, "name", None)) for e in events] == [
        (BeginNode, ""),
        (Prop, "compatible"),
        (BeginNode, "cpus"),
        (EndNode, None),
        (EndNode, None),
    ]


def test_memreserve_entries_are_read():
    rsv = struct.pack(">QQQQ", 0x1000, 0x2000, 0x100000000, 0x10) + bytes(16)
    blob = raw_blob(GOOD_STRUCT, rsvmap=rsv)
    assert check_full(blob) == 0
    assert read_memreserve(blob) == [(0x1000, 0x2000), (0x100000000, 0x10)]


def expect_error(blob: bytes, words: str, offset: int) -> BlobError:
    with pytest.raises(BlobError) as info:
        root, _mem, _hdr = parse_blob(blob)
    error = info.value
    assert words in error.message
    assert error.offset == offset, f"{error.message} at 0x{error.offset:x}"
    assert f"0x{offset:x}" in str(error)
    return error


def test_error_bad_magic():
    blob = bytearray(raw_blob(GOOD_STRUCT))
    blob[0] = 0xAB
    expect_error(bytes(blob), "bad magic", 0)


@pytest.mark.parametrize("length", [0, 3, 10, 39])
def test_error_truncated_header(length):
    blob = raw_blob(GOOD_STRUCT)[:length]
    expect_error(blob, "truncated", length)


def test_error_truncated_body():
    blob = raw_blob(GOOD_STRUCT)
    expect_error(blob[:-5], "truncated", 0x04)


def test_error_old_version():
    expect_error(raw_blob(GOOD_STRUCT, version=15, last_comp_version=15), "version 15", 0x14)


def test_error_last_comp_version_newer_than_version():
    expect_error(raw_blob(GOOD_STRUCT, last_comp_version=17, version=16), "last_comp_version", 0x18)


def test_error_struct_offset_outside_blob():
    expect_error(raw_blob(GOOD_STRUCT, off_dt_struct=0x10000), "structure block offset", 0x08)


def test_error_struct_offset_misaligned():
    expect_error(raw_blob(GOOD_STRUCT, off_dt_struct=0x3A), "not 4-byte aligned", 0x08)


def test_error_struct_size_past_end():
    expect_error(raw_blob(GOOD_STRUCT, size_dt_struct=0x1000), "extends past totalsize", 0x24)


def test_error_strings_past_end():
    expect_error(raw_blob(GOOD_STRUCT, size_dt_strings=0x1000), "strings block", 0x20)


def test_error_rsvmap_outside_blob():
    expect_error(raw_blob(GOOD_STRUCT, off_mem_rsvmap=0x8000), "memory reservation block offset", 0x10)


def test_error_memreserve_not_terminated():
    rsv = struct.pack(">QQ", 0x1000, 0x2000)
    structure = b""
    blob = raw_blob(structure, strings=b"", rsvmap=rsv)
    expect_error(blob, "not terminated", 0x28 + 16)


def test_error_unterminated_node_name():
    structure = begin("") + tok(FDT_BEGIN_NODE) + b"abcd"
    expect_error(raw_blob(structure), "not NUL-terminated", 0x38 + 12)


def test_error_bad_token():
    structure = begin("") + tok(7) + END_NODE + END
    expect_error(raw_blob(structure), "bad token 0x00000007", 0x38 + 8)


def test_error_property_after_subnode():
    structure = begin("") + begin("a") + END_NODE + prop(0, b"x\0") + END_NODE + END
    expect_error(raw_blob(structure), "after a subnode", 0x38 + 20)


def test_error_unbalanced_end_node():
    structure = begin("") + END_NODE + END_NODE + END
    expect_error(raw_blob(structure), "END_NODE without a matching BEGIN_NODE", 0x38 + 12)


def test_error_end_inside_open_node():
    structure = begin("") + begin("a") + END_NODE + END
    expect_error(raw_blob(structure), "still open", 0x38 + 20)


def test_error_missing_end_token():
    structure = begin("") + END_NODE
    expect_error(raw_blob(structure), "without an END token", 0x38 + 12)


def test_error_property_length_past_block():
    structure = begin("") + tok(FDT_PROP) + struct.pack(">II", 0x100, 0) + b"abcd" + END_NODE + END
    expect_error(raw_blob(structure), "runs past the structure block", 0x38 + 12)


def test_error_property_name_offset_outside_strings():
    structure = begin("") + prop(0x400, b"") + END_NODE + END
    expect_error(raw_blob(structure), "name offset 0x400", 0x38 + 16)


def test_error_property_name_not_terminated():
    structure = begin("") + prop(0, b"") + END_NODE + END
    expect_error(raw_blob(structure, strings=b"abc"), "not NUL-terminated inside the strings block", 0x38 + 28)


def test_error_property_outside_node():
    structure = prop(0, b"") + begin("") + END_NODE + END
    expect_error(raw_blob(structure), "outside any node", 0x38)


def test_error_second_root():
    structure = begin("") + END_NODE + begin("") + END_NODE + END
    expect_error(raw_blob(structure), "second root", 0x38 + 12)


def test_error_named_root():
    structure = begin("root") + END_NODE + END
    expect_error(raw_blob(structure), "root node has a name", 0x38 + 4)


def test_only_blob_errors_for_every_truncation():
    """Cut a real blob anywhere (and fix totalsize): BlobError, never IndexError."""
    blob = raw_blob(GOOD_STRUCT)
    for length in range(len(blob)):
        cut = bytearray(blob[:length])
        if length >= 8:
            cut[4:8] = struct.pack(">I", length)
        with pytest.raises(BlobError):
            parse_blob(bytes(cut))


# --- builder -----------------------------------------------------------------


def sample_tree() -> Node:
    return Node(
        "",
        [("compatible", b"qemu,pseries\0"), ("#address-cells", b"\0\0\0\2")],
        [
            Node("cpus", [("#address-cells", b"\0\0\0\1")], [Node("cpu@0", [("reg", b"\0\0\0\0")])]),
            Node("memory@0", [("reg", bytes(16)), ("device_type", b"memory\0")]),
            Node("empty"),
        ],
    )


def test_build_blob_layout_is_dtc_like():
    blob = build_blob(sample_tree(), [(0x1000, 0x2000)], boot_cpuid=2)
    header = read_header(blob)
    assert header.off_mem_rsvmap == 0x28
    assert header.off_dt_struct == 0x28 + 32
    assert header.off_dt_strings == header.off_dt_struct + header.size_dt_struct
    assert header.totalsize == header.off_dt_strings + header.size_dt_strings == len(blob)
    assert header.version == 17 and header.last_comp_version == 16
    assert header.boot_cpuid_phys == 2
    strings = blob[header.off_dt_strings:]
    # names used twice are stored once; a name that is the tail of another
    # ("reg" inside nothing here) would be shared too, as dtc does
    assert strings.count(b"#address-cells\0") == 1
    assert strings.count(b"reg\0") == 1
    assert check_full(blob) == 0


def test_build_blob_shares_string_tails_like_dtc():
    tree = Node("", [("linux,phandle", b""), ("phandle", b"")])
    blob = build_blob(tree)
    header = read_header(blob)
    assert blob[header.off_dt_strings:] == b"linux,phandle\0"
    assert parse_blob(blob)[0] == tree


def test_build_blob_round_trips_through_walker():
    tree = sample_tree()
    blob = build_blob(tree, [(0x1000, 0x2000), (0x5000, 1)])
    root, memreserve, _ = parse_blob(blob)
    assert root == tree
    assert memreserve == [(0x1000, 0x2000), (0x5000, 1)]


def test_build_blob_version_16():
    blob = build_blob(sample_tree(), version=16)
    header = read_header(blob)
    assert header.version == 16 and header.size_dt_struct == 0
    assert header.off_mem_rsvmap == 0x28
    assert check_full(blob) == 0
    assert parse_blob(blob)[0] == sample_tree()


@pytest.mark.parametrize(
    "tree, memreserve, words",
    [
        (Node("x"), [], "root node must have an empty name"),
        (Node("", [("a\0b", b"")]), [], "NUL"),
        (Node("", [], [Node("caf\u00e9\u20ac")]), [], "Latin-1"),
        (Node(""), [(0x1000, 0)], "size 0"),
    ],
)
def test_build_blob_rejects_bad_input(tree, memreserve, words):
    with pytest.raises(ValueError, match=words):
        build_blob(tree, memreserve)


def test_build_blob_deep_tree_does_not_recurse():
    root = Node("")
    node = root
    for depth in range(3000):
        child = Node(f"n{depth}")
        node.children.append(child)
        node = child
    blob = build_blob(root)
    events = walk(blob)
    assert sum(isinstance(e, BeginNode) for e in events) == 3001


# --- property-based ----------------------------------------------------------

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
node_names = st.builds(
    lambda base, unit: base if unit is None else f"{base}@{unit:x}",
    names,
    st.none() | st.integers(0, 2**40),
)
values = st.binary(max_size=40) | st.lists(st.integers(0, 2**32 - 1), max_size=6).map(
    lambda cells: b"".join(struct.pack(">I", c) for c in cells)
) | st.text("abcdefgh ,-/@", max_size=12).map(lambda s: s.encode() + b"\0")
prop_lists = st.lists(st.tuples(st.text(NAME_CHARS + "#?", min_size=1, max_size=16), values), max_size=5,
                      unique_by=lambda p: p[0])


def trees(max_leaves: int = 12):
    leaf = st.builds(lambda name, props: Node(name, props), node_names, prop_lists)

    def extend(children):
        return st.builds(
            lambda name, props, kids: Node(name, props, kids),
            node_names,
            prop_lists,
            st.lists(children, max_size=4, unique_by=lambda n: n.name),
        )

    subtree = st.recursive(leaf, extend, max_leaves=max_leaves)
    return st.builds(
        lambda props, kids: Node("", props, kids),
        prop_lists,
        st.lists(subtree, max_size=4, unique_by=lambda n: n.name),
    )


memreserves = st.lists(st.tuples(st.integers(0, 2**64 - 1), st.integers(1, 2**64 - 1)), max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), memreserve=memreserves, cpuid=st.integers(0, 2**32 - 1))
def test_random_trees_survive_build_and_walk(tree, memreserve, cpuid):
    blob = build_blob(tree, memreserve, boot_cpuid=cpuid)
    assert check_full(blob) == 0
    root, mem, header = parse_blob(blob)
    assert root == tree
    assert mem == memreserve
    assert header.boot_cpuid_phys == cpuid


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_corrupted_blobs_raise_only_blob_error(data):
    """Random byte damage: the walker accepts or raises BlobError, nothing else,
    and whatever it accepts libfdt accepts too."""
    blob = bytearray(build_blob(sample_tree(), [(0x1000, 0x2000)]))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(blob) - 1))
        blob[index] = data.draw(st.integers(0, 255))
    try:
        parse_blob(bytes(blob))
    except BlobError:
        return
    assert check_full(bytes(blob)) == 0
