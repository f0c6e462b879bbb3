"""The pytest plugin (slofpy.testing.pytest_plugin) run through pytester, the runner behind it
(slofpy.testing.forthtest) and `slofpy test`."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from slofpy import ForthError, Machine
from slofpy.testing.forthtest import BootCache, FileRun, parse_test_file

pytest_plugins = ["pytester"]

ARITH = """\
\\ a small test file
decimal
testing addition
T{ 1 2 + -> 3 }T
T{ 1 2 + -> 4 }T
variable counter
: bump ( -- ) 1 counter +! ;
testing a counter across tests
T{ 5 counter ! -> }T
T{ bump bump counter @ -> 7 }T
T{ ." hello" 9 -> 9 }T
"""


def _fake_board(log: list) -> SimpleNamespace:
    """A stand-in for slofpy.firmware.board: boot_machine loads a little Forth and logs each boot."""

    def boot_machine(seed=None, host="qemu", output=None):
        log.append(seed)
        m = Machine(output=output)
        m.evaluate(f'decimal 42 constant boot-marker  variable boots  {len(log)} boots ! '
                   f': seed-name s" {seed}" ; ." booting"')
        return m

    return SimpleNamespace(boot_machine=boot_machine)


@pytest.fixture
def board_log(monkeypatch) -> list:
    log: list = []
    monkeypatch.setitem(sys.modules, "slofpy.firmware.board", _fake_board(log))
    return log


# ---------------------------------------------------------------- collection and reports
def test_items_are_named_by_line_and_testing_text(pytester: pytest.Pytester) -> None:
    pytester.makefile(".fs", test_arith=ARITH)
    pytester.makefile(".fs", helper_not_collected="T{ 1 -> 2 }T\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "test_arith.fs::line 4: addition",
        "test_arith.fs::line 5: addition",
        "test_arith.fs::line 9: a counter across tests",
        "test_arith.fs::line 10: a counter across tests",
        "test_arith.fs::line 11: a counter across tests",
        "5 tests collected*",
    ])
    assert "helper_not_collected" not in result.stdout.str()


def test_failure_report_shows_line_stacks_and_output(pytester: pytest.Pytester) -> None:
    pytester.makefile(".fs", test_arith=ARITH.replace("-> 9 }T", "-> 8 }T"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*test_arith.fs:5: T{ 1 2 + -> 4 }T",
        "  testing:  addition",
        "  expected: 4",
        "  actual:   3",
    ])
    result.stdout.fnmatch_lines([
        "*test_arith.fs:11: T{ .\" hello\" 9 -> 8 }T",
        "  expected: 8",
        "  actual:   9",
        "  output:   hello",
    ])
    assert "Traceback" not in result.stdout.str()


def test_errors_setup_failures_and_unfinished_tests(pytester: pytest.Pytester) -> None:
    pytester.makefile(".fs", test_bad="""\
        decimal
        T{ nosuch -> 1 }T
        : needs-missing  missing-word ;
        T{ 1 -> 1 }T
        T{ 1 2 -> 1 2 3 }T
        T{ 1 2 ->
        """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    assert "error:    nosuch? undefined word (THROW -13)" in out
    assert "set-up failed at test_bad.fs:3: : needs-missing  missing-word ;" in out
    assert "error:  missing-word? undefined word (THROW -13)" in out
    assert "expected: 1 2 3" in out and "actual:   1 2\n" in out
    assert "the test line has no }T" in out


def test_set_up_and_earlier_tests_run_before_a_test_picked_alone(pytester) -> None:
    pytester.makefile(".fs", test_arith=ARITH)
    result = pytester.runpytest("test_arith.fs::line 10: a counter across tests")
    result.assert_outcomes(passed=1)


def test_a_file_that_cannot_be_read_is_a_collection_error(pytester) -> None:
    pytester.makefile(".fs", test_inc='#include "missing.fs"\nT{ 1 -> 1 }T\n')
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*missing.fs: file not found*"])


def test_include_folders_and_included_tests(pytester: pytest.Pytester) -> None:
    lib = pytester.mkdir("lib")
    (lib / "words.fs").write_text(": triple 3 * ;\nT{ 2 triple -> 6 }T\n")
    pytester.makefile(".fs", test_inc="#include <words.fs>\nT{ 5 triple -> f }T\n")
    result = pytester.runpytest("--slofpy-include", str(lib), "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_inc.fs::words.fs line 2", "test_inc.fs::line 2"])
    result = pytester.runpytest("--slofpy-include", str(lib))
    result.assert_outcomes(passed=2)


def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makefile(".fs", test_arith=ARITH, test_more=ARITH.replace("-> 4 }T", "-> 3 }T"))
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=9, failed=1)


# ---------------------------------------------------------------- fixtures
def test_forth_fixture_is_fresh_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from slofpy import ForthError

        def test_one(forth):
            forth.evaluate(": only-here 1 ; 5")
            assert forth.stack == [5]

        def test_two(forth):
            assert forth.stack == []
            with pytest.raises(ForthError):
                forth.evaluate("only-here")
    """)
    pytester.runpytest().assert_outcomes(passed=2)


BOOTED_TESTS = """
    import pytest
    from slofpy import ForthError

    def _get(m, code):
        m.evaluate(code)
        return m.pop()

    def test_first_changes_everything(booted):
        assert _get(booted, "boot-marker") == 42
        booted.evaluate("100 boots !  : extra 1 ;  1 2 3")
        assert booted.take_output() == ""

    def test_second_gets_a_clean_copy(booted):
        assert booted.stack == []
        assert _get(booted, "boots @") == 1
        with pytest.raises(ForthError):
            booted.evaluate("extra")

    def test_same_machine_restored(booted, request):
        request.config.seen_machines = getattr(request.config, "seen_machines", set())
        request.config.seen_machines.add(id(booted))
        assert len(request.config.seen_machines) == 1
"""


def test_booted_fixture_boots_once_and_restores_per_test(pytester, board_log) -> None:
    pytester.makepyfile(BOOTED_TESTS)
    pytester.runpytest().assert_outcomes(passed=3)
    assert board_log == [None]


def test_seed_from_marker_and_option(pytester, board_log) -> None:
    pytester.makepyfile("""
        import pytest

        def _seed(m):
            m.evaluate("seed-name")
            n = m.pop(); a = m.pop()
            return m.read(a, n).decode()

        @pytest.mark.slofpy_seed("a.dtb")
        def test_a(booted):
            assert _seed(booted).endswith("/a.dtb")

        @pytest.mark.slofpy_seed("b.dtb")
        def test_b(booted):
            assert _seed(booted).endswith("/b.dtb")

        @pytest.mark.slofpy_seed("a.dtb")
        def test_a_again(booted):
            assert _seed(booted).endswith("/a.dtb")

        def test_option(booted):
            assert _seed(booted).endswith("/c.dtb")
    """)
    pytester.runpytest("--slofpy-seed", "c.dtb").assert_outcomes(passed=4)
    assert [Path(s).name for s in board_log] == ["a.dtb", "b.dtb", "c.dtb"]
    assert all(Path(s).is_absolute() for s in board_log)


def test_fs_files_can_ask_for_the_booted_board(pytester, board_log) -> None:
    pytester.makefile(".fs", test_booted="""\
        \\ slofpy: booted
        decimal
        T{ boot-marker -> 42 }T
        T{ 7 boots ! boots @ -> 7 }T
        """, test_bare="T{ boot-marker -> 42 }T\n")
    pytester.makepyfile(test_py=BOOTED_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_bare.fs:1: T{ boot-marker -> 42 }T",
                                 "*boot-marker? undefined word*"])
    assert board_log == [None]


def test_a_board_that_does_not_boot(pytester, monkeypatch) -> None:
    def boot_machine(seed=None, host="qemu", output=None):
        raise ForthError(-2, "the host refuses the seed")

    monkeypatch.setitem(sys.modules, "slofpy.firmware.board", SimpleNamespace(boot_machine=boot_machine))
    pytester.makepyfile("def test_needs_board(booted):\n    pass\n")
    pytester.makefile(".fs", test_b="\\ slofpy: booted\nT{ 1 -> 1 }T\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1, failed=1)      # the fixture errors, the .fs test fails
    result.stdout.fnmatch_lines(["*cannot boot the board: the host refuses the seed*"])
    result.stdout.fnmatch_lines(["*test_b.fs:2: the host refuses the seed*"])


def test_a_relative_seed_marker_is_relative_to_the_test_file(pytester, board_log) -> None:
    pytester.mkdir("sub")
    (pytester.path / "sub" / "test_rel.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.slofpy_seed('seeds/a.dtb')\n"
        "def test_a(booted):\n    pass\n")
    pytester.runpytest("sub").assert_outcomes(passed=1)
    assert board_log == [str(pytester.path / "sub" / "seeds" / "a.dtb")]


def test_a_seed_that_does_not_boot_is_one_line_without_a_chained_traceback(
        pytester, monkeypatch) -> None:
    def boot_machine(seed=None, host="qemu", output=None):
        raise ForthError(-38, f"{seed}: file not found")

    monkeypatch.setitem(sys.modules, "slofpy.firmware.board", SimpleNamespace(boot_machine=boot_machine))
    pytester.makepyfile("import pytest\n\n@pytest.mark.slofpy_seed('nowhere.dtb')\n"
                        "def test_needs_board(booted):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    text = result.stdout.str()
    assert f"cannot boot the board: {pytester.path / 'nowhere.dtb'}: file not found" in text
    assert "During handling" not in text and "Traceback" not in text


# ---------------------------------------------------------------- the runner itself
def test_file_run_replays_when_someone_else_restored_the_board(tmp_path, board_log) -> None:
    f = tmp_path / "test_x.fs"
    f.write_text("\\ slofpy: booted\ndecimal variable v\nT{ 5 v ! -> }T\nT{ v @ -> 5 }T\n")
    tf = parse_test_file(f)
    assert tf.booted and [p.line for p in tf.tests] == [3, 4]
    boots = BootCache()
    run = FileRun(tf, Machine, boots)
    assert run.run(tf.tests[0]).passed
    other = boots.acquire(None, owner="someone else")
    other.evaluate("decimal variable v 1 v !")   # would break the file's state if reused
    assert run.run(tf.tests[1]).passed
    assert board_log == [None]


def test_file_run_out_of_order(tmp_path) -> None:
    f = tmp_path / "test_y.fs"
    f.write_text(ARITH)
    tf = parse_test_file(f)
    run = FileRun(tf, Machine, BootCache())
    outcomes = {p.line: run.run(p) for p in reversed(tf.tests)}
    assert {line: o.passed for line, o in outcomes.items()} == \
        {11: True, 10: True, 9: True, 5: False, 4: True}
    assert outcomes[11].output == "hello"


def test_directive_errors(tmp_path) -> None:
    f = tmp_path / "test_z.fs"
    f.write_text("\\ slofpy: booted seed=sub/s.dtb\nT{ -> }T\n")
    tf = parse_test_file(f)
    assert tf.booted and tf.seed == str(tmp_path / "sub" / "s.dtb")
    f.write_text("\\ slofpy: frobnicate\n")
    from slofpy.testing.forthtest import TestFileError
    with pytest.raises(TestFileError, match="frobnicate"):
        parse_test_file(f)


# ---------------------------------------------------------------- slofpy test
def _slofpy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_cli_test_command(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "test_arith.fs").write_text(ARITH)
    (tmp_path / "test_ok.fs").write_text("T{ 1 1 + -> 2 }T\n")
    r = _slofpy("test", ".", cwd=tmp_path)
    assert r.returncode == 1
    assert "FAILED sub/test_arith.fs:5: T{ 1 2 + -> 4 }T" in r.stdout
    assert "  expected: 4" in r.stdout and "  actual:   3" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("5 passed, 1 failed in 2 file(s)")
    r = _slofpy("test", "-v", "test_ok.fs", cwd=tmp_path)
    assert r.returncode == 0
    assert "ok     test_ok.fs:1: T{ 1 1 + -> 2 }T" in r.stdout
    r = _slofpy("test", "nope.fs", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "slofpy: nope.fs: no such file"
    (tmp_path / "empty").mkdir()
    r = _slofpy("test", "empty", cwd=tmp_path)
    assert r.returncode == 2 and "no test_*.fs files" in r.stderr


def test_the_tester_ships_with_the_package() -> None:
    import slofpy.testing.forthtest as ft
    m = Machine()
    m.include(ft.TESTER)
    m.evaluate("decimal T{ 1 2 -> 1 3 }T")
    assert m.take_output() == "INCORRECT RESULT: expected 1 3 actual 1 2 \n"
    m.evaluate("tester-failed @")
    assert m.stack == [-1]


# ---------------------------------------------------------------- time limits (issue 16, item 9)
SPIN = "T{ 1 -> 1 }T\n: spin begin again ;\nT{ spin -> }T\nT{ 2 -> 2 }T\n"


def test_plugin_stops_a_runaway_test_and_goes_on(pytester: pytest.Pytester) -> None:
    pytester.makefile(".fs", test_spin=SPIN)
    result = pytester.runpytest("-q", "--slofpy-timeout", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["test_spin.fs:3: T{ spin -> }T",
                                 "*error:*timed out after 2 s*"])


def test_plugin_has_a_default_time_limit() -> None:
    from slofpy.testing.forthtest import DEFAULT_TIME_LIMIT, FileRun
    import inspect
    assert 0 < DEFAULT_TIME_LIMIT <= 600
    assert inspect.signature(FileRun).parameters["time_limit"].default == DEFAULT_TIME_LIMIT


def test_plugin_time_limit_covers_the_replayed_set_up(tmp_path) -> None:
    """A test picked alone replays the lines before it: they count against its limit."""
    from slofpy.testing.forthtest import BootCache, FileRun, parse_test_file
    f = tmp_path / "test_slow.fs"
    f.write_text(": spin begin again ;\nspin\nT{ 1 -> 1 }T\n")
    tf = parse_test_file(f)
    run = FileRun(tf, Machine, BootCache(), time_limit=1)
    outcome = run.run(tf.tests[0])
    assert not outcome.passed
    assert "timed out" in outcome.report()


def test_cli_test_command_stops_a_runaway_test(tmp_path: Path) -> None:
    (tmp_path / "test_spin.fs").write_text(SPIN)
    r = _slofpy("test", "--timeout", "2", "test_spin.fs", cwd=tmp_path)
    assert r.returncode == 1
    assert "FAILED test_spin.fs:3" in r.stdout and "timed out after 2 s" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("2 passed, 1 failed")


# ---------------------------------------------------------------- SLOF itself
def test_booted_fixture_and_fs_files_run_on_slof_itself(pytester, slof_bin) -> None:
    """--slofpy-firmware boots SLOF's own image for booted .fs files, the marker for one
    Python test; the machine is SLOF's (its own words answer) and is restored per test."""
    pytester.makefile(".fs", test_on_slof="""\\ slofpy: booted
testing SLOF's own words on its own tree
T{ s" /openprom" find-node 0<> -> true }T
T{ slof-revision s" 001" str= -> true }T
variable scratch
T{ 5 scratch ! scratch @ -> 5 }T
""")
    pytester.makepyfile(test_marker=f"""
        import pytest

        @pytest.mark.slofpy_firmware({str(slof_bin)!r})
        def test_marked(booted):
            assert type(booted).__name__ == "SlofMachine"
            booted.evaluate('s" /vdevice/v-scsi@71000002/disk" find-node 0<>')
            assert booted.pop() == -1
            booted.evaluate(": leftover 1 ;")

        @pytest.mark.slofpy_firmware({str(slof_bin)!r})
        def test_restored(booted):
            assert booted.find_xt("leftover") is None

        def test_unmarked_is_slofpys_own(booted):
            assert type(booted).__name__ == "BoardFirmware"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "marker")
    result.assert_outcomes(passed=3)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "on_slof",
                                           f"--slofpy-firmware={slof_bin}")
    result.assert_outcomes(passed=3)
