"""Guest memory (bounds, sharing, real-address mask) and the hcall number tables."""
import pytest

from slofpy.abi import hcalls as numbers
from slofpy.abi.guest_memory import (
    BufferGuestMemory,
    GuestMemory,
    GuestMemoryError,
    read_u32,
    real_address,
    write_u32,
)


def test_memory_shares_the_bytearray():
    buffer = bytearray(64)
    memory = BufferGuestMemory(buffer)
    memory.write(8, b"\x01\x02\x03")
    assert buffer[8:11] == b"\x01\x02\x03"
    buffer[20] = 0x7F
    assert memory.read(20, 1) == b"\x7f"
    assert memory.size == 64
    assert isinstance(memory, GuestMemory)


def test_memory_is_big_endian_for_cells():
    memory = BufferGuestMemory(bytearray(16))
    write_u32(memory, 4, 0x11223344)
    assert memory.read(4, 4) == b"\x11\x22\x33\x44"
    assert read_u32(memory, 4) == 0x11223344
    write_u32(memory, 8, -3)
    assert read_u32(memory, 8) == 0xFFFFFFFD


@pytest.mark.parametrize("addr,length", [(60, 5), (64, 1), (-1, 2), (0, 65), (1 << 62, 1)])
def test_out_of_range_access_raises_and_changes_nothing(addr, length):
    buffer = bytearray(64)
    memory = BufferGuestMemory(buffer)
    with pytest.raises(GuestMemoryError):
        memory.read(addr, length)
    with pytest.raises(GuestMemoryError):
        memory.write(addr, b"\xff" * max(length, 0))
    assert buffer == bytearray(64)


def test_edge_accesses_are_allowed():
    memory = BufferGuestMemory(bytearray(64))
    memory.write(60, b"abcd")
    assert memory.read(60, 4) == b"abcd"
    assert memory.read(64, 0) == b""


def test_memory_wants_a_bytearray():
    with pytest.raises(TypeError):
        BufferGuestMemory(b"immutable")  # type: ignore[arg-type]


def test_real_address_clears_top_four_bits():
    assert real_address(0xC000_0000_0000_1000) == 0x1000
    assert real_address(0xF123_4567_89AB_CDEF) == 0x0123_4567_89AB_CDEF
    assert real_address(0x1000) == 0x1000


def test_hcall_numbers_match_papr_and_qemu():
    assert numbers.H_PUT_TCE == 0x20
    assert numbers.H_LOGICAL_CI_LOAD == 0x3C
    assert numbers.H_LOGICAL_CI_STORE == 0x40
    assert numbers.H_GET_TERM_CHAR == 0x54
    assert numbers.H_PUT_TERM_CHAR == 0x58
    assert numbers.H_REG_CRQ == 0xFC
    assert numbers.H_FREE_CRQ == 0x100
    assert numbers.H_SEND_CRQ == 0x108
    assert numbers.H_REGISTER_LOGICAL_LAN == 0x114
    assert numbers.KVMPPC_H_RTAS == 0xF000
    assert numbers.KVMPPC_H_LOGICAL_MEMOP == 0xF001
    assert numbers.KVMPPC_H_CAS == 0xF002
    assert numbers.KVMPPC_H_UPDATE_DT == 0xF003


def test_return_codes_and_names():
    assert (numbers.H_SUCCESS, numbers.H_HARDWARE, numbers.H_FUNCTION) == (0, -1, -2)
    assert (numbers.H_PRIVILEGE, numbers.H_PARAMETER) == (-3, -4)
    assert numbers.return_code_name(-4) == "H_PARAMETER"
    assert numbers.return_code_name(0) == "H_SUCCESS"
    assert numbers.return_code_name(-9005) == "H_MULTI_THREADS_ACTIVE"
    assert numbers.return_code_name(12345) == "rc 12345"
    assert numbers.hcall_name(0xF003) == "KVMPPC_H_UPDATE_DT"
    assert numbers.hcall_name(0x58) == "H_PUT_TERM_CHAR"
    assert numbers.hcall_name(0xF004) == "hcall 0xf004"
    # No hcall name leaks into the return-code table or the other way round.
    assert "H_PUT_TCE" not in numbers.RETURN_CODE_NAMES.values()
    assert "H_SUCCESS" not in numbers.HCALL_NAMES.values()
