"""The capability lists of QEMU's PCI devices, as SLOF walks them (pci-cap-find).

QEMU places each capability at the first free offset from 0x40 on, in the order the device
adds them, and puts the newest at the head of the list (the capabilities pointer at 0x34
names the last one added). What the device models add, in QEMU 7.2 on a pseries PHB (a
conventional PCI bus), checked against real QEMU's answers (tests/data/pci):

- virtio-pci with its modern interface (it has a 64-bit memory BAR): five vendor-specific
  capabilities (common, ISR, device and notify configuration in that BAR at 0x0, 0x1000,
  0x2000 and 0x3000, 0x1000 bytes each, notify multiplier 4; then the PCI configuration
  access window), then MSI-X with its table at offset 0 and its pending bits at 0x800 of
  BAR 1. Legacy-only virtio-pci has only the MSI-X capability.
- pci-bridge (1b36:0001): the standard hot-plug controller (SHPC), the slot numbering
  capability (chassis number) and 64-bit MSI with per-vector masking.
- qemu-xhci (1b36:000d): MSI-X only (MSI does not initialise on a pseries PHB), at 0x90,
  table at 0x3000 and pending bits at 0x3800 of BAR 0.
- ich9-ahci (8086:2922): the Serial ATA capability at 0xa8 (registers at BAR 4 offset
  0x10), then 64-bit MSI without masking at 0x80.
- any other device: what QEMU's tree says it has: MSI when the node has `ibm,req#msi`,
  MSI-X when it has `ibm,req#msi-x` (table in the first memory BAR), at the first free
  offsets; a device model that adds other capabilities first (or more) is not modelled.

A node with `ibm,pci-config-space-type` is a PCI Express function to QEMU: its config space
is 4 KiB. Its PCI Express capability is only added on an express bus, which a pseries PHB
is not, so there is none (as real QEMU answers for qemu-xhci).
"""
from __future__ import annotations

from slofpy.host.pci_config import (
    CAPABILITIES_POINTER, EXPRESS_CONFIG_SPACE_SIZE, STATUS, STATUS_CAPABILITIES, PciFunction,
)

FIRST_CAPABILITY = 0x40

CAP_MSI = 0x05
CAP_SLOT_ID = 0x04
CAP_VENDOR = 0x09
CAP_SHPC = 0x0C
CAP_MSIX = 0x11
CAP_SATA = 0x12

MSI_64BIT = 0x0080
MSI_PER_VECTOR_MASK = 0x0100
MSIX_CONTROL_WRITABLE = 0xC000  # function mask, enable

# virtio-pci vendor capability types (virtio 1.0)
VIRTIO_COMMON = 1
VIRTIO_NOTIFY = 2
VIRTIO_ISR = 3
VIRTIO_DEVICE = 4
VIRTIO_PCI_CONFIG = 5
VIRTIO_REGION_SIZE = 0x1000
VIRTIO_NOTIFY_MULTIPLIER = 4
VIRTIO_MSIX_BAR = 1
VIRTIO_MSIX_PBA_OFFSET = 0x800


class CapabilityList:
    """Adds capabilities to a function the way QEMU's pci_add_capability does."""

    def __init__(self, function: PciFunction):
        self.function = function
        self.next_free = FIRST_CAPABILITY

    def add(self, cap_id: int, body: bytes, writable: bytes = b"",
            offset: int | None = None) -> int:
        """Add a capability whose bytes after the ID and next pointer are `body`, at
        `offset` (default: the first free one); its offset. `writable` is the write mask
        of `body` (default: read-only)."""
        function = self.function
        offset = self.next_free if offset is None else offset
        length = 2 + len(body)
        function.config[offset] = cap_id
        function.config[offset + 1] = function.config[CAPABILITIES_POINTER]
        function.config[offset + 2:offset + length] = body
        function.writable[offset + 2:offset + 2 + len(writable)] = writable
        function.config[CAPABILITIES_POINTER] = offset
        function.put(STATUS, 2, function.read(STATUS, 2) | STATUS_CAPABILITIES)
        self.next_free = (offset + length + 3) & ~3
        return offset


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def add_msi(caps: CapabilityList, vectors: int, mask_bits: bool,
            offset: int | None = None) -> int:
    """64-bit MSI for `vectors` (a power of two) with optional per-vector masking."""
    multiple = max(vectors, 1).bit_length() - 1
    control = MSI_64BIT | (MSI_PER_VECTOR_MASK if mask_bits else 0) | (multiple << 1)
    body = _le(control, 2) + bytes(4 + 4 + 2) + (bytes(2 + 4 + 4) if mask_bits else b"")
    # enable and "multiple message enable"; address low (dword aligned), high; data;
    # the mask bits of the vectors there are.
    writable = _le(0x0071, 2) + _le(0xFFFF_FFFC, 4) + _le(0xFFFF_FFFF, 4) + _le(0xFFFF, 2)
    if mask_bits:
        writable += bytes(2) + _le((1 << max(vectors, 1)) - 1, 4) + bytes(4)
    return caps.add(CAP_MSI, body, writable, offset)


def add_msix(caps: CapabilityList, vectors: int, bar: int, table: int, pba: int,
             offset: int | None = None) -> int:
    """MSI-X for `vectors` with its table and pending bits at offsets of BAR index `bar`."""
    body = _le(vectors - 1, 2) + _le(table | bar, 4) + _le(pba | bar, 4)
    return caps.add(CAP_MSIX, body, _le(MSIX_CONTROL_WRITABLE, 2), offset)


def extended_config_space(function: PciFunction) -> None:
    """Grow a function's config space to the 4 KiB of a PCI Express function."""
    if function.size < EXPRESS_CONFIG_SPACE_SIZE:
        grow = EXPRESS_CONFIG_SPACE_SIZE - function.size
        function.config.extend(bytes(grow))
        function.writable.extend(bytes(grow))
        function.size = EXPRESS_CONFIG_SPACE_SIZE


def add_virtio_modern(caps: CapabilityList, bar: int) -> None:
    """The five virtio-pci vendor capabilities, for the modern interface in BAR `bar`."""
    regions = ((VIRTIO_COMMON, 0), (VIRTIO_ISR, 1), (VIRTIO_DEVICE, 2))
    for kind, index in regions:
        caps.add(CAP_VENDOR, bytes([16, kind, bar, 0, 0, 0])
                 + _le(index * VIRTIO_REGION_SIZE, 4) + _le(VIRTIO_REGION_SIZE, 4))
    caps.add(CAP_VENDOR, bytes([20, VIRTIO_NOTIFY, bar, 0, 0, 0])
             + _le(3 * VIRTIO_REGION_SIZE, 4) + _le(VIRTIO_REGION_SIZE, 4)
             + _le(VIRTIO_NOTIFY_MULTIPLIER, 4))
    # The access window: BAR, offset, length and data are the driver's to set.
    caps.add(CAP_VENDOR, bytes([20, VIRTIO_PCI_CONFIG, 0, 0, 0, 0]) + bytes(12),
             bytes([0, 0, 0xFF, 0, 0, 0]) + bytes([0xFF] * 12))


def add_virtio(caps: CapabilityList, modern_bar: int | None, msix_vectors: int) -> None:
    """virtio-pci's list: modern vendor capabilities (when it has them), then MSI-X."""
    if modern_bar is not None:
        add_virtio_modern(caps, modern_bar)
    if msix_vectors:
        add_msix(caps, msix_vectors, VIRTIO_MSIX_BAR, 0, VIRTIO_MSIX_PBA_OFFSET)


def add_pci_bridge(caps: CapabilityList, chassis: int, msi_vectors: int) -> None:
    """QEMU's pci-bridge: SHPC, slot numbering (first in chassis `chassis`), MSI."""
    caps.add(CAP_SHPC, bytes(6))
    caps.add(CAP_SLOT_ID, bytes([0x20, chassis & 0xFF]))
    if msi_vectors:
        add_msi(caps, msi_vectors, mask_bits=True)


XHCI_MSIX_OFFSET = 0x90
XHCI_MSIX_TABLE = 0x3000
XHCI_MSIX_PBA = 0x3800


def add_qemu_xhci(caps: CapabilityList, msix_vectors: int) -> None:
    """qemu-xhci's MSI-X (table and pending bits in BAR 0)."""
    if msix_vectors:
        add_msix(caps, msix_vectors, 0, XHCI_MSIX_TABLE, XHCI_MSIX_PBA, XHCI_MSIX_OFFSET)


ICH9_AHCI_SATA_OFFSET = 0xA8
ICH9_AHCI_MSI_OFFSET = 0x80


def add_ich9_ahci(caps: CapabilityList, msi_vectors: int) -> None:
    """ich9-ahci's Serial ATA capability (revision 1.0, index/data pair in BAR 4 at
    0x10), then its MSI."""
    caps.add(CAP_SATA, _le(0x0010, 2) + _le(0x0000_0048, 4), offset=ICH9_AHCI_SATA_OFFSET)
    if msi_vectors:
        add_msi(caps, msi_vectors, mask_bits=False, offset=ICH9_AHCI_MSI_OFFSET)
