"""Reading SLOF's own firmware: the slof.bin Debian ships and the source tree it was built from.

The image is /usr/share/qemu/slof.bin (qemu-system-data); the tree is the one Debian built it
from (tests/data/fetch-slof-source, as tests/test_slof_chain.py gets it). Nothing of SLOF is
in the repository.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from slofpy.slof import romfs
from slofpy.slof.image import SlofImageError, load_image
from test_slof_chain import slof_tree  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def image(slof_bin):
    return load_image(slof_bin)


def test_the_image_gives_its_boot_text_romfs_and_banner(image):
    assert image.boot_text.startswith(b"hex\n' ll-cr to cr\n")
    assert image.boot_text.rstrip().endswith(b'cr ." Ready!"')
    names = image.files()
    assert names[0] == "header" and "ofw_main" in names
    assert {"pci-phb.fs", "rtas.fs", "vio-vscsi.fs", "rtas-nvram.fs", "default-font.bin"} <= set(names)
    assert b" FW Version = release " in image.banner


def test_a_source_tree_gives_what_the_image_was_built_from(image, slof_tree):
    """Prepared as SLOF's build does it, the tree's OF.fs is the image's boot text byte for
    byte, and every romfs file the build lists is the image's file."""
    tree = load_image(slof_tree)
    assert tree.boot_text == image.boot_text
    in_image = {e.name: romfs.read_file(image.romfs, e) for e in romfs.parse(image.romfs)}
    in_tree = {e.name: romfs.read_file(tree.romfs, e) for e in romfs.parse(tree.romfs)}
    assert len(in_tree) == 58
    for name, data in in_tree.items():
        if name != "header":
            assert in_image[name] == data, name
    # each boot-text line knows the file and line it came from
    line = tree.boot_text.split(b"\n").index(b": rtas-get-token ( str len -- token | 0 )") + 1
    file, no = tree.where(line)
    assert file == "board-qemu/slof/rtas.fs"
    assert (slof_tree / file).read_text().splitlines()[no - 1].startswith(": rtas-get-token")


def test_romfs_build_and_parse_agree():
    files = [("header", b"h" * 3), ("a.fs", b"1 2 +\n"), ("b.bin", bytes(range(256)))]
    data = romfs.build(files)
    entries = romfs.parse(data)
    assert [(e.name, romfs.read_file(data, e)) for e in entries] == files
    assert romfs.lookup(lambda a, n: data[a:a + n], 0, b"b.bin") == (entries[2].data_offset, 256)
    assert romfs.lookup(lambda a, n: data[a:a + n], 0, b"c.fs") is None


def _boot(*args):
    return subprocess.run([sys.executable, "-m", "slofpy", "boot", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("make, says", [
    (lambda p, img: p.write_bytes(b"#!/bin/sh\necho hello\n" * 20), "not a SLOF image: romfs entry at offset 0x0"),
    (lambda p, img: p.write_bytes(img[:5000]), "not a SLOF image: romfs file at offset 0xd8"),
    (lambda p, img: p.write_bytes(b""), "not a SLOF image: romfs entry at offset 0x0 runs past the end"),
    (lambda p, img: p.mkdir(), "not a SLOF source tree: no board-qemu/slof/OF.fs"),
])
def test_a_file_that_is_not_slof_is_one_line_and_exit_1(tmp_path, slof_bin, make, says):
    target = tmp_path / "fw"
    make(target, slof_bin.read_bytes())
    r = _boot("--firmware", str(target))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"slofpy: {target}: {says}"), r.stderr


def test_a_missing_image_is_one_line(tmp_path):
    r = _boot("--firmware", str(tmp_path / "nothing.bin"))
    assert r.returncode == 1
    assert r.stderr == f"slofpy: {tmp_path / 'nothing.bin'}: No such file or directory\n"


def test_the_image_reader_errors_are_their_own_type(tmp_path):
    (tmp_path / "x").write_bytes(b"\0" * 64)
    with pytest.raises(SlofImageError, match="no file name"):
        load_image(tmp_path / "x")
