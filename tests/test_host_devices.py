"""QemuBackend's consoles, TCE tables and CRQs, with the machine taken from the real seed."""
import io
from pathlib import Path

import pytest

from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory

from conftest import REFERENCE_SEEDS

SEEDS = REFERENCE_SEEDS
VTY = 0x71000000
NVRAM = 0x71000001
VSCSI = 0x71000002
PHB_LIOBN = 0x80000000


@pytest.fixture
def machine():
    memory = BufferGuestMemory(bytearray(1 << 20))
    backend = QemuBackend(console_output=io.StringIO())
    hv = Hypervisor(memory, backend)
    hv.reset((SEEDS / "default.seed.dtb").read_bytes())
    return hv, backend


def put_chars(hv, termno, text: bytes):
    padded = text.ljust(16, b"\0")
    return hv.hcall(hc.H_PUT_TERM_CHAR, termno, len(text),
                    int.from_bytes(padded[:8], "big"), int.from_bytes(padded[8:], "big"))


def test_console_output_to_the_vty(machine):
    hv, backend = machine
    assert put_chars(hv, VTY, b"SLOF") == (hc.H_SUCCESS, ())
    assert put_chars(hv, 0, b"!\n") == (hc.H_SUCCESS, ())  # 0: the lowest vty
    assert backend.console_output.getvalue() == "SLOF!\n"


@pytest.mark.parametrize("termno", [NVRAM, VSCSI, 0x1234])
def test_console_needs_a_vty(machine, termno):
    hv, backend = machine
    assert put_chars(hv, termno, b"x") == (hc.H_PARAMETER, ())
    assert hv.hcall(hc.H_GET_TERM_CHAR, termno) == (hc.H_PARAMETER, (0, 0, 0))
    assert backend.console_output.getvalue() == ""


def test_console_input(machine):
    hv, backend = machine
    backend.feed_console(b"ok")
    rc, (length, high, _) = hv.hcall(hc.H_GET_TERM_CHAR, VTY)
    assert (rc, length, high >> 48) == (hc.H_SUCCESS, 2, int.from_bytes(b"ok", "big"))
    assert hv.hcall(hc.H_GET_TERM_CHAR, VTY) == (hc.H_SUCCESS, (0, 0, 0))


def test_console_before_reset_takes_any_terminal():
    backend = QemuBackend(console_output=io.StringIO())
    hv = Hypervisor(BufferGuestMemory(bytearray(16)), backend)
    assert put_chars(hv, 0x42, b"hi") == (hc.H_SUCCESS, ())
    assert backend.console_output.getvalue() == "hi"


def test_tce_tables_from_dma_windows(machine):
    hv, _ = machine
    # v-scsi: ibm,my-dma-window = <0x71000002 0 0 0 0x10000000>
    assert hv.hcall(hc.H_PUT_TCE, VSCSI, 0x1000, 0x12345003) == (hc.H_SUCCESS, ())
    assert hv.hcall(hc.H_GET_TCE, VSCSI, 0x1FFF) == (hc.H_SUCCESS, (0x12345003,))
    assert hv.hcall(hc.H_GET_TCE, VSCSI, 0x2000) == (hc.H_SUCCESS, (0,))
    assert hv.hcall(hc.H_PUT_TCE, VSCSI, 0x1000_0000, 3)[0] == hc.H_PARAMETER
    # PHB: ibm,dma-window = <0x80000000 0 0 0 0x40000000>
    assert hv.hcall(hc.H_PUT_TCE, PHB_LIOBN, 0x3FFF_F000, 3)[0] == hc.H_SUCCESS
    assert hv.hcall(hc.H_PUT_TCE, PHB_LIOBN, 0x4000_0000, 3)[0] == hc.H_PARAMETER
    assert hv.hcall(hc.H_PUT_TCE, 0x1234, 0, 3)[0] == hc.H_PARAMETER
    assert hv.hcall(hc.H_GET_TCE, 0x1234, 0)[0] == hc.H_PARAMETER


def test_crq_registration(machine):
    hv, backend = machine
    assert hv.hcall(hc.H_REG_CRQ, VSCSI, 0x10000, 0x1000)[0] == hc.H_SUCCESS
    assert hv.hcall(hc.H_REG_CRQ, VSCSI, 0x10000, 0x1000)[0] == hc.H_RESOURCE
    assert hv.hcall(hc.H_FREE_CRQ, VSCSI)[0] == hc.H_SUCCESS
    assert hv.hcall(hc.H_REG_CRQ, VSCSI, 0x10000, 0x1000)[0] == hc.H_SUCCESS
    assert backend.vio.units[VSCSI].queue == (0x10000, 0x1000)


@pytest.mark.parametrize("unit,addr,size,rc", [
    (VTY, 0x10000, 0x1000, hc.H_NOT_FOUND),     # a vty has no CRQ
    (0x1234, 0x10000, 0x1000, hc.H_PARAMETER),  # no such unit
    (VSCSI, 0x10800, 0x1000, hc.H_PARAMETER),   # misaligned queue
    (VSCSI, 0x10000, 0x800, hc.H_PARAMETER),    # queue too small
])
def test_crq_registration_refusals(machine, unit, addr, size, rc):
    hv, _ = machine
    assert hv.hcall(hc.H_REG_CRQ, unit, addr, size)[0] == rc


def test_crq_messages_are_kept(machine):
    hv, backend = machine
    assert hv.hcall(hc.H_SEND_CRQ, VSCSI, 0xC001_0000_0000_0000, 0)[0] == hc.H_SUCCESS
    assert backend.vio.units[VSCSI].sent == [bytes.fromhex("c001000000000000") + bytes(8)]
    assert hv.hcall(hc.H_SEND_CRQ, VTY, 0, 0)[0] == hc.H_HARDWARE
    assert hv.hcall(hc.H_SEND_CRQ, 0x1234, 0, 0)[0] == hc.H_PARAMETER
    assert hv.hcall(hc.H_FREE_CRQ, 0x1234)[0] == hc.H_PARAMETER
