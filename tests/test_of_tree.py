"""The Open Firmware device tree layer (forth/): nodes, properties, units, paths, aliases,
instances and methods, display words, quiesce and the client interface."""
from __future__ import annotations

import pytest

from slofpy import ForthError
from slofpy.firmware import Firmware

# A small tree: a root with 2 address cells, a bus with 1, units made by hex decode/encode
# methods as FDT import makes them.
TREE = r"""
new-device s" /" device-name
  2 encode-int s" #address-cells" property  2 encode-int s" #size-cells" property
  : decode-unit ( str len -- lo hi ) 2 hex64-decode-unit ;
  : encode-unit ( lo hi -- str len ) 2 hex64-encode-unit ;
  new-device s" cpus" device-name
    1 encode-int s" #address-cells" property 0 encode-int s" #size-cells" property
    : decode-unit ( str len -- n ) 1 hex-decode-unit ;
    : encode-unit ( n -- str len ) 1 hex-encode-unit ;
    new-device s" PowerPC,POWER9" device-name 0 encode-int s" reg" property finish-device
    new-device s" PowerPC,POWER9" device-name 8 encode-int s" reg" property finish-device
  finish-device
  new-device s" memory" device-name
    0 encode-int 0 encode-int+ 0 encode-int+ 20000000 encode-int+ s" reg" property
    s" memory" device-type
  finish-device
  new-device s" vdevice" device-name
    1 encode-int s" #address-cells" property
    : decode-unit ( str len -- n ) 1 hex-decode-unit ;
    : encode-unit ( n -- str len ) 1 hex-encode-unit ;
    new-device s" vty" device-name 71000000 encode-int s" reg" property finish-device
    new-device s" nvram" device-name 71000001 encode-int s" reg" property finish-device
  finish-device
  new-device s" pci" device-name
    8000000 encode-int 20000000 encode-int+ 0 encode-int+ 0 encode-int+ s" reg" property
    20000000 8000000 set-unit
  finish-device
finish-device
populate-root
"""


@pytest.fixture(scope="module")
def base() -> Firmware:
    fw = Firmware()
    fw.evaluate(TREE, name="tree")
    return fw


@pytest.fixture
def fw(base: Firmware) -> Firmware:
    snap = base.snapshot()
    yield base
    base.restore(snap)
    base.take_output()


def out(fw: Firmware, code: str) -> str:
    fw.take_output()
    fw.evaluate(code)
    return fw.take_output()


def stack(fw: Firmware, code: str) -> list[int]:
    fw.evaluate(code)
    s = fw.stack
    fw.vm.s.clear()
    return s


def ph(fw: Firmware, path: str) -> int:
    return stack(fw, f's" {path}" find-node')[0]


# ---------------------------------------------------------------- nodes
def test_set_node_puts_the_node_methods_on_top_of_the_order(fw):
    # from one node to another only the top of the search order changes, and it is the
    # compilation wordlist; back to no node, the order is what it was before the first
    before = stack(fw, "device-end get-order")
    mem, vdev = ph(fw, "/memory@0"), ph(fw, "/vdevice")
    words = stack(fw, f"d# {vdev} node>words @")[0]
    got = stack(fw, f"d# {mem} set-node d# {vdev} set-node get-order get-current")
    assert got == before[:-1] + [words, before[-1] + 1, words]
    assert stack(fw, "device-end get-order") == before
    # with nothing under the node's methods, switching nodes is -50 as it always was
    got = stack(fw, f"d# {mem} set-node only d# {vdev} ' set-node catch")
    assert got[-1] == -50     # (the search order is empty now: the fixture puts it back)


def test_children_keep_creation_order(fw):
    names = [n.qname for n in fw.tree.root.children]
    assert names == ["cpus", "memory@0", "vdevice", "pci@800000020000000", "chosen", "aliases",
                     "options", "openprom", "packages"]


def test_peer_of_zero_is_the_root(fw):
    assert stack(fw, "0 peer device-tree @ =") == [-1]


def test_parent_child_peer_walk(fw):
    cpus = ph(fw, "/cpus")
    first, second = (n.phandle for n in fw.tree.find("/cpus").children)
    assert stack(fw, f"{cpus:x} child {cpus:x} child peer {second:x} parent") == [first, second, cpus]
    assert stack(fw, f"{second:x} peer") == [0]


def test_get_node_without_active_node_aborts_and_vm_stays_usable(fw):
    with pytest.raises(ForthError) as e:
        fw.evaluate("device-end get-node")
    assert "No active device tree node" in e.value.text
    assert out(fw, "1 2 + .") == "3 "


def test_delete_node_unlinks_and_keeps_appending(fw):
    nv = ph(fw, "/vdevice/nvram")
    fw.evaluate(f"{nv:x} delete-node")
    assert [n.name for n in fw.tree.find("/vdevice").children] == ["vty"]
    fw.evaluate('s" /vdevice" find-device new-device s" disk" device-name finish-device device-end')
    assert [n.name for n in fw.tree.find("/vdevice").children] == ["vty", "disk"]


def test_set_node_makes_colon_definitions_methods(fw):
    fw.evaluate('dev /memory : probe-me ( -- n ) 2a ; device-end')
    mem = fw.tree.find("/memory")
    assert "probe-me" in mem.methods()
    with pytest.raises(ForthError):
        fw.evaluate("probe-me")           # not in the Forth wordlist
    assert stack(fw, f's" probe-me" {mem.phandle:x} find-method drop execute') == [0x2a]


# ---------------------------------------------------------------- properties
def test_get_property_returns_same_address_and_patching_changes_it(fw):
    a1 = stack(fw, 's" reg" s" /memory" find-node get-property drop drop')
    a2 = stack(fw, 's" reg" s" /memory" find-node get-property drop drop')
    assert a1 == a2
    fw.evaluate(f"12345678 {a1[0]:x} 8 + l!")
    assert fw.tree.find("/memory")["reg"][8:12] == bytes.fromhex("12345678")


def test_set_property_replaces_and_moves_to_front(fw):
    fw.evaluate('dev /memory 1 encode-int s" a" property 2 encode-int s" b" property '
                '3 encode-int s" A" property device-end')
    props = fw.tree.find("/memory").properties()
    assert [p.name for p in props[:2]] == ["A", "b"]
    assert props[0].value == bytes.fromhex("00000003")
    assert sum(1 for p in props if p.name.lower() == "a") == 1


def test_encode_plus_chains_concatenate(fw):
    fw.evaluate('dev /memory 1 encode-int 2 encode-int encode+ s" ab" encode-string encode+ '
                '1122334455667788 encode-64+ s" x" property device-end')
    assert fw.tree.find("/memory")["x"] == bytes.fromhex("0000000100000002616200" "1122334455667788")


def test_encodings_are_remembered(fw):
    fw.evaluate('dev /memory 5 encode-int s" i" property s" hi" encode-string s" s" property '
                's" xy" encode-bytes s" b" property device-end')
    kinds = {p.name: p.kind for p in fw.tree.find("/memory").properties()}
    assert (kinds["i"], kinds["s"], kinds["b"]) == ("int", "string", "bytes")


def test_decode_words(fw):
    fw.evaluate('1 encode-int 1122334455667788 encode-64+ s" str" encode-string encode+')
    assert stack(fw, "decode-int nip nip") == [1]
    fw.evaluate('1 encode-int 1122334455667788 encode-64+ s" str" encode-string encode+')
    r = stack(fw, "decode-int >r decode-64 >r decode-string type 2drop r> r>")
    assert r == [0x1122334455667788, 1]
    assert fw.take_output() == "str"
    assert stack(fw, "0 0 decode-string") == [0, 0, 0, 0]


def test_delete_property_on_active_node(fw):
    fw.evaluate('dev /memory s" device_type" delete-property device-end')
    assert fw.tree.find("/memory").get("device_type") is None
    assert stack(fw, 's" device_type" s" /memory" find-node get-property') == [-1]


def test_next_property_iterates_newest_first(fw):
    m = ph(fw, "/memory")
    names = []
    fw.evaluate(f"0 0 {m:x} next-property")
    while True:
        s = fw.stack
        fw.vm.s.clear()
        if s[-1] == 0:
            break
        name = fw.read(s[0], s[1]).decode()
        names.append(name)
        fw.push(s[0], s[1], m)
        fw.execute("next-property")
    assert names == [p.name for p in fw.tree.find("/memory").properties()]
    assert names[-1] == "name"


def test_inherited_and_parent_properties(fw):
    fw.evaluate('s" /cpus/PowerPC,POWER9@8" find-device')
    assert stack(fw, 's" #size-cells" get-inherited-property nip nip') == [0]
    fw.evaluate("device-end")
    r = stack(fw, 's" nosuch" s" /cpus" find-node get-property')
    assert r == [-1]


def test_common_property_words(fw):
    fw.evaluate('dev /memory s" m" model s" c" compatible s" t" device-type device-end')
    n = fw.tree.find("/memory")
    assert (n["model"], n["compatible"], n["device_type"]) == (b"m\0", b"c\0", b"t\0")


# ---------------------------------------------------------------- units and names
def test_units_from_reg_and_qnames(fw):
    assert [n.qname for n in fw.tree.find("/cpus").children] == ["PowerPC,POWER9@0",
                                                                 "PowerPC,POWER9@8"]
    assert fw.tree.find("/vdevice/vty").path == "/vdevice/vty@71000000"


def test_hex64_encode_and_decode(fw):
    assert stack(fw, 's" 800000020000000" 2 hex64-decode-unit') == [0x20000000, 0x8000000]
    assert out(fw, "20000000 8000000 2 hex64-encode-unit type") == "800000020000000"
    assert stack(fw, 's" 1,2,3" 3 hex-decode-unit') == [3, 2, 1]
    assert out(fw, "3 2 1 3 hex-encode-unit type") == "1,2,3"
    assert stack(fw, 's" 1,zz" 2 hex-decode-unit') == [0, 1]


def test_encode_phys_decode_phys_and_reg(fw):
    fw.evaluate('dev /memory 10 20 encode-phys')
    assert stack(fw, "decode-phys >r >r 2drop r> r>") == [0x10, 0x20]
    fw.evaluate('30 40 1000 reg device-end')
    assert fw.tree.find("/memory")["reg"] == bytes.fromhex("000000400000003000001000")


def test_set_unit_and_my_unit_cells(fw):
    fw.evaluate('dev /pci  1 2 set-unit  get-node >unit device-end')
    assert stack(fw, "") == [1, 2]


# ---------------------------------------------------------------- paths and aliases
@pytest.mark.parametrize("path,expect", [
    ("/", "/"),
    ("/cpus/PowerPC,POWER9@8", "/cpus/PowerPC,POWER9@8"),
    ("/cpus/powerpc,power9", "/cpus/PowerPC,POWER9@0"),       # no unit: first of that name
    ("/CPUS/PowerPC,POWER9@08", "/cpus/PowerPC,POWER9@8"),     # unit decoded, case-insensitive
    ("/pci@800000020000000", "/pci@800000020000000"),
    ("/pci", "/pci@800000020000000"),
    ("/vdevice/vty@71000000:args", "/vdevice/vty@71000000"),
    ("/vdevice/./vty@71000000/../nvram", "/vdevice/nvram@71000001"),
])
def test_find_node_paths(fw, path, expect):
    assert fw.tree.find(path).path == expect


def test_find_node_misses(fw):
    for p in ("/nonexist", "/cpus/PowerPC,POWER9@4", "/vdevice/vty@71000009", ""):
        assert fw.tree.find(p) is None, p


def test_node_without_unit_matches_any_unit(fw):
    for unit in ("1234", "0", "ffffffff", "1,2"):
        assert fw.tree.find(f"/chosen@{unit}").path == "/chosen"


def test_relative_paths_from_current_node(fw):
    fw.evaluate("dev /vdevice")
    assert stack(fw, 's" nvram" find-node') == [ph(fw, "/vdevice/nvram")]
    assert stack(fw, 's" .." find-node') == [ph(fw, "/")]
    fw.evaluate("device-end")


def test_alias_chains_resolve(fw):
    fw.evaluate('s" con" s" /vdevice/vty@71000000" set-alias  s" term" s" con" set-alias '
                's" nv" s" /vdevice" set-alias')
    assert fw.tree.find("term").path == "/vdevice/vty@71000000"
    assert fw.tree.find("nv/nvram").path == "/vdevice/nvram@71000001"
    assert stack(fw, 's" nosuchalias" find-alias') == [0]


def test_devalias_display(fw):
    fw.evaluate("devalias hvterm /vdevice/vty@71000000 devalias nvram /vdevice/nvram@71000001")
    assert out(fw, "devalias") == ("\nnvram : /vdevice/nvram@71000001\0"
                                   "\nhvterm : /vdevice/vty@71000000\0")
    assert out(fw, "devalias hvterm") == "\nhvterm : /vdevice/vty@71000000\0"


def test_get_next_alias(fw):
    fw.evaluate('s" net" s" /vdevice" set-alias s" net1" s" /vdevice" set-alias')
    assert out(fw, 's" net" get-next-alias type  s" disk" get-next-alias type') == "net2disk"


def test_dev_nonexistent_gives_message_and_vm_usable(fw):
    with pytest.raises(ForthError) as e:
        fw.evaluate("dev /nonexistent")
    assert "No such device path" in e.value.text
    assert out(fw, "1 2 + .") == "3 "


def test_pwd_and_node_path(fw):
    assert out(fw, "dev /vdevice/nvram pwd device-end") == "/vdevice/nvram@71000001"


# ---------------------------------------------------------------- instances and methods
DRIVER = r"""
dev /vdevice/vty
instance variable count
5 instance value level
instance defer action
: open ( -- ok? ) 1 count ! my-args nip 0<> ;
: close ( -- ) ;
: bump ( -- n ) count @ 1+ dup count ! ;
: set-level ( n -- ) to level ;
: get-level ( -- n ) level ;
: my-args$ ( -- str len ) my-args ;
device-end
"""


def test_instance_variables_are_per_instance(fw):
    fw.evaluate(DRIVER)
    fw.evaluate('s" a" s" /vdevice/vty" find-node open-node value i1 '
                's" b" s" /vdevice/vty" find-node open-node value i2')
    assert stack(fw, 's" bump" i1 $call-method s" bump" i1 $call-method s" bump" i2 $call-method') == [2, 3, 2]
    fw.evaluate('7 s" set-level" i1 $call-method')
    assert stack(fw, 's" get-level" i1 $call-method s" get-level" i2 $call-method') == [7, 5]
    assert out(fw, 's" my-args$" i2 $call-method type') == "b"


def test_missing_open_counts_as_success_and_failed_open_gives_zero(fw):
    fw.evaluate(DRIVER)
    assert stack(fw, 's" " s" /vdevice/vty" find-node open-node') == [0]     # open returns false
    assert stack(fw, 's" " s" /memory" find-node open-node 0<>') == [-1]    # no open method


def test_open_dev_opens_the_chain_and_close_dev_closes_it(fw):
    fw.evaluate(DRIVER)
    ih = stack(fw, 's" /vdevice/vty@71000000:x" open-dev')[0]
    assert ih
    assert stack(fw, f"{ih:x} ihandle>phandle") == [ph(fw, "/vdevice/vty")]
    assert out(fw, f'{ih:x} >r s" my-args$" r> $call-method type') == "x"
    parent = stack(fw, f"{ih:x} instance>parent @ ihandle>phandle")
    assert parent == [ph(fw, "/vdevice")]
    fw.evaluate(f"{ih:x} close-dev")


def test_method_call_on_zero_ihandle_is_an_error(fw):
    with pytest.raises(ForthError) as e:
        fw.evaluate('s" open" 0 $call-method')
    assert "Invalid ihandle" in e.value.text
    assert out(fw, "1 2 + .") == "3 "


def test_call_static_and_parent(fw):
    fw.evaluate(DRIVER)
    fw.evaluate('dev /vdevice : parent-id ( -- n ) 99 ; '
                'dev /vdevice/vty : twice ( n -- 2n ) 2* ; : ask ( -- n ) s" parent-id" $call-parent ; '
                'device-end')
    assert stack(fw, '4 s" twice" s" /vdevice/vty" find-node $call-static') == [8]
    assert stack(fw, 's" /vdevice/vty:on" open-dev >r s" ask" r> $call-method') == [0x99]
    with pytest.raises(ForthError):
        fw.evaluate('s" nosuch" s" /vdevice/vty" find-node $call-static')


def test_find_package_and_open_package(fw):
    fw.evaluate('packages extend-device new-device s" deblocker" device-name finish-device '
                'new-device s" deblocker" device-name : open true ; finish-device device-end')
    newest = fw.tree.find("/packages").children[-1].phandle
    assert stack(fw, 's" deblocker" find-package') == [newest, -1]
    assert stack(fw, 's" nothing" find-package') == [0]
    assert stack(fw, 's" " s" deblocker" $open-package 0<>') == [-1]


# ---------------------------------------------------------------- display
def test_ls_format(fw):
    t = fw.tree
    text = out(fw, "dev /vdevice ls device-end")
    v, vty, nv = t.find("/vdevice"), t.find("/vdevice/vty"), t.find("/vdevice/nvram")
    assert text == (f"\n{v.phandle:08x} :  /vdevice"
                    f"\n{vty.phandle:08x} :  |-- vty@71000000"
                    f"\n{nv.phandle:08x} :  +-- nvram@71000001")


def test_ls_nested_branches(fw):
    text = out(fw, "dev / ls device-end").splitlines()
    assert [line[8:] for line in text[1:5]] == [" :  /", " :  |-- cpus",
                                               " :  |   |-- PowerPC,POWER9@0",
                                               " :  |   +-- PowerPC,POWER9@8"]


def test_show_devs_prints_only_descendants(fw):
    assert out(fw, "show-devs /pci") == ""
    assert out(fw, "show-devs /cpus").count("\n") == 2


def test_properties_format_like_slof(fw):
    fw.evaluate('dev /memory 1e378600 encode-int s" stdout" property '
                's" /vdevice/vty@71000000" encode-string s" path" property '
                '0 0 s" 64-bit" property '
                'here 20 allot dup 20 0 DO i over i + c! LOOP 20 encode-bytes s" rng" property '
                'here 2 allot 0 over w! 2 encode-bytes s" vec" property '
                'd# 33 0 DO [char] x c, LOOP')
    text = out(fw, 'get-node (.properties) device-end')
    lines = text.split("\n")
    assert lines[1] == "vec                              0000"
    assert lines[2] == "rng                              00010203  04050607  08090a0b  0c0d0e0f"
    assert lines[3] == "                                 10111213  14151617  18191a1b  1c1d1e1f"
    assert lines[4] == " " * 33
    assert lines[5] == "64-bit" + " " * 26
    assert lines[6] == "path                             /vdevice/vty@71000000\0"
    assert lines[7] == "                                 2f766465  76696365  2f767479  40373130"
    assert lines[8] == "                                 30303030  3000"
    assert lines[9] == "stdout                           1e378600  "


def test_long_property_name_gets_one_space(fw):
    fw.evaluate('dev /memory 4 encode-int s" ibm,associativity-reference-points" property')
    assert out(fw, "get-node (property-wid) cell+ @ .property device-end") == \
        "\nibm,associativity-reference-points 00000004  "


# ---------------------------------------------------------------- root, chosen, quiesce
def test_root_nodes_and_chosen(fw):
    fw.evaluate('5 encode-int s" stdout" set-chosen')
    assert stack(fw, 's" stdout" get-chosen >r decode-int nip nip r>') == [5, -1]
    assert stack(fw, 's" nothing" get-chosen') == [0]
    assert fw.tree.find("/openprom").get("relative-addressing").value == b""


def test_quiesce_runs_each_xt_once_in_order(fw):
    fw.evaluate(': q1 ." one " ; : q2 ." two " ; '
                "' q1 add-quiesce-xt ' q2 add-quiesce-xt ' q1 add-quiesce-xt")
    assert out(fw, "quiesce quiesce") == "one two "


# ---------------------------------------------------------------- client interface
def test_client_finddevice_and_memory_alias(fw):
    fw.evaluate('s" /" find-device new-device s" memory" device-name 0 encode-int s" reg" property '
                'finish-device device-end')
    mem0 = fw.tree.find("/memory@0")
    assert fw.client("finddevice", "/memory") == [mem0.phandle]
    assert fw.client("finddevice", "/nothing") == [0xFFFFFFFF]


def test_client_getprop_short_buffer(fw):
    buf = fw._alloc(64)
    fw.write(buf, b"\xee" * 64)
    vty = ph(fw, "/vdevice/vty")
    assert fw.client("getprop", vty, "name", buf, 2) == [4]
    assert fw.read(buf, 4) == b"vt\xee\xee"
    assert fw.client("getproplen", vty, "reg") == [4]
    assert fw.client("getprop", vty, "nosuch", buf, 8) == [0xFFFFFFFF]


def test_client_nextprop_setprop_and_paths(fw):
    buf = fw._alloc(256)
    vty = ph(fw, "/vdevice/vty")
    assert fw.client("nextprop", vty, "", buf) == [1]
    first = fw.read(buf, 16).split(b"\0")[0]
    assert first == fw.tree.find("/vdevice/vty").properties()[0].name.encode()
    fw.write(buf, b"\x01\x02\x03")
    assert fw.client("setprop", vty, "new", buf, 3) == [3]
    assert fw.tree.find("/vdevice/vty")["new"] == b"\x01\x02\x03"
    assert fw.client("package-to-path", vty, buf, 256) == [len("/vdevice/vty@71000000")]
    assert fw.read(buf, 21) == b"/vdevice/vty@71000000"
    assert fw.client("canon", "/vdevice/vty", buf, 256) == [21]


def test_client_open_call_method_close(fw):
    fw.evaluate(DRIVER)
    ih = fw.client("open", "/vdevice/vty:z")[0]
    assert ih
    assert fw.client("instance-to-package", ih) == [ph(fw, "/vdevice/vty")]
    assert fw.client("call-method", "bump", ih, nret=2) == [0, 2]
    assert fw.client("call-method", "nosuch", ih, nret=1) == [0xFFFFFFFF]
    assert fw.client("test", "call-method") == [0]
    assert fw.client("test", "nosuch") == [0xFFFFFFFF]
    assert fw.client("peer", 0) == [fw.tree.root.phandle]
    fw.client("close", ih, nret=0)


def test_client_close_of_stdin_runs_quiesce(fw):
    fw.evaluate(DRIVER)
    fw.evaluate(": q ." + '" quiesced" ; ' + "' q add-quiesce-xt")
    ih = fw.client("open", "/vdevice/vty:z")[0]
    fw.evaluate(f'{ih:x} encode-int s" stdin" set-chosen')
    fw.take_output()
    fw.client("close", ih, nret=0)
    assert "quiesced" in fw.take_output()


def test_client_unknown_service_raises(fw):
    with pytest.raises(ForthError):
        fw.client("no-such-service")


# ---------------------------------------------------------------- units of the running package
def test_my_space_my_unit_and_my_unit_64(fw):
    ih = stack(fw, 's" /cpus/PowerPC,POWER9@8" open-dev')[0]
    assert stack(fw, f"{ih:x} to my-self my-space my-unit my-unit-64 0 to my-self") == [8, 8, 8]
    ih = stack(fw, 's" /pci" open-dev')[0]
    assert stack(fw, f"{ih:x} to my-self my-unit my-unit-64 0 to my-self") == [
        0x20000000, 0x8000000, 0x0800000020000000]


# ---------------------------------------------------------------- claim and release
MEMORY = r"""
dev /memory
0 encode-int 10000 encode-int+ 0 encode-int+ ff0000 encode-int+ s" available" property
device-end
"""


def available(fw) -> list[tuple[int, int]]:
    data = fw.tree.find("/memory@0")["available"]
    cells = [int.from_bytes(data[i:i + 8], "big") for i in range(0, len(data), 8)]
    return list(zip(cells[::2], cells[1::2]))


def test_claim_aligned_and_exact_and_release(fw):
    fw.evaluate(MEMORY)
    assert available(fw) == [(0x10000, 0xFF0000)]
    assert stack(fw, "3000 10000 claim") == [0x10000]
    assert available(fw) == [(0x13000, 0xFED000)]
    assert stack(fw, "80000 1000 0 claim") == [0x80000]
    assert available(fw) == [(0x13000, 0x6D000), (0x81000, 0xF7F000)]
    fw.evaluate("80000 1000 release")
    assert available(fw) == [(0x13000, 0xFED000)]          # adjacent ranges merge again
    fw.evaluate("10000 3000 release")
    assert available(fw) == [(0x10000, 0xFF0000)]


def test_claim_that_cannot_be_met_throws_321(fw):
    fw.evaluate(MEMORY)
    assert stack(fw, "5000 100 0 ['] claim catch nip nip nip") == [0x321]
    assert stack(fw, "2000000 1000 ['] claim catch nip nip") == [0x321]
    assert available(fw) == [(0x10000, 0xFF0000)]


def test_client_claim_and_release(fw):
    fw.evaluate(MEMORY)
    assert fw.client("claim", 0, 0x1000, 0x100000) == [0x100000]
    assert fw.client("claim", 0x100000, 0x1000, 0) == [0xFFFFFFFF]     # taken already
    assert fw.client("claim", 0, 0x2000000, 0x1000) == [0xFFFFFFFF]    # too big
    assert fw.stack == []
    fw.client("release", 0x100000, 0x1000, nret=0)
    assert available(fw) == [(0x10000, 0xFF0000)]


def test_templates_grow_with_instance_data_and_children_follow(fw):
    fw.evaluate('dev /vdevice')
    parent_tmpl = stack(fw, "get-node node>instance-template @")[0]
    kids = [n.phandle for n in fw.tree.find("/vdevice").children]
    fw.evaluate("200 instance buffer: big  1234 instance value level device-end")
    new_tmpl = stack(fw, 's" /vdevice" find-node node>instance-template @')[0]
    assert new_tmpl != parent_tmpl
    for k in kids:
        assert stack(fw, f"{k:x} node>instance-template @ instance>parent @") == [new_tmpl]
    ih = stack(fw, 's" /vdevice" open-dev')[0]
    assert stack(fw, f'dev /vdevice {ih:x} to my-self level 0 to my-self device-end') == [0x1234]


def test_is_sets_instance_defers_too(fw):
    fw.evaluate(DRIVER)
    fw.evaluate('dev /vdevice/vty : set-action ( -- ) [\'] true is action ; '
                ': run-action ( -- x ) action ; device-end')
    ih = stack(fw, 's" /vdevice/vty:x" open-dev')[0]
    assert stack(fw, f's" set-action" {ih:x} $call-method s" run-action" {ih:x} $call-method') == [-1]
