"""The interrupt controller nodes of QEMU's pseries tree, XICS and XIVE, for CAS.

A machine with ic-mode=dual boots with XICS (/interrupt-controller, "IBM,ppc-xicp") and
switches to XIVE when the guest asks for XIVE exploitation at CAS; its tree then has the
XIVE node instead, as QEMU's sPAPR XIVE model describes it: named after the address of its
thread-management user page, with the user and OS pages as "reg", the event-queue size it
offers (64 KiB pages: 16), the interrupt numbers of the CPUs' IPIs ("ibm,xive-lisn-ranges",
the same range as XICS's "ibm,interrupt-server-ranges") and QEMU's PHANDLE_INTC; the root
gets "ibm,plat-res-int-priorities" (priorities 7..255 are the platform's).
"""
from __future__ import annotations

from slofpy.fdt.blob import Node
from slofpy.host.fdt_lookup import PHANDLE_INTC

XIVE_TM_BASE = 0x0006_0302_0318_0000
"""Where QEMU's sPAPR XIVE maps the thread-management area (4 pages of 64 KiB)."""
XIVE_PAGE = 0x10000
XIVE_TM_USER_PAGE, XIVE_TM_OS_PAGE = 3, 2
XIVE_EQ_SIZE_SHIFT = 16
PLATFORM_RESERVED_PRIORITIES = (7, 0xF8)


def _u32s(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in values)


def _u64_pair(address: int, size: int) -> bytes:
    return address.to_bytes(8, "big") + size.to_bytes(8, "big")


def xive_node(server_ranges: bytes) -> Node:
    """QEMU's XIVE controller node for the CPUs `server_ranges` (start, count) names."""
    user = XIVE_TM_BASE + XIVE_TM_USER_PAGE * XIVE_PAGE
    os_page = XIVE_TM_BASE + XIVE_TM_OS_PAGE * XIVE_PAGE
    set_in_order = [                            # as QEMU sets them; libfdt puts each first
        ("device_type", b"power-ivpe\0"),
        ("reg", _u64_pair(user, XIVE_PAGE) + _u64_pair(os_page, XIVE_PAGE)),
        ("compatible", b"ibm,power-ivpe\0"),
        ("ibm,xive-eq-sizes", _u32s(XIVE_EQ_SIZE_SHIFT)),
        ("ibm,xive-lisn-ranges", server_ranges),
        ("interrupt-controller", b""),
        ("#interrupt-cells", _u32s(2)),
        ("linux,phandle", _u32s(PHANDLE_INTC)),
        ("phandle", _u32s(PHANDLE_INTC)),
    ]
    return Node(f"interrupt-controller@{user:x}", list(reversed(set_in_order)))


def switch_to_xive(root: Node) -> None:
    """Replace the root's XICS node by the XIVE node for the same CPUs."""
    for i, node in enumerate(root.children):
        if node.name == "interrupt-controller" and node.get("compatible") == b"IBM,ppc-xicp\0":
            ranges = node.get("ibm,interrupt-server-ranges") or _u32s(0, 1)
            del root.children[i]
            break
    else:
        return
    root.children.append(xive_node(ranges))
    root.props = [(n, v) for n, v in root.props if n != "ibm,plat-res-int-priorities"]
    names = [n for n, _ in root.props]    # QEMU sets it just before the root's cell counts
    at = names.index("#size-cells") if "#size-cells" in names else len(names)
    root.props.insert(at, ("ibm,plat-res-int-priorities", _u32s(*PLATFORM_RESERVED_PRIORITIES)))
