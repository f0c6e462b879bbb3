"""QEMU's PCI host bridges and the buses below them, for the RTAS config calls.

Each PHB (a `device_type = "pci"` node under the root, BUID = its `reg` address) has a root
bus, bus number 0, holding the functions QEMU's initial tree lists below it; a PCI-to-PCI
bridge holds the functions of its secondary bus (slofpy/host/pci_devices.py builds them).
Before it writes the tree, QEMU numbers the buses behind bridges as its spapr PHB does:
depth first in devfn order, each bridge getting primary = its own bus, secondary = the next
free number, subordinate = the last number used below it. Firmware may renumber them with
config writes.

A config cycle to bus 0 goes to the root bus; to bus N it is routed as QEMU routes it: the
bridge whose secondary bus is N, else down through the bridge whose secondary..subordinate
range holds N (and that is not holding its bus in reset). Nothing else answers: a miss, a
misaligned access, or a register past the function's config space is a hardware error.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from slofpy.host import fdt_lookup
from slofpy.host.pci_config import (
    BAR0, BAR5, PRIMARY_BUS, SECONDARY_BUS, SPACE_IO, SPACE_MEM64, SUBORDINATE_BUS, PciFunction,
    config_bus,
    config_devfn, config_offset,
)
from slofpy.host.pci_devices import config_address, function_from_node, is_bridge_node
from slofpy.host.tce import TceTables, dma_window

__all__ = ["PciBus", "PciFunction", "config_bus", "config_devfn", "config_offset", "Window",
           "Bar", "host_bridges", "phb_windows", "bar_address", "node_function", "node_bars"]

MAX_BUS = 255
"""The highest bus number (bus numbers are one byte)."""


class PciBus:
    """The PCI host bridges of a tree: BUID -> the functions of its root bus (by devfn)."""

    def __init__(self) -> None:
        self.roots: dict[int, dict[int, PciFunction]] = {}
        self.buids: list[int] = []

    @classmethod
    def from_tree(cls, blob: bytes, tce_tables: TceTables) -> PciBus:
        """Every PHB below the root (device_type "pci") and the functions below it.

        A PHB's BUID is its first `reg` address (two cells), which is also its unit address.
        Each PHB's `ibm,dma-window` goes into `tce_tables`.
        """
        pci = cls()
        fdt = fdt_lookup.open_tree(blob)
        for phb, buid, props in host_bridges(fdt):
            if buid in pci.roots:
                continue
            pci.buids.append(buid)
            window = dma_window(props, "ibm,dma-window")
            if window is not None:
                tce_tables.add_window(*window)
            counter = [0]
            pci.roots[buid] = _bus_below(fdt, phb, 0, counter)
        return pci

    def bus(self, buid: int, number: int) -> dict[int, PciFunction] | None:
        """The functions a config cycle to bus `number` of PHB `buid` reaches, if any."""
        devices = self.roots.get(buid)
        if devices is None or number == 0:
            return devices
        while devices is not None:
            below = None
            for devfn in sorted(devices):
                bridge = devices[devfn]
                if not bridge.is_bridge:
                    continue
                if bridge.config[SECONDARY_BUS] == number:
                    return bridge.secondary
                if bridge.bus_in_range(number):
                    below = bridge.secondary
                    break
            devices = below
        return None

    def find(self, buid: int, config_addr: int) -> PciFunction | None:
        """The function a (BUID, RTAS config address) pair names, if it exists."""
        devices = self.bus(buid, config_bus(config_addr))
        return None if devices is None else devices.get(config_devfn(config_addr))

    def access_ok(self, buid: int, config_addr: int, size: int) -> PciFunction | None:
        """The function for an access QEMU would allow, else None.

        QEMU allows 1, 2 or 4 byte accesses, naturally aligned, inside the config space of
        an existing function; anything else is a hardware error.
        """
        if size not in (1, 2, 4):
            return None
        function = self.find(buid, config_addr)
        offset = config_offset(config_addr)
        if function is None or offset % size or offset >= function.size:
            return None
        return function


def _bus_below(fdt, parent: int, number: int, counter: list[int]) -> dict[int, PciFunction]:
    """The functions of the nodes below `parent` (a bus numbered `number`), with the
    buses behind their bridges numbered from `counter` on, depth first, as QEMU does."""
    nodes: dict[int, tuple[int, dict[str, bytes]]] = {}
    for node in fdt_lookup.child_nodes(fdt, parent):
        props = fdt_lookup.node_properties(fdt, node)
        phys_hi = config_address(props)
        if phys_hi is not None:
            nodes.setdefault((phys_hi >> 8) & 0xFF, (node, props))
    slots_used: dict[int, int] = {}
    for devfn in nodes:
        slots_used[devfn >> 3] = slots_used.get(devfn >> 3, 0) + 1
    functions: dict[int, PciFunction] = {}
    for devfn in sorted(nodes):
        node, props = nodes[devfn]
        multifunction = devfn & 7 == 0 and slots_used[devfn >> 3] > 1
        bridge = is_bridge_node(props) and counter[0] < MAX_BUS
        secondary = counter[0] + 1 if bridge else 0
        function = function_from_node(props, multifunction, chassis=secondary)
        if function is None:
            continue
        function.seal()
        if bridge and function.secondary is not None:
            # bus numbers are 8 bits: past bus 255 QEMU has none to give, and neither has this
            counter[0] = secondary
            function.secondary.update(_bus_below(fdt, node, secondary, counter))
            function.put(PRIMARY_BUS, 1, number)
            function.put(SECONDARY_BUS, 1, secondary)
            function.put(SUBORDINATE_BUS, 1, counter[0])
        functions[devfn] = function
    return functions


# ---------------------------------------------------------------- PHBs seen from the CPU
@dataclass
class Window:
    """One entry of a PHB's `ranges`: PCI space and address -> CPU address."""

    buid: int
    space: int
    pci: int
    cpu: int
    size: int


@dataclass
class Bar:
    """A BAR of a function, as its node's `reg` describes it."""

    register: int
    space: int
    size: int


def host_bridges(fdt) -> Iterator[tuple[int, int, dict[str, bytes]]]:
    """(node offset, BUID, properties) of every PHB below the root (device_type "pci");
    a PHB's BUID is its first `reg` address (two cells), also its unit address."""
    for phb in fdt_lookup.child_nodes(fdt, 0):
        props = fdt_lookup.node_properties(fdt, phb)
        if props.get("device_type") != b"pci\0":
            continue
        reg = fdt_lookup.cells(props.get("reg", b""))
        if len(reg) < 2:
            continue
        yield phb, fdt_lookup.combine_cells(reg[:2]), props


def phb_windows(buid: int, props: dict[str, bytes]) -> list[Window]:
    """The CPU windows of a PHB's `ranges` (7 cells each)."""
    ranges = fdt_lookup.cells(props.get("ranges", b""))
    return [Window(buid, (ranges[i] >> 24) & 3, fdt_lookup.combine_cells(ranges[i + 1:i + 3]),
                   fdt_lookup.combine_cells(ranges[i + 3:i + 5]),
                   fdt_lookup.combine_cells(ranges[i + 5:i + 7]))
            for i in range(0, len(ranges) - 6, 7)]


def bar_address(function: PciFunction, bar: Bar) -> int:
    """The PCI address the function's BAR holds now."""
    low = function.read(bar.register, 4)
    if bar.space == SPACE_IO:
        return low & ~0x3
    if bar.space == SPACE_MEM64:
        return (function.read(bar.register + 4, 4) << 32) | (low & ~0xF)
    return low & ~0xF


def node_function(pci: PciBus, buid: int, reg: list[int]) -> PciFunction | None:
    """The function a PCI node's `reg` (its first entry's phys.hi: bus, device, function)
    names on PHB `buid`, as the bus routes to it now."""
    if not reg:
        return None
    devices = pci.bus(buid, (reg[0] >> 16) & 0xFF)
    return None if devices is None else devices.get((reg[0] >> 8) & 0xFF)


def node_bars(reg: list[int]) -> list[Bar]:
    """The BARs (0x10..0x24) a PCI node's `reg` lists after its config-space entry."""
    return [Bar(reg[i] & 0xFF, (reg[i] >> 24) & 3, fdt_lookup.combine_cells(reg[i + 3:i + 5]))
            for i in range(5, len(reg) - 4, 5) if BAR0 <= reg[i] & 0xFF <= BAR5]
