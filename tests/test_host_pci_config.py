"""The host's PCI functions answer RTAS config calls as real QEMU 7.2's devices do.

Real QEMU is the oracle: tests/data/pci/NAME.config.txt holds, for every function of a
QEMU configuration, its config space read through real SLOF's RTAS calls at SLOF's prompt
and each header dword read back after writing all ones (capture-pci-config.py there). Here
the host is reset with the same seed and asked the same way, before any firmware ran: the
write masks (BAR sizes, writable command bits, bus number and window registers), the
read-only identity and status fields and the capability lists must be QEMU's.
"""
from __future__ import annotations

import pytest

from pci_support import CAPTURES, captured, comparable, port_for_seed

NAMES = sorted(p.name.split(".")[0] for p in CAPTURES.glob("*.config.txt")
               if captured(p.name.split(".")[0]))
CASES = [(name, fn.where, fn.buid) for name in NAMES for fn in captured(name)]


def _function(name: str, where: str, buid: int):
    return next(fn for fn in captured(name) if fn.where == where and fn.buid == buid)


def test_the_captures_cover_bridges_two_phbs_and_virtio_kinds():
    assert {"bridges2", "bridges3", "phb2"} <= set(NAMES)
    kinds = {(fn.config[0], fn.config[3] >> 16 & 0x7F) for name in NAMES for fn in captured(name)}
    assert (0x0001_1B36, 1) in kinds          # pci-bridge, type-1 header
    assert (0x1005_1AF4, 0) in kinds          # virtio-rng (transitional)
    assert len({fn.buid for fn in captured("phb2")}) == 2


@pytest.mark.parametrize("name,where,buid", CASES, ids=[f"{n}-{w}-{b & 0xF}" for n, w, b in CASES])
def test_header_writes_of_all_ones_read_back_as_on_qemu(name, where, buid):
    real = _function(name, where, buid)
    _, port = port_for_seed(name)
    ours = [port.ones(buid, real.addr, 4 * i) for i in range(16)]
    assert [f"{comparable(real, i, v):08x}" for i, v in enumerate(ours)] == \
        [f"{comparable(real, i, v):08x}" for i, v in enumerate(real.ones)]


@pytest.mark.parametrize("name,where,buid", CASES, ids=[f"{n}-{w}-{b & 0xF}" for n, w, b in CASES])
def test_identity_status_and_capability_lists_are_qemus(name, where, buid):
    real = _function(name, where, buid)
    _, port = port_for_seed(name)
    # vendor/device, status (the command is firmware's), class/revision, header type,
    # subsystem (devices), capabilities pointer, interrupt pin, and every capability
    for index in [0, 2, 3, 11, 13] + list(range(16, 64)):
        if real.config[3] >> 16 & 0x7F == 1 and index == 11:
            continue  # a bridge's 0x2C is its prefetchable limit (firmware's)
        assert f"{comparable(real, index, port.l(buid, real.addr + 4 * index)):08x}" == \
            f"{comparable(real, index, real.config[index]):08x}", f"dword {4 * index:#x}"
    status = port.l(buid, real.addr + 4) >> 16
    assert status == real.config[1] >> 16
    assert port.read(buid, real.addr + 0x3D, 1) == (0, real.config[15] >> 8 & 0xFF)


def test_virtio_capability_chain_is_walked_as_slof_walks_it():
    # pci-cap-find: from the pointer at 0x34, follow "next" bytes (low two bits masked)
    _, port = port_for_seed("bridges2")
    buid, addr = 0x0800_0000_2000_0000, 0x2800   # 00:05.0, virtio-rng
    found = []
    at = port.read(buid, addr + 0x34, 1)[1] & 0xFC
    while at and len(found) < 48:
        found.append((at, port.read(buid, addr + at, 1)[1]))
        at = port.read(buid, addr + at + 1, 1)[1] & 0xFC
    assert found == [(0x98, 0x11), (0x84, 0x09), (0x70, 0x09), (0x60, 0x09), (0x50, 0x09),
                     (0x40, 0x09)]
    # MSI-X: 2 vectors (ibm,req#msi-x), as SLOF's pci-msix-prop reads it
    assert (port.read(buid, addr + 0x9A, 2)[1] & 0x7FF) + 1 == 2


def test_bridge_msi_gives_slofs_one_vector():
    _, port = port_for_seed("bridges2")
    buid, addr = 0x0800_0000_2000_0000, 0x1000   # 00:02.0, pci-bridge
    control = port.read(buid, addr + 0x4C + 2, 2)[1]
    assert port.read(buid, addr + 0x4C, 1)[1] == 0x05
    assert 1 << ((control >> 1) & 7) == 1


def test_extended_registers_of_a_conventional_function_are_errors():
    _, port = port_for_seed("bridges2")
    assert port.read(0x0800_0000_2000_0000, 0x1000_2800) == (-1, 0xFFFF_FFFF)  # reg 0x100
    assert port.read(0x0800_0000_2000_0000, 0x2800 + 0xFC) == (0, 0)
