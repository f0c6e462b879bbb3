"""Run a Forth test file line by line on one Machine, collecting the T{ }T lines that fail.

Lines that are not tests (definitions, set-up) run as they are; a multi-line definition is
gathered until its `;`. Each T{ ... }T line is checked: an error or a set TESTER-FAILED makes
it a failure, reported with its file and line.
"""
from __future__ import annotations

from pathlib import Path

from slofpy import Machine, ForthError

TESTER = Path(__file__).parent / "forth" / "tester.fs"


def run_forth_tests(path: Path, m: Machine | None = None) -> tuple[int, list[str]]:
    m = m or Machine()
    m.include(TESTER)
    failures: list[str] = []
    count = 0
    pending = ""
    start_line = 0
    for no, line in enumerate(path.read_text().splitlines(), 1):
        text = pending + ("\n" if pending else "") + line
        if pending == "":
            start_line = no
        stripped = line.strip()
        is_test = text.lstrip().lower().startswith("t{")
        if not is_test and text.lstrip().startswith(":") and ";" not in text:
            pending = text
            continue
        pending = ""
        try:
            m.evaluate(text, name=str(path.name), line=start_line)
        except ForthError as e:
            failures.append(f"{path.name}:{start_line}: {stripped}  -> error: {e}")
            m.take_output()
            continue
        if is_test:
            count += 1
            if _var(m, "tester-failed @"):
                failures.append(f"{path.name}:{start_line}: {text.strip()}  -> {m.take_output()}")
        m.take_output()
    return count, failures


def _var(m: Machine, name: str) -> int:
    m.evaluate(name)
    return m.pop()
