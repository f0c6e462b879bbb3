"""TCE (DMA translation) tables, one per LIOBN, for H_PUT_TCE and H_GET_TCE.

Each window comes from the initial tree: a VIO device's `ibm,my-dma-window` or a PHB's
`ibm,dma-window` (LIOBN, bus address, size; address and size use the node's
`ibm,#dma-address-cells` / `ibm,#dma-size-cells`, 2 each when absent). Pages are 4 KiB
(QEMU's SPAPR_TCE_PAGE_SHIFT).

`DmaSpace` is what an emulated device uses to reach guest memory through its window, as
QEMU's IOMMU does it: a bus address inside the window is translated page by page through
the TCE of that page (bits 0x1 allow the device to read memory, 0x2 to write it; the real
page address is the TCE without its low 12 bits); a page without the needed permission, an
address outside the window, or a translated address outside guest RAM fails the whole
access (`DmaError`) before anything is written. With bypass on (RTAS ibm,set-tce-bypass,
a VIO-only QEMU feature SLOF's v-scsi driver uses) bus addresses are guest real addresses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slofpy.host import fdt_lookup
from slofpy.abi.guest_memory import GuestMemory, GuestMemoryError
from slofpy.abi.hcalls import H_PARAMETER, H_SUCCESS

TCE_PAGE_SHIFT = 12
TCE_DEVICE_READS = 0x1
"""TCE permission bit: the device may read the page (DMA from guest memory)."""
TCE_DEVICE_WRITES = 0x2
"""TCE permission bit: the device may write the page (DMA into guest memory)."""


@dataclass
class TceWindow:
    """One DMA window and the entries the guest put into it (page index -> TCE)."""

    liobn: int
    bus_offset: int
    size: int
    page_shift: int = TCE_PAGE_SHIFT
    entries: dict[int, int] = field(default_factory=dict)
    bypass: bool = False

    def index(self, ioba: int) -> int | None:
        """The page index of bus address `ioba`, or None outside the window."""
        page_mask = ~((1 << self.page_shift) - 1)
        offset = (ioba & page_mask) - self.bus_offset
        if offset < 0 or offset >= self.size:
            return None
        return offset >> self.page_shift


class TceTables:
    """All DMA windows of a machine, found by LIOBN."""

    def __init__(self) -> None:
        self.windows: dict[int, TceWindow] = {}

    def add_window(self, liobn: int, bus_offset: int, size: int) -> None:
        """Declare a window (the first declaration of a LIOBN wins)."""
        self.windows.setdefault(liobn, TceWindow(liobn, bus_offset, size))

    def put(self, liobn: int, ioba: int, tce: int) -> int:
        """H_PUT_TCE: store `tce` for the page of `ioba`; H_PARAMETER for no such page."""
        window = self.windows.get(liobn)
        index = window.index(ioba) if window else None
        if window is None or index is None:
            return H_PARAMETER
        window.entries[index] = tce
        return H_SUCCESS

    def get(self, liobn: int, ioba: int) -> tuple[int, int]:
        """H_GET_TCE: (rc, the TCE for the page of `ioba`, 0 if never set)."""
        window = self.windows.get(liobn)
        index = window.index(ioba) if window else None
        if window is None or index is None:
            return H_PARAMETER, 0
        return H_SUCCESS, window.entries.get(index, 0)

    def set_bypass(self, liobn: int, enabled: bool) -> bool:
        """Turn DMA bypass of window `liobn` on or off; False if there is no such window."""
        window = self.windows.get(liobn)
        if window is None:
            return False
        window.bypass = enabled
        return True

    def clear(self, liobn: int) -> None:
        """Drop every entry of a window (what a table reset does)."""
        window = self.windows.get(liobn)
        if window is not None:
            window.entries.clear()


class DmaError(Exception):
    """A DMA access the device's window does not allow (QEMU's DMA functions fail it)."""


class DmaSpace:
    """The bus addresses of one device: its TCE window `liobn`, or guest RAM in bypass."""

    def __init__(self, memory: GuestMemory, tables: TceTables, liobn: int | None):
        self.memory = memory
        self.window = tables.windows.get(liobn) if liobn is not None else None

    def _pieces(self, ioba: int, length: int, needed: int) -> list[tuple[int, int]]:
        """(real address, length) pieces of the bus range, each inside one page."""
        window = self.window
        if window is None or window.bypass:
            self._check_ram(ioba, length)
            return [(ioba, length)] if length else []
        pieces = []
        page_size = 1 << window.page_shift
        offset_mask = page_size - 1
        while length > 0:
            index = window.index(ioba)
            tce = window.entries.get(index, 0) if index is not None else 0
            if not tce & needed:
                raise DmaError(f"no DMA translation for bus address {ioba:#x} "
                               f"in window {window.liobn:#x}")
            chunk = min(length, page_size - (ioba & offset_mask))
            real = (tce & ~offset_mask) | (ioba & offset_mask)
            self._check_ram(real, chunk)
            pieces.append((real, chunk))
            ioba += chunk
            length -= chunk
        return pieces

    def _check_ram(self, addr: int, length: int) -> None:
        if addr < 0 or addr + length > self.memory.size:
            raise DmaError(f"DMA to {addr:#x}+{length:#x} outside guest memory")

    def valid(self, ioba: int, length: int) -> bool:
        """Whether the device may both read and write all of the bus range."""
        try:
            self._pieces(ioba, length, TCE_DEVICE_READS)
            self._pieces(ioba, length, TCE_DEVICE_WRITES)
        except DmaError:
            return False
        return True

    def read(self, ioba: int, length: int) -> bytes:
        """The `length` bytes at bus address `ioba` (DmaError if any page is refused)."""
        try:
            return b"".join(self.memory.read(real, size)
                            for real, size in self._pieces(ioba, length, TCE_DEVICE_READS))
        except GuestMemoryError as error:
            raise DmaError(str(error)) from None

    def write(self, ioba: int, data: bytes) -> None:
        """Store `data` at bus address `ioba`; nothing is written if any page is refused."""
        pieces = self._pieces(ioba, len(data), TCE_DEVICE_WRITES)
        start = 0
        try:
            for real, size in pieces:
                self.memory.write(real, bytes(data[start:start + size]))
                start += size
        except GuestMemoryError as error:
            raise DmaError(str(error)) from None


def dma_window(props: dict[str, bytes], name: str) -> tuple[int, int, int] | None:
    """(LIOBN, bus offset, size) from a DMA window property, or None if absent or short."""
    values = fdt_lookup.cells(props.get(name, b""))
    address_cells = _cell_count(props, "ibm,#dma-address-cells")
    size_cells = _cell_count(props, "ibm,#dma-size-cells")
    if len(values) < 1 + address_cells + size_cells:
        return None
    offset = fdt_lookup.combine_cells(values[1:1 + address_cells])
    size = fdt_lookup.combine_cells(values[1 + address_cells:1 + address_cells + size_cells])
    return values[0], offset, size


def _cell_count(props: dict[str, bytes], name: str) -> int:
    values = fdt_lookup.cells(props.get(name, b""))
    return values[0] if values else 2
