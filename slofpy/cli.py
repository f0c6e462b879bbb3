"""The `slofpy` command line.

    slofpy run FILE... [-e CODE] [-I DIR]

Exit status: 0 on success, 1 on an uncaught Forth error (one line on stderr saying what and
where), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import sys

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
    from . import boot_command
    boot = sub.add_parser("boot", help="boot the QEMU pseries board on a seed and quiesce")
    boot_command.add_arguments(boot)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "boot":
        from . import boot_command
        return boot_command.run(args)
    return 2


def _run(args) -> int:
    out = sys.stdout
    machine = Machine(include_path=args.include, output=lambda text: (out.write(text), out.flush()))
    try:
        for kind, value in getattr(args, "program", None) or []:
            if kind == "file":
                machine.include(value)
            else:
                machine.evaluate(value, name="-e")
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
