"""QEMU 7.2's e1000 (Intel 82540EM, 8086:100e) as its register BAR and its DMA answer a
driver: the EEPROM read register EERD, STATUS, CTRL, the receive address registers, and the
legacy transmit and receive descriptor rings; every other register keeps what was written
(reads 0 at first). The wire is empty: QEMU's -nic none gives the NIC no network.

Transmit: a write of TDT, with the transmitter enabled (TCTL.EN), sends every descriptor
from TDH up to TDT (16 bytes each at TDBAL/TDBAH, TDLEN bytes of ring): the buffer's
`length` bytes are read through the PHB's DMA window and kept in `sent` (the frames a
network would have seen), TDH moves past them, and a descriptor with RS (report status)
gets DD set in its status byte. Receive: `receive(frame)` puts a frame into the descriptor
at RDH if the receiver is enabled (RCTL.EN) and RDH is not RDT: its bytes at the buffer
address, its length plus the 4 CRC bytes QEMU counts, status DD and EOP; RDH moves on.
Nothing calls it during a boot (nothing is on the wire); a frame that finds no descriptor is
dropped, as QEMU drops it. CTRL's RST bit clears itself and resets nothing, as in QEMU.

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

from collections.abc import Callable

from slofpy.abi.guest_memory import GuestMemory
from slofpy.host import fdt_lookup
from slofpy.host.tce import DmaError, DmaSpace

E1000_VENDOR, E1000_DEVICE = 0x8086, 0x100E
CTRL, EERD, STATUS = 0x00, 0x14, 0x08
EERD_START, EERD_DONE = 1 << 0, 1 << 4
CTRL_RST = 1 << 31
RCTL, TCTL = 0x100, 0x400
RCTL_EN, TCTL_EN = 1 << 1, 1 << 1
RDBAL, RDBAH, RDLEN, RDH, RDT = 0x2800, 0x2804, 0x2808, 0x2810, 0x2818
TDBAL, TDBAH, TDLEN, TDH, TDT = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818
DESCRIPTOR = 16
TX_RS, TX_DD = 1 << 3, 1 << 0
RX_DD, RX_EOP = 1 << 0, 1 << 1
CRC_BYTES = 4
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
        self.dma_of: Callable[[GuestMemory], DmaSpace] | None = None
        self.dma: DmaSpace | None = None
        self.sent: list[bytes] = []
        self.unmodelled: list[str] = []

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

    def store(self, memory: GuestMemory, offset: int, data: bytes) -> None:
        """A store of `data` (the register's little-endian bytes); only aligned 32-bit
        stores reach a register."""
        if self.dma_of is not None:
            self.dma = self.dma_of(memory)
        if len(data) == 4 and not offset & 3:
            self.write(offset, int.from_bytes(data, "little"))

    def write(self, offset: int, value: int) -> None:
        if offset == STATUS:
            return
        if offset == CTRL:
            value &= ~CTRL_RST
        self.regs[offset] = value & 0xFFFFFFFF
        if offset == TDT:
            self._transmit()

    def _ring(self, base_low: int, length: int) -> tuple[int, int]:
        base = self.regs.get(base_low + 4, 0) << 32 | self.regs.get(base_low, 0) & ~0xF
        return base, (self.regs.get(length, 0) & 0xFFF80) // DESCRIPTOR

    def _transmit(self) -> None:
        base, count = self._ring(TDBAL, TDLEN)
        if not self.regs.get(TCTL, 0) & TCTL_EN or not count or self.dma is None:
            return
        head, tail = self.regs.get(TDH, 0), self.regs.get(TDT, 0)
        try:
            while head != tail and head < count:
                at = base + DESCRIPTOR * head
                desc = self.dma.read(at, DESCRIPTOR)
                length = int.from_bytes(desc[8:10], "little")
                buffer = int.from_bytes(desc[:8], "little")
                self.sent.append(self.dma.read(buffer, length) if length else b"")
                if desc[11] & TX_RS:
                    self.dma.write(at + 12, bytes([desc[12] | TX_DD]))
                head = (head + 1) % count
        except DmaError as error:
            self.unmodelled.append(f"transmit DMA failed: {error}")
        self.regs[TDH] = head

    def receive(self, frame: bytes) -> bool:
        """A frame from the wire into the next receive descriptor; False: dropped."""
        base, count = self._ring(RDBAL, RDLEN)
        head, tail = self.regs.get(RDH, 0), self.regs.get(RDT, 0)
        if not self.regs.get(RCTL, 0) & RCTL_EN or not count or head == tail \
                or self.dma is None or head >= count:
            return False
        at = base + DESCRIPTOR * head
        try:
            buffer = int.from_bytes(self.dma.read(at, 8), "little")
            self.dma.write(buffer, frame)
            self.dma.write(at + 8, (len(frame) + CRC_BYTES).to_bytes(2, "little")
                           + bytes([0, 0, RX_DD | RX_EOP, 0, 0, 0]))
        except DmaError as error:
            self.unmodelled.append(f"receive DMA failed: {error}")
            return False
        self.regs[RDH] = (head + 1) % count
        return True


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
