"""QEMU 7.2's qemu-xhci (PCI 1b36:000d, class 0c0330): an xHCI host controller with 4 USB 3 and
4 USB 2 root-hub ports, as its register BAR and its DMA answer a driver.

The BAR (16 KiB, little-endian registers) holds, as QEMU lays it out:

* capability registers at 0: CAPLENGTH 0x40, HCIVERSION 0x100, HCSPARAMS1 (64 slots, 16
  interrupters, 8 ports), HCSPARAMS2 0xf, HCCPARAMS1 (64-bit addressing, 32-byte contexts,
  extended capabilities at 0x20), DBOFF 0x2000, RTSOFF 0x1000; at 0x20 and 0x30 the two
  "Supported Protocol" capabilities: USB 3.0 on ports 1-4, USB 2.0 on ports 5-8 (qemu-xhci
  puts its SuperSpeed ports first);
* operational registers at 0x40: USBCMD (RS runs and stops, HCRST resets at once), USBSTS
  (HCHalted follows RS; CNR is never set), PAGESIZE (4 KiB), DNCTRL, CRCR, DCBAAP, CONFIG,
  and the port register sets from 0x440, 16 bytes a port;
* runtime registers at 0x1000: MFINDEX (reads 0) and interrupter 0-15's IMAN, IMOD,
  ERSTSZ, ERSTBA (writing its high half loads the event ring segment) and ERDP;
* doorbells at 0x2000: doorbell 0 with target 0 runs the command ring, doorbell N runs
  endpoint (DCI) `target` of slot N.

Byte and 16-bit loads are answered in the capability registers only; the other registers
take 32-bit accesses and 64-bit ones as two 32-bit halves (low first), as QEMU's regions do.

What the controller does with guest memory, through the PHB's DMA window (TCEs, like every
PCI device of the machine), as QEMU's hw/usb/hcd-xhci.c does it:

* the command ring: Enable Slot, Disable Slot, Address Device (the device gets SET_ADDRESS
  with the slot number, unless BSR), Configure Endpoint (add and drop flags, deconfigure),
  Evaluate Context, No Op; each answered with a Command Completion event. Other commands
  are not modelled: they complete with a TRB error and are listed in `unmodelled`;
* transfer rings: control TDs (Setup with immediate data, optional Data, Status) handed to
  the device model, and Normal TDs on interrupt-in endpoints (a NAK leaves the TD pending
  until the next doorbell); Transfer events for TRBs with IOC, or ISP on a short packet,
  with the residual length; a STALL halts the endpoint (Stall Error event);
* the event ring of interrupter 0 (one segment): events written with the producer cycle
  state, which flips at each wrap; Port Status Change events while running.

Interrupts are not modelled (SLOF polls the event ring): IMAN and the EINT status bit stay
as written. Root-hub port N of the USB 3 group and port N of the USB 2 group are one
physical port (as in QEMU); a device shows on the one whose speeds it has. A USB device
model is an object with `speeds`, `speed`, `reset()`, `control()` and `interrupt_in()`
(slofpy.host.usb_keyboard).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slofpy.abi.guest_memory import GuestMemory
from slofpy.host import fdt_lookup
from slofpy.host.usb_devices import UsbDeviceSpec
from slofpy.host.tce import DmaError, DmaSpace

XHCI_VENDOR, XHCI_DEVICE = 0x1B36, 0x000D

PHYSICAL_PORTS = 4
USB3_FIRST, USB2_FIRST = 1, 5           # root-hub port numbers of the two groups
SPEED_SUPER = 4
NUM_SLOTS, NUM_INTRS = 64, 16

CAPLENGTH, HCIVERSION = 0x40, 0x0100
HCSPARAMS2 = 0x0000000F
HCCPARAMS1 = (0x20 >> 2) << 16 | 0x7 << 12 | 1      # xECP 0x20, MaxPSASize 7, AC64
OPERATIONAL, PORTS, RUNTIME, DOORBELLS = 0x40, 0x440, 0x1000, 0x2000
INTERRUPTERS = RUNTIME + 0x20

USBCMD_RS, USBCMD_HCRST = 1 << 0, 1 << 1
USBSTS_HCH = 1 << 0
USBSTS_W1C = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 10)
CRCR_CRR = 1 << 3

PORTSC_CCS, PORTSC_PED, PORTSC_PR, PORTSC_PP = 1 << 0, 1 << 1, 1 << 4, 1 << 9
PORTSC_LWS, PORTSC_CSC, PORTSC_PRC, PORTSC_WPR = 1 << 16, 1 << 17, 1 << 21, 1 << 31
PORTSC_W1C = 0x7F << 17                  # CSC PEC WRC OCC PRC PLC CEC
PORTSC_RW = PORTSC_PP | (7 << 25)        # PP WCE WDE WOE
PLS_U0, PLS_RX_DETECT, PLS_POLLING = 0, 5, 7

TRB_SIZE = 16
TRB_CYCLE, TRB_TC, TRB_ISP, TRB_CH, TRB_IOC, TRB_IDT = 1, 1 << 1, 1 << 2, 1 << 4, 1 << 5, 1 << 6
TRB_BSR = TRB_DC = 1 << 9
TR_NORMAL, TR_SETUP, TR_DATA, TR_STATUS, TR_LINK = 1, 2, 3, 4, 6
CR_ENABLE_SLOT, CR_DISABLE_SLOT, CR_ADDRESS_DEVICE, CR_CONFIGURE_ENDPOINT = 9, 10, 11, 12
CR_EVALUATE_CONTEXT, CR_NOOP = 13, 23
ER_TRANSFER, ER_COMMAND_COMPLETE, ER_PORT_STATUS_CHANGE = 32, 33, 34

CC_SUCCESS, CC_DATA_BUFFER_ERROR, CC_USB_TRANSACTION_ERROR, CC_TRB_ERROR = 1, 2, 4, 5
CC_STALL_ERROR, CC_NO_SLOTS_ERROR, CC_SLOT_NOT_ENABLED_ERROR = 6, 9, 11
CC_CONTEXT_STATE_ERROR, CC_SHORT_PACKET = 19, 13

SLOT_DEFAULT, SLOT_ADDRESSED, SLOT_CONFIGURED = 1, 2, 3
EP_DISABLED, EP_RUNNING, EP_HALTED = 0, 1, 2
EP_CONTROL, EP_INTERRUPT_IN = 4, 7
CONTEXT_SIZE = 32


@dataclass
class Endpoint:
    """One enabled endpoint of a slot: its type, transfer ring dequeue pointer and cycle."""

    type: int
    dequeue: int
    ccs: int
    context: int                       # its context in the output device context
    state: int = EP_RUNNING


@dataclass
class Slot:
    enabled: bool = False
    addressed: bool = False
    port: int | None = None            # the physical port of its device
    context: int = 0                   # the output device context
    endpoints: dict[int, Endpoint] = field(default_factory=dict)


@dataclass
class Interrupter:
    iman: int = 0
    imod: int = 0
    erstsz: int = 0
    erstba: int = 0
    erdp: int = 0
    start: int = 0                     # the event ring segment loaded from the ERST
    size: int = 0
    index: int = 0
    pcs: int = 1


def _le32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "little")


def _dwords(*values: int) -> bytes:
    return b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in values)


class XhciController:
    """One qemu-xhci: its registers, slots, rings and the USB devices on its ports."""

    BAR_SIZE = 0x4000

    def __init__(self, devices: list[Any] | tuple[Any, ...] = ()) -> None:
        if len(devices) > PHYSICAL_PORTS:
            raise ValueError(f"qemu-xhci has {PHYSICAL_PORTS} ports, not {len(devices)}")
        self.devices: list[Any] = list(devices) + [None] * (PHYSICAL_PORTS - len(devices))
        self.dma_of: Callable[[GuestMemory], DmaSpace] | None = None
        self.dma: DmaSpace | None = None
        self.unmodelled: list[str] = []
        self.reset()

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """HCRST (and a machine reset): halted, every pointer and slot cleared, each port
        looked at anew (connect status change set)."""
        self.usbcmd = 0
        self.usbsts = USBSTS_HCH
        self.dnctrl = 0
        self.crcr = 0
        self.command_dequeue = 0
        self.command_ccs = 1
        self.dcbaap = 0
        self.config = 0
        self.slots = [Slot() for _ in range(NUM_SLOTS)]
        self.interrupters = [Interrupter() for _ in range(NUM_INTRS)]
        self.portsc = [0] * (2 * PHYSICAL_PORTS)
        for number in range(1, 2 * PHYSICAL_PORTS + 1):
            self._port_update(number)

    @property
    def running(self) -> bool:
        return not self.usbsts & USBSTS_HCH

    @staticmethod
    def physical(number: int) -> int:
        """The physical port of root-hub port `number` (1-8)."""
        return number - (USB2_FIRST if number >= USB2_FIRST else USB3_FIRST)

    def _device_on(self, number: int) -> Any:
        """The device root-hub port `number` shows, if its speeds fit the port's group."""
        device = self.devices[self.physical(number)]
        if device is None:
            return None
        usb3 = number < USB2_FIRST
        return device if (SPEED_SUPER in device.speeds) == usb3 else None

    def _port_update(self, number: int) -> None:
        portsc = PORTSC_PP
        pls = PLS_RX_DETECT
        device = self._device_on(number)
        if device is not None:
            portsc |= PORTSC_CCS | device.speed << 10
            pls = PLS_U0 if device.speed == SPEED_SUPER else PLS_POLLING
        self.portsc[number - 1] = portsc | pls << 5
        self._port_notify(number, PORTSC_CSC)

    def _port_notify(self, number: int, bits: int) -> None:
        self.portsc[number - 1] |= bits
        if self.running:
            self._event(ER_PORT_STATUS_CHANGE, number << 24, CC_SUCCESS << 24, 0)

    def _port_reset(self, number: int) -> None:
        device = self._device_on(number)
        if device is None:
            return
        device.reset()
        portsc = self.portsc[number - 1] & ~(0xF << 5) & ~PORTSC_PR
        self.portsc[number - 1] = portsc | PLS_U0 << 5 | PORTSC_PED
        self._port_notify(number, PORTSC_PRC)

    # ---------------------------------------------------------------- register access
    def read_bytes(self, offset: int, size: int) -> bytes:
        """A load of `size` bytes at `offset`, as the registers' little-endian bytes."""
        if offset < CAPLENGTH and size in (1, 2, 4) and (offset & 3) + size <= 4:
            return self._capability(offset & ~3).to_bytes(4, "little")[offset & 3:][:size]
        if size == 4 and not offset & 3:
            return self._read32(offset).to_bytes(4, "little")
        if size == 8 and not offset & 7 and offset >= OPERATIONAL and offset < DOORBELLS:
            return _dwords(self._read32(offset), self._read32(offset + 4))
        return b"\xff" * size

    def store(self, memory: GuestMemory, offset: int, data: bytes) -> None:
        """A store of `data` (the register's little-endian bytes) at `offset`."""
        if self.dma_of is not None:
            self.dma = self.dma_of(memory)
        if len(data) == 4 and not offset & 3:
            self.write(offset, _le32(data, 0))
        elif len(data) == 8 and not offset & 7 and OPERATIONAL <= offset < DOORBELLS:
            self.write(offset, _le32(data, 0))
            self.write(offset + 4, _le32(data, 4))

    def _capability(self, offset: int) -> int:
        ports_2 = (PHYSICAL_PORTS << 8) | USB2_FIRST
        ports_3 = (PHYSICAL_PORTS << 8) | USB3_FIRST
        return {
            0x00: CAPLENGTH | HCIVERSION << 16,
            0x04: NUM_SLOTS | NUM_INTRS << 8 | (2 * PHYSICAL_PORTS) << 24,
            0x08: HCSPARAMS2, 0x0C: 0, 0x10: HCCPARAMS1,
            0x14: DOORBELLS, 0x18: RUNTIME, 0x1C: 0,
            0x20: 0x02000402, 0x24: 0x20425355, 0x28: ports_2, 0x2C: 0,
            0x30: 0x03000002, 0x34: 0x20425355, 0x38: ports_3, 0x3C: 0,
        }.get(offset, 0)

    def _read32(self, offset: int) -> int:
        if offset < CAPLENGTH:
            return self._capability(offset)
        if PORTS <= offset < PORTS + 0x10 * 2 * PHYSICAL_PORTS:
            return self.portsc[(offset - PORTS) // 0x10] if offset & 0xF == 0 else 0
        if offset < PORTS:
            return {
                0x40: self.usbcmd, 0x44: self.usbsts, 0x48: 1, 0x54: self.dnctrl,
                0x58: self.crcr & CRCR_CRR, 0x5C: 0,
                0x70: self.dcbaap & 0xFFFFFFFF, 0x74: self.dcbaap >> 32, 0x78: self.config,
            }.get(offset, 0)
        if INTERRUPTERS <= offset < INTERRUPTERS + 0x20 * NUM_INTRS:
            intr = self.interrupters[(offset - INTERRUPTERS) // 0x20]
            return {
                0x00: intr.iman, 0x04: intr.imod, 0x08: intr.erstsz,
                0x10: intr.erstba & 0xFFFFFFFF, 0x14: intr.erstba >> 32,
                0x18: intr.erdp & 0xFFFFFFFF, 0x1C: intr.erdp >> 32,
            }.get(offset & 0x1F, 0)
        return 0

    def write(self, offset: int, value: int) -> None:
        """An aligned 32-bit store, value as the register holds it."""
        value &= 0xFFFFFFFF
        if offset < CAPLENGTH:
            return
        if PORTS <= offset < PORTS + 0x10 * 2 * PHYSICAL_PORTS:
            if offset & 0xF == 0:
                self._write_portsc((offset - PORTS) // 0x10 + 1, value)
        elif offset < PORTS:
            self._write_operational(offset, value)
        elif INTERRUPTERS <= offset < INTERRUPTERS + 0x20 * NUM_INTRS:
            self._write_interrupter((offset - INTERRUPTERS) // 0x20, offset & 0x1F, value)
        elif DOORBELLS <= offset < DOORBELLS + 4 * (NUM_SLOTS + 1):
            self._doorbell((offset - DOORBELLS) // 4, value)

    def _write_operational(self, offset: int, value: int) -> None:
        if offset == 0x40:
            if value & USBCMD_RS:
                self.usbsts &= ~USBSTS_HCH
            else:
                self.usbsts |= USBSTS_HCH
                self.crcr &= ~CRCR_CRR
            self.usbcmd = value & 0xC0F
            if value & USBCMD_HCRST:
                self.reset()
        elif offset == 0x44:
            self.usbsts &= ~(value & USBSTS_W1C)
        elif offset == 0x54:
            self.dnctrl = value & 0xFFFF
        elif offset == 0x58:
            self.crcr = (self.crcr & ~0xFFFFFFFF) | (value & 0xFFFFFFCF) | (self.crcr & CRCR_CRR)
        elif offset == 0x5C:
            self.crcr = (self.crcr & 0xFFFFFFFF) | value << 32
            if not self.crcr & CRCR_CRR:
                self.command_dequeue = self.crcr & ~0x3F
                self.command_ccs = 1
        elif offset == 0x70:
            self.dcbaap = (self.dcbaap & ~0xFFFFFFFF) | (value & 0xFFFFFFC0)
        elif offset == 0x74:
            self.dcbaap = (self.dcbaap & 0xFFFFFFFF) | value << 32
        elif offset == 0x78:
            self.config = value & 0xFF

    def _write_portsc(self, number: int, value: int) -> None:
        if value & PORTSC_WPR or value & PORTSC_PR:
            self._port_reset(number)
            return
        portsc = self.portsc[number - 1] & ~(value & PORTSC_W1C)
        self.portsc[number - 1] = (portsc & ~PORTSC_RW) | (value & PORTSC_RW)

    def _write_interrupter(self, index: int, register: int, value: int) -> None:
        intr = self.interrupters[index]
        if register == 0x00:
            # IP (bit 0) is written 1 to clear, IE (bit 1) as written
            intr.iman = (intr.iman & 1 & ~value) | (value & 2)
        elif register == 0x04:
            intr.imod = value
        elif register == 0x08:
            intr.erstsz = value & 0xFFFF
        elif register == 0x10:
            intr.erstba = (intr.erstba & ~0xFFFFFFFF) | (value & 0xFFFFFFC0)
        elif register == 0x14:
            intr.erstba = (intr.erstba & 0xFFFFFFFF) | value << 32
            self._load_event_ring(intr, index)
        elif register == 0x18:
            ehb = intr.erdp & 8 & ~(value & 8)
            intr.erdp = (intr.erdp & ~0xFFFFFFFF) | (value & ~8) | ehb
        elif register == 0x1C:
            intr.erdp = (intr.erdp & 0xFFFFFFFF) | value << 32

    def _load_event_ring(self, intr: Interrupter, index: int) -> None:
        intr.start = intr.size = 0
        if not intr.erstsz or not intr.erstba:
            return
        if intr.erstsz != 1:
            self.unmodelled.append(f"interrupter {index}: {intr.erstsz} event ring segments")
            return
        entry = self._dma_read(intr.erstba, 16)
        if entry is None:
            return
        size = _le32(entry, 8) & 0xFFFF
        if not 16 <= size <= 4096:
            self.unmodelled.append(f"interrupter {index}: event ring segment of {size} TRBs")
            return
        intr.start = int.from_bytes(entry[:8], "little") & ~0x3F
        intr.size = size
        intr.index = 0
        intr.pcs = 1

    # ---------------------------------------------------------------- DMA
    def _dma_read(self, addr: int, length: int) -> bytes | None:
        try:
            if self.dma is None:
                raise DmaError("no DMA space")
            return self.dma.read(addr, length)
        except DmaError as error:
            self.unmodelled.append(f"DMA read failed: {error}")
            return None

    def _dma_write(self, addr: int, data: bytes) -> bool:
        try:
            if self.dma is None:
                raise DmaError("no DMA space")
            self.dma.write(addr, data)
            return True
        except DmaError as error:
            self.unmodelled.append(f"DMA write failed: {error}")
            return False

    def _event(self, kind: int, parameter: int, status: int, control: int) -> None:
        """Put one event on interrupter 0's ring, with its producer cycle state."""
        intr = self.interrupters[0]
        if not intr.size:
            self.unmodelled.append(f"event {kind} lost: no event ring")
            return
        dequeue = ((intr.erdp & ~0xF) - intr.start) // TRB_SIZE
        if (intr.index + 1) % intr.size == dequeue:
            self.unmodelled.append(f"event {kind} lost: event ring full")
            return
        trb = parameter.to_bytes(8, "little") + _dwords(status, control | kind << 10 | intr.pcs)
        self._dma_write(intr.start + TRB_SIZE * intr.index, trb)
        intr.index += 1
        if intr.index >= intr.size:
            intr.index = 0
            intr.pcs ^= 1
        intr.erdp |= 8                      # event handler busy

    # ---------------------------------------------------------------- doorbells
    def _doorbell(self, index: int, value: int) -> None:
        if not self.running:
            return
        if index == 0:
            if value & 0xFF == 0:
                self._run_commands()
            return
        target = value & 0xFF
        slot = self.slots[index - 1] if index <= NUM_SLOTS else None
        if slot is None or not slot.enabled or not 1 <= target <= 31:
            return
        endpoint = slot.endpoints.get(target)
        if endpoint is None or endpoint.state != EP_RUNNING:
            return
        self._run_endpoint(index, target, endpoint)

    def _fetch(self, dequeue: int, ccs: int) -> tuple[int, bytes, int, int] | None:
        """The next TRB of a ring at `dequeue` (links followed): (its address, its 16
        bytes, the dequeue after it, the cycle state after it); None when it is not the
        producer's yet."""
        for _ in range(64):                 # a ring of links only is a broken ring
            trb = self._dma_read(dequeue, TRB_SIZE)
            if trb is None:
                return None
            control = _le32(trb, 12)
            if control & TRB_CYCLE != ccs:
                return None
            if (control >> 10) & 0x3F == TR_LINK:
                if control & TRB_TC:
                    ccs ^= 1
                dequeue = int.from_bytes(trb[:8], "little") & ~0xF
                continue
            return dequeue, trb, dequeue + TRB_SIZE, ccs
        self.unmodelled.append("a ring of link TRBs only")
        return None

    # ---------------------------------------------------------------- commands
    def _run_commands(self) -> None:
        self.crcr |= CRCR_CRR
        while True:
            fetched = self._fetch(self.command_dequeue, self.command_ccs)
            if fetched is None:
                return
            addr, trb, self.command_dequeue, self.command_ccs = fetched
            control = _le32(trb, 12)
            kind = (control >> 10) & 0x3F
            slot_id = control >> 24
            code, slot_id = self._command(kind, slot_id, trb, control)
            self._event(ER_COMMAND_COMPLETE, addr, code << 24, slot_id << 24)

    def _command(self, kind: int, slot_id: int, trb: bytes, control: int) -> tuple[int, int]:
        """Carry out one command: (completion code, slot id for the event)."""
        if kind == CR_NOOP:
            return CC_SUCCESS, 0
        if kind == CR_ENABLE_SLOT:
            for i, slot in enumerate(self.slots):
                if not slot.enabled:
                    self.slots[i] = Slot(enabled=True)
                    return CC_SUCCESS, i + 1
            return CC_NO_SLOTS_ERROR, 0
        if kind not in (CR_DISABLE_SLOT, CR_ADDRESS_DEVICE, CR_CONFIGURE_ENDPOINT,
                        CR_EVALUATE_CONTEXT):
            self.unmodelled.append(f"command TRB type {kind}")
            return CC_TRB_ERROR, slot_id
        if not 1 <= slot_id <= NUM_SLOTS:
            return CC_TRB_ERROR, 0
        if not self.slots[slot_id - 1].enabled:
            return CC_SLOT_NOT_ENABLED_ERROR, slot_id
        input_context = int.from_bytes(trb[:8], "little") & ~0xF
        if kind == CR_DISABLE_SLOT:
            self.slots[slot_id - 1] = Slot()
            return CC_SUCCESS, slot_id
        if kind == CR_ADDRESS_DEVICE:
            return self._address_device(slot_id, input_context, bool(control & TRB_BSR)), slot_id
        if kind == CR_CONFIGURE_ENDPOINT:
            return self._configure_endpoint(slot_id, input_context,
                                            bool(control & TRB_DC)), slot_id
        return self._evaluate_context(slot_id, input_context), slot_id

    def _output_context(self, slot_id: int) -> int | None:
        pointer = self._dma_read(self.dcbaap + 8 * slot_id, 8)
        return None if pointer is None else int.from_bytes(pointer, "little") & ~0x3F

    def _address_device(self, slot_id: int, input_context: int, bsr: bool) -> int:
        output = self._output_context(slot_id)
        data = self._dma_read(input_context, 3 * CONTEXT_SIZE)
        if output is None or data is None:
            return CC_DATA_BUFFER_ERROR
        if _le32(data, 0) != 0 or _le32(data, 4) != 3:
            return CC_TRB_ERROR
        slot_ctx = [_le32(data, CONTEXT_SIZE + 4 * i) for i in range(4)]
        ep0_ctx = [_le32(data, 2 * CONTEXT_SIZE + 4 * i) for i in range(5)]
        number = (slot_ctx[1] >> 16) & 0xFF
        if not 1 <= number <= 2 * PHYSICAL_PORTS:
            return CC_TRB_ERROR
        port = self.physical(number)
        device = self.devices[port]
        if device is None:
            return CC_USB_TRANSACTION_ERROR
        for i, other in enumerate(self.slots):
            if i != slot_id - 1 and other.enabled and other.port == port:
                return CC_TRB_ERROR
        slot = self.slots[slot_id - 1]
        slot.port, slot.context = port, output
        device.reset()
        if bsr:
            slot_ctx[3] = SLOT_DEFAULT << 27
        else:
            slot_ctx[3] = SLOT_ADDRESSED << 27 | slot_id
            device.control(bytes([0, 5]) + slot_id.to_bytes(2, "little") + bytes(4))
        code = self._enable_endpoint(slot, 1, output + CONTEXT_SIZE, ep0_ctx)
        self._dma_write(output, _dwords(*slot_ctx))
        self._dma_write(output + CONTEXT_SIZE, _dwords(*ep0_ctx))
        slot.addressed = True
        return code

    def _enable_endpoint(self, slot: Slot, dci: int, context: int, ctx: list[int]) -> int:
        """Start endpoint `dci` from its context words (ctx[0] gets the Running state)."""
        dequeue = (ctx[3] << 32 | ctx[2]) & ~0xF
        slot.endpoints[dci] = Endpoint((ctx[1] >> 3) & 7, dequeue, ctx[2] & 1, context)
        ctx[0] = (ctx[0] & ~7) | EP_RUNNING
        return CC_SUCCESS

    def _configure_endpoint(self, slot_id: int, input_context: int, deconfigure: bool) -> int:
        slot = self.slots[slot_id - 1]
        output = slot.context
        current = self._dma_read(output, 4 * 4) if output else None
        if current is None:
            return CC_CONTEXT_STATE_ERROR
        slot_ctx = [_le32(current, 4 * i) for i in range(4)]
        if deconfigure:
            for dci in [d for d in slot.endpoints if d >= 2]:
                del slot.endpoints[dci]
            slot_ctx[3] = (slot_ctx[3] & ~(0x1F << 27)) | SLOT_ADDRESSED << 27
            self._dma_write(output, _dwords(*slot_ctx))
            return CC_SUCCESS
        data = self._dma_read(input_context, 33 * CONTEXT_SIZE)
        if data is None:
            return CC_DATA_BUFFER_ERROR
        drop, add = _le32(data, 0), _le32(data, 4)
        if drop & 3 or add & 3 != 1:
            return CC_TRB_ERROR
        if (slot_ctx[3] >> 27) & 0x1F < SLOT_ADDRESSED:
            return CC_CONTEXT_STATE_ERROR
        for dci in range(2, 32):
            if drop & (1 << dci):
                slot.endpoints.pop(dci, None)
            if add & (1 << dci):
                at = CONTEXT_SIZE * (dci + 1)
                ctx = [_le32(data, at + 4 * i) for i in range(5)]
                slot.endpoints.pop(dci, None)
                self._enable_endpoint(slot, dci, output + CONTEXT_SIZE * dci, ctx)
                self._dma_write(output + CONTEXT_SIZE * dci, _dwords(*ctx))
        slot_ctx[3] = (slot_ctx[3] & ~(0x1F << 27)) | SLOT_CONFIGURED << 27
        entries = _le32(data, CONTEXT_SIZE) & (0x1F << 27)
        slot_ctx[0] = (slot_ctx[0] & ~(0x1F << 27)) | entries
        self._dma_write(output, _dwords(*slot_ctx))
        return CC_SUCCESS

    def _evaluate_context(self, slot_id: int, input_context: int) -> int:
        slot = self.slots[slot_id - 1]
        data = self._dma_read(input_context, 3 * CONTEXT_SIZE)
        current = self._dma_read(slot.context, 2 * CONTEXT_SIZE) if slot.context else None
        if data is None or current is None:
            return CC_DATA_BUFFER_ERROR
        drop, add = _le32(data, 0), _le32(data, 4)
        if drop or add & ~3:
            return CC_TRB_ERROR
        out = bytearray(current)
        if add & 1:
            exit_latency = _le32(data, CONTEXT_SIZE + 4) & 0xFFFF
            target = _le32(data, CONTEXT_SIZE + 8) & (0x3FF << 22)
            word1 = (_le32(out, 4) & ~0xFFFF) | exit_latency
            word2 = (_le32(out, 8) & ~(0x3FF << 22)) | target
            out[4:12] = _dwords(word1, word2)
        if add & 2:
            packet = _le32(data, 2 * CONTEXT_SIZE + 4) & 0xFFFF0000
            word = (_le32(out, CONTEXT_SIZE + 4) & 0xFFFF) | packet
            out[CONTEXT_SIZE + 4:CONTEXT_SIZE + 8] = _dwords(word)
        self._dma_write(slot.context, bytes(out))
        return CC_SUCCESS

    # ---------------------------------------------------------------- transfers
    def _run_endpoint(self, slot_id: int, dci: int, endpoint: Endpoint) -> None:
        device = self.devices[self.slots[slot_id - 1].port]
        while endpoint.state == EP_RUNNING:
            td = self._fetch_td(endpoint)
            if td is None:
                return
            trbs, dequeue, ccs = td
            if endpoint.type == EP_CONTROL:
                done = self._control_td(slot_id, dci, endpoint, device, trbs)
            elif endpoint.type == EP_INTERRUPT_IN:
                done = self._interrupt_td(slot_id, dci, endpoint, device, trbs)
            else:
                self.unmodelled.append(f"transfers on endpoint type {endpoint.type}")
                return
            if not done:
                return
            endpoint.dequeue, endpoint.ccs = dequeue, ccs

    def _fetch_td(self, endpoint: Endpoint) -> tuple[list[tuple[int, bytes]], int, int] | None:
        """The next whole TD on the ring: control TDs run from Setup to Status, others to
        the first TRB without the chain bit."""
        trbs: list[tuple[int, bytes]] = []
        dequeue, ccs = endpoint.dequeue, endpoint.ccs
        in_control = False
        for _ in range(256):
            fetched = self._fetch(dequeue, ccs)
            if fetched is None:
                return None
            addr, trb, dequeue, ccs = fetched
            trbs.append((addr, trb))
            kind = (_le32(trb, 12) >> 10) & 0x3F
            if kind == TR_SETUP:
                in_control = True
            elif kind == TR_STATUS:
                in_control = False
            if not in_control and not _le32(trb, 12) & TRB_CH:
                return trbs, dequeue, ccs
        self.unmodelled.append("a TD of over 256 TRBs")
        return None

    def _report(self, slot_id: int, dci: int, trbs: list[tuple[int, bytes]], moved: int,
                code: int) -> None:
        """Transfer events for a finished TD of which `moved` data bytes went across."""
        left = moved
        short = False
        for addr, trb in trbs:
            control = _le32(trb, 12)
            kind = (control >> 10) & 0x3F
            length = _le32(trb, 8) & 0x1FFFF if kind in (TR_NORMAL, TR_DATA) else 0
            chunk = min(length, left)
            if chunk < length and code == CC_SUCCESS:
                short = True
            left -= chunk
            if control & TRB_IOC or (short and control & TRB_ISP) or \
                    (code != CC_SUCCESS and kind == TR_STATUS):
                event_code = (CC_SHORT_PACKET if short else CC_SUCCESS) \
                    if code == CC_SUCCESS else code
                self._event(ER_TRANSFER, addr, event_code << 24 | (length - chunk),
                            slot_id << 24 | dci << 16)
                if code != CC_SUCCESS:
                    return
            if kind == TR_SETUP:
                short = False

    def _halt(self, endpoint: Endpoint) -> None:
        endpoint.state = EP_HALTED
        word = self._dma_read(endpoint.context, 4)
        if word is not None:
            self._dma_write(endpoint.context, _dwords((_le32(word, 0) & ~7) | EP_HALTED))

    def _control_td(self, slot_id: int, dci: int, endpoint: Endpoint, device: Any,
                    trbs: list[tuple[int, bytes]]) -> bool:
        setup_trb = trbs[0][1]
        if (_le32(setup_trb, 12) >> 10) & 0x3F != TR_SETUP or \
                not _le32(setup_trb, 12) & TRB_IDT:
            self._report(slot_id, dci, trbs, 0, CC_TRB_ERROR)
            return True
        setup = setup_trb[:8]
        data_trb = next((trb for _, trb in trbs[1:] if (_le32(trb, 12) >> 10) & 0x3F == TR_DATA),
                        None)
        buffer = int.from_bytes(data_trb[:8], "little") if data_trb else 0
        length = _le32(data_trb, 8) & 0x1FFFF if data_trb else 0
        device_to_host = bool(setup[0] & 0x80)
        out = b""
        if data_trb is not None and not device_to_host:
            out = self._dma_read(buffer, length) or b""
        answer = device.control(setup, out)
        if answer is None:
            self._report(slot_id, dci, trbs, 0, CC_STALL_ERROR)
            self._halt(endpoint)
            return True
        moved = length if not device_to_host else min(len(answer), length)
        if device_to_host and moved and not self._dma_write(buffer, answer[:moved]):
            self._report(slot_id, dci, trbs, 0, CC_DATA_BUFFER_ERROR)
            return True
        self._report(slot_id, dci, trbs, moved, CC_SUCCESS)
        return True

    def _interrupt_td(self, slot_id: int, dci: int, endpoint: Endpoint, device: Any,
                      trbs: list[tuple[int, bytes]]) -> bool:
        buffers = [(int.from_bytes(trb[:8], "little"), _le32(trb, 8) & 0x1FFFF)
                   for _, trb in trbs if (_le32(trb, 12) >> 10) & 0x3F == TR_NORMAL]
        answer = device.interrupt_in(dci // 2, sum(size for _, size in buffers))
        if answer is None:
            return False                    # NAK: the TD stays pending
        moved = 0
        for addr, size in buffers:
            piece = answer[moved:moved + size]
            if piece and not self._dma_write(addr, piece):
                self._report(slot_id, dci, trbs, 0, CC_DATA_BUFFER_ERROR)
                return True
            moved += len(piece)
        self._report(slot_id, dci, trbs, moved, CC_SUCCESS)
        return True


def xhci_factory(usb_devices: dict[str, tuple[UsbDeviceSpec, ...]],
                 models: dict[str, Callable[[], Any]]) -> Callable[[dict[str, bytes]], Any]:
    """A pci_mmio factory that makes a qemu-xhci model for a seed node with 1b36:000d, with
    the devices `usb_devices` lists under its `ibm,loc-code` on their ports (QEMU's port
    numbers: port N is the Nth USB 2 root port). models: QEMU -device name -> device model."""

    def make(props: dict[str, bytes]) -> XhciController | None:
        vendor = fdt_lookup.cells(props.get("vendor-id", b""))
        device = fdt_lookup.cells(props.get("device-id", b""))
        if vendor[:1] != [XHCI_VENDOR] or device[:1] != [XHCI_DEVICE]:
            return None
        loc = props.get("ibm,loc-code", b"").rstrip(b"\0").decode("latin-1")
        specs = usb_devices.get(loc, ())
        devices: list[Any] = [None] * max((spec.port for spec in specs), default=0)
        for spec in specs:
            name = f"usb-{spec.kind}"
            if name not in models:
                raise ValueError(f"USB device {name!r} on {loc}: slofpy models "
                                 f"{', '.join(sorted(models))}")
            devices[spec.port - 1] = models[name]()
        return XhciController(devices)

    return make
