"""libe1k: SLOF's e1000 driver, in Python, as far as a boot reaches it: e1k-mac-setup.

e1k-mac-setup ( vendor-id device-id baseaddr addr -- false | mac-addr len true ), as SLOF's
e1k.code gives it: for a device the driver knows (Intel, one of its device ids) it reads
the MAC address from the EEPROM through the EERD register (H_LOGICAL_CI_LOAD / STORE on
baseaddr, byte-swapped: the registers are little-endian), writes it into the first receive
address register (RAL0 / RAH0 with Address Valid) and clears the other fifteen, and gives
the 6 bytes at addr. Opening the NIC and moving packets need a network slofpy's hosts do
not model: e1k-open, e1k-close, e1k-read and e1k-write say so.
"""
from __future__ import annotations

from ...abi.hcalls import H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE
from ...errors import Throw
from ...vm.dictionary import find
from .base import CLibrary, c_word

# device id -> family, as the driver's table lists them
E82540, E82541, E82544 = "82540", "82541", "82544"
E82545, E82546, E82547 = "82545", "82546", "82547"
DEVICES = {
    0x1019: E82547, 0x101A: E82547, 0x1010: E82546, 0x1012: E82546, 0x1079: E82546,
    0x107A: E82546, 0x107B: E82546, 0x100F: E82545, 0x1011: E82545, 0x1026: E82545,
    0x1027: E82545, 0x1028: E82545, 0x1107: E82544, 0x1112: E82544, 0x1013: E82541,
    0x1018: E82541, 0x1076: E82541, 0x1077: E82541, 0x1078: E82541, 0x107C: E82541,
    0x1015: E82540, 0x1016: E82540, 0x1017: E82540, 0x100E: E82540,
}
STATUS, EERD, RAL0, RAH0 = 0x0008, 0x0014, 0x5400, 0x5404
RAH_AV = 1 << 31
RECEIVE_ADDRESSES = 16
EEPROM_MAC_WORD = 0


class LibE1k(CLibrary):
    UNSUPPORTED = ("e1k-open", "e1k-close", "e1k-read", "e1k-write")

    def forth(self, name: str, *args: int, results: int = 1) -> list[int]:
        """forth_eval of one word: args pushed, `results` cells popped (deepest first)."""
        self.push(*args)
        hit = find(self.vm, name.encode())
        if hit is None:
            raise Throw(-13, word=name)
        self.vm.execute(hit[0])
        return self.pop(results) if results else []

    def rd32(self, base: int, offset: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, 4, base + offset)
        value = 0xFFFFFFFF if rc else out[0] & 0xFFFFFFFF
        return int.from_bytes(value.to_bytes(4, "big"), "little")

    def wr32(self, base: int, offset: int, value: int) -> None:
        swapped = int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")
        self.hcall(H_LOGICAL_CI_STORE, 4, base + offset, swapped)

    def msleep(self, ms: int) -> None:
        """SLOF_msleep: spin on get-msecs until `ms` milliseconds have passed."""
        until = (self.forth("get-msecs")[0] + ms) & 0xFFFFFFFF
        while until > self.forth("get-msecs")[0] & 0xFFFFFFFF:
            pass

    def eeprom_word(self, base: int, family: str, index: int) -> int | None:
        """One EEPROM word through EERD; None when the read never completes."""
        addr_shift, done_bit = (2, 1) if family in (E82541, E82547) else (8, 4)
        self.wr32(base, EERD, index << addr_shift | 1)
        value = self.rd32(base, EERD)
        tries = 1000
        while True:
            tries -= 1
            if not tries or value >> done_bit & 1:
                break
            self.msleep(1)
            value = self.rd32(base, EERD)
        if not value >> done_bit & 1:
            return None
        return value >> 16 & 0xFFFF

    @c_word("e1k-mac-setup")
    def mac_setup(self) -> None:   # ( vendor-id device-id baseaddr addr -- false | mac len true )
        vendor, device, base, addr = self.pop(4)
        family = DEVICES.get(device & 0xFFFF)
        if vendor & 0xFFFF != 0x8086 or family is None:
            self.push(0)
            return
        if addr + 6 > len(self.vm.mem):
            raise Throw(-9)
        words = []
        for i in range(3):
            word = self.eeprom_word(base, family, EEPROM_MAC_WORD + i)
            if word is None:
                self.print(b"Failed to read MAC address from EEPROM!\n")
                self.vm.mem[addr:addr + 6] = bytes(6)
                self.push(0)
                return
            words.append(word)
        if family == E82546 and self.rd32(base, STATUS) & 1 << 2:
            words[2] ^= 0x100               # the second port of a dual-port part
        mac = b"".join(w.to_bytes(2, "little") for w in words)
        self.wr32(base, RAL0, words[1] << 16 | words[0])
        self.wr32(base, RAH0, words[2] | RAH_AV)
        for i in range(1, RECEIVE_ADDRESSES):
            self.wr32(base, RAL0 + 8 * i, 0)
            self.wr32(base, RAH0 + 8 * i, 0)
        self.vm.mem[addr:addr + 6] = mac
        self.push(addr, 6, -1)


LIBRARY = LibE1k
