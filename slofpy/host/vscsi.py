"""QEMU 7.2's spapr-vscsi adapter: SRP over a VIO CRQ, in front of the SCSI devices of its bus.

The guest talks to the adapter with H_SEND_CRQ; the adapter answers by DMA into guest memory
(through the unit's TCE window, or directly with bypass on) and by entries it places in the
guest's registered CRQ (`post`, which is H_SEND_CRQ's other direction: slofpy.host.vio).
Everything happens inside the H_SEND_CRQ call, as QEMU's synchronous emulation does it.

A 16-byte CRQ message is: valid (0xC0 init, 0x80 payload, 0xFF transport event), format,
reserved, status, timeout (BE16), IU length (BE16), IU address (BE64, a bus address).

* init (0xC0 0x01) is answered with init complete (0xC0 0x02); other init or transport
  messages get no answer;
* a payload of format 1 (SRP) or 2 (MAD) is fetched by DMA (at most 256 bytes, else it is
  dropped, as is a payload whose DMA fails); the response IU is written back by DMA over
  the request, and a CRQ entry (0x80, format, status 0 or 1 if that write failed, IU length,
  and the request's 8-byte tag in place of the address) is posted;
* SRP_LOGIN_REQ gets SRP_LOGIN_RSP (request limit 22, IU lengths 256, direct and indirect
  buffers); SRP_CMD goes to a device or is answered by the adapter; SRP_TSK_MGMT gets a
  response with its 4-byte response code; other SRP opcodes are ignored;
* MAD ADAPTER_INFO writes the adapter information to its buffer; other MAD types are
  answered "not supported" (0xF1), CAPABILITIES included (QEMU fills a capabilities
  structure; that one is not modelled here).

SRP_CMD: the 8-byte SRP LUN is decoded as QEMU does (simple, flat and logical-unit
addressing, with the nested form) to (channel, id, lun). REPORT LUNS to LUN 0 or the
REPORT LUNS well-known LUN lists every device of the bus; a command for an address no
device has gets, for INQUIRY, "no device here" data (PQ 3, "QEMU EMPTY"), else CHECK
CONDITION with ILLEGAL REQUEST / INVALID FIELD IN CDB. Data moves through the command's
direct or indirect descriptors; a DMA failure ends the command in CHECK CONDITION with
HARDWARE ERROR. The SRP_RSP carries status, residual counts (QEMU only reports overflow:
data the device had but the buffers could not take) and autosense for CHECK CONDITION.
"""
from __future__ import annotations

from collections.abc import Callable

from slofpy.host.scsi_disk import (
    CHECK_CONDITION,
    GOOD,
    INQUIRY,
    REPORT_LUNS,
    ScsiDevice,
)
from slofpy.host.tce import DmaError, DmaSpace

CRQ_INIT = 0xC0
CRQ_PAYLOAD = 0x80
CRQ_TRANSPORT_EVENT = 0xFF
CRQ_INIT_REQUEST = 0x01
CRQ_INIT_COMPLETE = 0x02

VIOSRP_SRP_FORMAT = 0x01
VIOSRP_MAD_FORMAT = 0x02
VIOSRP_OK = 0x00
VIOSRP_ADAPTER_FAIL = 0x10

SRP_LOGIN_REQ = 0x00
SRP_TSK_MGMT = 0x01
SRP_CMD = 0x02
SRP_LOGIN_RSP = 0xC0
SRP_RSP = 0xC1

SRP_MAX_IU_LEN = 256
VSCSI_REQ_LIMIT = 24
VSCSI_MAX_SECTORS = 4096
SRP_BUF_FORMAT_DIRECT = 0x2
SRP_BUF_FORMAT_INDIRECT = 0x4

SRP_NO_DATA_DESC = 0
SRP_DATA_DESC_DIRECT = 1
SRP_DATA_DESC_INDIRECT = 2

SRP_RSP_FLAG_RSPVALID = 0x01
SRP_RSP_FLAG_SNSVALID = 0x02
SRP_RSP_FLAG_DOOVER = 0x04
SRP_RSP_FLAG_DOUNDER = 0x08
SRP_RSP_FLAG_DIOVER = 0x10
SRP_RSP_FLAG_DIUNDER = 0x20

SRP_RSP_SIZE = 36
SRP_LOGIN_RSP_SIZE = 52
DESCRIPTOR_SIZE = 16
INDIRECT_HEADER_SIZE = 20
SRP_CMD_ADD_DATA = 48

REPORT_LUNS_WLUN = 0xC101_0000_0000_0000

SRP_TSK_ABORT_TASK = 0x01
SRP_TSK_ABORT_TASK_SET = 0x02
SRP_TSK_CLEAR_TASK_SET = 0x04
SRP_TSK_LUN_RESET = 0x08
SRP_TSK_CLEAR_ACA = 0x40
SRP_TSK_MGMT_COMPLETE = 0x00
SRP_TSK_MGMT_FIELDS_INVALID = 0x02
SRP_TSK_MGMT_NOT_SUPPORTED = 0x04

VIOSRP_EMPTY_IU_TYPE = 0x01
VIOSRP_ERROR_LOG_TYPE = 0x02
VIOSRP_ADAPTER_INFO_TYPE = 0x03
VIOSRP_HOST_CONFIG_TYPE = 0x04
VIOSRP_MAD_NOT_SUPPORTED = 0xF1
MAD_NOT_SUPPORTED_LENGTHS = {VIOSRP_EMPTY_IU_TYPE: 16, VIOSRP_ERROR_LOG_TYPE: 24,
                             VIOSRP_HOST_CONFIG_TYPE: 24}
"""Response lengths QEMU gives the MAD types it answers with "not supported"."""

HARDWARE_ERROR_SENSE = (0x4, 0x00, 0x00)
INVALID_FIELD_SENSE = (0x5, 0x24, 0x00)

PostCrq = Callable[[bytes], int]
"""Places one 16-byte entry in the guest's CRQ; returns 0, or non-zero if it could not."""


def made_up_sense(code: tuple[int, int, int]) -> bytes:
    """The 18 bytes of sense the adapter writes itself (valid bit set: 0xF0)."""
    key, asc, ascq = code
    sense = bytearray(18)
    sense[0] = 0xF0
    sense[2] = key
    sense[7] = 10
    sense[12] = asc
    sense[13] = ascq
    return bytes(sense)


def decode_srp_lun(srp_lun: int) -> tuple[int, int, int] | None:
    """(channel, id, lun) of an 8-byte SRP LUN as QEMU decodes it; None for extended ones."""
    channel = scsi_id = 0
    while True:
        method = srp_lun >> 62
        if method == 0:
            if srp_lun >> 56:
                channel = (srp_lun >> 56) & 0x3F
                scsi_id = (srp_lun >> 48) & 0xFF
                srp_lun = (srp_lun << 16) & 0xFFFF_FFFF_FFFF_FFFF
                continue
            return channel, scsi_id, (srp_lun >> 48) & 0xFF
        if method == 1:
            return channel, scsi_id, (srp_lun >> 48) & 0x3FFF
        if method == 2:
            return (srp_lun >> 53) & 0x7, (srp_lun >> 56) & 0x3F, (srp_lun >> 48) & 0x1F
        return None


class _Request:
    """One SRP_CMD in flight: its IU, and where its data descriptors stand."""

    def __init__(self, iu: bytearray, dma: DmaSpace, writing: bool):
        self.iu = iu
        self.dma = dma
        self.writing = writing
        cdb_offset = iu[31] & ~3
        buf_fmt = iu[5]
        if writing:
            self.fmt = buf_fmt >> 4
        else:
            cdb_offset += _data_out_descriptors_size(iu)
            self.fmt = buf_fmt & 0xF
        self.desc_at = SRP_CMD_ADD_DATA + cdb_offset
        self.local = self.total = 0
        if self.fmt == SRP_DATA_DESC_DIRECT:
            self.local = self.total = 1
        elif self.fmt == SRP_DATA_DESC_INDIRECT:
            table_len = _u32(iu, self.desc_at + 12)
            self.total = table_len // DESCRIPTOR_SIZE
            self.local = iu[6] if writing else iu[7]
        self.number = 0
        self.offset = 0

    def _descriptor(self, number: int) -> tuple[int, int] | None:
        """(bus address, length) still open in descriptor `number`; None past the last."""
        if self.fmt == SRP_DATA_DESC_DIRECT:
            raw = bytes(self.iu[self.desc_at:self.desc_at + DESCRIPTOR_SIZE])
        elif number < self.local:
            at = self.desc_at + INDIRECT_HEADER_SIZE + number * DESCRIPTOR_SIZE
            raw = bytes(self.iu[at:at + DESCRIPTOR_SIZE])
        elif number < self.total:
            table_va = _u64(self.iu, self.desc_at)
            table_len = _u32(self.iu, self.desc_at + 12)
            offset = number * DESCRIPTOR_SIZE
            if offset >= table_len:
                raise DmaError("descriptor past the indirect table")
            raw = self.dma.read(table_va + offset, DESCRIPTOR_SIZE)
        else:
            return None
        va, length = int.from_bytes(raw[:8], "big"), int.from_bytes(raw[12:16], "big")
        if self.offset > length:
            raise DmaError("transfer past the end of a descriptor")
        return va + self.offset, length - self.offset

    def transfer(self, data: bytes | None, length: int) -> tuple[int, bytes]:
        """Move up to `length` bytes: `data` into guest memory, or (data None) out of it.

        Returns (bytes moved, bytes read). Raises DmaError on a refused access."""
        if self.fmt not in (SRP_DATA_DESC_DIRECT, SRP_DATA_DESC_INDIRECT):
            return 0, b""
        moved = 0
        taken = bytearray()
        while length > 0:
            descriptor = self._descriptor(self.number)
            if descriptor is None or descriptor[1] == 0:
                break
            va, room = descriptor
            chunk = min(length, room)
            if data is None:
                taken += self.dma.read(va, chunk)
            else:
                self.dma.write(va, data[moved:moved + chunk])
            moved += chunk
            length -= chunk
            self.offset += chunk
            if self.fmt == SRP_DATA_DESC_DIRECT:
                break
            if chunk == room:
                self.number += 1
                self.offset = 0
        return moved, bytes(taken)


def _data_out_descriptors_size(iu: bytearray) -> int:
    fmt = iu[5] >> 4
    if fmt == SRP_DATA_DESC_DIRECT:
        return DESCRIPTOR_SIZE
    if fmt == SRP_DATA_DESC_INDIRECT:
        return INDIRECT_HEADER_SIZE + DESCRIPTOR_SIZE * iu[6]
    return 0


def _u32(buffer: bytes | bytearray, at: int) -> int:
    return int.from_bytes(buffer[at:at + 4], "big")


def _u64(buffer: bytes | bytearray, at: int) -> int:
    return int.from_bytes(buffer[at:at + 8], "big")


class VscsiAdapter:
    """One spapr-vscsi adapter and the SCSI devices on its bus (in the order they were
    created; QEMU lists its bus the other way round, newest first)."""

    def __init__(self, devices: list[ScsiDevice] | None = None):
        self.devices: list[ScsiDevice] = list(devices or [])
        self.dropped: list[str] = []
        for device in self.devices:
            device.target_luns = [other.lun for other in reversed(self.devices)
                                  if (other.channel, other.scsi_id) ==
                                  (device.channel, device.scsi_id)]

    def device_at(self, channel: int, scsi_id: int, lun: int) -> ScsiDevice | None:
        """The device at (channel, id, lun), else the newest at (channel, id), else None."""
        found = None
        for device in self.devices:
            if device.channel == channel and device.scsi_id == scsi_id:
                if device.lun == lun:
                    return device
                found = device
        return found

    # --- CRQ messages --------------------------------------------------------------------

    def receive(self, message: bytes, dma: DmaSpace, post: PostCrq) -> None:
        """Handle one H_SEND_CRQ message (QEMU answers H_SUCCESS whatever it holds)."""
        valid, fmt = message[0], message[1]
        if valid == CRQ_INIT:
            if fmt == CRQ_INIT_REQUEST:
                post(bytes([CRQ_INIT, CRQ_INIT_COMPLETE]) + bytes(14))
            return
        if valid != CRQ_PAYLOAD:
            if valid != CRQ_TRANSPORT_EVENT:
                self.dropped.append(f"unknown CRQ {valid:02x} {fmt:02x}")
            return
        if fmt not in (VIOSRP_SRP_FORMAT, VIOSRP_MAD_FORMAT):
            self.dropped.append(f"unsupported payload format {fmt:02x}")
            return
        length = int.from_bytes(message[6:8], "big")
        address = int.from_bytes(message[8:16], "big")
        if length > SRP_MAX_IU_LEN:
            self.dropped.append(f"SRP IU too long ({length} bytes)")
            return
        try:
            iu = bytearray(dma.read(address, length).ljust(SRP_MAX_IU_LEN, b"\0"))
        except DmaError:
            self.dropped.append("DMA read of the IU failed")
            return
        if fmt == VIOSRP_MAD_FORMAT:
            self._mad(iu, address, dma, post)
        else:
            self._srp(iu, address, dma, post)

    def _send_iu(self, iu: bytes, length: int, fmt: int, address: int, dma: DmaSpace,
                 post: PostCrq) -> None:
        """Write the response IU over the request and post its CRQ entry."""
        try:
            dma.write(address, bytes(iu[:length]))
            status = VIOSRP_OK
        except DmaError:
            status = VIOSRP_ADAPTER_FAIL
        entry = bytes([CRQ_PAYLOAD, fmt, 0, status, 0, 0]) + length.to_bytes(2, "big") + \
            bytes(iu[8:16])
        post(entry)

    # --- SRP -----------------------------------------------------------------------------

    def _srp(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq) -> None:
        opcode = iu[0]
        if opcode == SRP_LOGIN_REQ:
            response = bytearray(SRP_LOGIN_RSP_SIZE)
            response[0] = SRP_LOGIN_RSP
            response[4:8] = (VSCSI_REQ_LIMIT - 2).to_bytes(4, "big")
            response[8:16] = iu[8:16]
            response[16:20] = SRP_MAX_IU_LEN.to_bytes(4, "big")
            response[20:24] = SRP_MAX_IU_LEN.to_bytes(4, "big")
            response[24:26] = (SRP_BUF_FORMAT_DIRECT | SRP_BUF_FORMAT_INDIRECT).to_bytes(2, "big")
            self._send_iu(response, SRP_LOGIN_RSP_SIZE, VIOSRP_SRP_FORMAT, address, dma, post)
        elif opcode == SRP_TSK_MGMT:
            self._task_management(iu, address, dma, post)
        elif opcode == SRP_CMD:
            self._command(iu, address, dma, post)
        else:
            self.dropped.append(f"unsupported SRP opcode {opcode:02x}")

    def _send_rsp(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq,
                  status: int, sense: bytes = b"", res_in: int = 0, res_out: int = 0) -> None:
        """Build SRP_RSP for the command in `iu` and send it."""
        sol_not = iu[1]
        response = bytearray(SRP_RSP_SIZE)
        response[0] = SRP_RSP
        response[4:8] = (1).to_bytes(4, "big")
        response[8:16] = iu[8:16]
        flags = 0
        if res_in:
            flags |= SRP_RSP_FLAG_DIOVER
        if res_out:
            flags |= SRP_RSP_FLAG_DOOVER
        response[20:24] = res_out.to_bytes(4, "big")
        response[24:28] = res_in.to_bytes(4, "big")
        response[19] = status
        if status:
            response[1] = (sol_not & 0x04) >> 2
            if sense:
                flags |= SRP_RSP_FLAG_SNSVALID
                response[28:32] = len(sense).to_bytes(4, "big")
                response += sense
        else:
            response[1] = (sol_not & 0x02) >> 1
        response[18] = flags
        self._send_iu(response, len(response), VIOSRP_SRP_FORMAT, address, dma, post)

    def _command(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq) -> None:
        srp_lun = _u64(iu, 20)
        cdb = bytes(iu[32:48])
        opcode = cdb[0]
        if (srp_lun in (0, REPORT_LUNS_WLUN)) and opcode == REPORT_LUNS:
            self._data_in_reply(iu, address, dma, post, self._report_luns())
            return
        where = decode_srp_lun(srp_lun)
        device = self.device_at(*where) if where is not None else None
        if device is None:
            if opcode == INQUIRY:
                self._inquiry_no_target(iu, address, dma, post, cdb)
            else:
                self._send_rsp(iu, address, dma, post, CHECK_CONDITION,
                               made_up_sense(INVALID_FIELD_SENSE))
            return
        assert where is not None
        request = _Request(iu, dma, writing=False)
        write_state: dict[str, int] = {"asked": 0, "moved": 0}

        def fetch(length: int) -> bytes:
            nonlocal request
            request = _Request(iu, dma, writing=True)
            write_state["asked"] = length
            moved, taken = request.transfer(None, length)
            write_state["moved"] = moved
            return taken

        try:
            result = device.execute(where[2], cdb, fetch)
            moved = 0
            if result.data:
                moved, _ = request.transfer(result.data, len(result.data))
        except DmaError:
            self._send_rsp(iu, address, dma, post, CHECK_CONDITION,
                           made_up_sense(HARDWARE_ERROR_SENSE))
            return
        sense = b""
        if result.status == CHECK_CONDITION:
            sense = result.sense
            device.sense_reported()
        res_in = res_out = 0
        if result.status == GOOD:
            res_in = len(result.data) - moved
            res_out = write_state["asked"] - write_state["moved"]
        self._send_rsp(iu, address, dma, post, result.status, sense, res_in, res_out)

    def _data_in_reply(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq,
                       data: bytes, full_length: int | None = None) -> None:
        """Send `data` through the command's descriptors and answer GOOD (or HARDWARE
        ERROR if the DMA fails); the residual is measured against `full_length`."""
        try:
            moved, _ = _Request(iu, dma, writing=False).transfer(data, len(data))
        except DmaError:
            self._send_rsp(iu, address, dma, post, CHECK_CONDITION,
                           made_up_sense(HARDWARE_ERROR_SENSE))
            return
        total = len(data) if full_length is None else full_length
        self._send_rsp(iu, address, dma, post, GOOD, res_in=total - moved)

    def _report_luns(self) -> bytes:
        """The adapter's own REPORT LUNS list: every device of the bus."""
        entries = []
        if not any(d.channel == 0 and d.scsi_id == 0 and d.lun == 0 for d in self.devices):
            entries.append(bytes(8))
        for device in reversed(self.devices):
            first = (0 if device.scsi_id == 0 and device.channel == 0 else 0x80) | device.scsi_id
            entries.append(bytes([first & 0xFF, ((device.channel << 5) | device.lun) & 0xFF])
                           + bytes(6))
        body = b"".join(entries)
        return len(body).to_bytes(4, "big") + bytes(4) + body

    def _inquiry_no_target(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq,
                           cdb: bytes) -> None:
        if cdb[1] & 0x01 or cdb[2] != 0:
            self._send_rsp(iu, address, dma, post, CHECK_CONDITION,
                           made_up_sense(INVALID_FIELD_SENSE))
            return
        length = min(int.from_bytes(cdb[3:5], "big"), 36)
        data = bytearray(36)
        data[0] = 0x7F
        data[2] = 0x06
        data[3] = 0x02
        data[4] = 36 - 5
        data[7] = 0x10
        data[8:16] = b"QEMU    "
        data[16:32] = b"QEMU EMPTY      "
        self._data_in_reply(iu, address, dma, post, bytes(data[:length]), full_length=36)

    def _task_management(self, iu: bytearray, address: int, dma: DmaSpace,
                         post: PostCrq) -> None:
        function = iu[30]
        where = decode_srp_lun(_u64(iu, 20))
        device = self.device_at(*where) if where is not None else None
        if device is None:
            code = SRP_TSK_MGMT_FIELDS_INVALID
        elif function in (SRP_TSK_ABORT_TASK, SRP_TSK_ABORT_TASK_SET, SRP_TSK_CLEAR_TASK_SET,
                          SRP_TSK_LUN_RESET):
            if device.lun != where[2]:
                code = SRP_TSK_MGMT_FIELDS_INVALID
            else:
                if function == SRP_TSK_LUN_RESET:
                    device.reset()
                code = SRP_TSK_MGMT_COMPLETE
        elif function == SRP_TSK_CLEAR_ACA:
            code = SRP_TSK_MGMT_NOT_SUPPORTED
        else:
            code = SRP_TSK_MGMT_FIELDS_INVALID
        sol_not = iu[1]
        response = bytearray(SRP_RSP_SIZE + 4)
        response[0] = SRP_RSP
        response[4:8] = (1).to_bytes(4, "big")
        response[8:16] = iu[8:16]
        response[18] = SRP_RSP_FLAG_RSPVALID
        response[32:36] = (4).to_bytes(4, "big")
        response[1] = (sol_not & 0x04) >> 2 if code else (sol_not & 0x02) >> 1
        response[19] = GOOD
        response[SRP_RSP_SIZE + 3] = code
        self._send_iu(response, len(response), VIOSRP_SRP_FORMAT, address, dma, post)

    # --- MAD -----------------------------------------------------------------------------

    def _mad(self, iu: bytearray, address: int, dma: DmaSpace, post: PostCrq) -> None:
        mad_type = _u32(iu, 0)
        if mad_type == VIOSRP_ADAPTER_INFO_TYPE:
            info = bytearray(148)
            info[0:4] = b"16.a"
            info[8:12] = b"qemu"
            info[108:112] = (1).to_bytes(4, "big")
            info[112:116] = (2).to_bytes(4, "big")
            info[116:120] = (VSCSI_MAX_SECTORS << 9).to_bytes(4, "big")
            length = int.from_bytes(iu[6:8], "big")
            try:
                dma.write(_u64(iu, 16), bytes(info[:length]).ljust(length, b"\0"))
            except DmaError:
                pass  # QEMU's status stays 0 on little-endian hosts (a 32-bit 1 in 16 bits)
            iu[4:6] = bytes(2)
            self._send_iu(iu, 24, VIOSRP_MAD_FORMAT, address, dma, post)
            return
        iu[4:6] = VIOSRP_MAD_NOT_SUPPORTED.to_bytes(2, "big")
        self._send_iu(iu, MAD_NOT_SUPPORTED_LENGTHS.get(mad_type, 0), VIOSRP_MAD_FORMAT,
                      address, dma, post)
