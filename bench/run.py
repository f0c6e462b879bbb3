#!/usr/bin/env python3
"""slofpy benchmark runner.

Times each benchmark on slofpy and, where available, on a reference
implementation (gforth-fast for the Forth programs), in the same run, and
prints a table: benchmark, slofpy seconds, reference seconds, ratio, check.
The median ratio over the benchmarks where both sides succeeded and gave the
right result closes the table.

    python bench/run.py                      # everything
    python bench/run.py --only fib --only sieve
    python bench/run.py --repeat 5 --slofpy-repeat 2
    python bench/run.py --list

A benchmark is one `Bench` entry in BENCHMARKS below: a name, a runner for
slofpy, an optional runner for the reference, and optionally the expected
result line.  A runner is any callable taking the `Options` and returning
the program's stdout (raise `RunError` on failure); `cmd(...)` builds one
that runs a subprocess.  Timing is done here, around the runner call, with
time.perf_counter, so a runner can just as well work in-process.

Exit status: 0 when every selected slofpy run succeeded and every result
matched, 1 otherwise (reference failures or absence do not count).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PROGRAMS = BENCH_DIR / "programs"


class RunError(Exception):
    """A run failed; the message (one short line) goes in the table."""


@dataclass
class Options:
    repeat: int = 3            # best of N for the reference
    slofpy_repeat: int = 1     # best of N for slofpy
    slofpy_budget: float = 60.0  # stop repeating slofpy once this much spent
    timeout: float = 1800.0    # per single run, seconds
    slofpy: Optional[list[str]] = None   # command prefix for slofpy
    gforth: Optional[str] = None         # gforth-fast executable
    no_reference: bool = False
    verbose: bool = False


# A runner: Options -> stdout text.  Raise RunError on failure.
Runner = Callable[[Options], str]


@dataclass
class Bench:
    name: str
    description: str
    slofpy: Runner
    reference: Optional[Runner] = None
    expect: Optional[str] = None       # expected result line, if known
    reference_name: str = "gforth-fast"
    result: Callable[[str], str] = field(default=lambda out: last_line(out))


# --------------------------------------------------------------------------
# helpers for runners

def last_line(out: str) -> str:
    """The result line: last non-empty stdout line, whitespace-normalised."""
    for line in reversed(out.splitlines()):
        if line.strip():
            return " ".join(line.split())
    return ""


def _short(text: str, limit: int = 64, strip: tuple[str, ...] = ()) -> str:
    """Last non-empty line of `text`, without any of the `strip` prefixes
    (e.g. "/usr/bin/python: "), cut to `limit` characters."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    msg = lines[-1] if lines else ""
    for prefix in strip:
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
            break
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def run_cmd(argv: list[str], opts: Options, cwd: Path = REPO) -> str:
    env = dict(os.environ)
    # Let `python -m slofpy` find the package from the checkout even when it
    # is not installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    if opts.verbose:
        print("  $", shlex.join(argv), file=sys.stderr)
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=opts.timeout)
    except FileNotFoundError:
        raise RunError(f"not found: {argv[0]}")
    except subprocess.TimeoutExpired:
        raise RunError(f"timeout >{opts.timeout:g}s")
    if proc.returncode != 0:
        strip = (argv[0] + ": ", os.path.basename(argv[0]) + ": ")
        why = (_short(proc.stderr, strip=strip)
               or _short(proc.stdout, strip=strip) or "no output")
        raise RunError(f"exit {proc.returncode}: {why}")
    return proc.stdout


def cmd(*args: str | Callable[[Options], list[str]]) -> Runner:
    """A subprocess runner.  Each arg is a string or a function of Options
    returning a list of strings (for command prefixes resolved at run time)."""
    def runner(opts: Options) -> str:
        argv: list[str] = []
        for a in args:
            argv.extend(a(opts) if callable(a) else [a])
        return run_cmd(argv, opts)
    return runner


def slofpy_prefix(opts: Options) -> list[str]:
    """How to start slofpy: --slofpy / $SLOFPY, else the `slofpy` console
    script, else `python -m slofpy`."""
    if opts.slofpy:
        return list(opts.slofpy)
    exe = shutil.which("slofpy")
    if exe:
        return [exe]
    return [sys.executable, "-m", "slofpy"]


def gforth_exe(opts: Options) -> Optional[str]:
    return opts.gforth or shutil.which("gforth-fast")


def gforth_prefix(opts: Options) -> list[str]:
    exe = gforth_exe(opts)
    if not exe:
        raise RunError("gforth-fast not installed")
    return [exe]


def forth_program(name: str, expect: Optional[str], description: str) -> Bench:
    """A program from bench/programs/ run on `slofpy run FILE` and on
    `gforth-fast FILE -e bye`."""
    path = str(PROGRAMS / f"{name}.fs")
    return Bench(
        name=name,
        description=description,
        slofpy=cmd(slofpy_prefix, "run", path),
        reference=cmd(gforth_prefix, path, "-e", "bye"),
        expect=expect,
    )


# --------------------------------------------------------------------------
# the benchmark list -- add new entries here

BENCHMARKS: list[Bench] = [
    forth_program("fib", "2178309",
                  "recursive fib(32): calls, returns, stack ops"),
    forth_program("sieve", "1899",
                  "BYTE sieve, 8190 flags x 1000: C@ C! FILL, loops"),
    forth_program("loops", "450091815488",
                  "nested DO loops 30000 x 1000: DO/LOOP, I J, arithmetic"),
    forth_program("memmove", "43585536000",
                  "4096-cell store / MOVE / fetch-sum x 3000"),
]


# --------------------------------------------------------------------------
# measuring

@dataclass
class Measure:
    seconds: Optional[float] = None
    result: Optional[str] = None
    error: Optional[str] = None
    runs: int = 0

    @property
    def ok(self) -> bool:
        return self.seconds is not None

    def cell(self) -> str:
        if self.ok:
            return f"{self.seconds:.3f}"
        return self.error or "-"


def measure(runner: Optional[Runner], bench: Bench, opts: Options,
            repeat: int, budget: Optional[float] = None) -> Measure:
    """Best of `repeat` runs; stop early after a failure, or once `budget`
    seconds have been spent (at least one run is always made)."""
    if runner is None:
        return Measure(error="-")
    m = Measure()
    spent = 0.0
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        try:
            out = runner(opts)
        except RunError as e:
            m.error = str(e)
            m.seconds = None
            return m
        except Exception as e:  # in-process runners may raise anything
            m.error = f"{type(e).__name__}: {_short(str(e))}"
            m.seconds = None
            return m
        dt = time.perf_counter() - t0
        spent += dt
        m.runs += 1
        res = bench.result(out)
        if m.result is not None and res != m.result:
            m.error = f"unstable result: {m.result!r} then {res!r}"
            m.seconds = None
            return m
        m.result = res
        m.seconds = dt if m.seconds is None else min(m.seconds, dt)
        if budget is not None and spent >= budget:
            break
    return m


def check(bench: Bench, s: Measure, r: Measure) -> str:
    """'ok', or what is wrong with the result lines."""
    problems = []
    if s.ok and bench.expect is not None and s.result != bench.expect:
        problems.append(f"slofpy {s.result!r}")
    if r.ok and bench.expect is not None and r.result != bench.expect:
        problems.append(f"ref {r.result!r}")
    if s.ok and r.ok and s.result != r.result and not problems:
        problems.append(f"{s.result!r} != {r.result!r}")
    if problems:
        want = f" (want {bench.expect!r})" if bench.expect is not None else ""
        return "MISMATCH " + ", ".join(problems) + want
    if s.ok or r.ok:
        return "ok"
    return "-"


def fmt_ratio(q: float) -> str:
    if q >= 100:
        return f"{q:.0f}x"
    if q >= 10:
        return f"{q:.1f}x"
    return f"{q:.2f}x"


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    def fmt(r: list[str]) -> str:
        cells = []
        for i, c in enumerate(r):
            # numbers right-aligned, text left-aligned
            numeric = c.replace(".", "", 1).replace("x", "").isdigit()
            cells.append(c.rjust(widths[i]) if numeric and i else c.ljust(widths[i]))
        return "  ".join(cells).rstrip()
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


def print_markdown(rows: list[list[str]], header: list[str]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 or i == len(header) - 1 else "---:"
                         for i in range(len(header))) + "|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only this benchmark (repeatable, or comma list)")
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="best of N runs for the reference (default 3)")
    ap.add_argument("--slofpy-repeat", type=int, default=1, metavar="N",
                    help="best of up to N runs for slofpy (default 1)")
    ap.add_argument("--slofpy-budget", type=float, default=60.0, metavar="S",
                    help="stop repeating a slofpy benchmark once S seconds "
                         "have been spent on it (default 60)")
    ap.add_argument("--timeout", type=float, default=1800.0, metavar="S",
                    help="per-run timeout in seconds (default 1800)")
    ap.add_argument("--slofpy", metavar="CMD",
                    default=os.environ.get("SLOFPY"),
                    help="command used to start slofpy (default: $SLOFPY, "
                         "else the slofpy script, else python -m slofpy)")
    ap.add_argument("--gforth", metavar="EXE",
                    help="gforth-fast executable (default: from PATH)")
    ap.add_argument("--no-slofpy", action="store_true",
                    help="time only the reference")
    ap.add_argument("--no-reference", action="store_true",
                    help="time only slofpy")
    ap.add_argument("--list", action="store_true",
                    help="list the benchmarks and exit")
    ap.add_argument("--markdown", action="store_true",
                    help="print the table as Markdown")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the commands run")
    args = ap.parse_args(argv)

    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:12s} {b.description}")
        return 0

    names = [n for o in args.only for n in o.split(",") if n]
    known = {b.name for b in BENCHMARKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                 f"known: {', '.join(sorted(known))}")
    selected = [b for b in BENCHMARKS if not names or b.name in names]

    opts = Options(repeat=args.repeat, slofpy_repeat=args.slofpy_repeat,
                   slofpy_budget=args.slofpy_budget, timeout=args.timeout,
                   slofpy=shlex.split(args.slofpy) if args.slofpy else None,
                   gforth=args.gforth, no_reference=args.no_reference,
                   verbose=args.verbose)

    ref_names = sorted({b.reference_name for b in selected if b.reference})
    ref_label = ref_names[0] if len(ref_names) == 1 else "reference"
    header = ["benchmark", "slofpy s", f"{ref_label} s", "ratio", "check"]
    rows: list[list[str]] = []
    ratios: list[float] = []
    failed = False
    for b in selected:
        print(f"running {b.name} ...", file=sys.stderr, flush=True)
        if args.no_slofpy:
            s = Measure(error="skipped")
        else:
            s = measure(b.slofpy, b, opts, opts.slofpy_repeat,
                        budget=opts.slofpy_budget)
        if opts.no_reference:
            r = Measure(error="skipped")
        else:
            r = measure(b.reference, b, opts, opts.repeat)
        verdict = check(b, s, r)
        ratio = "-"
        if s.ok and r.ok and r.seconds > 0:
            q = s.seconds / r.seconds
            ratio = fmt_ratio(q)
            if verdict == "ok":      # a wrong answer does not count
                ratios.append(q)
        if verdict.startswith("MISMATCH") or (not s.ok and not args.no_slofpy):
            failed = True
        rows.append([b.name, s.cell(), r.cell(), ratio, verdict])

    print()
    (print_markdown if args.markdown else print_table)(rows, header)
    print()
    if ratios:
        print(f"median ratio (slofpy / {ref_label}): "
              f"{fmt_ratio(statistics.median(ratios))} over {len(ratios)} benchmark(s)")
    else:
        print("median ratio: n/a (no benchmark ran on both)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
