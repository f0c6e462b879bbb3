"""QEMU 7.2's virtio-pci transport: what a driver reaches through configuration space and
the device's BARs, with H_LOGICAL_CI_LOAD/STORE on the BARs' CPU addresses.

Which interfaces a function has follows its seed node (QEMU lists every BAR in `reg`):

* legacy (an I/O BAR 0; `disable-modern=on` or a transitional device): the virtio header
  there: host features, guest features, queue page number, queue size, queue select, queue
  notify, status, ISR, then the device configuration (at 20: MSI-X is never enabled by the
  firmware). Header fields are little-endian; the device configuration and the rings are in
  the guest's byte order (big-endian);
* modern (a 64-bit BAR 4 of 16 KiB; transitional or `disable-legacy=on`): vendor-specific
  capabilities in configuration space point into BAR 4: common configuration at 0x0, ISR
  at 0x1000, device configuration at 0x2000, notifications at 0x3000 (4 bytes a queue).
  Everything there is little-endian, and so are the rings once VIRTIO_F_VERSION_1 is set.

Configuration space gets QEMU's capability list: MSI-X at 0x98 (table in BAR 1) first, then
the PCI-configuration-access capability at 0x84, notify 0x70, device 0x60, ISR 0x50 and
common 0x40 (a legacy-only device has its MSI-X capability at 0x40 and nothing else).

The CPU addresses are those of the PHB's `ranges` (I/O, 32-bit and 64-bit memory windows);
a BAR answers while its space is enabled in the command register. The CI hcalls load and
store big-endian, so a little-endian register reads byte-swapped, as on QEMU.
"""
from __future__ import annotations

from slofpy.abi.guest_memory import GuestMemory
from slofpy.host import fdt_lookup
from slofpy.host.pci import (Bar, PciBus, Window, bar_address, host_bridges, node_bars,
                             node_function, phb_windows)
from slofpy.host.pci_config import BAR0, COMMAND, SPACE_IO, PciFunction
from slofpy.host.scsi_disk import ScsiDevice
from slofpy.host.virtqueue import Virtqueue, VirtqueueError
from slofpy.host.virtio_devices import (DEVICE_MODELS, F_VERSION_1, LEGACY_ONLY_FEATURES,
                                        TRANSITIONAL_TYPES, VirtioBlk, VirtioDevice,
                                        VirtioNet, VirtioScsi)

MODERN_BAR = 4
REGION_SIZE = 0x1000
COMMON_OFFSET, ISR_OFFSET, DEVICE_OFFSET, NOTIFY_OFFSET = 0x0, 0x1000, 0x2000, 0x3000
NOTIFY_MULTIPLIER = 4
LEGACY_CONFIG = 20
STATUS_FEATURES_OK = 8
STATUS_NEEDS_RESET = 0x40

# legacy header
L_HOST_FEATURES, L_GUEST_FEATURES, L_QUEUE_PFN, L_QUEUE_NUM = 0, 4, 8, 12
L_QUEUE_SEL, L_QUEUE_NOTIFY, L_STATUS, L_ISR = 14, 16, 18, 19
# modern common configuration
C_DFSELECT, C_DF, C_GFSELECT, C_GF, C_MSIX, C_NUMQ, C_STATUS, C_GENERATION = (
    0, 4, 8, 12, 16, 18, 20, 21)
C_QSELECT, C_QSIZE, C_QMSIX, C_QENABLE, C_QNOTIFY_OFF = 22, 24, 26, 28, 30
C_QDESC, C_QAVAIL, C_QUSED = 32, 40, 48
COMMON_SIZE = 56


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


class VirtioPciFunction:
    """One virtio PCI function: the transport state and its device model."""

    def __init__(self, function: PciFunction, device: VirtioDevice, legacy: bool,
                 modern: bool, vectors: int):
        self.function = function
        self.device = device
        self.legacy = legacy
        self.modern = modern
        self.vectors = vectors
        self.reset()
        # the function's capability list (the virtio vendor capabilities, MSI-X) is QEMU's,
        # built with the function by the PCI model (pci_capabilities.py); the regions it
        # points at are the ones decoded here

    # --- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Device reset (status 0 written, or a legacy queue address of 0)."""
        self.status = 0
        self.isr = 0
        self.guest_features = 0
        self.dfselect = self.gfselect = 0
        self.queue_sel = 0
        self.generation = 0
        self.pending_rings = [[0, 0, 0] for _ in self.device.queues]
        self.device.reset()

    def host_features(self, modern: bool) -> int:
        """The features offered through the modern or the legacy interface."""
        features = self.device.features()
        if modern:
            return (features | F_VERSION_1) & ~LEGACY_ONLY_FEATURES
        return (features | (1 << 30)) & 0xFFFFFFFF

    @property
    def ring_order(self) -> str:
        """The byte order of rings and the data in them: little for a virtio 1.0 driver."""
        return "little" if self.guest_features & F_VERSION_1 else "big"

    def _queue(self) -> Virtqueue | None:
        if self.queue_sel < len(self.device.queues):
            return self.device.queues[self.queue_sel]
        return None

    def _set_status(self, value: int) -> None:
        if value == 0:
            self.reset()
            return
        if (self.guest_features & F_VERSION_1 and value & STATUS_FEATURES_OK
                and not self.status & STATUS_FEATURES_OK):
            offered = self.host_features(True)
            if self.guest_features & ~offered:
                return
        self.status = value & 0xFF

    def notify(self, memory: GuestMemory, index: int) -> None:
        """The driver notified queue `index`. Rings QEMU cannot walk (a descriptor loop, an
        index outside the table) break the device, as QEMU's virtio_error does: it sets
        NEEDS_RESET and takes nothing more until a reset."""
        if self.status & STATUS_NEEDS_RESET:
            return
        try:
            self.device.notify(memory, index, self.ring_order)
        except VirtqueueError as error:
            self.device.unmodelled.append(f"broken ring: {error}")
            self.status |= STATUS_NEEDS_RESET

    # --- legacy header ------------------------------------------------------------------------
    def legacy_read(self, offset: int, size: int) -> bytes:
        if offset >= LEGACY_CONFIG:
            return self._config_bytes("big", offset - LEGACY_CONFIG, size)
        queue = self._queue()
        values = {L_HOST_FEATURES: (self.host_features(False), 4),
                  L_GUEST_FEATURES: (self.guest_features & 0xFFFFFFFF, 4),
                  L_QUEUE_PFN: ((queue.desc >> 12) if queue else 0, 4),
                  L_QUEUE_NUM: (queue.size if queue else 0, 2),
                  L_QUEUE_SEL: (self.queue_sel, 2),
                  L_QUEUE_NOTIFY: (0, 2),
                  L_STATUS: (self.status, 1)}
        if offset == L_ISR:
            value, self.isr = self.isr, 0
            return bytes([value]).ljust(size, b"\xff")
        return self._fields(values, offset, size)

    def legacy_write(self, memory: GuestMemory, offset: int, data: bytes) -> None:
        value = _le(data)
        if offset == L_GUEST_FEATURES:
            self.guest_features = value & self.host_features(False)
        elif offset == L_QUEUE_PFN:
            queue = self._queue()
            if value == 0:
                self.reset()
            elif queue is not None:
                queue.set_legacy_pfn(value)
        elif offset == L_QUEUE_SEL:
            self.queue_sel = value
        elif offset == L_QUEUE_NOTIFY:
            self.notify(memory, value)
        elif offset == L_STATUS:
            self._set_status(value)

    # --- modern regions --------------------------------------------------------------------------
    def common_read(self, offset: int, size: int) -> bytes:
        queue = self._queue()
        features = self.host_features(True)
        rings = self.pending_rings[self.queue_sel] if queue else [0, 0, 0]
        values = {C_DFSELECT: (self.dfselect, 4),
                  C_DF: ((features >> (32 * self.dfselect)) & 0xFFFFFFFF
                         if self.dfselect < 2 else 0, 4),
                  C_GFSELECT: (self.gfselect, 4),
                  C_GF: ((self.guest_features >> (32 * self.gfselect)) & 0xFFFFFFFF
                         if self.gfselect < 2 else 0, 4),
                  C_MSIX: (0xFFFF, 2),
                  C_NUMQ: (len(self.device.queues), 2),
                  C_STATUS: (self.status, 1),
                  C_GENERATION: (self.generation, 1),
                  C_QSELECT: (self.queue_sel, 2),
                  C_QSIZE: (queue.size if queue else 0, 2),
                  C_QMSIX: (0xFFFF, 2),
                  C_QENABLE: (int(queue.enabled) if queue else 0, 2),
                  C_QNOTIFY_OFF: (self.queue_sel, 2),
                  C_QDESC: (rings[0] & 0xFFFFFFFF, 4), C_QDESC + 4: (rings[0] >> 32, 4),
                  C_QAVAIL: (rings[1] & 0xFFFFFFFF, 4), C_QAVAIL + 4: (rings[1] >> 32, 4),
                  C_QUSED: (rings[2] & 0xFFFFFFFF, 4), C_QUSED + 4: (rings[2] >> 32, 4)}
        return self._fields(values, offset, size)

    def common_write(self, offset: int, data: bytes) -> None:
        value = _le(data)
        queue = self._queue()
        if offset == C_DFSELECT:
            self.dfselect = value
        elif offset == C_GFSELECT:
            self.gfselect = value
        elif offset == C_GF and self.gfselect < 2:
            shift = 32 * self.gfselect
            features = (self.guest_features & ~(0xFFFFFFFF << shift)) | (value << shift)
            self.guest_features = features & self.host_features(True)
        elif offset == C_STATUS:
            self._set_status(value)
        elif offset == C_QSELECT:
            self.queue_sel = value
        elif offset == C_QSIZE and queue is not None and value and not queue.enabled:
            queue.size = value
        elif offset in (C_QDESC, C_QDESC + 4, C_QAVAIL, C_QAVAIL + 4, C_QUSED, C_QUSED + 4) \
                and queue is not None:
            ring, high = divmod(offset - C_QDESC, 8)
            rings = self.pending_rings[self.queue_sel]
            if high:
                rings[ring] = (rings[ring] & 0xFFFFFFFF) | (value << 32)
            else:
                rings[ring] = (rings[ring] & ~0xFFFFFFFF) | value
        elif offset == C_QENABLE and queue is not None and value == 1:
            queue.desc, queue.avail, queue.used = self.pending_rings[self.queue_sel]
            queue.enabled = True
            queue.last_avail = queue.used_idx = 0

    def isr_read(self) -> int:
        value, self.isr = self.isr, 0
        return value

    def _config_bytes(self, order: str, offset: int, size: int) -> bytes:
        config = self.device.config(order)
        if offset < 0 or offset + size > len(config):
            return b"\xff" * size
        return config[offset:offset + size]

    @staticmethod
    def _fields(values: dict[int, tuple[int, int]], offset: int, size: int) -> bytes:
        """A register read: the field starting at offset, little-endian, in `size` bytes
        (QEMU answers an access that does not match a field with zeros)."""
        field = values.get(offset)
        if field is None or field[1] < size:
            return bytes(size)
        return (field[0] & ((1 << (8 * field[1])) - 1)).to_bytes(field[1], "little")[:size]

    # --- BAR access -------------------------------------------------------------------------------
    def bar_read(self, bar: int, offset: int, size: int) -> bytes:
        if bar == 0 and self.legacy:
            return self.legacy_read(offset, size)
        if bar == MODERN_BAR and self.modern:
            region, at = divmod(offset, REGION_SIZE)
            if region == 0:
                return self.common_read(at, size)
            if region == 1:
                return bytes([self.isr_read()]).ljust(size, b"\0") if at == 0 else bytes(size)
            if region == 2:
                return self._config_bytes("little", at, size)
            return bytes(size)
        return bytes(size)                  # the MSI-X table, never enabled by the firmware

    def bar_write(self, memory: GuestMemory, bar: int, offset: int, data: bytes) -> None:
        if bar == 0 and self.legacy:
            self.legacy_write(memory, offset, data)
        elif bar == MODERN_BAR and self.modern:
            region, at = divmod(offset, REGION_SIZE)
            if region == 0:
                self.common_write(at, data)
            elif region == 3:
                self.notify(memory, at // NOTIFY_MULTIPLIER)


class VirtioPci:
    """Every virtio function of the machine's PHBs, reached by CPU address."""

    def __init__(self) -> None:
        self.windows: list[Window] = []
        self.functions: list[tuple[int, VirtioPciFunction, list[Bar]]] = []

    @classmethod
    def from_tree(cls, blob: bytes, pci: PciBus, disks: dict[str, bytearray] | None = None,
                  scsi: dict[str, list[ScsiDevice]] | None = None) -> VirtioPci:
        """The virtio functions of the seed's PHBs; `disks` and `scsi` give a virtio-blk or
        virtio-scsi function (by its `ibm,loc-code`) its image or its SCSI devices."""
        self = cls()
        fdt = fdt_lookup.open_tree(blob)
        for phb, buid, props in host_bridges(fdt):
            self.windows += phb_windows(buid, props)
            for node in fdt_lookup.descendant_nodes(fdt, phb):
                node_props = fdt_lookup.node_properties(fdt, node)
                made = _make_function(buid, node_props, pci, disks or {}, scsi or {})
                if made is not None:
                    self.functions.append((buid, *made))
        return self

    def _decode(self, addr: int, size: int) -> tuple[VirtioPciFunction, int, int] | None:
        for window in self.windows:
            if not window.cpu <= addr < window.cpu + window.size:
                continue
            pci_addr = addr - window.cpu + window.pci
            for buid, vfn, bars in self.functions:
                if buid != window.buid:
                    continue
                command = vfn.function.read(COMMAND, 2)
                for bar in bars:
                    if (bar.space == SPACE_IO) != (window.space == SPACE_IO):
                        continue
                    if not command & (1 if bar.space == SPACE_IO else 2):
                        continue
                    base = bar_address(vfn.function, bar)
                    if base and base <= pci_addr and pci_addr + size <= base + bar.size:
                        return vfn, (bar.register - BAR0) // 4, pci_addr - base
        return None

    def load(self, size: int, addr: int) -> bytes | None:
        """What a CI load of `size` bytes at CPU address `addr` reads, None if no BAR."""
        hit = self._decode(addr, size)
        if hit is None:
            return None
        vfn, bar, offset = hit
        return vfn.bar_read(bar, offset, size)

    def store(self, memory: GuestMemory, size: int, addr: int, value: int) -> bool:
        """A CI store of `size` bytes (big-endian) at `addr`; False if no BAR is there."""
        hit = self._decode(addr, size)
        if hit is None:
            return False
        vfn, bar, offset = hit
        vfn.bar_write(memory, bar, offset, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "big"))
        return True

    def function_at(self, buid: int, devfn: int) -> VirtioPciFunction | None:
        for fbuid, vfn, _ in self.functions:
            if fbuid == buid and vfn.function.devfn == devfn:
                return vfn
        return None


def _make_function(buid: int, props: dict[str, bytes], pci: PciBus,
                   disks: dict[str, bytearray], scsi: dict[str, list[ScsiDevice]]
                   ) -> tuple[VirtioPciFunction, list[Bar]] | None:
    def number(name: str) -> int:
        values = fdt_lookup.cells(props.get(name, b""))
        return values[0] if values else -1
    if number("vendor-id") != 0x1AF4:
        return None
    device_id = number("device-id")
    kind = TRANSITIONAL_TYPES.get(device_id, device_id - 0x1040 if device_id >= 0x1040 else 0)
    model = DEVICE_MODELS.get(kind)
    reg = fdt_lookup.cells(props.get("reg", b""))
    if model is None or len(reg) < 5:
        return None
    function = node_function(pci, buid, reg)
    if function is None:
        return None
    bars = node_bars(reg)
    legacy = any(b.register == BAR0 and b.space == SPACE_IO for b in bars)
    modern = any(b.register == BAR0 + 4 * MODERN_BAR for b in bars)
    msix = any(b.register == BAR0 + 4 for b in bars)
    where = props.get("ibm,loc-code", b"").rstrip(b"\0").decode("latin-1")
    if model is VirtioNet:
        mac = props.get("local-mac-address")
        device: VirtioDevice = VirtioNet(mac) if mac else VirtioNet()
    elif model is VirtioBlk:
        device = VirtioBlk(disks.get(where))
    elif model is VirtioScsi:
        device = VirtioScsi(scsi.get(where))
    else:
        device = model()
    # QEMU lists the MSI-X vectors a function has in its node; SLOF reads them back from
    # the capability
    vectors = number("ibm,req#msi-x")
    if vectors < 0:
        vectors = MSIX_VECTORS.get(device.kind, 2)
    vectors = vectors if msix else 0
    return VirtioPciFunction(function, device, legacy, modern, vectors), bars


MSIX_VECTORS = {"net": 4, "blk": 2, "scsi": 4, "serial": 2, "9p": 2, "rng": 2}
"""QEMU's default MSI-X vectors of each virtio-*-pci device on a one-CPU machine (used when\nthe node has no `ibm,req#msi-x`)."""
