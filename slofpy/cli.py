"""The `slofpy` command line.

    slofpy run FILE... [-e CODE] [-I DIR] [--timeout SECONDS]
    slofpy repl [--bare] [--seed FILE] [--host NAME] [-I DIR]
    slofpy test PATH... [--seed FILE] [-I DIR] [-v] [--timeout SECONDS]

Exit status: 0 on success, 1 on an uncaught Forth error (one line on stderr saying what and
where), a failed line (repl reading a pipe) or a failed test, 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import ForthError
from .machine import Machine, Bye


class _InOrder(argparse.Action):
    """Keep files and -e snippets in the order they were given."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = getattr(namespace, "program", None) or []
        if option_string in ("-e", "--evaluate"):
            items.append(("code", values))
        else:
            items.extend(("file", v) for v in values)
        namespace.program = items


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slofpy", description="SLOF's Open Firmware as a Python Forth VM")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run Forth source files and code")
    run.add_argument("files", nargs="*", action=_InOrder, metavar="FILE", help="Forth source to load")
    run.add_argument("-e", "--evaluate", action=_InOrder, metavar="CODE", help="Forth code to run")
    run.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                     help="add DIR to the #include search path")
    run.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                     help="stop the program after SECONDS (exit status 1)")

    repl = sub.add_parser("repl", help="SLOF's interactive ok prompt")
    repl.add_argument("--bare", action="store_true", help="the bare engine, no board")
    repl.add_argument("--seed", metavar="FILE", help="device-tree seed (.dtb/.dts) to boot on")
    repl.add_argument("--host", default="qemu", metavar="NAME", help="host backend (qemu)")
    repl.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                      help="add DIR to the #include search path")

    test = sub.add_parser("test", help="run Forth T{ }T test files (test_*.fs)")
    test.add_argument("paths", nargs="+", metavar="PATH", help="test files or folders")
    test.add_argument("--seed", metavar="FILE", help="seed for files marked `\\ slofpy: booted`")
    test.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                      help="add DIR to the #include search path")
    test.add_argument("-v", "--verbose", action="store_true", help="name every test")
    from .forthtest import DEFAULT_TIME_LIMIT
    test.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIME_LIMIT,
                      metavar="SECONDS", help="time limit of one test, set-up lines replayed "
                      f"for it included (default {DEFAULT_TIME_LIMIT:g})")

    from . import boot_command
    boot = sub.add_parser("boot", help="boot the QEMU pseries board on a seed and quiesce")
    boot_command.add_arguments(boot)
    return p


def positive_seconds(text: str) -> float:
    """argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command in ("repl", "test"):
        try:
            return _repl(args) if args.command == "repl" else _test(args)
        except Exception as e:  # a fault in slofpy itself: one line, never a traceback
            sys.stdout.flush()
            print(f"slofpy: internal error ({type(e).__name__}: {e}); please report it",
                  file=sys.stderr)
            return 1
    if args.command == "boot":
        from . import boot_command
        return boot_command.run(args)
    return 2


def _run(args) -> int:
    out = sys.stdout
    machine = Machine(include_path=args.include, output=_console_output)
    try:
        with machine.time_limit(args.timeout):
            for kind, value in getattr(args, "program", None) or []:
                if kind == "file":
                    machine.include(value)
                else:
                    # the command line's text as the bytes it came as (UTF-8)
                    machine.evaluate(value.encode("utf-8", "surrogateescape"), name="-e")
    except Bye:
        return 0
    except ForthError as e:
        out.flush()
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("slofpy: interrupted", file=sys.stderr)
        return 1
    except Exception as e:  # a fault in slofpy itself: still one line, never a traceback
        out.flush()
        print(f"slofpy: internal error ({type(e).__name__}: {e}); please report it", file=sys.stderr)
        return 1
    return 0


def _console_output(text: str) -> None:
    """Forth's output: each character is one byte (Latin-1), written as that byte, so what a
    source file holds (UTF-8, say) prints as it was written."""
    raw = getattr(sys.stdout, "buffer", None)
    if raw is None:
        sys.stdout.write(text)
    else:
        sys.stdout.flush()
        raw.write(text.encode("latin-1", "replace"))
        raw.flush()
        return
    sys.stdout.flush()


def _make_machine(args) -> Machine:
    """The Machine `slofpy repl` talks to. --bare: the bare engine. Otherwise the booted
    board, which comes from slofpy.board (boot_machine) when that module is present; without
    it the bare engine is all there is."""
    include = getattr(args, "include", None) or []
    if not args.bare:
        try:
            from .board import boot_machine
        except ImportError:
            boot_machine = None
        if boot_machine is not None:
            machine = boot_machine(seed=args.seed, host=args.host, output=_console_output)
            for d in include:
                machine.add_include_dir(d)
            return machine
    return Machine(include_path=include, output=_console_output)


def _repl(args) -> int:
    from . import repl
    try:
        machine = _make_machine(args)
    except Bye:
        return 0
    except ForthError as e:
        sys.stdout.flush()
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:      # an unreadable or malformed seed, a bad host
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("slofpy: interrupted", file=sys.stderr)
        return 1
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return repl.run_interactive(machine)
        return repl.run_batch(machine, getattr(sys.stdin, "buffer", sys.stdin))
    except KeyboardInterrupt:
        print("slofpy: interrupted", file=sys.stderr)
        return 1


def _test(args) -> int:
    from .forthtest import BootCache, FileRun, TestFileError, find_test_files, parse_test_file
    include = [Path(d) for d in args.include]
    files = find_test_files(args.paths)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"slofpy: {missing[0]}: no such file", file=sys.stderr)
        return 2
    if not files:
        print("slofpy: no test_*.fs files found", file=sys.stderr)
        return 2
    seed = str(Path(args.seed).resolve()) if args.seed else None
    boots = BootCache()
    passed = failed = 0
    start = time.monotonic()
    for f in files:
        try:
            tf = parse_test_file(f, include)
        except TestFileError as e:
            print(f"slofpy: {e}", file=sys.stderr)
            failed += 1
            continue
        run = FileRun(tf, lambda: Machine(include_path=include), boots, seed, args.timeout)
        for k, piece in enumerate(tf.tests):
            try:
                outcome = run.run(piece)
            except ForthError as e:       # the VM for the file could not be made
                print(f"FAILED {piece.file}:{piece.line}: {e}")
                failed += len(tf.tests) - k
                break
            except KeyboardInterrupt:
                print("slofpy: interrupted", file=sys.stderr)
                return 1
            if outcome.passed:
                passed += 1
                if args.verbose:
                    print(f"ok     {piece.file}:{piece.line}: {piece.source_line}")
            else:
                failed += 1
                print("FAILED " + outcome.report())
    took = time.monotonic() - start
    print(f"{passed} passed, {failed} failed in {len(files)} file(s), {took:.2f} s")
    return 1 if failed else 0
