"""libtpm: SLOF's TPM 2.0 firmware extension (lib/libtpm's tcgbios.c) in Python: starting the
vTPM, measuring into its PCRs, and the event log the OS gets.

The words and stack effects are tpm.code's. The TPM is reached through the vTPM's CRQ
(tpm_crq.py, SLOF's tpm_drivers.c). What the boot does with them, as SLOF does it:

- tpm-start ( -- errcode ): probe the vTPM (CRQ set-up), then Startup(CLEAR), SelfTest and
  GetCapability(PCRS), whose PCR selection decides which banks every measurement extends.
  Any failure: the three hierarchies are disabled (HierarchyControl) and the TPM is no
  longer "working"; the code is 4 without a vTPM, 0xffffffff when a command failed.
- tpm-set-log-parameters ( addr size -- ): the event log is at addr; its first entry is the
  EFI "Spec ID Event03" event naming the active banks and their digest sizes.
- A measurement (tpm-measure-scrtm, tpm-add-event-separators, tpm-measure-bcv-mbr,
  tpm-measure-gpt, tpm-hash-log-extend-event-buffer, tpm-2hash-ext-log) hashes its data
  with each active bank's algorithm (hashlib; banks SLOF has no hash function for get
  0xff bytes), extends the PCR with PCR_Extend (password session) and appends a
  TCG_PCR_EVENT2 entry to the log: PCR index, event type, digests and the event data,
  little-endian. A failed extend disables the TPM; a full log gives 1 (log overflow).
- tpm-measure-scrtm measures SLOF's version (the text after "FW Version = " in the image's
  banner, UCS-2 with its terminating 0, as SLOF's RELEASE) and, as the S-CRTM contents,
  paflof's program: here the image's `ofw_main` file (its text and data, where SLOF hashes
  only the text segment of the running paflof), or for a source tree its boot text.
- tpm-leave-firmware ( -- 0 ): StirRandom, GetRandom(20) and HierarchyChangeAuth of the
  platform hierarchy to those 20 bytes; a failure disables the TPM.
- tpm-finalize frees the CRQ (at quiesce).
- tpm-driver-get-failure-reason / -set-failure-reason: the driver's error code (0xffffffff:
  none), 0 without a vTPM.
- tpm-is-working, tpm-get-logsize, tpm-gpt-set-lba1, tpm-gpt-add-entry as tcgbios.c.

- tpm20-menu: the menu behind the 't' key at boot: clear the TPM (ClearControl, Clear) or
  change the active PCR banks (PCR_Allocate, Shutdown, then reset-all), keys read with
  `key`, ESC to leave.

Memory the C code takes from alloc-mem (the PCR selection, the GPT data) is taken the same
way, so SLOF's heap looks as it would. What the C code prints goes through SLOF's `emit`
and `cr`, as its printf does.
"""
from __future__ import annotations

import hashlib
import os
import re
import struct

from ...errors import Throw
from .base import CLibrary, c_word
from .libelf import elf_file_size
from .tpm_crq import LONG, MEDIUM, SHORT, VtpmCrqDriver

TCGBIOS_LOGOVERFLOW = 0x1
TCGBIOS_GENERAL_ERROR = 0x2
TCGBIOS_FATAL_COM_ERROR = 0x4
TCGBIOS_INVALID_INPUT_PARA = 0x5
TCGBIOS_COMMAND_ERROR = 0x6

EV_NO_ACTION = 3
EV_SEPARATOR = 4
EV_ACTION = 5
EV_S_CRTM_CONTENTS = 7
EV_S_CRTM_VERSION = 8
EV_IPL = 13
EV_IPL_PARTITION_DATA = 14
EV_EFI_GPT_EVENT = 0x80000006
BCV_DEVICE_HDD = 0x80

ST_NO_SESSIONS = 0x8001
ST_SESSIONS = 0x8002
CC_HIERARCHY_CONTROL = 0x121
CC_HIERARCHY_CHANGE_AUTH = 0x129
CC_SELF_TEST = 0x143
CC_STARTUP = 0x144
CC_STIR_RANDOM = 0x146
CC_GET_CAPABILITY = 0x17A
CC_GET_RANDOM = 0x17B
CC_PCR_EXTEND = 0x182
CAP_PCRS = 5
SU_CLEAR = 0
YES, NO = 1, 0
RS_PW = 0x40000009
RH_OWNER = 0x40000001
RH_ENDORSEMENT = 0x4000000B
RH_PLATFORM = 0x4000000C
PASSWORD_SESSION = struct.pack(">IHBH", RS_PW, 0, YES, 0)

RSP_HEADER = 10
SIMPLE_ANSWER = 64
CAPABILITY_ANSWER = 128
CAPABILITY_DATA = 15            # header, moreData, capability
RANDOM_BYTES = 20
PCR_COUNT = 24
SHA1_SIZE = 20

# TPM_ALG_ID -> (digest size, hashlib name or None: SLOF fills those with 0xff)
HASHES = {
    0x0004: (20, "sha1"), 0x000B: (32, "sha256"), 0x000C: (48, "sha384"),
    0x000D: (64, "sha512"), 0x0012: (32, None), 0x0027: (32, None),
    0x0028: (48, None), 0x0029: (64, None),
}

GPT_HEADER = 512
GPT_DATA = GPT_HEADER + 8       # the header and the number of partitions
GPT_ENTRY = 128


# the banks' flags in the TPM menu, in its order: (flag, TPM_ALG_ID, name)
BANK_FLAGS = (
    (0x01, 0x0004, b"SHA1"), (0x02, 0x000B, b"SHA256"), (0x04, 0x000C, b"SHA384"),
    (0x08, 0x000D, b"SHA512"), (0x10, 0x0012, b"SM3-256"), (0x20, 0x0027, b"SHA3-256"),
    (0x40, 0x0028, b"SHA3-384"), (0x80, 0x0029, b"SHA3-512"),
)
CC_CLEAR = 0x126
CC_CLEAR_CONTROL = 0x127
CC_PCR_ALLOCATE = 0x12B
CC_SHUTDOWN = 0x145
ESC = 27


class LibTpm(CLibrary):

    def __init__(self, slof):
        super().__init__(slof)
        self.driver = VtpmCrqDriver(self)
        self.probed = False
        self.found = False
        self.working = False
        self.log_base = 0
        self.log_size = 0
        self.log_next: int | None = None
        self.selection = b""
        self.gpt: bytearray | None = None
        self.gpt_address = 0
        self.gpt_allocated = 0

    # ------------------------------------------------------------ what the C code calls
    # ------------------------------------------------------------ TPM commands
    def _transmit(self, tag: int, code: int, body: bytes, limit: int,
                  duration: int) -> bytes | None:
        command = struct.pack(">HII", tag, RSP_HEADER + len(body), code) + body
        return self.driver.transmit(command, limit, duration)

    @staticmethod
    def _rc(answer: bytes) -> int:
        return struct.unpack(">I", answer[6:10])[0]

    def _simple(self, code: int, param: bytes, duration: int) -> int:
        """tpm_simple_cmd: the TPM's response code, -1 when the transport failed."""
        answer = self._transmit(ST_NO_SESSIONS, code, param, SIMPLE_ANSWER, duration)
        return -1 if answer is None else self._rc(answer)

    def _header_only(self, tag: int, code: int, body: bytes, duration: int) -> int:
        """A command whose answer SLOF reads as a bare header: 0, or -1 on any failure."""
        answer = self._transmit(tag, code, body, RSP_HEADER, duration)
        if answer is None or len(answer) != RSP_HEADER or self._rc(answer):
            return -1
        return 0

    def _platform(self, code: int, body: bytes, duration: int) -> int:
        auth = struct.pack(">II", RH_PLATFORM, len(PASSWORD_SESSION)) + PASSWORD_SESSION
        return self._header_only(ST_SESSIONS, code, auth + body, duration)

    def _get_pcr_banks(self) -> int:
        answer = self._transmit(ST_NO_SESSIONS, CC_GET_CAPABILITY,
                                struct.pack(">III", CAP_PCRS, 0, 8), CAPABILITY_ANSWER, SHORT)
        if answer is None:
            return -1
        total = struct.unpack(">I", answer[2:6])[0]
        if CAPABILITY_ANSWER < total:
            return -1
        if self._rc(answer):
            return self._rc(answer)
        if total <= CAPABILITY_DATA or total - CAPABILITY_DATA < 4 + 3:
            return -1
        size = total - CAPABILITY_DATA
        if not self.alloc(size):
            self.write_stdout(b"TCGBIOS: Failed to allocated %d bytes.\n" % size)
            return -1
        self.selection = answer[CAPABILITY_DATA:CAPABILITY_DATA + size].ljust(size, b"\0")
        return 0

    def _set_failure(self) -> None:
        for hierarchy in (RH_ENDORSEMENT, RH_OWNER, RH_PLATFORM):
            self._platform(CC_HIERARCHY_CONTROL, struct.pack(">IB", hierarchy, NO), MEDIUM)
        self.working = False

    def _probe(self) -> None:
        self.probed = True
        self.found = self.driver.probe()
        self.working = self.found

    def is_working(self) -> bool:
        if not self.probed:
            self._probe()
        return self.working

    # ------------------------------------------------------------ banks and the log
    def active_banks(self) -> list[int] | None:
        """The hash algorithms of the PCR banks in use (PCRs 0-7 selected), in the TPM's
        order; None when the selection is malformed or names a hash SLOF does not know."""
        data = self.selection
        if len(data) < 4:
            return None
        count, at, banks = struct.unpack(">I", data[:4])[0], 4, []
        for _ in range(count):
            if at + 3 > len(data):
                return None
            alg, size = struct.unpack(">HB", data[at:at + 3])
            if at + 3 + size > len(data):
                break
            if size and data[at + 3]:
                if alg not in HASHES:
                    return None
                banks.append(alg)
            at += 3 + size
        return banks if at == len(data) else None

    @staticmethod
    def _digest(alg: int, data: bytes) -> bytes:
        size, name = HASHES[alg]
        return hashlib.new(name, data).digest() if name else b"\xff" * size

    def _digests(self, data: bytes, order: str) -> bytes | None:
        """TPML_DIGEST_VALUES of `data` for the active banks (">" for the TPM, "<" for the
        log)."""
        banks = self.active_banks()
        if banks is None:
            return None
        return struct.pack(order + "I", len(banks)) + b"".join(
            struct.pack(order + "H", alg) + self._digest(alg, data) for alg in banks)

    def _log(self, pcr: int, event_type: int, digests: bytes, event: bytes) -> int:
        if self.log_next is None:
            return TCGBIOS_LOGOVERFLOW
        entry = (struct.pack("<II", pcr, event_type) + digests
                 + struct.pack("<I", len(event)) + event)
        if self.log_next + len(entry) - self.log_base > self.log_size:
            return TCGBIOS_LOGOVERFLOW
        self.fill(self.log_next, entry)
        self.log_next += len(entry)
        return 0

    def _spec_id_event(self) -> int:
        banks = self.active_banks()
        if banks is None:
            return -1
        event = (b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 2, 2, len(banks))
                 + b"".join(struct.pack("<HH", alg, HASHES[alg][0]) for alg in banks)
                 + b"\0")
        return self._log(0, EV_NO_ACTION, bytes(SHA1_SIZE), event)

    def measure(self, pcr: int, event_type: int, info: bytes, data: bytes) -> int:
        """tpm_add_measurement_to_log: extend `pcr` with the digests of `data`, log `info`."""
        digests = self._digests(data, ">")
        if digests is None:
            return TCGBIOS_GENERAL_ERROR
        body = (struct.pack(">II", pcr, len(PASSWORD_SESSION)) + PASSWORD_SESSION + digests)
        if self._header_only(ST_SESSIONS, CC_PCR_EXTEND, body, SHORT):
            self._set_failure()
            return TCGBIOS_COMMAND_ERROR
        return self._log(pcr, event_type, self._digests(data, "<") or b"", info)

    # ------------------------------------------------------------ the words
    @c_word("tpm-start")
    def start(self) -> None:                       # ( -- errcode )
        self._probe()
        if not self.is_working():
            self.push(TCGBIOS_FATAL_COM_ERROR)
            return
        self.push(self._startup() & 0xFFFFFFFF)

    def _startup(self) -> int:
        for code, param, duration in ((CC_STARTUP, struct.pack(">H", SU_CLEAR), SHORT),
                                      (CC_SELF_TEST, bytes([YES]), LONG)):
            if self._simple(code, param, duration):
                self._set_failure()
                return -1
        if self._get_pcr_banks():
            self._set_failure()
            return -1
        return 0

    @c_word("tpm-finalize")
    def finalize(self) -> None:                    # ( -- )
        self.driver.finalize()

    @c_word("tpm-leave-firmware")
    def leave_firmware(self) -> None:              # ( -- errcode )
        stir = struct.pack(">HQ", 8, int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF)
        if self._header_only(ST_NO_SESSIONS, CC_STIR_RANDOM, stir, SHORT):
            self._set_failure()
        else:
            answer = self._transmit(ST_NO_SESSIONS, CC_GET_RANDOM,
                                    struct.pack(">H", RANDOM_BYTES),
                                    RSP_HEADER + 2 + RANDOM_BYTES, MEDIUM)
            if answer is None or len(answer) != RSP_HEADER + 2 + RANDOM_BYTES \
                    or self._rc(answer):
                self._set_failure()
            else:
                auth = answer[RSP_HEADER + 2:]
                if self._platform(CC_HIERARCHY_CHANGE_AUTH,
                                  struct.pack(">H", RANDOM_BYTES) + auth, MEDIUM):
                    self._set_failure()
        self.push(0)

    @c_word("tpm-set-log-parameters")
    def set_log_parameters(self) -> None:          # ( addr size -- )
        addr, size = self.pop(2)
        self.log_base = self.log_next = addr
        self.log_size = size & 0xFFFFFFFF
        if self._spec_id_event():
            self._set_failure()

    @c_word("tpm-get-logsize")
    def get_logsize(self) -> None:                 # ( -- size )
        self.push(((self.log_next or 0) - self.log_base) & 0xFFFFFFFF)

    @c_word("tpm-is-working")
    def is_working_word(self) -> None:             # ( -- true|false )
        self.push(int(self.is_working()))

    @c_word("tpm-add-event-separators")
    def add_event_separators(self) -> None:        # ( start-pcr end-pcr -- errcode )
        start, end = (v & 0xFFFFFFFF for v in self.pop(2))
        self.push(self._separators(start, end))

    def _separators(self, start: int, end: int) -> int:
        if not self.is_working():
            return TCGBIOS_GENERAL_ERROR
        if start >= PCR_COUNT or start > end:
            return TCGBIOS_INVALID_INPUT_PARA
        separator = b"\xff" * 4
        for pcr in range(start, end + 1):
            rc = self.measure(pcr, EV_SEPARATOR, separator, separator)
            if rc:
                return rc
        return 0

    @c_word("tpm-measure-bcv-mbr")
    def measure_bcv_mbr(self) -> None:             # ( bootdrv addr length -- errcode )
        bootdrv, addr, length = self.pop(3)
        self.push(self._bcv_mbr(bootdrv & 0xFFFFFFFF, addr, length & 0xFFFFFFFF))

    def _bcv_mbr(self, bootdrv: int, addr: int, length: int) -> int:
        if not self.is_working():
            return TCGBIOS_GENERAL_ERROR
        if length < 0x200:
            return TCGBIOS_INVALID_INPUT_PARA
        action = (b"Booting BCV device 80h (HDD)" if bootdrv == BCV_DEVICE_HDD
                  else b"Booting BCV device 00h (Floppy)")
        rc = self.measure(4, EV_ACTION, action, action)
        if rc:
            return rc
        rc = self.measure(4, EV_IPL, b"MBR", self.guest_bytes(addr, 0x1B8))
        if rc:
            return rc
        return self.measure(5, EV_IPL_PARTITION_DATA, b"MBR PARTITION TABLE",
                            self.guest_bytes(addr + 0x1B8, 0x48))

    @c_word("tpm-gpt-set-lba1")
    def gpt_set_lba1(self) -> None:                # ( addr length -- )
        addr, length = self.pop(2)
        if not self.is_working():
            return
        if self.gpt is not None:
            self.free(self.gpt_address, self.gpt_allocated)
        self.gpt, self.gpt_allocated = None, GPT_DATA
        self.gpt_address = self.alloc(GPT_DATA)
        if not self.gpt_address:
            return
        header = self.guest_bytes(addr, min(GPT_HEADER, length & 0xFFFFFFFF))
        self.gpt = bytearray(header.ljust(GPT_HEADER, b"\0") + bytes(8))

    @c_word("tpm-gpt-add-entry")
    def gpt_add_entry(self) -> None:               # ( addr length -- )
        addr, length = self.pop(2)
        if not self.is_working() or self.gpt is None or length & 0xFFFFFFFF < GPT_ENTRY:
            return
        entry = self.guest_bytes(addr, GPT_ENTRY)
        if not any(entry[:16]):
            return
        count = struct.unpack(">Q", self.gpt[GPT_HEADER:GPT_DATA])[0]
        needed = GPT_DATA + (count + 1) * GPT_ENTRY
        if needed > self.gpt_allocated:
            new = self.alloc(needed)
            self.free(self.gpt_address, self.gpt_allocated)
            if not new:
                self.gpt, self.gpt_address, self.gpt_allocated = None, 0, 0
                return
            self.gpt_address, self.gpt_allocated = new, needed
        del self.gpt[GPT_DATA + count * GPT_ENTRY:]
        self.gpt += entry
        self.gpt[GPT_HEADER:GPT_DATA] = struct.pack(">Q", count + 1)

    @c_word("tpm-measure-gpt")
    def measure_gpt(self) -> None:                 # ( -- errcode )
        if not self.is_working():
            self.push(TCGBIOS_GENERAL_ERROR)
            return
        if self.gpt is None:
            raise Throw(-9)             # the C code reads through a null pointer here
        data = bytes(self.gpt)
        self.push(self.measure(5, EV_EFI_GPT_EVENT, data, data))

    @c_word("tpm-measure-scrtm")
    def measure_scrtm(self) -> None:               # ( -- errcode )
        version = (self.release() + "\0").encode("utf-16-le")
        rc = self.measure(0, EV_S_CRTM_VERSION, version, version)
        if not rc:
            rc = self.measure(0, EV_S_CRTM_CONTENTS, b"S-CRTM Contents", self.firmware_text())
        self.push(rc)

    def release(self) -> str:
        """SLOF's RELEASE string, as its banner shows it (FW Version = ...)."""
        m = re.search(rb"FW Version = ([^\r\n]*)", self.slof.image.banner)
        return m.group(1).decode("latin-1") if m else ""

    def firmware_text(self) -> bytes:
        """What stands for paflof's text: the image's program file, or the boot text."""
        image = self.slof.image
        program = image._romfs_file("ofw_main")
        return program or image.boot_text

    @c_word("tpm-driver-get-failure-reason")
    def get_failure_reason(self) -> None:          # ( -- errcode )
        self.push(self.driver.error & 0xFFFFFFFF if self.found else 0)

    @c_word("tpm-driver-set-failure-reason")
    def set_failure_reason(self) -> None:          # ( errcode -- )
        (code,) = self.pop()
        if self.found:
            code &= 0xFFFFFFFF
            self.driver.error = code - (1 << 32) if code >> 31 else code

    # ------------------------------------------------------------ the TPM menu ('t' at boot)
    def _bank_flags(self) -> tuple[int, int]:
        """(supported, active) banks as menu flags: every selection the TPM listed."""
        supported = active = 0
        data, at = self.selection, 4
        while at + 3 <= len(data) and at + 3 + data[at + 2] <= len(data):
            alg, size = struct.unpack(">HB", data[at:at + 3])
            flag = next((f for f, a, _ in BANK_FLAGS if a == alg), 0)
            supported |= flag
            if any(data[at + 3:at + 3 + size]):
                active |= flag
            at += 3 + size
        return supported, active

    def _key(self) -> int:
        return self.forth("key")[0] & 0xFFFFFFFF

    def _set_banks(self, active: int) -> int:
        supported, _ = self._bank_flags()
        chosen = [struct.pack(">HB3s", alg, 3, (b"\xff" if active & flag else b"\0") * 3)
                  for flag, alg, _ in BANK_FLAGS if supported & flag]
        body = (struct.pack(">II", RH_PLATFORM, len(PASSWORD_SESSION)) + PASSWORD_SESSION
                + struct.pack(">I", len(chosen)) + b"".join(chosen))
        answer = self._transmit(ST_SESSIONS, CC_PCR_ALLOCATE, body, RSP_HEADER, SHORT)
        return -1 if answer is None else self._rc(answer)

    def _change_banks(self) -> None:
        supported, active = self._bank_flags()
        chosen = active
        while True:
            self.write_stdout(b"\nToggle active PCR banks by pressing number key\n\n")
            for number, (flag, _alg, name) in enumerate(BANK_FLAGS, 1):
                if supported & flag:
                    self.write_stdout(b"  %d: %s" % (number, name))
                    if chosen & flag:
                        self.write_stdout(b" (enabled)")
                    self.write_stdout(b"\n")
            self.write_stdout(b"\nESC: return to previous menu without changes\n")
            if chosen:
                self.write_stdout(b"a  : activate selection\n")
            while True:
                key = self._key()
                if key == ESC:
                    self.write_stdout(b"\n")
                    return
                if ord("1") <= key <= ord("5"):
                    flag = 1 << (key - ord("1"))
                    if supported & flag:
                        chosen ^= flag
                        break
                elif key == ord("a") and chosen:
                    if not self._set_banks(chosen) and \
                            not self._simple(CC_SHUTDOWN, struct.pack(">H", SU_CLEAR), SHORT):
                        self.forth("reset-all", results=0)

    @c_word("tpm20-menu")
    def menu(self) -> None:                        # ( -- )
        while True:
            self.write_stdout(b"1. Clear TPM\n2. Change active PCR banks\n")
            self.write_stdout(b"\nIf not change is desired or if this menu was reached by "
                              b"mistake, press ESC to\ncontinue the boot.\n")
            while True:
                key = self._key()
                if key == ESC:
                    return
                if key == ord("1"):
                    rc = self._platform(CC_CLEAR_CONTROL, b"\0", SHORT)
                    if not rc:
                        rc = self._platform(CC_CLEAR, b"", MEDIUM)
                    if rc:
                        self.write_stdout(b"An error occurred clearing the TPM: 0x%x\n"
                                          % (rc & 0xFFFFFFFF))
                    break
                if key == ord("2"):
                    self._change_banks()
                    break

    @c_word("tpm-hash-log-extend-event-buffer")
    def hash_log_extend_event_buffer(self) -> None:
        # ( pcr evt data-ptr data-len desc-ptr desclen is_elf -- errcode )
        pcr, event_type, data, length, desc, desc_length, is_elf = self.pop(7)
        pcr, event_type = pcr & 0xFFFFFFFF, event_type & 0xFFFFFFFF
        description = self.guest_bytes(desc, desc_length & 0xFFFFFFFF)
        if is_elf & 0xFFFFFFFF:
            size = elf_file_size(self.guest_bytes(data, length))
            if size <= 0:
                named = self.guest_bytes(desc, min(255, len(self.vm.mem) - desc)).split(b"\0")[0]
                text = (b"BAD ELF FILE: " + named)[:255]
                self.push(self.measure(pcr, event_type, text, text))
                return
            length = size
        self.push(self.measure(pcr, event_type, description, self.guest_bytes(data, length)))

    @c_word("tpm-2hash-ext-log")
    def two_hash_ext_log(self) -> None:
        # ( pcr event-type info info-len data data-len -- success? )
        pcr, event_type, info, info_length, data, length = self.pop(6)
        rc = self.measure(pcr & 0xFFFFFFFF, event_type & 0xFFFFFFFF,
                          self.guest_bytes(info, info_length & 0xFFFFFFFF),
                          self.guest_bytes(data, length & 0xFFFFFFFF))
        self.push(0 if rc else 0xFFFFFFFF)


LIBRARY = LibTpm
