"""SCSI devices behind an emulated host adapter: QEMU 7.2's scsi-cd and scsi-hd, as a guest sees them.

A `ScsiDevice` answers one command at a time: `execute(lun, cdb, fetch)` gives a
`ScsiResult` (status, the data-in bytes, the sense bytes of a CHECK CONDITION). What the
device answers follows QEMU's SCSI layer:

* the bus layer first: a pending unit attention (POWER ON/RESET after a machine reset)
  is reported, as CHECK CONDITION, to the first command other than INQUIRY, REPORT LUNS,
  GET CONFIGURATION and GET EVENT STATUS NOTIFICATION; any command that completes
  (except those and REPORT LUNS) clears it. A command for a LUN the device is not, and
  REPORT LUNS, and REQUEST SENSE while sense is kept, are answered by the target (an
  INQUIRY of "no LUN here", the LUN list, the kept sense);
* then the device: INQUIRY (vendor "QEMU", product "QEMU CD-ROM" or "QEMU HARDDISK",
  revision "2.5+", peripheral type 5 removable or 0; vital product data pages 0x00 and
  0x83, the drive's name as its identifier), TEST UNIT READY, REQUEST SENSE ("no sense"),
  READ CAPACITY(10) and (16), READ(6/10/12/16), WRITE(6/10/12/16; a CD is write-protected),
  START STOP UNIT (tray), PREVENT ALLOW MEDIUM REMOVAL, and for a CD drive GET EVENT STATUS
  NOTIFICATION (media class), GET CONFIGURATION (profile list, core, removable medium),
  MECHANISM STATUS and MODE SENSE(6/10) (pages 0x01, 0x08, 0x0E, 0x2A, current, changeable
  or default values). Without a medium every command but INQUIRY, MODE SENSE, START STOP,
  ALLOW MEDIUM REMOVAL, GET CONFIGURATION, GET EVENT STATUS, MECHANISM STATUS and REQUEST
  SENSE ends in NOT READY / MEDIUM NOT PRESENT (3A/00). Other opcodes are ILLEGAL REQUEST /
  INVALID COMMAND OPERATION CODE (20/00); a CDB of a reserved group too.
* not modelled, for a hard disk: MODE SENSE and the block-limits VPD pages (0xB0-0xB2).
  They end in ILLEGAL REQUEST / INVALID FIELD IN CDB and are noted in the device's
  `unmodelled` list, so a caller can tell the gap from QEMU's answer.

What the CD answers was checked against real QEMU 7.2 through SLOF's v-scsi driver
(tests/data/vscsi/).

Sense data is fixed format, 18 bytes (response code 0x70). The data-in of a command the
device answers itself is its whole allocation length (QEMU's `cmd.xfer`, at most 64 KiB):
the answer, then zeros, as QEMU moves it; what the target answers is the answer only.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

GOOD = 0x00
CHECK_CONDITION = 0x02

NO_SENSE = 0x0
NOT_READY = 0x2
ILLEGAL_REQUEST = 0x5
UNIT_ATTENTION = 0x6
DATA_PROTECT = 0x7

TEST_UNIT_READY = 0x00
REQUEST_SENSE = 0x03
READ_6 = 0x08
WRITE_6 = 0x0A
INQUIRY = 0x12
MODE_SENSE_6 = 0x1A
START_STOP = 0x1B
ALLOW_MEDIUM_REMOVAL = 0x1E
READ_CAPACITY_10 = 0x25
READ_10 = 0x28
WRITE_10 = 0x2A
GET_CONFIGURATION = 0x46
GET_EVENT_STATUS_NOTIFICATION = 0x4A
MODE_SENSE_10 = 0x5A
READ_16 = 0x88
WRITE_16 = 0x8A
SERVICE_ACTION_IN_16 = 0x9E
REPORT_LUNS = 0xA0
READ_12 = 0xA8
WRITE_12 = 0xAA
MECHANISM_STATUS = 0xBD
SAI_READ_CAPACITY_16 = 0x10

TYPE_DISK = 0x00
TYPE_ROM = 0x05
TYPE_NO_LUN = 0x7F

QEMU_HW_VERSION = "2.5+"
"""The revision QEMU's SCSI devices report (qemu_hw_version() for current machine types)."""

SCSI_VERSION = 5
"""The SPC version byte QEMU's scsi-disk claims (SPC-3)."""

NO_SENSE_CODE = (NO_SENSE, 0x00, 0x00)
RESET_CODE = (UNIT_ATTENTION, 0x29, 0x00)
NO_MEDIUM_CODE = (NOT_READY, 0x3A, 0x00)
INVALID_OPCODE_CODE = (ILLEGAL_REQUEST, 0x20, 0x00)
LBA_OUT_OF_RANGE_CODE = (ILLEGAL_REQUEST, 0x21, 0x00)
INVALID_FIELD_CODE = (ILLEGAL_REQUEST, 0x24, 0x00)
LUN_NOT_SUPPORTED_CODE = (ILLEGAL_REQUEST, 0x25, 0x00)
WRITE_PROTECTED_CODE = (DATA_PROTECT, 0x27, 0x00)
NOT_READY_REMOVAL_PREVENTED_CODE = (NOT_READY, 0x53, 0x02)
ILLEGAL_REQ_REMOVAL_PREVENTED_CODE = (ILLEGAL_REQUEST, 0x53, 0x02)

NO_MEDIUM_ALLOWED = frozenset({
    INQUIRY, MODE_SENSE_6, MODE_SENSE_10, START_STOP, ALLOW_MEDIUM_REMOVAL,
    GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION, MECHANISM_STATUS, REQUEST_SENSE,
})
"""Commands QEMU's scsi-disk runs without a medium (plus the reserve/release family)."""

EMULATED_MAX_TRANSFER = 65536
"""Largest allocation length QEMU's scsi-disk accepts for the commands it answers itself."""

SAVING_PARAMETERS_CODE = (ILLEGAL_REQUEST, 0x39, 0x00)

CD_MODE_PAGES = (0x01, 0x08, 0x0E, 0x2A)
"""The mode pages of QEMU's scsi-cd, in the order MODE SENSE of all pages lists them."""

CD_MAX_SECTORS = 80 * 60 * 75 * 2048 // 512
"""Media of more 512-byte sectors than a CD holds are DVDs (QEMU's media_is_dvd)."""

UNIT_ATTENTION_EXEMPT = frozenset({INQUIRY, REPORT_LUNS, GET_CONFIGURATION,
                                   GET_EVENT_STATUS_NOTIFICATION})
"""Commands a pending unit attention does not fail."""

UNIT_ATTENTION_KEPT = frozenset({INQUIRY, GET_CONFIGURATION, GET_EVENT_STATUS_NOTIFICATION,
                                 REPORT_LUNS})
"""Commands whose completion does not clear a pending unit attention."""


def fixed_sense(code: tuple[int, int, int]) -> bytes:
    """18 bytes of fixed-format sense data for (key, ASC, ASCQ), as QEMU builds them."""
    key, asc, ascq = code
    sense = bytearray(18)
    sense[0] = 0x70
    sense[2] = key
    sense[7] = 10
    sense[12] = asc
    sense[13] = ascq
    return bytes(sense)


def cdb_length(opcode: int) -> int | None:
    """The CDB length of `opcode`'s group, None for the reserved / vendor groups."""
    return {0: 6, 1: 10, 2: 10, 4: 16, 5: 12}.get(opcode >> 5)


def allocation_length(cdb: bytes) -> int:
    """The transfer length a data-in command's CDB asks for (QEMU's cmd.xfer, in bytes)."""
    opcode = cdb[0]
    if opcode in (INQUIRY, MODE_SENSE_6, REQUEST_SENSE):
        return int.from_bytes(cdb[3:5], "big") if opcode == INQUIRY else cdb[4]
    if opcode in (MODE_SENSE_10, GET_EVENT_STATUS_NOTIFICATION, GET_CONFIGURATION):
        return int.from_bytes(cdb[7:9], "big")
    if opcode == MECHANISM_STATUS:
        return int.from_bytes(cdb[8:10], "big")
    if opcode == READ_CAPACITY_10:
        return 8
    if opcode in (REPORT_LUNS,):
        return int.from_bytes(cdb[6:10], "big")
    if opcode == SERVICE_ACTION_IN_16:
        return int.from_bytes(cdb[10:14], "big")
    return 0


@dataclass
class ScsiResult:
    """How a command ended: SCSI status, data-in bytes, and sense for CHECK CONDITION.

    `data_out` is how many bytes of data-out the device took (writes)."""

    status: int
    data: bytes = b""
    sense: bytes = b""
    data_out: int = 0


def good(data: bytes = b"") -> ScsiResult:
    """A GOOD status with data-in `data`."""
    return ScsiResult(GOOD, bytes(data))


DataOutFetch = Callable[[int], bytes]
"""Reads `n` bytes of a command's data-out from the initiator (may raise the HBA's DMA error)."""


class ScsiDevice:
    """One logical unit at (channel, id, lun): a CD-ROM drive or a hard disk, with or
    without a medium (an image held in memory, or a file read on demand)."""

    def __init__(self, kind: str, channel: int = 0, scsi_id: int = 0, lun: int = 0,
                 medium: bytearray | None = None, block_size: int | None = None,
                 drive_name: str = ""):
        if kind not in ("cd", "hd"):
            raise ValueError(f"unknown SCSI device kind {kind!r} (cd or hd)")
        self.kind = kind
        self.drive_name = drive_name
        self.channel = channel
        self.scsi_id = scsi_id
        self.lun = lun
        self.medium = medium
        self.block_size = block_size or (2048 if kind == "cd" else 512)
        self.removable = kind == "cd"
        self.tray_open = False
        self.tray_locked = False
        self.unit_attention: tuple[int, int, int] | None = None
        self.unmodelled: list[int] = []
        self.target_luns: list[int] = [lun]
        """The LUNs of every device at this (channel, id), as the target reports them
        (the host adapter sets it, in its bus order)."""
        self.sense = b""
        self.sense_is_ua = False
        self.reset()

    @property
    def peripheral_type(self) -> int:
        """The INQUIRY peripheral device type: 5 (CD/DVD) or 0 (direct access)."""
        return TYPE_ROM if self.kind == "cd" else TYPE_DISK

    @property
    def product(self) -> str:
        """The INQUIRY product string."""
        return "QEMU CD-ROM" if self.kind == "cd" else "QEMU HARDDISK"

    @property
    def has_medium(self) -> bool:
        """Whether a medium is loaded and the tray (if any) is closed."""
        return self.medium is not None and not self.tray_open

    @property
    def blocks(self) -> int:
        """Number of whole blocks on the medium."""
        return len(self.medium) // self.block_size if self.medium is not None else 0

    def reset(self) -> None:
        """Device reset (machine reset): POWER ON/RESET becomes a pending unit attention."""
        self.unit_attention = RESET_CODE
        self.sense = b""
        self.sense_is_ua = False

    # --- the bus layer -------------------------------------------------------------------

    def execute(self, lun: int, cdb: bytes, fetch: DataOutFetch | None = None) -> ScsiResult:
        """Run one command addressed to LUN `lun` (the request's LUN, maybe not ours)."""
        cdb = bytes(cdb).ljust(16, b"\0")
        opcode = cdb[0]
        from_unit_attention = False
        if cdb_length(opcode) is None:
            result = self._check(INVALID_OPCODE_CODE)
        elif self.unit_attention is not None and opcode not in UNIT_ATTENTION_EXEMPT and \
                not (opcode == REQUEST_SENSE and self.sense_is_ua):
            result = self._check(self.unit_attention)
            from_unit_attention = True
        elif lun != self.lun or opcode == REPORT_LUNS or (opcode == REQUEST_SENSE and self.sense):
            result = self._target_command(lun, cdb)
        else:
            result = self._device_command(cdb, fetch)
        self._complete(opcode, result, from_unit_attention)
        return result

    def _complete(self, opcode: int, result: ScsiResult, from_unit_attention: bool) -> None:
        """What completing a request does: keep its sense, clear the unit attention."""
        if result.status == GOOD:
            result.sense = b""
        if result.sense:
            self.sense = result.sense
            self.sense_is_ua = from_unit_attention
        else:
            self.sense = b""
            self.sense_is_ua = False
        if self.unit_attention is not None and opcode not in UNIT_ATTENTION_KEPT:
            self.unit_attention = None

    def sense_reported(self) -> None:
        """The host adapter fetched the sense (autosense): a unit attention is consumed."""
        if self.sense_is_ua:
            self.sense = b""
            self.sense_is_ua = False

    @staticmethod
    def _check(code: tuple[int, int, int]) -> ScsiResult:
        return ScsiResult(CHECK_CONDITION, b"", fixed_sense(code))

    def _target_command(self, lun: int, cdb: bytes) -> ScsiResult:
        """What the SCSI target answers itself (QEMU's reqops_target_command)."""
        opcode = cdb[0]
        if lun != 0 and opcode not in (INQUIRY, REQUEST_SENSE):
            return self._check(LUN_NOT_SUPPORTED_CODE)
        if opcode == REPORT_LUNS:
            xfer = allocation_length(cdb)
            if xfer < 16 or cdb[2] > 2:
                return self._check(INVALID_FIELD_CODE)
            luns = [0] + [value for value in self.target_luns if value != 0]
            body = b"".join(_lun_entry(value) for value in luns)
            data = len(body).to_bytes(4, "big") + bytes(4) + body
            return good(data[:xfer & ~7])
        if opcode == INQUIRY:
            if cdb[1] & 1 or cdb[2] != 0:
                return self._check(INVALID_FIELD_CODE)
            length = min(allocation_length(cdb), 36)
            data = bytearray(length)
            if lun != 0:
                if length:
                    data[0] = TYPE_NO_LUN
            else:
                template = bytearray(36)
                template[0] = 0x3F
                template[2] = SCSI_VERSION
                template[3] = 0x12
                template[4] = length - 5 if length >= 5 else 0
                template[7] = 0x12
                template[8:16] = b"QEMU    "
                template[16:32] = b"QEMU TARGET     "
                template[32:35] = QEMU_HW_VERSION.encode()[:3]
                data[:] = template[:length]
            return good(bytes(data))
        if opcode == REQUEST_SENSE:
            xfer = allocation_length(cdb)
            if lun != 0:
                return good(fixed_sense(LUN_NOT_SUPPORTED_CODE)[:xfer])
            data = self.sense[:xfer]
            if self.sense_is_ua:
                self.sense = b""
                self.sense_is_ua = False
            return good(data)
        if opcode == TEST_UNIT_READY:
            return good()
        return self._check(INVALID_OPCODE_CODE)

    # --- the device (QEMU's scsi-disk) ---------------------------------------------------

    def _device_command(self, cdb: bytes, fetch: DataOutFetch | None) -> ScsiResult:
        opcode = cdb[0]
        if opcode not in NO_MEDIUM_ALLOWED and not self.has_medium:
            return self._check(NO_MEDIUM_CODE)
        handler = {
            TEST_UNIT_READY: lambda: good(),
            INQUIRY: lambda: self._inquiry(cdb),
            REQUEST_SENSE: lambda: good(fixed_sense(NO_SENSE_CODE)[:allocation_length(cdb)]),
            READ_CAPACITY_10: self._read_capacity_10,
            SERVICE_ACTION_IN_16: lambda: self._service_action_in(cdb),
            START_STOP: lambda: self._start_stop(cdb),
            ALLOW_MEDIUM_REMOVAL: lambda: self._allow_medium_removal(cdb),
            GET_EVENT_STATUS_NOTIFICATION: lambda: self._event_status(cdb),
            GET_CONFIGURATION: lambda: self._get_configuration(cdb),
            MECHANISM_STATUS: lambda: self._mechanism_status(cdb),
            MODE_SENSE_6: lambda: self._mode_sense(cdb),
            MODE_SENSE_10: lambda: self._mode_sense(cdb),
        }.get(opcode)
        if handler is not None:
            xfer = allocation_length(cdb)
            if xfer > EMULATED_MAX_TRANSFER:
                return self._check(INVALID_FIELD_CODE)
            result = handler()
            if result.status == GOOD:
                # QEMU moves the whole allocation length, zeros after the answer
                result.data = result.data[:xfer].ljust(xfer, b"\0")
            return result
        if opcode in (READ_6, READ_10, READ_12, READ_16):
            return self._read(cdb)
        if opcode in (WRITE_6, WRITE_10, WRITE_12, WRITE_16):
            return self._write(cdb, fetch)
        return self._check(INVALID_OPCODE_CODE)

    def _unmodelled(self, cdb: bytes) -> ScsiResult:
        self.unmodelled.append(cdb[0])
        return self._check(INVALID_FIELD_CODE)

    def _vital_product_data(self, cdb: bytes) -> ScsiResult:
        page = cdb[2]
        name = self.drive_name.encode()[:255 - 8]
        if page == 0x00:
            pages = [0x00] + ([0x83] if name else [])
            if self.kind == "hd":
                return self._unmodelled(cdb)
            body = bytes(pages)
        elif page == 0x83 and name:
            body = bytes([0x02, 0x00, 0x00, len(name)]) + name
        else:
            return self._check(INVALID_FIELD_CODE)
        data = bytes([self.peripheral_type, page, 0, len(body)]) + body
        return good(data[:min(allocation_length(cdb), 256)])

    def _inquiry(self, cdb: bytes) -> ScsiResult:
        if cdb[1] & 1:
            return self._vital_product_data(cdb)
        if cdb[2] != 0:
            return self._check(INVALID_FIELD_CODE)
        buflen = min(allocation_length(cdb), 256)
        data = bytearray(max(buflen, 36))
        data[0] = self.peripheral_type
        data[1] = 0x80 if self.removable else 0
        data[2] = SCSI_VERSION
        data[3] = 0x12
        data[4] = buflen - 5 if buflen > 36 else 36 - 5
        data[7] = 0x12
        data[8:16] = b"QEMU".ljust(8)
        data[16:32] = self.product.encode().ljust(16)
        data[32:36] = QEMU_HW_VERSION.encode()[:4].ljust(4, b"\0")
        return good(bytes(data[:buflen]))

    def _read_capacity_10(self) -> ScsiResult:
        last = self.blocks - 1
        if last < 0:
            return self._check(NO_MEDIUM_CODE)
        data = min(last, 0xFFFF_FFFF).to_bytes(4, "big") + self.block_size.to_bytes(4, "big")
        return good(data)

    def _service_action_in(self, cdb: bytes) -> ScsiResult:
        if cdb[1] & 0x1F != SAI_READ_CAPACITY_16:
            return self._check(INVALID_FIELD_CODE)
        last = self.blocks - 1
        if last < 0:
            return self._check(NO_MEDIUM_CODE)
        data = bytearray(32)
        data[0:8] = last.to_bytes(8, "big")
        data[8:12] = self.block_size.to_bytes(4, "big")
        return good(bytes(data[:allocation_length(cdb)]))

    def _transfer_range(self, cdb: bytes) -> tuple[int, int]:
        """(first block, number of blocks) of a READ/WRITE CDB."""
        opcode = cdb[0]
        if opcode in (READ_6, WRITE_6):
            lba = int.from_bytes(cdb[1:4], "big") & 0x1F_FFFF
            count = cdb[4] or 256
        elif opcode in (READ_10, WRITE_10):
            lba = int.from_bytes(cdb[2:6], "big")
            count = int.from_bytes(cdb[7:9], "big")
        elif opcode in (READ_12, WRITE_12):
            lba = int.from_bytes(cdb[2:6], "big")
            count = int.from_bytes(cdb[6:10], "big")
        else:
            lba = int.from_bytes(cdb[2:10], "big")
            count = int.from_bytes(cdb[10:14], "big")
        return lba, count

    def _read(self, cdb: bytes) -> ScsiResult:
        lba, count = self._transfer_range(cdb)
        if lba + count > self.blocks:
            return self._check(LBA_OUT_OF_RANGE_CODE)
        start = lba * self.block_size
        assert self.medium is not None
        return good(bytes(self.medium[start:start + count * self.block_size]))

    def _write(self, cdb: bytes, fetch: DataOutFetch | None) -> ScsiResult:
        lba, count = self._transfer_range(cdb)
        if self.kind == "cd":
            return self._check(WRITE_PROTECTED_CODE)
        if lba + count > self.blocks:
            return self._check(LBA_OUT_OF_RANGE_CODE)
        length = count * self.block_size
        data = fetch(length) if fetch is not None and length else b""
        start = lba * self.block_size
        assert self.medium is not None
        self.medium[start:start + len(data)] = data
        return ScsiResult(GOOD, data_out=len(data))

    def _start_stop(self, cdb: bytes) -> ScsiResult:
        start = bool(cdb[4] & 1)
        load_eject = bool(cdb[4] & 2)
        if cdb[4] & 0xF0 or not (self.removable and load_eject):
            return good()
        if not start and not self.tray_open and self.tray_locked:
            return self._check(ILLEGAL_REQ_REMOVAL_PREVENTED_CODE if self.medium is not None
                               else NOT_READY_REMOVAL_PREVENTED_CODE)
        self.tray_open = not start
        return good()

    def _allow_medium_removal(self, cdb: bytes) -> ScsiResult:
        self.tray_locked = bool(cdb[4] & 1)
        return good()

    def _event_status(self, cdb: bytes) -> ScsiResult:
        if self.kind != "cd" or not cdb[1] & 1:
            # only CD drives have events, and only polled requests are answered
            return self._check(INVALID_FIELD_CODE)
        data = bytearray(4)
        data[3] = 1 << 4
        if cdb[4] & (1 << 4):
            data[2] = 4
            if self.tray_open:
                status = 0x01
            elif self.medium is not None:
                status = 0x02
            else:
                status = 0x00
            data += bytes([0, status, 0, 0])
        else:
            data[2] = 0x80
        data[0:2] = (len(data) - 4).to_bytes(2, "big")
        return good(bytes(data[:allocation_length(cdb)]))


    def _cd_mode_page(self, page: int, control: int) -> bytes:
        """One mode page of the CD drive (control 0 current, 1 changeable, 2 default)."""
        if page == 0x01:
            body = bytearray(10)
            body[0] = 0x80
            if control != 1:
                body[1] = 0x20
        elif page == 0x08:
            body = bytearray(18)
            body[0] = 0x04
        elif page == 0x0E:
            body = bytearray(14)
        else:
            body = bytearray(20)
            if control != 1:
                body[0:4] = bytes([0x3B, 0x00, 0x7F, 0xFF])
                body[4] = 0x2D | (0x02 if self.tray_locked else 0)
                body[6:8] = (50 * 176).to_bytes(2, "big")
                body[8:10] = (2).to_bytes(2, "big")
                body[10:12] = (2048).to_bytes(2, "big")
                body[12:14] = (16 * 176).to_bytes(2, "big")
                body[16:18] = (16 * 176).to_bytes(2, "big")
                body[18:20] = (16 * 176).to_bytes(2, "big")
        return bytes([page, len(body)]) + bytes(body)

    def _mode_sense(self, cdb: bytes) -> ScsiResult:
        if self.kind != "cd":
            return self._unmodelled(cdb)
        page = cdb[2] & 0x3F
        control = cdb[2] >> 6
        if control == 3:
            return self._check(SAVING_PARAMETERS_CODE)
        if page == 0x3F:
            pages = b"".join(self._cd_mode_page(p, control) for p in CD_MODE_PAGES)
        elif page in CD_MODE_PAGES:
            pages = self._cd_mode_page(page, control)
        else:
            return self._check(INVALID_FIELD_CODE)
        descriptor = b""
        if not cdb[1] & 0x08 and self.has_medium and self.blocks:
            blocks = self.blocks if self.blocks <= 0xFFFFFF else 0
            descriptor = bytes([0]) + blocks.to_bytes(3, "big") + bytes([0]) + \
                self.block_size.to_bytes(3, "big")
        if cdb[0] == MODE_SENSE_6:
            data = bytes([3 + len(descriptor) + len(pages), 0, 0, len(descriptor)])
        else:
            data = (6 + len(descriptor) + len(pages)).to_bytes(2, "big") + bytes(4) + \
                len(descriptor).to_bytes(2, "big")
        return good((data + descriptor + pages)[:allocation_length(cdb)])

    def _get_configuration(self, cdb: bytes) -> ScsiResult:
        if self.kind != "cd":
            return self._check(INVALID_OPCODE_CODE)
        dvd = self.has_medium and self.blocks * self.block_size // 512 > CD_MAX_SECTORS
        current = (0x0010 if dvd else 0x0008) if self.has_medium else 0
        data = bytearray(8)
        data[6:8] = current.to_bytes(2, "big")
        profiles = bytearray([0x00, 0x00, 0x03, 0x08])
        for profile in (0x0010, 0x0008):
            profiles += profile.to_bytes(2, "big") + bytes([1 if profile == current else 0, 0])
        core = bytes([0x00, 0x01, 0x0B, 0x08, 0, 0, 0, 1, 1, 0, 0, 0])
        removable = bytes([0x00, 0x03, 0x0B, 0x04, 0x39, 0, 0, 0])
        data += profiles + core + removable
        data[0:4] = (len(data) - 4).to_bytes(4, "big")
        return good(bytes(data[:allocation_length(cdb)]))

    def _mechanism_status(self, cdb: bytes) -> ScsiResult:
        if self.kind != "cd":
            return self._check(INVALID_OPCODE_CODE)
        data = bytearray(8)
        data[5] = 1
        return good(bytes(data[:allocation_length(cdb)]))


def _lun_entry(lun: int) -> bytes:
    """One 8-byte REPORT LUNS entry (peripheral addressing below 256, else flat)."""
    if lun < 256:
        return bytes([0, lun]) + bytes(6)
    return bytes([0x40 | (lun >> 8) & 0x3F, lun & 0xFF]) + bytes(6)
