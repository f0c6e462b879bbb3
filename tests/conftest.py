"""Shared fixtures for slofpy's tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from slofpy import Machine

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


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
