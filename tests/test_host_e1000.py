"""QEMU's e1000 as the host answers a guest: its MAC address read from the EEPROM through
EERD with H_LOGICAL_CI_LOAD/STORE on BAR 0 (tests/data/seeds: the pci-misc machine)."""
from __future__ import annotations

import io
import re
from pathlib import Path

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32
from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"
PHB = 0x0800_0000_2000_0000
MEM32_PCI, MEM32_CPU = 0x8000_0000, 0x2000_8000_0000
RTAS_BLOCK = 0x3000
E1000 = 0x00


class Guest:
    def __init__(self) -> None:
        self.memory = BufferGuestMemory(bytearray(1 << 20))
        self.hv = Hypervisor(self.memory, QemuBackend(console_output=io.StringIO()))
        self.hv.reset((SEEDS / "pci-misc.seed.dtb").read_bytes())
        text = (SEEDS / "pci-misc.seed.dts").read_text()
        found = re.search(r"^\t\tibm,write-pci-config = <(0x[0-9a-f]+)>;", text, re.M)
        assert found
        self.write_token = int(found.group(1), 16)

    def config_write(self, offset: int, size: int, value: int) -> None:
        cells = [self.write_token, 5, 1, (E1000 << 8) | offset, PHB >> 32, PHB & 0xFFFFFFFF,
                 size, value, 0]
        self.memory.write(RTAS_BLOCK, b"".join(c.to_bytes(4, "big") for c in cells))
        rc, _ = self.hv.hcall(hc.KVMPPC_H_RTAS, RTAS_BLOCK)
        assert rc == 0 and read_u32(self.memory, RTAS_BLOCK + 32) == 0

    def reg(self, addr: int) -> int:
        rc, (value,) = self.hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, addr)
        assert rc == hc.H_SUCCESS
        return int.from_bytes(value.to_bytes(4, "big"), "little")

    def set_reg(self, addr: int, value: int) -> None:
        rc, _ = self.hv.hcall(hc.H_LOGICAL_CI_STORE, 4, addr,
                              int.from_bytes(value.to_bytes(4, "little"), "big"))
        assert rc == hc.H_SUCCESS


def enabled() -> tuple[Guest, int]:
    guest = Guest()
    guest.config_write(0x10, 4, 0x8000_0000)
    guest.config_write(0x04, 2, 0x0002)
    return guest, MEM32_CPU


def test_eeprom_holds_qemus_default_mac_and_checksum():
    guest, base = enabled()
    words = []
    for index in range(64):
        guest.set_reg(base + 0x14, index << 8 | 1)                        # EERD: start
        value = guest.reg(base + 0x14)
        assert value & 0x10 and value & 0xFF00 == index << 8               # done, address
        words.append(value >> 16)
    mac = b"".join(w.to_bytes(2, "little") for w in words[:3])
    assert mac == bytes.fromhex("525400123456")
    assert sum(words) & 0xFFFF == 0xBABA


def test_eerd_without_start_reads_back_and_status_shows_link():
    guest, base = enabled()
    guest.set_reg(base + 0x14, 0x0300)
    assert guest.reg(base + 0x14) == 0x0300
    guest.set_reg(base + 0x14, 0x4001)                                    # past the EEPROM
    assert guest.reg(base + 0x14) == 0x4010
    assert guest.reg(base + 0x08) & 0x3 == 0x3                            # link up, FD
    guest.set_reg(base + 0x5404, 0x8000_3456)
    assert guest.reg(base + 0x5404) == 0x8000_3456                        # RAH0 kept


LIOBN = 0x8000_0000          # pci-misc's PHB DMA window
TX_RING, RX_RING, TX_BUF, RX_BUF = 0x40000, 0x41000, 0x42000, 0x43000


def rings() -> tuple[Guest, int]:
    """The e1000 with an 8-descriptor transmit and receive ring (the smallest: TDLEN and
    RDLEN count 128-byte units), the pages mapped for DMA at bus address = guest address +
    0x100000; the receiver owns descriptors 0-2."""
    guest, base = enabled()
    for page in range(TX_RING, RX_BUF + 0x1000, 0x1000):
        rc, _ = guest.hv.hcall(hc.H_PUT_TCE, LIOBN, page + 0x100000, page | 3)
        assert rc == hc.H_SUCCESS
    for i in range(8):
        guest.memory.write(TX_RING + 16 * i, (TX_BUF + 0x100000 + 0x100 * i).to_bytes(8, "little")
                           + bytes(8))
        guest.memory.write(RX_RING + 16 * i, (RX_BUF + 0x100000 + 0x100 * i).to_bytes(8, "little")
                           + bytes(8))
    for reg, value in ((0x3800, TX_RING + 0x100000), (0x3808, 128), (0x3810, 0), (0x3818, 0),
                       (0x0400, 2), (0x2800, RX_RING + 0x100000), (0x2808, 128), (0x2810, 0),
                       (0x2818, 3), (0x0100, 2)):
        guest.set_reg(base + reg, value)
    return guest, base


def e1000_model(guest: Guest):
    from slofpy.host.e1000 import E1000
    return next(f.model for _, f in guest.hv.backend.mmio.functions if isinstance(f.model, E1000))


def test_transmit_takes_the_frames_up_to_tdt_and_reports_status_only_when_asked():
    guest, base = rings()
    guest.memory.write(TX_BUF, b"frame one")
    guest.memory.write(TX_BUF + 0x100, b"frame two!")
    guest.memory.write(TX_RING + 8, (9).to_bytes(2, "little") + bytes([0, 0x03]))      # EOP IFCS
    guest.memory.write(TX_RING + 16 + 8, (10).to_bytes(2, "little") + bytes([0, 0x0B]))  # + RS
    guest.set_reg(base + 0x3818, 2)
    assert e1000_model(guest).sent == [b"frame one", b"frame two!"]
    assert guest.reg(base + 0x3810) == 2                                    # TDH caught up
    assert guest.memory.read(TX_RING + 12, 1) == b"\0"                      # no RS: no DD
    assert guest.memory.read(TX_RING + 16 + 12, 1) == b"\1"                 # RS: DD
    guest.set_reg(base + 0x0400, 0)                                         # transmitter off
    guest.memory.write(TX_RING + 32 + 8, (3).to_bytes(2, "little") + bytes([0, 3]))
    guest.set_reg(base + 0x3818, 3)
    assert len(e1000_model(guest).sent) == 2 and guest.reg(base + 0x3810) == 2


def test_receive_fills_descriptors_until_the_ring_is_full():
    guest, base = rings()
    nic = e1000_model(guest)
    assert nic.receive(b"hello")
    desc = guest.memory.read(RX_RING, 16)
    assert guest.memory.read(RX_BUF, 5) == b"hello"
    assert int.from_bytes(desc[8:10], "little") == 9 and desc[12] == 3       # +CRC, DD EOP
    assert guest.reg(base + 0x2810) == 1
    assert nic.receive(b"two") and nic.receive(b"three")
    assert not nic.receive(b"four")                                         # RDH reached RDT
    guest.set_reg(base + 0x0100, 0)
    guest.set_reg(base + 0x2818, 2)
    assert not nic.receive(b"off")                                          # receiver off


def test_a_transmit_from_an_unmapped_page_is_refused_and_said():
    guest, base = rings()
    guest.memory.write(TX_RING + 8, (9).to_bytes(2, "little") + bytes([0, 3]))
    guest.memory.write(TX_RING, (0x900000).to_bytes(8, "little"))           # no TCE there
    guest.set_reg(base + 0x3818, 1)
    nic = e1000_model(guest)
    assert nic.sent == [] and nic.unmodelled and "transmit DMA failed" in nic.unmodelled[0]
