"""The VIO bus below /vdevice: which units exist, the vty consoles, and the CRQs.

Units are the `reg` values of /vdevice's children in the initial tree. What QEMU checks is
modelled: H_REG_CRQ/H_FREE_CRQ/H_SEND_CRQ on a unit that does not exist give H_PARAMETER;
a CRQ on a device without one (vty, nvram) gives H_NOT_FOUND; a second registration gives
H_RESOURCE.

Messages sent with H_SEND_CRQ are kept in the unit's `sent`. A v-scsi unit answers them
(slofpy.host.vscsi, with the SCSI devices slofpy.host.scsi_devices lists), a TPM 2.0 vTPM
("IBM,vtpm20") too (slofpy.host.vtpm, with slofpy.host.tpm2 behind it); a TPM 1.2 vTPM
("IBM,vtpm") has no emulation behind its queue and never answers.

An l-lan unit ("IBM,l-lan") is a slofpy.host.llan device, driven by the logical-LAN
hcalls (`llan_hcall`); nothing is on its wire. An answer goes into the guest's queue
as QEMU's spapr_vio_send_crq puts it there: through the unit's DMA window, at the next
slot (16 bytes, wrapping at the queue's end), second half first, then the first half with
its valid byte; if the slot's first byte is not 0 (the guest has not consumed it) the
entry is dropped. The queue address is a bus address, like any other DMA address.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import libfdt

from slofpy.host import fdt_lookup
from slofpy.host.llan import LLAN_COMPATIBLE, LlanDevice
from slofpy.host.scsi_devices import DEFAULT_SCSI_DEVICES, ScsiDeviceSpec, devices_by_adapter
from slofpy.host.tce import DmaError, DmaSpace, TceTables, dma_window
from slofpy.host.vscsi import VscsiAdapter
from slofpy.host.vtpm import VtpmDevice
from slofpy.abi.guest_memory import GuestMemory
from slofpy.abi.hcalls import (
    H_ADD_LOGICAL_LAN_BUFFER,
    H_FREE_LOGICAL_LAN,
    H_REGISTER_LOGICAL_LAN,
    H_SEND_LOGICAL_LAN,
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

VSCSI_COMPATIBLE = "IBM,v-scsi"
"""`compatible` of QEMU's spapr-vscsi adapter."""

VTPM20_COMPATIBLE = "IBM,vtpm20"
"""`compatible` of QEMU's tpm-spapr device with a TPM 2.0 behind it."""

CRQ_COMPATIBLES = frozenset({VSCSI_COMPATIBLE, "IBM,vtpm", VTPM20_COMPATIBLE})
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
    queue_next: int = 0
    sent: list[bytes] = field(default_factory=list)
    vscsi: VscsiAdapter | None = None
    vtpm: VtpmDevice | None = None
    llan: LlanDevice | None = None


class VioBus:
    """The VIO units of a machine."""

    def __init__(self, tce_tables: TceTables | None = None) -> None:
        self.units: dict[int, VioUnit] = {}
        self.nvram_size = 0
        self.tce_tables = tce_tables if tce_tables is not None else TceTables()

    @classmethod
    def from_tree(cls, blob: bytes, tce_tables: TceTables,
                  scsi_devices: tuple[ScsiDeviceSpec, ...] = DEFAULT_SCSI_DEVICES) -> VioBus:
        """The units below /vdevice in `blob`; their DMA windows go into `tce_tables`; the
        v-scsi adapters get the SCSI devices of `scsi_devices`."""
        bus = cls(tce_tables)
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
            if unit.compatible == VTPM20_COMPATIBLE:
                unit.vtpm = VtpmDevice()
            elif unit.compatible == LLAN_COMPATIBLE:
                unit.llan = LlanDevice()
            bus.units.setdefault(unit.unit, unit)
            if unit.compatible == NVRAM_COMPATIBLE and not bus.nvram_size:
                nvram_bytes = fdt_lookup.cells(props.get("#bytes", b""))
                bus.nvram_size = nvram_bytes[0] if nvram_bytes else 0
        adapters = [u.unit for u in bus.units.values() if u.compatible == VSCSI_COMPATIBLE]
        for unit_number, devices in devices_by_adapter(adapters, scsi_devices).items():
            bus.units[unit_number].vscsi = VscsiAdapter(devices)
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
        unit.queue_next = 0
        return H_SUCCESS

    def free_crq(self, unit_number: int) -> int:
        """H_FREE_CRQ."""
        unit = self.units.get(unit_number)
        if unit is None:
            return H_PARAMETER
        unit.queue = None
        unit.queue_next = 0
        return H_SUCCESS

    def send_crq(self, memory: GuestMemory, unit_number: int, message: bytes) -> int:
        """H_SEND_CRQ: keep the 16-byte message; a v-scsi adapter or a vTPM handles it at
        once."""
        unit = self.units.get(unit_number)
        if unit is None:
            return H_PARAMETER
        if unit.compatible not in CRQ_COMPATIBLES:
            return H_HARDWARE
        unit.sent.append(bytes(message))
        if unit.vscsi is not None:
            dma = self.dma_space(memory, unit)
            unit.vscsi.receive(bytes(message), dma, lambda entry: self.post(unit, dma, entry))
        elif unit.vtpm is not None:
            dma = self.dma_space(memory, unit)
            unit.vtpm.receive(bytes(message), dma, lambda entry: self.post(unit, dma, entry))
        return H_SUCCESS

    def dma_space(self, memory: GuestMemory, unit: VioUnit) -> DmaSpace:
        """The bus addresses `unit` sees in `memory`."""
        return DmaSpace(memory, self.tce_tables, unit.liobn)

    def post(self, unit: VioUnit, dma: DmaSpace, entry: bytes) -> int:
        """Put a 16-byte entry into `unit`'s CRQ: 0, 1 if the slot is full, -1 with no
        queue, 2 if the DMA failed (QEMU's error codes, which only its own caller sees)."""
        if unit.queue is None:
            return -1
        address, size = unit.queue
        slot = address + unit.queue_next
        try:
            if dma.read(slot, 1) != b"\0":
                return 1
            dma.write(slot + 8, entry[8:16])
            dma.write(slot, entry[:8])
        except DmaError:
            return 2
        unit.queue_next = (unit.queue_next + 16) % size
        return 0

    LLAN_HCALLS = frozenset({H_REGISTER_LOGICAL_LAN, H_FREE_LOGICAL_LAN,
                             H_ADD_LOGICAL_LAN_BUFFER, H_SEND_LOGICAL_LAN})
    """The hcalls `llan_hcall` serves."""

    def llan_hcall(self, memory: GuestMemory, number: int, args: tuple[int, ...]) -> int:
        """One of the logical-LAN hcalls (LLAN_HCALLS) with its register arguments."""
        unit = self.units.get(args[0])
        if unit is None or unit.llan is None:
            return H_PARAMETER
        llan, dma = unit.llan, self.dma_space(memory, unit)
        if number == H_REGISTER_LOGICAL_LAN:
            return llan.register(dma, args[1], args[2], args[3])
        if number == H_FREE_LOGICAL_LAN:
            return llan.free()
        if number == H_ADD_LOGICAL_LAN_BUFFER:
            return llan.add_buffer(dma, args[1])
        return llan.send(dma, tuple(args[1:7]), args[7])

    def quiesce(self, tce_tables: TceTables) -> None:
        """What RTAS quiesce does to every VIO unit: reset its TCE table, free its CRQ."""
        for unit in self.units.values():
            if unit.liobn is not None:
                tce_tables.clear(unit.liobn)
            unit.queue = None
            unit.queue_next = 0
