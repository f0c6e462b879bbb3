"""libvirtio: SLOF's virtio drivers (core, block, SCSI, net, serial), in Python.

What SLOF's lib/libvirtio does, with the stack effects of its virtio.code, reaching the
device only the way that C code does:

* configuration space through the Forth words its helpers evaluate (config-b@, config-l@)
  and BAR addresses through translate-my-address; memory from alloc-mem / free-mem;
  time from get-msecs;
* the device's registers with H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE (ci_read / ci_write
  on pseries); little-endian registers are byte-swapped as the C code's cpu_to_le does;
* the virtqueues in guest memory: big-endian for a legacy device, little-endian once
  VIRTIO_F_VERSION_1 is negotiated (a device with the vendor capabilities).

The driver's state (SLOF's struct virtio_device and the driver's statics) is kept in guest
memory, in the block virtio-setup-vd allocates (layout below, slofpy's own), so a snapshot
of the VM holds it. virtio-fs sets its device up (init, shutdown), but loading a file needs
a 9P conversation with the host, which slofpy does not model: virtio-fs-load says so.
"""
from __future__ import annotations

from ...abi.hcalls import H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE
from .base import CLibrary, c_word

STAT_ACKNOWLEDGE, STAT_DRIVER, STAT_DRIVER_OK, STAT_FEATURES_OK, STAT_FAILED = 1, 2, 4, 8, 128
F_VERSION_1 = 1 << 32
F_IOMMU_PLATFORM = 1 << 33
BLK_F_BLK_SIZE = 1 << 6
NET_F_MAC = 1 << 5
DESC_F_NEXT, DESC_F_WRITE = 1, 2
AVAIL_F_NO_INTERRUPT = 1
TIMEOUT_MS = 5000
SECTOR = 512
BLK_T_BARRIER = 0x80000000

# PCI
BAR0_REGISTER = 0x10
CAP_POINTER = 0x34
CAP_ID_VENDOR = 0x09
CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_DEVICE = 1, 2, 3, 4

# the legacy header and the modern common configuration
L_DEVICE_FEATURES, L_GUEST_FEATURES, L_QUEUE_ADDRESS, L_QUEUE_SIZE = 0, 4, 8, 12
L_QUEUE_SELECT, L_QUEUE_NOTIFY, L_DEVICE_STATUS, L_DEVICE_CONFIG = 14, 16, 18, 20
C_DFSEL, C_DF, C_GFSEL, C_GF, C_STATUS = 0, 4, 8, 12, 20
C_QSELECT, C_QSIZE, C_QENABLE, C_QNOTIFY_OFF, C_QDESC, C_QAVAIL, C_QUSED = (
    22, 24, 28, 30, 32, 40, 48)

# slofpy's layout of a device block (SLOF's struct virtio_device plus the driver's statics)
D_FEATURES, D_LEGACY, D_COMMON, D_NOTIFY, D_ISR, D_DEVICE, D_NOTIFY_MUL, D_CAPS = (
    0, 8, 16, 24, 32, 40, 48, 56)
D_RUNNING = 64                              # virtio-net: running; virtio-fs: buffer size
D_QUEUES = 72                               # 3 queues, Q_SIZE bytes each
Q_SIZE_, Q_BUF, Q_DESC, Q_AVAIL, Q_USED, Q_LAST_RX = 0, 8, 16, 24, 32, 40
Q_BYTES = 48
D_SCRATCH = D_QUEUES + 3 * Q_BYTES          # request headers, status bytes, a character
DEV_BYTES = D_SCRATCH + 64
S_BLK_HEADER, S_STATUS, S_CHAR, S_NET_HEADER = 0, 16, 24, 32

# virtio-net
NET_RX, NET_TX = 0, 1
NET_RX_BUFFERS = 128
NET_BUFFER_SIZE = 1514
NET_HDR_LEGACY, NET_HDR_V1 = 10, 12
# virtio-serial
SERIAL_RX, SERIAL_TX = 0, 1
SERIAL_RX_ELEM, SERIAL_RX_BUFFERS = 4, 128
# virtio-scsi
SCSI_CONTROL, SCSI_EVENT, SCSI_REQUEST = 0, 1, 2
SCSI_REQ_SIZE, SCSI_RESP_SIZE = 51, 108


def vq_align(value: int) -> int:
    return (value + 0xFFF) & ~0xFFF


def vring_size(qsize: int) -> int:
    return vq_align(16 * qsize + 4 + 2 * qsize) + vq_align(4 + 8 * qsize)


class LibVirtio(CLibrary):
    UNSUPPORTED = ("virtio-fs-load",)

    # ------------------------------------------------------------ what the C code calls
    def ci_read(self, size: int, addr: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, size, addr)
        return (1 << 8 * size) - 1 if rc else out[0] & ((1 << 8 * size) - 1)

    def ci_write(self, size: int, addr: int, value: int) -> None:
        self.hcall(H_LOGICAL_CI_STORE, size, addr, value & ((1 << 8 * size) - 1))

    @staticmethod
    def swap(value: int, size: int) -> int:
        """cpu_to_le / le_to_cpu on a big-endian processor."""
        return int.from_bytes((value & ((1 << 8 * size) - 1)).to_bytes(size, "big"), "little")

    def alloc_aligned(self, size: int, align: int) -> int:
        addr = self.alloc(size)
        if addr % align:
            self.forth("free-mem", addr, size, results=0)
            addr = (self.alloc(size + align - 1) + align - 1) & ~(align - 1)
        return addr

    def msecs(self) -> int:
        return self.forth("get-msecs")[0] & 0xFFFFFFFF

    # ------------------------------------------------------------ core (SLOF's virtio.c)
    def modern(self, dev: int) -> bool:
        return bool(self.get(dev + D_FEATURES) & F_VERSION_1)

    def order(self, dev: int) -> str:
        """The byte order of the rings: the guest's for legacy, little for virtio 1.0."""
        return "little" if self.modern(dev) else "big"

    def bar_address(self, bar: int) -> tuple[int, bool]:
        addr = self.forth("config-l@", BAR0_REGISTER + 4 * bar)[0]
        is_io = bool(addr & 1)
        if is_io:
            addr &= ~0x3
        else:
            if addr & 0x4:
                addr |= self.forth("config-l@", BAR0_REGISTER + 4 * (bar + 1))[0] << 32
            addr &= ~0xF
        return self.forth("translate-my-address", addr & (1 << 64) - 1)[0], is_io

    @c_word("virtio-setup-vd")
    def setup_vd(self) -> None:            # ( -- dev )
        dev = self.alloc(DEV_BYTES)
        if not dev:
            self.print(b"Failed to allocate memory")
            self.push(0)
            return
        self.fill(dev, bytes(DEV_BYTES))
        slots = {CAP_COMMON: D_COMMON, CAP_NOTIFY: D_NOTIFY, CAP_ISR: D_ISR,
                 CAP_DEVICE: D_DEVICE}
        found = 0
        cap = self.forth("config-b@", CAP_POINTER)[0] & 0xFF
        while cap:
            if self.forth("config-b@", cap)[0] & 0xFF == CAP_ID_VENDOR:
                cfg_type = self.forth("config-b@", cap + 3)[0] & 0xFF
                if cfg_type in slots:
                    bar = self.forth("config-b@", cap + 4)[0] & 0xFF
                    offset = self.forth("config-l@", cap + 8)[0] & 0xFFFFFFFF
                    if cfg_type == CAP_NOTIFY:
                        self.put(dev + D_NOTIFY_MUL, self.forth("config-l@", cap + 16)[0])
                    base, _ = self.bar_address(bar)
                    self.put(dev + slots[cfg_type], base + offset)
                    found |= 1 << cfg_type
            cap = self.forth("config-b@", cap + 1)[0] & 0xFF
        self.put(dev + D_CAPS, found)
        if found == 0b11110:
            self.put(dev + D_FEATURES, F_VERSION_1)
        else:
            self.put(dev + D_LEGACY, self.bar_address(0)[0])
        self.push(dev)

    @c_word("virtio-vring-size")
    def vring_size_word(self) -> None:     # ( queuesize -- ringsize )
        (qsize,) = self.pop()
        self.push(vring_size(qsize & 0xFFFFFFFF))

    def get_qsize(self, dev: int, queue: int) -> int:
        if self.modern(dev):
            common = self.get(dev + D_COMMON)
            self.ci_write(2, common + C_QSELECT, self.swap(queue, 2))
            return self.swap(self.ci_read(2, common + C_QSIZE), 2)
        legacy = self.get(dev + D_LEGACY)
        self.ci_write(2, legacy + L_QUEUE_SELECT, self.swap(queue, 2))
        return self.swap(self.ci_read(2, legacy + L_QUEUE_SIZE), 2)

    @c_word("virtio-get-qsize")
    def get_qsize_word(self) -> None:      # ( dev queue -- queuesize )
        dev, queue = self.pop(2)
        self.push(self.get_qsize(dev, queue & 0xFFFFFFFF))

    def get_config(self, dev: int, offset: int, size: int) -> int:
        modern = self.modern(dev)
        base = self.get(dev + D_DEVICE) if modern else self.get(dev + D_LEGACY) + L_DEVICE_CONFIG
        if size == 1:
            return self.ci_read(1, base + offset)
        if size in (2, 4):
            value = self.ci_read(size, base + offset)
            return self.swap(value, size) if modern else value
        if size == 8:
            lo = self.ci_read(4, base + offset)
            hi = self.ci_read(4, base + offset + 4)
            if modern:
                lo, hi = self.swap(lo, 4), self.swap(hi, 4)
            return hi << 32 | lo
        return (1 << 64) - 1

    @c_word("virtio-get-config")
    def get_config_word(self) -> None:     # ( dev offset size -- val )
        dev, offset, size = self.pop(3)
        self.push(self.get_config(dev, offset & 0xFFFFFFFF, size & 0xFFFFFFFF))

    def set_status(self, dev: int, status: int) -> None:
        if self.modern(dev):
            self.ci_write(1, self.get(dev + D_COMMON) + C_STATUS, status)
        else:
            self.ci_write(1, self.get(dev + D_LEGACY) + L_DEVICE_STATUS, status)

    def get_status(self, dev: int) -> int:
        if self.modern(dev):
            return self.ci_read(1, self.get(dev + D_COMMON) + C_STATUS)
        return self.ci_read(1, self.get(dev + D_LEGACY) + L_DEVICE_STATUS)

    def set_guest_features(self, dev: int, features: int) -> None:
        if self.modern(dev):
            common = self.get(dev + D_COMMON)
            self.ci_write(4, common + C_GFSEL, self.swap(1, 4))
            self.ci_write(4, common + C_GF, self.swap(features >> 32, 4))
            self.ci_write(4, common + C_GFSEL, self.swap(0, 4))
            self.ci_write(4, common + C_GF, self.swap(features, 4))
        else:
            self.ci_write(4, self.get(dev + D_LEGACY) + L_GUEST_FEATURES, self.swap(features, 4))

    def get_host_features(self, dev: int) -> int:
        if self.modern(dev):
            common = self.get(dev + D_COMMON)
            self.ci_write(4, common + C_DFSEL, self.swap(1, 4))
            high = self.ci_read(4, common + C_DF)
            self.ci_write(4, common + C_DFSEL, self.swap(0, 4))
            low = self.ci_read(4, common + C_DF)
            return self.swap(high, 4) << 32 | self.swap(low, 4)
        return self.swap(self.ci_read(4, self.get(dev + D_LEGACY) + L_DEVICE_FEATURES), 4)

    def negotiate(self, dev: int, features: int) -> bool:
        """virtio_negotiate_guest_features: True when the device took `features`."""
        host = self.get_host_features(dev)
        if not host & F_VERSION_1:
            self.print(b"Device does not support virtio 1.0 %x\n" % host)
            return False
        if host & F_IOMMU_PLATFORM:
            self.print(b"virtio: IOMMU_PLATFORM is not supported by slofpy\n")
            return False
        self.set_guest_features(dev, features)
        host = self.get_host_features(dev)
        if host & features != features:
            self.print(b"Features error %x\n" % features)
            return False
        self.set_status(dev, self.get_status(dev) | STAT_FEATURES_OK)
        if not self.get_status(dev) & STAT_FEATURES_OK:
            return False
        self.put(dev + D_FEATURES, features)
        return True

    def vq(self, dev: int, queue: int) -> int:
        return dev + D_QUEUES + Q_BYTES * queue

    def queue_init(self, dev: int, queue: int) -> int:
        """virtio_queue_init_vq: the rings allocated, cleared and given to the device."""
        vq = self.vq(dev, queue)
        self.fill(vq, bytes(Q_BYTES))
        size = self.get_qsize(dev, queue)
        total = vring_size(size)
        desc = self.alloc_aligned(total, 4096)
        if not desc:
            self.print(b"memory allocation failed!\n")
            return 0
        avail = desc + 16 * size
        used = vq_align(avail + 4 + 2 * size)
        for field, value in ((Q_SIZE_, size), (Q_DESC, desc), (Q_AVAIL, avail), (Q_USED, used)):
            self.put(vq + field, value)
        self.fill(desc, bytes(total))
        if self.modern(dev):
            common = self.get(dev + D_COMMON)
            self.get_qsize(dev, queue)
            for register, value in ((C_QDESC, desc), (C_QAVAIL, avail), (C_QUSED, used)):
                self.ci_write(4, common + register, self.swap(value, 4))
                self.ci_write(4, common + register + 4, self.swap(value >> 32, 4))
            self.ci_write(2, common + C_QENABLE, self.swap(1, 2))
        else:
            legacy = self.get(dev + D_LEGACY)
            self.ci_write(2, legacy + L_QUEUE_SELECT, self.swap(queue, 2))
            self.ci_write(4, legacy + L_QUEUE_ADDRESS, self.swap((desc >> 12) & 0xFFFFFFFF, 4))
        self.put(avail, AVAIL_F_NO_INTERRUPT, 2, self.order(dev))
        self.put(avail + 2, 0, 2)
        return vq

    def queue_term(self, dev: int, queue: int) -> None:
        vq = self.vq(dev, queue)
        desc = self.get(vq + Q_DESC)
        if desc:
            self.forth("free-mem", desc, vring_size(self.get(vq + Q_SIZE_)), results=0)
        self.fill(vq, bytes(Q_BYTES))

    def notify(self, dev: int, queue: int) -> None:
        if self.modern(dev):
            common = self.get(dev + D_COMMON)
            self.ci_write(2, common + C_QSELECT, self.swap(queue, 2))
            offset = self.swap(self.ci_read(2, common + C_QNOTIFY_OFF), 2)
            addr = self.get(dev + D_NOTIFY) + offset * self.get(dev + D_NOTIFY_MUL)
            self.ci_write(2, addr, self.swap(queue, 2))
        else:
            self.ci_write(2, self.get(dev + D_LEGACY) + L_QUEUE_NOTIFY, self.swap(queue, 2))

    def fill_desc(self, dev: int, queue: int, index: int, addr: int, length: int,
                  flags: int, nxt: int) -> None:
        vq = self.vq(dev, queue)
        size = self.get(vq + Q_SIZE_)
        entry = self.get(vq + Q_DESC) + 16 * (index % size)
        order = self.order(dev)
        self.put(entry, addr, 8, order)
        self.put(entry + 8, length, 4, order)
        self.put(entry + 12, flags, 2, order)
        self.put(entry + 14, nxt % size, 2, order)

    def offer(self, dev: int, queue: int, head: int) -> tuple[int, int]:
        """Put chain `head` in the available ring and notify; (used ring, used idx before)."""
        vq = self.vq(dev, queue)
        order = self.order(dev)
        avail = self.get(vq + Q_AVAIL)
        used = self.get(vq + Q_USED)
        size = self.get(vq + Q_SIZE_)
        index = self.get(avail + 2, 2, order)
        last_used = self.get(used + 2, 2)
        self.put(avail + 4 + 2 * (index % size), head, 2, order)
        self.put(avail + 2, index + 1, 2, order)
        self.notify(dev, queue)
        return used, last_used

    def wait_used(self, used: int, last_used: int) -> bool:
        """Wait (up to SLOF's 5 s) for the used index to move; whether it did."""
        deadline = (self.msecs() + TIMEOUT_MS) & 0xFFFFFFFF
        while self.get(used + 2, 2) == last_used:
            if deadline < self.msecs():
                return False
        return True

    def avail_index(self, dev: int, queue: int) -> int:
        return self.get(self.get(self.vq(dev, queue) + Q_AVAIL) + 2, 2, self.order(dev))

    def start(self, dev: int, features: int) -> int | None:
        """Reset, acknowledge, driver, and on virtio 1.0 the negotiation: the status so far,
        or None when the negotiation failed."""
        status = STAT_ACKNOWLEDGE
        self.set_status(dev, 0)
        self.set_status(dev, status)
        status |= STAT_DRIVER
        self.set_status(dev, status)
        if self.modern(dev):
            if not self.negotiate(dev, features):
                return None
            status = self.get_status(dev)
        return status

    def failed(self, dev: int, status: int, function: bytes) -> None:
        self.print(function + b": failed\n")
        self.set_status(dev, status | STAT_FAILED)

    # ------------------------------------------------------------ virtio-blk
    @c_word("virtio-blk-init")
    def blk_init(self) -> None:            # ( dev -- blk-size )
        (dev,) = self.pop()
        status = self.start(dev, BLK_F_BLK_SIZE | F_VERSION_1)
        if status is None:
            self.failed(dev, STAT_ACKNOWLEDGE | STAT_DRIVER, b"virtioblk_init")
            self.push(0)
            return
        if not self.modern(dev):
            self.set_guest_features(dev, BLK_F_BLK_SIZE)
        if not self.queue_init(dev, 0):
            self.failed(dev, status, b"virtioblk_init")
            self.push(0)
            return
        status |= STAT_DRIVER_OK
        self.set_status(dev, status)
        block = SECTOR
        if self.get_host_features(dev) & BLK_F_BLK_SIZE:
            block = self.get_config(dev, 20, 4)
        self.push(block)

    @c_word("virtio-blk-shutdown")
    def blk_shutdown(self) -> None:        # ( dev -- )
        (dev,) = self.pop()
        self.set_status(dev, STAT_FAILED)
        self.set_status(dev, 0)

    def blk_transfer(self, write: bool) -> None:
        dev, cnt, blkno, buf = reversed(self.pop(4))
        cnt = cnt - (1 << 64) if cnt >> 63 else cnt
        capacity = self.get_config(dev, 0, 8)
        if blkno + cnt - 1 > capacity:
            self.print(b"virtioblk_transfer: Access beyond end of device!\r\n")
            self.push(0)
            return
        block = self.get_config(dev, 20, 4)
        if block % SECTOR:
            self.print(b"virtio-blk: Unaligned sector size %d\n" % block)
            self.push(0)
            return
        order = self.order(dev)
        kind = (1 if write else 0) | BLK_T_BARRIER
        header = dev + D_SCRATCH + S_BLK_HEADER
        status = dev + D_SCRATCH + S_STATUS
        self.put(header, kind, 4, order)
        self.put(header + 4, 1, 4, order)
        self.put(header + 8, (blkno * block // SECTOR) & 0xFFFFFFFF, 8, order)
        self.put(status, 0xFF, 1)
        size = self.get(self.vq(dev, 0) + Q_SIZE_)
        head = (self.avail_index(dev, 0) * 3) % size
        self.fill_desc(dev, 0, head, header, 16, DESC_F_NEXT, head + 1)
        self.fill_desc(dev, 0, head + 1, buf, cnt * block,
                       DESC_F_NEXT | (0 if write else DESC_F_WRITE), head + 2)
        self.fill_desc(dev, 0, head + 2, status, 1, DESC_F_WRITE, 0)
        self.wait_used(*self.offer(dev, 0, head))
        result = self.get(status, 1)
        if result == 0:
            self.push(cnt)
            return
        self.print(b"virtioblk_transfer failed! type=%d, status = %d\n"
                   % (int(write), result))
        self.push(0)

    @c_word("virtio-blk-read")
    def blk_read(self) -> None:            # ( buf blkno cnt dev -- #read )
        self.blk_transfer(False)

    @c_word("virtio-blk-write")
    def blk_write(self) -> None:           # ( buf blkno cnt dev -- #written )
        self.blk_transfer(True)

    # ------------------------------------------------------------ virtio-scsi
    @c_word("virtio-scsi-init")
    def scsi_init(self) -> None:           # ( dev -- success ): 0 when it worked
        (dev,) = self.pop()
        status = STAT_ACKNOWLEDGE
        self.set_status(dev, status)
        status |= STAT_DRIVER
        self.set_status(dev, status)
        if self.modern(dev):
            if not self.negotiate(dev, F_VERSION_1):
                self.failed(dev, status, b"virtioscsi_init")
                self.push(-1)
                return
            status = self.get_status(dev)
        else:
            self.set_guest_features(dev, 0)
        queues = [self.queue_init(dev, q) for q in (SCSI_CONTROL, SCSI_EVENT, SCSI_REQUEST)]
        if not all(queues):
            self.failed(dev, status, b"virtioscsi_init")
            self.push(-1)
            return
        self.set_status(dev, status | STAT_DRIVER_OK)
        self.push(0)

    @c_word("virtio-scsi-shutdown")
    def scsi_shutdown(self) -> None:       # ( dev -- )
        (dev,) = self.pop()
        self.set_status(dev, STAT_FAILED)
        self.set_status(dev, 0)

    @c_word("virtio-scsi-send")
    def scsi_send(self) -> None:   # ( buf_addr buf_len is_read req_ptr rsp_ptr dev -- success )
        buf, length, is_read, req, resp, dev = self.pop(6)
        q = SCSI_REQUEST
        size = self.get(self.vq(dev, q) + Q_SIZE_)
        head = (self.avail_index(dev, q) * 3) % size
        self.fill_desc(dev, q, head, req, SCSI_REQ_SIZE, DESC_F_NEXT, head + 1)
        if buf == 0 or length == 0:
            self.fill_desc(dev, q, head + 1, resp, SCSI_RESP_SIZE, DESC_F_WRITE, 0)
        elif is_read:
            self.fill_desc(dev, q, head + 1, resp, SCSI_RESP_SIZE,
                           DESC_F_NEXT | DESC_F_WRITE, head + 2)
            self.fill_desc(dev, q, head + 2, buf, length, DESC_F_WRITE, 0)
        else:
            self.fill_desc(dev, q, head + 1, buf, length, DESC_F_NEXT, head + 2)
            self.fill_desc(dev, q, head + 2, resp, SCSI_RESP_SIZE, DESC_F_WRITE, 0)
        self.wait_used(*self.offer(dev, q, head))
        self.push(0)

    # ------------------------------------------------------------ virtio-fs (9P)
    @c_word("virtio-fs-init")
    def fs_init(self) -> None:             # ( dev tx rx size -- success )
        dev, _tx, _rx, size = self.pop(4)
        if self.get(dev + D_RUNNING):      # one open at a time, as SLOF's C allows
            self.push(0)
            return
        self.put(dev + D_RUNNING, size)
        status = self.start(dev, F_VERSION_1)
        if status is not None and not self.modern(dev):
            self.set_guest_features(dev, 0)
        if status is None or not self.queue_init(dev, 0):
            self.failed(dev, status or STAT_ACKNOWLEDGE | STAT_DRIVER, b"virtio_9p_init")
            self.push(0)
            return
        self.set_status(dev, status | STAT_DRIVER_OK)
        self.push(-1)

    @c_word("virtio-fs-shutdown")
    def fs_shutdown(self) -> None:         # ( dev -- )
        (dev,) = self.pop()
        self.set_status(dev, STAT_FAILED)
        self.set_status(dev, 0)
        self.put(dev + D_RUNNING, 0)

    # ------------------------------------------------------------ virtio-net
    @c_word("virtio-net-open")
    def net_open(self) -> None:            # ( dev -- false | vnet true )
        (dev,) = self.pop()
        vnet = self.alloc(DEV_BYTES)
        if not vnet:
            self.print(b"Unable to allocate virtio-net driver\n")
            self.push(0)
            return
        self._check(dev, DEV_BYTES)
        self.fill(vnet, bytes(self.vm.mem[dev:dev + DEV_BYTES]))
        self.put(vnet + D_RUNNING, 0)
        self.set_status(vnet, 0)
        self.set_status(vnet, STAT_ACKNOWLEDGE)
        if not self.net_init(vnet):
            self.forth("free-mem", vnet, DEV_BYTES, results=0)
            self.push(0)
            return
        self.push(vnet, -1)

    def net_header_size(self, vnet: int) -> int:
        return NET_HDR_V1 if self.modern(vnet) else NET_HDR_LEGACY

    def net_init(self, vnet: int) -> bool:
        status = STAT_ACKNOWLEDGE | STAT_DRIVER
        self.set_status(vnet, status)
        if self.modern(vnet):
            if not self.negotiate(vnet, NET_F_MAC | F_VERSION_1):
                self.set_status(vnet, status | STAT_FAILED)
                return False
            status = self.get_status(vnet)
        else:
            self.set_guest_features(vnet, 0)
        rx = self.queue_init(vnet, NET_RX)
        tx = self.queue_init(vnet, NET_TX)
        if not rx or not tx:
            self.set_status(vnet, STAT_ACKNOWLEDGE | STAT_DRIVER | STAT_FAILED)
            return False
        entry = NET_BUFFER_SIZE + self.net_header_size(vnet)
        buffers = self.alloc(entry * NET_RX_BUFFERS)
        if not buffers:
            self.print(b"virtionet: Failed to allocate buffers!\n")
            self.set_status(vnet, status | STAT_FAILED)
            return False
        self.put(rx + Q_BUF, buffers)
        order = self.order(vnet)
        avail = self.get(rx + Q_AVAIL)
        header = self.net_header_size(vnet)
        for i in range(NET_RX_BUFFERS):
            addr = buffers + i * entry
            self.fill_desc(vnet, NET_RX, 2 * i, addr, header, DESC_F_NEXT | DESC_F_WRITE,
                           2 * i + 1)
            self.fill_desc(vnet, NET_RX, 2 * i + 1, addr + header, NET_BUFFER_SIZE,
                           DESC_F_WRITE, 0)
            self.put(avail + 4 + 2 * i, 2 * i, 2, order)
        self.put(avail, AVAIL_F_NO_INTERRUPT, 2, order)
        self.put(avail + 2, NET_RX_BUFFERS, 2, order)
        self.put(rx + Q_LAST_RX, self.get(self.get(rx + Q_USED) + 2, 2, order))
        tx_avail = self.get(tx + Q_AVAIL)
        self.put(tx_avail, AVAIL_F_NO_INTERRUPT, 2, order)
        self.put(tx_avail + 2, 0, 2)
        self.set_status(vnet, status | STAT_DRIVER_OK)
        self.notify(vnet, NET_RX)
        self.put(vnet + D_RUNNING, 1)
        return True

    @c_word("virtio-net-close")
    def net_close(self) -> None:           # ( vnet -- )
        (vnet,) = self.pop()
        if not vnet:
            return
        if self.get(vnet + D_RUNNING):
            self.set_status(vnet, STAT_FAILED)
            self.set_status(vnet, 0)
            self.put(vnet + D_RUNNING, 0)
            rx = self.vq(vnet, NET_RX)
            entry = NET_BUFFER_SIZE + self.net_header_size(vnet)
            self.forth("free-mem", self.get(rx + Q_BUF), entry * NET_RX_BUFFERS, results=0)
            self.queue_term(vnet, NET_RX)
            self.queue_term(vnet, NET_TX)
        self.forth("free-mem", vnet, DEV_BYTES, results=0)

    @c_word("virtio-net-read")
    def net_read(self) -> None:            # ( addr len vnet -- actual )
        buf, maxlen, vnet = self.pop(3)
        maxlen &= 0xFFFFFFFF
        if not vnet or not buf:
            self.push(-1)
            return
        order = self.order(vnet)
        rx = self.vq(vnet, NET_RX)
        used = self.get(rx + Q_USED)
        size = self.get(rx + Q_SIZE_)
        last = self.get(rx + Q_LAST_RX)
        if last == self.get(used + 2, 2, order):
            self.push(0)
            return
        elem = used + 4 + 8 * (last % size)
        head = (self.get(elem, 4, order) + 1) % size
        length = (self.get(elem + 4, 4, order) - self.net_header_size(vnet)) & 0xFFFFFFFF
        if length > maxlen:
            self.print(b"virtio-net: Receive buffer not big enough!\n")
            length = maxlen
        data_addr = self.get(self.get(rx + Q_DESC) + 16 * head, 8, order)
        self._check(data_addr, length)
        self.fill(buf, bytes(self.vm.mem[data_addr:data_addr + length]))
        self.put(rx + Q_LAST_RX, (last + 1) & 0xFFFF)
        avail = self.get(rx + Q_AVAIL)
        index = self.get(avail + 2, 2, order)
        self.put(avail + 4 + 2 * (index % size), head - 1, 2, order)
        self.put(avail + 2, index + 1, 2, order)
        self.notify(vnet, NET_RX)
        self.push(length)

    @c_word("virtio-net-write")
    def net_write(self) -> None:           # ( addr len vnet -- actual )
        buf, length, vnet = self.pop(3)
        length &= 0xFFFFFFFF
        if not vnet or not buf:
            self.push(-1)
            return
        if length > NET_BUFFER_SIZE:
            self.print(b"virtionet: Packet too big!\n")
            self.push(0)
            return
        header = vnet + D_SCRATCH + S_NET_HEADER
        hsize = self.net_header_size(vnet)
        self.fill(header, bytes(hsize))
        size = self.get(self.vq(vnet, NET_TX) + Q_SIZE_)
        head = (self.avail_index(vnet, NET_TX) * 2) % size
        self.fill_desc(vnet, NET_TX, head, header, hsize, DESC_F_NEXT, head + 1)
        self.fill_desc(vnet, NET_TX, head + 1, buf, length, 0, 0)
        self.offer(vnet, NET_TX, head)
        self.push(length)

    # ------------------------------------------------------------ virtio-serial
    @c_word("virtio-serial-init")
    def serial_init(self) -> None:         # ( dev -- false | true )
        (dev,) = self.pop()
        status = self.start(dev, F_VERSION_1)
        if status is None:
            self.failed(dev, STAT_ACKNOWLEDGE | STAT_DRIVER, b"virtio_serial_init")
            self.push(0)
            return
        rx = self.queue_init(dev, SERIAL_RX)
        buffers = self.alloc(SERIAL_RX_ELEM * SERIAL_RX_BUFFERS) if rx else 0
        if rx and not buffers:
            self.print(b"virtio-serial: Failed to allocate buffers!\n")
        if not buffers:
            self.failed(dev, status, b"virtio_serial_init")
            self.push(0)
            return
        self.put(rx + Q_BUF, buffers)
        order = self.order(dev)
        avail = self.get(rx + Q_AVAIL)
        for i in range(SERIAL_RX_BUFFERS):
            self.fill_desc(dev, SERIAL_RX, i, buffers + i * SERIAL_RX_ELEM, 1, DESC_F_WRITE, 0)
            self.put(avail + 4 + 2 * i, i, 2, order)
        self.put(avail + 2, SERIAL_RX_BUFFERS, 2, order)
        self.put(rx + Q_LAST_RX, self.get(self.get(rx + Q_USED) + 2, 2, order))
        if not self.queue_init(dev, SERIAL_TX):
            self.failed(dev, status, b"virtio_serial_init")
            self.push(0)
            return
        self.set_status(dev, status | STAT_DRIVER_OK)
        self.push(1)

    @c_word("virtio-serial-shutdown")
    def serial_shutdown(self) -> None:     # ( dev -- )
        (dev,) = self.pop()
        self.set_status(dev, STAT_FAILED)
        self.queue_term(dev, SERIAL_TX)
        self.queue_term(dev, SERIAL_RX)
        self.set_status(dev, 0)

    @c_word("virtio-serial-putchar")
    def serial_putchar(self) -> None:      # ( dev char -- )
        dev, char = self.pop(2)
        tx = self.vq(dev, SERIAL_TX)
        if not self.get(tx + Q_DESC):
            return
        cell = dev + D_SCRATCH + S_CHAR
        self.put(cell, char, 1)
        head = self.avail_index(dev, SERIAL_TX) % self.get(tx + Q_SIZE_)
        self.fill_desc(dev, SERIAL_TX, head, cell, 1, 0, 0)
        if not self.wait_used(*self.offer(dev, SERIAL_TX, head)):
            self.print(b"virtio_serial_putchar failed! \n")

    def serial_waiting(self, dev: int) -> bool:
        rx = self.vq(dev, SERIAL_RX)
        used = self.get(rx + Q_USED)
        return bool(used) and self.get(rx + Q_LAST_RX) != self.get(used + 2, 2, self.order(dev))

    @c_word("virtio-serial-getchar")
    def serial_getchar(self) -> None:      # ( dev -- char )
        (dev,) = self.pop()
        if not self.serial_waiting(dev):
            self.push(0)
            return
        order = self.order(dev)
        rx = self.vq(dev, SERIAL_RX)
        size = self.get(rx + Q_SIZE_)
        used = self.get(rx + Q_USED)
        last = self.get(rx + Q_LAST_RX)
        head = (self.get(used + 4 + 8 * (last % size), 4, order) + 1) % size
        data_addr = self.get(self.get(rx + Q_DESC) + 16 * ((head - 1) % size), 8, order)
        char = self.get(data_addr, 1)
        self.put(rx + Q_LAST_RX, (last + 1) & 0xFFFF)
        avail = self.get(rx + Q_AVAIL)
        index = self.get(avail + 2, 2, order)
        self.put(avail + 4 + 2 * (index % size), head - 1, 2, order)
        self.put(avail + 2, index + 1, 2, order)
        self.notify(dev, SERIAL_RX)
        self.push(char - 256 if char >= 128 else char)

    @c_word("virtio-serial-haschar")
    def serial_haschar(self) -> None:      # ( dev -- true | false )
        (dev,) = self.pop()
        self.push(1 if self.serial_waiting(dev) else 0)


LIBRARY = LibVirtio
