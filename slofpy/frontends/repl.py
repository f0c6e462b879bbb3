"""`slofpy repl`: SLOF's interactive `ok` prompt.

On a terminal: the prompt is the data stack depth and `>` (`0 > `, `2 > ` after `1 2`, the
depth printed in the current BASE as SLOF does), each line that runs without error ends in
` ok`, an error prints SLOF's text for it (`foo Undefined word`). A `:` left open continues
on the next line. Line editing, history (kept in $XDG_STATE_HOME/slofpy/history, by default
~/.local/state/slofpy/history) and Tab completion come from prompt_toolkit: words in the
search order, and device paths after `dev`, `ls`, `show-devs`, `find-device`, `devalias`.
Ctrl-C stops running Forth and returns to the prompt; Ctrl-D or `bye` leaves.

Not on a terminal: each line of standard input is run with no prompt and no ` ok`; an error
prints one line on stderr and the next line runs; the exit status is 1 if any line failed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterable, TextIO

from ..errors import ForthError, Throw, UNDEFINED_WORD, USER_INTERRUPT, printable
from ..machine import Bye, Machine

PATH_WORDS = frozenset({"dev", "ls", "show-devs", "find-device", "devalias"})
MAX_CHILDREN = 10_000

ChildLister = Callable[[str], Iterable[str]]


# ---------------------------------------------------------------- texts
def error_text(e: ForthError) -> str:
    """What SLOF's prompt prints for an error (no file or line: the prompt has none)."""
    word, text = printable(e.word or ""), printable(e.text, 400)   # no raw ESC, NUL, newline
    if e.code == UNDEFINED_WORD:
        return f"{word} Undefined word" if word else "Undefined word"
    if e.code == -1:
        return "Aborted"
    if e.code == -2:
        return text
    if e.code == USER_INTERRUPT or not word:
        return text
    return f"{word}? {text}"


def prompt_text(machine: Machine) -> str:
    """`depth > `, the depth in the current BASE."""
    return f"{machine.format_number(len(machine.stack))} > "


def history_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                              ".local", "state")
    return Path(state) / "slofpy" / "history"


def unfinished(machine: Machine) -> bool:
    """Is a definition or an interpret-level control structure still open?"""
    return machine.unfinished


# ---------------------------------------------------------------- completion
def word_names(machine: Machine) -> list[str]:
    """Every word findable through the search order, first match of each name only."""
    return machine.word_names()


def forth_children(machine: Machine) -> ChildLister:
    """A ChildLister using the device-tree words in the VM (find-node child peer node>qname).
    It lists nothing while those words do not exist (`child` not defined), and leaves the
    VM as it found it: stacks, STATE, pending output."""

    def children(path: str) -> list[str]:
        xts = {}
        for name in ("child", "peer", "find-node", "node>qname", "alloc-mem", "free-mem"):
            xt = machine.find_xt(name)
            if xt is None:
                return []
            xts[name] = xt

        def call(name: str, *args: int) -> int:
            machine.push(*args)
            machine.run_xt(xts[name])
            return machine.pop()

        names: list[str] = []
        data = path.encode("latin-1", "replace")
        buf = 0
        with machine.preserved():
            try:
                buf = call("alloc-mem", max(len(data), 1))
                if not buf:
                    return []
                machine.write(buf, data)
                node = call("find-node", buf, len(data))
                node = call("child", node) if node else 0
                while node and len(names) < MAX_CHILDREN:
                    length = call("node>qname", node)
                    names.append(machine.read(machine.pop(), length).decode("latin-1"))
                    node = call("peer", node)
            except (ForthError, Throw):      # a broken node: the names read so far
                pass
            finally:
                if buf:
                    try:
                        machine.push(buf, max(len(data), 1))
                        machine.run_xt(xts["free-mem"])
                    except (ForthError, Throw):
                        pass
        return names

    return children


def complete(line: str, words: Callable[[], list[str]], children: ChildLister) -> list[str]:
    """Completions for the last word of line (the text before the cursor): a device path
    after one of PATH_WORDS when it starts with '/', else a word name."""
    token = line.split()[-1] if line and not line[-1].isspace() else ""
    before = line[:len(line) - len(token)].split()
    if before and before[-1].lower() in PATH_WORDS and (token.startswith("/") or not token):
        parent, _, prefix = token.rpartition("/")
        try:
            names = list(children(parent or "/"))
        except Exception:
            names = []
        low = prefix.lower()
        return sorted(f"{parent}/{n}" for n in names if n.lower().startswith(low))
    if not token:
        return []
    low = token.lower()
    return [w for w in words() if w.lower().startswith(low)]


def _completer(machine: Machine, children: ChildLister):
    from prompt_toolkit.completion import Completer, Completion

    class ForthCompleter(Completer):
        def get_completions(self, document, complete_event):
            text = document.text_before_cursor
            token = text.split()[-1] if text and not text[-1].isspace() else ""
            for c in complete(text, lambda: word_names(machine), children):
                yield Completion(c, start_position=-len(token))

    return ForthCompleter()


# ---------------------------------------------------------------- running
def run_interactive(machine: Machine, children: ChildLister | None = None,
                    out: TextIO | None = None) -> int:
    """The prompt on a terminal. Returns the exit status (0)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    out = out or sys.stdout
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError as e:
        print(f"slofpy: history not kept ({path.parent}: {e.strerror})", file=sys.stderr)
        history = InMemoryHistory()
    session = PromptSession(history=history,
                            completer=_completer(machine, children or forth_children(machine)),
                            complete_while_typing=False)
    machine.set_line_reader(lambda: _read_key_line(session))

    machine.emit_unbuffered()
    while True:
        prompt = prompt_text(machine)
        try:
            line = session.prompt(prompt)
        except KeyboardInterrupt:
            continue                      # Ctrl-C at the prompt drops the line
        except EOFError:
            out.write("\n")
            return 0
        try:
            if _run_line(machine, session, prompt, line, out):
                return 0
        except KeyboardInterrupt:         # Ctrl-C just before or after Forth ran
            out.write("\nuser interrupt\n")
            out.flush()


def _run_line(machine: Machine, session, prompt: str, line: str, out: TextIO) -> bool:
    """Run one line typed at the prompt and print what SLOF would. True: `bye`."""
    # as on SLOF's console, what the line prints follows it on the same screen line
    width = session.output.get_size().columns
    if 0 < len(prompt) + len(line) < width - 1 and "\t" not in line:
        out.write(f"\x1b[A\x1b[{len(prompt) + len(line)}C")
    out.write(" ")
    out.flush()
    before = machine.stack
    try:
        # as typed at SLOF's prompt: in the terminal input buffer, SOURCE-ID 0 (typed text
        # is UTF-8; Forth reads its bytes)
        machine.interpret_line(line.encode("utf-8", "surrogateescape").decode("latin-1"))
    except Bye:
        out.write("\n")
        return True
    except ForthError as e:
        if e.code == USER_INTERRUPT:
            out.write("\n")
        out.write(f"{error_text(e)}\n")
        if e.backtrace:                   # short: the words, innermost first
            out.write(f"{e.short_backtrace()}\n")
        machine.push(*before)             # as SLOF's CATCH does: the stack from before the line
    else:
        out.write(" ok\n")
    out.flush()
    return False


def _read_key_line(session) -> bytes | None:
    """KEY and ACCEPT read a line from the terminal (no prompt)."""
    try:
        return session.prompt("").encode("utf-8", "surrogateescape")
    except (EOFError, KeyboardInterrupt):
        return None


def run_batch(machine: Machine, lines, out: TextIO | None = None,
              err: TextIO | None = None, name: str = "<stdin>") -> int:
    """Run lines (a text or binary file; text is taken as UTF-8) with no prompt decoration.
    Returns 1 if any line failed, else 0."""
    out = out or sys.stdout
    err = err or sys.stderr
    failed = False
    number = 0

    def next_line() -> bytes | None:
        nonlocal number
        line = lines.readline()
        if not line:
            return None
        number += 1
        if isinstance(line, str):        # text read from a terminal or pipe is UTF-8
            line = line.encode("utf-8", "surrogateescape")
        return line.rstrip(b"\n")

    machine.set_line_reader(next_line)     # KEY and ACCEPT read the following lines
    while True:
        line = next_line()
        if line is None:
            break
        before = machine.stack
        try:
            machine.evaluate(line, name=name, line=number)
        except Bye:
            return 1 if failed else 0
        except ForthError as e:
            out.flush()
            where = f"{e.file}:{e.line}: " if e.file else ""
            err.write(f"slofpy: {where}{error_text(e)}\n")
            for trace_line in e.backtrace_lines():
                err.write(f"  {trace_line}\n")
            err.flush()
            failed = True
            if e.code == USER_INTERRUPT:
                return 1
            machine.push(*before)
    out.flush()
    if unfinished(machine):
        err.write(f"slofpy: {name}: input ended inside a definition or control structure\n")
        return 1
    return 1 if failed else 0
