"""pytest plugin: Forth T{ }T test files as pytest tests, and fixtures for Forth machines.

Registered through the `pytest11` entry point, so installing slofpy enables it:

- every `test_*.fs` file is collected; each `T{ ... -> ... }T` line is one test item named
  after its line and the `testing ...` text before it (see slofpy.testing.forthtest). Set-up lines
  run in order, in the same VM, before the tests after them. A failure shows the source
  line, the expected and actual stacks, and the output.
- fixture `forth`: a fresh bare Machine.
- fixture `booted`: the board booted on a seed (slofpy.firmware.board.boot_machine), built once per
  session per seed and handed to each test as a restored snapshot, so tests cannot see each
  other's changes. The seed: `@pytest.mark.slofpy_seed("path")` (relative to the test
  file's folder), else `--slofpy-seed`, else
  the board's default seed. A .fs file asks for the booted board with `\\ slofpy: booted`.
- option `--slofpy-include DIR` (repeatable): #include search folders for .fs test files.
- SLOF itself instead of slofpy's firmware: `--slofpy-firmware SLOF.BIN|DIR` boots the
  `booted` fixture and booted .fs files on SLOF's own image or source tree (slofpy.slof);
  `@pytest.mark.slofpy_firmware("path")` does it for one test (a relative path is relative
  to the test file's folder).
- the devices behind the seed's adapters (slofpy.host.device_options, as `slofpy boot
  --device`): `--slofpy-device KIND[,PROP=VALUE...]` (repeatable; a relative image path is
  relative to the current folder) and `--slofpy-nodefaults` for the `booted` fixture and
  booted .fs files; `@pytest.mark.slofpy_devices("scsi-hd,drive=disk.img", ...,
  nodefaults=False)` for one test (image paths relative to the test file's folder), which
  replaces the command line's devices. A device that does not fit the seed fails the test
  with one line.

Works with pytest-xdist: a worker given a test out of order replays its file up to it.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..errors import ForthError
from .forthtest import DEFAULT_TIME_LIMIT, BootCache, FileRun, Outcome, Piece, TestFile, \
    TestFileError, parse_test_file
from ..machine import Machine

if TYPE_CHECKING:
    from ..host.device_options import DeviceList

_STATE = pytest.StashKey["_PluginState"]()
_KEEP_RUNS = 2        # file runs (each one a VM) kept alive at once


class ForthTestFailure(Exception):
    """A T{ }T test that did not pass; carries the outcome for the report."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.report())
        self.outcome = outcome


class _PluginState:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.boots = BootCache()
        self.runs: OrderedDict[Path, FileRun] = OrderedDict()

    @property
    def seed(self) -> str | None:
        seed = self.config.getoption("slofpy_seed")
        return str(Path(seed).resolve()) if seed else None

    @property
    def include_path(self) -> list[Path]:
        return [Path(p) for p in self.config.getoption("slofpy_include") or []]

    def bare_machine(self) -> Machine:
        return Machine(include_path=self.include_path)

    @property
    def firmware(self) -> str | None:
        path = self.config.getoption("slofpy_firmware")
        return str(Path(path).resolve()) if path else None

    @property
    def devices(self) -> DeviceList | None:
        """The command line's --slofpy-device and --slofpy-nodefaults (None: neither)."""
        from ..host.device_options import DeviceList, parse_device
        texts = self.config.getoption("slofpy_device") or []
        nodefaults = self.config.getoption("slofpy_nodefaults")
        if not texts and not nodefaults:
            return None
        return DeviceList(tuple(parse_device(text) for text in texts), defaults=not nodefaults)

    def file_run(self, tf: TestFile) -> FileRun:
        run = self.runs.get(tf.path)
        if run is None or run.tf is not tf:
            run = FileRun(tf, self.bare_machine, self.boots, self.seed,
                          self.config.getoption("slofpy_timeout"), self.firmware, self.devices)
            self.runs[tf.path] = run
        self.runs.move_to_end(tf.path)
        while len(self.runs) > _KEEP_RUNS:
            self.runs.popitem(last=False)
        return run

    def finished(self, tf: TestFile) -> None:
        self.runs.pop(tf.path, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slofpy", "slofpy Forth tests")
    group.addoption("--slofpy-seed", dest="slofpy_seed", default=None, metavar="SEED",
                    help="seed (.dtb/.dts) the `booted` fixture and booted .fs files boot on")
    group.addoption("--slofpy-firmware", dest="slofpy_firmware", default=None,
                    metavar="SLOF.BIN|DIR", help="boot SLOF's own image or source tree for "
                    "the `booted` fixture and booted .fs files, instead of slofpy's firmware")
    group.addoption("--slofpy-device", dest="slofpy_device", action="append", default=[],
                    metavar="KIND[,PROP=VALUE...]", help="a device behind an adapter of the "
                    "seed for the `booted` fixture and booted .fs files, as `slofpy boot "
                    "--device` takes it (repeatable)")
    group.addoption("--slofpy-nodefaults", dest="slofpy_nodefaults", action="store_true",
                    help="no QEMU default CD-ROM for the `booted` fixture and booted .fs files")
    group.addoption("--slofpy-include", dest="slofpy_include", action="append", default=[],
                    metavar="DIR", help="#include search folder for .fs test files")
    group.addoption("--slofpy-timeout", dest="slofpy_timeout", type=_seconds,
                    default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                    help="time limit of one T{ }T test, set-up lines replayed for it included "
                         f"(default {DEFAULT_TIME_LIMIT:g}; 0: none)")


def _seconds(text: str) -> float | None:
    """--slofpy-timeout: a number of seconds; 0 means no limit."""
    value = float(text)
    if not 0 <= value < float("inf"):
        raise ValueError(text)
    return value or None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "slofpy_seed(path): the seed the `booted` fixture boots on")
    config.addinivalue_line("markers", "slofpy_firmware(path): SLOF's image or source tree "
                            "the `booted` fixture boots instead of slofpy's firmware")
    config.addinivalue_line("markers", "slofpy_devices(*specs, nodefaults=False): the "
                            "devices behind the seed's adapters for the `booted` fixture "
                            "(KIND[,PROP=VALUE...] as `slofpy boot --device` takes them)")
    config.stash[_STATE] = state = _PluginState(config)
    try:
        state.devices                 # a malformed --slofpy-device stops the run at once
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".fs" and file_path.name.startswith("test_"):
        return ForthFile.from_parent(parent, path=file_path)
    return None


class ForthFile(pytest.File):
    """A test_*.fs file: one item per T{ }T test."""

    def collect(self):
        state = self.config.stash[_STATE]
        try:
            tf = parse_test_file(self.path, state.include_path)
        except TestFileError as e:
            raise self.CollectError(str(e)) from None
        self.test_file = tf
        tests = tf.tests
        names: set[str] = set()
        for k, piece in enumerate(tests):
            name = _item_name(self.path, piece)
            if name in names:              # the same line reached twice through #include
                name = f"{name} #{k}"
            names.add(name)
            yield ForthItem.from_parent(self, name=name, piece=piece, last=k == len(tests) - 1)


def _item_name(path: Path, piece: Piece) -> str:
    where = f"line {piece.line}"
    if Path(piece.file).name != path.name:
        where = f"{Path(piece.file).name} line {piece.line}"
    return f"{where}: {piece.description}" if piece.description else where


class ForthItem(pytest.Item):
    """One T{ ... -> ... }T test."""

    def __init__(self, *, piece: Piece, last: bool, **kwargs):
        super().__init__(**kwargs)
        self.piece = piece
        self.last = last

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        tf = self.parent.test_file
        run = state.file_run(tf)
        try:
            outcome = run.run(self.piece)
        finally:
            if self.last:
                state.finished(tf)
        if not outcome.passed:
            raise ForthTestFailure(outcome)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ForthTestFailure):
            return excinfo.value.outcome.report()
        if isinstance(excinfo.value, ForthError):
            return f"{self.piece.file}:{self.piece.line}: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return Path(self.piece.file), self.piece.line - 1, f"{self.path.name}::{self.name}"


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def forth() -> Machine:
    """A fresh bare slofpy engine."""
    return Machine()


@pytest.fixture
def booted(request: pytest.FixtureRequest) -> Machine:
    """The board booted on a seed (with slofpy's firmware, or SLOF's own), restored to just
    after boot for this test."""
    state = request.config.stash[_STATE]
    marker = request.node.get_closest_marker("slofpy_seed")
    if marker is not None and marker.args:
        # a relative path is relative to the folder of the test file that says it
        seed = str((Path(request.node.path).parent / marker.args[0]).resolve())
    else:
        seed = state.seed
    marker = request.node.get_closest_marker("slofpy_firmware")
    if marker is not None and marker.args:
        firmware = str((Path(request.node.path).parent / marker.args[0]).resolve())
    else:
        firmware = state.firmware
    failure = None
    try:
        devices = _marker_devices(request) or state.devices
        return state.boots.acquire(seed, request.node, firmware, devices)
    except ForthError as e:
        failure = f"cannot boot the board: {e}"
    except ValueError as e:          # a malformed device option (DeviceOptionError)
        failure = f"cannot boot the board: {e}"
    pytest.fail(failure, pytrace=False)      # outside the except: no chained traceback


def _marker_devices(request: pytest.FixtureRequest) -> DeviceList | None:
    """The devices `@pytest.mark.slofpy_devices(...)` names (None without the marker); image
    paths are relative to the folder of the test file."""
    marker = request.node.get_closest_marker("slofpy_devices")
    if marker is None:
        return None
    from ..host.device_options import DeviceList, parse_device
    folder = Path(request.node.path).parent
    return DeviceList(tuple(parse_device(text, folder) for text in marker.args),
                      defaults=not marker.kwargs.get("nodefaults", False))
