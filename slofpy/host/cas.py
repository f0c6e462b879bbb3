"""KVMPPC_H_CAS as QEMU 7.2's pseries machine answers it: negotiation and the rebuilt tree.

The guest hands over its option-vector table (IEEE 1275 ibm,client-architecture-support):
a list of PVR (mask, value) pairs, the last one recognisable by a value bit outside its mask,
then a byte giving the number of vectors less one and the vectors, each a byte giving its
length less one and then its bytes. Option-vector bits are numbered as PAPR numbers them:
byte 1 is the first byte after the length, bit 0 its most significant bit.

What QEMU does with it (`do_client_architecture_support`), modelled here:

* PVRs: the machine's CPU either appears in the list itself (raw mode) or a logical
  ("compatibility") PVR is chosen: the highest one the CPU supports. A compatibility PVR
  becomes every CPU node's "cpu-version". A list with neither fails (H_HARDWARE).
* Vector 5: the guest's bits are intersected with the machine's (`MACHINE_OV5`, plus XIVE
  exploitation when the interrupt controller mode allows it) and the result is the new
  /chosen "ibm,architecture-vec-5". A guest asking for the MMU "both" mode, or for an
  interrupt mode the machine does not have (XIVE on ic-mode=xics, XICS on ic-mode=xive),
  makes QEMU exit: `CasRefused` with QEMU's message.
* The interrupt controller: with ic-mode=dual the machine starts with XICS and switches to
  XIVE when the guest asks for it; the tree then has XIVE's node instead of XICS's.
* NUMA: FORM2 affinity, when both sides support it, changes the associativity properties.
* The tree is rebuilt as QEMU's CAS build makes it: /chosen keeps only what QEMU writes
  outside a reset ("ibm,architecture-vec-5" and a new "rng-seed").

`read_option_vectors(memory, addr)` reads the table; `negotiate(seed, table)` gives the new
tree as a blob (packed, as QEMU packs it).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from slofpy.fdt.blob import Node, build_blob, parse_blob
from slofpy.abi.guest_memory import GuestMemory

MAX_PVRS = 512
"""QEMU reads at most this many PVR pairs."""

LOGICAL_PVR_3_1, LOGICAL_PVR_3_00 = 0x0F000006, 0x0F000005
LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05 = 0x0F000004, 0x0F000003, 0x0F000002

COMPAT_BY_FAMILY = {
    0x0080: (LOGICAL_PVR_3_1, LOGICAL_PVR_3_00, LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
    0x004E: (LOGICAL_PVR_3_00, LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
    0x004B: (LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
    0x004C: (LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
    0x004D: (LOGICAL_PVR_2_07, LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
    0x003F: (LOGICAL_PVR_2_06, LOGICAL_PVR_2_05),
}
"""The logical PVRs each CPU family (the PVR's top half) can run as, best first."""


def ov_bit(byte: int, bit: int) -> tuple[int, int]:
    """PAPR's (byte, bit) of an option vector as (index into the vector's bytes, mask)."""
    return byte - 1, 0x80 >> bit


OV5_DRCONF_MEMORY = ov_bit(2, 2)
OV5_FORM1_AFFINITY = ov_bit(5, 0)
OV5_FORM2_AFFINITY = ov_bit(5, 2)
OV5_HP_EVT = ov_bit(6, 5)
OV5_HPT_RESIZE = ov_bit(6, 7)
OV5_DRMEM_V2 = ov_bit(22, 0)
OV5_XIVE_BOTH = ov_bit(23, 0)
OV5_XIVE_EXPLOIT = ov_bit(23, 1)
OV5_MMU_BOTH = ov_bit(24, 0)
OV5_MMU_RADIX_300 = ov_bit(24, 1)
OV5_MMU_RADIX_GTSE = ov_bit(26, 1)

MACHINE_OV5 = (OV5_DRCONF_MEMORY, OV5_FORM1_AFFINITY, OV5_FORM2_AFFINITY, OV5_HP_EVT,
               OV5_HPT_RESIZE, OV5_DRMEM_V2, OV5_MMU_RADIX_300, OV5_MMU_RADIX_GTSE)
"""What pseries-7.2 offers in vector 5 whatever its interrupt controller (TCG, POWER9)."""

CHOSEN_AT_CAS = ("ibm,architecture-vec-5", "rng-seed")
"""The /chosen properties QEMU writes when it builds the tree for CAS (not at reset)."""

RNG_SEED_BYTES = 32


class CasRefused(Exception):
    """Where QEMU ends the machine instead of answering (its message)."""


class CasFailed(Exception):
    """Where QEMU answers H_HARDWARE (no PVR it can run as)."""


@dataclass
class OptionVectors:
    """The guest's table, read: PVR pairs and vectors by number (1-based; bytes only)."""
    pvrs: list[tuple[int, int]] = field(default_factory=list)
    vectors: dict[int, bytes] = field(default_factory=dict)

    def test(self, vector: int, bit: tuple[int, int]) -> bool:
        """Whether `bit` (from ov_bit) is set in vector `vector`."""
        data = self.vectors.get(vector, b"")
        index, mask = bit
        return index < len(data) and bool(data[index] & mask)


def read_option_vectors(memory: GuestMemory, addr: int) -> OptionVectors:
    """The table at guest address `addr`, read as QEMU reads it."""
    table = OptionVectors()
    for _ in range(MAX_PVRS):
        mask = int.from_bytes(memory.read(addr, 4), "big")
        value = int.from_bytes(memory.read(addr + 4, 4), "big")
        addr += 8
        table.pvrs.append((mask, value))
        if value & ~mask & 0xFFFFFFFF:
            break
    count = memory.read(addr, 1)[0] + 1
    addr += 1
    for number in range(1, count + 1):
        length = memory.read(addr, 1)[0] + 1
        table.vectors[number] = memory.read(addr + 1, length)
        addr += 1 + length
    return table


def encode_vector(bits: set[tuple[int, int]]) -> bytes:
    """A vector as QEMU puts it into the tree: its length less one, then bytes 1..last."""
    length = max((index for index, _ in bits), default=0) + 1
    data = bytearray(length)
    for index, mask in bits:
        data[index] |= mask
    return bytes([length - 1]) + bytes(data)


# --- the machine as the seed describes it ------------------------------------------------

def _cells(value: bytes) -> list[int]:
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


def _u32s(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in values)


def _set(node: Node, name: str, value: bytes) -> None:
    """Replace `name`'s value where it is, or add it at the end (libfdt's setprop)."""
    for i, (prop, _) in enumerate(node.props):
        if prop == name:
            node.props[i] = (name, value)
            return
    node.props.append((name, value))


def platform_support(root: Node) -> dict[int, int]:
    """/chosen "ibm,arch-vec-5-platform-support": byte number -> value."""
    chosen = root.child("chosen")
    value = (chosen.get("ibm,arch-vec-5-platform-support") if chosen else None) or b""
    return {value[i]: value[i + 1] for i in range(0, len(value) - 1, 2)}


def interrupt_modes(root: Node) -> tuple[bool, bool]:
    """(XICS possible, XIVE possible): the seed's platform-support byte 23 says which."""
    mode = platform_support(root).get(23, 0) & 0xC0
    return mode != 0x40, mode in (0x40, 0x80)


def cpu_nodes(root: Node) -> list[Node]:
    """The nodes under /cpus with device_type "cpu"."""
    cpus = root.child("cpus")
    return [n for n in (cpus.children if cpus else []) if n.get("device_type") == b"cpu\0"]


def choose_pvr(root: Node, pvrs: list[tuple[int, int]]) -> int:
    """The compatibility PVR QEMU picks (0: the CPU runs as itself, raw mode)."""
    nodes = cpu_nodes(root)
    real = int.from_bytes((nodes[0].get("cpu-version") or b"\0\0\0\0")[:4], "big") if nodes else 0
    supported = COMPAT_BY_FAMILY.get(real >> 16, ())
    explicit = any(real & mask == value & mask for mask, value in pvrs)
    listed = {value for mask, value in pvrs if real & mask != value & mask}
    best = next((pvr for pvr in supported if pvr in listed), 0)
    if best == 0 and not explicit:
        raise CasFailed("Couldn't negotiate a suitable PVR during CAS")
    return best


def use_form2(root: Node) -> None:
    """FORM2 NUMA affinity: associativity lists shrink to the NUMA node (and the CPU) and
    /rtas describes the nodes with a lookup table and a distance table (10: local)."""
    nodes: set[int] = set()
    for _, node in root.walk():
        value = node.get("ibm,associativity")
        if value is None or len(value) < 8:
            continue
        cells = _cells(value)
        is_cpu = node.get("device_type") == b"cpu\0"
        numa = cells[4] if len(cells) > 4 else cells[-1]
        nodes.add(numa)
        _set(node, "ibm,associativity",
             _u32s(2, numa, cells[-1]) if is_cpu and len(cells) > 5 else _u32s(1, numa))
    rtas = root.child("rtas")
    if rtas is None:
        return
    count = max(len(nodes), 1)
    ids = sorted(nodes) or [0]
    _set(rtas, "ibm,associativity-reference-points", _u32s(1))
    _set(rtas, "ibm,max-associativity-domains", _u32s(1, count))
    _set(rtas, "ibm,numa-lookup-index-table", _u32s(count, *ids))
    _set(rtas, "ibm,numa-distance-table",
         _u32s(count * count) + bytes(10 if a == b else 20 for a in ids for b in ids))


# --- the rebuilt tree --------------------------------------------------------------------

def negotiate(seed: bytes, table: OptionVectors, rng: bytes | None = None) -> tuple[bytes, bool]:
    """QEMU's tree after CAS, from the tree of the last reset (`seed`) and the guest's table.

    Returns (packed blob, whether XIVE is now the interrupt controller); `rng` is the new
    /chosen rng-seed (random when None). Raises CasRefused or CasFailed (module doc). The
    XIVE node of a dual machine comes from slofpy.host.interrupts."""
    root, reserve, header = parse_blob(seed)
    xics_ok, xive_ok = interrupt_modes(root)
    if table.test(5, OV5_MMU_BOTH):
        raise CasRefused("Guest requested unavailable MMU mode (both)")
    guest_xive = table.test(5, OV5_XIVE_EXPLOIT)
    if guest_xive and not xive_ok:
        raise CasRefused("Guest requested unavailable interrupt mode (XIVE), try the "
                         "ic-mode=xive or ic-mode=dual machine property")
    if not guest_xive and not xics_ok:
        raise CasRefused("Guest requested unavailable interrupt mode (XICS), either don't "
                         "set the ic-mode machine property or try ic-mode=xics or "
                         "ic-mode=dual")
    compat = choose_pvr(root, table.pvrs)

    offered = set(MACHINE_OV5)
    if xive_ok:
        offered.add(OV5_XIVE_EXPLOIT)
    agreed = {bit for bit in offered if table.test(5, bit)}

    chosen = root.child("chosen")
    if chosen is not None:
        chosen.props = [(n, v) for n, v in chosen.props if n in CHOSEN_AT_CAS]
        _set(chosen, "ibm,architecture-vec-5", encode_vector(agreed))
        _set(chosen, "rng-seed", rng if rng is not None else os.urandom(RNG_SEED_BYTES))
    if compat:
        for node in cpu_nodes(root):
            _set(node, "cpu-version", _u32s(compat))
    if OV5_FORM2_AFFINITY in agreed:
        use_form2(root)
    now_xive = guest_xive and xive_ok
    if now_xive and xics_ok:
        from slofpy.host.interrupts import switch_to_xive
        switch_to_xive(root)
    return build_blob(root, reserve, header.boot_cpuid_phys,
                      first_strings=qemu_string_order(root)), now_xive


def qemu_string_order(root: Node) -> list[str]:
    """Property names in the order QEMU's tree builder adds them. libfdt inserts a new
    property before a node's others and a new node before its siblings, so QEMU set them
    in the reverse of the order they end up in; its strings block, and so the tree's size
    (which H_UPDATE_DT's limit is measured against), follows that order."""
    names: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        names.extend(name for name, _ in reversed(node.props))
        stack.extend(node.children)          # popped last child first
    return names
