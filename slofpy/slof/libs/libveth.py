"""libveth: SLOF's driver for the PAPR logical LAN (l-lan, lib/libveth's veth.c) in Python.

The words and stack effects are veth.code's:

- libveth-open ( mac-addr len reg len -- false | driver true ): `reg` must be one cell
  (else "vio reg must 1 cell long"); an 8-byte MAC starting with two zero bytes is the
  6 bytes after them. The driver (a 16-byte block from alloc-mem: the 6 MAC bytes, the
  unit's reg, a running flag) allocates an 8 KiB page-aligned block (the buffer list, then
  the filter list), a 4 KiB receive queue (256 entries of 16 bytes) and 256 receive
  buffers of 2 KiB (+4), registers them with H_REGISTER_LOGICAL_LAN (the MAC as the last
  argument) and gives the device each buffer with H_ADD_LOGICAL_LAN_BUFFER; each buffer's
  first 8 bytes hold its own address (the device hands that back with a frame).
- libveth-read ( addr len driver -- actual ): the next frame of the receive queue, when
  its toggle bit says the device wrote it (0 when none); a frame longer than len is
  dropped with "veth: Dropping too big packet [N bytes]"; the buffer goes back to the
  device.
- libveth-write ( addr len driver -- actual ): one frame with H_SEND_LOGICAL_LAN (on
  failure "veth: Error N sending packet !" and -1).
- libveth-close ( driver -- ): H_FREE_LOGICAL_LAN and the memory freed.

Addresses given to the device are the buffers' own: vio-veth.fs turns TCE bypass on for
the unit before it opens the driver.
"""
from __future__ import annotations

import struct

from ...abi.hcalls import (
    H_ADD_LOGICAL_LAN_BUFFER,
    H_FREE_LOGICAL_LAN,
    H_REGISTER_LOGICAL_LAN,
    H_SEND_LOGICAL_LAN,
    H_SUCCESS,
)
from .base import CLibrary, c_word

BUF_VALID = 0x80000000
RXQ_TOGGLE = 0x80000000
RXQ_VALID = 0x40000000
RXQ_OFFSET_MASK = 0xFFFF
RX_QUEUE_SIZE = 256
RX_ENTRY = 16
RX_BUF_SIZE = 2048
LISTS_BYTES = 8192
PAGE = 4096
RX_BUFS_BYTES = RX_BUF_SIZE * RX_QUEUE_SIZE + 4
DRIVER_BYTES = 16               # mac[6], pad, reg (u32), running (u32)
D_REG, D_RUNNING = 8, 12


class VethState:
    """The driver's module-wide state (veth.c's statics)."""

    def __init__(self) -> None:
        self.lists = 0
        self.lists_block = 0
        self.rx_queue = 0
        self.rx_queue_block = 0
        self.rx_bufs = 0
        self.rx_aligned = 0
        self.toggle = RXQ_TOGGLE
        self.index = 0


class LibVeth(CLibrary):
    def __init__(self, slof):
        super().__init__(slof)
        self.state = VethState()

    # ------------------------------------------------------------ what the C code calls
    def alloc_aligned(self, size: int, align: int) -> tuple[int, int]:
        """SLOF_alloc_mem_aligned: (aligned address, the block's own address)."""
        addr = self.alloc(size)
        if addr % align:
            self.free(addr, size)
            addr = self.alloc(size + align - 1)
            return (addr + align - 1) & ~(align - 1), addr
        return addr, addr

    @staticmethod
    def descriptor(address: int, length: int) -> int:
        """A valid buffer descriptor: flags and length, then the 32-bit address."""
        return (BUF_VALID | length) << 32 | address & 0xFFFFFFFF

    # ------------------------------------------------------------ the driver
    def _init(self, driver: int) -> bool:
        st = self.state
        if self.get(driver + D_RUNNING, 4):
            return True
        mac = self.guest_bytes(driver, 6)
        st.toggle, st.index = RXQ_TOGGLE, 0
        st.lists, st.lists_block = self.alloc_aligned(LISTS_BYTES, PAGE)
        queue_bytes = RX_ENTRY * RX_QUEUE_SIZE
        st.rx_queue, st.rx_queue_block = self.alloc_aligned(queue_bytes, RX_ENTRY)
        st.rx_bufs = self.alloc(RX_BUFS_BYTES)
        if not st.lists or not st.rx_queue or not st.rx_bufs:
            self.print(b"veth: Failed to allocate memory !\n")
            self._free_all()
            return False
        st.rx_aligned = (st.rx_bufs | 3) + 1
        unit = self.get(driver + D_REG, 4)
        rc, _ = self.hcall(H_REGISTER_LOGICAL_LAN, unit, st.lists,
                           self.descriptor(st.rx_queue, queue_bytes), st.lists + PAGE,
                           int.from_bytes(mac + bytes(2), "big") >> 16)
        if rc != H_SUCCESS:
            self.print(b"veth: Error %d registering interface !\n" % _signed(rc))
            self._free_all()
            return False
        for i in range(RX_QUEUE_SIZE):
            buf = st.rx_aligned + i * RX_BUF_SIZE
            self.put(buf, buf, 8)
            self.hcall(H_ADD_LOGICAL_LAN_BUFFER, unit, self.descriptor(buf, RX_BUF_SIZE))
        self.put(driver + D_RUNNING, 1, 4)
        return True

    def _free_all(self) -> None:
        st = self.state
        if st.lists:
            self.free(st.lists, LISTS_BYTES)
        if st.rx_queue:
            self.free(st.rx_queue, RX_ENTRY * RX_QUEUE_SIZE)
        if st.rx_bufs:
            self.free(st.rx_bufs, RX_BUFS_BYTES)

    @c_word("libveth-open")
    def open(self) -> None:                # ( mac-addr len reg len -- false | driver true )
        mac, mac_length, reg, reg_length = self.pop(4)
        if reg_length & 0xFFFFFFFF != 4:
            self.print(b"vio reg must 1 cell long\n")
            self.push(0)
            return
        driver = self.alloc(DRIVER_BYTES)
        if not driver:
            self.print(b"Unable to allocate veth driver\n")
            self.push(0)
            return
        head = self.guest_bytes(mac, 2)
        if mac_length & 0xFFFFFFFF == 8 and head == b"\0\0":
            mac += 2
        self.fill(driver, self.guest_bytes(mac, 6) + bytes(2))
        self.put(driver + D_REG, self.get(reg, 4), 4)
        self.put(driver + D_RUNNING, 0, 4)
        if not self._init(driver):
            self.free(driver, DRIVER_BYTES)
            self.push(0)
            return
        self.push(driver, -1)

    @c_word("libveth-close")
    def close(self) -> None:               # ( driver -- )
        (driver,) = self.pop()
        if not driver:
            return
        if self.get(driver + D_RUNNING, 4):
            self.hcall(H_FREE_LOGICAL_LAN, self.get(driver + D_REG, 4))
            self._free_all()
            self.put(driver + D_RUNNING, 0, 4)
        self.free(driver, DRIVER_BYTES)

    @c_word("libveth-read")
    def read_word(self) -> None:           # ( addr len driver -- actual )
        buf, length, driver = self.pop(3)
        if not buf:
            self.push(-1)
            return
        self.push(self._receive(buf, length & 0xFFFFFFFF, driver))

    def _receive(self, buf: int, length: int, driver: int) -> int:
        st = self.state
        unit = self.get(driver + D_REG, 4)
        packet = 0
        while not packet:
            entry = st.rx_queue + RX_ENTRY * st.index
            flags, size, correlator = struct.unpack(">IIQ", self.guest_bytes(entry, RX_ENTRY))
            if flags & RXQ_TOGGLE != st.toggle:
                break
            if flags & RXQ_VALID:
                if size > length:
                    self.print(b"veth: Dropping too big packet [%d bytes]\n" % size)
                else:
                    packet = size
                    self.fill(buf, self.guest_bytes(correlator + (flags & RXQ_OFFSET_MASK), size))
            self.hcall(H_ADD_LOGICAL_LAN_BUFFER, unit, self.descriptor(correlator, RX_BUF_SIZE))
            st.index = (st.index + 1) % RX_QUEUE_SIZE
            if st.index == 0:
                st.toggle ^= RXQ_TOGGLE
        return packet

    @c_word("libveth-write")
    def write_word(self) -> None:          # ( addr len driver -- actual )
        buf, length, driver = self.pop(3)
        if not buf:
            self.push(-1)
            return
        length &= 0xFFFFFFFF
        rc, _ = self.hcall(H_SEND_LOGICAL_LAN, self.get(driver + D_REG, 4),
                           self.descriptor(buf, length), 0, 0, 0, 0, 0)
        if rc != H_SUCCESS:
            self.print(b"veth: Error %d sending packet !\n" % _signed(rc))
            self.push(-1)
            return
        self.push(length)


def _signed(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


LIBRARY = LibVeth
