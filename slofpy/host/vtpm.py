"""QEMU's tpm-spapr device (the PAPR vTPM): a TPM's commands over a VIO CRQ.

The guest sends 16-byte CRQ messages with H_SEND_CRQ: valid byte, message type, a 16-bit
length, a 32-bit data field (a bus address), 8 reserved bytes; all big-endian. What the
device does with them, as QEMU 7.2 does (answers are posted into the guest's CRQ through
`post`, slofpy.host.vio's other direction of H_SEND_CRQ):

* valid 0xC0 (init), message 1 (init) or 2 (init complete): answered with the same two
  bytes; other init messages are ignored;
* valid 0x80 (command), message 3 (get RTCE buffer size): answered 0x80 0x83 with the
  buffer size (4096: QEMU's limit; swtpm's own buffer is larger) in the length field;
* message 1 (get version): 0x80 0x81 and data 2 (TPM 2.0);
* message 4 (prepare to suspend): 0x80 0x84;
* message 2 (TPM command): the device reads a whole buffer (4096 bytes) by DMA at the
  data address, gives the TPM the command (as long as its header's size says, at most the
  buffer), writes the answer back by DMA at the same address and posts 0x80 0x82 with the
  answer's length, the data address and the request's reserved bytes. A failed read is
  answered 0x80 0xFF with error 3 in the data field (the TPM never sees the command); a
  failed write 0x80 0xFF with error 4;
* anything else is ignored.

QEMU's TPM backend answers later, from another thread; here the answer is there when
H_SEND_CRQ returns, as with slofpy's v-scsi. The TPM itself is slofpy.host.tpm2.
"""
from __future__ import annotations

import struct
from collections.abc import Callable

from slofpy.host.tce import DmaError, DmaSpace
from slofpy.host.tpm2 import Tpm2

VALID_INIT = 0xC0
VALID_COMMAND = 0x80
MSG_RESULT = 0x80

INIT = 0x01
INIT_COMPLETE = 0x02

GET_VERSION = 0x01
TPM_COMMAND = 0x02
GET_RTCE_BUFFER_SIZE = 0x03
PREPARE_TO_SUSPEND = 0x04
VTPM_ERROR = 0xFF

ERR_COPY_IN_FAILED = 0x3
ERR_COPY_OUT_FAILED = 0x4

BUFFER_SIZE = 4096
TPM_VERSION = 2

PostCrq = Callable[[bytes], int]


def crq_entry(valid: int, message: int, length: int = 0, data: int = 0,
              reserved: bytes = bytes(8)) -> bytes:
    """One 16-byte vTPM CRQ entry."""
    return struct.pack(">BBHI", valid, message, length & 0xFFFF, data & 0xFFFFFFFF) + reserved


class VtpmDevice:
    """One tpm-spapr device and the TPM behind it."""

    def __init__(self, tpm: Tpm2 | None = None) -> None:
        self.tpm = tpm if tpm is not None else Tpm2()
        self.commands: list[bytes] = []

    def receive(self, message: bytes, dma: DmaSpace, post: PostCrq) -> None:
        """One message the guest sent with H_SEND_CRQ."""
        valid, kind = message[0], message[1]
        if valid == VALID_INIT:
            if kind in (INIT, INIT_COMPLETE):
                post(crq_entry(VALID_INIT, kind))
        elif valid == VALID_COMMAND:
            if kind == TPM_COMMAND:
                self._tpm_command(message, dma, post)
            elif kind == GET_RTCE_BUFFER_SIZE:
                post(crq_entry(VALID_COMMAND, kind | MSG_RESULT, length=BUFFER_SIZE))
            elif kind == GET_VERSION:
                post(crq_entry(VALID_COMMAND, kind | MSG_RESULT, data=TPM_VERSION))
            elif kind == PREPARE_TO_SUSPEND:
                post(crq_entry(VALID_COMMAND, kind | MSG_RESULT))

    def _tpm_command(self, message: bytes, dma: DmaSpace, post: PostCrq) -> None:
        address = struct.unpack(">I", message[4:8])[0]
        try:
            buffer = dma.read(address, BUFFER_SIZE)
        except DmaError:
            post(crq_entry(MSG_RESULT, VTPM_ERROR, data=ERR_COPY_IN_FAILED))
            return
        size = struct.unpack(">I", buffer[2:6])[0]
        command = buffer[:min(size, BUFFER_SIZE)]
        self.commands.append(command)
        answer = self.tpm.execute(command)[:BUFFER_SIZE]
        try:
            dma.write(address, answer)
        except DmaError:
            post(crq_entry(MSG_RESULT, VTPM_ERROR, data=ERR_COPY_OUT_FAILED,
                           reserved=message[8:16]))
            return
        post(crq_entry(MSG_RESULT, TPM_COMMAND | MSG_RESULT, length=len(answer),
                       data=address, reserved=message[8:16]))
