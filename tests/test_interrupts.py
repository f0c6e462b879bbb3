"""Ctrl-C and time limits: running Forth stops, in threaded and in generated (JIT) code, and
the VM is usable afterwards."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from slofpy import ForthError, Machine
from slofpy.errors import TIMEOUT, USER_INTERRUPT
from slofpy.vm import layout as L
from slofpy.vm.dictionary import find


def _ctrl_c_when_running(m: Machine, flag: int, seen: dict) -> threading.Thread:
    """Send SIGINT to this process once the Forth loop has stored 1 at flag (so the signal
    can only land while Forth runs), noting whether generated code was in use then."""
    main = threading.main_thread().ident

    def wait_and_signal():
        for _ in range(60_000):              # gives up (sends nothing) if Forth never runs
            if m.vm.mem[flag + 7] == 1:
                seen["jit"] = bool(m.vm.jit_code)
                signal.pthread_kill(main, signal.SIGINT)
                return
            threading.Event().wait(0.001)

    t = threading.Thread(target=wait_and_signal, daemon=True)
    t.start()
    return t


def _flag(m: Machine) -> int:
    m.evaluate("variable flag  flag")
    return m.pop()


def _assert_usable(m: Machine) -> None:
    vm = m.vm
    assert m.stack == [] and vm.rs == [] and vm.control == [] and vm.sources == []
    assert m.cell(L.STATE) == 0 and vm.defining is None
    m.evaluate("decimal 1 2 + .")
    assert m.take_output() == "3 "


@pytest.mark.parametrize("code, jit", [
    ("begin 1 flag ! again", False),                        # comp-buffer, threaded
    (": spin begin 1 flag ! again ; spin", True),           # a looping definition: JIT
    (": spin2 1 2 3 begin 1 flag ! dup drop again ; spin2", True),
])
def test_ctrl_c_ends_in_throw_minus_28(code: str, jit: bool) -> None:
    m = Machine()
    flag = _flag(m)
    seen: dict = {}
    t = _ctrl_c_when_running(m, flag, seen)
    with pytest.raises(ForthError) as e:
        m.evaluate(code, timeout=120)       # a backstop: a lost Ctrl-C fails, not hangs
    t.join()
    assert e.value.code == USER_INTERRUPT == -28
    assert e.value.text == "user interrupt"
    assert seen["jit"] is jit
    _assert_usable(m)


def test_ctrl_c_in_threaded_code_with_jit_off() -> None:
    m = Machine()
    m.vm.jit_enabled = False
    flag = _flag(m)
    seen: dict = {}
    t = _ctrl_c_when_running(m, flag, seen)
    with pytest.raises(ForthError) as e:
        m.evaluate(": spin begin 1 flag ! again ; 7 8 spin", timeout=120)
    t.join()
    assert e.value.code == -28 and seen["jit"] is False
    _assert_usable(m)


def test_ctrl_c_inside_a_half_made_definition_leaves_no_header() -> None:
    m = Machine()
    flag = _flag(m)
    m.evaluate("here")
    here = m.pop()
    t = _ctrl_c_when_running(m, flag, {})
    with pytest.raises(ForthError) as e:
        m.evaluate(": half 1 2 [ begin 1 flag ! again ] ;", timeout=120)
    t.join()
    assert e.value.code == -28
    _assert_usable(m)
    assert find(m.vm, b"half") is None
    m.evaluate("here")
    assert m.pop() == here


def test_forth_catch_sees_ctrl_c_as_minus_28() -> None:
    m = Machine()
    flag = _flag(m)
    t = _ctrl_c_when_running(m, flag, {})
    m.evaluate(": spin begin 1 flag ! again ;  ' spin catch", timeout=120)
    t.join()
    assert m.stack == [-28]


@pytest.mark.parametrize("code", [
    "begin again",
    ": spin begin again ; spin",
    ": count-up 0 begin 1+ again ; count-up",
    ": guarded begin ['] noop catch drop again ; guarded",
])
def test_timeout_stops_threaded_and_generated_code(code: str) -> None:
    m = Machine()
    m.evaluate("1 2 3")
    with pytest.raises(ForthError) as e:
        m.evaluate(code, timeout=0.2)
    assert e.value.code == TIMEOUT == -256
    assert e.value.text == "timed out after 0.2 s"
    _assert_usable(m)


def test_timeout_cannot_be_caught_by_forth() -> None:
    m = Machine()
    m.evaluate(": spin begin again ; : guarded ['] spin catch ;")
    with pytest.raises(ForthError) as e:
        m.evaluate("guarded 99", timeout=0.2)
    assert e.value.code == -256
    assert m.stack == []


def test_timeout_on_include_and_execute(tmp_path) -> None:
    f = tmp_path / "loop.fs"
    f.write_text(": spin begin again ;\nspin\n")
    m = Machine()
    with pytest.raises(ForthError) as e:
        m.include(f, timeout=0.2)
    assert e.value.code == -256 and e.value.file.endswith("loop.fs") and e.value.line == 2
    with pytest.raises(ForthError) as e:
        m.execute("spin", timeout=0.2)
    assert e.value.code == -256


def test_time_limit_block_covers_several_calls_and_restores_the_alarm() -> None:
    m = Machine()
    original = signal.getsignal(signal.SIGALRM)
    with pytest.raises(ForthError) as e:
        with m.time_limit(0.3):
            m.evaluate(": spin begin again ;")
            m.evaluate("spin")
    assert e.value.code == -256 and "0.3 s" in e.value.text
    assert signal.getsignal(signal.SIGALRM) is original
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_nested_limits_the_shorter_one_wins() -> None:
    m = Machine()
    with m.time_limit(30):
        with pytest.raises(ForthError) as e:
            m.evaluate("begin again", timeout=0.2)
        assert e.value.text == "timed out after 0.2 s"
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0     # the outer limit is re-armed
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    with pytest.raises(ForthError) as e:
        with m.time_limit(0.2):
            m.evaluate("begin again", timeout=30)
    assert e.value.text == "timed out after 0.2 s"


def test_time_limit_runs_out_in_python_code_too() -> None:
    m = Machine()
    with pytest.raises(ForthError) as e:
        with m.time_limit(0.2):
            while True:
                pass
    assert e.value.code == -256


def test_a_finished_run_is_not_hit_later() -> None:
    m = Machine()
    m.evaluate("1 2 +", timeout=0.05)
    threading.Event().wait(0.1)            # past the limit: nothing may fire now
    assert m.stack == [3]


def test_time_limit_outside_the_main_thread() -> None:
    m = Machine()
    result: dict = {}

    def work():
        try:
            m.evaluate(": spin begin again ; spin", timeout=0.2)
        except ForthError as e:
            result["error"] = e
        m.evaluate("4 5 +")
        result["stack"] = m.stack

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    assert result["error"].code == -256 and result["stack"] == [9]


def test_time_limit_needs_a_positive_number() -> None:
    m = Machine()
    with pytest.raises(ValueError):
        m.evaluate("1", timeout=0)
    with m.time_limit(None):
        m.evaluate("2")
    assert m.stack == [2]


def _slofpy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("code", ["begin again", ": spin begin again ; spin"])
def test_cli_run_timeout(code: str) -> None:
    r = _slofpy("run", "--timeout", "0.5", "-e", code)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "slofpy: -e:1: timed out after 0.5 s"
    # then where it was running: inside spin, when the loop is in a definition
    assert [line.split(" (at ")[0] for line in lines[1:]] == (["  -e:1: spin"] if ":" in code else [])


def test_cli_run_timeout_not_reached_and_bad_values() -> None:
    r = _slofpy("run", "--timeout", "30", "-e", "decimal 6 7 * .")
    assert r.returncode == 0 and r.stdout == "42 "
    for bad in ("0", "-1", "soon", "nan", "inf"):
        r = _slofpy("run", "--timeout", bad, "-e", "1")
        assert r.returncode == 2 and "not a positive number of seconds" in r.stderr


def test_cli_run_ctrl_c() -> None:
    p = subprocess.Popen([sys.executable, "-m", "slofpy", "run", "-e",
                          "1 . cr begin again"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "1 \n"          # the loop is about to run
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1
    # one line; the word named is the one running when the signal came (cr, begin, again)
    assert re.fullmatch(r"slofpy: -e:1: (cr|begin|again)\? user interrupt\n", err)
