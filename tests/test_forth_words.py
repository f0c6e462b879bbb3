"""The engine's word sets, checked by Forth T{ }T files in tests/forth/ (one test per file,
listing every failing line)."""
from __future__ import annotations

from pathlib import Path

import pytest

from forth_lines import run_forth_tests

FILES = sorted((Path(__file__).parent / "forth").glob("core*.fs")) + sorted(
    p for p in (Path(__file__).parent / "forth").glob("*.fs")
    if p.name != "tester.fs" and not p.name.startswith("core"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_forth_file(path: Path) -> None:
    count, failures = run_forth_tests(path)
    assert count > 0, "the file ran no T{ }T test"
    assert not failures, "\n".join(failures)
