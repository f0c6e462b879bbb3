"""Shared knobs for the fuzzing and robustness tests (see tests/README.md).

SLOFPY_FUZZ_SCALE multiplies every case count: 1 (the default) is the CI-sized run,
`SLOFPY_FUZZ_SCALE=50` a long one. SLOFPY_FUZZ_SEED changes the seed of the seeded-random
runs (the default is fixed, so CI always tries the same cases). With `-s`, each run prints
a one-line summary of what it tried.
"""
from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    value = int(text, 0)
    if value < 1 and name == "SLOFPY_FUZZ_SCALE":
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


SCALE = _env_int("SLOFPY_FUZZ_SCALE", 1)
SEED = _env_int("SLOFPY_FUZZ_SEED", 0x5F0F)


def cases(base: int) -> int:
    """How many cases a run of CI size `base` tries at the current scale."""
    return base * SCALE


def report(line: str) -> None:
    """One summary line (visible with pytest -s)."""
    print(f"[fuzz x{SCALE}] {line}")
