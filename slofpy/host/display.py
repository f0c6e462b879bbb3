"""QEMU's PCI display adapters as SLOF's drivers reach them: framebuffers as memory behind
their BARs, and the registers the drivers store to (board-qemu/slof/qemu-vga.fs,
pci-device_1013_00b8.fs).

* std VGA (-device VGA, 1234:1111): BAR 0 is the video RAM (its size); BAR 2 is QEMU's
  4 KiB MMIO block, whose 0x400-0x41f are the VGA ports 0x3c0-0x3df (slofpy.host.vga_ports)
  and 0x500-0x515 the Bochs VBE ("dispi") registers, 16-bit little-endian: stores are kept
  (enabling a mode without VBE_DISPI_NOCLEARMEM clears the mode's framebuffer bytes, as
  QEMU does), and a load reads the ID register, 0xb0c5 (VBE_DISPI_ID5).
* Cirrus (-device cirrus-vga, 1013:00b8): 4 MiB of video RAM, seen through the first 4 MiB
  of its 32 MiB BAR 0 (the linear framebuffer) as long as its registers leave the
  aperture plain (no memory-mapped BitBLT registers: SR17 & 0x44 != 0x44; no address
  shifting or extended write modes: GR0B & 0x06 == 0); its VGA ports are in the PHB's I/O
  space at 0x3b0-0x3df.
* virtio-gpu-pci: SLOF has no driver that touches it; not modelled here.

Both VGA adapters put their ports at the same I/O addresses of the root bus; QEMU's later
device (on slofpy's side: the higher device number) covers the other's: on pci-vga real
SLOF's Cirrus driver sets the Cirrus's colour mode, and the std VGA's own input status
still reads 0xff, monochrome (tests/data/display/replies.txt). Every other
register, the rest of the BARs and the legacy 0xa0000 window raise `DeviceNotModelled`.
A BAR answers once it has an address and the function's memory space is enabled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slofpy.errors import DeviceNotModelled
from slofpy.host import fdt_lookup
from slofpy.host.pci import (Bar, PciBus, Window, bar_address, host_bridges, node_bars,
                             node_function, phb_windows)
from slofpy.host.pci_config import COMMAND, SPACE_IO, PciFunction
from slofpy.host.vga_ports import FIRST_PORT, LAST_PORT, VgaPorts

STD_VGA = (0x1234, 0x1111)
CIRRUS = (0x1013, 0x00B8)
VGA_PORTS_IN_MMIO = 0x400        # std VGA BAR 2: port 0x3c0 is here
DISPI_IN_MMIO = 0x500            # std VGA BAR 2: the VBE registers, 2 bytes each
DISPI_ID5 = 0xB0C5
DISPI_INDEX_XRES, DISPI_INDEX_YRES, DISPI_INDEX_BPP, DISPI_INDEX_ENABLE = 1, 2, 3, 4
DISPI_COUNT = 10
DISPI_ENABLED, DISPI_GETCAPS, DISPI_NOCLEARMEM = 0x01, 0x02, 0x80
CIRRUS_VRAM = 4 << 20
CIRRUS_SR17_RESET = 0x20         # SR17 after reset: the bus type, PCI


def _not_modelled(who: str, what: str) -> DeviceNotModelled:
    return DeviceNotModelled(f"{who}: {what} is not modelled by slofpy")


class StdVga:
    """QEMU's std VGA: `vram` (BAR 0), `ports`, `dispi` (the VBE registers)."""

    def __init__(self, name: str, vram_size: int):
        self.name = name
        self.vram = bytearray(vram_size)
        self.ports = VgaPorts(name)
        self.dispi = [0] * DISPI_COUNT
        self.dispi[0] = DISPI_ID5

    def span(self, register: int, offset: int, length: int):
        return (self.vram, offset) if register == 0x10 else None

    def read(self, register: int, offset: int, size: int) -> bytes:
        if register == 0x10:
            return bytes(self.vram[offset:offset + size])
        if VGA_PORTS_IN_MMIO <= offset and offset + size <= VGA_PORTS_IN_MMIO + 0x20:
            port = offset - VGA_PORTS_IN_MMIO + 0x3C0
            return bytes(self.ports.read(port + i) for i in range(size))
        index = (offset - DISPI_IN_MMIO) // 2
        if offset == DISPI_IN_MMIO and size == 2 and not self.dispi[4] & DISPI_GETCAPS:
            return self.dispi[0].to_bytes(2, "little")
        raise _not_modelled(self.name, f"a {size}-byte load at {offset:#x} of BAR 2"
                            + (f" (VBE register {index})" if 0 <= index < DISPI_COUNT else ""))

    def write(self, register: int, offset: int, data: bytes) -> None:
        if register == 0x10:
            self.vram[offset:offset + len(data)] = data
        elif VGA_PORTS_IN_MMIO <= offset and offset + len(data) <= VGA_PORTS_IN_MMIO + 0x20:
            for i, byte in enumerate(data):
                self.ports.write(offset - VGA_PORTS_IN_MMIO + 0x3C0 + i, byte)
        elif (DISPI_IN_MMIO <= offset < DISPI_IN_MMIO + 2 * DISPI_COUNT and not offset & 1
              and len(data) in (2, 4)):
            for i in range(0, len(data), 2):
                self._dispi_store((offset - DISPI_IN_MMIO + i) // 2,
                                  int.from_bytes(data[i:i + 2], "little"))
        else:
            raise _not_modelled(self.name, f"a {len(data)}-byte store at {offset:#x} of BAR 2")

    def _dispi_store(self, index: int, value: int) -> None:
        if index >= DISPI_COUNT:
            raise _not_modelled(self.name, f"VBE register {index}")
        if index == 0:
            if DISPI_ID5 - 5 <= value <= DISPI_ID5:
                self.dispi[0] = value
            return
        if (index == DISPI_INDEX_ENABLE and value & DISPI_ENABLED
                and not self.dispi[DISPI_INDEX_ENABLE] & DISPI_ENABLED
                and not value & DISPI_NOCLEARMEM):
            self._clear_mode()
        self.dispi[index] = value

    def _clear_mode(self) -> None:
        """What QEMU clears when a mode is enabled: height lines of the mode's line
        length (width times bytes per pixel; half the width at 4 bits per pixel)."""
        bpp = self.dispi[DISPI_INDEX_BPP]
        width = self.dispi[DISPI_INDEX_XRES]
        line = width >> 1 if bpp == 4 else width * ((bpp + 7) >> 3)
        size = min(len(self.vram), line * self.dispi[DISPI_INDEX_YRES])
        self.vram[:size] = bytes(size)


class CirrusVga:
    """QEMU's Cirrus CL-GD5446: `vram` behind BAR 0's linear aperture, `ports`."""

    def __init__(self, name: str):
        self.name = name
        self.vram = bytearray(CIRRUS_VRAM)
        self.ports = VgaPorts(name)

    def _plain(self) -> bool:
        sr17 = self.ports.regs["sr"].get(0x17, CIRRUS_SR17_RESET)
        gr0b = self.ports.regs["gr"].get(0x0B, 0)
        return (sr17 & 0x44) != 0x44 and not gr0b & 0x06

    def span(self, register: int, offset: int, length: int):
        if register == 0x10 and offset + length <= len(self.vram) and self._plain():
            return self.vram, offset
        return None

    def _check(self, register: int, offset: int, size: int, what: str) -> None:
        if register != 0x10 or offset + size > len(self.vram):
            raise _not_modelled(self.name, f"a {size}-byte {what} at {offset:#x} of BAR "
                                f"{(register - 0x10) // 4}")
        if not self._plain():
            raise _not_modelled(self.name, f"the linear framebuffer with SR17 "
                                f"{self.ports.regs['sr'].get(0x17, CIRRUS_SR17_RESET):#x} and "
                                f"GR0B {self.ports.regs['gr'].get(0x0B, 0):#x}")

    def read(self, register: int, offset: int, size: int) -> bytes:
        self._check(register, offset, size, "load")
        return bytes(self.vram[offset:offset + size])

    def write(self, register: int, offset: int, data: bytes) -> None:
        self._check(register, offset, len(data), "store")
        self.vram[offset:offset + len(data)] = data


MODELS = {STD_VGA: ("VGA", lambda name, bars: StdVga(name, bars.get(0x10, 16 << 20))),
          CIRRUS: ("cirrus-vga", lambda name, bars: CirrusVga(name))}
"""(vendor, device) -> (QEMU's device name, factory(name, BAR sizes by register))"""


@dataclass
class Adapter:
    buid: int
    bus: int
    function: PciFunction
    model: Any
    bars: dict[int, tuple[int, int]] = field(default_factory=dict)   # register -> (space, size)


class DisplayAdapters:
    """The std VGA and Cirrus functions of the machine's PHBs, by CPU address."""

    def __init__(self) -> None:
        self.windows: list[Window] = []
        self.adapters: list[Adapter] = []
        self.port_owner: dict[int, VgaPorts] = {}      # PHB BUID -> whose VGA ports

    @classmethod
    def from_tree(cls, blob: bytes, pci: PciBus) -> DisplayAdapters:
        self = cls()
        fdt = fdt_lookup.open_tree(blob)
        for phb, buid, props in host_bridges(fdt):
            self.windows += phb_windows(buid, props)
            for node in fdt_lookup.descendant_nodes(fdt, phb):
                adapter = _adapter(buid, fdt_lookup.node_properties(fdt, node), pci)
                if adapter is not None:
                    self.adapters.append(adapter)
        for adapter in sorted(self.adapters, key=lambda a: a.function.devfn):
            if adapter.bus == 0:          # behind a bridge the ports are not forwarded
                self.port_owner[adapter.buid] = adapter.model.ports
        return self

    def _decode(self, addr: int, size: int):
        """(adapter or VgaPorts, BAR register or port, offset) at CPU address `addr`."""
        for window in self.windows:
            if not window.cpu <= addr < window.cpu + window.size:
                continue
            pci_addr = addr - window.cpu + window.pci
            if window.space == SPACE_IO:
                ports = self.port_owner.get(window.buid)
                if ports is not None and FIRST_PORT <= pci_addr <= LAST_PORT + 1 - size:
                    return ports, pci_addr, 0
                continue
            for adapter in self.adapters:
                if adapter.buid != window.buid or not adapter.function.read(COMMAND, 2) & 2:
                    continue
                for register, (space, bar_size) in adapter.bars.items():
                    base = bar_address(adapter.function, Bar(register, space, bar_size))
                    if space != SPACE_IO and base and base <= pci_addr < base + bar_size:
                        if pci_addr + size > base + bar_size:
                            return None
                        return adapter.model, register, pci_addr - base
        return None

    def span(self, addr: int, length: int):
        """(buffer, offset) when [addr, addr+length) is all of one plain framebuffer."""
        hit = self._decode(addr, max(length, 1))
        if hit is None or isinstance(hit[0], VgaPorts):
            return None
        model, register, offset = hit
        return model.span(register, offset, length)

    def load(self, size: int, addr: int) -> bytes | None:
        """The bytes (in address order) a load of `size` at `addr` reads; None: no adapter."""
        hit = self._decode(addr, size)
        if hit is None:
            return None
        target, where, offset = hit
        if isinstance(target, VgaPorts):
            return bytes(target.read(where + i) for i in range(size))
        return target.read(where, offset, size)

    def store(self, addr: int, data: bytes) -> bool:
        """Store `data` (address order) at `addr`; False when no adapter is there."""
        hit = self._decode(addr, len(data))
        if hit is None:
            return False
        target, where, offset = hit
        if isinstance(target, VgaPorts):
            for i, byte in enumerate(data):
                target.write(where + i, byte)
        else:
            target.write(where, offset, data)
        return True


def _adapter(buid: int, props: dict[str, bytes], pci: PciBus) -> Adapter | None:
    vendor = fdt_lookup.cells(props.get("vendor-id", b""))
    device = fdt_lookup.cells(props.get("device-id", b""))
    if not vendor or not device or (vendor[0], device[0]) not in MODELS:
        return None
    reg = fdt_lookup.cells(props.get("reg", b""))
    function = node_function(pci, buid, reg)
    if function is None:
        return None
    bars = {bar.register: (bar.space, bar.size) for bar in node_bars(reg)}
    kind, factory = MODELS[vendor[0], device[0]]
    name = f"{kind} {(reg[0] >> 16) & 0xFF:02x}:{function.devfn >> 3:02x}.{function.devfn & 7}"
    model = factory(name, {r: size for r, (_, size) in bars.items()})
    return Adapter(buid, (reg[0] >> 16) & 0xFF, function, model, bars)
