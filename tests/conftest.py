"""Shared fixtures for slofpy's tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slofpy import Machine

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
#: real QEMU seeds and what real SLOF flattened from them (the default and rng machines)
REFERENCE_SEEDS = DATA / "reference-seeds"
#: what real SLOF printed at its prompt for the display words
SLOF_CONSOLE = DATA / "reference" / "slof-console.txt"
#: compares two flattened trees property by property (prints a score line last)
TREE_SCORE = DATA / "tools" / "tree-score"

#: the Debian package that provides each outside tool the tests run
TOOL_PACKAGES = {"dtc": "device-tree-compiler", "tmux": "tmux", "gforth": "gforth",
                 "qemu-system-ppc64": "qemu-system-ppc"}


#: the SLOF image Debian's qemu-system-data installs (what QEMU's pseries machine boots)
SLOF_BIN = Path("/usr/share/qemu/slof.bin")


def require_slof_bin() -> Path:
    """Real SLOF's image; a missing one fails the test with one line naming the package."""
    if not SLOF_BIN.is_file():
        pytest.fail(f"{SLOF_BIN} not found: install the Debian package qemu-system-data "
                    "(see the README's set-up)", pytrace=False)
    return SLOF_BIN


@pytest.fixture(scope="session")
def slof_bin() -> Path:
    return require_slof_bin()


def need_tool(name: str) -> str:
    """The path of an outside program a test runs; when it is missing the test fails with
    one line naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian package {TOOL_PACKAGES.get(name, name)}"
                    " (see the README's set-up)", pytrace=False)
    return path


@pytest.fixture
def m() -> Machine:
    """A fresh bare engine."""
    return Machine()


def run(m: Machine, code: str) -> list[int]:
    """Evaluate code, return the stack and clear it."""
    m.evaluate(code)
    stack = m.stack
    m.vm.s.clear()
    return stack
