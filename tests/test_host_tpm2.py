"""slofpy's TPM 2.0 (slofpy.host.tpm2) against swtpm: the commands SLOF's libtpm sends while
it boots, in the order it sends them, answered byte for byte as a freshly made swtpm 0.7.1
answered them (tests/data/vio/swtpm.txt, written by swtpm-capture.py next to it); GetRandom's
bytes are random on both sides, so only their shape is compared."""
import hashlib
import struct
from pathlib import Path

from slofpy.host import tpm2
from slofpy.host.tpm2 import Tpm2

TRANSCRIPT = Path(__file__).parent / "data" / "vio" / "swtpm.txt"
PASSWORD = struct.pack(">IHBH", 0x40000009, 0, 1, 0)


def exchanges() -> list[tuple[bytes, bytes]]:
    lines = TRANSCRIPT.read_text().splitlines()
    sent = [bytes.fromhex(line[2:]) for line in lines if line.startswith("> ")]
    answered = [bytes.fromhex(line[2:]) for line in lines if line.startswith("< ")]
    assert len(sent) == len(answered) > 10
    return list(zip(sent, answered))


def command(tag: int, code: int, body: bytes) -> bytes:
    return struct.pack(">HII", tag, 10 + len(body), code) + body


def test_the_boot_commands_get_swtpms_answers():
    tpm = Tpm2()
    for request, swtpm in exchanges():
        ours = tpm.execute(request)
        if struct.unpack(">I", request[6:10])[0] == tpm2.CC_GET_RANDOM:
            assert ours[:12] == swtpm[:12] and len(ours) == len(swtpm)
        else:
            assert ours.hex() == swtpm.hex(), request.hex()


def test_nothing_but_startup_before_startup():
    tpm = Tpm2()
    answer = tpm.execute(command(0x8001, tpm2.CC_SELF_TEST, b"\1"))
    assert struct.unpack(">HII", answer) == (0x8001, 10, tpm2.RC_INITIALIZE)


def test_pcr_extend_hashes_each_bank_and_pcr_read_shows_it():
    tpm = Tpm2()
    tpm.execute(command(0x8001, tpm2.CC_STARTUP, b"\0\0"))
    digests = b"".join(struct.pack(">H", alg) + hashlib.new(name, b"slofpy").digest()
                       for alg, name in tpm2.ALGORITHMS.items())
    body = struct.pack(">II", 7, len(PASSWORD)) + PASSWORD + struct.pack(">I", 4) + digests
    assert tpm.execute(command(0x8002, tpm2.CC_PCR_EXTEND, body))[6:10] == bytes(4)
    answer = tpm.execute(command(0x8001, tpm2.CC_PCR_READ,
                                 struct.pack(">IHB3s", 1, 0x000B, 3, b"\x80\0\0")))
    expected = hashlib.sha256(bytes(32) + hashlib.sha256(b"slofpy").digest()).digest()
    assert answer.endswith(struct.pack(">IH", 1, 32) + expected)
    assert tpm.banks[0x0004][7] == hashlib.sha1(bytes(20) + hashlib.sha1(b"slofpy").digest()
                                                ).digest()
    assert tpm.banks[0x0004][6] == bytes(20)


def test_a_malformed_command_is_an_error_code_not_an_exception():
    tpm = Tpm2()
    assert tpm.execute(b"\x80\x01")[6:10] == struct.pack(">I", tpm2.RC_COMMAND_SIZE)
    assert tpm.execute(command(0x8001, tpm2.CC_STARTUP, b"\0\0")[:-1] + b"")[6:10] == \
        struct.pack(">I", tpm2.RC_COMMAND_SIZE)
    short = struct.pack(">HII", 0x8001, 10, tpm2.CC_STARTUP)
    assert struct.unpack(">I", tpm.execute(short)[6:10])[0] != 0
    assert tpm.started is False
