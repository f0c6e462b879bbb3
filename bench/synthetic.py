"""Synthetic device-tree seeds for the scale benchmarks.

`make_seed(n)` builds a flattened tree of exactly n nodes (the root included) with
slofpy.fdt.blob.build_blob. The shape is a balanced tree, FANOUT children per node,
filled breadth first, so 50k nodes are six levels deep. Every node but the root has ten
properties, about what a QEMU seed's device nodes carry:

    compatible        two strings
    device_type       string
    status            string "okay"
    reg               <unit size> in the parent's #address-cells/#size-cells
    #address-cells    <1>
    #size-cells       <1>
    phandle           the host's phandle (0x10000 + index)
    interrupt-parent  a reference to the interrupt controller or to an earlier node
    interrupts        <irq 4>
    vendor,blob       24 bytes that are not text

and every INTERRUPT_MAP_EVERY-th node also an "interrupt-map" of two entries, each naming
another node by phandle, so the fix-up has cells to patch inside a map as well as in
"interrupt-parent". Names are "dev@<unit>" with distinct units among siblings.

The same n always gives the same bytes.
"""
from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slofpy.fdt.blob import Node, build_blob  # noqa: E402

FANOUT = 8
INTERRUPT_MAP_EVERY = 10
PHANDLE_BASE = 0x10000
INTC_PHANDLE = 0x1


def _cells(*values: int) -> bytes:
    return struct.pack(f">{len(values)}I", *values)


def make_tree(n: int) -> Node:
    """The tree of n nodes (n >= 2) as slofpy.fdt.blob.Node objects."""
    if n < 2:
        raise ValueError("a synthetic seed has at least the root and its controller")
    root = Node("", [
        ("#address-cells", _cells(1)),
        ("#size-cells", _cells(1)),
        ("compatible", b"slofpy,synthetic\0"),
        ("model", b"slofpy synthetic seed\0"),
    ])
    intc = Node("interrupt-controller@0", [
        ("compatible", b"slofpy,intc\0"),
        ("device_type", b"interrupt-controller\0"),
        ("reg", _cells(0, 0x1000)),
        ("interrupt-controller", b""),
        ("#interrupt-cells", _cells(2)),
        ("#address-cells", _cells(0)),
        ("phandle", _cells(INTC_PHANDLE)),
    ])
    root.children.append(intc)
    nodes = [root, intc]
    parents = [root]       # breadth-first queue of nodes that still take children
    head = 0
    index = 0
    while len(nodes) < n:
        parent = parents[head]
        slot = len(parent.children)
        if slot >= FANOUT:
            head += 1
            continue
        index += 1
        unit = 0x1000 * (slot + 1)
        ref = INTC_PHANDLE if index % 3 == 0 or index < 4 else PHANDLE_BASE + index // 2
        props = [
            ("compatible", b"slofpy,dev-%d\0slofpy,dev\0" % (index % 97)),
            ("device_type", b"dev\0"),
            ("status", b"okay\0"),
            ("reg", _cells(unit, 0x100)),
            ("#address-cells", _cells(1)),
            ("#size-cells", _cells(1)),
            ("phandle", _cells(PHANDLE_BASE + index)),
            ("interrupt-parent", _cells(ref)),
            ("interrupts", _cells(index & 0xFFFF, 4)),
            ("vendor,blob", bytes((index + k) & 0xFF for k in range(24))),
        ]
        if index % INTERRUPT_MAP_EVERY == 0:
            entries = b""
            for k in (1, 2):
                target = PHANDLE_BASE + max(1, index - k)
                entries += _cells(k << 11, 0, 0, k, target, k, 1)
            props.append(("interrupt-map", entries))
        node = Node(f"dev@{unit:x}", props)
        parent.children.append(node)
        nodes.append(node)
        parents.append(node)
    return root


def make_seed(n: int) -> bytes:
    """The blob of make_tree(n)."""
    return build_blob(make_tree(n))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    blob = make_seed(count)
    if out:
        out.write_bytes(blob)
    print(f"{count} nodes, {len(blob)} bytes")
