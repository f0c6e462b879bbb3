"""Forth errors: the THROW codes slofpy uses, their texts, and the exception classes.

Inside the VM every error is a `Throw` carrying a THROW code (and, for ABORT", a message).
An error nobody catches leaves the VM as one `ForthError`, the single exception class of the
public API: it carries the code, the Forth source file and line, and the word being run.
"""
from __future__ import annotations

from dataclasses import dataclass

# THROW codes: SLOF's where SLOF has one, the Forth 2012 table elsewhere.
ERROR_TEXTS: dict[int, str] = {
    -1: "aborted",
    -2: "aborted",
    -3: "stack overflow",
    -4: "stack underflow",
    -5: "return stack overflow",
    -6: "return stack underflow",
    -7: "do-loops nested too deeply",
    -8: "dictionary overflow",
    -9: "invalid memory address",
    -10: "division by zero",
    -11: "result out of range",
    -12: "argument type mismatch",
    -13: "undefined word",
    -14: "interpreting a compile-only word",
    -15: "invalid FORGET",
    -16: "attempt to use zero-length string as a name",
    -17: "pictured numeric output string overflow",
    -18: "parsed string overflow",
    -19: "definition name too long",
    -20: "write to a read-only location",
    -21: "unsupported operation",
    -22: "control structure mismatch",
    -23: "address alignment exception",
    -24: "invalid numeric argument",
    -25: "return stack imbalance",
    -26: "loop parameters unavailable",
    -27: "invalid recursion",
    -28: "user interrupt",
    -29: "compiler nesting",
    -31: ">BODY used on non-CREATEd definition",
    -32: "invalid name argument",
    -37: "file I/O exception",
    -38: "non-existent file",
    -39: "unexpected end of file",
    -49: "search-order overflow",
    -50: "search-order underflow",
    -56: "QUIT",
    -58: "[IF], [ELSE], or [THEN] exception",
    -256: "execution timed out",       # slofpy's own: a Machine time limit ran out
    321: "claim failed",
}

UNDEFINED_WORD = -13
USER_INTERRUPT = -28
TIMEOUT = -256


def error_text(code: int, message: str | None = None) -> str:
    """The text an uncaught THROW prints."""
    if message:
        return message
    return ERROR_TEXTS.get(code, f"exception {code}")


_CONTROLS = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def printable(text: str, limit: int = 120) -> str:
    """`text` safe for one line on a terminal: control characters (newline, NUL, ESC, the
    C1 controls) shown as \\xNN escapes, and cut to `limit` characters (saying how
    long it was), so a name read from input cannot move the cursor, recolour the terminal
    or fill the screen."""
    cut = text[:limit]
    shown = cut.translate(_CONTROLS) if any(c in cut for c in map(chr, _CONTROLS)) else cut
    if len(text) > limit:
        shown += f"... ({len(text)} characters)"
    return shown


class Throw(Exception):
    """A Forth THROW in flight inside the VM."""

    def __init__(self, code: int, message: str | None = None, word: str | None = None):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.word = word


@dataclass(frozen=True)
class BacktraceEntry:
    """One colon definition an error happened in: its name, where in it (the source file
    and line of the call or word being run; None when it was not compiled from a file) and
    the name of the word it was running there."""
    word: str
    file: str | None
    line: int | None
    at: str | None = None

    def describe(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file is not None else ""
        at = f" (at {self.at})" if self.at else ""
        return f"{where}{self.word}{at}"


class DeviceNotModelled(Exception):
    """A device access a host's model does not cover (slofpy's limit, not the guest's
    fault); the message is one line naming the device and the access. The engine's hcall
    words turn it into a THROW of -21 (unsupported operation) with that message."""


class ForthError(Exception):
    """An uncaught Forth error, as the public API and the command line report it.

    Attributes: ``code`` (the THROW code), ``text`` (what went wrong), ``file`` and ``line``
    (where in Forth source; None when typed or evaluated from a string with no name),
    ``word`` (the word being interpreted or run, when known), ``backtrace`` (the colon
    definitions that were running, innermost first: `BacktraceEntry`; empty when the error
    came from the text being interpreted itself).
    """

    def __init__(self, code: int, text: str, file: str | None = None,
                 line: int | None = None, word: str | None = None,
                 backtrace: tuple[BacktraceEntry, ...] = ()):
        self.code = code
        self.text = text
        self.file = file
        self.line = line
        self.word = word
        self.backtrace = tuple(backtrace)
        super().__init__(self.one_line())

    def backtrace_lines(self) -> list[str]:
        """The backtrace, one line per definition, innermost first: `FILE:LINE: word`."""
        return [entry.describe() for entry in self.backtrace]

    def short_backtrace(self) -> str:
        """The backtrace in one line, as the prompt shows it: `in inner < middle < outer`
        (empty when there is none)."""
        if not self.backtrace:
            return ""
        return "in " + " < ".join(entry.word for entry in self.backtrace)

    def one_line(self) -> str:
        """The error as one line: what and where, with control characters escaped and long
        names cut (see `printable`)."""
        where = ""
        if self.file is not None:
            where = f"{printable(str(self.file), 200)}:{self.line}: "
        text = printable(self.text, 400)
        if self.word:
            return f"{where}{printable(self.word)}? {text}"
        return f"{where}{text}"


class TimeLimitExceeded(BaseException):
    """Raised into running Forth when a Machine time limit runs out (see Machine.time_limit).

    A BaseException, like KeyboardInterrupt, so that no `except Exception` in Python code and
    no CATCH in Forth code stops it: a runaway program really ends. Machine turns it into a
    ForthError with code TIMEOUT (-256).
    """

    seconds: float = 0.0

    def __init__(self, seconds: float | None = None):
        if seconds is not None:
            self.seconds = seconds
        super().__init__(f"timed out after {self.seconds:g} s")


class SlofImageError(ValueError):
    """A file or folder that is not a SLOF image or source tree (one line: which, and why).
    Raised by slofpy.slof.image; here so that a front end can catch it without importing
    the image reader."""
