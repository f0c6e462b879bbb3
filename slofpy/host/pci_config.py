"""One PCI function's configuration space: its bytes, which bits a write may change, its reset.

A `PciFunction` holds the bytes a config read returns and a per-byte write mask, as QEMU's
PCIDevice keeps `config` and `wmask`. Bits outside the mask ignore writes (QEMU's
write-one-to-clear status bits are never set by these models, so they read as zero either
way). A bridge (type-1 header) also holds the functions on its secondary bus; setting its
"secondary bus reset" control bit resets every function behind it, as QEMU's bus reset does.

Config addresses are those of the RTAS calls: bus in bits 16-23, devfn in bits 8-15, the
register in bits 0-7 plus bits 28-31 for the high nibble of an extended (PCIe) register.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CONFIG_SPACE_SIZE = 256
"""Conventional PCI configuration space size."""
EXPRESS_CONFIG_SPACE_SIZE = 4096
"""PCI Express configuration space size (functions with a PCI Express capability)."""

# Header offsets common to both header types.
VENDOR_ID = 0x00
DEVICE_ID = 0x02
COMMAND = 0x04
STATUS = 0x06
REVISION_ID = 0x08
CLASS_CODE = 0x09  # three bytes: programming interface, subclass, base class
CACHE_LINE_SIZE = 0x0C
LATENCY_TIMER = 0x0D
HEADER_TYPE = 0x0E
BAR0 = 0x10
CAPABILITIES_POINTER = 0x34
INTERRUPT_LINE = 0x3C
INTERRUPT_PIN = 0x3D

# Type-0 (device) header.
BAR5 = 0x24
SUBSYSTEM_VENDOR_ID = 0x2C
SUBSYSTEM_ID = 0x2E
EXPANSION_ROM = 0x30
MIN_GRANT = 0x3E
MAX_LATENCY = 0x3F

# Type-1 (PCI-to-PCI bridge) header.
BRIDGE_BAR1 = 0x14
PRIMARY_BUS = 0x18
SECONDARY_BUS = 0x19
SUBORDINATE_BUS = 0x1A
SECONDARY_LATENCY_TIMER = 0x1B
IO_BASE = 0x1C
IO_LIMIT = 0x1D
SECONDARY_STATUS = 0x1E
MEMORY_BASE = 0x20
MEMORY_LIMIT = 0x22
PREFETCHABLE_BASE = 0x24
PREFETCHABLE_LIMIT = 0x26
PREFETCHABLE_BASE_UPPER = 0x28
PREFETCHABLE_LIMIT_UPPER = 0x2C
IO_BASE_UPPER = 0x30
BRIDGE_EXPANSION_ROM = 0x38
BRIDGE_CONTROL = 0x3E

HEADER_TYPE_BRIDGE = 0x01
HEADER_TYPE_MULTIFUNCTION = 0x80
STATUS_CAPABILITIES = 0x0010
BRIDGE_CONTROL_BUS_RESET = 0x0040

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


def size_mask(size: int, low_flag_bits: int) -> int:
    """The address bits of a BAR of `size` bytes (rounded up to a power of two)."""
    rounded = 1
    while rounded < max(size, low_flag_bits + 1):
        rounded <<= 1
    return ~(rounded - 1) & ((1 << 64) - 1)


@dataclass
class PciFunction:
    """One PCI function's configuration space: current bytes plus a per-byte write mask.

    `secondary` is None for a device; for a bridge it maps devfn -> function for the
    functions on its secondary bus. `power_on` is the state a reset restores (taken by
    `seal`).
    """

    devfn: int
    size: int = CONFIG_SPACE_SIZE
    config: bytearray = field(default_factory=bytearray)
    writable: bytearray = field(default_factory=bytearray)
    secondary: dict[int, PciFunction] | None = None
    power_on: bytes = b""

    def __post_init__(self) -> None:
        if not self.config:
            self.config = bytearray(self.size)
        if not self.writable:
            self.writable = bytearray(self.size)

    @property
    def is_bridge(self) -> bool:
        """Whether this function has a type-1 header with a bus behind it."""
        return self.secondary is not None

    def put(self, offset: int, size: int, value: int) -> None:
        """Set a field regardless of the write mask (little-endian, as PCI is)."""
        self.config[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little"
        )

    def allow(self, offset: int, size: int, mask: int) -> None:
        """Make the bits of `mask` in the field at `offset` writable (and only those)."""
        self.writable[offset:offset + size] = (mask & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little"
        )

    def read(self, offset: int, size: int) -> int:
        """The `size`-byte value at `offset`."""
        return int.from_bytes(self.config[offset:offset + size], "little")

    def write(self, offset: int, size: int, value: int) -> None:
        """A config write: only writable bits change; a bridge's bus reset resets its bus."""
        control_before = self.read(BRIDGE_CONTROL, 2) if self.is_bridge else 0
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        for index, byte in enumerate(data):
            where = offset + index
            mask = self.writable[where]
            self.config[where] = (self.config[where] & ~mask & 0xFF) | (byte & mask)
        if self.is_bridge:
            control = self.read(BRIDGE_CONTROL, 2)
            if ~control_before & control & BRIDGE_CONTROL_BUS_RESET:
                self.reset_secondary_bus()

    def seal(self) -> None:
        """Take the current bytes as the power-on state `reset` goes back to."""
        self.power_on = bytes(self.config)

    def reset(self) -> None:
        """Back to the power-on state; a bridge resets the functions behind it too."""
        self.config[:] = self.power_on
        if self.is_bridge:
            self.reset_secondary_bus()

    def reset_secondary_bus(self) -> None:
        """Reset every function on the secondary bus (and, through bridges, below it)."""
        for function in (self.secondary or {}).values():
            function.reset()

    def bus_in_range(self, bus: int) -> bool:
        """Whether this bridge forwards config cycles for `bus` (as QEMU decides it)."""
        if not self.is_bridge or self.read(BRIDGE_CONTROL, 2) & BRIDGE_CONTROL_BUS_RESET:
            return False
        return self.config[SECONDARY_BUS] <= bus <= self.config[SUBORDINATE_BUS]

    def add_bar(self, register: int, space: int, prefetchable: bool, size: int) -> None:
        """Describe a BAR (or the expansion ROM) of `size` bytes at `register`."""
        rom = BRIDGE_EXPANSION_ROM if self.is_bridge else EXPANSION_ROM
        last_bar = BRIDGE_BAR1 if self.is_bridge else BAR5
        if register == rom:
            self.allow(register, 4, (size_mask(size, 0x7FF) & 0xFFFF_F800) | 1)
            return
        if not BAR0 <= register <= last_bar or register % 4:
            return
        if space == SPACE_IO:
            self.put(register, 4, 0x1)
            self.allow(register, 4, size_mask(size, 0x3) & 0xFFFF_FFFC)
        elif space == SPACE_MEM64 and register + 4 <= last_bar:
            flags = 0x4 | (0x8 if prefetchable else 0)
            mask = size_mask(size, 0xF)
            self.put(register, 4, flags)
            self.allow(register, 4, mask & 0xFFFF_FFF0)
            self.allow(register + 4, 4, mask >> 32)
        elif space in (SPACE_MEM32, SPACE_MEM64):
            self.put(register, 4, 0x8 if prefetchable else 0)
            self.allow(register, 4, size_mask(size, 0xF) & 0xFFFF_FFF0)
