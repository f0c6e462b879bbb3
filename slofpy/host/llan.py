"""QEMU's spapr-vlan device (the PAPR logical LAN, "IBM,l-lan"), with nothing on its wire.

The guest drives it with four hcalls, as QEMU 7.2 answers them:

* H_REGISTER_LOGICAL_LAN (unit, buffer list, receive queue, filter list, MAC): the
  buffer list and the filter list are one 4 KiB page each, page-aligned, and the receive
  queue descriptor is valid, 16-byte aligned in address and length; each must be inside
  the unit's DMA window for both directions (else H_PARAMETER). A second registration is
  H_RESOURCE. The device then writes the receive-queue descriptor (toggle bit cleared)
  and the filter-list descriptor to the first 16 bytes of the buffer list, clears the rest
  of that page and the receive queue.
* H_ADD_LOGICAL_LAN_BUFFER (unit, descriptor): a receive buffer (4-byte aligned, at
  least 16 bytes, inside the window, else H_PARAMETER; before registration or beyond
  QEMU's 510 buffers H_RESOURCE). QEMU 7.2 keeps them in its buffer pools, not in guest
  memory; here they are counted in `rx_buffers`.
* H_SEND_LOGICAL_LAN (unit, six descriptors, continuation token): the frame is the
  valid descriptors' bytes, read by DMA; it goes to the wire, which here is `sent` (no
  one answers). Unregistered: H_DROPPED; a continuation token: H_HARDWARE; longer than
  64 KiB: H_RESOURCE; a failed DMA read: H_PARAMETER.
* H_FREE_LOGICAL_LAN (unit): back to unregistered (H_RESOURCE when it was not).

A unit that is not an l-lan gives H_PARAMETER for all four. Nothing ever arrives, so the
receive queue stays empty.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slofpy.abi.hcalls import (
    H_DROPPED,
    H_HARDWARE,
    H_PARAMETER,
    H_RESOURCE,
    H_SUCCESS,
)
from slofpy.host.tce import DmaError, DmaSpace

LLAN_COMPATIBLE = "IBM,l-lan"
"""`compatible` of QEMU's spapr-vlan device."""

BD_VALID = 1 << 63
BD_TOGGLE = 1 << 62
PAGE = 4096
RX_QUEUE_ALIGN = 16
RX_BUFFERS_AT = 16
MAX_RX_BUFFERS = (PAGE - RX_BUFFERS_AT) // 8
MIN_RX_BUFFER = 16
MAX_FRAME = 65536
SEND_DESCRIPTORS = 6


def bd_length(bd: int) -> int:
    """The length field of a buffer descriptor."""
    return bd >> 32 & 0xFFFFFF


def bd_address(bd: int) -> int:
    """The (bus) address field of a buffer descriptor."""
    return bd & 0xFFFFFFFF


def valid_bd(address: int, length: int) -> int:
    """A valid descriptor for `length` bytes at `address`."""
    return BD_VALID | (length & 0xFFFFFF) << 32 | address & 0xFFFFFFFF


@dataclass
class LlanDevice:
    """One spapr-vlan device's state."""

    registered: bool = False
    buffer_list: int = 0
    rx_buffers: list[int] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    @staticmethod
    def _bd_ok(dma: DmaSpace, bd: int, align: int) -> bool:
        address, length = bd_address(bd), bd_length(bd)
        return not address % align and not length % align and dma.valid(address, length)

    def register(self, dma: DmaSpace, buffer_list: int, rx_queue: int,
                 filter_list: int) -> int:
        """H_REGISTER_LOGICAL_LAN."""
        if self.registered:
            return H_RESOURCE
        filter_bd = valid_bd(filter_list, PAGE)
        if not self._bd_ok(dma, valid_bd(buffer_list, PAGE), PAGE) \
                or not self._bd_ok(dma, filter_bd, PAGE) \
                or not rx_queue & BD_VALID or not self._bd_ok(dma, rx_queue, RX_QUEUE_ALIGN):
            return H_PARAMETER
        rx_queue &= ~BD_TOGGLE
        try:
            dma.write(buffer_list, rx_queue.to_bytes(8, "big") + filter_bd.to_bytes(8, "big")
                      + bytes(PAGE - RX_BUFFERS_AT))
            dma.write(bd_address(rx_queue), bytes(bd_length(rx_queue)))
        except DmaError:
            return H_PARAMETER
        self.buffer_list = buffer_list
        self.rx_buffers = []
        self.registered = True
        return H_SUCCESS

    def free(self) -> int:
        """H_FREE_LOGICAL_LAN."""
        if not self.registered:
            return H_RESOURCE
        self.registered = False
        self.buffer_list = 0
        self.rx_buffers = []
        return H_SUCCESS

    def add_buffer(self, dma: DmaSpace, bd: int) -> int:
        """H_ADD_LOGICAL_LAN_BUFFER."""
        if not self._bd_ok(dma, bd, 4) or bd_length(bd) < MIN_RX_BUFFER:
            return H_PARAMETER
        if not self.registered or len(self.rx_buffers) >= MAX_RX_BUFFERS:
            return H_RESOURCE
        self.rx_buffers.append(bd)
        return H_SUCCESS

    def send(self, dma: DmaSpace, descriptors: tuple[int, ...], token: int) -> int:
        """H_SEND_LOGICAL_LAN."""
        if not self.registered:
            return H_DROPPED
        if token:
            return H_HARDWARE
        used = []
        for bd in descriptors[:SEND_DESCRIPTORS]:
            if not bd & BD_VALID:
                break
            used.append(bd)
        total = sum(bd_length(bd) for bd in used)
        if not total:
            return H_SUCCESS
        if total > MAX_FRAME:
            return H_RESOURCE
        try:
            frame = b"".join(dma.read(bd_address(bd), bd_length(bd)) for bd in used)
        except DmaError:
            return H_PARAMETER
        self.sent.append(frame)
        return H_SUCCESS
