"""The real QEMU/SLOF trees in shared/seeds through slofpy.fdt, checked with
libfdt (pylibfdt) and dtc.

``*.seed.dtb`` is QEMU's tree as handed to SLOF; ``*.slof.dtb`` is what SLOF
flattens back, with the strings block *before* the structure block.  The
``.dts`` files next to them are ``dtc -I dtb -O dts`` output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import libfdt
import pytest

from slofpy.fdt import blob_to_dts, compile_dts, compile_dts_file, parse_blob, read_header

from conftest import REFERENCE_SEEDS, need_tool

SEEDS = REFERENCE_SEEDS
DTB_NAMES = ["default.seed", "rng.seed", "default.slof", "rng.slof"]


def check_full(blob: bytes) -> int:
    return libfdt.fdt_check_full(bytearray(blob), len(blob))


def libfdt_content(blob: bytes):
    """Every node (by path), property and value, and the reservations, read by libfdt."""
    fdt = libfdt.FdtRo(bytearray(blob))
    quiet = (libfdt.NOTFOUND,)
    nodes = []

    def visit(offset: int, path: str) -> None:
        props = []
        prop_offset = fdt.first_property_offset(offset, quiet)
        while prop_offset >= 0:
            prop = fdt.get_property_by_offset(prop_offset)
            props.append((prop.name, bytes(prop)))
            prop_offset = fdt.next_property_offset(prop_offset, quiet)
        nodes.append((path, props))
        child = fdt.first_subnode(offset, quiet)
        while child >= 0:
            visit(child, (path if path != "/" else "") + "/" + fdt.get_name(child))
            child = fdt.next_subnode(child, quiet)

    visit(0, "/")
    reserved = [tuple(fdt.get_mem_rsv(i)) for i in range(fdt.num_mem_rsv())]
    return nodes, reserved


def seed_blob(name: str) -> bytes:
    path = SEEDS / f"{name}.dtb"
    assert path.is_file(), f"missing seed {path}"
    return path.read_bytes()


def dtc_decodes(blob: bytes, tmp_path: Path) -> str:
    path = tmp_path / "blob.dtb"
    path.write_bytes(blob)
    result = subprocess.run([need_tool("dtc"), "-q", "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", DTB_NAMES)
def test_seed_blobs_are_valid_and_walker_agrees_with_libfdt(name):
    blob = seed_blob(name)
    assert check_full(blob) == 0
    nodes, reserved = libfdt_content(blob)
    root, memreserve, _ = parse_blob(blob)
    assert [(path, node.props) for path, node in root.walk()] == nodes
    assert memreserve == reserved
    assert len(nodes) > 10


def test_slof_blobs_have_strings_before_struct():
    for name in ("default.slof", "rng.slof"):
        header = read_header(seed_blob(name))
        assert header.off_dt_strings < header.off_dt_struct
    for name in ("default.seed", "rng.seed"):
        header = read_header(seed_blob(name))
        assert header.off_dt_struct < header.off_dt_strings


@pytest.mark.parametrize("name", DTB_NAMES)
def test_blob_to_dts_then_compile_round_trips(name, tmp_path):
    blob = seed_blob(name)
    rebuilt = compile_dts(blob_to_dts(blob), f"{name}.dts")
    assert check_full(rebuilt) == 0
    assert libfdt_content(rebuilt) == libfdt_content(blob)
    dtc_decodes(rebuilt, tmp_path)
    # dtc's own layout is what the compiler produces
    header = read_header(rebuilt)
    assert header.off_mem_rsvmap == 0x28
    assert header.off_dt_struct < header.off_dt_strings


@pytest.mark.parametrize("name", DTB_NAMES)
def test_blob_to_dts_matches_dtc_output(name):
    """Same text as dtc 1.6.1 prints, except that string lists are written
    "a", "b" where dtc 1.6.1 writes "a\\0b"."""
    ours = blob_to_dts(seed_blob(name))
    theirs = (SEEDS / f"{name}.dts").read_text().replace("\\0", '", "')
    assert ours == theirs


@pytest.mark.parametrize("name", DTB_NAMES)
def test_compiled_seed_dts_equals_seed_blob(name, tmp_path):
    ours = compile_dts_file(SEEDS / f"{name}.dts")
    assert check_full(ours) == 0
    assert libfdt_content(ours) == libfdt_content(seed_blob(name))
    dtc_decodes(ours, tmp_path)


@pytest.mark.parametrize("name", ["default.seed", "rng.seed"])
def test_compiled_seed_dts_is_byte_identical_to_dtc(name, tmp_path):
    out = tmp_path / "dtc.dtb"
    subprocess.run([need_tool("dtc"), "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(SEEDS / f"{name}.dts")], check=True)
    assert compile_dts_file(SEEDS / f"{name}.dts") == out.read_bytes()


def test_kinds_override_on_a_seed():
    blob = seed_blob("default.seed")
    # ibm,drc-names is shown as bytes by the guess; say it is an int array
    # followed by strings instead: the text changes, the content does not
    guessed = blob_to_dts(blob)
    assert "ibm,drc-names = [00 00 00 1f 50" in guessed
    told = blob_to_dts(blob, {("/", "ibm,drc-names"): "int", ("/chosen", "linux,pci-probe-only"): "bytes"})
    assert "ibm,drc-names = <0x1f 0x50484220" in told
    assert "linux,pci-probe-only = [00 00 00 00];" in told
    assert libfdt_content(compile_dts(told)) == libfdt_content(blob)
