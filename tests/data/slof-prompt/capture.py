#!/usr/bin/env python3
"""Capture real SLOF's replies to small Forth lines at its "0 >" prompt (the oracle for the
engine conventions of issue 18: wordlists, CURRENT/CONTEXT, the search order, input state,
pockets, run-time code words, STRUCT, SLITERAL, `\\` at the end of a line, c@+ ...).

Boots `qemu-system-ppc64 -M pseries` (with the slof.bin QEMU ships) once, types every line of
LINES in order at the prompt and writes replies.txt next to this file:

    === GROUP | LINE
    <what SLOF printed between its echo of the line and the next prompt>
    --- depth N

GROUP names the convention a line is about; tests/test_slof_prompt.py types the same lines
into one slofpy VM, in the same order, and compares the replies (and the stack depth the
next prompt shows). Lines print relations (`=`, differences) rather than raw addresses, so
the replies do not depend on where SLOF's dictionary happens to be.

Usage: capture.py            (needs qemu-system-ppc64 and /usr/share/qemu/slof.bin)
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "replies.txt"

# (group, line).  Lines run in this order in one session, so later lines may use words that
# earlier ones defined.  Every line leaves the stack as it found it unless the depth is the
# point.
LINES: list[tuple[str, str]] = [
    ("basics", "1 2 + ."),
    ("basics", "1 2"),
    ("basics", ". ."),
    # ---- wordlists: a wid is [link to the previous wordlist, newest word]
    ("wordlist", "wordlist dup cell+ @ . @ 0<> ."),
    ("wordlist", "wordlist wordlist @ = ."),
    ("wordlist", "forth-wordlist cell+ @ last @ = ."),
    ("wordlist", ": wl-newest ; forth-wordlist cell+ @ cell+ char+ count type"),
    ("wordlist", "wordlist constant wl-a  wl-a set-current : in-wl-a 5 ; forth-wordlist set-current"),
    ("wordlist", "wl-a cell+ @ cell+ char+ count type  wl-a cell+ @ @ ."),
    # ---- CURRENT and CONTEXT are values; LAST is the current wordlist's head cell
    ("current", "current get-current = ."),
    ("current", "current forth-wordlist = ."),
    ("current", "wl-a to current  get-current wl-a = .  forth-wordlist to current"),
    ("current", "last current cell+ = ."),
    ("current", ": last-test ; last @ cell+ char+ count type"),
    ("current", "last @ latest @ = ."),
    ("context", "context search-order = ."),
    ("context", "context @ forth-wordlist = ."),
    ("context", "search-order @ forth-wordlist = ."),
    ("context", "get-order . forth-wordlist = ."),
    # ---- (find) ((find)) (find-order) ($find) (reveal)
    ("find", "s\" dup\" last @ (find) 0<> ."),
    ("find", "s\" dup\" forth-wordlist cell+ @ ((find)) link> ' dup = ."),
    ("find", "s\" no-such-word\" last @ ((find)) ."),
    ("find", "s\" no-such-word\" last @ (find) ."),
    ("find", "s\" swap\" (find-order) link> ' swap = ."),
    ("find", "s\" no-such-word\" (find-order) ."),
    ("find", "s\" over\" ($find) . . ' over = ."),
    ("find", "s\" no-such-word\" ($find) ."),
    ("find", "s\" in-wl-a\" (find-order) ."),
    ("find", "s\" in-wl-a\" wl-a cell+ @ (find) link> execute ."),
    ("find", "s\" dup\" (reveal) depth ."),
    ("find", "last @ link>name name>string type"),
    # ---- THERE: HERE saved while an interpret-mode structure compiles
    ("there", "here 1 if there @ = . then"),
    ("there", "here 1 if here <> . then"),
    # ---- search.fs: VOCABULARY ALSO PREVIOUS ONLY DEFINITIONS ORDER
    ("search", "vocabulary voc-a"),
    ("search", "also voc-a definitions : in-voc-a 2a ; previous definitions"),
    ("search", "s\" in-voc-a\" (find-order) ."),
    ("search", "also voc-a in-voc-a . previous"),
    ("search", "also voc-a get-order . = . previous"),
    ("search", "also voc-a context search-order - . previous context search-order - ."),
    ("search", "also voc-a definitions get-current context @ = . previous definitions"),
    ("search", "get-current forth-wordlist = ."),
    ("search", "also also get-order . 2drop drop only get-order . drop"),
    ("search", "also voc-a ' in-voc-a previous ' voc-a >body cell+ @ link> = ."),
    ("search", "forth-wordlist wordlist 2 set-order get-order . = . only get-order . drop"),
    # ---- STRUCT ... END-STRUCT: END-STRUCT drops the size and parses no name
    ("struct", "struct 2 field fa 3 field fb end-struct depth ."),
    ("struct", "10 fb . 10 fa ."),
    ("struct", "struct /n field fc end-struct 5 . depth ."),
    # ---- SLITERAL: the run-time word that pushes an inline counted string
    ("sliteral", ": sl1 [ ' sliteral compile, 3 c, char a c, char b c, char c c, align ] count type ; sl1"),
    ("sliteral", ": sl2 \" xy\" type ; sl2"),
    ("sliteral", ": sl3 \" \" . drop ; sl3"),
    ("sliteral", ": sl4 \" abcdefgh\" type \" ijklmnopq\" type ; sl4"),
    # ---- input state: IB #IB SOURCE-ID SPAN
    ("input", "ib span @ type"),
    ("input", "span @ ."),
    ("input", "#ib @ ."),
    ("input", "source-id ."),
    ("input", "source nip span @ - ."),
    ("input", "s\" source-id . span @ . #ib @ . ib source drop = .\" evaluate"),
    ("input", ": ss save-source 7 restore-source ; ss ."),
    ("input", "' terminal 0<> ' interpret 0<> = ."),
    # ---- POCKET, ABORT"-STR, CATCHER, PRINT-STATUS, HW-EXCEPTION-HANDLER
    ("pocket", "pocket pocket swap - 100 mod ."),
    ("pocket", "s\" ab\" drop pocket swap - 100 mod ."),
    ("abort", ": ab1 true abort\" boom\" ; ' ab1 catch . abort\"-str @ count type"),
    ("abort", "-1 print-status"),
    ("abort", "-2 print-status"),
    ("abort", "catcher @ 0<> ."),
    ("abort", ": c1 catcher @ ; ' c1 catch drop ' c1 catch drop = ."),
    ("abort", "' hw-exception-handler 0<> ."),
    # ---- the run-time code words exist as words of their own
    ("runtime", "' dotick ' dodo ' do?do ' doloop ' do+loop 0<> . 0<> . 0<> . 0<> . 0<> ."),
    ("runtime", "' doleave ' do?leave ' semicolon ' doto 0<> . 0<> . 0<> . 0<> ."),
    ("runtime", "' dodo ' doloop <> ' doto ' semicolon <> = ."),
    ("runtime", "0 value dv : set-dv [ ' doto compile, ' dv , ] ; 7 set-dv dv ."),
    ("runtime", ": dt [ ' dotick compile, ' dup , ] ; dt ' dup = ."),
    # ---- `\` directly followed by the end of a line ends the comment there
    ("backslash", "\" 7 \\\"(0a)8 9\" evaluate . . ."),
    ("backslash", "\" 7 \\ x\"(0a)8 9\" evaluate . . ."),
    ("backslash", "\" 7 \\\"(0a)\" evaluate ."),
    # ---- c@+ ( addr -- c addr' ) as SLOF has it
    ("c@+", "create c-test 41 c, 42 c,  c-test c@+ c@+ c-test - . . ."),
]

# Item 1 of issue 18 (return addresses: `r>` in a called word gives the address of the cell
# that called it).  Captured now so the session that changes the inner interpreter has them;
# tests/test_slof_prompt.py keeps them out of its comparison until then (see RETURN_ADDRESS
# there).  They run after LINES, in the same session.
RETURN_ADDRESS_LINES: list[tuple[str, str]] = [
    ("return-address", ": ra1 r> dup >r ; : rb1 ra1 ; rb1 ' rb1 >body - ."),
    ("return-address", ": rd1 r> cell+ dup >r @ ; : rd2 rd1 [ 2a , ] 1 + ; rd2 ."),
    ("return-address", "0 value dv2 : set-dv2 [ ' doto compile, ' dv2 , ] 1 ; 5 set-dv2 . dv2 ."),
    ("return-address", ": q1 [ ' sliteral compile, 2 c, char o c, char k c, align ] count ; q1 type"),
]


def _session_module():
    path = HERE.parent / "seeds" / "make-seeds.py"
    spec = importlib.util.spec_from_file_location("make_seeds", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PROMPT_RE = re.compile(rb"\r\n(\d+) > $")


def ask(session, line: str) -> tuple[str, int]:
    """Type line; SLOF's reply (echo and prompt taken off) and the depth the prompt shows."""
    session.proc.stdin.write(line.encode("ascii") + b"\r")
    session.proc.stdin.flush()
    out = b""
    while True:
        out += session.read_until(b" > ", 60)
        m = PROMPT_RE.search(out)
        if m:
            break
    depth = int(m.group(1))
    out = out[:m.start()]
    echo = re.match(rb"\x1b7.*?\x1b8\x1b\[\d+C", out, re.S)
    if echo is None:
        raise ValueError(f"unexpected echo for {line!r}: {out[:200]!r}")
    return out[echo.end():].replace(b"\r\n", b"\n").decode("latin-1"), depth


def main() -> int:
    ms = _session_module()
    session = ms.Session(["-m", "512"])
    try:
        session.wait_prompt(300)
        banner = re.search(rb"FW Version = (.*?)\r?\n", session.transcript)
        parts = [f"# real SLOF ({banner.group(1).decode().strip() if banner else '?'}) under "
                 f"qemu-system-ppc64 -M pseries, captured by capture.py\n"]
        for group, line in LINES + RETURN_ADDRESS_LINES:
            reply, depth = ask(session, line)
            parts.append(f"=== {group} | {line}\n{reply}\n--- depth {depth}\n")
    finally:
        session.close()
    OUT.write_text("".join(parts), encoding="latin-1")
    print(f"wrote {OUT} ({len(LINES) + len(RETURN_ADDRESS_LINES)} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
