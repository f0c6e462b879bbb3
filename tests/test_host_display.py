"""KVMPPC_H_LOGICAL_MEMOP as QEMU does it, on RAM and on device memory, and the display
adapters' models (slofpy.host.memop, slofpy.host.display, slofpy.host.vga_ports), on the
pci-vga machine's seed with the BARs where real SLOF put them (pci-vga.slof.dts)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory
from slofpy.errors import DeviceNotModelled
from slofpy.host.backend import HostBackend
from slofpy.host.display import CirrusVga, StdVga
from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor

SEED = Path(__file__).resolve().parent / "data" / "seeds" / "pci-vga.seed.dtb"
IO = 0x200000000000            # the PHB's I/O window: PCI I/O address 0
STD_FB, STD_MMIO = 0x200080000000, 0x200081000000
CIRRUS_FB, CIRRUS_MMIO = 0x200082000000, 0x200084000000
BARS = {StdVga: {0x10: 0x80000000, 0x18: 0x81000000},
        CirrusVga: {0x10: 0x82000000, 0x14: 0x84000000}}


@pytest.fixture
def machine():
    memory = BufferGuestMemory(bytearray(1 << 20))
    backend = QemuBackend(console_output=io.StringIO())
    hv = Hypervisor(memory, backend)
    hv.reset(SEED.read_bytes())
    for adapter in backend.displays.adapters:
        for register, address in BARS[type(adapter.model)].items():
            adapter.function.write(register, 4, address)
        adapter.function.write(0x04, 2, 0x7)          # I/O, memory, bus master
    return hv, memory, backend


def model(backend, kind):
    return next(a.model for a in backend.displays.adapters if isinstance(a.model, kind))


def memop(hv, dst, src, esize, count, op=0):
    return hv.hcall(hc.KVMPPC_H_LOGICAL_MEMOP, dst, src, esize, count, op)[0]


def load(hv, size, addr):
    rc, out = hv.hcall(hc.H_LOGICAL_CI_LOAD, size, addr)
    assert rc == hc.H_SUCCESS
    return out[0]


# ---------------------------------------------------------------- the memop hcall
@pytest.mark.parametrize("esize", [0, 1, 2, 3])
def test_memop_copies_ram_in_each_element_size(machine, esize):
    hv, memory, _ = machine
    memory.write(0x1000, bytes(range(32)))
    assert memop(hv, 0x2000, 0x1000, esize, 32 >> esize) == hc.H_SUCCESS
    assert memory.read(0x2000, 32) == bytes(range(32))


def test_memop_refuses_what_qemu_refuses(machine):
    hv, _, _ = machine
    assert memop(hv, 0x2001, 0x1000, 1, 1) == hc.H_PARAMETER      # dst not 2-aligned
    assert memop(hv, 0x2000, 0x1004, 3, 1) == hc.H_PARAMETER      # src not 8-aligned
    assert memop(hv, 0x2000, 0x1000, 0, 0x80000001) == hc.H_PARAMETER
    assert memop(hv, 0x2000, 0x1000, 0, 1, op=2) == hc.H_PARAMETER
    assert memop(hv, 0x2000, 0x1000, 0, 0) == hc.H_SUCCESS        # nothing to do


def test_memop_inverts_and_overlapping_copies_are_memmoves(machine):
    hv, memory, _ = machine
    memory.write(0x1000, bytes(range(1, 9)))
    assert memop(hv, 0x1002, 0x1000, 1, 3) == hc.H_SUCCESS        # backwards in QEMU
    assert memory.read(0x1000, 8) == bytes((1, 2, 1, 2, 3, 4, 5, 6))
    assert memop(hv, 0x2000, 0x1000, 2, 1, op=1) == hc.H_SUCCESS
    assert memory.read(0x2000, 4) == bytes((0xFE, 0xFD, 0xFE, 0xFD))


def test_memop_between_ram_and_a_framebuffer_bar(machine):
    hv, memory, backend = machine
    memory.write(0x1000, b"framebuf")
    assert memop(hv, CIRRUS_FB + 8, 0x1000, 3, 1) == hc.H_SUCCESS
    assert model(backend, CirrusVga).vram[8:16] == b"framebuf"
    assert memop(hv, STD_FB + 0x10, CIRRUS_FB + 8, 0, 8) == hc.H_SUCCESS
    assert model(backend, StdVga).vram[0x10:0x18] == b"framebuf"
    assert memop(hv, 0x3000, STD_FB + 0x12, 1, 3) == hc.H_SUCCESS
    assert memory.read(0x3000, 6) == b"amebuf"
    assert load(hv, 4, STD_FB + 0x10) == int.from_bytes(b"fram", "big")


def test_memop_reaches_registers_element_by_element(machine):
    hv, memory, backend = machine
    # input status 1 (port 0x3da) read twice through the I/O window into RAM: 0xff while
    # the adapter is in monochrome mode, then toggling once the colour bit is set
    assert memop(hv, 0x1000, IO + 0x3DA, 0, 1) == hc.H_SUCCESS
    memory.write(0x1001, b"\x0f")
    assert memop(hv, IO + 0x3C2, 0x1001, 0, 1) == hc.H_SUCCESS
    assert memop(hv, 0x1002, IO + 0x3DA, 0, 1) == hc.H_SUCCESS
    assert memop(hv, 0x1003, IO + 0x3DA, 0, 1) == hc.H_SUCCESS
    assert memory.read(0x1000, 4) == bytes((0xFF, 0x0F, 0x09, 0x00))
    # two VBE registers in one 2-byte-element copy (little-endian registers)
    memory.write(0x2000, (800).to_bytes(2, "little") + (600).to_bytes(2, "little"))
    assert memop(hv, STD_MMIO + 0x502, 0x2000, 1, 2) == hc.H_SUCCESS
    assert model(backend, StdVga).dispi[1:3] == [800, 600]


def test_memop_to_memory_nobody_has_is_refused(machine):
    hv, _, _ = machine
    assert memop(hv, 0x100000000000, 0x1000, 3, 2) == hc.H_PARAMETER
    assert memop(hv, 0x1000, 1 << 20, 0, 1) == hc.H_PARAMETER


def test_the_base_host_copies_guest_memory_only():
    memory = BufferGuestMemory(bytearray(0x10000))
    hv = Hypervisor(memory, HostBackend(console_output=io.StringIO()))
    memory.write(0x100, b"abcd")
    assert memop(hv, 0x200, 0x100, 2, 1) == hc.H_SUCCESS
    assert memory.read(0x200, 4) == b"abcd"
    assert memop(hv, STD_FB, 0x100, 2, 1) == hc.H_PARAMETER


# ---------------------------------------------------------------- the display models
def test_a_bar_answers_only_with_memory_space_enabled(machine):
    hv, _, backend = machine
    for adapter in backend.displays.adapters:
        adapter.function.write(0x04, 2, 0x1)
    assert hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, STD_FB)[0] == hc.H_PARAMETER


def test_the_std_vga_id_register_and_a_mode_set_clears_the_mode(machine):
    hv, _, backend = machine
    std = model(backend, StdVga)
    assert load(hv, 2, STD_MMIO + 0x500) == 0xC5B0          # 0xb0c5, little-endian
    std.vram[:8] = b"\xff" * 8
    std.vram[800 * 600 * 4:800 * 600 * 4 + 1] = b"\xee"
    for index, value in ((1, 800), (2, 600), (3, 32), (4, 0x21)):
        hv.hcall(hc.H_LOGICAL_CI_STORE, 2, STD_MMIO + 0x500 + 2 * index,
                 int.from_bytes(value.to_bytes(2, "little"), "big"))
    assert std.vram[:8] == bytes(8)                          # cleared ...
    assert std.vram[800 * 600 * 4] == 0xEE                   # ... up to the mode's end


def test_the_later_adapter_has_the_vga_ports(machine):
    hv, _, backend = machine
    hv.hcall(hc.H_LOGICAL_CI_STORE, 1, IO + 0x3C2, 0x0F)
    assert model(backend, CirrusVga).ports.msr == 0x0F
    assert model(backend, StdVga).ports.msr == 0
    assert load(hv, 1, STD_MMIO + 0x41A) == 0xFF            # the std VGA's own, monochrome


def test_the_palette_takes_three_bytes_an_entry(machine):
    hv, _, backend = machine
    for port, value in ((0x3C8, 2), (0x3C9, 1), (0x3C9, 2), (0x3C9, 3), (0x3C9, 4)):
        hv.hcall(hc.H_LOGICAL_CI_STORE, 1, IO + port, value)
    ports = model(backend, CirrusVga).ports
    assert ports.palette[6:9] == bytes((1, 2, 3)) and ports.dac_write_index == 3


@pytest.mark.parametrize("access, words", [
    (lambda hv: hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, CIRRUS_MMIO), "BAR 1"),
    (lambda hv: hv.hcall(hc.H_LOGICAL_CI_LOAD, 1, CIRRUS_FB + (4 << 20)), "BAR 0"),
    (lambda hv: hv.hcall(hc.H_LOGICAL_CI_LOAD, 1, IO + 0x3C5), "VGA port 0x3c5"),
    (lambda hv: hv.hcall(hc.H_LOGICAL_CI_LOAD, 2, STD_MMIO + 0x502), "VBE register 1"),
    (lambda hv: hv.hcall(hc.H_LOGICAL_CI_STORE, 4, STD_MMIO + 0x600, 0), "BAR 2"),
    (lambda hv: memop(hv, 0x1000, CIRRUS_MMIO, 2, 1), "BAR 1"),
])
def test_what_the_models_do_not_cover_is_one_line(machine, access, words):
    hv, _, _ = machine
    with pytest.raises(DeviceNotModelled) as error:
        access(hv)
    assert words in str(error.value) and "not modelled" in str(error.value)
    assert "\n" not in str(error.value)


def test_the_cirrus_linear_aperture_is_plain_only_with_plain_registers(machine):
    hv, memory, backend = machine
    cirrus = model(backend, CirrusVga)
    cirrus.ports.regs["sr"][0x17] = 0x44                     # memory-mapped BitBLT registers
    with pytest.raises(DeviceNotModelled, match="SR17 0x44"):
        memop(hv, CIRRUS_FB, 0x1000, 3, 1)
