"""One scale run: import a synthetic seed of N nodes into a fresh Firmware, fix up its
phandles, flatten it again, and print the time of each step as one JSON line.

    python bench/scale.py 10000

The three steps are the ones fdt-unflatten and fdt-flatten-tree do, run one at a time so
each can be timed on its own:

    import    fdt-init fdt-check-header fdt-unflatten-tree   (the walk that builds the tree)
    fixup     device-tree @ fdt-fix-phandles                  (the host's phandles -> nodes)
    flatten   Firmware.flatten()                              (fdt-flatten-tree, blob read out)

fdt-unflatten also lays down a marker (so a failed import can be undone) and removes it
afterwards; that is done here too, outside the timed steps, so the dictionary ends up as
the real import leaves it. The flattened blob is then checked (outside the timing) as
`slofpy diff SEED BLOB` compares trees, phandles resolved to paths: the same nodes and
values, every "interrupt-parent" and interrupt-map parent naming the same node; only each
node's phandle and "slof,from-fdt" may be new.
"""
from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from slofpy.fdt.tree_diff import ABSENT, tree_differences  # noqa: E402
from slofpy.firmware import Firmware  # noqa: E402
from synthetic import make_seed  # noqa: E402

MiB = 1 << 20


def memory_for(n: int) -> tuple[int, int]:
    """VM memory and heap sizes for n nodes. The heap holds each node's instance template
    (1 KiB) and, while flattening, the buffers (power-of-two blocks, about 1 KiB a node
    together); the dictionary takes under 2 KiB a node (node, wordlists, properties)."""
    heap = (4 * n * 1024 + 16 * MiB) // MiB * MiB
    dictionary = (3 * n * 1024 + 32 * MiB) // MiB * MiB
    return dictionary + heap + 16 * MiB, heap


def run(n: int) -> dict:
    seed = make_seed(n)
    memory, heap = memory_for(n)
    fw = Firmware(memory_size=memory, heap_size=heap)
    addr = fw.place_fdt(seed)
    fw.evaluate("marker fdt-import-undo")

    t0 = time.perf_counter()
    fw.push(addr)
    fw.evaluate("fdt-init fdt-check-header fdt-unflatten-tree")
    t1 = time.perf_counter()
    fw.evaluate("device-tree @ fdt-fix-phandles")
    t2 = time.perf_counter()

    fw.evaluate("device-end 0 to my-self "
                "s\" fdt-import-undo\" forth-wordlist voc-find "
                "?dup IF forth-wordlist (prune) THEN")
    t3 = time.perf_counter()
    blob = fw.flatten()
    t4 = time.perf_counter()
    # the process's peak RSS so far: building the seed and the firmware's three steps (the
    # bench's peak MiB for these rows); the check below builds Python trees of both blobs,
    # which at 50k nodes take more than the firmware did, so the firmware goes first
    peak = _peak_kib()
    del fw
    gc.collect()

    # the round trip, compared as `slofpy diff SEED BLOB` compares (phandles as paths): the
    # flattened tree may only add each node's phandle and slof,from-fdt
    unexpected = [d for d in tree_differences(seed, blob)
                  if not (d.a == ABSENT and d.prop in ("phandle", "slof,from-fdt"))]
    if unexpected:
        raise SystemExit(f"{len(unexpected)} differences after the round trip, e.g. "
                         f"{str(unexpected[0])[:200]}")
    return {"nodes": n, "seed_bytes": len(seed), "blob_bytes": len(blob),
            "import": t1 - t0, "fixup": t2 - t1, "flatten": t4 - t3, "peak_kib": peak}


def _peak_kib() -> int | None:
    """This process's peak resident set size so far (VmHWM, KiB); None where there is no
    /proc (the bench then shows the whole process's, from os.wait4)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]))))
