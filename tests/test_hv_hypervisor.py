"""The hypervisor's dispatch and register decoding, over the base HostBackend."""
import io

import pytest

from slofpy.host.backend import HostBackend
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, GuestMemoryError


class SpyBackend(HostBackend):
    """Base behaviour, but remembers what it was asked and what the hypervisor reported."""

    def __init__(self):
        super().__init__(io.StringIO())
        self.seen: list[tuple] = []
        self.observed: list[tuple] = []

    def update_dt(self, memory, addr):
        self.seen.append(("update_dt", addr))
        return hc.H_SUCCESS

    def send_crq(self, memory, unit, message):
        self.seen.append(("send_crq", unit, message))
        return hc.H_SUCCESS

    def rtas(self, memory, args_addr):
        memory.read(args_addr, 12)  # may raise GuestMemoryError
        return hc.H_SUCCESS

    def observe_hcall(self, number, args, rc, outputs):
        self.observed.append((number, args, rc, outputs))


@pytest.fixture
def setup():
    memory = BufferGuestMemory(bytearray(0x10000))
    backend = SpyBackend()
    return Hypervisor(memory, backend), memory, backend


@pytest.mark.parametrize("number", [0x0, 0x4, 0x1234, 0xF004, 0xF005, 0xFFFF, 0x114])
def test_unknown_hcalls_answer_h_function(setup, number):
    hv, _, backend = setup
    assert hv.hcall(number, 1, 2, 3) == (hc.H_FUNCTION, ())
    assert backend.observed[-1] == (number, (1, 2, 3), hc.H_FUNCTION, ())


def test_base_backend_services_a_host_may_lack():
    hv = Hypervisor(BufferGuestMemory(bytearray(64)), HostBackend(io.StringIO()))
    assert hv.hcall(hc.KVMPPC_H_UPDATE_DT, 0)[0] == hc.H_FUNCTION
    assert hv.hcall(hc.KVMPPC_H_RTAS, 0)[0] == hc.H_FUNCTION
    assert hv.hcall(hc.KVMPPC_H_CAS, 0, 0, 0)[0] == hc.H_FUNCTION
    assert hv.hcall(hc.H_PUT_TCE, 1, 2, 3)[0] == hc.H_FUNCTION
    assert hv.hcall(hc.H_REG_CRQ, 1, 0x1000, 0x1000)[0] == hc.H_FUNCTION


def test_arguments_are_unsigned_64_bit_registers(setup):
    hv, _, backend = setup
    hv.hcall(hc.KVMPPC_H_UPDATE_DT, -1)
    assert backend.seen[-1] == ("update_dt", 0xFFFF_FFFF_FFFF_FFFF)
    assert backend.observed[-1][1] == (0xFFFF_FFFF_FFFF_FFFF,)


def test_missing_arguments_read_as_zero(setup):
    hv, _, backend = setup
    assert hv.hcall(hc.KVMPPC_H_UPDATE_DT) == (hc.H_SUCCESS, ())
    assert backend.seen[-1] == ("update_dt", 0)


def test_guest_memory_error_becomes_h_parameter(setup):
    hv, _, backend = setup
    assert hv.hcall(hc.KVMPPC_H_RTAS, 0xFFF8) == (hc.H_PARAMETER, ())
    assert backend.observed[-1][2] == hc.H_PARAMETER


def test_programming_errors_are_not_hidden():
    class Broken(HostBackend):
        def update_dt(self, memory, addr):
            raise ZeroDivisionError("bug")

    hv = Hypervisor(BufferGuestMemory(bytearray(16)), Broken())
    with pytest.raises(ZeroDivisionError):
        hv.hcall(hc.KVMPPC_H_UPDATE_DT, 0)


def test_put_term_char_unpacks_bytes_from_two_registers(setup):
    hv, _, backend = setup
    text = b"Hello, SLOF!\r\n"
    padded = text.ljust(16, b"\0")
    high, low = int.from_bytes(padded[:8], "big"), int.from_bytes(padded[8:], "big")
    assert hv.hcall(hc.H_PUT_TERM_CHAR, 0, len(text), high, low) == (hc.H_SUCCESS, ())
    # SLOF's hv-putchar: one character in the top byte of r6.
    assert hv.hcall(hc.H_PUT_TERM_CHAR, 0, 1, ord("x") << 56, 0)[0] == hc.H_SUCCESS
    assert backend.console_output.getvalue() == "Hello, SLOF!\r\nx"


def test_put_term_char_refuses_more_than_16_bytes(setup):
    hv, _, backend = setup
    assert hv.hcall(hc.H_PUT_TERM_CHAR, 0, 17, 0, 0) == (hc.H_PARAMETER, ())
    assert backend.console_output.getvalue() == ""


def test_get_term_char_packs_queued_input(setup):
    hv, _, backend = setup
    assert hv.hcall(hc.H_GET_TERM_CHAR, 0) == (hc.H_SUCCESS, (0, 0, 0))
    backend.feed_console(b"boot\r" + b"y" * 20)
    rc, (length, high, low) = hv.hcall(hc.H_GET_TERM_CHAR, 0)
    assert (rc, length) == (hc.H_SUCCESS, 16)
    assert (high.to_bytes(8, "big") + low.to_bytes(8, "big")) == b"boot\r" + b"y" * 11
    rc, (length, high, low) = hv.hcall(hc.H_GET_TERM_CHAR, 0)
    assert length == 9
    assert high.to_bytes(8, "big") == b"y" * 8
    assert low.to_bytes(8, "big") == b"y" + b"\0" * 7


def test_send_crq_passes_the_16_byte_message(setup):
    hv, _, backend = setup
    hv.hcall(hc.H_SEND_CRQ, 0x71000002, 0x8001000000000000, 0x0102030405060708)
    assert backend.seen[-1] == (
        "send_crq", 0x71000002, bytes.fromhex("8001000000000000 0102030405060708")
    )


def test_logical_ci_load_and_store(setup):
    hv, memory, _ = setup
    for size, value in ((1, 0xAB), (2, 0xBEEF), (4, 0xDEADBEEF), (8, 0x0123456789ABCDEF)):
        assert hv.hcall(hc.H_LOGICAL_CI_STORE, size, 0x100, value) == (hc.H_SUCCESS, ())
        assert memory.read(0x100, size) == value.to_bytes(size, "big")
        assert hv.hcall(hc.H_LOGICAL_CI_LOAD, size, 0x100) == (hc.H_SUCCESS, (value,))
    assert hv.hcall(hc.H_LOGICAL_CI_LOAD, 3, 0x100)[0] == hc.H_PARAMETER
    assert hv.hcall(hc.H_LOGICAL_CI_STORE, 16, 0x100, 0)[0] == hc.H_PARAMETER
    assert hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, 0x10000)[0] == hc.H_PARAMETER


def test_logical_memop_copy_invert_and_overlap(setup):
    hv, memory, _ = setup
    memory.write(0x200, bytes(range(16)))
    assert hv.hcall(hc.KVMPPC_H_LOGICAL_MEMOP, 0x300, 0x200, 2, 4, 0)[0] == hc.H_SUCCESS
    assert memory.read(0x300, 16) == bytes(range(16))
    assert hv.hcall(hc.KVMPPC_H_LOGICAL_MEMOP, 0x400, 0x200, 0, 4, 1)[0] == hc.H_SUCCESS
    assert memory.read(0x400, 4) == bytes([0xFF, 0xFE, 0xFD, 0xFC])
    # Overlapping, destination above source: memmove semantics.
    assert hv.hcall(hc.KVMPPC_H_LOGICAL_MEMOP, 0x204, 0x200, 0, 8, 0)[0] == hc.H_SUCCESS
    assert memory.read(0x200, 12) == bytes([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7])


@pytest.mark.parametrize("args", [
    (0x300, 0x200, 4, 1, 0),      # element size 16 does not exist
    (0x300, 0x200, 0, 1, 2),      # no operation 2
    (0x301, 0x200, 1, 1, 0),      # misaligned destination
    (0x300, 0x202, 2, 1, 0),      # misaligned source
    (0xFFF8, 0x200, 3, 2, 0),     # destination runs past memory
    (0x200, 0xFFF8, 3, 2, 0),     # source runs past memory
])
def test_logical_memop_refusals_leave_memory_alone(setup, args):
    hv, memory, _ = setup
    memory.write(0x200, b"\x55" * 16)
    before = memory.read(0, memory.size)
    assert hv.hcall(hc.KVMPPC_H_LOGICAL_MEMOP, *args)[0] == hc.H_PARAMETER
    assert memory.read(0, memory.size) == before


def test_console_defaults_to_current_stdout(capsys):
    backend = HostBackend()
    Hypervisor(BufferGuestMemory(bytearray(16)), backend).hcall(
        hc.H_PUT_TERM_CHAR, 0, 3, int.from_bytes(b"ok\n".ljust(8, b"\0"), "big"), 0)
    assert capsys.readouterr().out == "ok\n"


def test_console_bytes_survive_as_latin1():
    backend = HostBackend(io.StringIO())
    backend.put_term_char(0, bytes([0x41, 0xE9, 0xFF]))
    assert backend.console_output.getvalue().encode("latin-1") == bytes([0x41, 0xE9, 0xFF])


def test_memory_error_is_a_guest_fault_type():
    assert issubclass(GuestMemoryError, Exception)
    assert not issubclass(GuestMemoryError, (TypeError, ValueError))
