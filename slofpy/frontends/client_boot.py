"""`slofpy boot --client linux`: boot the board, run the Linux-like client (slofpy.client.linux) in
place of the bare quiesce call, and optionally hotplug a PHB afterwards.

    slofpy boot --client linux [--no-quiesce] [--hotplug-phb INDEX] [--client-tree OUT.dtb]

Prints what the client saw and what the host ended up with; with --hotplug-phb the last line
is the hotplug's: ``hotplug: <path> interrupt-parent <phandle> -> <path>`` (exit status 0)
or the line naming the phandle that points nowhere (exit status 1). Without --hotplug-phb
the exit status is 0 when the host accepted the quiesced tree and it is the client's tree
(as `slofpy diff` compares them), or when --no-quiesce left the host with QEMU's own tree.
-o and --dts write the tree the host holds at the end: the one the client's quiesce handed
over, or, without quiesce, the tree QEMU rebuilt at CAS.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..firmware.board import BoardFirmware


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--client", choices=["linux"], default=None,
                   help="run a client instead of the bare quiesce call: linux (prom_init's steps)")
    p.add_argument("--no-quiesce", action="store_true",
                   help="the client does not quiesce: the host keeps QEMU's own tree")
    p.add_argument("--hotplug-phb", type=int, default=None, metavar="INDEX",
                   help="after the client, hotplug a PCI host bridge at INDEX and let the "
                        "client configure it")
    p.add_argument("--client-tree", metavar="OUT.dtb",
                   help="write the client's own flattened tree (after any hotplug)")


def check_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with the client options, or None."""
    if args.client is None and (args.no_quiesce or args.hotplug_phb is not None
                                or args.client_tree):
        return "--no-quiesce, --hotplug-phb and --client-tree need --client linux"
    if args.hotplug_phb is not None and not 0 <= args.hotplug_phb < 256:
        return f"--hotplug-phb: no PHB index {args.hotplug_phb} (0..255)"
    return None


def run_client(fw: BoardFirmware, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """The client, the host's answer, the hotplug; the exit status (see the module doc).
    Raises ClientError or HotplugError for what cannot be done (one line each)."""
    from ..client.linux import LinuxClient
    from ..fdt.tree_diff import tree_differences
    host = fw.host
    client = LinuxClient(fw)
    report = client.run(quiesce=not args.no_quiesce)
    status = 0
    if not args.quiet:
        for line in report.lines:
            print(line, file=out)
    stored = getattr(host, "stored_blob", None)
    if report.quiesced:
        if stored is None:
            print("slofpy: the host holds no tree after quiesce", file=sys.stderr)
            return 1
        differences = tree_differences(report.blob, stored)
        if not args.quiet:
            print(f"H_UPDATE_DT: accepted, {len(stored)} bytes; the client's tree "
                  + ("is the host's" if not differences else
                     f"differs from the host's in {len(differences)} places"), file=out)
        if differences:
            for d in differences:
                print(d, file=out)
            status = 1
    elif not args.quiet:
        print("not quiesced: the host keeps QEMU's own tree", file=out)
    if args.hotplug_phb is not None:
        host.phb_hotplug.plug(args.hotplug_phb)
        status, line = client.hotplug_phb(args.hotplug_phb)
        print(line, file=out)
    if args.client_tree:
        from ..fdt.blob import build_blob
        from ..outfile import FDT_MAGIC, write_atomically
        write_atomically(args.client_tree, build_blob(client.root), FDT_MAGIC)
    return status
