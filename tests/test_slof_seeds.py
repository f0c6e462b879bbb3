"""SLOF's own Forth (Debian's slof.bin) probing QEMU's PCI buses on slofpy's host model, next to
real SLOF on real QEMU.

On configurations with PCI-to-PCI bridges (two and three levels) and with a second PHB,
SLOF walks QEMU's enumerated tree and programs every BAR and bridge window through RTAS
config calls. Two oracles: the tree real SLOF flattened (tests/data/seeds/NAME.slof.dtb,
compared with tree-score), and the config space real QEMU held at real SLOF's prompt
(tests/data/pci/NAME.config.txt): slofpy's host must hold the same after SLOF's probing.
"""
from __future__ import annotations

import subprocess
import sys
from functools import lru_cache

import pytest

from conftest import TREE_SCORE
from pci_support import SEEDS, ConfigPort, captured, comparable
from slofpy.slof.boot import boot_slof

BRIDGED = ["bridges2", "bridges3", "phb2"]


@lru_cache(maxsize=None)
def booted(slof_bin, name: str):
    """SLOF booted on NAME's seed, and the config space of each captured function (its 64
    dwords) read at SLOF's prompt, before anything else runs."""
    slof = boot_slof(slof_bin, seed=SEEDS / f"{name}.seed.dtb", output=lambda _: None,
                     timeout=120)
    port = ConfigPort(slof.host, slof.host.seed)
    config = {(fn.buid, fn.addr): [port.l(fn.buid, fn.addr + 4 * i) for i in range(64)]
              for fn in captured(name)}
    return slof, config


def tree_score(real, ours) -> str:
    result = subprocess.run([sys.executable, str(TREE_SCORE), str(real), str(ours)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("name", BRIDGED)
def test_pci_config_after_slofs_probing_is_what_real_qemu_held(slof_bin, name):
    _, config = booted(slof_bin, name)
    for fn in captured(name):
        ours = config[fn.buid, fn.addr]
        assert [f"{comparable(fn, i, v):08x}" for i, v in enumerate(ours)] == \
            [f"{comparable(fn, i, v):08x}" for i, v in enumerate(fn.config)], fn.where


@pytest.mark.parametrize("name", BRIDGED)
def test_slofs_tree_on_bridges_and_two_phbs_is_real_slofs(slof_bin, name, tmp_path):
    slof, _ = booted(slof_bin, name)
    slof.quiesce()
    ours = tmp_path / f"{name}.dtb"
    ours.write_bytes(slof.host.stored_blob)
    real = SEEDS / f"{name}.slof.dtb"
    # real SLOF's tree against itself: every node, property and value
    assert tree_score(real, ours) == tree_score(real, real)
