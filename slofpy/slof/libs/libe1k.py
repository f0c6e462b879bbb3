"""libe1k: SLOF's e1000 driver (lib/libe1k/e1k.c), in Python.

The words of SLOF's e1k.code, with their stack effects; the registers through
H_LOGICAL_CI_LOAD / STORE on baseaddr, byte-swapped (they are little-endian):

* e1k-mac-setup ( vendor-id device-id baseaddr addr -- false | mac-addr len true ): for a
  device the driver knows (Intel, one of its device ids) it reads the MAC address from the
  EEPROM through EERD, writes it into the first receive address register (RAL0 / RAH0 with
  Address Valid), clears the other fifteen, and gives the 6 bytes at addr;
* e1k-open ( baseaddr -- false | driver true ): a driver block from alloc-mem; the
  device state (SLOF's static struct: 128 transmit and 128 receive descriptors and a 2096-byte
  buffer for each) in guest memory, taken once with alloc-mem and mapped for DMA whole;
  interrupts masked; the link waited for (up to 5 s); the MAC (the EEPROM's, as the driver
  block's MAC is zero); the transmit ring (TCTL: enable, pad, collision threshold and
  distance) and the receive ring (all descriptors but one given to the NIC; RCTL: enable,
  multicast and broadcast);
* e1k-close ( driver -- ): receiver and transmitter off, ring indices 0, the MAC invalid, a
  reset, the state unmapped, the driver block freed;
* e1k-read ( addr len -- actual ): the next received frame (its length less the 4 CRC
  bytes), or 0; e1k-write ( addr len -- actual ): one frame onto the transmit ring (0 when
  the ring is full).
"""
from __future__ import annotations

from ...abi.hcalls import H_LOGICAL_CI_LOAD, H_LOGICAL_CI_STORE
from ...errors import Throw
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
CTRL, STATUS, EERD, IMC, RCTL, TCTL = 0x0000, 0x0008, 0x0014, 0x00D8, 0x0100, 0x0400
RDBAL, RDBAH, RDLEN, RDH, RDT, RDTR = 0x2800, 0x2804, 0x2808, 0x2810, 0x2818, 0x2820
TDBAL, TDBAH, TDLEN, TDH, TDT = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818
RAL0, RAH0 = 0x5400, 0x5404
RAH_AV = 1 << 31
RECEIVE_ADDRESSES = 16
EEPROM_MAC_WORD = 0

# the device state (SLOF's struct e1k_st), in the C's layout
NUM_DESC, BUF_SIZE, DESC_SIZE = 128, 2096, 16
TX_RING = 16
RX_RING = TX_RING + NUM_DESC * DESC_SIZE
TX_BUFFERS = RX_RING + NUM_DESC * DESC_SIZE
RX_BUFFERS = TX_BUFFERS + NUM_DESC * BUF_SIZE
STATE_SIZE = RX_BUFFERS + NUM_DESC * BUF_SIZE + 16
DRIVER_SIZE = 16          # slofpy's driver block: the MAC (6 bytes), running (1 byte)


class LibE1k(CLibrary):
    def __init__(self, slof):
        super().__init__(slof)
        self.state = 0                  # the C's static device state, in guest memory
        self.base = 0
        self.dma_offset = 0
        self.rx_next = 0
        self.family: str | None = None  # what e1k-mac-setup found (the C's static state)

    def rd32(self, base: int, offset: int) -> int:
        rc, out = self.hcall(H_LOGICAL_CI_LOAD, 4, base + offset)
        value = 0xFFFFFFFF if rc else out[0] & 0xFFFFFFFF
        return int.from_bytes(value.to_bytes(4, "big"), "little")

    def wr32(self, base: int, offset: int, value: int) -> None:
        swapped = int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, "little"), "big")
        self.hcall(H_LOGICAL_CI_STORE, 4, base + offset, swapped)

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
        self.family = family
        self.base = base
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

    # ------------------------------------------------------------ open, close, read, write
    def le(self, addr: int, size: int) -> int:
        return int.from_bytes(self.vm.mem[addr:addr + size], "little")

    def put_le(self, addr: int, size: int, value: int) -> None:
        self.vm.mem[addr:addr + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")

    def mac_init(self, family: str | None) -> bytes | None:
        """e1k_mac_init for a zero MAC: the EEPROM's, into RAL0 / RAH0."""
        words = []
        for i in range(3):
            word = self.eeprom_word(self.base, family or E82540, EEPROM_MAC_WORD + i)
            if word is None:
                self.print(b"Failed to read MAC address from EEPROM!\n")
                return None
            words.append(word)
        if family == E82546 and self.rd32(self.base, STATUS) & 1 << 2:
            words[2] ^= 0x100
        self.wr32(self.base, RAL0, words[1] << 16 | words[0])
        self.wr32(self.base, RAH0, words[2] | RAH_AV)
        for i in range(1, RECEIVE_ADDRESSES):
            self.wr32(self.base, RAL0 + 8 * i, 0)
            self.wr32(self.base, RAH0 + 8 * i, 0)
        return b"".join(w.to_bytes(2, "little") for w in words)

    @c_word("e1k-open")
    def open(self) -> None:                  # ( baseaddr -- false | driver true )
        base, = self.pop()
        self.base = base
        driver = self.forth("alloc-mem", DRIVER_SIZE)[0]
        if not driver:
            self.print(b"Unable to allocate virtio-net driver\n")
            self.push(0)
            return
        self.vm.mem[driver:driver + DRIVER_SIZE] = bytes(DRIVER_SIZE)
        if not self.init(driver):
            self.forth("free-mem", driver, DRIVER_SIZE, results=0)
            self.push(0)
            return
        self.push(driver, -1)

    def init(self, driver: int) -> bool:
        if not self.state:
            self.state = self.forth("alloc-mem", STATE_SIZE)[0]
            if not self.state:
                raise Throw(-9)
            self.vm.mem[self.state:self.state + STATE_SIZE] = bytes(STATE_SIZE)
        self.dma_offset = self.forth("dma-map-in", self.state, STATE_SIZE, 0)[0] - self.state
        self.wr32(self.base, IMC, 0xFFFFFFFF)
        tries = 50
        status = self.rd32(self.base, STATUS)
        while True:
            tries -= 1
            if not tries or status & 2:
                break
            self.msleep(100)
            status = self.rd32(self.base, STATUS)
        if not status & 2:
            return False
        mac = self.mac_init(self.family)
        if mac is None:
            return False
        self.vm.mem[driver:driver + 6] = mac
        self.init_transmitter()
        self.init_receiver()
        self.vm.mem[driver + 6] = 1                  # running
        return True

    def dma(self, offset: int) -> int:
        return self.state + offset + self.dma_offset

    def init_transmitter(self) -> None:
        for i in range(NUM_DESC):
            desc = self.state + TX_RING + DESC_SIZE * i
            self.vm.mem[desc:desc + DESC_SIZE] = bytes(DESC_SIZE)
            self.put_le(desc, 8, self.dma(TX_BUFFERS + BUF_SIZE * i))
        ring = self.dma(TX_RING)
        self.wr32(self.base, TDBAH, ring >> 32)
        self.wr32(self.base, TDBAL, ring & 0xFFFFFFFF)
        self.wr32(self.base, TDLEN, NUM_DESC * DESC_SIZE)
        self.wr32(self.base, TDH, 0)
        self.wr32(self.base, TDT, 0)
        self.wr32(self.base, TCTL, 1 << 1 | 1 << 3 | 0x0F << 4 | 0x40 << 12)

    def init_receiver(self) -> None:
        self.wr32(self.base, RCTL, 0)
        for i in range(NUM_DESC):
            desc = self.state + RX_RING + DESC_SIZE * i
            self.vm.mem[desc:desc + DESC_SIZE] = bytes(DESC_SIZE)
            self.put_le(desc, 8, self.dma(RX_BUFFERS + BUF_SIZE * i))
        self.rx_next = 0
        ring = self.dma(RX_RING)
        self.wr32(self.base, RDBAH, ring >> 32)
        self.wr32(self.base, RDBAL, ring & 0xFFFFFFFF)
        self.wr32(self.base, RDLEN, NUM_DESC * DESC_SIZE)
        self.wr32(self.base, RDH, 0)
        self.wr32(self.base, RDT, NUM_DESC - 1)
        self.wr32(self.base, RDTR, 0)
        self.wr32(self.base, RCTL, 1 << 1 | 1 << 4 | 1 << 15)

    @c_word("e1k-close")
    def close(self) -> None:                 # ( driver -- )
        driver, = self.pop()
        if driver + DRIVER_SIZE > len(self.vm.mem):
            raise Throw(-9)
        if not self.vm.mem[driver + 6]:
            return
        for register in (RCTL, TCTL):
            self.wr32(self.base, register, 0)
        self.msleep(10)
        for register in (RDH, RDT, TDH, TDT):
            self.wr32(self.base, register, 0)
        self.wr32(self.base, RAH0, self.rd32(self.base, RAH0) & ~RAH_AV)
        self.wr32(self.base, CTRL, self.rd32(self.base, CTRL) | 1 << 31)
        self.msleep(10)
        self.wr32(self.base, CTRL, self.rd32(self.base, CTRL) | 1 << 26)
        self.msleep(10)
        self.forth("dma-map-out", self.state, self.dma(0), STATE_SIZE, results=0)
        self.vm.mem[driver + 6] = 0
        self.forth("free-mem", driver, DRIVER_SIZE, results=0)

    @c_word("e1k-read")
    def read(self) -> None:                  # ( addr len -- actual )
        addr, length = self.pop(2)
        if not addr:
            self.push(-1)
            return
        head = self.rd32(self.base, RDH)
        desc = self.state + RX_RING + DESC_SIZE * self.rx_next
        if self.rx_next == head or not self.vm.mem[desc + 12] & 1:
            self.push(0)
            return
        size = self.le(desc + 8, 2) - 4
        buffer = self.le(desc, 8) - self.dma_offset
        count = max(0, min(size, length & 0xFFFFFFFF))
        if addr + count > len(self.vm.mem):
            raise Throw(-9)
        self.vm.mem[addr:addr + count] = self.vm.mem[buffer:buffer + count]
        self.vm.mem[desc + 8:desc + DESC_SIZE] = bytes(DESC_SIZE - 8)
        self.wr32(self.base, RDT, self.rx_next)
        self.rx_next = (self.rx_next + 1) % NUM_DESC
        self.push(size)

    @c_word("e1k-write")
    def write(self) -> None:                 # ( addr len -- actual )
        addr, length = self.pop(2)
        if not addr:
            self.push(-1)
            return
        head = self.rd32(self.base, TDH)
        tail = self.rd32(self.base, TDT)
        if (head + NUM_DESC - 1) % NUM_DESC == tail:
            self.push(0)
            return
        desc = self.state + TX_RING + DESC_SIZE * tail
        buffer = self.le(desc, 8) - self.dma_offset
        length &= 0xFFFFFFFF
        if addr + length > len(self.vm.mem) or length > BUF_SIZE:
            raise Throw(-9)          # the C copies past its buffer
        self.vm.mem[buffer:buffer + length] = self.vm.mem[addr:addr + length]
        self.put_le(desc + 8, 2, length)
        self.vm.mem[desc + 11] = 1 | 2               # EOP, IFCS
        self.vm.mem[desc + 12] = 0
        self.wr32(self.base, TDT, (tail + 1) % NUM_DESC)
        self.push(length)


LIBRARY = LibE1k
