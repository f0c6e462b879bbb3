"""QEMU's pci-ohci and usb-ehci controllers as the host answers a guest, with nothing on
their ports: configuration space through the RTAS config calls, the registers through
H_LOGICAL_CI_LOAD/STORE on BAR 0, little-endian (tests/data/seeds: the pci-drivers machine)."""
from __future__ import annotations

import io
import re
from pathlib import Path

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32
from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"
PHB = 0x0800_0000_2000_0000
MEM32_PCI, MEM32_CPU = 0x8000_0000, 0x2000_8000_0000      # the PHB's 32-bit memory window
RTAS_BLOCK = 0x3000
OHCI, EHCI = 0x08, 0x10                                     # pci-drivers' devfns
OHCI_BAR, EHCI_BAR = 0x8000_0000, 0x8000_1000


def token(service: str) -> int:
    text = (SEEDS / "pci-drivers.seed.dts").read_text()
    found = re.search(rf"^\t\t{re.escape(service)} = <(0x[0-9a-f]+)>;", text, re.M)
    assert found
    return int(found.group(1), 16)


class Guest:
    """The pci-drivers machine, driven the way SLOF's C reaches it."""

    def __init__(self) -> None:
        self.memory = BufferGuestMemory(bytearray(1 << 20))
        self.hv = Hypervisor(self.memory, QemuBackend(console_output=io.StringIO()))
        self.hv.reset((SEEDS / "pci-drivers.seed.dtb").read_bytes())

    def _rtas(self, service: str, args: tuple[int, ...], nret: int) -> list[int]:
        cells = [token(service), len(args), nret, *args] + [0] * nret
        self.memory.write(RTAS_BLOCK, b"".join(c.to_bytes(4, "big") for c in cells))
        rc, _ = self.hv.hcall(hc.KVMPPC_H_RTAS, RTAS_BLOCK)
        assert rc == 0
        rets = RTAS_BLOCK + 12 + 4 * len(args)
        return [read_u32(self.memory, rets + 4 * i) for i in range(nret)]

    def config(self, devfn: int, offset: int, size: int) -> int:
        status, value = self._rtas("ibm,read-pci-config",
                                   ((devfn << 8) | offset, PHB >> 32, PHB & 0xFFFFFFFF, size), 2)
        assert status == 0
        return value

    def config_write(self, devfn: int, offset: int, size: int, value: int) -> None:
        (status,) = self._rtas("ibm,write-pci-config", ((devfn << 8) | offset, PHB >> 32,
                                                        PHB & 0xFFFFFFFF, size, value), 1)
        assert status == 0

    def enable(self, devfn: int, bar: int) -> int:
        """BAR 0 at PCI address `bar`, memory space on: the BAR's CPU address."""
        self.config_write(devfn, 0x10, 4, bar)
        self.config_write(devfn, 0x04, 2, 0x0006)
        return bar - MEM32_PCI + MEM32_CPU

    def reg(self, addr: int, size: int = 4) -> int:
        """A little-endian register as the C code's read_reg32 sees it (byte-swapped)."""
        rc, (value,) = self.hv.hcall(hc.H_LOGICAL_CI_LOAD, size, addr)
        assert rc == hc.H_SUCCESS
        return int.from_bytes(value.to_bytes(size, "big"), "little")

    def set_reg(self, addr: int, value: int) -> None:
        swapped = int.from_bytes(value.to_bytes(4, "little"), "big")
        rc, _ = self.hv.hcall(hc.H_LOGICAL_CI_STORE, 4, addr, swapped)
        assert rc == hc.H_SUCCESS


def test_class_codes_are_ohci_and_ehci():
    guest = Guest()
    assert guest.config(OHCI, 0x08, 4) >> 8 == 0x0C0310
    assert guest.config(EHCI, 0x08, 4) >> 8 == 0x0C0320


def test_registers_answer_only_once_memory_space_is_on():
    guest = Guest()
    guest.config_write(OHCI, 0x10, 4, OHCI_BAR)
    rc, _ = guest.hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, OHCI_BAR - MEM32_PCI + MEM32_CPU)
    assert rc == hc.H_PARAMETER
    guest.config_write(OHCI, 0x04, 2, 0x0002)
    assert guest.reg(OHCI_BAR - MEM32_PCI + MEM32_CPU) == 0x10           # HcRevision


def test_ohci_reset_start_and_empty_root_hub():
    guest = Guest()
    regs = guest.enable(OHCI, OHCI_BAR)
    guest.set_reg(regs + 0x18, 0x1234_5678)
    assert guest.reg(regs + 0x18) == 0x1234_5600                         # HCCA: 256-aligned
    guest.set_reg(regs + 0x08, 1)                                        # HCR
    assert guest.reg(regs + 0x08) & 1 == 0                               # reset done at once
    assert guest.reg(regs + 0x18) == 0
    assert guest.reg(regs + 0x04) & 0xC0 == 0xC0                         # UsbSuspend
    guest.set_reg(regs + 0x04, 0xBF)                                     # operational, lists on
    assert guest.reg(regs + 0x04) == 0xBF
    desc_a = guest.reg(regs + 0x48)
    assert desc_a & 0xFF == 3 and desc_a & 0x200                         # 3 ports, NPS
    guest.set_reg(regs + 0x48, (desc_a & ~0x900) | 0x200)
    assert guest.reg(regs + 0x48) == desc_a
    guest.set_reg(regs + 0x50, 1 << 16)                                  # LPSC: power on
    for port in range(3):
        status = guest.reg(regs + 0x54 + 4 * port)
        assert status == 0x100                                           # powered, not there
        guest.set_reg(regs + 0x54 + 4 * port, 1 << 4)                    # port reset
        assert guest.reg(regs + 0x54 + 4 * port) == 0x100 | 1 << 16      # CSC, no PRSC
        guest.set_reg(regs + 0x54 + 4 * port, 1 << 16)
        assert guest.reg(regs + 0x54 + 4 * port) == 0x100


def test_ehci_capabilities_reset_run_and_empty_ports():
    guest = Guest()
    cap = guest.enable(EHCI, EHCI_BAR)
    assert guest.reg(cap, 1) == 0x20                                      # CAPLENGTH
    assert guest.reg(cap + 2, 2) == 0x100                                 # HCIVERSION
    assert guest.reg(cap + 4) & 0xF == 6                                  # ports
    op = cap + 0x20
    assert guest.reg(op + 0x04) & 1 << 12                                 # HCHalted
    guest.set_reg(op + 0x14, 0x4_5678)
    guest.set_reg(op + 0x00, guest.reg(op) | 2)                           # HCRESET
    assert guest.reg(op) & 2 == 0 and guest.reg(op + 0x14) == 0
    guest.set_reg(op + 0x14, 0x4_5678)
    assert guest.reg(op + 0x14) == 0x4_5000                               # 4 KiB-aligned
    guest.set_reg(op + 0x18, 0x4_6044)
    assert guest.reg(op + 0x18) == 0x4_6040                               # 32-byte aligned
    guest.set_reg(op + 0x00, guest.reg(op) | 0x21)                        # ASE, RUN
    assert guest.reg(op + 0x04) & 1 << 12 == 0
    guest.set_reg(op + 0x40, 1)
    assert guest.reg(op + 0x40) == 1
    for port in range(6):
        assert guest.reg(op + 0x44 + 4 * port) & 1 == 0                   # nothing connected
