"""Tests for slofpy.fdt.dts_writer (blob to DTS text)."""

from __future__ import annotations

import struct
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slofpy.fdt import BlobError, Node, blob_to_dts, build_blob, compile_dts, parse_blob
from slofpy.fdt.dts_writer import format_value, looks_like_strings

from conftest import need_tool


def cells(*values: int) -> bytes:
    return b"".join(struct.pack(">I", v) for v in values)


SAMPLE = Node(
    "",
    [("model", b"IBM pSeries\0"), ("#size-cells", cells(2)), ("ibm,extended-os-term", b"")],
    [
        Node("chosen", [("bootargs", b"quiet\0"), ("ibm,architecture-vec-5", b"\0\0")]),
        Node("cpus", [], [Node("cpu@0", [("reg", cells(0)), ("compatible", b"ibm,power9\0ibm,power8\0")])]),
    ],
)


def test_layout_matches_dtc_style():
    text = blob_to_dts(build_blob(SAMPLE, [(0x1000, 0x2000)]))
    assert text == (
        "/dts-v1/;\n"
        "\n"
        "/memreserve/\t0x0000000000001000 0x0000000000002000;\n"
        "/ {\n"
        '\tmodel = "IBM pSeries";\n'
        "\t#size-cells = <0x02>;\n"
        "\tibm,extended-os-term;\n"
        "\n"
        "\tchosen {\n"
        '\t\tbootargs = "quiet";\n'
        "\t\tibm,architecture-vec-5 = [00 00];\n"
        "\t};\n"
        "\n"
        "\tcpus {\n"
        "\n"
        "\t\tcpu@0 {\n"
        "\t\t\treg = <0x00>;\n"
        '\t\t\tcompatible = "ibm,power9", "ibm,power8";\n'
        "\t\t};\n"
        "\t};\n"
        "};\n"
    )


def test_output_compiles_with_dtc_to_the_same_blob(tmp_path):
    blob = build_blob(SAMPLE, [(0x1000, 0x2000)])
    source = tmp_path / "out.dts"
    source.write_text(blob_to_dts(blob))
    result = subprocess.run([need_tool("dtc"), "-q", "-I", "dts", "-O", "dtb", str(source)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == blob           # the same bytes: build_blob lays out as dtc does


@pytest.mark.parametrize(
    "value, text",
    [
        (b"ab\0", '"ab"'),
        (b"a\0b\0", '"a", "b"'),
        (b"ab\0\0", '"ab", ""'),
        (b"\a\b\t\n\v\f\r\0", r'"\a\b\t\n\v\f\r"'),
        (b"q\"\\'\0", r'''"q\"\\\'"'''),
        (b"a\0\0", "[61 00 00]"),  # more NULs than text: dtc shows bytes
        (b"\0", "[00]"),
        (b"\0\0\0\0", "<0x00>"),
        (b"\x7f\0", "[7f 00]"),
        (b"abc", "[61 62 63]"),
        (b"abcd", "<0x61626364>"),
        (cells(1, 0xFFFFFFFF, 0x123), "<0x01 0xffffffff 0x123>"),
        (b"\x01\x02\x03", "[01 02 03]"),
    ],
)
def test_guessing_follows_dtc(value, text):
    assert format_value(value) == text
    assert looks_like_strings(value) == text.startswith('"')


@pytest.mark.parametrize(
    "value, kind, text",
    [
        (cells(0x41424300), None, '"ABC"'),
        (cells(0x41424300), "int", "<0x41424300>"),
        (b"ABC\0", "bytes", "[41 42 43 00]"),
        (b"\x01\xff\0", "string", r'"\x01\xff"'),
        (b"ab\0cd", "string", '"ab", [63 64]'),
        (b"abc", "string", "[61 62 63]"),
        (b"\0\0\0\1\2", "int", "<0x01>, [02]"),
        (b"\1\2", "int", "[01 02]"),
        (b"hello\0", "string", '"hello"'),
    ],
)
def test_kinds_override_the_guess(value, kind, text):
    assert format_value(value, kind) == text


def test_kinds_are_looked_up_by_path_and_name():
    blob = build_blob(Node("", [("x", b"AB\0\0")], [Node("n@1", [("x", b"AB\0\0")])]))
    text = blob_to_dts(blob, {("/n@1", "x"): "int", ("/nowhere", "x"): "bytes"})
    assert '\tx = "AB", "";' in text
    assert "\t\tx = <0x41420000>;" in text


def test_empty_property_ignores_kind():
    blob = build_blob(Node("", [("flag", b"")]))
    assert "\tflag;\n" in blob_to_dts(blob, {("/", "flag"): "int"})


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown property kind"):
        blob_to_dts(build_blob(SAMPLE), {("/", "model"): "float"})


def test_malformed_blob_raises_blob_error():
    blob = bytearray(build_blob(SAMPLE))
    blob[0] = 0
    with pytest.raises(BlobError):
        blob_to_dts(bytes(blob))


# --- property-based: anything we build survives writer + compiler ------------------

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-"
prop_names = st.text(NAME_CHARS + "#?", min_size=1, max_size=12).filter(
    lambda n: n not in ("phandle", "linux,phandle")
)
node_names = st.builds(
    lambda base, unit: base if unit is None else f"{base}@{unit:x}",
    st.text(NAME_CHARS, min_size=1, max_size=10),
    st.none() | st.integers(0, 2**40),
)
values = (
    st.binary(max_size=24)
    | st.lists(st.integers(0, 2**32 - 1), max_size=5).map(lambda c: cells(*c))
    | st.lists(st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=6), min_size=1, max_size=3).map(
        lambda parts: b"".join(p.encode() + b"\0" for p in parts)
    )
)
kinds = st.none() | st.sampled_from(["string", "int", "bytes"])
props = st.lists(st.tuples(prop_names, values, kinds), max_size=5, unique_by=lambda p: p[0])


@st.composite
def trees_with_kinds(draw, depth: int = 0, path: str = "/"):
    node_props = draw(props)
    node = Node("" if path == "/" else path.rsplit("/", 1)[1], [(n, v) for n, v, _ in node_props])
    chosen = {(path, n): k for n, _, k in node_props if k is not None}
    if depth < 3:
        for name in draw(st.lists(node_names, max_size=3, unique=True)):
            child, child_kinds = draw(trees_with_kinds(depth + 1, (path if path != "/" else "") + "/" + name))
            node.children.append(child)
            chosen.update(child_kinds)
    return node, chosen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree_and_kinds=trees_with_kinds(), memreserve=st.lists(
    st.tuples(st.integers(0, 2**64 - 1), st.integers(1, 2**64 - 1)), max_size=2))
def test_random_trees_survive_writer_and_compiler(tree_and_kinds, memreserve):
    tree, chosen = tree_and_kinds
    blob = build_blob(tree, memreserve)
    text = blob_to_dts(blob, chosen)
    root, reserved, _ = parse_blob(compile_dts(text, "random.dts"))
    assert root == tree
    assert reserved == memreserve
