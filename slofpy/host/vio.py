"""The VIO bus below /vdevice: which units exist, the vty consoles, and CRQ registration.

Units are the `reg` values of /vdevice's children in the initial tree. What QEMU checks is
modelled: H_REG_CRQ/H_FREE_CRQ/H_SEND_CRQ on a unit that does not exist give H_PARAMETER;
a CRQ on a device without one (vty, nvram) gives H_NOT_FOUND; a second registration gives
H_RESOURCE. No VIO device is emulated behind the queue: messages sent with H_SEND_CRQ are
kept in `sent` and nothing answers them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import libfdt

from slofpy.host import fdt_lookup
from slofpy.host.tce import TceTables, dma_window
from slofpy.abi.hcalls import (
    H_HARDWARE,
    H_NOT_FOUND,
    H_PARAMETER,
    H_RESOURCE,
    H_SUCCESS,
)

VTY_COMPATIBLE = "hvterm1"
"""`compatible` of QEMU's spapr-vty console device."""

NVRAM_COMPATIBLE = "qemu,spapr-nvram"
"""`compatible` of QEMU's NVRAM device; its `#bytes` property is the NVRAM size."""

CRQ_COMPATIBLES = frozenset({"IBM,v-scsi", "IBM,vtpm", "IBM,vtpm20"})
"""`compatible` values of the VIO devices that talk over a CRQ."""

CRQ_MIN_SIZE = 0x1000
CRQ_MAX_SIZE = 0x1000_0000
CRQ_ALIGN = 0x1000


@dataclass
class VioUnit:
    """One VIO device: its unit address, compatible string, DMA window and CRQ state."""

    unit: int
    compatible: str
    liobn: int | None = None
    queue: tuple[int, int] | None = None  # (address, size) once registered
    sent: list[bytes] = field(default_factory=list)


class VioBus:
    """The VIO units of a machine."""

    def __init__(self) -> None:
        self.units: dict[int, VioUnit] = {}
        self.nvram_size = 0

    @classmethod
    def from_tree(cls, blob: bytes, tce_tables: TceTables) -> VioBus:
        """The units below /vdevice in `blob`; their DMA windows go into `tce_tables`."""
        bus = cls()
        fdt = fdt_lookup.open_tree(blob)
        vdevice = fdt.path_offset("/vdevice", quiet=(libfdt.NOTFOUND,))
        if vdevice < 0:
            return bus
        for node in fdt_lookup.child_nodes(fdt, vdevice):
            props = fdt_lookup.node_properties(fdt, node)
            reg = fdt_lookup.cells(props.get("reg", b""))
            if not reg:
                continue
            names = fdt_lookup.strings(props.get("compatible", b""))
            unit = VioUnit(unit=reg[0], compatible=names[0] if names else "")
            window = dma_window(props, "ibm,my-dma-window")
            if window is not None:
                liobn, offset, size = window
                unit.liobn = liobn
                tce_tables.add_window(liobn, offset, size)
            bus.units.setdefault(unit.unit, unit)
            if unit.compatible == NVRAM_COMPATIBLE and not bus.nvram_size:
                nvram_bytes = fdt_lookup.cells(props.get("#bytes", b""))
                bus.nvram_size = nvram_bytes[0] if nvram_bytes else 0
        return bus

    def vty(self, termno: int) -> VioUnit | None:
        """The console for hvterm number `termno`, as QEMU's vty lookup finds it.

        An existing unit that is not a vty gives None. Number 0 with no unit 0 means the vty
        with the lowest unit address (QEMU's allowance for early kernel debug code).
        """
        unit = self.units.get(termno)
        if unit is None and termno == 0:
            vtys = [u for u in self.units.values() if u.compatible == VTY_COMPATIBLE]
            return min(vtys, key=lambda u: u.unit) if vtys else None
        if unit is None or unit.compatible != VTY_COMPATIBLE:
            return None
        return unit

    def reg_crq(self, unit_number: int, queue_addr: int, queue_size: int) -> int:
        """H_REG_CRQ."""
        unit = self.units.get(unit_number)
        if unit is None:
            return H_PARAMETER
        if not CRQ_MIN_SIZE <= queue_size <= CRQ_MAX_SIZE or queue_addr % CRQ_ALIGN:
            return H_PARAMETER
        if unit.compatible not in CRQ_COMPATIBLES:
            return H_NOT_FOUND
        if unit.queue is not None:
            return H_RESOURCE
        unit.queue = (queue_addr, queue_size)
        return H_SUCCESS

    def free_crq(self, unit_number: int) -> int:
        """H_FREE_CRQ."""
        unit = self.units.get(unit_number)
        if unit is None:
            return H_PARAMETER
        unit.queue = None
        return H_SUCCESS

    def send_crq(self, unit_number: int, message: bytes) -> int:
        """H_SEND_CRQ: keep the 16-byte message; nothing emulates the device."""
        unit = self.units.get(unit_number)
        if unit is None:
            return H_PARAMETER
        if unit.compatible not in CRQ_COMPATIBLES:
            return H_HARDWARE
        unit.sent.append(bytes(message))
        return H_SUCCESS

    def quiesce(self, tce_tables: TceTables) -> None:
        """What RTAS quiesce does to every VIO unit: reset its TCE table, free its CRQ."""
        for unit in self.units.values():
            if unit.liobn is not None:
                tce_tables.clear(unit.liobn)
            unit.queue = None

