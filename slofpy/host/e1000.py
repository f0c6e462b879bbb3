"""QEMU 7.2's e1000 (Intel 82540EM, 8086:100e) as far as its register BAR answers a
driver that sets the MAC address up: the EEPROM read register EERD, STATUS and the receive
address registers; every other register keeps what was written (reads 0 at first).

EERD: a write with START (bit 0) and a word address in bits 8-15 reads that EEPROM word:
the register then holds the word in bits 16-31, DONE (bit 4) and the address; an address
past the EEPROM's 64 words answers DONE with no data. Without START the register reads
back as written. The EEPROM holds the MAC address in words 0-2 (byte 0 in the low byte of
word 0) and, in word 0x3F, the checksum that makes the 64 words add up to 0xBABA; the
other words are 0 here.

The MAC: the node's `local-mac-address` if the seed has one, else QEMU's default for a NIC
given none, 52:54:00:12:34:56 for the first such e1000 and one more in the last byte for
each further one (QEMU counts every NIC without a MAC; the seed's other NICs carry theirs).
"""
from __future__ import annotations

from slofpy.host import fdt_lookup

E1000_VENDOR, E1000_DEVICE = 0x8086, 0x100E
EERD, STATUS = 0x14, 0x08
EERD_START, EERD_DONE = 1 << 0, 1 << 4
EEPROM_WORDS = 64
EEPROM_SUM = 0xBABA
STATUS_AT_RESET = 0x40080783    # as QEMU's reset leaves it: link up, full duplex, 1000 Mb/s
DEFAULT_MAC = bytes.fromhex("525400123456")


class E1000:
    """One e1000's register file."""

    BAR_SIZE = 0x20000

    def __init__(self, mac: bytes) -> None:
        self.mac = mac
        words = [mac[0] | mac[1] << 8, mac[2] | mac[3] << 8, mac[4] | mac[5] << 8]
        self.eeprom = words + [0] * (EEPROM_WORDS - 3)
        self.eeprom[EEPROM_WORDS - 1] = (EEPROM_SUM - sum(self.eeprom)) & 0xFFFF
        self.regs: dict[int, int] = {STATUS: STATUS_AT_RESET}

    def read(self, offset: int) -> int:
        if offset == EERD:
            return self._eerd()
        return self.regs.get(offset, 0)

    def _eerd(self) -> int:
        value = self.regs.get(EERD, 0)
        if not value & EERD_START:
            return value
        request = value & ~EERD_START
        index = request >> 8
        if index >= EEPROM_WORDS:
            return EERD_DONE | request
        return self.eeprom[index] << 16 | EERD_DONE | request

    def read_bytes(self, offset: int, size: int) -> bytes:
        value = self.read(offset & ~3).to_bytes(4, "little")
        return value[offset & 3:(offset & 3) + size].ljust(size, b"\0")

    def write(self, offset: int, value: int) -> None:
        if offset == STATUS:
            return
        self.regs[offset] = value & 0xFFFFFFFF


class E1000Factory:
    """Makes the e1000 model of a seed node (None for any other node), handing out QEMU's
    default MACs in node order."""

    def __init__(self) -> None:
        self.defaults_given = 0

    def __call__(self, props: dict[str, bytes]) -> E1000 | None:
        vendor = fdt_lookup.cells(props.get("vendor-id", b""))
        device = fdt_lookup.cells(props.get("device-id", b""))
        if vendor[:1] != [E1000_VENDOR] or device[:1] != [E1000_DEVICE]:
            return None
        mac = props.get("local-mac-address")
        if not mac or len(mac) != 6:
            last = (DEFAULT_MAC[5] + self.defaults_given) & 0xFF
            mac = DEFAULT_MAC[:5] + bytes([last])
            self.defaults_given += 1
        return E1000(mac)
