"""Command-line option types and help texts shared by the `slofpy` commands (cli.py and
boot_command.py), kept apart so neither module has to import the other for them."""
from __future__ import annotations

import argparse

#: what --host takes (slofpy boot, slofpy repl, slofpy run --boot)
HOST_HELP = "host backend (qemu, file:PATH, record, or a plugin); default qemu"


def positive_seconds(text: str) -> float:
    """argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value
