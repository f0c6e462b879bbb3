"""QEMU 7.2's USB host controllers on PCI (pci-ohci, usb-ehci) as their register BARs
answer, with no USB device on any root-hub port.

SLOF's libusb reaches a controller's registers with H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE
on the CPU address of BAR 0 (its ci_read_32 / ci_write_32); the registers are little-endian,
as QEMU declares them, so a 32-bit load returns the register's bytes in little-endian order.

What is modelled is what a driver sees of a controller without devices:

* OHCI (class 0c0310, 256-byte BAR): revision 0x10, HcControl, HcCommandStatus whose HCR bit
  resets the controller at once (so it reads back clear), the interrupt enable / disable pair,
  HCCA and ED head pointers (masked as the hardware keeps them), frame interval, periodic
  start, LS threshold, root-hub descriptor A (NPS set, 3 ports; only its writable bits
  change) and B, root-hub status (LPSC powers every port) and the port status registers:
  power only, never a connection.
* EHCI (class 0c0320, 4 KiB BAR): capability registers (CAPLENGTH 0x20, HCIVERSION 0x100,
  6 ports), USBCMD (HCRESET resets at once and reads back clear; RUN clears HCHalted in
  USBSTS), USBSTS (write 1 to clear), USBINTR, FRINDEX, the periodic and async list bases,
  CONFIGFLAG and the port registers: powered, no companion controller, nothing connected.

The controllers never touch guest memory here: with no device attached no list is walked.
"""
from __future__ import annotations

from slofpy.host import fdt_lookup

CLASS_OHCI = 0x0C0310
CLASS_EHCI = 0x0C0320


def register_bytes(value: int, offset: int, size: int) -> bytes:
    """`size` bytes at byte `offset` (0-3) of a little-endian 32-bit register."""
    return value.to_bytes(4, "little")[offset:offset + size]


class OhciController:
    """The OHCI register file of QEMU's pci-ohci (hw/usb/hcd-ohci.c's register semantics)."""

    BAR_SIZE = 0x100
    PORTS = 3
    REVISION = 0x10
    RHA_NPS = 1 << 9
    RHA_WRITABLE = 0          # QEMU keeps descriptor A as it made it: no bit is writable
    CTL_IR = 1 << 8
    USB_SUSPEND = 3 << 6
    STATUS_HCR = 1
    STATUS_SOC = 3 << 16
    INTR_MIE = 1 << 31
    FI_DEFAULT = 0x2EDF
    LS_THRESHOLD = 0x628
    PS_PPS = 1 << 8
    PS_CHANGE_BITS = 0x001F0000
    RHS_LPSC = 1 << 16
    RHS_LPS = 1 << 0

    def __init__(self) -> None:
        self.ports = [0] * self.PORTS
        self.ctl = 0
        self.rhdesc_a = self.RHA_NPS | self.PORTS
        self.rhdesc_b = 0
        self.rhstatus = 0
        self.soft_reset()

    def soft_reset(self) -> None:
        """What HCR (and a machine reset) leaves: suspended, every pointer cleared."""
        self.ctl = (self.ctl & self.CTL_IR) | self.USB_SUSPEND
        self.status = 0
        self.intr_status = 0
        self.intr = self.INTR_MIE
        self.hcca = 0
        self.ctrl_head = self.ctrl_cur = self.bulk_head = self.bulk_cur = 0
        self.per_cur = 0
        self.done = 0
        self.fm_interval = self.FI_DEFAULT
        self.frame_number = 0
        self.pstart = 0
        self.lst = self.LS_THRESHOLD

    def read(self, offset: int) -> int:
        if 0x54 <= offset < 0x54 + 4 * self.PORTS:
            return self.ports[(offset - 0x54) // 4]
        return {
            0x00: self.REVISION, 0x04: self.ctl, 0x08: self.status,
            0x0C: self.intr_status, 0x10: self.intr, 0x14: self.intr, 0x18: self.hcca,
            0x1C: self.per_cur, 0x20: self.ctrl_head, 0x24: self.ctrl_cur,
            0x28: self.bulk_head, 0x2C: self.bulk_cur, 0x30: self.done,
            0x34: self.fm_interval, 0x38: 0, 0x3C: self.frame_number, 0x40: self.pstart,
            0x44: self.lst, 0x48: self.rhdesc_a, 0x4C: self.rhdesc_b, 0x50: self.rhstatus,
        }.get(offset, 0xFFFFFFFF)

    def read_bytes(self, offset: int, size: int) -> bytes:
        """A load of `size` bytes: OHCI answers aligned 32-bit accesses only."""
        if offset & 3 or size != 4:
            return b"\xff" * size
        return self.read(offset).to_bytes(4, "little")

    def write(self, offset: int, value: int) -> None:
        if 0x54 <= offset < 0x54 + 4 * self.PORTS:
            self._write_port((offset - 0x54) // 4, value)
        elif offset == 0x04:
            self.ctl = value
        elif offset == 0x08:
            self.status |= value & ~self.STATUS_SOC
            if self.status & self.STATUS_HCR:
                self.soft_reset()
        elif offset == 0x0C:
            self.intr_status &= ~value
        elif offset == 0x10:
            self.intr |= value
        elif offset == 0x14:
            self.intr &= ~value
        elif offset == 0x18:
            self.hcca = value & 0xFFFFFF00
        elif offset == 0x20:
            self.ctrl_head = value & 0xFFFFFFF0
        elif offset == 0x24:
            self.ctrl_cur = value & 0xFFFFFFF0
        elif offset == 0x28:
            self.bulk_head = value & 0xFFFFFFF0
        elif offset == 0x2C:
            self.bulk_cur = value & 0xFFFFFFF0
        elif offset == 0x34:
            self.fm_interval = value & 0x8FFF3FFF
        elif offset == 0x40:
            self.pstart = value & 0xFFFF
        elif offset == 0x44:
            self.lst = value & 0xFFFF
        elif offset == 0x48:
            self.rhdesc_a = (self.rhdesc_a & ~self.RHA_WRITABLE) | (value & self.RHA_WRITABLE)
        elif offset == 0x50:
            self._write_hub_status(value)

    def _write_hub_status(self, value: int) -> None:
        if value & self.RHS_LPSC:
            for i in range(self.PORTS):
                self.ports[i] |= self.PS_PPS
        if value & self.RHS_LPS:
            for i in range(self.PORTS):
                self.ports[i] &= ~self.PS_PPS

    def _write_port(self, port: int, value: int) -> None:
        # Change bits are written 1 to clear; with nothing connected, set-enable, reset and
        # suspend requests only report a connect-status change (the hardware's answer).
        status = self.ports[port] & ~(value & self.PS_CHANGE_BITS)
        if value & ((1 << 1) | (1 << 2) | (1 << 4)):
            status |= 1 << 16
        if value & (1 << 8):
            status |= self.PS_PPS
        if value & (1 << 9):
            status &= ~self.PS_PPS
        self.ports[port] = status


class EhciController:
    """The EHCI register file of QEMU's usb-ehci (hw/usb/hcd-ehci.c's register semantics)."""

    BAR_SIZE = 0x1000
    PORTS = 6
    CAPLENGTH = 0x20
    HCIVERSION = 0x0100
    HCCPARAMS = 0x80          # caches a whole frame; 32-bit addressing only
    CMD_RUN = 1 << 0
    CMD_HCRESET = 1 << 1
    CMD_RESET_VALUE = 8 << 16
    STS_HALT = 1 << 12
    PORT_POWER = 1 << 12
    PORT_WRITABLE = (1 << 2) | (1 << 7) | (1 << 8) | (0xF << 16) | (7 << 20) | (1 << 12)

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.usbcmd = self.CMD_RESET_VALUE
        self.usbsts = self.STS_HALT
        self.usbintr = 0
        self.frindex = 0
        self.ctrldssegment = 0
        self.periodiclistbase = 0
        self.asynclistaddr = 0
        self.configflag = 0
        self.ports = [self.PORT_POWER] * self.PORTS      # no companion controller

    def _capability(self, offset: int) -> int:
        """The 32-bit word of the capability registers at a 4-aligned offset."""
        words = {0x00: self.CAPLENGTH | self.HCIVERSION << 16, 0x04: self.PORTS,
                 0x08: self.HCCPARAMS}
        return words.get(offset, 0)

    def read(self, offset: int) -> int:
        if offset < self.CAPLENGTH:
            return self._capability(offset)
        op = offset - self.CAPLENGTH
        if 0x44 <= op < 0x44 + 4 * self.PORTS:
            return self.ports[(op - 0x44) // 4]
        return {
            0x00: self.usbcmd, 0x04: self.usbsts, 0x08: self.usbintr, 0x0C: self.frindex,
            0x10: self.ctrldssegment, 0x14: self.periodiclistbase,
            0x18: self.asynclistaddr, 0x40: self.configflag,
        }.get(op, 0)

    def read_bytes(self, offset: int, size: int) -> bytes:
        """A load of `size` bytes (the capability bytes are read one at a time)."""
        out = b""
        while len(out) < size:
            at = offset + len(out)
            part = min(size - len(out), 4 - (at & 3))
            out += register_bytes(self.read(at & ~3), at & 3, part)
        return out

    def write(self, offset: int, value: int) -> None:
        if offset < self.CAPLENGTH:
            return
        op = offset - self.CAPLENGTH
        if 0x44 <= op < 0x44 + 4 * self.PORTS:
            i = (op - 0x44) // 4
            # nothing connected: the port keeps power and owner, change bits stay clear
            self.ports[i] = (self.ports[i] & ~self.PORT_WRITABLE) | \
                (value & self.PORT_WRITABLE & ~(1 << 2) & ~(1 << 8))
            return
        if op == 0x00:
            if value & self.CMD_HCRESET:
                self.reset()
                return
            self.usbcmd = value & 0x00FF0BFF & ~self.CMD_HCRESET
            if value & self.CMD_RUN:
                self.usbsts &= ~self.STS_HALT
            else:
                self.usbsts |= self.STS_HALT
        elif op == 0x04:
            self.usbsts &= ~(value & 0x3F)
        elif op == 0x08:
            self.usbintr = value & 0x3F
        elif op == 0x0C:
            self.frindex = value & 0x3FFF
        elif op == 0x10:
            self.ctrldssegment = value
        elif op == 0x14:
            self.periodiclistbase = value & 0xFFFFF000
        elif op == 0x18:
            self.asynclistaddr = value & 0xFFFFFFE0
        elif op == 0x40:
            self.configflag = value & 1


def usb_controller(props: dict[str, bytes]) -> OhciController | EhciController | None:
    """The controller model of a seed node, by its class code (None: not OHCI or EHCI)."""
    class_code = fdt_lookup.cells(props.get("class-code", b""))
    kind = {CLASS_OHCI: OhciController, CLASS_EHCI: EhciController}.get(
        class_code[0] if class_code else -1)
    return kind() if kind else None
