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
