"""libusb's xHCI host-controller driver (SLOF's lib/libusb/usb-xhci.c), in Python: what
usb-hcd-init, usb-hcd-exit and the transfers of a device on an xHCI's root hub do.

It runs inside the guest, as the C does: the controller's registers through
H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE (little-endian, byte-swapped; 64-bit registers with
one 8-byte access), its rings and contexts in memory from the Forth words dma-alloc and
dma-map-in, time from get-msecs. What the C keeps in its struct xhci_hcd (the rings'
enqueue and dequeue pointers and cycle states, the device slots) is kept in this Python
object; hcd>priv points to a block of guest memory of slofpy's own layout (the register
addresses) so that it is non-zero while the driver runs, as in SLOF.

The steps and their order are usb-xhci.c's: reset (halt first if running), CONFIG 44 slots,
a 2 KiB device context base array, a 4 KiB command ring with a link TRB at its end, a 4 KiB
event ring in a one-entry segment table, run; then the USB 3 and the USB 2 ports of the
"Supported Protocol" capabilities: a USB 3 port with a device connected and enabled, a
USB 2 port with connect status and its change bit, is reset, gets a slot (Enable Slot), an
input context (slot and endpoint 0, route string and root-hub port as the C builds them:
the port's number inside its protocol's group, plus one), Address Device, Configure
Endpoint, and then the USB core's device set-up (libusb_devices). The C's quirks are kept:
a segment's link TRB is written before its DMA address is known (so it points at 0), the
data stage of a control transfer is always marked IN, and a transfer ring is never wrapped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import Throw

USB_XHCI_VERSION, USB_EHCI_VERSION = 3, 2     # the protocol majors the port scan looks for

# registers: capability, operational (from CAPLENGTH), interrupter 0 (RTSOFF + 0x20)
CAP_CAPLENGTH, CAP_HCSPARAMS1, CAP_HCCPARAMS, CAP_DBOFF, CAP_RTSOFF = 0x00, 0x04, 0x10, 0x14, 0x18
OP_USBCMD, OP_USBSTS, OP_CRCR, OP_DCBAAP, OP_CONFIG, OP_PORTS = 0x00, 0x04, 0x18, 0x30, 0x38, 0x400
IR_ERSTSZ, IR_ERSTBA, IR_ERDP = 0x08, 0x10, 0x18
USBCMD_RS, USBCMD_HCRST = 1 << 0, 1 << 1
USBSTS_HCH, USBSTS_CNR = 1 << 0, 1 << 11
HCCPARAMS_CSZ = 1 << 2
CONFIG_MAX_SLOT = 44
PORTSC_CCS, PORTSC_PED, PORTSC_PR, PORTSC_PP, PORTSC_CSC = 1, 1 << 1, 1 << 4, 1 << 9, 1 << 17
CRCR_CRP_MASK = 0xFFFFFFFFFFFFFFC0
ERST_ADDR_MASK = ~0x3F & (1 << 64) - 1
ERDP_MASK = ~0xF & (1 << 64) - 1

TRB_SIZE = 16
TRB_NORMAL, TRB_SETUP, TRB_DATA, TRB_STATUS, TRB_LINK = 1, 2, 3, 4, 6
TRB_ENABLE_SLOT, TRB_ADDRESS_DEV, TRB_CONFIG_EP = 9, 11, 12
TRB_TRANSFER_EVENT, TRB_CMD_COMPLETION, TRB_PORT_STATUS = 32, 33, 34
TRB_DIR_IN, TRB_IOC, TRB_IDT = 1 << 16, 1 << 5, 1 << 6
COMP_SUCCESS = 1

DCBAAP_SIZE, COMMAND_RING_SIZE, EVENT_RING_SIZE = 2048, 4096, 4096
CONTROL_RING_SIZE, DATA_RING_SIZE, INTR_RING_SIZE = 4096, 4096, 4096
CTX_BUF_SIZE, CTX_SIZE = 4096, 32
PIPE_POOL_SIZE = 4096
PIPE_SIZE = 80          # struct xhci_pipe's size in the C (its pool holds 51)
MAX_BULK_SIZE = 0xF000
USB_TIMEOUT = 5000
POLL_NO_WAIT = 1

EP_BULK_OUT, EP_CTRL, EP_BULK_IN, EP_INT_IN = 2, 4, 6, 7
USB_EP_TYPE_CONTROL, USB_EP_TYPE_BULK, USB_EP_TYPE_INTR = 0, 2, 3
DEV_HID_KEYB = 0x030101

XHCD_SIZE = 40      # slofpy's hcd>priv block: cap, op, run, db, hcidev (cells)


@dataclass
class Segment:
    """A ring (struct xhci_seg): its TRBs in guest memory, their DMA address, enqueue and
    dequeue pointers, size in TRBs and cycle state."""

    trbs: int = 0
    trbs_dma: int = 0
    enq: int = 0
    deq: int = 0
    size: int = 0
    cycle_state: int = 0


@dataclass
class Context:
    addr: int = 0
    dma_addr: int = 0


@dataclass
class XhciDevice:
    """struct xhci_dev: a slot's contexts and rings."""

    slot_id: int
    in_ctx: Context = field(default_factory=Context)
    out_ctx: Context = field(default_factory=Context)
    control: Segment = field(default_factory=Segment)
    intr: Segment = field(default_factory=Segment)
    bulk_in: Segment = field(default_factory=Segment)
    bulk_out: Segment = field(default_factory=Segment)
    dev: object | None = None


@dataclass
class Pipe:
    """struct usb_pipe with struct xhci_pipe's additions."""

    dev: object
    type: int
    mps: int
    dir: int
    epno: int
    seg: Segment | None = None
    buf: int = 0
    buf_phys: int = 0
    buflen: int = 0


class XhciHcd:
    """One controller's driver state (struct xhci_hcd)."""

    def __init__(self, lib, hcidev: int, base: int, priv: int):
        self.lib = lib
        self.hcidev = hcidev
        self.priv = priv
        self.cap = base
        self.op = base + lib.read_reg8(base + CAP_CAPLENGTH)
        self.run = base + lib.read_reg32(base + CAP_RTSOFF)
        self.db = base + lib.read_reg32(base + CAP_DBOFF)
        self.irs = self.run + 0x20
        self.xdevs: dict[int, XhciDevice] = {}
        self.dcbaap = self.dcbaap_dma = 0
        self.crseg = Segment()
        self.ering = Segment()
        self.erst = self.erst_dma = 0
        self.slot_id = 0
        self.pipes_left = 0                 # pipes left in the allocated pipe pools
        self.pool = self.pool_phys = 0

    # ------------------------------------------------------------ helpers
    def timer(self) -> int:
        return self.lib.forth("get-msecs")[0] & 0xFFFFFFFF

    def le32(self, addr: int) -> int:
        return int.from_bytes(self.lib.guest_bytes(addr, 4), "little")

    def put_le32(self, addr: int, value: int) -> None:
        self.lib.fill(addr, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    def put_le64(self, addr: int, value: int) -> None:
        self.lib.fill(addr, (value & (1 << 64) - 1).to_bytes(8, "little"))

    # ------------------------------------------------------------ controller
    def is_ready(self) -> bool:
        return not self.lib.read_reg32(self.op + OP_USBSTS) & USBSTS_CNR

    def wait_for_cnr(self) -> bool:
        for _ in range(320):
            if self.is_ready():
                return True
            self.lib.usleep(100)
        return self.is_ready()

    def set_runstop(self, run: bool) -> bool:
        if not self.is_ready():
            return False
        reg = self.lib.read_reg32(self.op + OP_USBCMD)
        reg = reg | USBCMD_RS if run else reg & ~USBCMD_RS
        self.lib.write_reg32(self.op + OP_USBCMD, reg)
        self.wait_for_cnr()
        return True

    def reset(self) -> bool:
        if not self.lib.read_reg32(self.op + OP_USBSTS) & USBSTS_HCH:
            if not self.set_runstop(False):
                return False
        if self.lib.read_reg32(self.op + OP_USBSTS) & USBSTS_CNR:
            return False
        reg = self.lib.read_reg32(self.op + OP_USBCMD) | USBCMD_HCRST
        self.lib.write_reg32(self.op + OP_USBCMD, reg)
        self.wait_for_cnr()
        return True

    def alloc_seg(self, seg: Segment, size: int, event: bool) -> bool:
        seg.trbs = self.lib.dma_alloc(size)
        if not seg.trbs:
            return False
        self.init_seg(seg, size, event)
        seg.trbs_dma = self.lib.dma_map_in(seg.trbs, size, False)
        return True

    def init_seg(self, seg: Segment, size: int, event: bool) -> None:
        seg.size = size // TRB_SIZE
        seg.cycle_state = 1
        seg.enq = seg.deq = seg.trbs
        self.lib.fill(seg.trbs, bytes(size))
        if not event:
            link = seg.trbs + TRB_SIZE * (seg.size - 1)
            self.put_le64(link, seg.trbs_dma)
            self.put_le32(link + 8, 0)
            self.put_le32(link + 12, 1 | TRB_LINK << 10)

    def free_seg(self, seg: Segment, size: int) -> None:
        if seg.trbs:
            self.lib.dma_map_out(seg.trbs_dma, seg.trbs, size)
            self.lib.dma_free(seg.trbs, size)
        seg.__init__()

    def alloc_ctx(self, ctx: Context, size: int) -> bool:
        ctx.addr = self.lib.dma_alloc(size)
        if not ctx.addr:
            return False
        self.lib.fill(ctx.addr, bytes(size))
        ctx.dma_addr = self.lib.dma_map_in(ctx.addr, size, False)
        return True

    def free_ctx(self, ctx: Context, size: int) -> None:
        self.lib.dma_map_out(ctx.dma_addr, ctx.addr, size)
        self.lib.dma_free(ctx.addr, size)

    def init(self) -> bool:
        """xhci_hcd_init: False where the C gives up (after freeing what it had)."""
        lib, op, irs = self.lib, self.op, self.irs
        if not self.reset():
            return False
        lib.write_reg32(op + OP_CONFIG, CONFIG_MAX_SLOT)
        if lib.read_reg32(self.cap + CAP_HCCPARAMS) & HCCPARAMS_CSZ:
            lib.print(b"usb-xhci: 64 Byte context not supported\n")
            return False
        self.dcbaap = lib.dma_alloc(DCBAAP_SIZE)
        if not self.dcbaap:
            return False
        lib.fill(self.dcbaap, bytes(DCBAAP_SIZE))
        self.dcbaap_dma = lib.dma_map_in(self.dcbaap, DCBAAP_SIZE, False)
        lib.write_reg64(op + OP_DCBAAP, self.dcbaap_dma)
        if not self.alloc_seg(self.crseg, COMMAND_RING_SIZE, False):
            return self.fail_dcbaap()
        val = lib.read_reg64(op + OP_CRCR) & ~CRCR_CRP_MASK
        lib.write_reg64(op + OP_CRCR, val | (self.crseg.trbs_dma & CRCR_CRP_MASK))
        if not self.alloc_seg(self.ering, EVENT_RING_SIZE, True):
            return self.fail_crseg()
        self.erst = lib.dma_alloc(EVENT_RING_SIZE)
        if not self.erst:
            return self.fail_ering()
        self.erst_dma = lib.dma_map_in(self.erst, EVENT_RING_SIZE, False)
        self.put_le64(self.erst, self.ering.trbs_dma)
        self.put_le32(self.erst + 8, self.ering.size)
        self.put_le32(self.erst + 12, 0)
        val = lib.read_reg64(irs + IR_ERDP) & ~ERDP_MASK
        lib.write_reg64(irs + IR_ERDP, val | (self.ering.trbs_dma & ERDP_MASK))
        val = lib.read_reg32(irs + IR_ERSTSZ) & ~0xFFFF
        lib.write_reg32(irs + IR_ERSTSZ, val | 1)
        val = lib.read_reg64(irs + IR_ERSTBA) & ~ERST_ADDR_MASK
        lib.write_reg64(irs + IR_ERSTBA, val | (self.erst_dma & ERST_ADDR_MASK))
        if not self.set_runstop(True) or not self.check_ports():
            return self.fail_erst()
        return True

    def fail_erst(self) -> bool:
        self.lib.write_reg32(self.irs + IR_ERSTSZ, 0)
        self.lib.write_reg64(self.irs + IR_ERSTBA, 0)
        self.lib.dma_map_out(self.erst_dma, self.erst, EVENT_RING_SIZE)
        self.lib.dma_free(self.erst, EVENT_RING_SIZE)
        return self.fail_ering()

    def fail_ering(self) -> bool:
        self.free_seg(self.ering, EVENT_RING_SIZE)
        return self.fail_crseg()

    def fail_crseg(self) -> bool:
        val = self.lib.read_reg64(self.op + OP_CRCR) & ~CRCR_CRP_MASK
        self.lib.write_reg64(self.op + OP_CRCR, val)
        self.free_seg(self.crseg, COMMAND_RING_SIZE)
        return self.fail_dcbaap()

    def fail_dcbaap(self) -> bool:
        self.lib.write_reg64(self.op + OP_DCBAAP, 0)
        self.lib.dma_map_out(self.dcbaap_dma, self.dcbaap, DCBAAP_SIZE)
        self.lib.dma_free(self.dcbaap, DCBAAP_SIZE)
        return False

    def exit(self) -> None:
        """xhci_hcd_exit: stop, free every device's rings and contexts, the event and
        command rings and the context array, then give QEMU 50 ms to stop its DMA."""
        lib = self.lib
        self.set_runstop(False)
        for slot in range(1, CONFIG_MAX_SLOT):
            xdev = self.xdevs.get(slot)
            if xdev is not None and xdev.dev is not None:
                for seg, size in ((xdev.bulk_in, DATA_RING_SIZE), (xdev.bulk_out, DATA_RING_SIZE),
                                  (xdev.intr, INTR_RING_SIZE),
                                  (xdev.control, CONTROL_RING_SIZE)):
                    self.free_seg(seg, size)
                self.free_ctx(xdev.in_ctx, CTX_BUF_SIZE)
                self.free_ctx(xdev.out_ctx, CTX_BUF_SIZE)
        lib.write_reg32(self.irs + IR_ERSTSZ, 0)
        lib.write_reg64(self.irs + IR_ERSTBA, 0)
        if self.erst:
            lib.dma_map_out(self.erst_dma, self.erst, EVENT_RING_SIZE)
            lib.dma_free(self.erst, EVENT_RING_SIZE)
        self.free_seg(self.ering, EVENT_RING_SIZE)
        val = lib.read_reg64(self.op + OP_CRCR) & ~CRCR_CRP_MASK
        lib.write_reg64(self.op + OP_CRCR, val)
        self.free_seg(self.crseg, COMMAND_RING_SIZE)
        lib.write_reg64(self.op + OP_DCBAAP, 0)
        if self.dcbaap:
            lib.dma_map_out(self.dcbaap_dma, self.dcbaap, DCBAAP_SIZE)
            lib.dma_free(self.dcbaap, DCBAAP_SIZE)
        lib.msleep(50)

    # ------------------------------------------------------------ events and commands
    def poll_event(self, event_type: int) -> int:
        """xhci_poll_event: the next event's TRB pointer (or the event's own address when
        that is 0); 0 when none came in time."""
        lib, ering = self.lib, self.ering
        event = ering.deq
        flags = self.le32(event + 12)
        until = (self.timer() + (0 if event_type == POLL_NO_WAIT else USB_TIMEOUT)) & 0xFFFFFFFF
        while flags & 1 != ering.cycle_state:
            flags = self.le32(event + 12)
            if until < self.timer():
                return 0
        kind = (flags >> 10) & 0x3F
        if kind == TRB_CMD_COMPLETION:
            status = self.le32(event + 8)
            self.slot_id = flags >> 24 if status >> 24 == COMP_SUCCESS else 0
        elif kind not in (TRB_PORT_STATUS, TRB_TRANSFER_EVENT):
            lib.print(b"TRB_TYPE  %d\n" % kind)
        ering.deq = event + TRB_SIZE
        retval = int.from_bytes(lib.guest_bytes(event, 8), "little")
        lib.fill(event, bytes(12))
        self.put_le32(event + 12, ering.cycle_state)
        index = ering.deq - ering.trbs
        val = ering.trbs_dma + index % EVENT_RING_SIZE
        if not index % EVENT_RING_SIZE:
            ering.deq = ering.trbs
            ering.cycle_state ^= 1
        lib.write_reg64(self.irs + IR_ERDP, val)
        return retval or event

    def fill_trb(self, trb: int, f1: int, f2: int, f3: int, f4: int) -> None:
        """fill_trb_buff: the fields, with the cycle bit the TRB's old one flipped."""
        cycle = 0 if self.le32(trb + 12) & 1 else 1
        self.lib.fill(trb, b"".join((v & 0xFFFFFFFF).to_bytes(4, "little")
                                    for v in (f1, f2, f3, cycle | (f4 & ~1))))

    def send_cmd(self, f1: int, f2: int, f3: int, f4: int) -> None:
        cmd = self.crseg.enq
        cycle = 0 if self.le32(cmd + 12) & 1 else 1
        self.lib.fill(cmd, b"".join((v & 0xFFFFFFFF).to_bytes(4, "little")
                                    for v in (f1, f2, f3, f4 | cycle)))
        self.lib.write_reg32(self.db, 0)
        self.poll_event(0)
        self.crseg.enq = cmd + TRB_SIZE

    def context_command(self, kind: int, slot_id: int, dma_in_ctx: int) -> None:
        self.send_cmd(dma_in_ctx & 0xFFFFFFF0, dma_in_ctx >> 32, 0, kind << 10 | slot_id << 24)

    # ------------------------------------------------------------ ports and devices
    def check_ports(self) -> bool:
        usb3 = self.port_scan(USB_XHCI_VERSION)
        usb2 = self.port_scan(USB_EHCI_VERSION)
        return usb3 or usb2

    def port_scan(self, usb_ver: int) -> bool:
        lib = self.lib
        port_cnt = lib.read_reg32(self.cap + CAP_HCSPARAMS1) >> 24
        port_off = 0
        xecp_off = (lib.read_reg32(self.cap + CAP_HCCPARAMS) & 0xFFFF0000) >> 16
        base = self.cap
        for _ in range(256):                # the C follows the list as long as it goes
            if not xecp_off:
                break
            xecp = base + 4 * xecp_off
            head = lib.read_reg32(xecp)
            if head & 0xF == 2 and head >> 24 == usb_ver and (head >> 16) & 0xFF == 0:
                ports = lib.read_reg32(xecp + 8)
                port_cnt, port_off = (ports >> 8) & 0xFF, ports & 0xFF
            base = xecp
            xecp_off = (lib.read_reg32(xecp) >> 8) & 0xFF
        if port_off == 0:
            return False
        for i in range(port_off - 1, port_off + port_cnt - 1):
            portsc_reg = self.op + OP_PORTS + 16 * i
            portsc = lib.read_reg32(portsc_reg)
            if usb_ver == USB_XHCI_VERSION:
                present = portsc & (PORTSC_CCS | PORTSC_PP | PORTSC_PED) == \
                    PORTSC_CCS | PORTSC_PP | PORTSC_PED
            else:
                present = portsc & (PORTSC_CCS | PORTSC_CSC) == PORTSC_CCS | PORTSC_CSC
            if not present:
                continue
            portsc = lib.read_reg32(portsc_reg)
            lib.write_reg32(portsc_reg, portsc | PORTSC_PR)
            lib.msleep(20)
            self.poll_event(0)
            portsc = lib.read_reg32(portsc_reg)
            self.dev_init(None, i - (port_off - 1), ((portsc >> 10) & 0xF) << 20)
        return True

    def dev_init(self, hub, port: int, slotspeed: int) -> bool:
        """usb3_dev_init: a slot for the device on `port` (0-based in its group)."""
        self.send_cmd(0, 0, 0, TRB_ENABLE_SLOT << 10)
        if not self.slot_id:
            return False
        return self.alloc_dev(hub, self.slot_id, port, slotspeed)

    def alloc_dev(self, hub, slot_id: int, port: int, slotspeed: int) -> bool:
        lib = self.lib
        if slot_id > CONFIG_MAX_SLOT:
            lib.print(b"USB3 slot ID %d is too high (max is %d)\n" % (slot_id, CONFIG_MAX_SLOT))
            return False
        xdev = self.xdevs.setdefault(slot_id, XhciDevice(slot_id))
        xdev.slot_id = slot_id
        if not self.alloc_ctx(xdev.in_ctx, CTX_BUF_SIZE):
            return False
        ctrl = xdev.in_ctx.addr
        self.put_le32(ctrl, 0)
        self.put_le32(ctrl + 4, 3)                          # A0, A1
        slot = xdev.in_ctx.addr + CTX_SIZE
        newport = rootport = port + 1
        route = newport & 0xF
        while hub is not None:
            route = route << 4 | (hub.port & 0xF)
            rootport = hub.port
            hub = hub.hub
        route >>= 4
        self.put_le32(slot, route | 1 << 27 | slotspeed)
        self.put_le32(slot + 4, (rootport & 0xFF) << 16)
        if not self.alloc_seg(xdev.control, CONTROL_RING_SIZE, False):
            self.free_ctx(xdev.in_ctx, CTX_BUF_SIZE)
            return False
        ep0 = xdev.in_ctx.addr + 2 * CTX_SIZE
        self.put_le32(ep0 + 4, EP_CTRL << 3 | 3 << 1 | 64 << 16)
        self.put_le64(ep0 + 8, xdev.control.trbs_dma | xdev.control.cycle_state)
        self.put_le32(ep0 + 16, 8)
        if not self.alloc_ctx(xdev.out_ctx, CTX_BUF_SIZE):
            self.free_seg(xdev.control, CONTROL_RING_SIZE)
            self.free_ctx(xdev.in_ctx, CTX_BUF_SIZE)
            return False
        self.put_le64(self.dcbaap + 8 * slot_id, xdev.out_ctx.dma_addr)
        self.context_command(TRB_ADDRESS_DEV, slot_id, xdev.in_ctx.dma_addr)
        self.put_le32(ctrl + 4, 1)                          # A0
        self.put_le32(ctrl, 0)
        self.context_command(TRB_CONFIG_EP, slot_id, xdev.in_ctx.dma_addr)
        dev = lib.devices.new_device(self.hcidev)
        dev.speed = lib.devices.SUPER_SPEED
        dev.addr = self.le32(xdev.out_ctx.addr + 12) & 0xFF
        dev.port = newport
        dev.hub = hub
        dev.priv = xdev
        xdev.dev = dev
        if lib.devices.setup_new_device(dev, newport):
            lib.devices.populate_new_device(dev)
            return True
        self.free_ctx(xdev.out_ctx, CTX_BUF_SIZE)
        self.free_seg(xdev.control, CONTROL_RING_SIZE)
        self.free_ctx(xdev.in_ctx, CTX_BUF_SIZE)
        return False

    # ------------------------------------------------------------ pipes and transfers
    def get_pipe(self, dev, ep: bytes) -> Pipe | None:
        """xhci_get_pipe for the endpoint descriptor `ep` (its 7 bytes)."""
        if self.pipes_left == 0:
            # the C takes pipes from a DMA pool it grows a page at a time
            self.pool = self.lib.dma_alloc(PIPE_POOL_SIZE)
            if not self.pool:
                return None
            self.pool_phys = self.lib.dma_map_in(self.pool, PIPE_POOL_SIZE, True)
            self.pipes_left = PIPE_POOL_SIZE // PIPE_SIZE
        where = self.pool + PIPE_SIZE * (PIPE_POOL_SIZE // PIPE_SIZE - self.pipes_left)
        self.pipes_left -= 1
        pipe = Pipe(dev, ep[3] & 3, int.from_bytes(ep[4:6], "little"), ep[2] >> 7, ep[2] & 0xF)
        if pipe.type == USB_EP_TYPE_INTR and not self.get_pipe_intr(pipe):
            self.lib.print(b"usb-xhci: xhci_get_pipe alloc_intr failed  %x\n" % where)
        if pipe.type == USB_EP_TYPE_BULK:
            self.init_bulk_ep(dev, pipe)
        return pipe

    def epno(self, pipe: Pipe) -> int:
        return pipe.dir | 2 * pipe.epno

    def configure_pipe_ep(self, xdev: XhciDevice, pipe: Pipe, ep_type: int, seg: Segment) -> None:
        ctrl = xdev.in_ctx.addr
        x_epno = self.epno(pipe)
        ep = xdev.in_ctx.addr + CTX_SIZE * (x_epno + 1)
        self.put_le32(ep + 4, ep_type << 3 | 3 << 1 | (pipe.mps & 0xFFFF) << 16)
        self.put_le64(ep + 8, seg.trbs_dma | seg.cycle_state)
        self.put_le32(ep + 16, 8)
        self.put_le32(ctrl + 4, 1 << x_epno | 1)
        self.put_le32(ctrl, 0)
        self.context_command(TRB_CONFIG_EP, xdev.slot_id, xdev.in_ctx.dma_addr)
        pipe.seg = seg

    def get_pipe_intr(self, pipe: Pipe) -> bool:
        dev = pipe.dev
        if dev.klass != DEV_HID_KEYB:
            return False
        xdev = dev.priv
        pipe.mps = 8
        seg = xdev.intr
        if not seg.trbs:
            if not self.alloc_seg(seg, INTR_RING_SIZE, False):
                self.lib.print(b"usb-xhci: allocation failed for interrupt endpoint\n")
                return False
        else:
            self.init_seg(seg, EVENT_RING_SIZE, False)
        pipe.buflen = pipe.mps * INTR_RING_SIZE // TRB_SIZE
        pipe.buf = self.lib.dma_alloc(pipe.buflen)
        pipe.buf_phys = self.lib.dma_map_in(pipe.buf, pipe.buflen, False)
        self.configure_pipe_ep(xdev, pipe, EP_INT_IN, seg)
        trb = self.get_trb(seg)
        buf = pipe.buf_phys + (trb - seg.trbs) // TRB_SIZE * pipe.mps
        self.fill_trb(trb, buf, buf >> 32, pipe.mps, TRB_NORMAL << 10 | TRB_IOC)
        return True

    def init_bulk_ep(self, dev, pipe: Pipe) -> None:
        xdev = dev.priv
        ep_type, seg = (EP_BULK_IN, xdev.bulk_in) if pipe.dir else (EP_BULK_OUT, xdev.bulk_out)
        if not seg.trbs:
            if not self.alloc_seg(seg, DATA_RING_SIZE, False):
                self.lib.print(b"usb-xhci: allocation failed for bulk endpoint\n")
                return
        else:
            self.init_seg(seg, DATA_RING_SIZE, False)
        pipe.mps = MAX_BULK_SIZE
        self.configure_pipe_ep(xdev, pipe, ep_type, seg)

    def put_pipe(self, pipe: Pipe) -> None:
        if pipe.type == USB_EP_TYPE_INTR:
            self.lib.dma_map_out(pipe.buf_phys, pipe.buf, pipe.buflen)
            self.lib.dma_free(pipe.buf, pipe.buflen)
        pipe.seg = None
        pipe.dev = None
        self.pipes_left += 1

    def get_trb(self, seg: Segment) -> int:
        """xhci_get_trb: the TRB at enqueue, which moves on (back to the start before the
        link TRB; the C's cycle-state toggle there is a no-op, kept as such)."""
        enq = seg.enq
        index = (enq - seg.trbs) // TRB_SIZE + 1
        if index == seg.size - 1:
            seg.enq = seg.trbs
            link = seg.trbs + TRB_SIZE * (seg.size - 1)
            self.put_le64(link, seg.trbs_dma)
            self.put_le32(link + 8, 0)
            self.put_le32(link + 12, 1 | TRB_LINK << 10)
        else:
            seg.enq = enq + TRB_SIZE
        return enq

    def get_trb_deq(self, seg: Segment) -> int:
        deq = seg.deq
        index = (deq - seg.trbs) // TRB_SIZE + 1
        seg.deq = seg.trbs if index == seg.size - 1 else deq + TRB_SIZE
        return deq

    def send_ctrl(self, pipe: Pipe, req: int, data: int) -> bool:
        """xhci_send_ctrl: Setup (the 8 request bytes as immediate data), Data when
        wLength is not 0, Status with IOC; doorbell of endpoint 0; one event."""
        lib = self.lib
        xdev = pipe.dev.priv
        ctrl = xdev.control
        cmd = ctrl.enq
        request = lib.guest_bytes(req, 8)
        req_phys = lib.dma_map_in(req, 8, True)
        datalen = int.from_bytes(request[6:8], "little")
        f4 = TRB_SETUP << 10 | TRB_IDT
        if datalen:
            f4 |= (3 if request[0] & 0x80 else 2) << 16
        self.fill_trb(cmd, int.from_bytes(request[0:4], "little"),
                      int.from_bytes(request[4:8], "little"), 8, f4)
        cmd += TRB_SIZE
        data_phys = 0
        if datalen:
            data_phys = lib.dma_map_in(data, datalen, True)
            self.fill_trb(cmd, data_phys, data_phys >> 32, datalen, TRB_DATA << 10 | TRB_DIR_IN)
            cmd += TRB_SIZE
        self.fill_trb(cmd, 0, 0, 0, TRB_STATUS << 10 | TRB_IOC | (TRB_DIR_IN if datalen else 0))
        cmd += TRB_SIZE
        lib.write_reg32(self.db + 4 * xdev.slot_id, 1)
        ok = bool(self.poll_event(0))
        ctrl.enq = cmd
        lib.dma_map_out(req_phys, req, 8)
        if datalen:
            lib.dma_map_out(data_phys, data, datalen)
        return ok

    def poll_intr(self, pipe: Pipe, data: int) -> int:
        """xhci_poll_intr: ring the endpoint's doorbell, take an event if one is there and
        copy its 8 report bytes to `data`; then queue the next Normal TRB. 0: no report."""
        lib = self.lib
        seg = pipe.seg
        if seg is None:
            raise Throw(-9)                 # the C follows the pipe's NULL segment
        if not lib.devices.bulk_took_event:
            lib.write_reg32(self.db + 4 * pipe.dev.priv.slot_id, self.epno(pipe))
            if not self.poll_event(POLL_NO_WAIT):
                return 0
            trb = self.get_trb_deq(seg)
            buf = pipe.buf + (trb - seg.trbs) // TRB_SIZE * pipe.mps
            lib.fill(data, lib.guest_bytes(buf, 8))
            lib.fill(buf, bytes(8))
        else:
            lib.devices.bulk_took_event = False
            self.get_trb_deq(seg)
        trb = self.get_trb(seg)
        buf = pipe.buf_phys + (trb - seg.trbs) // TRB_SIZE * pipe.mps
        self.fill_trb(trb, buf, buf >> 32, pipe.mps, TRB_NORMAL << 10 | TRB_IOC)
        return 1
