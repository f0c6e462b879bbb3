"""Forth regression tests: `T{ ... -> ... }T` files, run one test line at a time.

A test file (`test_*.fs`) is pre-processed like any Forth source (`#include`, `#define`,
`#ifdef`), then cut into pieces: each line starting with `T{` (up to its `}T`) is one test;
everything else (definitions, set-up, `testing ...` lines) is set-up code that runs, in order,
in the same VM before the tests that follow it. The tester words come from
slofpy/forth_tester.fs, loaded into the VM first.

A comment line `\\ slofpy: booted` near the top asks for the booted board instead of the
bare engine (`\\ slofpy: booted seed=PATH` also names the seed, relative to the file).

The pytest plugin (slofpy.testing.pytest_plugin) and `slofpy test` both use this module:
`parse_test_file` gives a `TestFile`, and a `FileRun` runs its tests in any order (a test
asked for out of order replays the file up to it on a fresh VM, so pytest-xdist may hand
tests to any worker).
"""
from __future__ import annotations

import importlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import DEFAULT_TIME_LIMIT
from ..errors import TIMEOUT, ForthError
from ..machine import Machine, Snapshot
from ..vm.source import SourceError, preprocess_file

if TYPE_CHECKING:
    from ..host.device_options import DeviceList

TESTER = Path(__file__).resolve().parent / "forth_tester.fs"

_TEST_START = re.compile(r"^\s*t\{(\s|$)", re.IGNORECASE)
_TEST_END = re.compile(r"(^|\s)\}t(\s|$)", re.IGNORECASE)
_TESTING = re.compile(r"^\s*testing(\s+(.*))?$", re.IGNORECASE)
_DIRECTIVE = re.compile(r"^\s*\\\s*slofpy:(.*)$", re.IGNORECASE)
_CODE = re.compile(r"\S")


class TestFileError(Exception):
    """A test file that cannot be read or pre-processed (one line of text)."""


@dataclass
class Piece:
    """A stretch of a test file: set-up code, or one T{ }T test."""
    index: int
    is_test: bool
    text: str
    file: str            # where the piece's first line comes from
    line: int
    description: str = ""  # the `testing ...` text in force (tests only)

    @property
    def source_line(self) -> str:
        """A test's text on one line; for set-up, its first line."""
        text = self.text if self.is_test else self.text.split("\n")[0]
        return " ".join(text.split())

    def line_text(self, file: str | None, line: int | None) -> str | None:
        """The text of one of this piece's lines, if it has that line."""
        if file != self.file or line is None:
            return None
        lines = self.text.split("\n")
        k = line - self.line
        return lines[k].strip() if 0 <= k < len(lines) else None


@dataclass
class TestFile:
    path: Path
    pieces: list[Piece]
    booted: bool = False
    seed: str | None = None

    @property
    def tests(self) -> list[Piece]:
        return [p for p in self.pieces if p.is_test]


def parse_test_file(path: str | Path, include_path: list[Path] | None = None) -> TestFile:
    """Read, pre-process and cut a test file into set-up pieces and tests."""
    path = Path(path)
    try:
        pre = preprocess_file(path, [Path(p) for p in include_path or []])
    except SourceError as e:
        raise TestFileError(str(e)) from None
    text = pre.text.decode("latin-1")
    lines = text.split("\n")
    offsets = []
    pos = 0
    for ln in lines:
        offsets.append(pos)
        pos += len(ln) + 1

    booted, seed = False, None
    for ln in lines[:20]:
        m = _DIRECTIVE.match(ln)
        if m is None:
            if ln.strip() and not ln.lstrip().startswith("\\"):
                break
            continue
        for word in m.group(1).split():
            if word.lower() == "booted":
                booted = True
            elif word.lower().startswith("seed="):
                booted = True
                seed = str((path.parent / word[5:]).resolve())
            else:
                raise TestFileError(f"{path}: unknown slofpy: directive {word!r}")

    pieces: list[Piece] = []
    description = ""
    setup: list[int] = []          # line indexes of the set-up being gathered

    def where(i: int) -> tuple[str, int]:
        return pre.locate(offsets[i])

    def flush_setup() -> None:
        if setup and any(_CODE.search(lines[i]) for i in setup):
            file, line = where(setup[0])
            pieces.append(Piece(len(pieces), False, "\n".join(lines[i] for i in setup),
                                file, line))
        setup.clear()

    i = 0
    while i < len(lines):
        ln = lines[i]
        if _TEST_START.match(ln):
            flush_setup()
            first = i
            while not _TEST_END.search(_strip_comment(lines[i])) and i + 1 < len(lines):
                i += 1
            file, line = where(first)
            pieces.append(Piece(len(pieces), True, "\n".join(lines[first:i + 1]), file, line,
                                description))
        else:
            m = _TESTING.match(ln)
            if m is not None:
                description = " ".join((m.group(2) or "").split())
            setup.append(i)
        i += 1
    flush_setup()
    return TestFile(path, pieces, booted, seed)


def _strip_comment(line: str) -> str:
    """The line without a trailing `\\ comment` (a `\\` standing as a word)."""
    m = re.search(r"(^|\s)\\(\s|$)", line)
    return line[:m.start()] if m else line


# ---------------------------------------------------------------- outcomes
@dataclass
class SetupFailure:
    piece: Piece
    error: ForthError
    output: str


@dataclass
class Outcome:
    """What one test did."""
    piece: Piece
    passed: bool
    error: ForthError | None = None
    expected: list[int] | None = None
    actual: list[int] | None = None
    taken: int = 0                 # values the code took from below T{
    unfinished: bool = False       # the line never reached }T
    output: str = ""
    setup_failures: list[SetupFailure] = field(default_factory=list)

    def report(self) -> str:
        """The failure report: source line, what was expected and what came, output."""
        p = self.piece
        out = [f"{p.file}:{p.line}: {p.source_line}"]
        if p.description:
            out.append(f"  testing:  {p.description}")
        for s in self.setup_failures:
            text = s.piece.line_text(s.error.file, s.error.line)
            if text is None:
                out.append(f"  set-up failed at {s.piece.file}:{s.piece.line}: "
                           f"{s.piece.source_line}")
            else:
                out.append(f"  set-up failed at {s.error.file}:{s.error.line}: {text}")
            out.append(f"    error:  {_error_line(s.error)}")
            out.extend(_backtrace(s.error, "    "))
            if s.output:
                out.append(f"    output: {_quote(s.output)}")
        if self.error is not None:
            out.append(f"  error:    {_error_line(self.error)}")
            out.extend(_backtrace(self.error, "  "))
        elif self.unfinished:
            out.append("  the test line has no }T")
        elif self.taken:
            out.append(f"  the code took {self.taken} value(s) it did not push")
        if self.expected is not None and self.actual is not None:
            out.append(f"  expected: {_values(self.expected)}")
            out.append(f"  actual:   {_values(self.actual)}")
        if self.output:
            out.append(f"  output:   {_quote(self.output)}")
        return "\n".join(out)


def _backtrace(e: ForthError, indent: str) -> list[str]:
    """The words the error happened in, innermost first, one line each."""
    if not e.backtrace:
        return []
    return [f"{indent}backtrace:"] + [f"{indent}  {line}" for line in e.backtrace_lines()]


def _error_line(e: ForthError) -> str:
    text = f"{e.word}? {e.text}" if e.word else e.text
    return f"{text} (THROW {e.code})"


def _values(vs: list[int]) -> str:
    if not vs:
        return "(nothing)"
    return " ".join(str(v) if -10 < v < 10 else f"{v} (0x{v & (2**64 - 1):x})" for v in vs)


def _quote(text: str) -> str:
    return text.rstrip("\n").replace("\n", "\n            ")


# ---------------------------------------------------------------- machines
class BootCache:
    """Booted boards, one per seed, built once and handed out as restored copies.

    `acquire(seed, owner)` restores the seed's snapshot and records owner as the one using
    the machine; `held_by(seed, owner)` tells a user whether anyone restored it since."""

    def __init__(self, boot: Callable[..., Machine] | None = None):
        self._boot = boot
        self._boards: dict[str | None, tuple[Machine, Snapshot] | BaseException] = {}
        self._owner: dict[str | None, object] = {}

    def boot_function(self) -> Callable[..., Machine]:
        if self._boot is not None:
            return self._boot
        try:
            board = importlib.import_module("slofpy.firmware.board")
        except ImportError as e:
            raise ForthError(-21, f"the booted board is not available ({e})") from None
        return board.boot_machine

    def acquire(self, seed: str | None, owner: object, firmware: str | None = None,
                devices: DeviceList | None = None) -> Machine:
        """The machine booted on seed (None: the default seed) with slofpy's firmware, or
        with SLOF's own image or source tree `firmware` (slofpy.slof), with `devices`
        behind the seed's adapters (slofpy.host.device_options; None: QEMU's defaults)."""
        key = (firmware, seed, devices or None)
        entry = self._boards.get(key)
        if entry is None:
            try:
                host = _host(seed, devices)
                if firmware is not None:
                    from ..slof.boot import boot_slof
                    machine = boot_slof(firmware, seed, host=host, output=None)
                else:
                    extra = {} if host == "qemu" else {"host": host}
                    machine = self.boot_function()(seed=seed, output=None, **extra)
            except ForthError as e:
                entry = e
            except (OSError, ValueError) as e:
                entry = ForthError(-21, f"cannot boot on {seed or 'the default seed'}: {e}")
            else:
                machine.take_output()
                entry = (machine, machine.snapshot())
            self._boards[key] = entry
        if isinstance(entry, BaseException):
            raise entry
        machine, snap = entry
        machine.restore(snap)
        machine.take_output()
        self._owner[key] = owner
        return machine

    def held_by(self, seed: str | None, owner: object, firmware: str | None = None,
                devices: DeviceList | None = None) -> bool:
        return self._owner.get((firmware, seed, devices or None)) is owner


def _host(seed: str | None, devices: DeviceList | None):
    """The host to boot with: "qemu", or a qemu backend with `devices` behind the adapters
    of the seed (DeviceOptionError, a ValueError, when they do not fit it)."""
    if not devices:
        return "qemu"
    from ..firmware.board import default_seed, load_seed
    from ..host.device_options import backend_with_devices
    return backend_with_devices("qemu", default_seed() if seed is None else load_seed(seed),
                                devices)




class FileRun:
    """The VM state of one test file, advanced piece by piece."""

    def __init__(self, tf: TestFile, bare: Callable[[], Machine], boots: BootCache,
                 default_seed: str | None = None, time_limit: float | None = DEFAULT_TIME_LIMIT,
                 firmware: str | None = None, devices: DeviceList | None = None):
        self.time_limit = time_limit
        self.firmware = firmware            # booted files: SLOF's image/tree, or slofpy's
        self.devices = devices              # booted files: the devices behind the adapters
        self.deadline: float | None = None
        self.tf = tf
        self.bare = bare
        self.boots = boots
        self.seed = tf.seed if tf.seed is not None else default_seed
        self.machine: Machine | None = None
        self.next = 0                       # index of the next piece to run
        self.failures: dict[int, SetupFailure] = {}
        self.tester: dict[str, int] = {}

    def _fresh(self) -> Machine:
        if self.tf.booted:
            m = self.boots.acquire(self.seed, self, self.firmware, self.devices)
        else:
            m = self.bare()
        m.include(TESTER)
        m.evaluate("0 tester-verbose !")
        names = ("tester-failed", "tester-done", "tester-actual#", "tester-expected#",
                 "tester-actual", "tester-expected")
        m.evaluate(" ".join(names))
        addrs = [m.pop() for _ in names][::-1]
        self.tester = dict(zip(names, addrs))
        m.take_output()
        self.machine = m
        self.next = 0
        self.failures = {}
        return m

    def _usable(self, index: int) -> bool:
        if self.machine is None or self.next > index:
            return False
        return not self.tf.booted or self.boots.held_by(self.seed, self, self.firmware,
                                                        self.devices)

    def run(self, piece: Piece) -> Outcome:
        """Run the test piece (and every piece before it not yet run)."""
        if not self._usable(piece.index):
            self._fresh()
        # the limit counts from here: making the VM is not the test's time
        self.deadline = None if self.time_limit is None else time.monotonic() + self.time_limit
        m = self.machine
        assert m is not None
        while self.next < piece.index:
            p = self.tf.pieces[self.next]
            self.next += 1
            self._run_piece(m, p)
        prior = [f for i, f in sorted(self.failures.items()) if i > self._previous_test(piece)]
        self.next = piece.index + 1
        return self._run_test(m, piece, prior)

    def _previous_test(self, piece: Piece) -> int:
        for i in range(piece.index - 1, -1, -1):
            if self.tf.pieces[i].is_test:
                return i
        return -1

    def _evaluate(self, m: Machine, p: Piece) -> None:
        """Run one piece within what is left of the test's time limit."""
        left = None
        if self.deadline is not None:
            left = max(self.deadline - time.monotonic(), 0.001)
        try:
            m.evaluate(p.text, name=p.file, line=p.line, timeout=left)
        except ForthError as e:
            if e.code != TIMEOUT or left is None or "timed out" not in e.text:
                raise
            raise ForthError(TIMEOUT, f"timed out after {self.time_limit:g} s (the limit of "
                             "one test)", e.file, e.line, e.word) from None

    def _run_piece(self, m: Machine, p: Piece) -> None:
        try:
            self._evaluate(m, p)
        except ForthError as e:
            if not p.is_test:
                self.failures[p.index] = SetupFailure(p, e, m.take_output())
        m.take_output()

    def _run_test(self, m: Machine, p: Piece, prior: list[SetupFailure]) -> Outcome:
        t = self.tester
        m.set_cell(t["tester-done"], 0)
        try:
            self._evaluate(m, p)
        except ForthError as e:
            return Outcome(p, False, error=e, output=m.take_output(), setup_failures=prior)
        output = m.take_output()
        failed = m.cell(t["tester-failed"]) != 0
        done = m.cell(t["tester-done"]) != 0
        n_act = m.cell(t["tester-actual#"])
        n_exp = m.cell(t["tester-expected#"])
        actual = [m.cell(t["tester-actual"] + 8 * i) for i in range(max(n_act, 0))]
        expected = [m.cell(t["tester-expected"] + 8 * i) for i in range(max(n_exp, 0))]
        ok = done and not failed and not prior
        return Outcome(p, ok, expected=expected if done else None, actual=actual if done else None,
                       taken=-n_act if n_act < 0 else 0, unfinished=not done, output=output,
                       setup_failures=prior)


# ---------------------------------------------------------------- whole files
def find_test_files(paths: list[str | Path]) -> list[Path]:
    """test_*.fs files: the files named, and those found under the folders named."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("test_*.fs") if q.is_file()))
        else:
            found.append(p)
    return found


def run_file(path: Path, bare: Callable[[], Machine], boots: BootCache,
             include_path: list[Path] | None = None, seed: str | None = None,
             time_limit: float | None = DEFAULT_TIME_LIMIT) -> list[Outcome]:
    """Every test of one file, in order."""
    tf = parse_test_file(path, include_path)
    run = FileRun(tf, bare, boots, seed, time_limit)
    return [run.run(p) for p in tf.tests]
