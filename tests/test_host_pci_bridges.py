"""PCI-to-PCI bridges and PCI host bridges in the host model, driven through RTAS config
calls as SLOF's pci-scan.fs and pci-phb.fs drive them.

QEMU numbers the buses behind bridges before it writes the tree; SLOF reads the numbers
back (qemu,phb-enumerated) or programs its own (pci-bridge-probe). Config cycles reach a
bus through the bridges whose secondary..subordinate range holds it, as in QEMU's
pci_find_bus_nr; a secondary bus reset puts every function behind the bridge back to its
power-on state. The figures are real QEMU's (tests/data/pci, see test_host_pci_config.py).
"""
from __future__ import annotations

import pytest

from pci_support import captured, port_for_seed

PHB0 = 0x0800_0000_2000_0000
PHB1 = 0x0800_0000_2000_0001
VIRTIO_RNG = 0x1005_1AF4
PCI_BRIDGE = 0x0001_1B36
MISS = (-1, 0xFFFF_FFFF)


def addr(bus: int, device: int, function: int = 0, register: int = 0) -> int:
    return (bus << 16) | (device << 11) | (function << 8) | register


@pytest.mark.parametrize("name", ["bridges2", "bridges3", "phb2"])
def test_bus_numbers_are_those_qemu_enumerated(name):
    _, port = port_for_seed(name)
    bridges = [fn for fn in captured(name) if fn.config[0] == PCI_BRIDGE]
    assert bridges
    for fn in bridges:
        assert f"{port.l(fn.buid, fn.addr + 0x18):08x}" == f"{fn.config[6]:08x}", fn.where
        assert port.read(fn.buid, fn.addr + 0x0E, 1) == (0, 0x01)     # type-1 header


def test_config_cycles_reach_every_level_and_nothing_past_the_subordinate_bus():
    _, port = port_for_seed("bridges3")
    # bridges3: 00:03.0 > 01:02.0 > 02:06.0, virtio-rng at 01:05, 02:01, 03:00, 03:09, 03:1f
    assert port.l(PHB0, addr(1, 5)) == VIRTIO_RNG
    assert port.l(PHB0, addr(2, 1)) == VIRTIO_RNG
    assert port.l(PHB0, addr(3, 0)) == VIRTIO_RNG
    assert port.l(PHB0, addr(3, 0x1F)) == VIRTIO_RNG
    assert port.read(PHB0, addr(3, 0x1E)) == MISS        # empty slot
    assert port.read(PHB0, addr(4, 0)) == MISS           # no bus 4
    assert port.read(PHB0, addr(0, 5)) == MISS           # 01:05 is not on bus 0


def test_renumbered_bridges_route_by_what_firmware_wrote():
    _, port = port_for_seed("bridges3")
    # pci-bridge-probe's pci-bus!: subordinate ff, secondary 5, primary 0
    assert port.write(PHB0, addr(0, 3, register=0x18), 0x00FF_0500) == 0
    assert port.l(PHB0, addr(5, 2)) == PCI_BRIDGE        # 01:02.0 is now 05:02.0
    assert port.l(PHB0, addr(5, 5)) == VIRTIO_RNG
    assert port.read(PHB0, addr(1, 2)) == MISS
    # 05:02.0 still says secondary 2, which is outside 5..ff: bus 2 is unreachable
    assert port.read(PHB0, addr(2, 1)) == MISS
    assert port.write(PHB0, addr(5, 2, register=0x18), 0x00FF_0605) == 0
    assert port.l(PHB0, addr(6, 1)) == VIRTIO_RNG
    assert port.read(PHB0, addr(7, 0)) == MISS
    # pci-bus-subo!: the last bus found below
    assert port.write(PHB0, addr(0, 3, register=0x1A), 0x06, size=1) == 0
    assert port.l(PHB0, addr(6, 1)) == VIRTIO_RNG
    assert port.write(PHB0, addr(0, 3, register=0x1A), 0x05, size=1) == 0
    assert port.read(PHB0, addr(6, 1)) == MISS


def test_secondary_bus_reset_puts_the_functions_behind_back_to_power_on():
    _, port = port_for_seed("bridges3")
    behind = addr(1, 5, register=0x14)                   # virtio-rng's 32-bit BAR1
    assert port.write(PHB0, behind, 0x8051_0000) == 0
    assert port.write(PHB0, addr(2, 1, register=0x04), 0x0007, size=2) == 0
    assert port.l(PHB0, behind) == 0x8051_0000
    control = addr(0, 3, register=0x3E)
    assert port.write(PHB0, control, 0x0040, size=2) == 0
    # while reset is held the bridge still answers for its own secondary bus only
    assert port.l(PHB0, behind) == 0
    assert port.l(PHB0, addr(1, 2, register=0x18)) == 0  # 01:02.0's bus numbers: reset
    assert port.read(PHB0, addr(2, 1)) == MISS
    assert port.write(PHB0, control, 0x0000, size=2) == 0
    assert port.l(PHB0, behind) == 0
    assert port.write(PHB0, addr(1, 2, register=0x18), 0x0003_0201) == 0
    assert port.read(PHB0, addr(2, 1, register=0x04), 2) == (0, 0)  # command reset too
    assert port.l(PHB0, addr(0, 3, register=0x18)) == 0x0003_0100  # the bridge itself kept


def test_bridge_windows_keep_their_type_bits():
    _, port = port_for_seed("bridges2")
    bridge = addr(0, 2)
    # SLOF's pci-bridge-set-mem-base on a bridge with 64-bit prefetchable memory
    assert port.read(PHB0, bridge + 0x24, 2) == (0, 0x0001)
    assert port.write(PHB0, bridge + 0x28, 0x2100) == 0
    assert port.write(PHB0, bridge + 0x24, 0xFFF0_0000) == 0
    assert port.l(PHB0, bridge + 0x24) == 0xFFF1_0001
    assert port.write(PHB0, bridge + 0x26, 0x2FFF, size=2) == 0
    assert port.l(PHB0, bridge + 0x24) == 0x2FF1_0001
    # 16-bit I/O: no upper I/O registers; the low nibbles say so
    assert port.write(PHB0, bridge + 0x1C, 0x0001_1010) == 0
    assert port.l(PHB0, bridge + 0x1C) == 0x00A0_1010
    assert port.write(PHB0, bridge + 0x30, 0xFFFF_FFFF) == 0
    assert port.l(PHB0, bridge + 0x30) == 0
    # 32-bit memory window
    assert port.write(PHB0, bridge + 0x20, 0x8040_8000) == 0
    assert port.l(PHB0, bridge + 0x20) == 0x8040_8000


def test_each_phb_answers_for_its_own_buid():
    _, port = port_for_seed("phb2")
    assert port.l(PHB0, addr(0, 0)) == PCI_BRIDGE
    assert port.l(PHB0, addr(1, 3)) == VIRTIO_RNG
    assert port.l(PHB1, addr(0, 0)) == VIRTIO_RNG
    assert port.read(PHB1, addr(1, 3)) == MISS            # no bridge on the second PHB
    assert port.read(0x0800_0000_2000_0002, addr(0, 0)) == MISS
    assert port.write(PHB1, addr(0, 0, register=0x14), 0x8000_0000) == 0
    assert port.l(PHB1, addr(0, 0, register=0x14)) == 0x8000_0000
    assert port.l(PHB0, addr(0, 0, register=0x10)) == 0x0000_0004  # the other PHB's BAR


def test_a_reset_machine_has_qemus_bus_numbers_again():
    backend, port = port_for_seed("bridges2")
    assert port.write(PHB0, addr(0, 2, register=0x18), 0x00FF_0900) == 0
    assert port.read(PHB0, addr(1, 1)) == MISS
    backend.reset(backend.seed)
    assert port.l(PHB0, addr(0, 2, register=0x18)) == 0x0002_0100
    assert port.l(PHB0, addr(1, 1)) == VIRTIO_RNG
