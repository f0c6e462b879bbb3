"""The `slofpy` command line.

    slofpy run [--boot [--firmware SLOF.BIN|DIR] [--seed FILE] [--host NAME] [--device SPEC]...
                       [--nodefaults] [--quiesce] [-o OUT.dtb]]
               FILE|-... [-e CODE]
               [-I DIR] [--timeout SECONDS] [--std]
    slofpy repl [--bare] [--firmware SLOF.BIN|DIR] [--seed FILE] [--host NAME]
                [--device SPEC]... [--nodefaults] [-I DIR]
    slofpy test PATH... [--seed FILE] [--device SPEC]... [--nodefaults] [-I DIR] [-v]
                [--timeout SECONDS]
    slofpy diff A B
    slofpy boot ...                      (boot_command.py)
    slofpy --version

Exit status: 0 on success, 1 on an uncaught Forth error (one line on stderr saying what and
where, then the words it happened in, innermost first), a failed line (repl reading a pipe)
or a failed test (a bad seed, host or --device: one line), 2 on a usage error. Output into a closed pipe (`slofpy run ... | head -1`)
ends the command quietly, with the status a filter killed by SIGPIPE has (141).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .. import __version__
from ..errors import ForthError, TimeLimitExceeded
from ..machine import Machine, Bye, _limit
from .options import HOST_HELP, positive_seconds

#: the exit status of a command whose output pipe was closed (as if killed by SIGPIPE)
CLOSED_PIPE_STATUS = 141


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
    p.add_argument("--version", action="version", version=f"slofpy {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run Forth source files and code (on the bare engine, "
                         "or on the booted board with --boot)")
    run.add_argument("files", nargs="*", action=_InOrder, metavar="FILE",
                     help="Forth source to load; - reads it from standard input")
    run.add_argument("-e", "--evaluate", action=_InOrder, metavar="CODE", help="Forth code to run")
    run.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                     help="add DIR to the #include search path")
    run.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                     help="stop the program after SECONDS (exit status 1)")
    run.add_argument("--boot", action="store_true",
                     help="boot the QEMU pseries board first and run on it (device tree words)")
    run.add_argument("--seed", metavar="FILE", help="with --boot: the seed (.dtb/.dts) to boot "
                     "on; the built-in QEMU 7.2 pseries seed without it")
    run.add_argument("--host", metavar="NAME[:OPTIONS]", help="with --boot: " + HOST_HELP)
    from . import device_args
    device_args.add_arguments(run, "with --boot: ")
    run.add_argument("--quiesce", action="store_true", help="with --boot: quiesce at the end, "
                     "handing the flattened tree to the host (exit status 1 if it is rejected)")
    run.add_argument("-o", "--output", metavar="OUT.dtb",
                     help="with --quiesce: write the tree the host accepted")
    run.add_argument("--firmware", metavar="SLOF.BIN|DIR", help="with --boot: SLOF's own Forth from "
                     "this image (e.g. /usr/share/qemu/slof.bin) or source tree instead of "
                     "slofpy's firmware")
    run.add_argument("--std", action="store_true",
                     help="Forth 2012's meaning where SLOF's differs (SLITERAL, ONLY)")

    repl = sub.add_parser("repl", help="SLOF's interactive ok prompt")
    repl.add_argument("--bare", action="store_true", help="the bare engine, no board")
    repl.add_argument("--seed", metavar="FILE", help="device-tree seed (.dtb/.dts) to boot on")
    repl.add_argument("--host", default="qemu", metavar="NAME[:OPTIONS]", help=HOST_HELP)
    repl.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                      help="add DIR to the #include search path")
    repl.add_argument("--firmware", metavar="SLOF.BIN|DIR", help="boot SLOF's own Forth from "
                     "this image (e.g. /usr/share/qemu/slof.bin) or source tree instead of "
                     "slofpy's firmware")
    device_args.add_arguments(repl)

    test = sub.add_parser("test", help="run Forth T{ }T test files (test_*.fs)")
    test.add_argument("paths", nargs="+", metavar="PATH", help="test files or folders")
    test.add_argument("--seed", metavar="FILE", help="seed for files marked `\\ slofpy: booted`")
    device_args.add_arguments(test, "for files marked `\\ slofpy: booted`: ")
    test.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                      help="add DIR to the #include search path")
    test.add_argument("-v", "--verbose", action="store_true", help="name every test")
    from ..testing import DEFAULT_TIME_LIMIT
    test.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIME_LIMIT,
                      metavar="SECONDS", help="time limit of one test, set-up lines replayed "
                      f"for it included (default {DEFAULT_TIME_LIMIT:g})")

    from . import boot_command
    boot = sub.add_parser("boot", help="boot the QEMU pseries board on a seed and quiesce")
    boot_command.add_arguments(boot)

    from . import diff_command
    diff = sub.add_parser("diff", help="compare two device trees, phandles resolved to paths")
    diff_command.add_arguments(diff)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _command(argv)
    except BrokenPipeError:
        # whoever read our output has gone (`| head -1`): stop quietly, as filters do
        _drop_stdout()
        return CLOSED_PIPE_STATUS


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the flush at exit does not fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _command(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        if not args.boot and (args.seed or args.host or args.quiesce or args.output
                              or args.firmware or args.devices or args.nodefaults):
            parser.error("run: --seed, --host, --firmware, --device, --nodefaults, --quiesce "
                         "and -o need --boot")
        if args.boot and args.std:
            parser.error("run: --std is for the bare engine, not the booted board")
        if args.output and not args.quiesce:
            parser.error("run: -o needs --quiesce (the tree is written once the host has it)")
        return _run(args)
    if args.command in ("repl", "test"):
        try:
            return _repl(args) if args.command == "repl" else _test(args)
        except BrokenPipeError:
            raise
        except Exception as e:  # a fault in slofpy itself: one line, never a traceback
            sys.stdout.flush()
            print(f"slofpy: internal error ({type(e).__name__}: {e}); please report it",
                  file=sys.stderr)
            return 1
    if args.command == "boot":
        from . import boot_command
        return boot_command.run(args)
    if args.command == "diff":
        from . import diff_command
        return diff_command.run(args)
    return 2


def report_error(e: ForthError, err=None) -> None:
    """Print an uncaught Forth error: its line (what, and where), then the words it
    happened in, innermost first, each with its FILE:LINE."""
    err = err or sys.stderr
    sys.stdout.flush()
    print(f"slofpy: {e}", file=err)
    for line in e.backtrace_lines():
        print(f"  {line}", file=err)


def _run(args) -> int:
    out = sys.stdout
    program = getattr(args, "program", None) or []
    try:
        with _limit(args.timeout):
            machine = _run_machine(args, _console_output)
            for kind, value in program:
                if kind == "file" and value == "-":
                    machine.evaluate(sys.stdin.buffer.read(), name="<stdin>")
                elif kind == "file":
                    machine.include(value)
                else:
                    # the command line's text as the bytes it came as (UTF-8)
                    machine.evaluate(value.encode("utf-8", "surrogateescape"), name="-e")
            if args.quiesce:
                return _quiesce(machine, args.output)
    except Bye:
        return 0
    except ForthError as e:
        report_error(e)
        return 1
    except TimeLimitExceeded:          # it ran out between two pieces of Forth
        out.flush()
        print(f"slofpy: timed out after {args.timeout:g} s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("slofpy: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise
    except _BootError as e:
        out.flush()
        print(f"slofpy: {e.args[0]}", file=sys.stderr)
        return 1
    except Exception as e:  # a fault in slofpy itself: still one line, never a traceback
        out.flush()
        print(f"slofpy: internal error ({type(e).__name__}: {e}); please report it", file=sys.stderr)
        return 1
    return 0


class _BootError(Exception):
    """The board could not be booted or quiesced (a bad seed or host, a rejected tree, an
    output file that cannot be written): one line for the user."""


def _run_machine(args, output) -> Machine:
    """The Machine `slofpy run` runs on: the bare engine, or with --boot the booted board."""
    if not args.boot:
        return Machine(include_path=args.include, output=output, standard=args.std)
    from ..firmware.board import SeedFileError, boot_machine
    from ..host.device_options import DeviceOptionError
    from ..host.registry import HostSpecError
    from ..errors import SlofImageError
    try:
        seed, host = _seed_and_host(args, args.host or "qemu")
        if args.firmware:
            from ..slof.boot import boot_slof
            machine = boot_slof(args.firmware, seed, host=host, output=output)
        else:
            machine = boot_machine(seed, host=host, output=output)
    except (SeedFileError, HostSpecError, SlofImageError, DeviceOptionError) as e:
        raise _BootError(str(e)) from None
    for d in args.include:
        machine.add_include_dir(d)
    return machine


def _seed_and_host(args, host: str):
    """The seed (a path, or its bytes once --device needed them) and the host to boot with:
    `host`, or a backend with the --device devices behind the seed's adapters."""
    from .device_args import device_list, host_for
    if not device_list(args) or args.seed is None:
        return args.seed, host_for(args, None, host)
    from ..firmware.board import load_seed
    seed = load_seed(args.seed)
    return seed, host_for(args, seed, host)


def _quiesce(machine, output: str | None) -> int:
    """--quiesce: the client-interface quiesce, then the tree the host accepted to -o."""
    from .update_dt_watch import watch_update_dt
    with watch_update_dt(machine.host) as watch:
        machine.quiesce()
    if watch.rc is None:
        raise _BootError("the firmware never called H_UPDATE_DT")
    if watch.rc != 0:
        raise _BootError(f"the host rejected the flattened tree: H_UPDATE_DT returned {watch.rc}")
    if output:
        blob = getattr(machine.host, "stored_blob", None) or machine.flatten()
        from ..outfile import FDT_MAGIC, OutputFileError, write_atomically
        try:
            write_atomically(output, blob, FDT_MAGIC)
        except OutputFileError as e:
            raise _BootError(str(e)) from None
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
    board, which comes from slofpy.firmware.board (boot_machine) when that module is present; without
    it the bare engine is all there is."""
    include = getattr(args, "include", None) or []
    if (getattr(args, "devices", None) or getattr(args, "nodefaults", False)) and args.bare:
        raise ValueError("--device and --nodefaults are for the booted board, not --bare")
    if getattr(args, "firmware", None) and not args.bare:
        from ..slof.boot import boot_slof
        seed, host = _seed_and_host(args, args.host)
        machine = boot_slof(args.firmware, seed, host=host, output=_console_output)
        for d in include:
            machine.add_include_dir(d)
        return machine
    if not args.bare:
        try:
            from ..firmware.board import boot_machine
        except ImportError:
            boot_machine = None
        if boot_machine is not None:
            seed, host = _seed_and_host(args, args.host)
            machine = boot_machine(seed=seed, host=host, output=_console_output)
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
        report_error(e)
        return 1
    except BrokenPipeError:
        raise
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
    from ..testing.forthtest import BootCache, FileRun, TestFileError, find_test_files, parse_test_file
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
    from .device_args import device_list
    from ..host.device_options import DeviceOptionError
    try:
        devices = device_list(args)
    except DeviceOptionError as e:
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
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
        run = FileRun(tf, lambda: Machine(include_path=include), boots, seed, args.timeout,
                      devices=devices or None)
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
