"""fdt-flatten-tree's node names and property names: names come out as node>qname spells
them (failing as it does when they do not fit), property names that differ only in case
are each kept under their own spelling, and only the exact "name", "phandle" and
"linux,phandle" are left out of a node's properties."""
from __future__ import annotations

import pytest

from slofpy import ForthError
from slofpy.fdt.blob import Node, build_blob, parse_blob
from slofpy.firmware import Firmware


def firmware(*children: Node) -> Firmware:
    root = Node("", [("#address-cells", b"\0\0\0\2"), ("#size-cells", b"\0\0\0\0")])
    root.children.extend(children)
    fw = Firmware()
    fw.import_fdt(build_blob(root))
    return fw


def nodes(blob: bytes) -> dict[str, dict[str, bytes]]:
    root, _, _ = parse_blob(blob)
    return {path: dict(node.props) for path, node in root.walk()}


def strings_block(blob: bytes) -> list[bytes]:
    off = int.from_bytes(blob[12:16], "big")
    size = int.from_bytes(blob[32:36], "big")
    return blob[off:off + size].rstrip(b"\0").split(b"\0")


def test_names_differing_in_case_are_kept_apart_and_only_exact_names_are_dropped():
    # a node's properties are found whatever the case, so the spellings are on different nodes
    fw = firmware(Node("a@1", [("foo", b"1")]), Node("b@2", [("FOO", b"2")]),
                  Node("c@3", [("fOO", b"3")]), Node("d@4", [("FOO", b"4"), ("NAME", b"dee\0")]))
    blob = fw.flatten()
    tree = nodes(blob)
    assert [p.split("@")[0] for p in tree] == ["/", "/a", "/b", "/c", "/dee"]
    props = [{k: v for k, v in node.items() if k not in ("phandle", "slof,from-fdt")}
             for node in tree.values()]
    assert props[1:] == [{"foo": b"1"}, {"FOO": b"2"}, {"fOO": b"3"},
                         {"NAME": b"dee\0", "FOO": b"4"}]
    # "phandle" first; the first spelling of a name is stored once, others each time met
    assert strings_block(blob) == [b"phandle", b"slof,from-fdt", b"#size-cells",
                                   b"#address-cells", b"foo", b"FOO", b"fOO", b"NAME", b"FOO"]
    # a second flatten stores the names again and gives the same blob
    assert fw.flatten() == blob


def test_a_node_name_comes_from_the_parents_encode_unit():
    fw = firmware(Node("dev@12345,0", []), Node("plain", []))
    assert list(nodes(fw.flatten())) == ["/", "/dev@1234500000000", "/plain"]


def test_an_encode_unit_that_throws_leaves_the_node_without_a_unit():
    fw = firmware(Node("dev@1", []))
    fw.evaluate("device-tree @ set-node : encode-unit 2drop 1 throw ; device-end")
    assert list(nodes(fw.flatten())) == ["/", "/dev"]


@pytest.mark.parametrize("name, fits", [
    ("y" * 242 + "@12345,0", True),     # 242 + "@" + 13: qname-text's 256 bytes exactly
    ("y" * 243 + "@12345,0", False),
    ("y" * 255 + "@12345,0", False),     # the "@" no longer fits
    ("z" * 256, True),
    ("z" * 257, False),
])
def test_names_too_long_for_node_qname_fail_as_it_does(name, fits):
    fw = firmware(Node(name, []))
    if fits:
        short = name.split("@")[0] + ("@1234500000000" if "@" in name else "")
        assert list(nodes(fw.flatten()))[1] == "/" + short
        return
    with pytest.raises(ForthError) as flat:
        fw.flatten()
    with pytest.raises(ForthError) as qname:
        fw.evaluate("device-tree @ child node>qname")
    assert flat.value.text == qname.value.text == "Text buffer full"


def test_a_property_name_with_a_nul_in_it_is_stored_each_time():
    # as SLOF compares NUL-terminated strings, "a\0b" never matches a stored name
    fw = firmware()
    node = ('new-device s" n" device-name 1 encode-int pad 3 2dup erase [char] a pad c! '
            '[char] b pad 2 + c! property finish-device ')
    fw.evaluate("device-tree @ set-node " + node + node + "device-end")
    blob = fw.flatten()
    assert strings_block(blob)[-4:] == [b"a", b"b", b"a", b"b"]
    assert fw.flatten() == blob
