"""QEMU's qemu-xhci controller and usb-kbd device as slofpy's host models them, driven the way
an xHCI driver drives them: registers by offset in the BAR, rings and contexts in guest memory
(DMA with no TCE window: bus addresses are guest addresses)."""
from __future__ import annotations

import pytest

from slofpy.abi.guest_memory import BufferGuestMemory
from slofpy.host.tce import DmaSpace, TceTables
from slofpy.host.usb_devices import UsbDeviceSpec
from slofpy.host.usb_keyboard import UsbKeyboard
from slofpy.host.xhci import XhciController

OP, PORTS, IR0, DB = 0x40, 0x440, 0x1020, 0x2000
DCBAA, CMD_RING, EVENT_RING, ERST = 0x10000, 0x11000, 0x12000, 0x13000
IN_CTX, OUT_CTX, EP0_RING, INTR_RING, DATA = 0x14000, 0x15000, 0x16000, 0x17000, 0x18000
USB2_PORT = 5


def le32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


class Driver:
    """A minimal xHCI driver: one command ring, one event ring, one slot."""

    def __init__(self, devices=None, event_trbs: int = 256) -> None:
        self.memory = BufferGuestMemory(bytearray(1 << 20))
        self.keyboard = UsbKeyboard()
        self.hc = XhciController([self.keyboard] if devices is None else devices)
        self.hc.dma_of = lambda memory: DmaSpace(memory, TceTables(), None)
        self.cmd_enq, self.cmd_cycle = CMD_RING, 1
        self.ev_deq, self.ev_cycle = EVENT_RING, 1
        self.ev_trbs = event_trbs
        self.tr_enq = {}

    def r32(self, offset: int) -> int:
        return int.from_bytes(self.hc.read_bytes(offset, 4), "little")

    def w32(self, offset: int, value: int) -> None:
        self.hc.store(self.memory, offset, le32(value))

    def w64(self, offset: int, value: int) -> None:
        self.hc.store(self.memory, offset, value.to_bytes(8, "little"))

    def m32(self, addr: int) -> int:
        return int.from_bytes(self.memory.read(addr, 4), "little")

    def start(self) -> None:
        self.w32(OP, 2)                                    # HCRST
        self.w32(OP + 0x38, 44)
        self.w64(OP + 0x30, DCBAA)
        self.w64(OP + 0x18, CMD_RING | 1)
        self.memory.write(ERST, EVENT_RING.to_bytes(8, "little") + le32(self.ev_trbs) + le32(0))
        self.w32(IR0 + 0x08, 1)
        self.w64(IR0 + 0x18, EVENT_RING)
        self.w64(IR0 + 0x10, ERST)
        self.w32(OP, 1)                                    # run

    def event(self) -> tuple[int, int, int] | None:
        """(pointer, status, control) of the next event, or None."""
        trb = self.memory.read(self.ev_deq, 16)
        control = int.from_bytes(trb[12:], "little")
        if control & 1 != self.ev_cycle:
            return None
        self.ev_deq += 16
        if self.ev_deq == EVENT_RING + 16 * self.ev_trbs:
            self.ev_deq, self.ev_cycle = EVENT_RING, self.ev_cycle ^ 1
        self.w64(IR0 + 0x18, self.ev_deq | 8)
        return (int.from_bytes(trb[:8], "little"), int.from_bytes(trb[8:12], "little"), control)

    def command(self, trb_type: int, parameter: int = 0, slot: int = 0, extra: int = 0):
        addr = self.cmd_enq
        self.memory.write(addr, parameter.to_bytes(8, "little") + le32(0)
                          + le32(slot << 24 | trb_type << 10 | extra | self.cmd_cycle))
        self.cmd_enq += 16
        self.w32(DB, 0)
        ptr, status, control = self.event()
        assert ptr == addr and (control >> 10) & 0x3F == 33
        return status >> 24, control >> 24

    def address_device(self, port: int = 1) -> int:
        code, slot = self.command(9)
        assert code == 1
        self.memory.write(DCBAA + 8 * slot, OUT_CTX.to_bytes(8, "little"))
        self.memory.write(IN_CTX, le32(0) + le32(3))
        self.memory.write(IN_CTX + 32, le32(1 << 27 | 3 << 20) + le32(port << 16))
        self.memory.write(IN_CTX + 64, le32(0) + le32(4 << 3 | 3 << 1 | 64 << 16)
                          + (EP0_RING | 1).to_bytes(8, "little") + le32(8))
        self.tr_enq[1] = EP0_RING
        code, _ = self.command(11, IN_CTX, slot)
        assert code == 1
        return slot

    def trb(self, dci: int, parameter: int, status: int, control: int) -> int:
        addr = self.tr_enq[dci]
        self.memory.write(addr, parameter.to_bytes(8, "little") + le32(status)
                          + le32(control | 1))
        self.tr_enq[dci] += 16
        return addr

    def control_in(self, slot: int, setup: bytes, length: int) -> tuple[int, int, bytes]:
        self.trb(1, int.from_bytes(setup, "little"), 8, 2 << 10 | 1 << 6 | 3 << 16)
        self.trb(1, DATA, length, 3 << 10 | 1 << 16)
        status_trb = self.trb(1, 0, 0, 4 << 10 | 1 << 5)
        self.w32(DB + 4 * slot, 1)
        ptr, status, _ = self.event()
        assert ptr == status_trb
        return status >> 24, status & 0xFFFFFF, self.memory.read(DATA, length)


def test_capability_registers_and_supported_protocols():
    d = Driver()
    assert d.hc.read_bytes(0, 1) == b"\x40"                 # CAPLENGTH, as SLOF reads it
    assert d.r32(0) >> 16 == 0x100
    assert d.r32(4) == 64 | 16 << 8 | 8 << 24
    assert d.r32(0x10) & 4 == 0                             # 32-byte contexts
    assert (d.r32(0x14), d.r32(0x18)) == (0x2000, 0x1000)
    # the extended capabilities: two Supported Protocol entries, USB 3 first
    at, found = (d.r32(0x10) >> 16) * 4, []
    while True:
        head = d.r32(at)
        found.append((head & 0xFF, head >> 24, d.r32(at + 8) & 0xFF, (d.r32(at + 8) >> 8) & 0xFF))
        if not (head >> 8) & 0xFF:
            break
        at += 4 * ((head >> 8) & 0xFF)
    assert sorted(found) == [(2, 2, 5, 4), (2, 3, 1, 4)]


def test_reset_halts_and_the_keyboard_shows_on_the_first_usb2_port_only():
    d = Driver()
    assert d.r32(OP + 4) & 1                                 # HCHalted
    keyboard = d.r32(PORTS + 0x10 * (USB2_PORT - 1))
    assert keyboard & 1 and keyboard & 1 << 9 and keyboard & 1 << 17   # CCS PP CSC
    assert (keyboard >> 10) & 0xF == 3                       # high speed
    assert (keyboard >> 5) & 0xF == 7                        # polling
    for port in (1, 2, 3, 4, 6, 7, 8):
        status = d.r32(PORTS + 0x10 * (port - 1))
        assert not status & 1 and (status >> 5) & 0xF == 5
    empty = Driver(devices=[])
    assert not empty.r32(PORTS + 0x10 * (USB2_PORT - 1)) & 1


def test_run_stop_and_64_bit_registers():
    d = Driver()
    d.start()
    assert not d.r32(OP + 4) & 1
    assert int.from_bytes(d.hc.read_bytes(OP + 0x30, 8), "little") == DCBAA
    assert int.from_bytes(d.hc.read_bytes(IR0 + 0x10, 8), "little") == ERST
    d.w32(OP, 0)
    assert d.r32(OP + 4) & 1


def test_port_reset_enables_the_port_and_posts_a_port_status_change_event():
    d = Driver()
    d.start()
    assert d.event() is None
    reg = PORTS + 0x10 * (USB2_PORT - 1)
    d.w32(reg, d.r32(reg) | 1 << 4)
    status = d.r32(reg)
    assert status & 2 and not status & 1 << 4 and status & 1 << 21     # PED, PR done, PRC
    ptr, code, control = d.event()
    assert (ptr >> 24, code >> 24, (control >> 10) & 0x3F) == (USB2_PORT, 1, 34)
    # a reset of a port with nothing on it does nothing
    d.w32(PORTS, d.r32(PORTS) | 1 << 4)
    assert d.event() is None and not d.r32(PORTS) & 2


def test_commands_enable_address_and_configure_a_slot():
    d = Driver()
    d.start()
    assert d.command(23) == (1, 0)                           # No Op
    slot = d.address_device()
    assert slot == 1 and d.keyboard.address == 1             # SET_ADDRESS with the slot id
    slot_ctx = [d.m32(OUT_CTX + 4 * i) for i in range(4)]
    assert slot_ctx[3] == 2 << 27 | 1                         # addressed, address 1
    assert d.m32(OUT_CTX + 32) & 7 == 1                       # endpoint 0 running
    # configure the interrupt-in endpoint 1 (DCI 3)
    d.memory.write(IN_CTX, le32(0) + le32(1 | 1 << 3))
    d.memory.write(IN_CTX + 32, le32(3 << 27))
    d.memory.write(IN_CTX + 32 * 4, le32(0) + le32(7 << 3 | 8 << 16)
                   + (INTR_RING | 1).to_bytes(8, "little") + le32(8))
    assert d.command(12, IN_CTX, slot) == (1, 1)
    assert d.m32(OUT_CTX + 12) >> 27 == 3                     # configured
    assert d.m32(OUT_CTX + 32 * 3) & 7 == 1
    # bad input control contexts and slots are refused as QEMU refuses them
    d.memory.write(IN_CTX, le32(0) + le32(2))
    assert d.command(12, IN_CTX, slot)[0] == 5
    assert d.command(12, IN_CTX, 9)[0] == 11                  # slot not enabled
    assert d.command(10, 0, slot) == (1, 1)                   # Disable Slot
    assert d.command(14, 0, slot)[0] == 5 and d.hc.unmodelled == ["command TRB type 14"]


def test_enable_slot_runs_out_of_slots():
    d = Driver(event_trbs=128)
    d.start()
    for expected in range(1, 65):
        assert d.command(9) == (1, expected)
    assert d.command(9) == (9, 0)


def test_control_transfers_read_descriptors_and_a_stall_halts_endpoint_0():
    d = Driver()
    d.start()
    slot = d.address_device()
    code, residual, data = d.control_in(slot, bytes([0x80, 6, 0, 1, 0, 0, 18, 0]), 18)
    assert (code, residual) == (1, 0)
    assert data[:2] == bytes([18, 1]) and data[7] == 64 and data[8:12] == bytes([0x27, 6, 1, 0])
    code, _, data = d.control_in(slot, bytes([0x80, 6, 0, 2, 0, 0, 255, 0]), 255)
    assert code == 13                                         # short packet: 34 of 255
    assert data[:4] == bytes([9, 2, 34, 0]) and data[9 + 5:9 + 8] == bytes([3, 1, 1])
    assert data[27:34] == bytes([7, 5, 0x81, 3, 8, 0, 7])
    code, _, _ = d.control_in(slot, bytes([0x80, 6, 0, 9, 0, 0, 8, 0]), 8)   # no such descriptor
    assert code == 6 and d.m32(OUT_CTX + 32) & 7 == 2          # stall: endpoint 0 halted
    d.trb(1, int.from_bytes(bytes([0, 9, 1, 0, 0, 0, 0, 0]), "little"), 8, 2 << 10 | 1 << 6)
    d.w32(DB + 4 * slot, 1)
    assert d.event() is None                                  # a halted endpoint runs nothing


def test_an_interrupt_in_td_stays_pending_while_no_key_is_pressed():
    d = Driver()
    d.start()
    slot = d.address_device()
    d.memory.write(IN_CTX, le32(0) + le32(1 | 1 << 3))
    d.memory.write(IN_CTX + 32 * 4, le32(0) + le32(7 << 3 | 8 << 16)
                   + (INTR_RING | 1).to_bytes(8, "little") + le32(8))
    d.command(12, IN_CTX, slot)
    d.tr_enq[3] = INTR_RING
    d.trb(3, DATA, 8, 1 << 10 | 1 << 5)
    for _ in range(3):
        d.w32(DB + 4 * slot, 3)
        assert d.event() is None
    d.keyboard.interrupt_in = lambda endpoint, length: bytes([0, 0, 4, 0, 0, 0, 0, 0])
    d.w32(DB + 4 * slot, 3)
    ptr, status, control = d.event()
    assert (ptr, status >> 24, (control >> 16) & 0x1F) == (INTR_RING, 1, 3)
    assert d.memory.read(DATA, 8)[2] == 4


def test_the_event_ring_wraps_and_flips_its_cycle_state():
    d = Driver(event_trbs=16)
    d.start()
    for _ in range(20):
        assert d.command(23)[0] == 1
    assert d.ev_cycle == 0 and not d.hc.unmodelled


def test_a_full_event_ring_loses_events_and_says_so():
    d = Driver(event_trbs=16)
    d.start()
    for i in range(20):
        d.memory.write(CMD_RING + 16 * i, bytes(12) + le32(23 << 10 | 1))
    d.w32(DB, 0)
    assert "event 33 lost: event ring full" in d.hc.unmodelled


def test_keyboard_requests():
    k = UsbKeyboard()
    assert k.control(bytes([0x21, 0x0B, 0, 0, 0, 0, 0, 0])) == b"" and k.protocol == 0
    assert k.control(bytes([0x21, 0x0A, 0, 125, 0, 0, 0, 0])) == b"" and k.idle == 125
    assert k.control(bytes([0xA1, 0x01, 0, 1, 0, 0, 8, 0])) == bytes(8)
    assert k.control(bytes([0x00, 0x09, 2, 0, 0, 0, 0, 0])) is None      # no configuration 2
    assert k.control(bytes([0x00, 0x09, 1, 0, 0, 0, 0, 0])) == b"" and k.configuration == 1
    assert k.control(bytes([0x80, 0x06, 0, 3, 0, 0, 255, 0])) == bytes([4, 3, 9, 4])
    assert k.interrupt_in(1, 8) is None


def test_too_many_devices_for_the_ports():
    with pytest.raises(ValueError):
        XhciController([UsbKeyboard() for _ in range(5)])


def test_the_backend_puts_the_listed_devices_on_the_controller_by_its_loc_code():
    from pathlib import Path

    from slofpy.host.qemu import QemuBackend
    seed = (Path(__file__).resolve().parent / "data" / "seeds" / "pci-misc.seed.dtb").read_bytes()
    host = QemuBackend()
    host.reset(seed)
    xhci = next(f.model for _, f in host.mmio.functions if isinstance(f.model, XhciController))
    assert xhci.devices == [None] * 4                     # QEMU gives none without -device
    host.usb_devices = {"qemu_qemu-xhci:0000:00:01.0": (UsbDeviceSpec("kbd", 1),)}
    host.reset(seed)
    xhci = next(f.model for _, f in host.mmio.functions if isinstance(f.model, XhciController))
    assert isinstance(xhci.devices[0], UsbKeyboard) and xhci.devices[1:] == [None] * 3
    host.usb_devices = {"qemu_qemu-xhci:0000:00:01.0": (UsbDeviceSpec("tablet", 1),)}
    with pytest.raises(ValueError, match="usb-tablet.*slofpy models usb-kbd"):
        host.reset(seed)
