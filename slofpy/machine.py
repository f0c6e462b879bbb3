"""Machine: one Forth VM plus where its sources are found, as users and tools drive it.

    >>> from slofpy import Machine
    >>> m = Machine()
    >>> m.evaluate("1 2 +")
    >>> m.stack
    [3]

Errors a user can cause come out as one `ForthError` (code, text, Forth file and line, word);
after one the VM is reset to a usable state: empty stacks, interpreting, no half-made
definition. That includes Ctrl-C (KeyboardInterrupt while Forth runs: THROW -28, "user
interrupt") and running out of a time limit (`timeout=` or `time_limit()`: code -256,
"timed out after N s").
"""
from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .errors import ForthError, Throw, error_text, TimeLimitExceeded, TIMEOUT, USER_INTERRUPT
from .vm import VM
from .vm import layout as L
from .vm.backtrace import backtrace
from .vm.outer import evaluate_text, include_file
from .vm.dictionary import find, name_of, order_depth, search_order, set_search_order, wordlist_words
from .vm.outer import evaluate_text, include_file, interpret_terminal_line
from .vm.words.control import to_throw
from .vm.words.io import Bye, format_number

__all__ = ["Machine", "ForthError", "Bye", "Snapshot", "TIMEOUT"]


@dataclass(frozen=True)
class Snapshot:
    """A saved VM state (see Machine.snapshot)."""
    memory: bytes
    stack: list
    rstack: list
    markers: dict
    vocabularies: dict
    headers: list
    code_lines: dict



def _text_bytes(text: str, name: str | None, line: int) -> bytes:
    """`text` as Forth bytes (Latin-1), or a ForthError naming the first character that is
    not a byte and where it is."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as e:
        char = text[e.start]
        where = line + text.count("\n", 0, e.start)
        column = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
        raise ForthError(-12, f"column {column}: character {char!r} (U+{ord(char):04X}) is not "
                         "a byte; Forth reads bytes (pass bytes, e.g. the text encoded as UTF-8)",
                         name or "<string>", where) from None

class Machine:
    """A Forth VM with SLOF's dialect. Output goes to `output` (a function taking text) or,
    without one, is collected for `take_output()`."""

    def __init__(self, memory_size: int = L.DEFAULT_MEMORY_SIZE,
                 heap_size: int = L.DEFAULT_HEAP_SIZE,
                 include_path: Iterable[str | os.PathLike] = (),
                 output: Callable[[str], None] | None = None,
                 preload: Iterable[str | os.PathLike] = (),
                 dictionary_cache: bool | None = None, standard: bool = False):
        """preload: Forth source files loaded (in order) before the Machine is handed out.
        The dictionary after the kernel and them comes from the prepared-dictionary cache
        when the same sources built it before (see slofpy.dictcache); dictionary_cache=False
        always builds it from the sources, None leaves it to $SLOFPY_NO_DICT_CACHE.
        standard=True: where SLOF's engine and Forth 2012 disagree, the standard meaning
        (SLITERAL compiles a string, ONLY leaves FORTH alone; see words/paflof.py)."""
        from . import dictcache

        def load(vm: VM, path: Path) -> None:
            self.vm = vm
            self.include(path)

        self.vm = dictcache.prepared_vm(memory_size, heap_size, output,
                                        [Path(p) for p in include_path], preload, load,
                                        dictionary_cache)
        if standard:
            from .vm.words.paflof import use_standard_words
            use_standard_words(self.vm)

    # ---------------------------------------------------------------- running Forth
    def evaluate(self, text: str | bytes, name: str | None = None, line: int = 1,
                 timeout: float | None = None) -> None:
        """Interpret Forth text. With a name, errors are reported as name:line. With a
        timeout (seconds), running longer ends in ForthError code -256.

        Forth reads bytes, as SLOF does: bytes are taken as they are; a str is one byte per
        character (Latin-1), and a character above U+00FF is a ForthError saying where it
        is (encode such text yourself, e.g. as UTF-8, which is what the command line does)."""
        data = text if isinstance(text, (bytes, bytearray)) else _text_bytes(text, name, line)
        self._run(lambda: evaluate_text(self.vm, bytes(data), name=name,
                                        first_line=line), timeout)

    def define_python_words(self, words: dict[str, Callable], name: str) -> None:
        """Define each word of words (name -> f(vm)) as a colon definition of one (C-CODE)
        call of f, as paflof links C code in: how a board or a library adds the words it
        carries out in Python. name: the source they are reported in."""
        code = self.vm.c_code
        lines = []
        for word, run in words.items():
            lines.append(f": {word} d# {len(code)} (c-code) ;")
            code.append(run)
        self.evaluate("\n".join(lines), name=name)

    def interpret_line(self, line: str, timeout: float | None = None) -> None:
        """Interpret one line as if typed at SLOF's prompt: it is in the terminal input
        buffer (IB = TIB, SOURCE-ID 0, #IB the buffer's size, SPAN the line's length)."""
        self._run(lambda: interpret_terminal_line(self.vm, line.encode("latin-1")), timeout)

    def include(self, path: str | os.PathLike, timeout: float | None = None) -> None:
        """Load a Forth source file (pre-processed, evaluated as one string)."""
        p = Path(path)
        if not p.is_file():
            raise ForthError(-38, f"{p}: file not found")
        self._run(lambda: include_file(self.vm, p), timeout)

    def execute(self, name: str, timeout: float | None = None) -> None:
        """Run one word by name."""
        def go():
            from .vm.dictionary import find
            hit = find(self.vm, name.encode("latin-1"))
            if hit is None:
                raise Throw(-13, word=name)
            self.vm.execute(hit[0])
        self._run(go, timeout)

    def _run(self, action: Callable[[], None], timeout: float | None = None) -> None:
        vm = self.vm
        guard = _limit(timeout)
        try:
            with guard:
                action()
        except Bye:
            raise
        except TimeLimitExceeded as e:
            trace = backtrace(vm, e)        # before recover() empties the return stack
            self.recover(interrupted=True)
            where = getattr(e, "forth_where", None) or (None, None)
            raise ForthError(TIMEOUT, str(e), where[0], where[1], backtrace=trace) from None
        except BaseException as e:
            t = to_throw(e)
            if t is None:
                raise
            trace = backtrace(vm, e)
            self.recover(interrupted=t.code == USER_INTERRUPT)
            raise self._error(e, t, trace) from None
        finally:
            vm.flush()

    # ---------------------------------------------------------------- time limits
    @contextmanager
    def time_limit(self, seconds: float | None):
        """Stop Forth run inside this block once `seconds` have passed: the running
        evaluate/include/execute ends in ForthError code -256 ("timed out after N s") and the
        VM is recovered. Forth's CATCH cannot stop it. None means no limit.

        In the main thread this uses SIGALRM (signal.setitimer); an enclosing limit that runs
        out first still wins. In other threads the exception is delivered with
        PyThreadState_SetAsyncExc. Either way it reaches Python bytecode only, so a single
        long call into C (a huge `move`) finishes before the limit takes effect."""
        guard = _limit(seconds)
        try:
            with guard:
                yield
        except TimeLimitExceeded as e:
            # it ran out while Python (not Forth) code ran inside the block
            raise ForthError(TIMEOUT, str(e)) from None

    def _error(self, e: BaseException, t: Throw, trace: tuple = ()) -> ForthError:
        where = getattr(e, "forth_where", None) or getattr(t, "forth_where", None)
        word = t.word or getattr(e, "forth_word", None) or getattr(t, "forth_word", None)
        file, line = where if where else (None, None)
        return ForthError(t.code, error_text(t.code, t.message), file, line, word or None,
                          trace)

    def recover(self, interrupted: bool = False) -> None:
        """Put the VM back into a usable state after an uncaught error. `interrupted`: the
        error came from outside (Ctrl-C, a time limit) at an arbitrary point, maybe half way
        through updating a cache, so the lookup caches and generated code are dropped too
        (they are rebuilt from VM memory as needed)."""
        vm = self.vm
        if interrupted:
            vm.find_cache.clear()
            vm.wid_cache.clear()
            vm.forget_generated_code()
        from .vm.compiler import abandon_temp_compiles
        abandon_temp_compiles(vm, 0)
        vm.s.clear()
        vm.rs.clear()
        vm.rbase = 0
        vm.control.clear()
        vm.sources.clear()
        if vm.defining is not None:
            # a header not revealed yet (`: foo ... [ error`): take it back out
            lfa, xt, wid = vm.defining
            vm.set_cell(L.DP, lfa)
            vm.defining = None
        vm.set_cell(L.STATE, 0)
        vm.set_cell(L.SRC_TOP, L.SOURCES)
        try:
            order_depth(vm)
        except Throw:               # CONTEXT stored outside SEARCH-ORDER: FORTH alone again
            set_search_order(vm, [L.FORTH_WID])

    # ---------------------------------------------------------------- snapshots
    def snapshot(self) -> "Snapshot":
        """Everything needed to put this VM back as it is now (memory is copied once)."""
        vm = self.vm
        return Snapshot(bytes(vm.mem), list(vm.s), list(vm.rs), dict(vm.markers),
                        dict(vm.vocabularies), list(vm.headers), dict(vm.code_lines))

    def restore(self, snap: "Snapshot") -> None:
        """Put the VM back to a snapshot taken from this Machine."""
        vm = self.vm
        vm.mem[:] = snap.memory
        vm.s[:] = snap.stack
        vm.rs[:] = snap.rstack
        vm.rbase = 0
        vm.markers = dict(snap.markers)
        vm.vocabularies = dict(snap.vocabularies)
        vm.headers = list(snap.headers)
        vm.code_lines = dict(snap.code_lines)
        vm.find_cache.clear()
        vm.wid_cache.clear()
        vm.forget_generated_code()
        vm.control.clear()
        vm.sources.clear()
        vm.temp_compiles.clear()
        vm.defining = None

    # ---------------------------------------------------------------- state
    @property
    def stack(self) -> list[int]:
        """The data stack, bottom first."""
        return list(self.vm.s)

    def push(self, *values: int) -> None:
        for v in values:
            self.vm.s.append(((v + L.SIGN64) & L.MASK64) - L.SIGN64)

    def pop(self) -> int:
        if not self.vm.s:
            raise ForthError(-4, error_text(-4))
        return self.vm.s.pop()

    def take_output(self) -> str:
        """Output collected since the last call (when no output function was given)."""
        return self.vm.take_output()

    def read(self, addr: int, length: int) -> bytes:
        try:
            return self.vm.read(addr, length)
        except Throw as t:
            raise ForthError(t.code, error_text(t.code)) from None

    def write(self, addr: int, data: bytes) -> None:
        try:
            self.vm.write(addr, data)
        except Throw as t:
            raise ForthError(t.code, error_text(t.code)) from None

    def cell(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "big", signed=True)

    def set_cell(self, addr: int, value: int) -> None:
        self.write(addr, (value & L.MASK64).to_bytes(8, "big"))

    @property
    def include_path(self) -> list[Path]:
        return self.vm.search_path

    def add_include_dir(self, path: str | os.PathLike) -> None:
        self.vm.search_path.append(Path(path))

    # ---------------------------------------------------------------- for front ends
    @property
    def base(self) -> int:
        """BASE, the radix numbers are read and printed in."""
        return self.vm.cell(L.BASE)

    def format_number(self, n: int) -> str:
        """`n` as `.` would print it in the current BASE (without the trailing space)."""
        return format_number(n, self.base)

    @property
    def unfinished(self) -> bool:
        """Is a definition (STATE) or an interpret-level control structure still open?"""
        return bool(self.vm.cell(L.STATE)) or bool(self.vm.control)

    def find_xt(self, name: str) -> int | None:
        """The xt `name` finds through the search order, or None."""
        hit = find(self.vm, name.encode("latin-1", "replace"))
        return hit[0] if hit else None

    def run_xt(self, xt: int) -> None:
        """Execute `xt` on the VM as it is (no time limit, no recovery: see `preserved`)."""
        self.vm.execute(xt)

    def word_names(self) -> list[str]:
        """Every word findable through the search order, first match of each name only."""
        vm = self.vm
        seen: dict[str, str] = {}
        for wid in search_order(vm):
            try:
                for lfa in wordlist_words(vm, wid):
                    name = name_of(vm, lfa).decode("latin-1")
                    if name and name.isprintable() and name.lower() not in seen:
                        seen[name.lower()] = name
            except Exception:      # a damaged wordlist (any bad address): what was readable
                continue
        return sorted(seen.values(), key=str.lower)

    @contextmanager
    def preserved(self):
        """A block after which the stacks, STATE, HERE and pending output are as before it:
        for queries a front end makes behind the user's back (completion)."""
        vm = self.vm
        saved = (list(vm.s), list(vm.rs), vm.rbase, vm.cell(L.STATE), list(vm.out_parts),
                 vm.cell(L.DP))
        try:
            vm.set_cell(L.STATE, 0)
            yield
        finally:
            stack, rstack, rbase, state, out, dp = saved
            vm.s[:] = stack
            vm.rs[:] = rstack
            vm.rbase = rbase
            vm.set_cell(L.STATE, state)
            vm.set_cell(L.DP, dp)
            vm.out_parts[:] = out

    def set_line_reader(self, read_line: Callable[[], bytes | None]) -> None:
        """Where KEY and ACCEPT take the following input lines from."""
        self.vm.input_line = read_line

    def emit_unbuffered(self) -> None:
        """From now on show what EMIT and TYPE print at once, as a console does, not at the
        end of the line."""
        vm = self.vm

        def emit_now(text: str) -> None:
            vm.out_parts.append(text)
            vm.flush()

        vm.emit_text = emit_now


def _limit(seconds: float | None):
    """A context raising TimeLimitExceeded into this thread after seconds (None: no limit)."""
    if seconds is None:
        return nullcontext()
    if not seconds > 0:
        raise ValueError("a time limit must be a positive number of seconds")
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _alarm_limit(seconds)
    return _thread_limit(seconds)


ALARM_REPEAT = 0.05
"""Seconds between repeats of a time limit's alarm once it has run out."""


@contextmanager
def _alarm_limit(seconds: float):
    """A SIGALRM one-shot timer raising TimeLimitExceeded, nesting inside an enclosing one."""
    start = time.monotonic()
    deadline = start + seconds
    outer_delay, _ = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = start + outer_delay if outer_delay else None
    previous = signal.getsignal(signal.SIGALRM)
    active = [True]

    def on_alarm(signum, frame):
        if not active[0]:
            return
        if outer_deadline is not None and outer_deadline <= deadline and callable(previous):
            previous(signum, frame)      # the enclosing limit runs out first
            return
        raise TimeLimitExceeded(seconds)

    signal.signal(signal.SIGALRM, on_alarm)
    first = seconds if outer_deadline is None else min(seconds, outer_delay)
    # and again every ALARM_REPEAT seconds until the block is left: an exception raised
    # where Python ignores it (a gc callback, a __del__) must not leave Forth running free
    signal.setitimer(signal.ITIMER_REAL, first, ALARM_REPEAT)
    try:
        yield
    finally:
        try:
            active[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)
            if outer_deadline is not None:
                # give the enclosing limit back what it has left (at least a tick)
                left = max(outer_deadline - time.monotonic(), 1e-4)
                signal.setitimer(signal.ITIMER_REAL, left)


@contextmanager
def _thread_limit(seconds: float):
    """Outside the main thread: a timer thread raises TimeLimitExceeded in this thread."""
    import ctypes
    target = ctypes.c_ulong(threading.get_ident())
    exc = type("TimeLimitExceeded", (TimeLimitExceeded,), {"seconds": seconds})
    lock = threading.Lock()
    done = [False]

    def fire():
        with lock:
            if not done[0]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(exc))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done[0] = True
        timer.cancel()
        # drop a delivery that came too late to matter
        ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)
