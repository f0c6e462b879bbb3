"""Shared knobs for the fuzzing and robustness tests (see tests/README.md).

SLOFPY_FUZZ_SCALE multiplies every case count: 1 (the default) is the CI-sized run,
`SLOFPY_FUZZ_SCALE=40` a long one. By default every run tries the same cases (the seeded
runs use a fixed seed, hypothesis runs derandomized); SLOFPY_FUZZ_SEED=n picks other ones,
for both. With `pytest -s` (and without xdist, which hides it), each run prints a one-line
summary of what it tried.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, seed, settings


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
SEED_GIVEN = bool(os.environ.get("SLOFPY_FUZZ_SEED", "").strip())


def cases(base: int) -> int:
    """How many cases a run of CI size `base` tries at the current scale."""
    return base * SCALE


def fuzz_settings(base: int):
    """Hypothesis settings (and seed) for a run of CI size `base`: `@fuzz_settings(n)`."""
    chosen = settings(max_examples=cases(base), deadline=None, database=None,
                      derandomize=not SEED_GIVEN,
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much,
                                             HealthCheck.large_base_example])

    def apply(test):
        test = chosen(test)
        return seed(SEED)(test) if SEED_GIVEN else test
    return apply


def report(line: str) -> None:
    """One summary line (visible with pytest -s)."""
    print(f"[fuzz x{SCALE}] {line}")
