#!/usr/bin/env python3
"""slofpy benchmark runner.

Times each benchmark on slofpy and, where there is one, on what it is compared
against, in the same run, and prints one table: benchmark, slofpy seconds,
what it is compared against and its seconds, the ratio, the target and
whether it was met, and the result check.  Groups:

  engine   Forth programs against gforth-fast (ratio slofpy / gforth-fast)
  boot     `slofpy boot` on the default seed against QEMU + its SLOF to "0 >", and the
           same with --firmware slof.bin (SLOF's own Forth on slofpy)
  scale    synthetic seeds of 1k, 10k, 50k nodes: import, phandle fix-up,
           flatten; 10k and 50k are compared with 1k (growth per 10x nodes)
  startup  `slofpy run -e bye` with the prepared dictionary against without

The median engine ratio and a count of the targets met close the table. The "peak MiB"
column is the peak resident set size of the slofpy process timed (os.wait4's ru_maxrss of
that one child; for the scale rows scale.py's own high-water mark up to the end of the
flatten, before its round-trip check).

    python bench/run.py                      # everything
    python bench/run.py --only fib --only sieve
    python bench/run.py --only scale          # a whole group
    python bench/run.py --repeat 5 --slofpy-repeat 2
    python bench/run.py --list

A benchmark is one `Bench` entry in BENCHMARKS below: a name, a runner for
slofpy, an optional runner for the reference, and optionally the expected
result line.  A runner is any callable taking the `Options` and returning
the program's stdout (raise `RunError` on failure), or a `Timed` (stdout and
the seconds it measured itself, for runs whose parts are timed apart);
`cmd(...)` builds one that runs a subprocess.  Otherwise timing is done here,
around the runner call, with time.perf_counter, so a runner can just as well
work in-process.

Exit status: 0 when every selected slofpy run succeeded and every result
matched, 1 otherwise (reference failures or absence and missed targets do not
count).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PROGRAMS = BENCH_DIR / "programs"
MAKE_SEEDS = REPO / "tests" / "data" / "seeds" / "make-seeds.py"

#: Environment variable that makes slofpy build its dictionary from the sources instead of
#: loading the prepared one from the cache (see slofpy/dictcache.py).
NO_CACHE_ENV = "SLOFPY_NO_DICT_CACHE"


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
    qemu: Optional[str] = None           # qemu-system-ppc64 executable
    qemu_repeat: int = 1                 # best of N for QEMU + SLOF
    no_reference: bool = False
    verbose: bool = False
    cache_home: Optional[str] = None     # XDG_CACHE_HOME given to slofpy runs
    scratch: Optional[str] = None        # a folder for files runs write
    pycache: Optional[str] = None        # PYTHONPYCACHEPREFIX for slofpy runs (None: as is)


@dataclass
class Timed:
    """What a runner returns when it timed the part that counts itself (and, when its
    child ran before this call, that child's peak RSS in KiB)."""
    out: str
    seconds: float
    peak_kib: Optional[int] = None


# A runner: Options -> stdout text (or Timed).  Raise RunError on failure.
Runner = Callable[[Options], Union[str, Timed]]


@dataclass
class Target:
    """A goal from issue 7: `text` for the table, `test(seconds, ratio)` says whether it
    was met (None: cannot tell, e.g. nothing to compare with)."""
    text: str
    test: Callable[[Optional[float], Optional[float]], Optional[bool]]


def at_most_seconds(limit: float) -> Target:
    return Target(f"<={limit:g} s",
                  lambda s, q: None if s is None else s <= limit)


def at_most_ratio(limit: float, text: Optional[str] = None) -> Target:
    return Target(text or f"<={limit:g}x",
                  lambda s, q: None if q is None else q <= limit)


def times_faster(k: float) -> Target:
    """slofpy at least k times faster than the reference (ratio slofpy/ref <= 1/k)."""
    return Target(f">={k:g}x faster",
                  lambda s, q: None if q is None else q * k <= 1.0)


def fmt_ratio(q: float) -> str:
    if q < 1:
        return f"1/{1 / q:.1f}" if q > 0 else "-"
    if q >= 100:
        return f"{q:.0f}x"
    if q >= 10:
        return f"{q:.1f}x"
    return f"{q:.2f}x"


@dataclass
class Bench:
    name: str
    description: str
    slofpy: Runner
    reference: Optional[Runner] = None
    expect: Optional[str] = None       # expected result line, if known
    reference_name: str = "gforth-fast"
    result: Callable[[str], str] = field(default=lambda out: last_line(out))
    group: str = "engine"
    # best of how many reference runs (default: --repeat)
    reference_repeat: Optional[Callable[[Options], int]] = None
    # compare with another benchmark's slofpy time instead of running a reference
    relative_to: Optional[str] = None
    # the ratio column from (slofpy seconds, reference seconds), and how it is written
    ratio: Callable[[float, float], float] = field(default=lambda s, r: s / r)
    ratio_format: Callable[[float], str] = field(default=fmt_ratio)
    targets: list[Target] = field(default_factory=list)
    # the reference prints the same result line (a Forth program on both)
    same_result: bool = True
    # best of at least this many slofpy runs (short benchmarks; --slofpy-repeat may ask more)
    min_slofpy_repeat: int = 1


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


def run_cmd(argv: list[str], opts: Options, cwd: Path = REPO,
            env: Optional[dict[str, str]] = None) -> str:
    full_env = dict(os.environ)
    # Let `python -m slofpy` find the package from the checkout even when it
    # is not installed.
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p)
    if opts.cache_home:
        full_env["XDG_CACHE_HOME"] = opts.cache_home
    if opts.pycache:
        # Python's own bytecode cache, as an installed slofpy has it (some environments
        # switch it off with PYTHONDONTWRITEBYTECODE); kept in the scratch folder
        full_env.pop("PYTHONDONTWRITEBYTECODE", None)
        full_env["PYTHONPYCACHEPREFIX"] = opts.pycache
    full_env.pop(NO_CACHE_ENV, None)
    full_env.update(env or {})
    if opts.verbose:
        shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        print("  $", (shown + " " if shown else "") + shlex.join(argv), file=sys.stderr)
    out, err, code = _run_child(argv, cwd, full_env, opts.timeout)
    if code != 0:
        strip = (argv[0] + ": ", os.path.basename(argv[0]) + ": ")
        why = (_short(err, strip=strip) or _short(out, strip=strip) or "no output")
        raise RunError(f"exit {code}: {why}")
    return out


#: The peak resident set size (KiB) of the children run since `measure` last reset it: the
#: largest ru_maxrss os.wait4 gave for one child (the child process alone; the kernel's
#: high-water mark of its memory).
PEAK_KIB = [0]


def _run_child(argv: list[str], cwd: Path, env: dict[str, str],
               timeout: float) -> tuple[str, str, int]:
    """Run argv to its end; (stdout, stderr, exit code). Its peak RSS goes into PEAK_KIB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, text=True)
        except FileNotFoundError:
            raise RunError(f"not found: {argv[0]}")
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            proc.kill()
        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if expired.is_set():
            raise RunError(f"timeout >{timeout:g}s")
        PEAK_KIB[0] = max(PEAK_KIB[0], usage.ru_maxrss)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), proc.returncode


def cmd(*args: str | Callable[[Options], list[str]],
        env: Optional[dict[str, str]] = None,
        before: Optional[Callable[[Options], None]] = None) -> Runner:
    """A subprocess runner.  Each arg is a string or a function of Options
    returning a list of strings (for command prefixes resolved at run time).
    `before` runs first, untimed only if it has already run once (use it for
    one-off preparation such as warm())."""
    def runner(opts: Options) -> str:
        argv: list[str] = []
        for a in args:
            argv.extend(a(opts) if callable(a) else [a])
        return run_cmd(argv, opts, env=env)
    if before is None:
        return runner

    def prepared(opts: Options) -> Timed:
        before(opts)
        t0 = time.perf_counter()
        out = runner(opts)
        return Timed(out, time.perf_counter() - t0)
    return prepared


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


_warmed: set[str] = set()


def warm(opts: Options) -> None:
    """Run slofpy once, untimed, so that the prepared dictionaries (the engine's and the
    firmware's) are in the cache before anything that uses them is timed."""
    key = repr((opts.slofpy, opts.cache_home))
    if key in _warmed:
        return
    _warmed.add(key)
    peak = PEAK_KIB[0]              # these runs are not the measured one
    for argv in (["run", "-e", "bye"], ["boot", "-q"]):
        try:
            run_cmd([*slofpy_prefix(opts), *argv], opts)
        except RunError:
            pass        # the timed run reports it
    PEAK_KIB[0] = peak


def forth_program(name: str, expect: Optional[str], description: str,
                  ratio: float = 40) -> Bench:
    """A program from bench/programs/ run on `slofpy run FILE` and on
    `gforth-fast FILE -e bye`; ratio: the target, at most that many times
    gforth-fast's time."""
    path = str(PROGRAMS / f"{name}.fs")
    return Bench(
        name=name,
        description=description,
        slofpy=cmd(slofpy_prefix, "run", path, before=warm),
        reference=cmd(gforth_prefix, path, "-e", "bye"),
        expect=expect,
        targets=[at_most_ratio(ratio)],
    )


# --------------------------------------------------------------------------
# boot: `slofpy boot` against QEMU with its bundled SLOF

def _blob_nodes(path: Path) -> int:
    sys.path.insert(0, str(REPO))
    from slofpy.fdt.blob import parse_blob
    root, _, _ = parse_blob(path.read_bytes())
    return sum(1 for _ in root.walk())


def slofpy_boot(opts: Options) -> Timed:
    """`slofpy boot -q -o OUT.dtb` on the default seed: process start to exit, which is
    after the host accepted the tree (H_UPDATE_DT) and the blob was written."""
    warm(opts)
    out = Path(opts.scratch or tempfile.gettempdir()) / "boot.dtb"
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    text = run_cmd([*slofpy_prefix(opts), "boot", "-q", "-o", str(out)], opts)
    seconds = time.perf_counter() - t0
    if not out.is_file():
        raise RunError("slofpy boot wrote no blob")
    return Timed(text + f"\naccepted, {_blob_nodes(out)} nodes\n", seconds)


SLOF_BIN = Path("/usr/share/qemu/slof.bin")


def slofpy_boot_slof(opts: Options) -> Timed:
    """`slofpy boot --firmware slof.bin -q -o OUT.dtb` on the default seed: SLOF's own Forth
    from its first line to the client-interface quiesce, the host's H_UPDATE_DT accepted and
    the blob written (process start to exit)."""
    if not SLOF_BIN.is_file():
        raise RunError(f"{SLOF_BIN} missing (Debian package qemu-system-data)")
    warm(opts)
    out = Path(opts.scratch or tempfile.gettempdir()) / "boot-slof.dtb"
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    text = run_cmd([*slofpy_prefix(opts), "boot", "--firmware", str(SLOF_BIN), "-q", "-o",
                    str(out)], opts)
    seconds = time.perf_counter() - t0
    if not out.is_file():
        raise RunError("slofpy boot --firmware wrote no blob")
    return Timed(f"accepted, {_blob_nodes(out)} nodes\n", seconds)


def qemu_exe(opts: Options) -> Optional[str]:
    return opts.qemu or shutil.which("qemu-system-ppc64")


def qemu_boot(opts: Options) -> Timed:
    """QEMU (TCG) with its bundled slof.bin on the configuration of the default seed
    (-M pseries -m 512 -nic none -vga none): process start to SLOF's first "0 >"."""
    exe = qemu_exe(opts)
    if not exe:
        raise RunError("qemu-system-ppc64 not installed")
    spec = importlib.util.spec_from_file_location("make_seeds", MAKE_SEEDS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.QEMU = exe
    if opts.verbose:
        print(f"  $ {exe} -M pseries {' '.join(mod.BASE_ARGS)} -m 512 "
              f"{' '.join(mod.RUN_ARGS)}  (until \"0 >\")", file=sys.stderr)
    try:
        seconds = mod.time_boot_to_prompt(["-m", "512"], timeout=min(opts.timeout, 600))
    except (TimeoutError, EOFError, OSError) as e:
        raise RunError(_short(str(e)))
    return Timed("0 >", seconds)


# --------------------------------------------------------------------------
# scale: synthetic seeds, import / phandle fix-up / flatten timed apart

SCALE_SIZES = (1000, 10000, 50000)
SCALE_PHASES = ("import", "fixup", "flatten", "total")
LINEAR_PER_10X = 12         # growth per 10x nodes held as linear
SCALE_50K_SECONDS = 4       # issue 20: 50k nodes imported, fixed up and flattened


class _ScaleRuns:
    """Runs of bench/scale.py per size, shared by the rows of that size: the k-th
    timing of every phase comes from the k-th run."""

    def __init__(self) -> None:
        self.runs: dict[int, list[dict]] = {}

    def get(self, n: int, k: int, opts: Options) -> dict:
        runs = self.runs.setdefault(n, [])
        while len(runs) <= k:
            PEAK_KIB[0] = 0
            out = run_cmd([sys.executable, str(BENCH_DIR / "scale.py"), str(n)], opts)
            try:
                runs.append(json.loads(last_line(out)))
            except ValueError:
                raise RunError(f"scale.py printed {_short(out)!r}")
            # the firmware's part (scale.py's own high-water mark before its round-trip
            # check), else the whole process's
            runs[-1]["peak_kib"] = runs[-1].get("peak_kib") or PEAK_KIB[0]
        return runs[k]


_SCALE = _ScaleRuns()


def _kilo(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def scale_bench(n: int, phase: str) -> Bench:
    calls = [0]

    def runner(opts: Options) -> Timed:
        k = calls[0]
        calls[0] += 1
        r = _SCALE.get(n, k, opts)
        if phase == "total":
            seconds = r["import"] + r["fixup"] + r["flatten"]
        else:
            seconds = r[phase]
        return Timed(f"{r['nodes']} nodes", seconds, r["peak_kib"])

    what = {"import": "fdt-unflatten's walk (nodes and properties)",
            "fixup": "fdt-fix-phandles",
            "flatten": "fdt-flatten-tree",
            "total": "import + fix-up + flatten"}[phase]
    base = SCALE_SIZES[0]
    targets = []
    relative = None
    if n != base:
        relative = f"scale-{_kilo(base)}-{phase}"
        # linear (issue 20): at most 12x per 10x nodes; n log n from 1k would be about
        # 13x, quadratic 100x
        targets.append(at_most_ratio(LINEAR_PER_10X, f"<={LINEAR_PER_10X:g}x per 10x"))
    if n == SCALE_SIZES[-1] and phase == "total":
        targets.append(at_most_seconds(SCALE_50K_SECONDS))
    decades = math.log10(n / base) if n != base else 1.0
    return Bench(
        name=f"scale-{_kilo(n)}-{phase}",
        description=f"synthetic seed, {n} nodes: {what}",
        slofpy=runner,
        expect=f"{n} nodes",
        group="scale",
        reference_name=f"{_kilo(base)}, per 10x",
        relative_to=relative,
        ratio=lambda s, r: (s / r) ** (1 / decades),
        ratio_format=lambda q: f"{q:.1f}x",
        targets=targets,
        same_result=False,
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
    # issue 17's programs: code the four above do not exercise, each at most 25x
    forth_program("calls", "4507500000",
                  "DO loops 3000 x 1000 calling short colon definitions", 25),
    forth_program("control", "6649409",
                  "CASE, nested IF, BEGIN/WHILE definitions calling others x 300000", 25),
    forth_program("recurse", "319200000",
                  "recursion 300 deep with >R R@ R> locals, 7000 times", 25),
    forth_program("strings", "2800000",
                  "COMPARE, SEARCH, MOVE of short strings x 200000", 25),
    forth_program("inner", "450091815488",
                  "loops.fs with the inner loop its own definition, called 30000 times", 25),
    Bench(
        name="boot",
        description="slofpy boot, default seed: process start to H_UPDATE_DT "
                    "accepted and the blob written; QEMU+SLOF to \"0 >\"",
        slofpy=slofpy_boot,
        reference=qemu_boot,
        reference_name="qemu+SLOF",
        reference_repeat=lambda opts: opts.qemu_repeat,
        result=lambda out: last_line(out) if out != "0 >" else out,
        group="boot",
        targets=[at_most_seconds(0.5), times_faster(20)],
        same_result=False,
        min_slofpy_repeat=5,
    ),
    Bench(
        name="boot-slof",
        description="slofpy boot --firmware slof.bin (SLOF's own Forth), default seed: "
                    "process start to H_UPDATE_DT accepted; QEMU+SLOF to \"0 >\"",
        slofpy=slofpy_boot_slof,
        reference=qemu_boot,
        reference_name="qemu+SLOF",
        reference_repeat=lambda opts: opts.qemu_repeat,
        result=lambda out: last_line(out) if out != "0 >" else out,
        group="boot",
        targets=[at_most_seconds(2.0), times_faster(5)],
        same_result=False,
        min_slofpy_repeat=3,
    ),
    *[scale_bench(n, phase) for n in SCALE_SIZES for phase in SCALE_PHASES],
    Bench(
        name="startup-nocache",
        description="slofpy run -e bye, dictionary built from the sources",
        slofpy=cmd(slofpy_prefix, "run", "-e", "bye", env={NO_CACHE_ENV: "1"}),
        expect="",
        group="startup",
        min_slofpy_repeat=5,
    ),
    Bench(
        name="startup",
        description="slofpy run -e bye, prepared dictionary from the cache",
        slofpy=cmd(slofpy_prefix, "run", "-e", "bye", before=warm),
        expect="",
        group="startup",
        reference_name="no cache",
        relative_to="startup-nocache",
        targets=[at_most_seconds(0.3)],
        same_result=False,
        min_slofpy_repeat=5,
    ),
]

GROUPS = ("engine", "boot", "scale", "startup")


# --------------------------------------------------------------------------
# measuring

@dataclass
class Measure:
    seconds: Optional[float] = None
    result: Optional[str] = None
    error: Optional[str] = None
    runs: int = 0
    peak_kib: int = 0       # the largest peak RSS of a measured child, 0 if none ran

    @property
    def ok(self) -> bool:
        return self.seconds is not None

    def cell(self) -> str:
        if self.ok:
            return f"{self.seconds:.3f}"
        return self.error or "-"

    def peak_cell(self) -> str:
        return f"{self.peak_kib / 1024:.0f}" if self.ok and self.peak_kib else "-"


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
        PEAK_KIB[0] = 0
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
        peak = PEAK_KIB[0]
        if isinstance(out, Timed):
            out, dt, peak = out.out, out.seconds, out.peak_kib or peak
        m.peak_kib = max(m.peak_kib, peak)
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
    if bench.same_result:
        if r.ok and bench.expect is not None and r.result != bench.expect:
            problems.append(f"ref {r.result!r}")
        if s.ok and r.ok and s.result != r.result and not problems:
            problems.append(f"{s.result!r} != {r.result!r}")
    if problems:
        want = f" (want {bench.expect!r})" if bench.expect is not None else ""
        return "MISMATCH " + ", ".join(problems) + want
    if not bench.same_result:
        return "ok" if s.ok else "-"
    if s.ok or r.ok:
        return "ok"
    return "-"


def target_cell(bench: Bench, seconds: Optional[float], q: Optional[float]) -> tuple[str, list[bool]]:
    """The target column ("<=0.5 s ok, >=20x faster MISSED") and each verdict."""
    parts, verdicts = [], []
    for t in bench.targets:
        met = t.test(seconds, q)
        if met is not None:
            verdicts.append(met)
        parts.append(f"{t.text} " + ("ok" if met else "?" if met is None else "MISSED"))
    return ", ".join(parts) or "-", verdicts


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
    numeric = {i for i, h in enumerate(header)
               if h.endswith(" s") or h.endswith(" MiB") or h == "ratio"}
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" if i in numeric else "---"
                         for i in range(len(header))) + "|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only this benchmark or group (repeatable, or comma "
                         "list); groups: " + ", ".join(GROUPS))
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="best of N runs for the reference (default 3)")
    ap.add_argument("--slofpy-repeat", type=int, default=1, metavar="N",
                    help="best of up to N runs for slofpy (default 1)")
    ap.add_argument("--slofpy-budget", type=float, default=60.0, metavar="S",
                    help="stop repeating a slofpy benchmark once S seconds "
                         "have been spent on it (default 60)")
    ap.add_argument("--qemu-repeat", type=int, default=1, metavar="N",
                    help="best of N runs for QEMU + SLOF (default 1)")
    ap.add_argument("--timeout", type=float, default=1800.0, metavar="S",
                    help="per-run timeout in seconds (default 1800)")
    ap.add_argument("--slofpy", metavar="CMD",
                    default=os.environ.get("SLOFPY"),
                    help="command used to start slofpy (default: $SLOFPY, "
                         "else the slofpy script, else python -m slofpy)")
    ap.add_argument("--gforth", metavar="EXE",
                    help="gforth-fast executable (default: from PATH)")
    ap.add_argument("--qemu", metavar="EXE",
                    help="qemu-system-ppc64 executable (default: from PATH)")
    ap.add_argument("--cache-home", metavar="DIR",
                    help="XDG_CACHE_HOME for the slofpy runs (default: a fresh "
                         "temporary folder, so the user's cache is not used)")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="run slofpy with the environment's bytecode setting as it is "
                         "(default: Python's bytecode cache on, in the scratch folder)")
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
            print(f"{b.name:20s} {b.group:8s} {b.description}")
        return 0

    names = [n for o in args.only for n in o.split(",") if n]
    known = {b.name for b in BENCHMARKS}
    unknown = [n for n in names if n not in known and n not in GROUPS]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                 f"known: {', '.join(GROUPS)}, {', '.join(sorted(known))}")
    wanted = {b.name for b in BENCHMARKS
              if not names or b.name in names or b.group in names}
    by_name = {b.name: b for b in BENCHMARKS}
    # a benchmark compared with another one needs that one measured too
    for name in list(wanted):
        other = by_name[name].relative_to
        if other:
            wanted.add(other)
    selected = [b for b in BENCHMARKS if b.name in wanted]

    with tempfile.TemporaryDirectory(prefix="slofpy-bench-") as scratch:
        cache_home = args.cache_home or os.path.join(scratch, "cache")
        opts = Options(repeat=args.repeat, slofpy_repeat=args.slofpy_repeat,
                       slofpy_budget=args.slofpy_budget, timeout=args.timeout,
                       slofpy=shlex.split(args.slofpy) if args.slofpy else None,
                       gforth=args.gforth, qemu=args.qemu, qemu_repeat=args.qemu_repeat,
                       no_reference=args.no_reference, verbose=args.verbose,
                       cache_home=cache_home, scratch=scratch,
                       pycache=None if args.no_bytecode_cache
                       else os.path.join(scratch, "pycache"))
        return _run(selected, opts, args)


def _run(selected: list[Bench], opts: Options, args) -> int:
    measured: dict[str, tuple[Measure, Measure]] = {}
    for b in selected:
        print(f"running {b.name} ...", file=sys.stderr, flush=True)
        if args.no_slofpy:
            s = Measure(error="skipped")
        else:
            s = measure(b.slofpy, b, opts, max(opts.slofpy_repeat, b.min_slofpy_repeat),
                        budget=opts.slofpy_budget)
        if opts.no_reference or b.relative_to:
            r = Measure(error="skipped" if b.reference else "-")
        else:
            repeat = b.reference_repeat(opts) if b.reference_repeat else opts.repeat
            r = measure(b.reference, b, opts, repeat)
        measured[b.name] = (s, r)

    header = ["benchmark", "slofpy s", "peak MiB", "against", "other s", "ratio", "target",
              "check"]
    rows: list[list[str]] = []
    engine_ratios: list[float] = []
    met = missed = 0
    missed_names: list[str] = []
    failed = False
    for b in selected:
        s, r = measured[b.name]
        if b.relative_to:
            r = measured[b.relative_to][0]
        verdict = check(b, s, r)
        ratio = "-"
        q = None
        if s.ok and r.ok and r.seconds > 0:
            q = b.ratio(s.seconds, r.seconds)
            ratio = b.ratio_format(q)
            if verdict == "ok" and b.group == "engine":  # a wrong answer does not count
                engine_ratios.append(q)
        tcell, verdicts = target_cell(b, s.seconds if s.ok else None, q)
        met += sum(verdicts)
        if not all(verdicts):
            missed += verdicts.count(False)
            missed_names.append(b.name)
        if verdict.startswith("MISMATCH") or (not s.ok and not args.no_slofpy):
            failed = True
        rows.append([b.name, s.cell(), s.peak_cell(), b.reference_name if (b.reference or b.relative_to) else "-",
                     r.cell(), ratio, tcell, verdict])

    print()
    (print_markdown if args.markdown else print_table)(rows, header)
    print()
    if engine_ratios:
        median = statistics.median(engine_ratios)
        verdict = "ok" if median <= 25 else "MISSED"
        met, missed = (met + 1, missed) if median <= 25 else (met, missed + 1)
        if median > 25:
            missed_names.append("engine median")
        print(f"median engine ratio (slofpy / gforth-fast): {fmt_ratio(median)} over "
              f"{len(engine_ratios)} benchmark(s); target <=25x {verdict}")
    elif any(b.group == "engine" for b in selected):
        print("median engine ratio: n/a (no benchmark ran on both)")
    print(f"targets: {met} met, {missed} missed"
          + (f" ({', '.join(missed_names)})" if missed_names else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
