"""QEMU's spapr-vscsi adapter in QemuBackend, driven as SLOF's vio-vscsi.fs drives it: hcalls
(H_REG_CRQ, H_SEND_CRQ, H_PUT_TCE, RTAS ibm,set-tce-bypass) and guest memory only.

The SCSI answers are compared with real QEMU 7.2's, captured through real SLOF's driver
(tests/data/vscsi/)."""
import io
import re
from pathlib import Path

import pytest

from slofpy.host.qemu import QemuBackend
from slofpy.host.scsi_devices import ScsiDeviceSpec
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32

from conftest import REFERENCE_SEEDS

DATA = Path(__file__).parent / "data" / "vscsi"
VSCSI = 0x71000002
VTY = 0x71000000
RTAS_BLOCK = 0x3000
QUEUE = 0x10000
QUEUE_SIZE = 0x1000
IU = 0x20000
BUFFER = 0x30000
BUFFER_SIZE = 0x10000
CDROM_LUN = 0x8200_0000_0000_0000
MEMORY_SIZE = 1 << 20


def rtas_token(service: str) -> int:
    text = (REFERENCE_SEEDS / "default.seed.dts").read_text()
    found = re.search(rf"^\t\t{re.escape(service)} = <(0x[0-9a-f]+)>;", text, re.M)
    assert found
    return int(found.group(1), 16)


class Guest:
    """A minimal v-scsi driver: what SLOF's vio-vscsi.fs does, in Python."""

    def __init__(self, scsi_devices=None, bypass=True, register=True):
        self.memory = BufferGuestMemory(bytearray(MEMORY_SIZE))
        self.backend = QemuBackend(console_output=io.StringIO())
        if scsi_devices is not None:
            self.backend.scsi_devices = scsi_devices
        self.hv = Hypervisor(self.memory, self.backend)
        self.hv.reset((REFERENCE_SEEDS / "default.seed.dtb").read_bytes())
        self.slot = 0
        self.target = CDROM_LUN
        if bypass:
            assert self.rtas("ibm,set-tce-bypass", VSCSI, 1) == [0]
        if register:
            assert self.hv.hcall(hc.H_REG_CRQ, VSCSI, QUEUE, QUEUE_SIZE)[0] == hc.H_SUCCESS

    def rtas(self, service, *args, nret=1):
        cells = [rtas_token(service), len(args), nret, *args] + [0xDEADBEEF] * nret
        self.memory.write(RTAS_BLOCK, b"".join(c.to_bytes(4, "big") for c in cells))
        assert self.hv.hcall(hc.KVMPPC_H_RTAS, RTAS_BLOCK)[0] == hc.H_SUCCESS
        rets = RTAS_BLOCK + 12 + 4 * len(args)
        values = [read_u32(self.memory, rets + 4 * i) for i in range(nret)]
        return [v - (1 << 32) if v & 0x8000_0000 else v for v in values]

    def send(self, message: bytes) -> int:
        return self.hv.hcall(hc.H_SEND_CRQ, VSCSI, int.from_bytes(message[:8], "big"),
                             int.from_bytes(message[8:16], "big"))[0]

    def poll(self):
        """The next CRQ entry, consumed as crq-poll does it; None if there is none."""
        address = QUEUE + self.slot
        entry = self.memory.read(address, 16)
        if not entry[0] & 0x80:
            return None
        self.memory.write(address, b"\0")
        self.slot = (self.slot + 16) % QUEUE_SIZE
        return entry

    def init(self):
        assert self.send(bytes([0xC0, 0x01]) + bytes(14)) == hc.H_SUCCESS
        return self.poll()

    def send_iu(self, iu: bytes, address=IU, fmt=0x01):
        self.memory.write(address, iu)
        message = bytes([0x80, fmt, 0, 0, 0, 0]) + len(iu).to_bytes(2, "big") + \
            address.to_bytes(8, "big")
        assert self.send(message) == hc.H_SUCCESS
        return self.poll()

    def command(self, cdb: bytes, length=0, read=True, tag=1, lun=None, va=BUFFER,
                sol_not=0):
        """An SRP_CMD as srp-prep-cmd-read/-write builds it; returns the parsed SRP_RSP."""
        iu = bytearray(0x30)
        iu[0] = 0x02
        iu[1] = sol_not
        iu[8:16] = tag.to_bytes(8, "big")
        iu[20:28] = (self.target if lun is None else lun).to_bytes(8, "big")
        iu[32:32 + len(cdb)] = cdb
        if length:
            iu[5] = 0x01 if read else 0x10
            iu[7 if read else 6] = 1
            iu += va.to_bytes(8, "big") + bytes(4) + length.to_bytes(4, "big")
        entry = self.send_iu(bytes(iu))
        assert entry is not None, "no CRQ answer"
        return parse_response(entry, self.memory.read(IU, 0x100))


def parse_response(entry: bytes, iu: bytes) -> dict:
    sense_len = int.from_bytes(iu[28:32], "big")
    return {
        "crq": entry,
        "opcode": iu[0],
        "sol_not": iu[1],
        "req_lim_delta": int.from_bytes(iu[4:8], "big"),
        "tag": int.from_bytes(iu[8:16], "big"),
        "flags": iu[18],
        "status": iu[19],
        "res_out": int.from_bytes(iu[20:24], "big"),
        "res_in": int.from_bytes(iu[24:28], "big"),
        "sense": bytes(iu[36:36 + sense_len]) if iu[18] & 0x02 else b"",
    }


# --- the captured sessions -----------------------------------------------------------------

def parse_capture(path: Path):
    """[(srplun, cdb, length, read, (status, sense, data) or None)] from a transcript."""
    steps = []
    target = None
    blocks = path.read_text(encoding="latin-1").split("\n> ")
    for block in blocks:
        line, _, answer = block.removeprefix("> ").partition("\n")
        words = line.split()
        if words[-1:] == ["tgt"]:
            target = int(words[0], 16) << 32
            continue
        if "cmd" not in words or words[0] == ":":
            continue
        cdb = bytearray(16)
        stack: list[int] = []
        dump = None
        for word in words:
            if word == "c0":
                cdb = bytearray(16)
            elif word in ("cdb", "buf"):
                stack.append(0)
            elif word == "+":
                stack.append(stack.pop() + stack.pop())
            elif word == "c!":
                at = stack.pop()
                cdb[at] = stack.pop()
            elif word == "l!":
                at = stack.pop()
                cdb[at:at + 4] = stack.pop().to_bytes(4, "big")
            elif word == "cmd":
                cdb_length, read, length = stack.pop(), stack.pop(), stack.pop()
                cdb = cdb[:cdb_length]
            elif word == "dump":
                dump = stack.pop()
                stack.pop()
            elif word == "res":
                pass
            else:
                stack.append(int(word, 16))
        status = int(answer.split()[0], 16)
        dumped = bytes.fromhex("".join(
            " ".join(re.findall(r"\b[0-9a-f]{2}\b", text[9:9 + 48]))
            for text in answer.splitlines() if re.match(r"[0-9a-f]{8}:", text)))
        sense = b""
        if status:
            sense_length = int(answer.split()[1], 16)
            sense, dumped = dumped[:sense_length], dumped[sense_length:]
        assert dump is None or len(dumped) == dump
        steps.append((target, bytes(cdb), length, bool(read), status, sense,
                      dumped if dump is not None else None))
    return steps


@pytest.mark.parametrize("capture", ["default-cdrom-1.txt", "default-cdrom-2.txt"])
def test_answers_match_real_qemu(capture):
    guest = Guest()
    assert guest.init()[:2] == b"\xc0\x02"
    # real SLOF had already tried the drive: its power-on unit attention was gone
    first = guest.command(bytes(6))
    assert (first["status"], first["sense"][12:14]) == (2, b"\x29\x00")
    steps = parse_capture(DATA / capture)
    assert len(steps) > 15
    for target, cdb, length, read, status, sense, data in steps:
        guest.target = target
        guest.memory.write(BUFFER, b"\xff" * 0x200)
        answer = guest.command(cdb, length, read)
        where = f"{cdb.hex()} to {target:016x}"
        assert answer["status"] == status, where
        assert answer["sense"] == sense, where
        if data is not None:
            assert guest.memory.read(BUFFER, len(data)) == data, where


# --- the CRQ --------------------------------------------------------------------------------

def test_init_is_answered_with_init_complete_in_the_queue():
    guest = Guest()
    assert guest.memory.read(QUEUE, 16) == bytes(16)
    assert guest.init() == bytes([0xC0, 0x02]) + bytes(14)
    assert guest.poll() is None
    # only an init request (format 1) is answered; init complete and events are not
    assert guest.send(bytes([0xC0, 0x02]) + bytes(14)) == hc.H_SUCCESS
    assert guest.send(bytes([0xFF, 0x01]) + bytes(14)) == hc.H_SUCCESS
    assert guest.poll() is None


def test_entries_fill_the_queue_in_order_and_wrap():
    guest = Guest()
    for _ in range(QUEUE_SIZE // 16):
        assert guest.send(bytes([0xC0, 0x01]) + bytes(14)) == hc.H_SUCCESS
    assert all(guest.memory.read(QUEUE + at, 2) == b"\xc0\x02"
               for at in range(0, QUEUE_SIZE, 16))
    # the queue is full: a new entry does not overwrite the slot the guest has not consumed
    guest.memory.write(QUEUE + 16, bytes(16))
    guest.send(bytes([0xC0, 0x01]) + bytes(14))
    assert guest.memory.read(QUEUE + 16, 16) == bytes(16)
    guest.memory.write(QUEUE, bytes(16))
    guest.send(bytes([0xC0, 0x01]) + bytes(14))
    assert guest.memory.read(QUEUE, 2) == b"\xc0\x02"
    assert guest.memory.read(QUEUE + 16, 16) == bytes(16)


def test_no_answer_without_a_registered_queue_and_after_quiesce():
    guest = Guest(register=False)
    assert guest.send(bytes([0xC0, 0x01]) + bytes(14)) == hc.H_SUCCESS
    assert guest.memory.read(QUEUE, 16) == bytes(16)
    assert guest.hv.hcall(hc.H_REG_CRQ, VSCSI, QUEUE, QUEUE_SIZE)[0] == hc.H_SUCCESS
    assert guest.init() is not None
    assert guest.rtas("quiesce") == [0]
    guest.send(bytes([0xC0, 0x01]) + bytes(14))
    assert guest.poll() is None


# --- DMA: bypass and TCEs -------------------------------------------------------------------

def test_without_bypass_or_tces_nothing_reaches_guest_memory():
    guest = Guest(bypass=False)
    # the queue address is a bus address too: no TCE, no entry
    assert guest.send(bytes([0xC0, 0x01]) + bytes(14)) == hc.H_SUCCESS
    assert guest.memory.read(QUEUE, 16) == bytes(16)


def test_dma_through_the_tce_table():
    guest = Guest(bypass=False, register=False)
    # bus page 0 -> the real queue page; bus page 1 -> the real IU page; page 2 -> buffer
    mapping = {0x0000: (QUEUE, 3), 0x1000: (IU, 3), 0x2000: (BUFFER, 3)}
    for bus, (real, permission) in mapping.items():
        assert guest.hv.hcall(hc.H_PUT_TCE, VSCSI, bus, real | permission)[0] == hc.H_SUCCESS
    assert guest.hv.hcall(hc.H_REG_CRQ, VSCSI, 0x0000, QUEUE_SIZE)[0] == hc.H_SUCCESS
    assert guest.init()[:2] == b"\xc0\x02"
    iu = bytearray(0x40)
    iu[0] = 0x02
    iu[5], iu[7] = 0x01, 1
    iu[8:16] = (7).to_bytes(8, "big")
    iu[20:28] = CDROM_LUN.to_bytes(8, "big")
    iu[32:38] = bytes([0x12, 0, 0, 0, 36, 0])
    iu[48:64] = (0x2000).to_bytes(8, "big") + bytes(4) + (36).to_bytes(4, "big")
    guest.memory.write(IU, bytes(iu))
    message = bytes([0x80, 0x01, 0, 0, 0, 0, 0, 0x40]) + (0x1000).to_bytes(8, "big")
    assert guest.send(message) == hc.H_SUCCESS
    entry = guest.poll()
    assert entry[:8] == bytes([0x80, 0x01, 0, 0, 0, 0, 0, 36])
    assert entry[8:] == (7).to_bytes(8, "big")
    assert guest.memory.read(BUFFER + 16, 11) == b"QEMU CD-ROM"
    assert guest.memory.read(IU, 1) == b"\xc1"


def test_a_read_only_tce_refuses_the_device_writes():
    guest = Guest(bypass=False, register=False)
    guest.hv.hcall(hc.H_PUT_TCE, VSCSI, 0x0000, QUEUE | 3)
    guest.hv.hcall(hc.H_PUT_TCE, VSCSI, 0x1000, IU | 3)
    guest.hv.hcall(hc.H_PUT_TCE, VSCSI, 0x2000, BUFFER | 1)   # device may only read it
    guest.hv.hcall(hc.H_REG_CRQ, VSCSI, 0x0000, QUEUE_SIZE)
    guest.init()
    guest.memory.write(BUFFER, b"\xff" * 36)
    answer = guest_command_at(guest, bytes([0x12, 0, 0, 0, 36, 0]), 36, va=0x2000)
    assert answer["status"] == 2
    assert answer["sense"][0] == 0xF0 and answer["sense"][2] == 0x04   # HARDWARE ERROR
    assert guest.memory.read(BUFFER, 36) == b"\xff" * 36


def guest_command_at(guest, cdb, length, va):
    iu = bytearray(0x40)
    iu[0] = 0x02
    iu[5], iu[7] = 0x01, 1
    iu[8:16] = (1).to_bytes(8, "big")
    iu[20:28] = CDROM_LUN.to_bytes(8, "big")
    iu[32:32 + len(cdb)] = cdb
    iu[48:64] = va.to_bytes(8, "big") + bytes(4) + length.to_bytes(4, "big")
    guest.memory.write(IU, bytes(iu))
    message = bytes([0x80, 0x01, 0, 0, 0, 0, 0, 0x40]) + (0x1000).to_bytes(8, "big")
    guest.send(message)
    entry = guest.poll()
    return parse_response(entry, guest.memory.read(IU, 0x100))


@pytest.mark.parametrize("args,status", [
    ((VSCSI, 1, 0), -3),        # three arguments
    ((0x71000099, 1), -3),      # no such unit
    ((VTY, 1), -3),             # a vty has no DMA window
])
def test_set_tce_bypass_refusals(args, status):
    guest = Guest(bypass=False, register=False)
    assert guest.rtas("ibm,set-tce-bypass", *args) == [status]


def test_bypass_off_again_needs_tces():
    guest = Guest()
    assert guest.init() is not None
    assert guest.rtas("ibm,set-tce-bypass", VSCSI, 0) == [0]
    guest.send(bytes([0xC0, 0x01]) + bytes(14))
    assert guest.poll() is None


# --- SRP ------------------------------------------------------------------------------------

def test_login():
    guest = Guest()
    guest.init()
    iu = bytearray(0x40)
    iu[0] = 0x00
    iu[8:16] = (0x1234).to_bytes(8, "big")
    entry = guest.send_iu(bytes(iu))
    assert entry[:8] == bytes([0x80, 0x01, 0, 0, 0, 0, 0, 52])
    assert entry[8:] == (0x1234).to_bytes(8, "big")
    response = guest.memory.read(IU, 52)
    assert response[0] == 0xC0
    assert int.from_bytes(response[4:8], "big") == 22
    assert int.from_bytes(response[16:20], "big") == 256
    assert int.from_bytes(response[20:24], "big") == 256
    assert response[24:26] == b"\x00\x06"


def test_response_fields_and_overflow_residual():
    guest = Guest()
    guest.init()
    guest.command(bytes(6))   # the unit attention
    answer = guest.command(bytes([0x12, 0, 0, 0, 36, 0]), 16, tag=0xABCD, sol_not=0x02)
    assert answer["crq"][:8] == bytes([0x80, 0x01, 0, 0, 0, 0, 0, 36])
    assert answer["crq"][8:] == (0xABCD).to_bytes(8, "big")
    assert (answer["opcode"], answer["tag"], answer["req_lim_delta"]) == (0xC1, 0xABCD, 1)
    assert (answer["status"], answer["res_in"], answer["flags"]) == (0, 20, 0x10)
    assert answer["sol_not"] == 1
    answer = guest.command(bytes(6), sol_not=0x04)
    assert (answer["status"], answer["sol_not"], answer["flags"]) == (2, 1, 0x02)
    assert answer["crq"][7] == 36 + 18


def test_first_command_after_reset_reports_the_unit_attention_once():
    guest = Guest()
    guest.init()
    inquiry = guest.command(bytes([0x12, 0, 0, 0, 36, 0]), 36)
    assert inquiry["status"] == 0                      # INQUIRY does not see it
    first = guest.command(bytes(6))
    assert first["sense"] == bytes.fromhex("700006000000000a00000000290000000000")
    second = guest.command(bytes(6))
    assert second["sense"][2] == 0x02 and second["sense"][12] == 0x3A


def test_an_iu_over_256_bytes_is_dropped():
    guest = Guest()
    guest.init()
    iu = bytearray(0x101)
    iu[0] = 0x02
    assert guest.send_iu(bytes(iu)) is None


def test_indirect_descriptors_split_the_data():
    guest = Guest()
    guest.init()
    iu = bytearray(0x30)
    iu[0] = 0x02
    iu[5], iu[7] = 0x02, 2
    iu[8:16] = (1).to_bytes(8, "big")
    iu[20:28] = CDROM_LUN.to_bytes(8, "big")
    iu[32:38] = bytes([0x12, 0, 0, 0, 36, 0])
    table = (0x40000).to_bytes(8, "big") + bytes(4) + (32).to_bytes(4, "big")
    first = BUFFER.to_bytes(8, "big") + bytes(4) + (10).to_bytes(4, "big")
    second = (BUFFER + 0x100).to_bytes(8, "big") + bytes(4) + (100).to_bytes(4, "big")
    iu += table + (110).to_bytes(4, "big") + first + second
    entry = guest.send_iu(bytes(iu))
    assert entry is not None
    assert guest.memory.read(BUFFER, 10) == bytes.fromhex("05800512 1f000012 5145")
    assert guest.memory.read(BUFFER + 0x100, 26) == b"MU    QEMU CD-ROM     2.5+"


def test_no_device_at_the_address():
    guest = Guest()
    guest.init()
    guest.target = 0x8000_0000_0000_0000
    answer = guest.command(bytes([0x00] * 6))
    assert answer["sense"] == bytes.fromhex("f00005000000000a00000000240000000000")
    answer = guest.command(bytes([0x12, 0, 0, 0, 0xFF, 0]), 0x100)
    assert (answer["status"], answer["res_in"], answer["flags"]) == (0, 0, 0)
    assert guest.memory.read(BUFFER + 16, 16) == b"QEMU EMPTY      "


# --- devices from the list ------------------------------------------------------------------

def test_a_disk_with_an_image(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(range(256)) * 8 + b"\xaa" * 512 * 12)   # 16 blocks
    guest = Guest(scsi_devices=(ScsiDeviceSpec("hd", scsi_id=0, image=str(image),
                                               drive_name="d2"),))
    guest.init()
    guest.target = 0x8000_0000_0000_0000
    inquiry = guest.command(bytes([0x12, 0, 0, 0, 36, 0]), 36)
    assert inquiry["status"] == 0
    assert guest.memory.read(BUFFER, 2) == b"\x00\x00"
    assert guest.memory.read(BUFFER + 16, 16) == b"QEMU HARDDISK   "
    guest.command(bytes(6))
    capacity = guest.command(bytes([0x25] + [0] * 9), 8)
    assert capacity["status"] == 0
    assert guest.memory.read(BUFFER, 8) == (15).to_bytes(4, "big") + (512).to_bytes(4, "big")
    read = guest.command(bytes([0x28, 0, 0, 0, 0, 1, 0, 0, 2, 0]), 1024)
    assert read["status"] == 0
    assert guest.memory.read(BUFFER, 1024) == (bytes(range(256)) * 4)
    guest.memory.write(BUFFER, b"\x55" * 512)
    write = guest.command(bytes([0x2A, 0, 0, 0, 0, 5, 0, 0, 1, 0]), 512, read=False)
    assert (write["status"], write["res_out"]) == (0, 0)
    read = guest.command(bytes([0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0]), 512)
    assert guest.memory.read(BUFFER, 512) == b"\x55" * 512
    beyond = guest.command(bytes([0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0]), 512)
    assert beyond["sense"][2] == 0x05 and beyond["sense"][12] == 0x21
    luns = guest.command(bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]), 0x200, lun=0)
    assert guest.memory.read(BUFFER, 16) == bytes.fromhex("00000008 00000000 0000000000000000")


def test_two_luns_on_one_target(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(512 * 4))
    guest = Guest(scsi_devices=(ScsiDeviceSpec("cd", scsi_id=3),
                                ScsiDeviceSpec("hd", scsi_id=3, lun=1, image=str(image))))
    guest.init()
    guest.target = 0x8300_0000_0000_0000
    guest.command(bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]), 0x200)
    assert guest.memory.read(BUFFER, 24) == bytes.fromhex(
        "00000010 00000000 0000000000000000 0001000000000000")
    guest.target = 0x8301_0000_0000_0000
    guest.command(bytes([0x12, 0, 0, 0, 36, 0]), 36)
    assert guest.memory.read(BUFFER + 16, 13) == b"QEMU HARDDISK"
    # the adapter's own list (LUN 0): no device at id 0, so an empty LUN 0 entry first
    guest.command(bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]), 0x200, lun=0)
    assert guest.memory.read(BUFFER, 32) == bytes.fromhex(
        "00000018 00000000 0000000000000000 8301000000000000 8300000000000000")


def test_an_unreadable_image_is_one_clear_error(tmp_path):
    from slofpy.host.scsi_devices import ScsiImageError
    backend = QemuBackend(console_output=io.StringIO())
    backend.scsi_devices = (ScsiDeviceSpec("hd", image=str(tmp_path / "missing.img")),)
    with pytest.raises(ScsiImageError, match=r"^SCSI hd image .*missing\.img: No such file"):
        backend.reset((REFERENCE_SEEDS / "default.seed.dtb").read_bytes())
