"""PCI configuration space of the devices QEMU's initial tree lists, for the RTAS config calls.

QEMU's tree describes each PCI function below a PHB (`device_type = "pci"` under the root)
with `reg`, `vendor-id`, `device-id`, `revision-id`, `class-code`, `subsystem-*`, `interrupts`
and friends. `PciFunction` rebuilds a 256-byte type-0 header from those, with the usual
write semantics: only some fields are writable, and the BARs (sized from the `reg` entries
after the first) answer the all-ones sizing probe with their size mask, so firmware can size
and assign them. There are no devices behind the BARs; this is configuration space only.

Config addresses are those of the RTAS calls: bus in bits 16-23, devfn in bits 8-15, the
register in bits 0-7 plus bits 28-31 for the high nibble of an extended (PCIe) register.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slofpy.host import fdt_lookup
from slofpy.host.tce import TceTables, dma_window

VIRTIO_VENDOR_ID = 0x1AF4
VGA_CLASS = 0x0300
"""Base class and subclass of a VGA-compatible display controller."""

CONFIG_SPACE_SIZE = 256
"""Conventional PCI configuration space size (QEMU's PHB puts conventional devices here)."""

# Type-0 header offsets.
VENDOR_ID = 0x00
DEVICE_ID = 0x02
COMMAND = 0x04
REVISION_ID = 0x08
CLASS_CODE = 0x09  # three bytes: programming interface, subclass, base class
CACHE_LINE_SIZE = 0x0C
LATENCY_TIMER = 0x0D
HEADER_TYPE = 0x0E
BAR0 = 0x10
BAR5 = 0x24
SUBSYSTEM_VENDOR_ID = 0x2C
SUBSYSTEM_ID = 0x2E
EXPANSION_ROM = 0x30
INTERRUPT_LINE = 0x3C
INTERRUPT_PIN = 0x3D
MIN_GRANT = 0x3E
MAX_LATENCY = 0x3F

COMMAND_WRITABLE = 0x07FF
"""Command register bits a write may change (I/O, memory, bus master ... interrupt disable)."""

# Address space codes in the `ss` bits of a PCI `reg` phys.hi cell.
SPACE_CONFIG = 0
SPACE_IO = 1
SPACE_MEM32 = 2
SPACE_MEM64 = 3


def config_offset(config_addr: int) -> int:
    """The register offset an RTAS config address names (extended bits included)."""
    return ((config_addr >> 20) & 0xF00) | (config_addr & 0xFF)


def config_bus(config_addr: int) -> int:
    """The bus number an RTAS config address names."""
    return (config_addr >> 16) & 0xFF


def config_devfn(config_addr: int) -> int:
    """The device/function number an RTAS config address names."""
    return (config_addr >> 8) & 0xFF


def _size_mask(size: int, low_flag_bits: int) -> int:
    """The writable bits of a BAR of `size` bytes (rounded up to a power of two)."""
    rounded = 1
    while rounded < max(size, low_flag_bits + 1):
        rounded <<= 1
    return ~(rounded - 1) & ((1 << 64) - 1)


@dataclass
class PciFunction:
    """One PCI function's configuration space: current bytes plus a per-byte write mask."""

    bus: int
    devfn: int
    config: bytearray = field(default_factory=lambda: bytearray(CONFIG_SPACE_SIZE))
    writable: bytearray = field(default_factory=lambda: bytearray(CONFIG_SPACE_SIZE))

    def put(self, offset: int, size: int, value: int) -> None:
        """Set a field regardless of the write mask (little-endian, as PCI is)."""
        self.config[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little"
        )

    def allow(self, offset: int, size: int, mask: int) -> None:
        """Make the bits of `mask` in the field at `offset` writable."""
        self.writable[offset:offset + size] = (mask & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little"
        )

    def read(self, offset: int, size: int) -> int:
        """The `size`-byte value at `offset`."""
        return int.from_bytes(self.config[offset:offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        """A config write: only writable bits change."""
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        for index, byte in enumerate(data):
            where = offset + index
            mask = self.writable[where]
            self.config[where] = (self.config[where] & ~mask & 0xFF) | (byte & mask)

    def add_bar(self, register: int, space: int, prefetchable: bool, size: int) -> None:
        """Describe a BAR (or the expansion ROM) of `size` bytes at `register`."""
        if register == EXPANSION_ROM:
            self.allow(register, 4, (_size_mask(size, 0x7FF) & 0xFFFF_F800) | 1)
            return
        if not BAR0 <= register <= BAR5 or register % 4:
            return
        if space == SPACE_IO:
            self.put(register, 4, 0x1)
            self.allow(register, 4, _size_mask(size, 0x3) & 0xFFFF_FFFC)
        elif space == SPACE_MEM64 and register + 4 <= BAR5:
            flags = 0x4 | (0x8 if prefetchable else 0)
            mask = _size_mask(size, 0xF)
            self.put(register, 4, flags)
            self.allow(register, 4, mask & 0xFFFF_FFF0)
            self.allow(register + 4, 4, mask >> 32)
        elif space in (SPACE_MEM32, SPACE_MEM64):
            self.put(register, 4, 0x8 if prefetchable else 0)
            self.allow(register, 4, _size_mask(size, 0xF) & 0xFFFF_FFF0)


def function_from_node(props: dict[str, bytes]) -> PciFunction | None:
    """A `PciFunction` from a device node's properties; None if it has no usable `reg`."""
    reg = fdt_lookup.cells(props.get("reg", b""))
    if len(reg) < 5:
        return None
    phys_hi = reg[0]
    function = PciFunction(bus=(phys_hi >> 16) & 0xFF, devfn=(phys_hi >> 8) & 0xFF)

    def number(name: str, default: int = 0) -> int:
        values = fdt_lookup.cells(props.get(name, b""))
        return values[0] if values else default

    function.put(VENDOR_ID, 2, number("vendor-id", 0xFFFF))
    function.put(DEVICE_ID, 2, number("device-id", 0xFFFF))
    function.put(REVISION_ID, 1, number("revision-id"))
    function.put(CLASS_CODE, 3, number("class-code"))
    function.put(CACHE_LINE_SIZE, 1, number("cache-line-size"))
    function.put(HEADER_TYPE, 1, 0)
    function.put(SUBSYSTEM_VENDOR_ID, 2, number("subsystem-vendor-id"))
    function.put(SUBSYSTEM_ID, 2, number("subsystem-id"))
    function.put(INTERRUPT_PIN, 1, number("interrupts"))
    function.put(MIN_GRANT, 1, number("min-grant"))
    function.put(MAX_LATENCY, 1, number("max-latency"))
    function.allow(COMMAND, 2, COMMAND_WRITABLE)
    function.allow(CACHE_LINE_SIZE, 1, 0xFF)
    function.allow(LATENCY_TIMER, 1, 0xFF)
    function.allow(INTERRUPT_LINE, 1, 0xFF)

    # reg entries after the first: (phys.hi phys.mid phys.lo size.hi size.lo) per BAR.
    # QEMU's reg does not carry the prefetchable bit; the devices do: virtio-pci registers
    # its 64-bit "modern" BAR as prefetchable memory, and VGA-compatible displays (std VGA,
    # Cirrus, virtio-vga) their frame buffer, BAR0; the other devices QEMU gives 64-bit
    # BARs to (xhci, pci-bridge, ...) register plain memory.
    virtio = number("vendor-id", 0xFFFF) == VIRTIO_VENDOR_ID
    vga = number("class-code") >> 8 == VGA_CLASS
    for start in range(5, len(reg) - 4, 5):
        hi = reg[start]
        size = fdt_lookup.combine_cells(reg[start + 3:start + 5])
        space = (hi >> 24) & 0x3
        prefetchable = (bool(hi & 0x4000_0000) or (virtio and space == SPACE_MEM64)
                        or (vga and hi & 0xFF == BAR0 and space != SPACE_IO))
        function.add_bar(hi & 0xFF, space, prefetchable, size)
    return function


class PciBus:
    """The PCI functions of every PHB in a tree, found by (BUID, bus, devfn)."""

    def __init__(self) -> None:
        self.functions: dict[tuple[int, int, int], PciFunction] = {}
        self.buids: list[int] = []

    @classmethod
    def from_tree(cls, blob: bytes, tce_tables: TceTables) -> PciBus:
        """Every PHB below the root (device_type "pci") and the functions below it.

        A PHB's BUID is its first `reg` address (two cells), which is also its unit address.
        Each PHB's `ibm,dma-window` goes into `tce_tables`.
        """
        bus = cls()
        fdt = fdt_lookup.open_tree(blob)
        for phb in fdt_lookup.child_nodes(fdt, 0):
            props = fdt_lookup.node_properties(fdt, phb)
            if props.get("device_type") != b"pci\0":
                continue
            reg = fdt_lookup.cells(props.get("reg", b""))
            if len(reg) < 2:
                continue
            buid = fdt_lookup.combine_cells(reg[:2])
            bus.buids.append(buid)
            window = dma_window(props, "ibm,dma-window")
            if window is not None:
                tce_tables.add_window(*window)
            for node in fdt_lookup.descendant_nodes(fdt, phb):
                function = function_from_node(fdt_lookup.node_properties(fdt, node))
                if function is not None:
                    bus.functions.setdefault((buid, function.bus, function.devfn), function)
        return bus

    def find(self, buid: int, config_addr: int) -> PciFunction | None:
        """The function a (BUID, RTAS config address) pair names, if it exists."""
        return self.functions.get((buid, config_bus(config_addr), config_devfn(config_addr)))

    def access_ok(self, buid: int, config_addr: int, size: int) -> PciFunction | None:
        """The function for an access QEMU would allow, else None.

        QEMU allows 1, 2 or 4 byte accesses, naturally aligned, inside the config space of
        an existing function; anything else is a hardware error.
        """
        if size not in (1, 2, 4):
            return None
        function = self.find(buid, config_addr)
        offset = config_offset(config_addr)
        if function is None or offset % size or offset >= CONFIG_SPACE_SIZE:
            return None
        return function

