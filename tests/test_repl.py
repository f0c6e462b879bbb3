"""slofpy repl: SLOF's prompt texts, completion, pipe mode, and the interactive prompt driven
in a real terminal (tmux)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

from slofpy import ForthError, Machine
from slofpy.frontends import cli
from slofpy.frontends.repl import complete, error_text, forth_children, history_path, prompt_text, \
    word_names

from conftest import need_tool

REPO = Path(__file__).resolve().parents[1]

# a small fake device tree in Forth: / has vdevice and memory@0; vdevice has vty and nvram
FAKE_TREE = """
: find-node ( str len -- ph|0 )  nip dup 1 = IF drop 1 EXIT THEN 8 = IF 2 ELSE 0 THEN ;
: child ( ph -- ph' )  dup 1 = IF drop 2 EXIT THEN 2 = IF 10 ELSE 0 THEN ;
: peer ( ph -- ph' )  dup 2 = IF drop 3 EXIT THEN 10 = IF 11 ELSE 0 THEN ;
: node>qname ( ph -- str len )
  dup 2 = IF drop s" vdevice" EXIT THEN  dup 3 = IF drop s" memory@0" EXIT THEN
  10 = IF s" vty@71000000" ELSE s" nvram@71000001" THEN ;
"""


# ---------------------------------------------------------------- texts
@pytest.mark.parametrize("code, word, text, shown", [
    (-13, "foo", "undefined word", "foo Undefined word"),
    (-1, None, "aborted", "Aborted"),
    (-2, "x", "disk is on fire", "disk is on fire"),
    (-28, "again", "user interrupt", "user interrupt"),
    (-4, "drop", "stack underflow", "drop? stack underflow"),
    (-10, None, "division by zero", "division by zero"),
])
def test_error_text(code, word, text, shown) -> None:
    assert error_text(ForthError(code, text, word=word)) == shown


def test_error_text_for_real_errors() -> None:
    m = Machine()
    for code, shown in [("nosuch", "nosuch Undefined word"), ("abort", "Aborted"),
                        (': t-abort 1 abort" bad disk" ; t-abort', "bad disk")]:
        with pytest.raises(ForthError) as e:
            m.evaluate(code)
        assert error_text(e.value) == shown


def test_prompt_shows_the_depth_in_base() -> None:
    m = Machine()
    assert prompt_text(m) == "0 > "
    m.evaluate("1 2")
    assert prompt_text(m) == "2 > "
    m.evaluate("decimal 3 4 5 6 7 8 9 10 11 12")
    assert prompt_text(m) == "12 > "
    m.evaluate("hex")
    assert prompt_text(m) == "c > "


def test_history_path_follows_xdg(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == tmp_path / "slofpy" / "history"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == tmp_path / ".local" / "state" / "slofpy" / "history"


# ---------------------------------------------------------------- completion
def test_word_names_follow_the_search_order() -> None:
    m = Machine()
    m.evaluate("vocabulary hidden  also hidden definitions : in-hidden ; previous definitions")
    m.evaluate(": MyWord ;")
    names = word_names(m)
    assert "MyWord" in names and "swap" in names and "in-hidden" not in names
    assert len(names) == len({n.lower() for n in names})
    m.evaluate("also hidden")
    assert "in-hidden" in word_names(m)


def test_complete_words_and_paths() -> None:
    words = lambda: ["swap", "SWAP2", "dup", "dev", "ls"]          # noqa: E731
    tree = {"/": ["vdevice", "memory@0"], "/vdevice": ["vty@71000000", "nvram@71000001"]}
    children = lambda path: tree.get(path, [])                     # noqa: E731
    assert complete("1 2 sw", words, children) == ["swap", "SWAP2"]
    assert complete("1 2 ", words, children) == []
    assert complete("dev /vd", words, children) == ["/vdevice"]
    assert complete("dev /", words, children) == ["/memory@0", "/vdevice"]
    assert complete("dev ", words, children) == ["/memory@0", "/vdevice"]
    assert complete("ls /vdevice/", words, children) == ["/vdevice/nvram@71000001",
                                                         "/vdevice/vty@71000000"]
    for word in ("show-devs", "find-device", "devalias", "DEV"):
        assert complete(f"{word} /vdevice/VT", words, children) == ["/vdevice/vty@71000000"]
    assert complete("dev /nowhere/x", words, children) == []
    assert complete("dup /vd", words, children) == []
    assert complete("dev d", words, children) == ["dup", "dev"]     # not a path: words


def test_forth_children_without_a_tree_lists_nothing() -> None:
    m = Machine()
    assert find_child(m) is False
    assert forth_children(m)("/") == []


def find_child(m: Machine) -> bool:
    from slofpy.vm.dictionary import find
    return find(m.vm, b"child") is not None


def test_forth_children_walks_the_tree_and_leaves_the_vm_alone() -> None:
    m = Machine()
    m.evaluate(FAKE_TREE)
    children = forth_children(m)
    m.evaluate("1 2 : half-made 3")          # a definition left open, values on the stack
    here_before = m.vm.cell(0x1000)
    assert children("/") == ["vdevice", "memory@0"]
    assert children("/vdevice") == ["vty@71000000", "nvram@71000001"]
    assert children("/x") == []
    assert complete("dev /vdevice/n", lambda: word_names(m), children) == \
        ["/vdevice/nvram@71000001"]
    assert m.stack[-2:] == [1, 2] and m.vm.cell(0x1000) == here_before
    m.evaluate("4 ; half-made")
    assert m.stack[-4:] == [1, 2, 3, 4]


def test_forth_children_on_the_booted_board() -> None:
    board = pytest.importorskip("slofpy.firmware.board")
    m = board.boot_machine()
    depth = len(m.stack)
    assert "vty@71000000" in forth_children(m)("/vdevice")
    assert "vdevice" in forth_children(m)("/")
    assert len(m.stack) == depth


# ---------------------------------------------------------------- _make_machine
def test_make_machine_bare_and_booted(monkeypatch) -> None:
    args = SimpleNamespace(bare=True, seed=None, host="qemu", include=[])
    m = cli._make_machine(args)
    assert type(m) is Machine
    made = {}

    def fake_boot(seed=None, host="qemu", output=None):
        made.update(seed=seed, host=host)
        m = Machine(output=output)
        m.evaluate(": from-board ;")
        return m

    monkeypatch.setitem(sys.modules, "slofpy.firmware.board", SimpleNamespace(boot_machine=fake_boot))
    args = SimpleNamespace(bare=False, seed="s.dtb", host="file:x", include=[])
    m = cli._make_machine(args)
    assert made == {"seed": "s.dtb", "host": "file:x"}
    m.evaluate("from-board")
    monkeypatch.setitem(sys.modules, "slofpy.firmware.board", None)       # no board module
    m = cli._make_machine(args)
    with pytest.raises(ForthError):
        m.evaluate("from-board")


# ---------------------------------------------------------------- standard input not a terminal
def _pipe(text: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", "repl", "--bare", *args],
                          input=text, capture_output=True, text=True, timeout=60)


def test_pipe_prints_output_only() -> None:
    r = _pipe("1 2 + .\n")
    assert (r.returncode, r.stdout, r.stderr) == (0, "3 ", "")


def test_pipe_errors_go_to_stderr_and_the_next_line_runs() -> None:
    r = _pipe("decimal 1 2\nfoo\n: sq dup *\n  ;\n.s 5 sq . cr\n1 0 /\n.s\n")
    assert r.returncode == 1
    assert r.stdout == "1 2 25 \n1 2 "
    assert r.stderr.splitlines() == ["slofpy: <stdin>:2: foo Undefined word",
                                     "slofpy: <stdin>:6: /? division by zero"]


def test_pipe_bye_and_unfinished_input() -> None:
    r = _pipe("1 .\nbye\n2 .\n")
    assert (r.returncode, r.stdout) == (0, "1 ")
    r = _pipe(": open-ended 1 2\n")
    assert r.returncode == 1 and "input ended inside a definition" in r.stderr
    r = _pipe("nosuch\nbye\n")
    assert r.returncode == 1


def test_a_board_that_cannot_boot_is_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.dtb"
    bad.write_bytes(b"not a tree")
    for args in (["--seed", str(bad)], ["--seed", str(tmp_path / "none.dtb")],
                 ["--host", "nosuchhost"]):
        r = subprocess.run([sys.executable, "-m", "slofpy", "repl", *args], input="1 .\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stdout == ""
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("slofpy: ")


def test_pipe_key_reads_the_next_line() -> None:
    r = _pipe("key emit key emit\nAB\n.\" done\"\n")
    assert r.returncode == 0 and r.stdout == "ABdone"


# ---------------------------------------------------------------- a real terminal
class Terminal:
    """The repl in a tmux pane; waits poll the screen until a deadline."""

    def __init__(self, tmp_path: Path):
        self.socket = f"slofpy-test-{uuid.uuid4().hex[:12]}"
        self.state = tmp_path / "state"
        self.started = False

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([need_tool("tmux"), "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30, check=check)

    def start(self, *repl_args: str) -> None:
        cmd = ["env", f"XDG_STATE_HOME={self.state}", sys.executable, "-m", "slofpy", "repl",
               *repl_args]
        self.tmux("new-session", "-d", "-s", "repl", "-x", "120", "-y", "40", "-c", str(REPO),
                  shlex.join(cmd))
        self.started = True

    def type(self, text: str) -> None:
        # tmux takes a ';' ending an argument as a command separator: send those escaped
        for part in re.split(r"(;)", text):
            if part == ";":
                self.tmux("send-keys", "-t", "repl", "\\;")
            elif part:
                self.tmux("send-keys", "-t", "repl", "-l", part)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "repl", *keys)

    def line(self, text: str) -> None:
        self.type(text)
        self.keys("Enter")

    def screen(self) -> list[str]:
        r = self.tmux("capture-pane", "-p", "-t", "repl", check=False)
        return [ln.rstrip() for ln in r.stdout.splitlines() if ln.strip()]

    def wait(self, what: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
        done = threading.Event()
        deadline = timeout / 0.02
        for _ in range(int(deadline)):
            lines = self.screen()
            if what(lines):
                return lines
            done.wait(0.02)
        raise AssertionError("the terminal never showed what was expected:\n" +
                             "\n".join(self.screen()))

    def wait_last(self, text: str) -> list[str]:
        return self.wait(lambda lines: bool(lines) and lines[-1] == text)

    def wait_tail(self, *tail: str) -> list[str]:
        return self.wait(lambda lines: lines[-len(tail):] == list(tail))

    def running(self) -> bool:
        return self.tmux("has-session", "-t", "repl", check=False).returncode == 0

    def wait_exit(self) -> None:
        self.wait(lambda lines: not self.running())

    def close(self) -> None:
        if self.started:
            self.tmux("kill-server", check=False)


@pytest.fixture
def term(tmp_path: Path):
    t = Terminal(tmp_path)
    yield t
    t.close()


def test_terminal_prompt_ok_and_errors(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.line("1 2")
    term.wait_tail("0 > 1 2  ok", "2 >")
    term.line("foo")
    term.wait_tail("0 > 1 2  ok", "2 > foo foo Undefined word", "2 >")
    term.line("+ .")
    term.wait_tail("2 > foo foo Undefined word", "2 > + . 3  ok", "0 >")


def test_terminal_error_inside_definitions_shows_a_short_backtrace(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.line(": a 0 0 / ; : b 1 a ;")
    term.wait_tail("0 > : a 0 0 / ; : b 1 a ;  ok", "0 >")
    term.line("7 b")
    term.wait_tail("0 > 7 b b? division by zero", "in a < b", "0 >")
    term.line("7 0 /")                      # no definition: no backtrace line
    term.wait_tail("in a < b", "0 > 7 0 / /? division by zero", "0 >")


def test_terminal_multi_line_definition(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.line(": sq ( n -- n*n )")
    term.wait(lambda lines: lines[-2:] == ["0 > : sq ( n -- n*n )  ok", "0 >"])
    term.line("  dup * ;")
    term.wait(lambda lines: lines[-2:] == ["0 >   dup * ;  ok", "0 >"])
    term.line("decimal 7 sq .")
    term.wait_tail("0 > decimal 7 sq . 49  ok", "0 >")


def test_terminal_completes_a_word(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.line(": zebra-unique 5 ;")
    term.wait_tail("0 > : zebra-unique 5 ;  ok", "0 >")
    term.type("zebra-u")
    term.keys("Tab")
    term.wait_last("0 > zebra-unique")
    term.keys("Enter")
    term.wait_tail("0 > zebra-unique  ok", "1 >")


def test_terminal_history_is_kept_across_runs(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.line("decimal 6 7 * .")
    term.wait_tail("0 > decimal 6 7 * . 42  ok", "0 >")
    term.line(": remembered 1 ;")
    term.wait_tail("0 > : remembered 1 ;  ok", "0 >")
    term.keys("C-d")
    term.wait_exit()
    assert (term.state / "slofpy" / "history").is_file()

    term.start("--bare")
    term.wait_last("0 >")
    term.keys("Up")
    term.wait_last("0 > : remembered 1 ;")
    term.keys("Up")
    term.wait_last("0 > decimal 6 7 * .")
    term.keys("Enter")
    term.wait_tail("0 > decimal 6 7 * . 42  ok", "0 >")


def test_terminal_ctrl_c_stops_forth_and_the_vm_goes_on(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    # each loop prints something first: Ctrl-C is sent once Forth is seen running
    term.line('9 : spin ." spinning" begin again ;')
    term.wait_tail('0 > 9 : spin ." spinning" begin again ;  ok', "1 >")
    term.line("spin")
    term.wait_last("1 > spin spinning")
    term.keys("C-c")
    term.wait_tail("1 > spin spinning^C", "user interrupt", "in spin", "1 >")   # where it was
    term.line(".( looping) begin again")
    term.wait_last("1 > .( looping) begin again looping")
    term.keys("C-c")
    term.wait_tail("1 > .( looping) begin again looping^C", "user interrupt", "1 >")
    term.line("1 2 + . .")
    term.wait_tail("1 > 1 2 + . . 3 9  ok", "0 >")


def test_terminal_ctrl_c_at_the_prompt_and_leaving(term: Terminal) -> None:
    term.start("--bare")
    term.wait_last("0 >")
    term.type("half typed")
    term.wait_last("0 > half typed")
    term.keys("C-c")
    term.wait_tail("0 > half typed", "0 >")
    term.line("bye")
    term.wait_exit()
    term.start("--bare")
    term.wait_last("0 >")
    term.keys("C-d")
    term.wait_exit()


def test_terminal_completes_device_paths_on_the_board(term: Terminal) -> None:
    pytest.importorskip("slofpy.firmware.board")
    term.start()
    term.wait(lambda lines: bool(lines) and lines[-1].endswith(" >"))
    term.type("dev /vdev")
    term.keys("Tab")
    term.wait(lambda lines: lines[-1].endswith("> dev /vdevice"))
    term.type("/nv")
    term.keys("Tab")
    term.wait(lambda lines: lines[-1].endswith("> dev /vdevice/nvram@71000001"))


def test_terminal_lines_are_interpreted_as_typed_at_slofs_prompt(term: Terminal) -> None:
    """A typed line is in the terminal input buffer with SOURCE-ID 0, as at SLOF's prompt
    (real SLOF answers `source-id .` with 0 and `#ib @ .` with 100 there:
    tests/data/slof-prompt/replies.txt)."""
    term.start("--bare")
    term.wait_last("0 >")
    term.line("source-id . #ib @ .")
    term.wait_tail("0 > source-id . #ib @ . 0 100  ok", "0 >")
