"""libtpm's vTPM driver: a TPM command and its answer over the PAPR vTPM's CRQ, as SLOF's C
driver (lib/libtpm's tpm_drivers.c) does it, in Python.

The driver works in guest memory and through hcalls only, like the C code: a 4 KiB queue
from alloc-mem registered with H_REG_CRQ for the unit the Forth value `vtpm-unit` names;
an init message (0xC0 0x01), then a request for the size of the device's buffer (0x80
0x03), then a buffer of that size from alloc-mem. A TPM command is copied into that buffer
and announced with H_SEND_CRQ (0x80 0x02, its length, the buffer's address); the answer is
read from the address the device's CRQ entry names. SLOF runs vio-vtpm-cdriver.fs's
`vtpm-unit 1 rtas-set-tce-bypass` first, so these addresses are the buffers' own.

Each wait polls the entry it expects, sleeping 1 ms (SLOF's `us`, simulated time)
between looks, for as long as the C code does (the init and buffer-size waits look once;
a TPM command 750 ms or 2 s). The driver's state and error code are the C driver's
numbers (the firmware API's get-failure-reason shows the error); what it prints on
failure is what the C code prints.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...abi.hcalls import H_FREE_CRQ, H_REG_CRQ, H_SEND_CRQ, H_SUCCESS

if TYPE_CHECKING:
    from .libtpm import LibTpm

QUEUE_SIZE = 4096
CRQ_ENTRY = 16
VALID_INIT = 0xC0
VALID_COMMAND = 0x80
MSG_RESULT = 0x80
INIT_REQUEST = 0x01
TPM_COMMAND = 0x02
GET_RTCE_BUFFER_SIZE = 0x03
MIN_BUFFER = 1024
RSP_HEADER = 10

SHORT, MEDIUM, LONG = 0, 1, 2
DURATIONS_US = (750000, 2000000, 2000000)
POLL_US = 1000
ONE_LOOK_US = 10            # the init and buffer-size waits: one look, one sleep

# vtpm_drv_state
STATE_INVALID = 0
STATE_REG_CRQ = 2
STATE_WAIT_INIT = 3
STATE_SEND_INIT = 4
STATE_FAILURE = 5
STATE_WAIT_INIT_COMP = 6
STATE_SEND_BUFSIZE_REQ = 11
STATE_WAIT_BUFSIZE = 12
STATE_ALLOC_RTCE_BUF = 13
STATE_SEND_TPM_CMD = 14
STATE_WAIT_TPM_RSP = 15

# vtpm_drv_error
ERROR_NO_FAILURE = -1
ERROR_UNEXPECTED_REG_ERROR = 1
ERROR_WAIT_TIMEOUT = 5
ERROR_UNEXPECTED_SEND_ERROR = 6
ERROR_TPM_CRQ_ERROR = 10
ERROR_BAD_RTCE_SIZE = 12


class VtpmCrqDriver:
    """The driver's state (the C code's `spapr_vtpm`), working for library `lib`."""

    def __init__(self, lib: LibTpm) -> None:
        self.lib = lib
        self.initialized = False
        self.params_done = False
        self.unit = 0
        self.queue = 0
        self.next_entry = 0
        self.response = 0
        self.state = STATE_INVALID
        self.error = ERROR_NO_FAILURE
        self.buffer_size = 0
        self.buffer = 0

    def set_state(self, state: int, error: int) -> None:
        self.state, self.error = state, error

    # ------------------------------------------------------------------ the queue
    def _response_entry(self) -> int:
        """The entry the next answer will arrive in, cleared; the queue moves on."""
        entry = self.queue + CRQ_ENTRY * self.next_entry
        self.lib.fill(entry, bytes(CRQ_ENTRY))
        self.next_entry = (self.next_entry + 1) % (QUEUE_SIZE // CRQ_ENTRY)
        return entry

    def _answered(self, entry: int) -> bool:
        return bool(self.lib.get(entry, 1) & MSG_RESULT)

    def _send(self, message: bytes) -> int:
        high, low = struct.unpack(">QQ", message)
        return self.lib.hcall(H_SEND_CRQ, self.unit, high, low)[0]

    def _send_and_wait(self, message: bytes, timeout_us: int, sending: int,
                       waiting: int) -> int | None:
        """Send `message`, wait for the answer: its entry's address, or None."""
        entry = self._response_entry()
        self.set_state(sending, ERROR_NO_FAILURE)
        if self._send(message) != H_SUCCESS:
            self.set_state(STATE_WAIT_INIT, ERROR_TPM_CRQ_ERROR)
            return None
        self.set_state(waiting, ERROR_NO_FAILURE)
        for _ in range(0, timeout_us, POLL_US):
            if self._answered(entry):
                return entry
            self.lib.usleep(POLL_US)
        self.set_state(STATE_FAILURE, ERROR_WAIT_TIMEOUT)
        return None

    # ------------------------------------------------------------------ bringing it up
    def _get_params(self) -> bool:
        if self.params_done:
            return True
        message = struct.pack(">BB14x", VALID_COMMAND, GET_RTCE_BUFFER_SIZE)
        entry = self._send_and_wait(message, ONE_LOOK_US, STATE_SEND_BUFSIZE_REQ,
                                    STATE_WAIT_BUFSIZE)
        if entry is None:
            self.lib.write_stdout(b"spapr_vtpm_get_params: Failure getting RTCE buffer size "
                           b"from CRQ\n")
            return False
        self.set_state(STATE_ALLOC_RTCE_BUF, ERROR_NO_FAILURE)
        self.buffer_size = self.lib.get(entry + 2, 2)
        if self.buffer_size < MIN_BUFFER:
            self.lib.write_stdout(b"spapr_vtpm_get_params: RTCE buffer size of %d bytes is too "
                           b"small. Minimum is 1024 bytes.\n" % self.buffer_size)
            self.set_state(STATE_FAILURE, ERROR_BAD_RTCE_SIZE)
            return False
        self.buffer = self.lib.alloc(self.buffer_size)
        if not self.buffer:
            self.lib.write_stdout(b"spapr_vtpm_get_params: Could not allocate buffer of size "
                           b"%d.\n" % self.buffer_size)
            self.set_state(STATE_FAILURE, ERROR_BAD_RTCE_SIZE)
            return False
        self.params_done = True
        return True

    def _activate(self) -> bool:
        if self.error != ERROR_NO_FAILURE:
            self.lib.write_stdout(b"spapr_vtpm_activate: CRQ: In failure mode\n")
            return False
        self.set_state(STATE_REG_CRQ, ERROR_NO_FAILURE)
        if self.lib.hcall(H_REG_CRQ, self.unit, self.queue, QUEUE_SIZE)[0] != H_SUCCESS:
            self.set_state(STATE_WAIT_INIT, ERROR_UNEXPECTED_REG_ERROR)
            self.lib.write_stdout(b"spapr_vtpm_activate: CRQ registration failed\n")
            return False
        self.next_entry = 0
        if not self.initialized:
            message = struct.pack(">BB14x", VALID_INIT, INIT_REQUEST)
            if self._send_and_wait(message, ONE_LOOK_US, STATE_SEND_INIT,
                                   STATE_WAIT_INIT_COMP) is None:
                self.lib.write_stdout(b"spapr_vtpm_activate: Initializing CRQ failed\n")
                self._give_up()
                return False
            self.initialized = True
        if self._get_params():
            return True
        self._give_up()
        return False

    def _give_up(self) -> None:
        self.lib.hcall(H_FREE_CRQ, self.unit)
        self.unit = 0

    def probe(self) -> bool:
        """spapr_is_vtpm_present: a queue and a unit (the first time), then the CRQ
        registered and set up; the CRQ stays registered when this succeeds."""
        if not self.queue:
            self.queue = self.lib.alloc(QUEUE_SIZE)
            if not self.queue:
                self.lib.write_stdout(b"spapr_vtpm_probe: Unable to allocate memory\n")
                return False
            self.lib.fill(self.queue, bytes(QUEUE_SIZE))
            self.unit = self.lib.forth("vtpm-unit")[0]
            if not self.unit:
                self.lib.write_stdout(b"spapr_vtpm_probe: Could not get valid vtpm-unit\n")
                return False
        return self._activate()

    def finalize(self) -> None:
        """spapr_vtpm_finalize: the CRQ freed."""
        if self.unit:
            self.lib.hcall(H_FREE_CRQ, self.unit)
            self.unit = 0

    # ------------------------------------------------------------------ one TPM command
    def _failure_mode(self, function: bytes) -> bool:
        if self.error != ERROR_NO_FAILURE:
            self.lib.write_stdout(function + b": VTPM CRQ: In failure mode\n")
            return True
        return False

    def _send_data(self, command: bytes) -> bool:
        if self._failure_mode(b"spapr_vtpm_senddata"):
            return False
        if len(command) > self.buffer_size:
            self.lib.write_stdout(b"spapr_vtpm_senddata: VTPM CRQ: Send buffer too large: "
                           b"%d > %d\n" % (len(command), self.buffer_size))
            return False
        self.response = self._response_entry()
        self.lib.put(self.response + 4, self.buffer, 4)
        message = struct.pack(">BBHI8x", VALID_COMMAND, TPM_COMMAND, len(command) & 0xFFFF,
                              self.buffer & 0xFFFFFFFF)
        self.lib.fill(self.buffer, command)
        self.set_state(STATE_SEND_TPM_CMD, ERROR_NO_FAILURE)
        if self._send(message) == H_SUCCESS:
            self.set_state(STATE_WAIT_TPM_RSP, ERROR_NO_FAILURE)
            return True
        self.set_state(STATE_WAIT_INIT, ERROR_UNEXPECTED_SEND_ERROR)
        return False

    def _wait_response(self, duration: int) -> bool:
        if self._failure_mode(b"spapr_vtpm_waitresponseready"):
            return False
        for _ in range(0, DURATIONS_US[duration], POLL_US):
            if self._answered(self.response):
                self.set_state(STATE_SEND_TPM_CMD, ERROR_NO_FAILURE)
                return True
            self.lib.usleep(POLL_US)
        self.set_state(STATE_FAILURE, ERROR_WAIT_TIMEOUT)
        return False

    def _read_response(self, limit: int) -> bytes | None:
        if self._failure_mode(b"spapr_vtpm_readresponse"):
            return None
        length = min(limit, self.lib.get(self.response + 2, 2))
        address = self.lib.get(self.response + 4, 4)
        self.response = 0
        return self.lib.guest_bytes(address, length)

    def transmit(self, command: bytes, limit: int, duration: int) -> bytes | None:
        """spapr_transmit: the TPM's answer to `command` (at most `limit` bytes), or None
        when it failed or the answer is shorter than a response header."""
        size = struct.unpack(">I", command[2:6])[0]
        if not self._send_data(command[:size]) or not self._wait_response(duration):
            return None
        answer = self._read_response(limit)
        if answer is None or len(answer) < RSP_HEADER:
            return None
        return answer
