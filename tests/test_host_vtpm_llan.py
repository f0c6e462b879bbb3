"""QEMU's tpm-spapr (slofpy.host.vtpm) and spapr-vlan (slofpy.host.llan) devices in
QemuBackend on the "vio" seed, driven through hcalls and guest memory only, as SLOF's
libtpm and libveth drive them: the CRQ protocol of the vTPM (init, buffer size, version,
a TPM command through the data buffer, DMA failures) and the logical-LAN hcalls (QEMU's
checks, the buffer list it writes, frames that go out to an empty wire)."""
import io
import re
import struct
from pathlib import Path

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32
from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor

SEEDS = Path(__file__).parent / "data" / "seeds"
VTPM = 0x71000006
LLAN = 0x71000004
VTY = 0x71000000
RTAS_BLOCK = 0x3000
QUEUE = 0x10000
BUFFER = 0x20000
MEMORY_SIZE = 1 << 20


def rtas_token(service: str) -> int:
    text = (SEEDS / "vio.seed.dts").read_text()
    found = re.search(rf"^\t\t{re.escape(service)} = <(0x[0-9a-f]+)>;", text, re.M)
    assert found
    return int(found.group(1), 16)


class Guest:
    def __init__(self, bypass: bool = True):
        self.memory = BufferGuestMemory(bytearray(MEMORY_SIZE))
        self.backend = QemuBackend(console_output=io.StringIO())
        self.hv = Hypervisor(self.memory, self.backend)
        self.hv.reset((SEEDS / "vio.seed.dtb").read_bytes())
        if bypass:
            for unit in (VTPM, LLAN):
                assert self.rtas("ibm,set-tce-bypass", unit, 1) == [0]

    def rtas(self, service, *args, nret=1):
        cells = [rtas_token(service), len(args), nret, *args] + [0xDEADBEEF] * nret
        self.memory.write(RTAS_BLOCK, b"".join(c.to_bytes(4, "big") for c in cells))
        assert self.hv.hcall(hc.KVMPPC_H_RTAS, RTAS_BLOCK)[0] == hc.H_SUCCESS
        rets = RTAS_BLOCK + 12 + 4 * len(args)
        return [read_u32(self.memory, rets + 4 * i) for i in range(nret)]

    def send(self, unit: int, message: bytes) -> int:
        return self.hv.hcall(hc.H_SEND_CRQ, unit, int.from_bytes(message[:8], "big"),
                             int.from_bytes(message[8:], "big"))[0]

    def entry(self, slot: int) -> bytes:
        return self.memory.read(QUEUE + 16 * slot, 16)


def crq(valid: int, message: int, length: int = 0, data: int = 0) -> bytes:
    return struct.pack(">BBHI8x", valid, message, length, data)


# ------------------------------------------------------------------ the vTPM
def test_vtpm_crq_init_buffer_size_and_version():
    g = Guest()
    assert g.hv.hcall(hc.H_REG_CRQ, VTPM, QUEUE, 0x1000)[0] == hc.H_SUCCESS
    assert g.send(VTPM, crq(0xC0, 0x01)) == hc.H_SUCCESS
    assert g.entry(0) == crq(0xC0, 0x01)
    assert g.send(VTPM, crq(0x80, 0x03)) == hc.H_SUCCESS
    assert g.entry(1) == crq(0x80, 0x83, length=4096)
    assert g.send(VTPM, crq(0x80, 0x01)) == hc.H_SUCCESS
    assert g.entry(2) == crq(0x80, 0x81, data=2)
    assert g.send(VTPM, crq(0x80, 0x77)) == hc.H_SUCCESS          # unknown: no answer
    assert g.entry(3) == bytes(16)


def test_vtpm_carries_a_tpm_command_through_the_buffer():
    g = Guest()
    g.hv.hcall(hc.H_REG_CRQ, VTPM, QUEUE, 0x1000)
    startup = bytes.fromhex("80010000000c000001440000")
    g.memory.write(BUFFER, startup)
    message = crq(0x80, 0x02, len(startup), BUFFER)[:8] + b"RESERVED"
    assert g.send(VTPM, message) == hc.H_SUCCESS
    assert g.entry(0) == crq(0x80, 0x82, 10, BUFFER)[:8] + b"RESERVED"
    assert g.memory.read(BUFFER, 12) == bytes.fromhex("80010000000a00000000") + startup[10:]
    assert g.backend.vio.units[VTPM].vtpm.tpm.started


def test_vtpm_command_whose_buffer_it_cannot_read_is_an_error_entry():
    g = Guest(bypass=False)             # no TCE entries: the device can reach nothing
    g.hv.hcall(hc.H_REG_CRQ, VTPM, QUEUE, 0x1000)
    g.send(VTPM, crq(0x80, 0x02, 12, BUFFER))
    assert g.entry(0) == bytes(16)      # nor can it write the queue
    g.rtas("ibm,set-tce-bypass", VTPM, 1)
    g.send(VTPM, crq(0x80, 0x02, 12, MEMORY_SIZE - 16))   # buffer runs past memory
    assert g.entry(0) == crq(0x80, 0xFF, 0, 3)
    assert not g.backend.vio.units[VTPM].vtpm.tpm.started


# ------------------------------------------------------------------ the l-lan
LISTS = 0x40000
RXQ = 0x42000
FRAME = 0x43000


def bd(address: int, length: int) -> int:
    return (0x80000000 | length) << 32 | address


def lan(g: Guest, number: int, *args: int) -> int:
    return g.hv.hcall(number, LLAN, *args)[0]


def test_llan_register_checks_and_writes_the_buffer_list():
    g = Guest()
    g.memory.write(LISTS, b"\xaa" * 0x2000)
    g.memory.write(RXQ, b"\xbb" * 0x1000)
    assert lan(g, hc.H_REGISTER_LOGICAL_LAN, LISTS + 8, bd(RXQ, 0x1000), LISTS + 0x1000,
               0x525400123456) == hc.H_PARAMETER                  # list not page-aligned
    assert lan(g, hc.H_REGISTER_LOGICAL_LAN, LISTS, RXQ | 0x1000 << 32, LISTS + 0x1000,
               0x525400123456) == hc.H_PARAMETER                  # queue not valid
    assert lan(g, hc.H_ADD_LOGICAL_LAN_BUFFER, bd(FRAME, 2048)) == hc.H_RESOURCE
    assert lan(g, hc.H_REGISTER_LOGICAL_LAN, LISTS, bd(RXQ, 0x1000) | 1 << 62,
               LISTS + 0x1000, 0x525400123456) == hc.H_SUCCESS
    assert g.memory.read(LISTS, 16) == struct.pack(">QQ", bd(RXQ, 0x1000),
                                                   bd(LISTS + 0x1000, 0x1000))
    assert g.memory.read(LISTS + 16, 0x1000 - 16) == bytes(0x1000 - 16)
    assert g.memory.read(RXQ, 0x1000) == bytes(0x1000)
    assert lan(g, hc.H_REGISTER_LOGICAL_LAN, LISTS, bd(RXQ, 0x1000), LISTS + 0x1000,
               0) == hc.H_RESOURCE
    assert lan(g, hc.H_ADD_LOGICAL_LAN_BUFFER, bd(FRAME, 8)) == hc.H_PARAMETER
    assert lan(g, hc.H_ADD_LOGICAL_LAN_BUFFER, bd(FRAME, 2048)) == hc.H_SUCCESS
    assert g.backend.vio.units[LLAN].llan.rx_buffers == [bd(FRAME, 2048)]


def test_llan_sends_frames_to_the_wire_and_frees():
    g = Guest()
    assert lan(g, hc.H_SEND_LOGICAL_LAN, bd(FRAME, 60), 0, 0, 0, 0, 0, 0) == hc.H_DROPPED
    lan(g, hc.H_REGISTER_LOGICAL_LAN, LISTS, bd(RXQ, 0x1000), LISTS + 0x1000, 0)
    g.memory.write(FRAME, bytes(range(60)))
    assert lan(g, hc.H_SEND_LOGICAL_LAN, bd(FRAME, 40), bd(FRAME + 40, 20), 0, 0, 0, 0,
               0) == hc.H_SUCCESS
    assert lan(g, hc.H_SEND_LOGICAL_LAN, bd(FRAME, 40), 0, 0, 0, 0, 0, 7) == hc.H_HARDWARE
    assert lan(g, hc.H_SEND_LOGICAL_LAN, bd(MEMORY_SIZE - 8, 40), 0, 0, 0, 0, 0,
               0) == hc.H_PARAMETER
    assert g.backend.vio.units[LLAN].llan.sent == [bytes(range(60))]
    assert lan(g, hc.H_FREE_LOGICAL_LAN) == hc.H_SUCCESS
    assert lan(g, hc.H_FREE_LOGICAL_LAN) == hc.H_RESOURCE


def test_llan_hcalls_on_a_unit_that_is_no_llan():
    g = Guest()
    assert g.hv.hcall(hc.H_FREE_LOGICAL_LAN, VTY)[0] == hc.H_PARAMETER
    assert g.hv.hcall(hc.H_REGISTER_LOGICAL_LAN, 0x7100FFFF, LISTS, 0, 0, 0)[0] == \
        hc.H_PARAMETER
