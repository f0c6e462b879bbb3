"""TCE (DMA translation) tables, one per LIOBN, for H_PUT_TCE and H_GET_TCE.

Each window comes from the initial tree: a VIO device's `ibm,my-dma-window` or a PHB's
`ibm,dma-window` (LIOBN, bus address, size; address and size use the node's
`ibm,#dma-address-cells` / `ibm,#dma-size-cells`, 2 each when absent). Pages are 4 KiB
(QEMU's SPAPR_TCE_PAGE_SHIFT). Entries are only stored; nothing translates DMA through them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from slofpy.host import fdt_lookup
from slofpy.abi.hcalls import H_PARAMETER, H_SUCCESS

TCE_PAGE_SHIFT = 12


@dataclass
class TceWindow:
    """One DMA window and the entries the guest put into it (page index -> TCE)."""

    liobn: int
    bus_offset: int
    size: int
    page_shift: int = TCE_PAGE_SHIFT
    entries: dict[int, int] = field(default_factory=dict)

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

    def clear(self, liobn: int) -> None:
        """Drop every entry of a window (what a table reset does)."""
        window = self.windows.get(liobn)
        if window is not None:
            window.entries.clear()


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
