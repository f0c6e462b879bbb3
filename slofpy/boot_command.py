"""`slofpy boot`: run the board on a seed, quiesce as a client would, and report what the
host ended up with.

    slofpy boot [--seed FILE.dtb|FILE.dts] [--host NAME[:OPTIONS]] [-o OUT.dtb] [--dts OUT.dts] [-q]
                [--client linux [--no-quiesce] [--hotplug-phb INDEX] [--client-tree OUT.dtb]]

Exit status: 0 when the host accepted the flattened tree, 1 with one line on stderr for a
firmware error, a bad seed or a rejected blob, 2 for usage errors (argparse).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .errors import ForthError, TimeLimitExceeded
from .machine import _limit
from .hv.numbers import KVMPPC_H_UPDATE_DT

# The board, the host and the FDT tools are imported when `slofpy boot` runs, not when the
# command line is parsed: `slofpy run` does not need them.


#: what --host takes (slofpy boot, slofpy repl, slofpy run --boot)
HOST_HELP = "host backend (qemu, file:PATH, record, or a plugin); default qemu"


def add_arguments(p) -> None:
    p.add_argument("--seed", metavar="FILE", help="QEMU's device tree (.dtb or .dts); "
                   "the built-in QEMU 7.2 pseries seed without it")
    p.add_argument("--host", default="qemu", metavar="NAME[:OPTIONS]",
                   help=HOST_HELP)
    p.add_argument("-o", "--output", metavar="OUT.dtb", help="write the tree the host accepted")
    p.add_argument("--dts", metavar="OUT.dts", help="write it as DTS, with the encodings Forth used")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    from .cli import positive_seconds
    p.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                   help="stop a boot that runs longer (a firmware that never finishes)")
    from . import client_boot
    client_boot.add_arguments(p)


def counts(blob: bytes) -> tuple[int, int]:
    from .fdt.blob import parse_blob
    root, _, _ = parse_blob(blob)
    nodes = list(root.walk())
    return len(nodes), sum(len(n.props) for _, n in nodes)


class _UpdateDtWatch:
    """Remembers the return code of each H_UPDATE_DT the firmware makes."""

    def __init__(self, hypervisor):
        self.rc: int | None = None
        self._hcall = hypervisor.hcall
        hypervisor.hcall = self

    def __call__(self, number: int, *args: int):
        rc, outs = self._hcall(number, *args)
        if number == KVMPPC_H_UPDATE_DT:
            self.rc = rc
        return rc, outs


def run(args) -> int:
    from .board import SeedFileError, boot_machine
    from .host.registry import HostSpecError
    out = sys.stdout
    if getattr(args, "client", None) is not None or getattr(args, "hotplug_phb", None) is not None \
            or getattr(args, "no_quiesce", False) or getattr(args, "client_tree", None):
        return _run_with_client(args)
    started = time.perf_counter()
    try:
        with _limit(args.timeout):
            fw = boot_machine(args.seed, host=args.host,
                              output=lambda text: (out.write(text), out.flush()))
            watch = _UpdateDtWatch(fw.hypervisor)
            fw.quiesce()
    except (ForthError, SeedFileError, HostSpecError) as e:
        out.flush()
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
    except TimeLimitExceeded:      # the limit ran out between two Forth calls
        out.flush()
        print(f"slofpy: timed out after {args.timeout:g} s", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    host = fw.host
    blob = getattr(host, "stored_blob", None)
    if watch.rc is None:
        print("slofpy: the firmware never called H_UPDATE_DT", file=sys.stderr)
        return 1
    if watch.rc != 0:
        print(f"slofpy: the host rejected the flattened tree: H_UPDATE_DT returned {watch.rc}",
              file=sys.stderr)
        return 1
    if blob is None:   # a host that accepts but keeps nothing (record, plugins)
        blob = fw.flatten()
    if args.output:
        Path(args.output).write_bytes(blob)
    if args.dts:
        kinds = {(n.path, p.name): p.kind for n in fw.tree.nodes() for p in n.properties()}
        from .fdt.dts_writer import blob_to_dts
        Path(args.dts).write_text(blob_to_dts(blob, kinds))
    if not args.quiet:
        seed_nodes, seed_props = counts(fw.seed)
        nodes, props = counts(blob)
        print(f"seed:        {seed_nodes} nodes, {seed_props} properties, {len(fw.seed)} bytes")
        print(f"quiesced:    {nodes} nodes, {props} properties")
        print(f"H_UPDATE_DT: {watch.rc} (accepted), {len(blob)} bytes")
        if hasattr(host, "interrupt_controller_phandle"):
            try:
                print(f"host's /interrupt-controller phandle: {host.interrupt_controller_phandle():#x}")
            except Exception as e:          # a tree without one: say so, still a success
                print(f"host's /interrupt-controller phandle: none ({e})")
        print(f"time:        {elapsed * 1000:.0f} ms")
    return 0


def _run_with_client(args) -> int:
    """`slofpy boot --client linux ...` (slofpy.client_boot)."""
    from .board import SeedFileError, boot_machine
    from .client import ClientError
    from .client_boot import check_usage, run_client
    from .host.phb_hotplug import HotplugError
    from .host.registry import HostSpecError
    problem = check_usage(args)
    if problem:
        print(f"slofpy boot: {problem}", file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        with _limit(args.timeout):
            fw = boot_machine(args.seed, host=args.host,
                              output=lambda text: (out.write(text), out.flush()))
            if args.hotplug_phb is not None and not hasattr(fw.host, "phb_hotplug"):
                raise HotplugError(f"the {fw.host.name} host cannot hotplug a PHB")
            status = run_client(fw, args, out)
            if fw.host.halt_reason:
                raise ClientError(f"the host stopped the machine: {fw.host.halt_reason}")
    except (ForthError, SeedFileError, HostSpecError, ClientError, HotplugError) as e:
        out.flush()
        print(f"slofpy: {e}", file=sys.stderr)
        return 1
    except TimeLimitExceeded:
        out.flush()
        print(f"slofpy: timed out after {args.timeout:g} s", file=sys.stderr)
        return 1
    blob = getattr(fw.host, "current_blob", None)     # what QEMU holds now
    if blob is not None and args.output:
        Path(args.output).write_bytes(blob)
    if blob is not None and args.dts:
        from .fdt.dts_writer import blob_to_dts
        Path(args.dts).write_text(blob_to_dts(blob))
    return status
