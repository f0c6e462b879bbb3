"""`slofpy boot`: run the board on a seed, quiesce as a client would, and report what the
host ended up with.

    slofpy boot [--firmware SLOF.BIN|SLOF-TREE] [--seed FILE.dtb|FILE.dts] [--host NAME[:OPTIONS]]
                [--device KIND[,PROP=VALUE...]]... [--nodefaults]
                [-o OUT.dtb] [--dts OUT.dts] [-q]
                [--client linux [--no-quiesce] [--hotplug-phb INDEX] [--client-tree OUT.dtb]]
                [--timeout SECONDS] [-I DIR] [--allow-read DIR]

Exit status: 0 when the host accepted the flattened tree, 1 with one line on stderr for a
firmware error, a bad seed, a bad --device, a rejected blob, an output file that cannot be written or a
timeout, 2 for usage errors (argparse). Output files are written atomically (slofpy.outfile).
"""
from __future__ import annotations

import sys
import time

from ..errors import ForthError, TimeLimitExceeded
from ..machine import _limit
from .options import HOST_HELP, positive_seconds
from .update_dt_watch import watch_update_dt

# The board, the host and the FDT tools are imported when `slofpy boot` runs, not when the
# command line is parsed: `slofpy run` does not need them.


def add_arguments(p) -> None:
    p.add_argument("--firmware", metavar="SLOF.BIN|DIR",
                   help="boot SLOF's own Forth from this image (e.g. /usr/share/qemu/slof.bin) "
                        "or SLOF source tree instead of slofpy's firmware")
    p.add_argument("--seed", metavar="FILE", help="QEMU's device tree (.dtb or .dts); "
                   "the built-in QEMU 7.2 pseries seed without it")
    p.add_argument("--host", default="qemu", metavar="NAME[:OPTIONS]",
                   help=HOST_HELP)
    from . import device_args
    device_args.add_arguments(p)
    p.add_argument("-o", "--output", metavar="OUT.dtb", help="write the tree the host accepted")
    p.add_argument("--dts", metavar="OUT.dts", help="write it as DTS, with the encodings Forth used")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    p.add_argument("--timeout", type=positive_seconds, default=None, metavar="SECONDS",
                   help="stop a boot that runs longer (a firmware that never finishes; "
                        f"default: no limit, {FIRMWARE_TIME_LIMIT:g} s with --firmware)")
    from . import client_boot
    client_boot.add_arguments(p)
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="a .dts seed's /include/ and /incbin/ search folder")
    p.add_argument("--allow-read", dest="allow_read", action="append", default=[], metavar="DIR",
                   help="let a .dts seed's /include/ and /incbin/ read files in DIR too "
                        "(by default only the seed's folder and -I folders)")


def counts(blob: bytes) -> tuple[int, int]:
    """Nodes and properties of a blob, walked with libfdt (which QEMU checked it with)."""
    from ..host import fdt_lookup
    fdt = fdt_lookup.open_tree(blob)
    nodes = [0, *fdt_lookup.descendant_nodes(fdt, 0)]
    return len(nodes), sum(len(fdt_lookup.node_properties(fdt, n)) for n in nodes)


class BootFailed(Exception):
    """A boot that ends with one line on stderr and exit status 1."""


def run(args) -> int:
    """`slofpy boot`: 0 when the host accepted the tree, else one line on stderr and 1."""
    out = sys.stdout
    try:
        if getattr(args, "client", None) is not None or getattr(args, "hotplug_phb", None) \
                is not None or getattr(args, "no_quiesce", False) or getattr(args, "client_tree", None):
            return _run_with_client(args)
        return _boot(args, out)
    except BootFailed as e:
        _say(out, str(e))
    except TimeLimitExceeded:      # the limit ran out between two Forth calls
        _say(out, f"timed out after {_time_limit(args):g} s")
    except KeyboardInterrupt:
        _say(out, "interrupted")
    except MemoryError:
        _say(out, "out of memory")
    except RecursionError:
        _say(out, "nested too deeply (Python's recursion limit)")
    except Exception as e:  # a fault in slofpy itself: still one line, never a traceback
        _say(out, f"internal error ({type(e).__name__}: {e}); please report it")
    return 1


def _say(out, text: str) -> None:
    try:
        if not _console_state["ends_line"]:
            out.write("\n")        # the error on a line of its own after the console's
            _console_state["ends_line"] = True
        out.flush()
    except OSError:
        pass
    print(f"slofpy: {text}", file=sys.stderr)


FIRMWARE_TIME_LIMIT = 300.0
"""Seconds a `--firmware` boot may take when --timeout does not say: SLOF's own Forth can
loop forever on a seed it does not expect (real SLOF hangs there too); slofpy ends it with
one line instead (a boot takes about a second)."""


def _time_limit(args) -> float | None:
    if args.timeout is None and getattr(args, "firmware", None):
        return FIRMWARE_TIME_LIMIT
    return args.timeout


def _boot(args, out) -> int:
    from ..firmware.board import SeedFileError
    from ..fdt.blob import BlobError
    from ..host.qemu import SeedError
    from ..host.registry import HostSpecError
    from ..host.device_options import DeviceOptionError
    from ..host.fdt_lookup import TreeLookupError
    from ..outfile import DTS_START, FDT_MAGIC, OutputFileError, target_path, write_atomically
    from ..errors import SlofImageError
    user_errors = (ForthError, SeedFileError, SeedError, HostSpecError, OutputFileError,
                   BlobError, TreeLookupError, SlofImageError, DeviceOptionError)
    started = time.perf_counter()
    try:
        # the outputs are checked before the boot, so a typo costs no boot and no file
        if args.output:
            target_path(args.output, FDT_MAGIC)
        if args.dts:
            target_path(args.dts, DTS_START)
        with _limit(_time_limit(args)):
            fw = _boot_board(args, out)
            with watch_update_dt(fw.host) as watch:
                fw.quiesce()
    except user_errors as e:
        raise BootFailed(str(e)) from None
    elapsed = time.perf_counter() - started
    host = fw.host
    blob = getattr(host, "stored_blob", None)
    if watch.rc is None:
        raise BootFailed("the firmware never called H_UPDATE_DT")
    if watch.rc != 0:
        raise BootFailed(f"the host rejected the flattened tree: H_UPDATE_DT returned {watch.rc}")
    if getattr(host, "write_error", None) is not None:
        raise BootFailed(f"host 'file': {host.write_error}")
    if blob is None:   # a host that accepts but keeps nothing (record, plugins)
        if not hasattr(fw, "flatten"):
            raise BootFailed(f"the {host.name} host keeps no tree to report or write")
        blob = fw.flatten()
    summary: list[str] = []
    try:
        if not args.quiet:   # made before anything is written: a failure here writes nothing
            seed_nodes, seed_props = counts(fw.seed)
            nodes, props = counts(blob)
            summary += [f"seed:        {seed_nodes} nodes, {seed_props} properties, {len(fw.seed)} bytes",
                        f"quiesced:    {nodes} nodes, {props} properties",
                        f"H_UPDATE_DT: {watch.rc} (accepted), {len(blob)} bytes"]
            if hasattr(host, "interrupt_controller_phandle"):
                try:
                    phandle = f"{host.interrupt_controller_phandle():#x}"
                except TreeLookupError as e:      # a tree without one: say so, still a success
                    phandle = f"none ({e})"
                summary.append(f"host's /interrupt-controller phandle: {phandle}")
            summary.append(f"time:        {elapsed * 1000:.0f} ms")
        dts = None
        if args.dts:
            # slofpy's firmware knows how Forth encoded each property; SLOF's does not say
            kinds = {(n.path, p.name): p.kind for n in fw.tree.nodes() for p in n.properties()} \
                if hasattr(fw, "tree") else {}
            from ..fdt.dts_writer import blob_to_dts
            dts = blob_to_dts(blob, kinds).encode("utf-8", "surrogateescape")
        if args.output:
            write_atomically(args.output, blob, FDT_MAGIC)
        if dts is not None:
            write_atomically(args.dts, dts, DTS_START)
    except user_errors as e:
        raise BootFailed(str(e)) from None
    if summary and not _console_state["ends_line"]:
        print()         # the firmware's last line (SLOF's "Ready!") is not ended
    for line in summary:
        print(line)
    return 0


# whether the firmware's console output so far ends a line
_console_state = {"ends_line": True}


def _boot_board(args, out):
    """The board booted on --seed (its .dts includes confined to the seed's folder, -I and
    --allow-read) and --host with the --device devices, its console going to out."""
    from ..firmware.board import boot_machine, load_seed
    seed = None
    if args.seed is not None:
        seed = load_seed(args.seed, include_dirs=args.include, read_dirs=args.allow_read)
    def output(text: str) -> None:
        out.write(text)
        out.flush()
        if text:
            _console_state["ends_line"] = text.endswith("\n")
    from .device_args import host_for
    host = host_for(args, seed, args.host)
    if getattr(args, "firmware", None):
        from ..slof.boot import boot_slof
        return boot_slof(args.firmware, seed, host=host, output=output)
    return boot_machine(seed, host=host, output=output)


def _run_with_client(args) -> int:
    """`slofpy boot --client linux ...` (slofpy.frontends.client_boot). Errors a user can cause are
    BootFailed (one line); run() guards the rest."""
    from ..firmware.board import SeedFileError
    from ..client.errors import ClientError
    from .client_boot import check_usage, run_client
    from ..host.phb_hotplug import HotplugError
    from ..host.device_options import DeviceOptionError
    from ..host.qemu import SeedError
    from ..host.registry import HostSpecError
    from ..outfile import DTS_START, FDT_MAGIC, OutputFileError, target_path, write_atomically
    problem = check_usage(args)
    if problem:
        print(f"slofpy boot: {problem}", file=sys.stderr)
        return 2
    out = sys.stdout
    user_errors = (ForthError, SeedFileError, SeedError, HostSpecError, ClientError,
                   HotplugError, OutputFileError, DeviceOptionError)
    try:
        for path, start in ((args.output, FDT_MAGIC), (args.dts, DTS_START),
                            (args.client_tree, FDT_MAGIC)):
            if path:
                target_path(path, start)
        with _limit(_time_limit(args)):
            fw = _boot_board(args, out)
            if args.hotplug_phb is not None and not hasattr(fw.host, "phb_hotplug"):
                raise HotplugError(f"the {fw.host.name} host cannot hotplug a PHB")
            status = run_client(fw, args, out)
            if fw.host.halt_reason:
                raise ClientError(f"the host stopped the machine: {fw.host.halt_reason}")
        blob = getattr(fw.host, "current_blob", None)     # what QEMU holds now
        if blob is not None and args.output:
            write_atomically(args.output, blob, FDT_MAGIC)
        if blob is not None and args.dts:
            from ..fdt.dts_writer import blob_to_dts
            write_atomically(args.dts, blob_to_dts(blob).encode("utf-8", "surrogateescape"),
                             DTS_START)
    except user_errors as e:
        raise BootFailed(str(e)) from None
    return status
