"""Tests for the DTS compiler (slofpy.fdt.dts_compiler): one feature per test,
then error reporting."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import libfdt
import pytest

from slofpy.fdt import DtsError, compile_dts, compile_dts_file
from slofpy.fdt.blob import Node, parse_blob, read_header

from conftest import need_tool

DATA = Path(__file__).parent / "data" / "dts"


def check_full(blob: bytes) -> int:
    return libfdt.fdt_check_full(bytearray(blob), len(blob))


def dtc_decodes(blob: bytes) -> None:
    result = subprocess.run([need_tool("dtc"), "-q", "-I", "dtb", "-O", "dts", "-"], input=blob, capture_output=True)
    assert result.returncode == 0, result.stderr


def compile_tree(text: str) -> Node:
    """Compile, check the blob with libfdt and dtc, return our reading of it."""
    blob = compile_dts(text, "test.dts")
    assert check_full(blob) == 0
    dtc_decodes(blob)
    return parse_blob(blob)[0]


def node_at(root: Node, path: str) -> Node:
    node = root
    for part in path.strip("/").split("/"):
        if part:
            found = node.child(part)
            assert found is not None, f"no {part} in {path}"
            node = found
    return node


def cells(*values: int) -> bytes:
    return b"".join(struct.pack(">I", v) for v in values)


def dts(body: str, header: str = "") -> str:
    return f"/dts-v1/;\n{header}/ {{\n{body}\n}};\n"


# --- the whole language against dtc ----------------------------------------------


def test_features_file_is_byte_identical_to_dtc(tmp_path):
    ours = compile_dts_file(DATA / "features.dts")
    out = tmp_path / "dtc.dtb"
    subprocess.run([need_tool("dtc"), "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(DATA / "features.dts")], check=True)
    assert ours == out.read_bytes()
    assert check_full(ours) == 0


# --- one feature per test ---------------------------------------------------------


def test_properties_empty_string_cells_bytes():
    root = compile_tree(dts('e; s = "hi"; c = <1 0x20 0777>; b = [00 11 2233]; nb = [];'))
    assert root.props == [
        ("e", b""),
        ("s", b"hi\0"),
        ("c", cells(1, 0x20, 0o777)),
        ("b", bytes([0x00, 0x11, 0x22, 0x33])),
        ("nb", b""),
    ]


def test_string_lists_and_mixed_values():
    root = compile_tree(dts('l = "a", "bc", ""; m = "x", <2>, [ff], /bits/ 8 <3>;'))
    assert root.get("l") == b"a\0bc\0\0"
    assert root.get("m") == b"x\0" + cells(2) + b"\xff\x03"


def test_string_escapes():
    root = compile_tree(dts(r's = "n\n t\t bs\\ q\" hex\x41\x4a2 oct\101\7 nul\0 bell\a z\q";'))
    assert root.get("s") == b"n\n t\t bs\\ q\" hexAJ2 octA\x07 nul\0 bell\x07 zq\0"


def test_char_literals_in_cells():
    root = compile_tree(dts(r"c = <'a' '\n' '\x7f' '\''>;"))
    assert root.get("c") == cells(ord("a"), 10, 0x7F, ord("'"))


@pytest.mark.parametrize(
    "expr, value",
    [
        ("(1 + 2)", 3),
        ("(7 - 9)", 0xFFFFFFFE),
        ("(2 + 3 * 4)", 14),
        ("((2 + 3) * 4)", 20),
        ("(17 / 5)", 3),
        ("(17 % 5)", 2),
        ("(1 << 4)", 16),
        ("(0x100 >> 4)", 16),
        ("(6 & 3)", 2),
        ("(6 | 3)", 7),
        ("(6 ^ 3)", 5),
        ("(~0)", 0xFFFFFFFF),
        ("(-1)", 0xFFFFFFFF),
        ("(!0)", 1),
        ("(!7)", 0),
        ("(1 && 2)", 1),
        ("(0 || 0)", 0),
        ("(3 < 4)", 1),
        ("(3 > 4)", 0),
        ("(4 <= 4)", 1),
        ("(4 >= 5)", 0),
        ("(4 == 4)", 1),
        ("(4 != 4)", 0),
        ("(1 ? 10 : 20)", 10),
        ("(0 ? 10 : 0 ? 20 : 30)", 30),
        ("('a' + 1)", ord("b")),
        ("(1 + 2 == 3)", 1),
        ("(1 | 2 ^ 3 & 4)", 1 | (2 ^ (3 & 4))),
        ("(0x10000000000 >> 20)", 0x100000),
        ("(010 + 0x10 + 10)", 8 + 16 + 10),
        ("(5U + 1ULL)", 6),
    ],
)
def test_integer_expressions(expr, value):
    assert compile_tree(dts(f"v = <{expr}>;")).get("v") == cells(value)


def test_bits_sizes():
    root = compile_tree(
        dts("b8 = /bits/ 8 <1 0xff (-1)>; b16 = /bits/ 16 <0x1234 (-2)>; "
            "b32 = /bits/ 32 <5>; b64 = /bits/ 64 <0x123456789abcdef0 (-1)>;")
    )
    assert root.get("b8") == b"\x01\xff\xff"
    assert root.get("b16") == b"\x12\x34\xff\xfe"
    assert root.get("b32") == cells(5)
    assert root.get("b64") == bytes.fromhex("123456789abcdef0ffffffffffffffff")


def test_labels_on_nodes_multiple_labels_and_labels_in_values():
    root = compile_tree(
        dts("r1 = <&a>; r2 = <&b>;"
            "a: b: node@1 { p: q = s: <1 t: 2> u:, [01 v: 02]; };")
    )
    node = node_at(root, "/node@1")
    assert node.get("q") == cells(1, 2) + b"\x01\x02"
    # both labels name the same node, so both references give the same phandle
    assert root.get("r1") == root.get("r2") == cells(1)
    assert node.get("phandle") == cells(1)


def test_label_references_in_cells_allocate_phandles_in_order_of_first_use():
    root = compile_tree(
        dts("refs = <&third &first &third>;"
            "first: n1 { }; second: n2 { }; third: n3 { }; unused: n4 { };")
    )
    assert root.get("refs") == cells(1, 2, 1)
    assert node_at(root, "/n3").get("phandle") == cells(1)
    assert node_at(root, "/n1").get("phandle") == cells(2)
    assert node_at(root, "/n2").get("phandle") is None
    assert node_at(root, "/n4").get("phandle") is None


def test_phandle_property_is_appended_after_existing_properties():
    root = compile_tree(dts("r = <&t>; t: target { a; b = <1>; };"))
    assert [name for name, _ in node_at(root, "/target").props] == ["a", "b", "phandle"]


def test_explicit_phandles_are_respected_and_skipped():
    root = compile_tree(
        dts("refs = <&y &x &z>;"
            "x: explicit { phandle = <1>; }; y: other { }; z: third { linux,phandle = <2>; };")
    )
    assert root.get("refs") == cells(3, 1, 2)
    assert node_at(root, "/other").get("phandle") == cells(3)
    assert node_at(root, "/third").get("phandle") is None  # linux,phandle counts as explicit


def test_path_references():
    root = compile_tree(dts("byref = &b; bypath = &{/a/b@1}; cell = <&{/a/b@1}>; a { b: b@1 { }; };"))
    assert root.get("byref") == b"/a/b@1\0"
    assert root.get("bypath") == b"/a/b@1\0"
    assert root.get("cell") == cells(1)
    assert node_at(root, "/a/b@1").get("phandle") == cells(1)


def test_path_reference_does_not_allocate_a_phandle():
    root = compile_tree(dts("p = &n; n: node { };"))
    assert node_at(root, "/node").get("phandle") is None


def test_label_merge_amends_node():
    root = compile_tree(
        "/dts-v1/;\n/ { n: node { a = <1>; b = <2>; }; };\n"
        "&n { b = \"new\"; c; sub { }; };\n"
    )
    node = node_at(root, "/node")
    assert node.props == [("a", cells(1)), ("b", b"new\0"), ("c", b"")]
    assert [child.name for child in node.children] == ["sub"]


def test_path_merge_amends_node():
    root = compile_tree("/dts-v1/;\n/ { a { b { }; }; };\n&{/a/b} { added = <7>; };\n")
    assert node_at(root, "/a/b").get("added") == cells(7)


def test_amendment_can_add_labels():
    root = compile_tree("/dts-v1/;\n/ { n: node { }; };\nextra: &n { };\n/ { r = <&extra>; };\n")
    assert root.get("r") == cells(1)


def test_repeated_node_definitions_merge():
    root = compile_tree(
        "/dts-v1/;\n/ { a = <1>; n { x = <1>; }; };\n/ { b = <2>; a = <3>; n { y; }; m { }; };\n"
    )
    assert root.props == [("a", cells(3)), ("b", cells(2))]
    assert node_at(root, "/n").props == [("x", cells(1)), ("y", b"")]
    assert [child.name for child in root.children] == ["n", "m"]


def test_delete_property_and_node():
    root = compile_tree(
        "/dts-v1/;\n/ { keep; gone = <1>; n1 { }; n2 { }; l: n3 { }; n4 { }; };\n"
        "/ { /delete-property/ gone; /delete-node/ n1; };\n"
        "/delete-node/ &l;\n/delete-node/ &{/n4};\n"
    )
    assert root.props == [("keep", b"")]
    assert [child.name for child in root.children] == ["n2"]


def test_deleted_label_cannot_be_referenced():
    with pytest.raises(DtsError, match="undefined label 'l'"):
        compile_dts("/dts-v1/;\n/ { l: n { }; };\n/delete-node/ &l;\n/ { r = <&l>; };\n")


def test_memreserve():
    blob = compile_dts("/dts-v1/;\n/memreserve/ 0x1000 0x2000;\nm: /memreserve/ (1 << 32) (4 * 4);\n/ { };\n")
    assert check_full(blob) == 0
    assert parse_blob(blob)[1] == [(0x1000, 0x2000), (1 << 32, 16)]
    fdt = libfdt.FdtRo(bytearray(blob))
    assert [fdt.get_mem_rsv(i) for i in range(fdt.num_mem_rsv())] == [[0x1000, 0x2000], [1 << 32, 16]]


def test_include_relative_to_including_file():
    root, _, _ = parse_blob(compile_dts_file(DATA / "features.dts"))
    assert root.get("included-prop") == b"from include\0"
    # inc/common.dtsi includes "nested/leaf.dtsi", found next to common.dtsi
    assert node_at(root, "/leaf").get("deep") == b"nested include\0"


def test_include_dirs_are_searched(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "extra.dtsi").write_text("/ { from-lib; };\n")
    text = '/dts-v1/;\n/ { };\n/include/ "extra.dtsi"\n'
    blob = compile_dts(text, str(tmp_path / "main.dts"), include_dirs=[str(tmp_path / "lib")])
    assert parse_blob(blob)[0].get("from-lib") == b""


def test_incbin(tmp_path):
    (tmp_path / "data.bin").write_bytes(bytes(range(10)))
    text = '/dts-v1/;\n/ { all = /incbin/("data.bin"); part = /incbin/("data.bin", 2, 3); };\n'
    root = parse_blob(compile_dts(text, str(tmp_path / "main.dts")))[0]
    assert root.get("all") == bytes(range(10))
    assert root.get("part") == b"\x02\x03\x04"


def test_omit_if_no_ref():
    root = compile_tree(
        dts("r = <&a>; /omit-if-no-ref/ a: used { }; /omit-if-no-ref/ unused { }; b: also { };")
        + "/omit-if-no-ref/ &b;\n"
    )
    assert [child.name for child in root.children] == ["used"]


def test_boot_cpuid_guessed_from_first_cpu_like_dtc():
    blob = compile_dts(dts("cpus { cpu@4 { reg = <4>; }; cpu@8 { reg = <8>; }; };"))
    assert read_header(blob).boot_cpuid_phys == 4
    assert read_header(compile_dts(dts(""), boot_cpuid=9)).boot_cpuid_phys == 9


def test_comments_line_markers_and_escaped_names():
    text = (
        "/dts-v1/;\n// line comment\n/* block\n comment */\n"
        '# 1 "generated.dts"\n'
        "/ {\n\t#address-cells = <1>; /* trailing */\n\t\\delete-me = <2>;\n\t3com,card@1f { };\n};\n"
    )
    root = compile_tree(text)
    assert root.props == [("#address-cells", cells(1)), ("delete-me", cells(2))]
    assert root.children[0].name == "3com,card@1f"


def test_version_16_output():
    blob = compile_dts(dts("a = <1>;"), version=16)
    assert read_header(blob).version == 16
    assert check_full(blob) == 0


# --- errors ---------------------------------------------------------------------

LOCATION = re.compile(r"^[^:\n]+:\d+:\d+: [^\n]+$")


def compile_error(text: str, filename: str = "bad.dts") -> DtsError:
    with pytest.raises(DtsError) as info:
        compile_dts(text, filename)
    error = info.value
    assert LOCATION.match(str(error)), str(error)
    # nothing from Lark leaks out: no chained exception, plain message
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert "lark" not in str(error).lower()
    return error


def test_syntax_error_gives_file_line_column():
    error = compile_error("/dts-v1/;\n/ {\n\ta = <1>\n};\n")
    assert str(error).startswith("bad.dts:4:1: syntax error")
    assert (error.filename, error.line, error.column) == ("bad.dts", 4, 1)


def test_unexpected_character():
    error = compile_error("/dts-v1/;\n/ {\n\ta = <1> $;\n};\n")
    assert (error.line, error.column) == (3, 10)
    assert "unexpected character '$'" in error.message


def test_unexpected_end_of_input():
    error = compile_error("/dts-v1/;\n/ {\n\ta = <1>;\n")
    assert "end of input" in error.message
    assert error.line == 3


def test_undefined_label():
    error = compile_error("/dts-v1/;\n/ {\n\tr = <1 &missing>;\n};\n")
    assert str(error) == "bad.dts:3:9: reference to undefined label 'missing'"


def test_undefined_label_in_amendment():
    error = compile_error("/dts-v1/;\n/ { };\n&nowhere { };\n")
    assert str(error) == "bad.dts:3:1: reference to undefined label 'nowhere'"


def test_undefined_path():
    error = compile_error("/dts-v1/;\n/ { r = &{/no/such}; };\n")
    assert (error.line, error.column) == (2, 9)
    assert "&{/no/such}" in error.message


def test_unterminated_string():
    error = compile_error('/dts-v1/;\n/ {\n\ts = "abc;\n};\n')
    assert str(error) == "bad.dts:3:6: unterminated string"


def test_unterminated_comment():
    assert compile_error("/dts-v1/;\n/ { }; /* oops\n").message == "unterminated comment"


def test_bad_bits_size():
    error = compile_error("/dts-v1/;\n/ { a = /bits/ 12 <1>; };\n")
    assert (error.line, error.column) == (2, 16)
    assert "/bits/ must be 8, 16, 32 or 64" in error.message


def test_value_out_of_range_for_bits():
    assert "out of range for a 8-bit cell" in compile_error("/dts-v1/;\n/ { a = /bits/ 8 <0x100>; };\n").message
    assert "out of range for a 32-bit cell" in compile_error("/dts-v1/;\n/ { a = <0x100000000>; };\n").message


def test_reference_in_non_32_bit_array():
    error = compile_error("/dts-v1/;\n/ { l: n { }; a = /bits/ 64 <&l>; };\n")
    assert "32-bit" in error.message


def test_negative_literal_needs_parentheses():
    assert "syntax error" in compile_error("/dts-v1/;\n/ { a = <-1>; };\n").message


def test_division_by_zero():
    assert compile_error("/dts-v1/;\n/ { a = <(1 / 0)>; };\n").message == "division by zero"


def test_bad_escape_and_char_literal():
    assert "\\x used with no following hex digits" in compile_error('/dts-v1/;\n/ { a = "\\xg"; };\n').message
    assert "2 characters instead of 1" in compile_error("/dts-v1/;\n/ { a = <'ab'>; };\n").message


def test_properties_must_precede_subnodes():
    error = compile_error("/dts-v1/;\n/ {\n\tn { };\n\tp;\n};\n")
    assert str(error) == "bad.dts:4:2: properties must precede subnodes"


def test_duplicates():
    assert "duplicate property 'a'" in compile_error("/dts-v1/;\n/ { a; a = <1>; };\n").message
    assert "duplicate node 'n'" in compile_error("/dts-v1/;\n/ { n { }; n { }; };\n").message
    assert "duplicate label 'x'" in compile_error("/dts-v1/;\n/ { x: a { }; x: b { }; };\n").message


def test_missing_header_and_plugin_rejected():
    assert "/dts-v1/" in compile_error("/ { };\n").message
    error = compile_error("/dts-v1/;\n/plugin/;\n/ { };\n")
    assert (error.line, error.column) == (2, 1)
    assert "overlays" in error.message


def test_error_inside_included_file_names_that_file():
    with pytest.raises(DtsError) as info:
        compile_dts_file(DATA / "bad_include.dts")
    error = info.value
    assert Path(error.filename) == DATA / "inc" / "broken.dtsi"
    assert (error.line, error.column) == (4, 1)


def test_missing_include_file():
    error = compile_error('/dts-v1/;\n/ { };\n/include/ "not-there.dtsi"\n', str(DATA / "x.dts"))
    assert (error.line, error.column) == (3, 1)
    assert "not-there.dtsi" in error.message


def test_recursive_include(tmp_path):
    (tmp_path / "loop.dtsi").write_text('/include/ "loop.dtsi"\n')
    with pytest.raises(DtsError, match="recursive /include/"):
        compile_dts('/dts-v1/;\n/include/ "loop.dtsi"\n/ { };\n', str(tmp_path / "main.dts"))
