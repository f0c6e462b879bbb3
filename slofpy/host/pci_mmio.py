"""The PCI functions whose memory BAR 0 holds little-endian 32-bit registers that a Python
model answers (USB host controllers, the e1000), reached by CPU address through a PHB's
memory windows, as H_LOGICAL_CI_LOAD / H_LOGICAL_CI_STORE reach them.

A model has `read_bytes(offset, size) -> bytes` (the bytes a load sees, in the register's
little-endian order) and `write(offset, value)` (an aligned 32-bit store, value as the
register holds it); other stores are dropped, as the devices ignore them. A model that
does DMA (the xHCI) has `store(memory, offset, data)` instead, taking every store as the
register's little-endian bytes, and gets `dma_of`: a function that gives its PHB's
`DmaSpace` (TCE window) on guest memory. A BAR answers once it has an address and the
function's memory space is enabled.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slofpy.host import fdt_lookup
from slofpy.host.pci import (Bar, PciBus, Window, bar_address, host_bridges, node_bars,
                             node_function, phb_windows)
from slofpy.host.pci_config import BAR0, COMMAND, SPACE_IO, PciFunction
from slofpy.host.tce import DmaSpace, TceTables, dma_window

ModelFactory = Callable[[dict[str, bytes]], Any]
"""Makes a function's model from its seed node's properties; None: not this kind."""


@dataclass
class MmioFunction:
    function: PciFunction
    model: Any
    bar: Bar


class PciMmioFunctions:
    """Every function of the machine's PHBs one of `factories` models."""

    def __init__(self) -> None:
        self.windows: list[Window] = []
        self.functions: list[tuple[int, MmioFunction]] = []

    @classmethod
    def from_tree(cls, blob: bytes, pci: PciBus, factories: list[ModelFactory],
                  tce_tables: TceTables | None = None) -> PciMmioFunctions:
        """The seed's functions a factory makes a model for (first factory that does); a
        model with `dma_of` reaches guest memory through its PHB's window in `tce_tables`."""
        self = cls()
        fdt = fdt_lookup.open_tree(blob)
        for phb, buid, props in host_bridges(fdt):
            self.windows += phb_windows(buid, props)
            window = dma_window(props, "ibm,dma-window")
            for node in fdt_lookup.descendant_nodes(fdt, phb):
                made = _make_function(buid, fdt_lookup.node_properties(fdt, node), pci,
                                      factories)
                if made is None:
                    continue
                if hasattr(made.model, "dma_of") and tce_tables is not None:
                    liobn = window[0] if window else None
                    made.model.dma_of = (lambda memory, liobn=liobn:
                                         DmaSpace(memory, tce_tables, liobn))
                self.functions.append((buid, made))
        return self

    def _decode(self, addr: int, size: int) -> tuple[MmioFunction, int] | None:
        for window in self.windows:
            if window.space == SPACE_IO or not window.cpu <= addr < window.cpu + window.size:
                continue
            pci_addr = addr - window.cpu + window.pci
            for buid, mmio in self.functions:
                if buid != window.buid or not mmio.function.read(COMMAND, 2) & 2:
                    continue
                base = bar_address(mmio.function, mmio.bar)
                if base and base <= pci_addr and pci_addr + size <= base + mmio.bar.size:
                    return mmio, pci_addr - base
        return None

    def load(self, size: int, addr: int) -> bytes | None:
        """What a CI load of `size` bytes at CPU address `addr` reads, None if no BAR."""
        hit = self._decode(addr, size)
        if hit is None:
            return None
        mmio, offset = hit
        return mmio.model.read_bytes(offset, size)

    def store(self, size: int, addr: int, value: int, memory=None) -> bool:
        """A CI store of `size` bytes (big-endian) at `addr`; False if no BAR is there."""
        hit = self._decode(addr, size)
        if hit is None:
            return False
        mmio, offset = hit
        if hasattr(mmio.model, "store"):
            data = (value & ((1 << 8 * size) - 1)).to_bytes(size, "big")
            mmio.model.store(memory, offset, data)
        elif size == 4 and not offset & 3:
            data = (value & 0xFFFFFFFF).to_bytes(4, "big")
            mmio.model.write(offset, int.from_bytes(data, "little"))
        return True

    def model_at(self, buid: int, devfn: int) -> Any:
        for fbuid, mmio in self.functions:
            if fbuid == buid and mmio.function.devfn == devfn:
                return mmio.model
        return None


def _make_function(buid: int, props: dict[str, bytes], pci: PciBus,
                   factories: list[ModelFactory]) -> MmioFunction | None:
    model = None
    for factory in factories:
        model = factory(props)
        if model is not None:
            break
    reg = fdt_lookup.cells(props.get("reg", b""))
    if model is None or len(reg) < 10:
        return None
    function = node_function(pci, buid, reg)
    if function is None:
        return None
    bars = [bar for bar in node_bars(reg) if bar.register == BAR0]
    if not bars:
        return None
    return MmioFunction(function, model, bars[0])
