"""PCI functions rebuilt from the nodes of QEMU's initial tree, as QEMU 7.2's devices answer.

QEMU's tree describes each PCI function below a PHB with `reg` (the config address, then
one entry per BAR), `vendor-id`, `device-id`, `revision-id`, `class-code`, `subsystem-*`,
`interrupts`, `66mhz-capable`, `fast-back-to-back`, `devsel-speed`, `ibm,req#msi(-x)` and
`ibm,pci-config-space-type`. `function_from_node` turns one node into a `PciFunction` in
its power-on state: a type-0 header for a device, a type-1 header for a PCI-to-PCI bridge
(class 0604), with the write masks, BAR size masks and capability lists QEMU's devices have
(facts checked against real QEMU: tests/data/pci/*.config.txt).

What a write may change (both header types): command bits I/O, memory, bus master, SERR
and interrupt disable; the cache line size; the interrupt line; the BAR address bits. A
bridge also has writable bus numbers and secondary latency timer, 16-bit I/O, 32-bit
memory and 64-bit prefetchable windows, and bridge control bits 0-9 and 11.
"""
from __future__ import annotations

from slofpy.host import fdt_lookup
from slofpy.host.pci_capabilities import (
    CapabilityList, add_ich9_ahci, add_msi, add_msix, add_pci_bridge, add_qemu_xhci,
    add_virtio, extended_config_space,
)
from slofpy.host.pci_config import (
    BAR0, BRIDGE_CONTROL, CACHE_LINE_SIZE, CAPABILITIES_POINTER, LATENCY_TIMER, CLASS_CODE, COMMAND, DEVICE_ID, HEADER_TYPE,
    HEADER_TYPE_BRIDGE, HEADER_TYPE_MULTIFUNCTION, INTERRUPT_LINE, INTERRUPT_PIN, IO_BASE,
    IO_BASE_UPPER, MAX_LATENCY, MEMORY_BASE, MIN_GRANT, PREFETCHABLE_BASE,
    PREFETCHABLE_BASE_UPPER, PRIMARY_BUS, REVISION_ID, SECONDARY_STATUS, SPACE_IO,
    SPACE_MEM64, STATUS, SUBSYSTEM_ID, SUBSYSTEM_VENDOR_ID, VENDOR_ID, PciFunction,
)

VIRTIO_VENDOR_ID = 0x1AF4
VIRTIO_DEVICE_IDS = range(0x1000, 0x1080)
REDHAT_VENDOR_ID = 0x1B36
PCI_BRIDGE_DEVICE_ID = 0x0001
QEMU_XHCI_DEVICE_ID = 0x000D
EHCI_CLASS = 0x0C0320
ICH9_AHCI = (0x8086, 0x2922)
LSI53C895A = (0x1000, 0x0012)
RTL8139 = (0x10EC, 0x8139)
RTL8139_CAPABILITIES_POINTER = 0xDC
VGA_CLASS = 0x0300
"""Base class and subclass of a VGA-compatible display controller."""
PCI_TO_PCI_BRIDGE_CLASS = 0x0604

COMMAND_WRITABLE = 0x0507
"""I/O space, memory space, bus master, SERR# enable, interrupt disable (as QEMU's)."""
STATUS_66MHZ = 0x0020
STATUS_FAST_BACK_TO_BACK = 0x0080
BRIDGE_SECONDARY_STATUS = STATUS_66MHZ | STATUS_FAST_BACK_TO_BACK
BRIDGE_CONTROL_WRITABLE = 0x0BFF
IO_RANGE_16BIT = 0x0
PREFETCHABLE_RANGE_64BIT = 0x1


def _number(props: dict[str, bytes], name: str, default: int = 0) -> int:
    values = fdt_lookup.cells(props.get(name, b""))
    return values[0] if values else default


def config_address(props: dict[str, bytes]) -> int | None:
    """The phys.hi of a node's first `reg` entry (its config address), or None."""
    reg = fdt_lookup.cells(props.get("reg", b""))
    return reg[0] if len(reg) >= 5 else None


def is_bridge_node(props: dict[str, bytes]) -> bool:
    """Whether QEMU's node describes a PCI-to-PCI bridge (type-1 header)."""
    return _number(props, "class-code") >> 8 == PCI_TO_PCI_BRIDGE_CLASS


def _add_bars(function: PciFunction, props: dict[str, bytes]) -> int | None:
    """The BARs of the `reg` entries after the first; the index of a 64-bit memory BAR."""
    reg = fdt_lookup.cells(props.get("reg", b""))
    # QEMU's reg does not carry the prefetchable bit; the devices do: virtio-pci registers
    # its 64-bit "modern" BAR as prefetchable memory, and VGA-compatible displays (std VGA,
    # Cirrus, virtio-vga) their frame buffer, BAR0; the other devices QEMU gives 64-bit
    # BARs to (xhci, pci-bridge, ...) register plain memory.
    virtio = _number(props, "vendor-id", 0xFFFF) == VIRTIO_VENDOR_ID
    vga = _number(props, "class-code") >> 8 == VGA_CLASS
    bar64 = None
    for start in range(5, len(reg) - 4, 5):
        hi = reg[start]
        size = fdt_lookup.combine_cells(reg[start + 3:start + 5])
        space = (hi >> 24) & 0x3
        register = hi & 0xFF
        prefetchable = (bool(hi & 0x4000_0000) or (virtio and space == SPACE_MEM64)
                        or (vga and register == BAR0 and space != SPACE_IO))
        function.add_bar(register, space, prefetchable, size)
        if space == SPACE_MEM64 and bar64 is None:
            bar64 = (register - BAR0) // 4
    return bar64


def _first_memory_bar(props: dict[str, bytes]) -> int:
    reg = fdt_lookup.cells(props.get("reg", b""))
    for start in range(5, len(reg) - 4, 5):
        if (reg[start] >> 24) & 0x3 in (2, 3):
            return ((reg[start] & 0xFF) - BAR0) // 4
    return 0


def _add_bridge_registers(function: PciFunction) -> None:
    """The type-1 fields after the BARs, in their power-on (reset) state."""
    function.allow(PRIMARY_BUS, 4, 0xFFFF_FFFF)  # primary, secondary, subordinate, latency
    function.put(IO_BASE, 2, IO_RANGE_16BIT * 0x0101)
    function.allow(IO_BASE, 2, 0xF0F0)
    function.put(SECONDARY_STATUS, 2, BRIDGE_SECONDARY_STATUS)
    function.allow(MEMORY_BASE, 4, 0xFFF0_FFF0)
    function.put(PREFETCHABLE_BASE, 4, PREFETCHABLE_RANGE_64BIT * 0x0001_0001)
    function.allow(PREFETCHABLE_BASE, 4, 0xFFF0_FFF0)
    function.allow(PREFETCHABLE_BASE_UPPER, 8, (1 << 64) - 1)
    function.allow(IO_BASE_UPPER, 4, 0)
    function.allow(BRIDGE_CONTROL, 2, BRIDGE_CONTROL_WRITABLE)


def _add_device_registers(function: PciFunction, props: dict[str, bytes]) -> None:
    """Device-specific header fields and registers after the header, as QEMU's models of
    the LSI SCSI host, the RTL8139 NIC, the ICH9 AHCI host and the USB hosts set them."""
    vendor = _number(props, "vendor-id", 0xFFFF)
    device = _number(props, "device-id", 0xFFFF)
    if (vendor, device) == LSI53C895A:
        function.put(LATENCY_TIMER, 1, 0xFF)
        function.allow(LATENCY_TIMER, 1, 0xFF)
    elif (vendor, device) == RTL8139:
        # a pointer without a list (the status register does not announce one)
        function.put(CAPABILITIES_POINTER, 1, RTL8139_CAPABILITIES_POINTER)
    elif (vendor, device) == ICH9_AHCI:
        function.put(0x90, 1, 0x40)   # port mapping
    elif (vendor, device) == (REDHAT_VENDOR_ID, QEMU_XHCI_DEVICE_ID):
        function.put(0x60, 1, 0x30)   # serial bus release: USB 3.0
    elif _number(props, "class-code") == EHCI_CLASS:
        function.put(0x60, 1, 0x20)   # serial bus release: USB 2.0
        function.put(0x61, 1, 0x20)   # frame length adjustment
        function.put(0x68, 1, 0x01)   # legacy support capability (EHCI's own list)
        function.put(0x6F, 1, 0xC0)   # its control/status word


def function_from_node(props: dict[str, bytes], multifunction: bool = False,
                       chassis: int = 0) -> PciFunction | None:
    """A `PciFunction` in its power-on state from a node's properties (None without a
    usable `reg`). `multifunction` sets the header's multi-function bit; `chassis` is a
    bridge's chassis number (QEMU's `chassis_nr`, which its tree does not record)."""
    phys_hi = config_address(props)
    if phys_hi is None:
        return None
    bridge = is_bridge_node(props)
    function = PciFunction(devfn=(phys_hi >> 8) & 0xFF, secondary={} if bridge else None)
    vendor = _number(props, "vendor-id", 0xFFFF)
    device = _number(props, "device-id", 0xFFFF)
    function.put(VENDOR_ID, 2, vendor)
    function.put(DEVICE_ID, 2, device)
    function.put(REVISION_ID, 1, _number(props, "revision-id"))
    function.put(CLASS_CODE, 3, _number(props, "class-code"))
    function.put(CACHE_LINE_SIZE, 1, _number(props, "cache-line-size"))
    header = (HEADER_TYPE_BRIDGE if bridge else 0) | (
        HEADER_TYPE_MULTIFUNCTION if multifunction else 0)
    function.put(HEADER_TYPE, 1, header)
    status = (_number(props, "devsel-speed") & 3) << 9
    if "66mhz-capable" in props:
        status |= STATUS_66MHZ
    if "fast-back-to-back" in props:
        status |= STATUS_FAST_BACK_TO_BACK
    function.put(STATUS, 2, status)
    function.put(INTERRUPT_PIN, 1, _number(props, "interrupts"))
    function.allow(COMMAND, 2, COMMAND_WRITABLE)
    function.allow(CACHE_LINE_SIZE, 1, 0xFF)
    function.allow(INTERRUPT_LINE, 1, 0xFF)
    if bridge:
        _add_bridge_registers(function)
    else:
        function.put(SUBSYSTEM_VENDOR_ID, 2, _number(props, "subsystem-vendor-id"))
        function.put(SUBSYSTEM_ID, 2, _number(props, "subsystem-id"))
        function.put(MIN_GRANT, 1, _number(props, "min-grant"))
        function.put(MAX_LATENCY, 1, _number(props, "max-latency"))
    bar64 = _add_bars(function, props)

    if "ibm,pci-config-space-type" in props:
        extended_config_space(function)
    _add_device_registers(function, props)

    caps = CapabilityList(function)
    msi = _number(props, "ibm,req#msi")
    msix = _number(props, "ibm,req#msi-x")
    if vendor == VIRTIO_VENDOR_ID and device in VIRTIO_DEVICE_IDS:
        add_virtio(caps, bar64, msix)
    elif bridge and (vendor, device) == (REDHAT_VENDOR_ID, PCI_BRIDGE_DEVICE_ID):
        add_pci_bridge(caps, chassis, msi)
    elif (vendor, device) == (REDHAT_VENDOR_ID, QEMU_XHCI_DEVICE_ID):
        add_qemu_xhci(caps, msix)
    elif (vendor, device) == ICH9_AHCI:
        add_ich9_ahci(caps, msi)
    else:
        if msi:
            add_msi(caps, msi, mask_bits=False)
        if msix:
            add_msix(caps, msix, _first_memory_bar(props), 0, 0x800)
    return function
