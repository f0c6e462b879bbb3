"""A small TPM 2.0: the commands firmware sends while it boots, answered as swtpm answers them.

This is the TPM behind the vTPM (slofpy.host.vtpm carries its commands over the CRQ). It
answers what SLOF's libtpm sends, the way a freshly made swtpm 0.7 (libtpms) does
(tests/data/vio/swtpm.txt is the transcript it is checked against):

- Startup(CLEAR) once (a second one: TPM_RC_INITIALIZE); every other command before it:
  TPM_RC_INITIALIZE; Shutdown;
- SelfTest;
- GetCapability(TPM_CAP_PCRS): four banks (SHA-1, SHA-256, SHA-384, SHA-512), all 24
  PCRs of each allocated; PCR_Allocate changes that after the next Startup;
- PCR_Extend with a list of digests, done with hashlib; PCR_Read;
- StirRandom, GetRandom (at most 32 bytes, os.urandom);
- HierarchyChangeAuth, HierarchyControl, ClearControl and Clear on the platform hierarchy,
  with password sessions: an empty password is right until HierarchyChangeAuth set another
  one (then TPM_RC_BAD_AUTH + session 1);
- anything else: TPM_RC_COMMAND_CODE.

A malformed command (too short, wrong size field) gets a TPM_RC_... code, never an
exception: the bytes come from the guest.
"""
from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field

ST_NO_SESSIONS = 0x8001
ST_SESSIONS = 0x8002

CC_HIERARCHY_CONTROL = 0x121
CC_CLEAR = 0x126
CC_CLEAR_CONTROL = 0x127
CC_HIERARCHY_CHANGE_AUTH = 0x129
CC_PCR_ALLOCATE = 0x12B
CC_SELF_TEST = 0x143
CC_STARTUP = 0x144
CC_SHUTDOWN = 0x145
CC_STIR_RANDOM = 0x146
CC_GET_CAPABILITY = 0x17A
CC_GET_RANDOM = 0x17B
CC_PCR_READ = 0x17E
CC_PCR_EXTEND = 0x182

RC_SUCCESS = 0x000
RC_INITIALIZE = 0x100
RC_FAILURE = 0x101
RC_COMMAND_SIZE = 0x142
RC_COMMAND_CODE = 0x143
RC_AUTHSIZE = 0x144
RC_BAD_TAG = 0x01E
RC_VALUE = 0x084
RC_HASH = 0x083
RC_SIZE = 0x095
RC_HIERARCHY = 0x085
RC_BAD_AUTH = 0x0A2
RC_AUTH_MISSING = 0x125
RC_INSUFFICIENT = 0x09A
RC_PARAMETER_1 = 0x1C0       # format-one code + parameter 1
RC_HANDLE_1 = 0x080          # format-one code + handle 1
RC_SESSION_1 = 0x900         # format-one code + session 1

SU_CLEAR = 0
CAP_PCRS = 5
RS_PW = 0x40000009
RH_OWNER = 0x40000001
RH_ENDORSEMENT = 0x4000000B
RH_PLATFORM = 0x4000000C

PCR_COUNT = 24
SELECT_BYTES = 3
MAX_RANDOM = 32

ALGORITHMS = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}
"""The hash algorithms the TPM implements (TPM_ALG_ID -> hashlib name), in bank order."""


class _Short(Exception):
    """The command ended before a field it must have."""


class _Reader:
    """Big-endian fields from a command body."""

    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data = data
        self.at = at

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise _Short
        out = self.data[self.at:self.at + size]
        self.at += size
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def sized(self) -> bytes:
        """A TPM2B: a 16-bit size and that many bytes."""
        return self.take(self.u16())


@dataclass
class Tpm2:
    """The TPM's state: started or not, the PCR banks, the hierarchies and their passwords."""

    started: bool = False
    banks: dict[int, list[bytes]] = field(default_factory=dict)
    pending_banks: list[int] | None = None
    platform_auth: bytes = b""
    enabled: dict[int, bool] = field(default_factory=lambda: {
        RH_OWNER: True, RH_ENDORSEMENT: True, RH_PLATFORM: True})
    clear_disabled: bool = False
    stirred: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.banks:
            self.banks = {alg: self._reset_bank(alg) for alg in ALGORITHMS}

    @staticmethod
    def _reset_bank(alg: int) -> list[bytes]:
        return [bytes(hashlib.new(ALGORITHMS[alg]).digest_size)] * PCR_COUNT

    # ------------------------------------------------------------------ the command entry
    def execute(self, command: bytes) -> bytes:
        """The answer to one command (header: tag, size, command code; big-endian)."""
        if len(command) < 10:
            return self._answer(RC_COMMAND_SIZE)
        tag, size, code = struct.unpack(">HII", command[:10])
        if tag not in (ST_NO_SESSIONS, ST_SESSIONS):
            return self._answer(RC_BAD_TAG)
        if size != len(command):
            return self._answer(RC_COMMAND_SIZE)
        handler = self._handlers().get(code)
        if handler is None:
            return self._answer(RC_COMMAND_CODE)
        if not self.started and code != CC_STARTUP:
            return self._answer(RC_INITIALIZE)
        try:
            return handler(tag, _Reader(command, 10))
        except _Short:
            return self._answer(RC_INSUFFICIENT | RC_PARAMETER_1)

    def _handlers(self):
        return {
            CC_STARTUP: self._startup, CC_SHUTDOWN: self._shutdown,
            CC_SELF_TEST: self._self_test, CC_GET_CAPABILITY: self._get_capability,
            CC_PCR_EXTEND: self._pcr_extend, CC_PCR_READ: self._pcr_read,
            CC_STIR_RANDOM: self._stir_random, CC_GET_RANDOM: self._get_random,
            CC_HIERARCHY_CHANGE_AUTH: self._hierarchy_change_auth,
            CC_HIERARCHY_CONTROL: self._hierarchy_control,
            CC_CLEAR_CONTROL: self._clear_control, CC_CLEAR: self._clear,
            CC_PCR_ALLOCATE: self._pcr_allocate,
        }

    @staticmethod
    def _answer(rc: int, parameters: bytes = b"", sessions: bool = False) -> bytes:
        """A response: with sessions, the parameter size, the parameters and one password
        session's answer (no nonce, continueSession set, no hmac)."""
        if sessions and rc == RC_SUCCESS:
            body = struct.pack(">I", len(parameters)) + parameters + struct.pack(">HBH", 0, 1, 0)
            tag = ST_SESSIONS
        else:
            body = parameters if rc == RC_SUCCESS else b""
            tag = ST_NO_SESSIONS
        return struct.pack(">HII", tag, 10 + len(body), rc) + body

    def _authorize(self, tag: int, reader: _Reader, handle: int) -> int:
        """Check the one password session of an authorized command: RC_SUCCESS or a code."""
        if tag != ST_SESSIONS:
            return RC_AUTH_MISSING
        area = _Reader(reader.take(reader.u32()))
        session = area.u32()
        area.sized()                         # nonce
        area.u8()                            # attributes
        password = area.sized()
        if session != RS_PW:
            return RC_VALUE | RC_HANDLE_1
        wanted = self.platform_auth if handle == RH_PLATFORM else b""
        if password != wanted:
            return RC_BAD_AUTH | RC_SESSION_1
        return RC_SUCCESS

    # ------------------------------------------------------------------ the commands
    def _startup(self, tag: int, reader: _Reader) -> bytes:
        kind = reader.u16()
        if self.started:
            return self._answer(RC_INITIALIZE)
        if kind != SU_CLEAR:
            return self._answer(RC_VALUE | RC_PARAMETER_1)
        if self.pending_banks is not None:
            self.banks = {alg: self._reset_bank(alg) for alg in self.pending_banks}
            self.pending_banks = None
        else:
            self.banks = {alg: self._reset_bank(alg) for alg in self.banks}
        self.started = True
        self.platform_auth = b""
        self.enabled = {RH_OWNER: True, RH_ENDORSEMENT: True, RH_PLATFORM: True}
        return self._answer(RC_SUCCESS)

    def _shutdown(self, tag: int, reader: _Reader) -> bytes:
        reader.u16()
        self.started = False
        return self._answer(RC_SUCCESS)

    def _self_test(self, tag: int, reader: _Reader) -> bytes:
        reader.u8()
        return self._answer(RC_SUCCESS)

    def pcr_selection(self) -> bytes:
        """TPML_PCR_SELECTION of the implemented banks, all PCRs selected in the allocated."""
        out = struct.pack(">I", len(ALGORITHMS))
        for alg in ALGORITHMS:
            select = b"\xff" * SELECT_BYTES if alg in self.banks else bytes(SELECT_BYTES)
            out += struct.pack(">HB", alg, SELECT_BYTES) + select
        return out

    def _get_capability(self, tag: int, reader: _Reader) -> bytes:
        capability, _prop, _count = reader.u32(), reader.u32(), reader.u32()
        if capability != CAP_PCRS:
            return self._answer(RC_VALUE | RC_PARAMETER_1)
        return self._answer(RC_SUCCESS, b"\0" + struct.pack(">I", CAP_PCRS)
                            + self.pcr_selection())

    def _pcr_extend(self, tag: int, reader: _Reader) -> bytes:
        pcr = reader.u32()
        if pcr >= PCR_COUNT:
            return self._answer(RC_VALUE | RC_HANDLE_1)
        rc = self._authorize(tag, reader, pcr)
        if rc:
            return self._answer(rc)
        digests = []
        for _ in range(reader.u32()):
            alg = reader.u16()
            if alg not in ALGORITHMS:
                return self._answer(RC_HASH | RC_PARAMETER_1)
            digests.append((alg, reader.take(hashlib.new(ALGORITHMS[alg]).digest_size)))
        for alg, digest in digests:
            if alg in self.banks:
                bank = self.banks[alg]
                bank[pcr] = hashlib.new(ALGORITHMS[alg], bank[pcr] + digest).digest()
        return self._answer(RC_SUCCESS, sessions=True)

    def _pcr_read(self, tag: int, reader: _Reader) -> bytes:
        values, selections = [], struct.pack(">I", 0)
        chosen = []
        for _ in range(reader.u32()):
            alg, size = reader.u16(), reader.u8()
            select = reader.take(size)
            chosen.append((alg, select))
            for pcr in range(min(PCR_COUNT, 8 * size)):
                if select[pcr // 8] >> pcr % 8 & 1 and alg in self.banks:
                    values.append(self.banks[alg][pcr])
        selections = struct.pack(">I", len(chosen)) + b"".join(
            struct.pack(">HB", alg, len(s)) + s for alg, s in chosen)
        digests = struct.pack(">I", len(values)) + b"".join(
            struct.pack(">H", len(v)) + v for v in values)
        return self._answer(RC_SUCCESS, struct.pack(">I", 0) + selections + digests)

    def _stir_random(self, tag: int, reader: _Reader) -> bytes:
        self.stirred.append(reader.sized())
        return self._answer(RC_SUCCESS)

    def _get_random(self, tag: int, reader: _Reader) -> bytes:
        count = min(reader.u16(), MAX_RANDOM)
        return self._answer(RC_SUCCESS, struct.pack(">H", count) + os.urandom(count))

    def _platform_command(self, tag: int, reader: _Reader) -> int:
        """The handle and password session of a command on the platform hierarchy."""
        handle = reader.u32()
        if handle != RH_PLATFORM:
            return RC_HIERARCHY | RC_HANDLE_1
        return self._authorize(tag, reader, handle)

    def _hierarchy_change_auth(self, tag: int, reader: _Reader) -> bytes:
        rc = self._platform_command(tag, reader)
        if rc:
            return self._answer(rc)
        auth = reader.sized()
        if len(auth) > hashlib.sha512().digest_size:
            return self._answer(RC_SIZE | RC_PARAMETER_1)
        self.platform_auth = auth.rstrip(b"\0")
        return self._answer(RC_SUCCESS, sessions=True)

    def _hierarchy_control(self, tag: int, reader: _Reader) -> bytes:
        rc = self._platform_command(tag, reader)
        if rc:
            return self._answer(rc)
        hierarchy, state = reader.u32(), reader.u8()
        if hierarchy not in self.enabled:
            return self._answer(RC_VALUE | RC_PARAMETER_1)
        self.enabled[hierarchy] = bool(state)
        return self._answer(RC_SUCCESS, sessions=True)

    def _clear_control(self, tag: int, reader: _Reader) -> bytes:
        rc = self._platform_command(tag, reader)
        if rc:
            return self._answer(rc)
        self.clear_disabled = bool(reader.u8())
        return self._answer(RC_SUCCESS, sessions=True)

    def _clear(self, tag: int, reader: _Reader) -> bytes:
        rc = self._platform_command(tag, reader)
        if rc:
            return self._answer(rc)
        if self.clear_disabled:
            return self._answer(0x120)           # TPM_RC_DISABLED
        return self._answer(RC_SUCCESS, sessions=True)

    def _pcr_allocate(self, tag: int, reader: _Reader) -> bytes:
        rc = self._platform_command(tag, reader)
        if rc:
            return self._answer(rc)
        allocated = []
        for _ in range(reader.u32()):
            alg, size = reader.u16(), reader.u8()
            select = reader.take(size)
            if alg not in ALGORITHMS:
                return self._answer(RC_HASH | RC_PARAMETER_1)
            if any(select):
                allocated.append(alg)
        self.pending_banks = allocated
        # allocationSuccess, maxPCR, sizeNeeded, sizeAvailable
        return self._answer(RC_SUCCESS, struct.pack(">BIII", 1, PCR_COUNT, 0, 0),
                            sessions=True)
