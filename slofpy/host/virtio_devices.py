"""The virtio devices of QEMU 7.2 a pseries seed can have, as their driver sees them.

Each `VirtioDevice` says what the transport (slofpy.host.virtio_pci) needs: the device's
feature bits, its virtqueues (count and sizes), its configuration space (built in the
byte order the driver reads it in: the guest's, big-endian, through the legacy interface;
little-endian once it is a virtio 1.0 device) and what it does when the driver notifies a
queue. Values are QEMU 7.2's defaults for `-device virtio-*-pci` on a one-CPU machine:

* virtio-net (no network backend, as with `-nic none`): queues rx, tx (256 each) and
  control (64); the MAC is the one QEMU put in the seed's `local-mac-address`. Frames the
  driver sends are dropped (no peer), their buffers given back; nothing is ever received.
* virtio-blk: one request queue of 256; the disk is an in-memory image (a blank 1 MiB one
  unless the host is given another); reads, writes, flushes and GET ID are carried out,
  other requests answer UNSUPP, and out-of-range ones IOERR.
* virtio-serial: with the MULTIPORT feature, 31 ports (64 queues: port 0's rx/tx of 128,
  the control pair of 32, ports 1..30); no port has a backend (no `virtconsole` device),
  so what the driver sends is dropped and the buffers given back with no bytes written.
* virtio-scsi: control, event and one request queue; requests go to the SCSI devices
  of its bus (slofpy.host.scsi_disk), by the target and LUN of the request (no device at
  the target: BAD_TARGET); a device reset resets the bus (POWER ON/RESET unit attention).
* virtio-9p and virtio-rng: features, queues and configuration only; requests on their
  queues are not modelled (the host records them in `unmodelled`).
"""
from __future__ import annotations

from slofpy.abi.guest_memory import GuestMemory
from slofpy.host.scsi_disk import ScsiDevice
from slofpy.host.virtqueue import Chain, Virtqueue

F_NOTIFY_ON_EMPTY = 1 << 24
F_ANY_LAYOUT = 1 << 27
F_RING_INDIRECT_DESC = 1 << 28
F_RING_EVENT_IDX = 1 << 29
F_BAD_FEATURE = 1 << 30
F_VERSION_1 = 1 << 32
LEGACY_ONLY_FEATURES = F_NOTIFY_ON_EMPTY | F_ANY_LAYOUT | F_BAD_FEATURE
"""Features a virtio 1.0 driver is not offered."""
COMMON_FEATURES = F_NOTIFY_ON_EMPTY | F_ANY_LAYOUT | F_RING_INDIRECT_DESC | F_RING_EVENT_IDX


def _bits(*numbers: int) -> int:
    value = 0
    for n in numbers:
        value |= 1 << n
    return value


class VirtioDevice:
    """What every virtio device model has; subclasses fill in the specifics."""

    kind = "virtio"
    device_features = 0
    queue_sizes: tuple[int, ...] = ()

    def __init__(self) -> None:
        self.queues = [Virtqueue(size) for size in self.queue_sizes]
        self.unmodelled: list[str] = []

    def features(self) -> int:
        return COMMON_FEATURES | self.device_features

    def config(self, order: str) -> bytes:
        """The device configuration space, multi-byte fields in byte order `order`."""
        return b""

    def reset(self) -> None:
        for queue in self.queues:
            queue.reset()

    def notify(self, memory: GuestMemory, index: int, order: str) -> None:
        """The driver notified queue `index`: take what it made available."""
        if index >= len(self.queues):
            return
        queue = self.queues[index]
        while True:
            chain = queue.pop(memory, order)
            if chain is None:
                return
            written = self.handle(memory, index, chain, order)
            if written is None:
                queue.last_avail = (queue.last_avail - 1) & 0xFFFF
                return
            queue.push(memory, order, chain, written)

    def handle(self, memory: GuestMemory, index: int, chain: Chain, order: str) -> int | None:
        """Carry out one chain of queue `index`; bytes written, or None to leave it there
        (a device that only uses it later, such as a receive queue)."""
        self.unmodelled.append(f"{self.kind} queue {index} request")
        return None


class VirtioNet(VirtioDevice):
    kind = "net"
    # MAC, STATUS, CTRL_VQ, CTRL_RX, CTRL_VLAN, CTRL_RX_EXTRA, GUEST_ANNOUNCE, CTRL_MAC_ADDR,
    # MRG_RXBUF (the offloads need a backend with a vnet header: there is none)
    device_features = _bits(5, 15, 16, 17, 18, 19, 20, 21, 23)
    queue_sizes = (256, 256, 64)
    LINK_UP = 1

    def __init__(self, mac: bytes = bytes.fromhex("525400123456")) -> None:
        super().__init__()
        self.mac = bytes(mac[:6]).ljust(6, b"\0")
        self.sent: list[bytes] = []

    def config(self, order: str) -> bytes:
        return (self.mac + self.LINK_UP.to_bytes(2, order)  # type: ignore[arg-type]
                + (1).to_bytes(2, order) + bytes(2))  # type: ignore[arg-type]

    def handle(self, memory: GuestMemory, index: int, chain: Chain, order: str) -> int | None:
        if index == 1:                      # transmit: no peer, the frame is dropped
            self.sent.append(chain.gather(memory))
            return 0
        if index == 0:                      # receive buffers wait for frames that never come
            return None
        return super().handle(memory, index, chain, order)


BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID = 0, 1, 4, 8
BLK_S_OK, BLK_S_IOERR, BLK_S_UNSUPP = 0, 1, 2
SECTOR = 512


class VirtioBlk(VirtioDevice):
    kind = "blk"
    # SEG_MAX, GEOMETRY, BLK_SIZE, FLUSH, TOPOLOGY, CONFIG_WCE, DISCARD, WRITE_ZEROES
    device_features = _bits(2, 4, 6, 9, 10, 11, 13, 14)
    queue_sizes = (256,)

    def __init__(self, image: bytearray | None = None, serial: bytes = b"") -> None:
        super().__init__()
        self.image = image if image is not None else bytearray(1 << 20)
        self.serial = serial

    @property
    def sectors(self) -> int:
        return len(self.image) // SECTOR

    def config(self, order: str) -> bytes:
        def n(value: int, size: int) -> bytes:
            return value.to_bytes(size, order)  # type: ignore[arg-type]
        cylinders, heads, sectors = _geometry(self.sectors)
        return (n(self.sectors, 8) + n(0, 4) + n(self.queue_sizes[0] - 2, 4)
                + n(cylinders, 2) + bytes([heads, sectors]) + n(SECTOR, 4)
                + bytes([0, 0]) + n(0, 2) + n(0, 4)      # topology: exp, offset, min, opt
                + bytes([1, 0]) + n(1, 2)                 # writeback, unused, num_queues
                + n(0x3FFFFF, 4) + n(256, 4) + n(1, 4)    # discard: max sectors, seg, align
                + n(0x3FFFFF, 4) + n(256, 4) + bytes([1]) + bytes(3))

    def handle(self, memory: GuestMemory, index: int, chain: Chain, order: str) -> int | None:
        out = chain.readable()
        ins = chain.writable()
        if not out or not ins or out[0].length < 16:
            self.unmodelled.append("blk request without header or status")
            return 0
        header = memory.read(out[0].addr, 16)
        kind = int.from_bytes(header[0:4], order) & ~0x80000000  # type: ignore[arg-type]
        sector = int.from_bytes(header[8:16], order)  # type: ignore[arg-type]
        status_buf = ins[-1]
        data_in = ins[:-1]
        status = BLK_S_OK
        written = 0
        if kind == BLK_T_IN:
            length = sum(b.length for b in data_in)
            start = sector * SECTOR
            if length % SECTOR or start + length > len(self.image):
                status = BLK_S_IOERR
            else:
                data = bytes(self.image[start:start + length])
                for b in data_in:
                    memory.write(b.addr, data[:b.length])
                    data = data[b.length:]
                written = length
        elif kind == BLK_T_OUT:
            data = b"".join(memory.read(b.addr, b.length) for b in out[1:])
            start = sector * SECTOR
            if len(data) % SECTOR or start + len(data) > len(self.image):
                status = BLK_S_IOERR
            else:
                self.image[start:start + len(data)] = data
        elif kind == BLK_T_FLUSH:
            pass
        elif kind == BLK_T_GET_ID:
            ident = self.serial[:20].ljust(20, b"\0")
            left = ident
            for b in data_in:
                memory.write(b.addr, left[:b.length])
                written += len(left[:b.length])
                left = left[b.length:]
        else:
            status = BLK_S_UNSUPP
        memory.write(status_buf.addr, bytes([status]))
        return written + 1


def _geometry(sectors: int) -> tuple[int, int, int]:
    """The CHS QEMU guesses for a disk with no partition table: 16 heads, 63 sectors."""
    cylinders = max(1, min(sectors // (16 * 63), 16383))
    return cylinders, 16, 63


class VirtioSerial(VirtioDevice):
    kind = "serial"
    MAX_PORTS = 31
    device_features = _bits(1, 2)           # MULTIPORT, EMERG_WRITE
    queue_sizes = (128, 128, 32, 32) + (128,) * (2 * (MAX_PORTS - 1))

    def __init__(self) -> None:
        super().__init__()
        self.dropped = bytearray()

    def config(self, order: str) -> bytes:
        return (bytes(4) + self.MAX_PORTS.to_bytes(4, order)  # type: ignore[arg-type]
                + bytes(4))

    def handle(self, memory: GuestMemory, index: int, chain: Chain, order: str) -> int | None:
        if index % 2 == 1:                  # a transmit queue: no port backend, dropped
            self.dropped += chain.gather(memory)
            return 0
        return None                         # receive buffers: nothing is ever sent in


SCSI_S_OK, SCSI_S_BAD_TARGET = 0, 3
SCSI_CDB_SIZE, SCSI_SENSE_SIZE = 32, 96
SCSI_REQ_SIZE = 19 + SCSI_CDB_SIZE
SCSI_RESP_SIZE = 12 + SCSI_SENSE_SIZE


class VirtioScsi(VirtioDevice):
    kind = "scsi"
    device_features = _bits(1, 2)           # HOTPLUG, CHANGE
    queue_sizes = (256, 256, 256)
    MAX_TARGET = 255
    MAX_LUN = 16383

    def __init__(self, devices: list[ScsiDevice] | None = None) -> None:
        super().__init__()
        self.devices = devices or []

    def config(self, order: str) -> bytes:
        def n(value: int, size: int) -> bytes:
            return value.to_bytes(size, order)  # type: ignore[arg-type]
        return (n(1, 4) + n(254, 4) + n(0xFFFF, 4) + n(128, 4) + n(16, 4)
                + n(SCSI_SENSE_SIZE, 4) + n(SCSI_CDB_SIZE, 4) + n(0, 2)
                + n(self.MAX_TARGET, 2) + n(self.MAX_LUN, 4))

    def reset(self) -> None:
        """A virtio reset resets the SCSI bus too: each device reports it (unit attention)."""
        super().reset()
        for device in self.devices:
            device.reset()

    def handle(self, memory: GuestMemory, index: int, chain: Chain, order: str) -> int | None:
        if index < 2:
            return None if index == 1 else super().handle(memory, index, chain, order)
        request = chain.gather(memory)
        if len(request) < SCSI_REQ_SIZE or chain.writable_size() < SCSI_RESP_SIZE:
            self.unmodelled.append("scsi request shorter than its header")
            return 0
        lun_field = request[0:8]
        cdb = request[19:19 + SCSI_CDB_SIZE]
        data_out = request[SCSI_REQ_SIZE:]
        target = lun_field[1]
        lun = int.from_bytes(lun_field[2:4], "big") & 0x3FFF
        device = next((d for d in self.devices if d.scsi_id == target and d.channel == 0),
                      None) if lun_field[0] == 1 else None
        if device is None:
            response = self._response(order, SCSI_S_BAD_TARGET, 0, b"", 0)
            return chain.scatter(memory, response)
        fetched = {"at": 0}

        def fetch(n: int) -> bytes:
            part = data_out[fetched["at"]:fetched["at"] + n]
            fetched["at"] += n
            return part
        result = device.execute(lun, cdb, fetch)
        room = chain.writable_size() - SCSI_RESP_SIZE
        data = result.data[:room] if room > 0 else b""
        residual = max(0, room - len(data)) if room > 0 else max(0, len(data_out)
                                                                 - result.data_out)
        sense = result.sense[:SCSI_SENSE_SIZE]
        if sense:
            device.sense_reported()
        response = self._response(order, SCSI_S_OK, result.status, sense, residual)
        return chain.scatter(memory, response + data)

    @staticmethod
    def _response(order: str, response: int, status: int, sense: bytes, residual: int) -> bytes:
        return (len(sense).to_bytes(4, order)  # type: ignore[arg-type]
                + residual.to_bytes(4, order)  # type: ignore[arg-type]
                + bytes(2) + bytes([status, response]) + sense.ljust(SCSI_SENSE_SIZE, b"\0"))


class Virtio9p(VirtioDevice):
    kind = "9p"
    device_features = _bits(0)              # MOUNT_TAG
    queue_sizes = (128,)

    def __init__(self, tag: bytes = b"share") -> None:
        super().__init__()
        self.tag = tag

    def config(self, order: str) -> bytes:
        return len(self.tag).to_bytes(2, order) + self.tag  # type: ignore[arg-type]


class VirtioRng(VirtioDevice):
    kind = "rng"
    queue_sizes = (8,)


DEVICE_MODELS = {1: VirtioNet, 2: VirtioBlk, 3: VirtioSerial, 4: VirtioRng, 8: VirtioScsi,
                 9: Virtio9p}
"""Virtio device type (PCI device ID 0x1040 + type, or a transitional 0x1000 + index) -> model."""
TRANSITIONAL_TYPES = {0x1000: 1, 0x1001: 2, 0x1002: 5, 0x1003: 3, 0x1004: 8, 0x1005: 4,
                      0x1009: 9}
