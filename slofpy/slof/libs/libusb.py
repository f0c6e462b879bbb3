"""libusb: SLOF's USB core and its OHCI, EHCI and xHCI host-controller drivers, in Python.

What SLOF's lib/libusb does for the words of its usb.code, with their stack effects, as far
as a boot reaches them (OHCI and EHCI with nothing plugged in; xHCI with devices):

* usb-ohci-register, usb-ehci-register, usb-xhci-register ( -- ): put the driver on the
  core's list;
* usb-hcd-init ( hcidev -- ): find the registered driver of the hcidev's type (hcd>type:
  1 OHCI, 2 EHCI, 3 xHCI) and run its init: reset the controller, give it its DMA areas,
  start it and look at the root-hub ports;
* usb-hcd-exit ( hcidev -- ): the driver's exit (suspend or stop the controller, unmap and
  free its DMA areas), from the quiesce hook dev-hci.fs adds;
* usb-hid-init, usb-hid-exit ( dev -- true | false ), usb-key-available ( dev -- flag ),
  usb-read-keyb ( dev -- key | 0 ): a HID keyboard's words, for dev-keyb.fs's node.

The xHCI driver is libusb_xhci.py; the core's device set-up, the SLOF nodes of devices and
the HID keyboard are libusb_devices.py.

The registers are reached as the C code reaches them: H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE
on the address in hcd>base, byte-swapped (the registers are little-endian). Memory comes from
the Forth words SLOF's helpers evaluate (alloc-mem, dma-alloc, dma-map-in, dma-map-out,
dma-free, free-mem), time from get-msecs and us.

The hcidev block is dev-hci.fs's: base, type, num, ops, priv, nextaddr (one cell each). Where
the C code stores the address of its driver's ops table in hcd>ops, slofpy stores the
controller type of the driver it chose (non-zero: a driver was found). A driver's state
(SLOF's struct ohci_hcd / ehci_hcd) lives in guest memory in the block hcd>priv points to,
in slofpy's own layout (below). An OHCI or EHCI port that reports a connected device would
need their transfer descriptors, which slofpy does not carry out: the driver says so with
"not supported by slofpy: usb device on port N". Hubs, mass storage and bulk transfers are
not carried out either (usb-hub-init, usb-msc-init, usb-msc-exit, usb-transfer-ctrl,
usb-transfer-bulk).
"""
from __future__ import annotations

from ...abi.hcalls import H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE
from ...errors import Throw
from .base import CLibrary, c_word
from .libusb_devices import UsbDevices
from .libusb_xhci import XhciHcd, XHCD_SIZE

USB_OHCI, USB_EHCI, USB_XHCI = 1, 2, 3

# dev-hci.fs's hcidev block
HCD_BASE, HCD_TYPE, HCD_NUM, HCD_OPS, HCD_PRIV, HCD_NEXTADDR = 0, 8, 16, 24, 32, 40

# OHCI registers and bits
OHCI_CONTROL, OHCI_CMD_STATUS, OHCI_INTR_DISABLE, OHCI_HCCA = 0x04, 0x08, 0x14, 0x18
OHCI_CNTL_HEAD_ED, OHCI_BULK_HEAD_ED, OHCI_FM_INTERVAL, OHCI_PERIOD_START = 0x20, 0x28, 0x34, 0x40
OHCI_RH_DESC_A, OHCI_RH_DESC_B, OHCI_RH_STATUS, OHCI_RH_PS = 0x48, 0x4C, 0x50, 0x54
OHCI_CMD_STATUS_HCR = 1
OHCI_CTRL_CBSR, OHCI_CTRL_PLE, OHCI_CTRL_CLE, OHCI_CTRL_BLE = 3, 1 << 2, 1 << 4, 1 << 5
OHCI_CTRL_RWC = 1 << 9
OHCI_USB_OPER, OHCI_USB_SUSPEND = 2 << 6, 3 << 6
RHDA_NDP, RHDA_PSM_INDIVIDUAL, RHDA_NPS_ENABLE, RHDA_OCPM_PERPORT = 0xFF, 1 << 8, 1 << 9, 1 << 11
RH_STATUS_LPSC = 1 << 16
RH_PS_CCS, RH_PS_PES, RH_PS_PRS = 1, 1 << 1, 1 << 4
RH_PS_CSC, RH_PS_PESC, RH_PS_PSSC, RH_PS_PRSC = 1 << 16, 1 << 17, 1 << 18, 1 << 20
FRAME_INTERVAL = (((11999 - 210) * 6 // 7) << 16) | 11999
PERIODIC_START = 11999 * 9 // 10
HCCA_SIZE = 256
HCCA_INTR_NUM = 32
OHCI_PIPE_POOL_SIZE = 4096
OHCI_ED_SIZE = 16
EDA_SKIP = 1 << 14

# EHCI registers and bits
EHCI_CAPLENGTH, EHCI_HCSPARAMS = 0x00, 0x04
EHCI_USBCMD, EHCI_PERIODICLISTBASE, EHCI_ASYNCLISTADDR = 0x00, 0x14, 0x18
EHCI_CONFIGFLAG, EHCI_PORTSC = 0x40, 0x44
HCS_NPORTS_MASK = 0xF
CMD_RUN, CMD_HCRESET, CMD_PSE, CMD_ASE = 1, 1 << 1, 1 << 4, 1 << 5
PORT_CONNECT = 1
FL_SIZE = 1024
EHCI_QH_SIZE = 64            # 12 words, the struct aligned to 32 bytes
EHCI_TYP_QH = 2
QH_PTR_TERM = 1
QH_CAP_H = 1 << 15
QH_STS_HALTED = 1 << 6

# slofpy's layout of the drivers' state blocks (cells)
OHCD_REGS, OHCD_HCCA, OHCD_HCCA_PHYS, OHCD_POOL, OHCD_POOL_PHYS, OHCD_HCIDEV = range(0, 48, 8)
OHCD_SIZE = 48
(EHCD_CAP, EHCD_OP, EHCD_HCIDEV, EHCD_QH_ASYNC, EHCD_QH_ASYNC_PHYS, EHCD_QH_INTR,
 EHCD_QH_INTR_PHYS, EHCD_FL, EHCD_FL_PHYS, EHCD_POOL, EHCD_POOL_PHYS) = range(0, 88, 8)
EHCD_SIZE = 88


class LibUsb(CLibrary):
    UNSUPPORTED = ("usb-hub-init", "usb-msc-init", "usb-msc-exit", "usb-transfer-ctrl",
                   "usb-transfer-bulk")

    def __init__(self, slof):
        super().__init__(slof)
        self.registered: list[int] = []      # the core's list of drivers, in order
        self.ehci_exits = 0                  # usb-ehci.c's exit runs only once
        self.xhcds: dict[int, XhciHcd] = {}  # hcidev -> its xHCI driver state
        self.devices = UsbDevices(self)

    # ------------------------------------------------------------ what the C code calls
    def read_reg32(self, addr: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, 4, addr)
        value = 0xFFFFFFFF if rc else out[0] & 0xFFFFFFFF
        return int.from_bytes(value.to_bytes(4, "big"), "little")

    def read_reg8(self, addr: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, 1, addr)
        return 0xFF if rc else out[0] & 0xFF

    def write_reg32(self, addr: int, value: int) -> None:
        swapped = int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")
        self.hcall(H_LOGICAL_CI_STORE, 4, addr, swapped)

    def read_reg64(self, addr: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, 8, addr)
        value = (1 << 64) - 1 if rc else out[0] & (1 << 64) - 1
        return int.from_bytes(value.to_bytes(8, "big"), "little")

    def write_reg64(self, addr: int, value: int) -> None:
        swapped = int.from_bytes((value & (1 << 64) - 1).to_bytes(8, "little"), "big")
        self.hcall(H_LOGICAL_CI_STORE, 8, addr, swapped)

    def dma_alloc(self, size: int) -> int:
        return self.forth("dma-alloc", size)[0]

    def dma_map_in(self, virt: int, size: int, cacheable: bool) -> int:
        return self.forth("dma-map-in", virt, size, int(cacheable))[0]

    def dma_map_out(self, phys: int, virt: int, size: int) -> None:
        self.forth("dma-map-out", virt, phys, size, results=0)

    def dma_free(self, virt: int, size: int) -> None:
        self.forth("dma-free", virt, size, results=0)

    # ------------------------------------------------------------ core (usb-core.c)
    @c_word("usb-ohci-register")
    def ohci_register(self) -> None:         # ( -- )
        self.registered.append(USB_OHCI)

    @c_word("usb-ehci-register")
    def ehci_register(self) -> None:         # ( -- )
        self.registered.append(USB_EHCI)

    @c_word("usb-xhci-register")
    def xhci_register(self) -> None:         # ( -- )
        self.registered.append(USB_XHCI)

    @c_word("usb-hcd-init")
    def hcd_init(self) -> None:              # ( hcidev -- )
        hcidev, = self.pop()
        if not hcidev:
            self.print(b"Device Error")
            return
        kind = self.get(hcidev + HCD_TYPE)
        if kind not in self.registered:
            return
        self.put(hcidev + HCD_OPS, kind)
        {USB_OHCI: self.ohci_init, USB_EHCI: self.ehci_init,
         USB_XHCI: self.xhci_init}[kind](hcidev)

    @c_word("usb-hcd-exit")
    def hcd_exit(self) -> None:              # ( hcidev -- )
        hcidev, = self.pop()
        if not hcidev:
            self.print(b"Device Error")
            return
        kind = self.get(hcidev + HCD_OPS)
        if kind == USB_OHCI:
            self.ohci_exit(hcidev)
        elif kind == USB_EHCI:
            self.ehci_exit(hcidev)
        elif kind == USB_XHCI:
            self.xhci_exit(hcidev)
        elif kind == 0:
            raise Throw(-9)          # the C code follows a NULL ops pointer

    def new_device(self, port: int) -> None:
        """A connected port: usb_setup_new_device is not carried out by slofpy."""
        raise Throw(-21, f"not supported by slofpy: usb device on port {port}")

    # ------------------------------------------------------------ HID (usb-core.c, usb-hid.c)
    def _device(self):
        handle, = self.pop()
        if not handle:
            return None
        dev = self.devices.device(handle)
        if dev is None:
            raise Throw(-9)          # the C would follow a pointer to no device of its own
        return dev

    @c_word("usb-hid-init")
    def hid_init(self) -> None:              # ( dev -- true | false )
        dev = self._device()
        if dev is not None and dev.klass == 0x030101:
            self.devices.hid_init(dev)
        self.push(int(dev is not None))

    @c_word("usb-hid-exit")
    def hid_exit(self) -> None:              # ( dev -- true | false )
        dev = self._device()
        if dev is not None and dev.klass == 0x030101:
            self.devices.hid_exit(dev)
        self.push(int(dev is not None))

    @c_word("usb-key-available")
    def key_available(self) -> None:         # ( dev -- true | false )
        dev = self._device()
        self.push(int(dev is not None and self.devices.key_available(dev)))

    @c_word("usb-read-keyb")
    def read_keyb(self) -> None:             # ( dev -- key | 0 )
        dev = self._device()
        if dev is not None and self.devices.key_available(dev):
            self.push(self.devices.read_key())
        else:
            self.push(0)

    # ------------------------------------------------------------ xHCI (usb-xhci.c)
    def xhci_init(self, hcidev: int) -> None:
        self.print(b"  XHCI: Initializing\n")
        base = self.get(hcidev + HCD_BASE) & ~7
        self.put(hcidev + HCD_BASE, base)
        priv = self.forth("alloc-mem", XHCD_SIZE)[0]
        if not priv:
            self.print(b"usb-xhci: Unable to allocate memory\n")
            return
        self.fill(priv, bytes(XHCD_SIZE))
        self.put(hcidev + HCD_NEXTADDR, 1)
        self.put(hcidev + HCD_PRIV, priv)
        xhcd = XhciHcd(self, hcidev, base, priv)
        for i, value in enumerate((xhcd.cap, xhcd.op, xhcd.run, xhcd.db, hcidev)):
            self.put(priv + 8 * i, value)
        self.xhcds[hcidev] = xhcd
        if not xhcd.init():
            self.print(b"usb-xhci: failed to initialize XHCI controller.\n")

    def xhci_exit(self, hcidev: int) -> None:
        xhcd = self.xhcds.pop(hcidev, None)
        if xhcd is None:
            return                   # xhci_hcd_exit of a NULL state does nothing
        xhcd.exit()
        self.forth("free-mem", xhcd.priv, XHCD_SIZE, results=0)
        self.put(hcidev + HCD_PRIV, 0)

    # ------------------------------------------------------------ OHCI (usb-ohci.c)
    def ohci_init(self, hcidev: int) -> None:
        self.print(b"  OHCI: initializing\n")
        ohcd = self.forth("alloc-mem", OHCD_SIZE)[0]
        if not ohcd:
            self.print(b"usb-ohci: Unable to allocate memory\n")
            return
        self.put(hcidev + HCD_NEXTADDR, 1)
        self.put(hcidev + HCD_PRIV, ohcd)
        self.fill(ohcd, bytes(OHCD_SIZE))
        self.put(ohcd + OHCD_HCIDEV, hcidev)
        regs = self.get(hcidev + HCD_BASE)
        self.put(ohcd + OHCD_REGS, regs)
        hcca = self.dma_alloc(HCCA_SIZE)
        if not hcca or hcca & (HCCA_SIZE - 1) & 0xFFFFFFFF:
            self.print(b"usb-ohci: Unable to allocate/unaligned HCCA memory %x\n" % hcca)
            self.dma_free(hcca, HCCA_SIZE)
            self.forth("free-mem", ohcd, OHCD_SIZE, results=0)
            return
        self.put(ohcd + OHCD_HCCA, hcca)
        self.put(ohcd + OHCD_HCCA_PHYS, self.dma_map_in(hcca, HCCA_SIZE, True))
        self.ohci_reset(regs)
        self.ohci_start(ohcd, regs)
        self.ohci_check_ports(regs)

    def ohci_reset(self, regs: int) -> bool:
        self.write_reg32(regs + OHCI_CONTROL, 0)
        self.msleep(100)
        self.write_reg32(regs + OHCI_INTR_DISABLE, 0xFFFFFFFF)
        self.write_reg32(regs + OHCI_CMD_STATUS, OHCI_CMD_STATUS_HCR)
        for _ in range(30):
            if not self.read_reg32(regs + OHCI_CMD_STATUS) & OHCI_CMD_STATUS_HCR:
                return True
            self.usleep(1)
        self.print(b" ** HCD Reset failed...")
        return False

    def ohci_start(self, ohcd: int, regs: int) -> None:
        # the root hub's interrupt pipe: its ED comes from the pipe pool; the root hub has
        # no device class, so no transfer descriptors are set up for it
        pool = self.dma_alloc(OHCI_PIPE_POOL_SIZE)
        if not pool:
            self.print(b"usb-ohci: oops could not allocate intr_pipe\n")
            return
        pool_phys = self.dma_map_in(pool, OHCI_PIPE_POOL_SIZE, True)
        self.put(ohcd + OHCD_POOL, pool)
        self.put(ohcd + OHCD_POOL_PHYS, pool_phys)
        ed, ed_phys = pool, pool_phys            # the first pipe of the pool
        hcca = self.get(ohcd + OHCD_HCCA)
        self.fill(hcca, bytes(HCCA_SIZE))
        self.fill(ed, bytes(OHCI_ED_SIZE))
        self.fill(ed, EDA_SKIP.to_bytes(4, "little"))
        self.fill(hcca, (ed_phys & 0xFFFFFFFF).to_bytes(4, "little") * HCCA_INTR_NUM)
        self.write_reg32(regs + OHCI_HCCA, self.get(ohcd + OHCD_HCCA_PHYS))
        self.write_reg32(regs + OHCI_CNTL_HEAD_ED, 0)
        self.write_reg32(regs + OHCI_BULK_HEAD_ED, 0)
        rwc = self.read_reg32(regs + OHCI_CONTROL) & OHCI_CTRL_RWC
        self.write_reg32(regs + OHCI_CONTROL, OHCI_CTRL_CBSR | OHCI_CTRL_CLE | OHCI_CTRL_BLE
                         | OHCI_CTRL_PLE | OHCI_USB_OPER | rwc)
        self.msleep(100)
        self.write_reg32(regs + OHCI_FM_INTERVAL, FRAME_INTERVAL)
        self.write_reg32(regs + OHCI_PERIOD_START, PERIODIC_START)
        desc_a = self.read_reg32(regs + OHCI_RH_DESC_A)
        desc_a = (desc_a & ~(RHDA_PSM_INDIVIDUAL | RHDA_OCPM_PERPORT)) | RHDA_NPS_ENABLE
        self.write_reg32(regs + OHCI_RH_DESC_A, desc_a)
        self.write_reg32(regs + OHCI_RH_DESC_B, 0)
        self.msleep(100)

    def ohci_check_ports(self, regs: int) -> None:
        ports = self.read_reg32(regs + OHCI_RH_DESC_A) & RHDA_NDP
        self.write_reg32(regs + OHCI_RH_STATUS, RH_STATUS_LPSC)
        self.msleep(100)
        clear = 0
        for i in range(ports):
            status = self.read_reg32(regs + OHCI_RH_PS + 4 * i)
            if status & RH_PS_CSC:
                if status & RH_PS_CCS:
                    self.write_reg32(regs + OHCI_RH_PS + 4 * i, RH_PS_PRS)
                    clear |= RH_PS_CSC
                    self.msleep(100)
                else:
                    self.print(b"Start removing device\n")
            status = self.read_reg32(regs + OHCI_RH_PS + 4 * i)
            if status & RH_PS_PRSC:
                self.new_device(i)
            if status & (RH_PS_PESC | RH_PS_PSSC):
                clear |= RH_PS_PESC
            clear &= 0xFFFF0000
            if clear:
                self.write_reg32(regs + OHCI_RH_PS + 4 * i, clear)

    def ohci_exit(self, hcidev: int) -> None:
        ohcd = self.get(hcidev + HCD_PRIV)
        regs = self.get(ohcd + OHCD_REGS)
        self.write_reg32(regs + OHCI_CONTROL, OHCI_CTRL_CBSR | OHCI_USB_SUSPEND)
        self.msleep(20)
        self.write_reg32(regs + OHCI_HCCA, 0)
        pool = self.get(ohcd + OHCD_POOL)
        if pool:
            self.dma_map_out(self.get(ohcd + OHCD_POOL_PHYS), pool, OHCI_PIPE_POOL_SIZE)
            self.dma_free(pool, OHCI_PIPE_POOL_SIZE)
        hcca = self.get(ohcd + OHCD_HCCA)
        if hcca:
            self.dma_map_out(self.get(ohcd + OHCD_HCCA_PHYS), hcca, HCCA_SIZE)
            self.dma_free(hcca, HCCA_SIZE)
        self.forth("free-mem", ohcd, OHCD_SIZE, results=0)

    # ------------------------------------------------------------ EHCI (usb-ehci.c)
    def ehci_init(self, hcidev: int) -> None:
        self.print(b"  EHCI: Initializing\n")
        ehcd = self.forth("alloc-mem", EHCD_SIZE)[0]
        if not ehcd:
            self.print(b"usb-ehci: Unable to allocate memory\n")
            return
        self.fill(ehcd, bytes(EHCD_SIZE))
        self.put(hcidev + HCD_NEXTADDR, 1)
        self.put(hcidev + HCD_PRIV, ehcd)
        self.put(ehcd + EHCD_HCIDEV, hcidev)
        cap = self.get(hcidev + HCD_BASE)
        op = cap + self.read_reg8(cap + EHCI_CAPLENGTH)
        self.put(ehcd + EHCD_CAP, cap)
        self.put(ehcd + EHCD_OP, op)
        self.ehci_start(ehcd, op)
        self.ehci_check_ports(cap, op)

    def ehci_start(self, ehcd: int, op: int) -> None:
        until = (self.forth("get-msecs")[0] + 250) & 0xFFFFFFFF
        usbcmd = self.read_reg32(op + EHCI_USBCMD)
        self.write_reg32(op + EHCI_USBCMD, (usbcmd & ~(CMD_PSE | CMD_ASE)) | CMD_HCRESET)
        while until > self.forth("get-msecs")[0] & 0xFFFFFFFF:
            pass
        usbcmd = self.read_reg32(op + EHCI_USBCMD)
        if usbcmd & CMD_HCRESET:
            self.print(b"usb-ehci: reset failed\n")
            return
        fl = self.dma_alloc(FL_SIZE * 4)
        if not fl:
            self.print(b"usb-ehci: Unable to allocate frame list\n")
            return
        fl_phys = self.dma_map_in(fl, FL_SIZE * 4, True)
        qh_intr = self.dma_alloc(EHCI_QH_SIZE)
        if not qh_intr:
            self.print(b"usb-ehci: Unable to allocate interrupt queue head\n")
            self.dma_map_out(fl_phys, fl, FL_SIZE * 4)
            self.dma_free(fl, FL_SIZE * 4)
            return
        qh_intr_phys = self.dma_map_in(qh_intr, EHCI_QH_SIZE, True)
        self.fill(qh_intr, _qh(QH_PTR_TERM, 0, 1, QH_STS_HALTED))
        self.fill(fl, ((qh_intr_phys | EHCI_TYP_QH) & 0xFFFFFFFF).to_bytes(4, "little") * FL_SIZE)
        self.write_reg32(op + EHCI_PERIODICLISTBASE, fl_phys)
        qh_async = self.dma_alloc(EHCI_QH_SIZE)
        if not qh_async:
            self.print(b"usb-ehci: Unable to allocate async queue head\n")
            self.dma_map_out(qh_intr_phys, qh_intr, EHCI_QH_SIZE)
            self.dma_free(qh_intr, EHCI_QH_SIZE)
            self.dma_map_out(fl_phys, fl, FL_SIZE * 4)
            self.dma_free(fl, FL_SIZE * 4)
            return
        qh_async_phys = self.dma_map_in(qh_async, EHCI_QH_SIZE, True)
        self.fill(qh_async, _qh((qh_async_phys | EHCI_TYP_QH) & 0xFFFFFFFF, QH_CAP_H, 0,
                                QH_STS_HALTED))
        self.write_reg32(op + EHCI_ASYNCLISTADDR, qh_async_phys)
        for field, value in ((EHCD_QH_ASYNC, qh_async), (EHCD_QH_ASYNC_PHYS, qh_async_phys),
                             (EHCD_QH_INTR, qh_intr), (EHCD_QH_INTR_PHYS, qh_intr_phys),
                             (EHCD_FL, fl), (EHCD_FL_PHYS, fl_phys)):
            self.put(ehcd + field, value)
        self.write_reg32(op + EHCI_USBCMD, usbcmd | CMD_ASE | CMD_RUN)
        self.write_reg32(op + EHCI_CONFIGFLAG, 1)

    def ehci_check_ports(self, cap: int, op: int) -> None:
        ports = self.read_reg32(cap + EHCI_HCSPARAMS) & HCS_NPORTS_MASK
        for i in range(ports):
            if self.read_reg32(op + EHCI_PORTSC + 4 * i) & PORT_CONNECT:
                self.new_device(i)

    def ehci_exit(self, hcidev: int) -> None:
        self.ehci_exits += 1
        if self.ehci_exits > 1:
            self.print(b"ehci_exit: already called once \n")
            return
        ehcd = self.get(hcidev + HCD_PRIV)
        op = self.get(ehcd + EHCD_OP)
        usbcmd = self.read_reg32(op + EHCI_USBCMD)
        # usb-ehci.c writes usbcmd | ~CMD_RUN: every bit but RUN, HCRESET among them
        self.write_reg32(op + EHCI_USBCMD, usbcmd | (~CMD_RUN & 0xFFFFFFFF))
        self.write_reg32(op + EHCI_PERIODICLISTBASE, 0)
        for virt, phys, size in ((EHCD_POOL, EHCD_POOL_PHYS, 4096),
                                 (EHCD_QH_INTR, EHCD_QH_INTR_PHYS, EHCI_QH_SIZE),
                                 (EHCD_QH_ASYNC, EHCD_QH_ASYNC_PHYS, EHCI_QH_SIZE),
                                 (EHCD_FL, EHCD_FL_PHYS, FL_SIZE * 4)):
            addr = self.get(ehcd + virt)
            if addr:
                self.dma_map_out(self.get(ehcd + phys), addr, size)
                self.dma_free(addr, size)
        self.forth("free-mem", ehcd, EHCD_SIZE, results=0)
        self.put(hcidev + HCD_PRIV, 0)


def _qh(link: int, cap1: int, cap2: int, token: int) -> bytes:
    """An EHCI queue head with no transfer: its little-endian words, next and alternate
    next qTD terminated."""
    words = [link, cap1, cap2, 0, QH_PTR_TERM, QH_PTR_TERM, token] + [0] * 5
    return b"".join(w.to_bytes(4, "little") for w in words).ljust(EHCI_QH_SIZE, b"\0")


LIBRARY = LibUsb
