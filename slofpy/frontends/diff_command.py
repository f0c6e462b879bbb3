"""`slofpy diff A B`: compare two device trees (.dtb or .dts) with phandles resolved to paths.

    slofpy diff A B

Prints each difference as ``path: property: A-value | B-value`` (see slofpy.fdt.tree_diff).
Exit status: 0 when the trees are equal, 1 when they differ, 2 for usage errors (a file that
cannot be read or is not a device tree is one line on stderr and status 2).
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="a device tree: .dtb, or .dts source")
    p.add_argument("b", metavar="B", help="the other one")


class TreeFileError(ValueError):
    """A tree file that cannot be read, compiled or parsed (one line: file and what)."""


def read_tree(path: str) -> bytes:
    """The blob in a .dtb file, or compiled from a .dts file; TreeFileError if neither."""
    from ..firmware.board import SeedFileError, load_seed
    from ..fdt.blob import BlobError, parse_blob
    try:
        blob = load_seed(path)
    except SeedFileError as e:
        raise TreeFileError(str(e)) from None
    try:
        parse_blob(blob)
    except BlobError as e:
        raise TreeFileError(f"{path}: {e}") from None
    return blob


def differences(a: bytes, b: bytes) -> list[str]:
    """The lines `slofpy diff` prints for blobs a and b."""
    from ..fdt.tree_diff import tree_differences
    return [str(d) for d in tree_differences(a, b)]


def run(args: argparse.Namespace) -> int:
    try:
        a, b = read_tree(args.a), read_tree(args.b)
    except TreeFileError as e:
        print(f"slofpy: {e}", file=sys.stderr)
        return 2
    lines = differences(a, b)
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:       # `slofpy diff A B | head`: the reader has all it wants
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if lines else 0
