"""What the engine's calling convention costs: recursive fib in five shapes, one run.

    python bench/calling_convention.py [N]        (default N = 32, as fib.fs)

1. slofpy as it is: fib.fs's definition run by the engine (generated code, the data stack a
   Python list that every call reads and writes).
2. The generated code's shape written out by hand: the same list traffic, the same 64-bit
   wrap checks, the same overflow check on entry; a check that this file measures what the
   engine runs, not something else.
3. A register convention: arguments and results as Python parameters and return values,
   the wrap checks kept. This is what the generator could emit for a definition whose stack
   effect is known and which does not look at the stack otherwise.
4. The same with the wrap checks a range analysis of the definition can prove unneeded.
5. Plain Python: no wrap checks (the ceiling for any engine that compiles to CPython).

gforth-fast runs fib.fs's definition on the same N in the same run, when it is installed.
Every row prints its seconds (best of 3) and its ratio to gforth-fast.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SB = 1 << 63
M = (1 << 64) - 1
STACK_LIMIT = 4032


def wrap(v: int) -> int:
    return ((v + SB) & M) - SB


def list_convention(n: int) -> int:
    """Shape 2: what the generator emits for fib today (see vm/codegen)."""
    s: list[int] = [n]

    def fib(s=s, SB=SB, wrap=wrap) -> None:
        if len(s) > STACK_LIMIT:
            raise RecursionError
        t1 = s[-1]
        if t1 < 2:
            return
        t2 = t1 - 1
        if t2 < -SB:
            t2 = wrap(t2)
        s.append(t2)
        fib()
        t3, t4 = s[-2], s[-1]
        del s[-2:]
        t5 = t3 - 2
        if t5 < -SB:
            t5 = wrap(t5)
        s.extend((t4, t5))
        fib()
        t6 = s.pop()
        t7 = s.pop()
        t8 = t7 + t6
        if not -SB <= t8 < SB:
            t8 = wrap(t8)
        s.append(t8)

    fib()
    return s[0]


def register_convention(n: int) -> int:
    """Shape 3: one cell in, one cell out, as parameters."""
    def fib(t1: int, SB=SB, wrap=wrap) -> int:
        if t1 < 2:
            return t1
        t2 = t1 - 1
        if t2 < -SB:
            t2 = wrap(t2)
        t3 = fib(t2)
        t5 = t1 - 2
        if t5 < -SB:
            t5 = wrap(t5)
        t8 = t3 + fib(t5)
        if not -SB <= t8 < SB:
            t8 = wrap(t8)
        return t8

    return fib(n)


def register_and_ranges(n: int) -> int:
    """Shape 4: shape 3 with the wrap checks a range analysis removes: past `dup 2 < if exit
    then` the argument is at least 2, so `1-` and `2 -` cannot wrap; the sum still can."""
    def fib(t1: int, SB=SB, wrap=wrap) -> int:
        if t1 < 2:
            return t1
        t8 = fib(t1 - 1) + fib(t1 - 2)
        if not -SB <= t8 < SB:
            t8 = wrap(t8)
        return t8

    return fib(n)


def plain_python(n: int) -> int:
    """Shape 5."""
    def fib(k: int) -> int:
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    return fib(n)


FIB_FS = (HERE / "programs" / "fib.fs").read_text().split("bench . cr")[0]


def engine(n: int) -> int:
    """Shape 1: the engine, with its code generator, on fib.fs's definition."""
    from slofpy.machine import Machine
    m = Machine()
    m.evaluate(FIB_FS)
    m.evaluate("10 fib drop 10 fib drop 10 fib drop")     # generated code from here on
    m.evaluate(f"#{n} fib")
    return m.pop()


def best_of(runs: int, function, n: int) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = function(n)
        best = min(best, time.perf_counter() - start)
    return best, result


def gforth(n: int) -> float | None:
    exe = shutil.which("gforth-fast")
    if exe is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".fs", delete=False) as f:
        f.write(FIB_FS + f"\n: go {n} fib . cr ; \n")
        path = f.name
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([exe, path, "-e", "go bye"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    startup = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([exe, "-e", "bye"], check=True, capture_output=True)
        startup = min(startup, time.perf_counter() - start)
    Path(path).unlink()
    return max(best - startup, 1e-6)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    reference = gforth(n)
    rows = [("slofpy engine (generated code)", engine),
            ("list convention, by hand", list_convention),
            ("register convention, by hand", register_convention),
            ("registers + range analysis", register_and_ranges),
            ("plain Python, no wrap checks", plain_python)]
    results = set()
    print(f"fib {n}; gforth-fast: "
          + (f"{reference:.3f} s (its start-up taken off)" if reference else "not installed"))
    print(f"{'shape':<34} {'seconds':>8} {'x gforth-fast':>14}")
    for name, function in rows:
        seconds, result = best_of(3, function, n)
        results.add(result)
        ratio = f"{seconds / reference:.1f}x" if reference else "-"
        print(f"{name:<34} {seconds:8.3f} {ratio:>14}")
    if len(results) != 1:
        print(f"the shapes disagree: {sorted(results)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
