"""Backtraces of uncaught errors: the definitions an error happened in, innermost first,
each with the FILE:LINE of the place in it that was running; the same from generated code as
from threaded code; shown by `slofpy run`, the prompt and Forth test failures."""
from __future__ import annotations

import subprocess
import sys

import pytest

from slofpy import ForthError, Machine
from slofpy.firmware import Firmware

pytest_plugins = ["pytester"]

ISSUE_EXAMPLE = """\
: inner 0 / ;
: middle
   5 inner ;
: outer middle ;
outer
"""


def error_of(m: Machine, text: str, name: str = "run") -> ForthError:
    with pytest.raises(ForthError) as info:
        m.evaluate(text, name=name)
    return info.value


def test_the_innermost_word_and_its_line_come_first_then_the_callers(tmp_path) -> None:
    f = tmp_path / "chain.fs"
    f.write_text(ISSUE_EXAMPLE)
    m = Machine()
    with pytest.raises(ForthError) as info:
        m.include(f)
    e = info.value
    assert str(e) == f"{e.file}:5: outer? division by zero"       # the line as before
    assert [(b.word, b.line, b.at) for b in e.backtrace] == [
        ("inner", 1, "/"), ("middle", 3, "inner"), ("outer", 4, "middle")]
    assert all(b.file == e.file for b in e.backtrace)
    assert e.backtrace_lines()[0] == f"{e.file}:1: inner (at /)"
    assert e.short_backtrace() == "in inner < middle < outer"


def test_an_error_in_the_text_itself_has_no_backtrace() -> None:
    e = error_of(Machine(), "1 0 /")
    assert e.backtrace == () and e.backtrace_lines() == [] and e.short_backtrace() == ""
    e = error_of(Machine(), "nosuchword")
    assert e.backtrace == ()


def test_words_from_an_unnamed_string_are_named_without_a_place() -> None:
    m = Machine()
    m.evaluate(": a 1 throw ; : b a ;")
    e = error_of(m, "b")
    assert [(b.word, b.file, b.line) for b in e.backtrace] == [("a", None, None), ("b", None, None)]
    assert e.backtrace_lines() == ["a (at throw)", "b (at a)"]


def test_after_a_restore_the_lines_are_those_of_the_new_definitions() -> None:
    m = Machine()
    snap = m.snapshot()
    m.evaluate(": old-word\n 1 drop\n 2 drop\n 3 drop\n 4 drop\n 5 drop ;", name="old.fs")
    m.restore(snap)
    m.evaluate(": new 1 drop 2 drop 3 drop 4 drop 5 drop 6 drop 0 0 / ;", name="new.fs")
    e = error_of(m, "new")
    assert [(b.word, b.file, b.line) for b in e.backtrace] == [("new", "new.fs", 1)]


# each: definitions, what runs, the words of the backtrace innermost first
PROGRAMS = [
    (": inner 0 / ; : middle 5 inner ; : outer middle ; : x 3 0 do outer loop ;", "x",
     ["inner", "middle", "outer", "x"]),
    (": a 1 throw ; : b a ; : c ['] b execute ; : d c ;", "d", ["a", "b", "c", "d"]),
    (": r dup 0= if 0 / then 1- recurse ; : go 3 r ;", "go", ["r"] * 4 + ["go"]),
    (": mk create , does> @ 0 / ; 7 mk seven : use seven ; : use2 use ;", "use2",
     ["mk", "use", "use2"]),
    ("defer dd : t1 -9 throw ; ' t1 is dd : t2 dd ; : t3 t2 ;", "t3", ["t1", "t2", "t3"]),
    (": q 10 0 do i 5 = if drop then loop ; : qq q ;", "qq", ["q", "qq"]),
    (": z1 0 @ -1 @ ; : z2 z1 ; : z3 begin z2 again ;", "z3", ["z1", "z2", "z3"]),
    (": w1 >r 1 0 / r> drop ; : w2 7 w1 ; : w3 10 0 do w2 loop ;", "w3", ["w1", "w2", "w3"]),
    (": k1 1 2 3 + + 0 / ; : k2 k1 ; : k3 k2 k2 ;", "k3", ["k1", "k2", "k3"]),
    # SLOF's inline-operand reader (R> is the calling cell): the error after the operand,
    # then inside the reader itself
    (": rd r> cell+ dup >r @ ; : e1 rd [ 0 , ] 5 swap / ; : e2 e1 ; : e3 e2 ;", "e3",
     ["e1", "e2", "e3"]),
    (": rz r> cell+ dup >r @ 0 / ; : f1 rz [ 4 , ] ; : f2 f1 ; : f3 3 0 do f2 loop ;", "f3",
     ["rz", "f1", "f2", "f3"]),
    (": mkr create , does> @ r> cell+ dup >r @ / ; 7 mkr sev : u1 sev [ 0 , ] ; : u2 u1 ;",
     "u2", ["mkr", "u1", "u2"]),
]


@pytest.mark.parametrize("definitions,run,words", PROGRAMS, ids=[p[1] for p in PROGRAMS])
def test_generated_code_and_threaded_code_give_the_same_backtrace(definitions, run, words) -> None:
    traces = {}
    for generated in (True, False):
        m = Machine()
        m.vm.jit_enabled = generated
        m.evaluate(definitions, name="defs.fs")
        seen = [error_of(m, run).backtrace for _ in range(4)]   # calls 3+ run generated code
        assert all(t == seen[0] for t in seen)
        traces[generated] = seen[-1]
    if traces:
        m = Machine()
        m.evaluate(definitions, name="defs.fs")
        for _ in range(4):
            error_of(m, run)
        assert m.vm.jit_code, "nothing was compiled: the test would compare threaded with threaded"
    assert traces[True] == traces[False]
    assert [b.word for b in traces[True]] == words
    assert all((b.file, b.line) == ("defs.fs", 1) for b in traces[True])


def test_a_timed_out_loop_says_where_it_was() -> None:
    m = Machine()
    m.evaluate(": spin begin again ; : go spin ;", name="t.fs")
    with pytest.raises(ForthError) as info:
        m.evaluate("go", timeout=0.3)
    e = info.value
    assert e.code == -256
    assert [b.word for b in e.backtrace] == ["spin", "go"]


def test_the_firmware_words_have_their_source_lines_from_a_built_and_a_cached_dictionary() -> None:
    for cache in (False, True):
        fw = Firmware(dictionary_cache=cache)
        fw.evaluate(': bad  " /nowhere" find-device ;', name="mine.fs")
        e = error_of(fw, "bad")
        first = e.backtrace[0]
        assert first.word == "find-device" and first.file.endswith("forth/path.fs")
        assert first.line > 1
        assert (e.backtrace[1].word, e.backtrace[1].file, e.backtrace[1].line) == ("bad", "mine.fs", 1)


def slofpy(*args: str, input: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, input=input, cwd=cwd, timeout=120)


def test_slofpy_run_prints_the_backtrace_under_the_error_line(tmp_path) -> None:
    (tmp_path / "chain.fs").write_text(ISSUE_EXAMPLE)
    r = slofpy("run", "chain.fs", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "slofpy: chain.fs:5: outer? division by zero",
        "  chain.fs:1: inner (at /)",
        "  chain.fs:3: middle (at inner)",
        "  chain.fs:4: outer (at middle)",
    ]


def test_the_repl_reading_a_pipe_prints_the_backtrace() -> None:
    r = slofpy("repl", "--bare", input=": a 0 0 / ; : b a ;\nb\n1 .\n")
    assert r.returncode == 1
    assert r.stdout == "1 "
    assert r.stderr.splitlines() == ["slofpy: <stdin>:2: b? division by zero",
                                     "  <stdin>:1: a (at /)", "  <stdin>:1: b (at a)"]


def test_a_forth_test_failure_shows_the_backtrace(pytester) -> None:
    pytester.makefile(".fs", test_deep="""\
decimal
: inner  0 / ;
: middle inner ;
T{ 1 middle -> 1 }T
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_deep.fs:4: T{ 1 middle -> 1 }T",
                                 "  error:    middle? division by zero (THROW -10)",
                                 "  backtrace:",
                                 "    *test_deep.fs:2: inner (at /)",
                                 "    *test_deep.fs:3: middle (at inner)"])


def test_a_call_after_an_inline_operand_is_named_at_its_own_cell() -> None:
    """The return address of a call is the calling cell (paflof's convention), also after a
    reader moved it past its operand: each caller is shown at the word it called."""
    for generated in (True, False):
        m = Machine()
        m.vm.jit_enabled = generated
        m.evaluate(": rd r> cell+ dup >r @ ; : bad 0 / ; : g1 rd [ 7 , ] bad ; : g2 g1 ;",
                   name="defs.fs")
        for _ in range(4):
            e = error_of(m, "g2")
            assert [(b.word, b.at) for b in e.backtrace] == [
                ("bad", "/"), ("g1", "bad"), ("g2", "g1")], generated
