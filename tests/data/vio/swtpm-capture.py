"""Send the TPM 2.0 commands SLOF's libtpm sends during a boot to a freshly made swtpm (the
backend of make-seeds.py's "vio" configuration: `swtpm socket --tpm2` on an empty state
directory) and print each request and answer as hex lines (`> ...` sent, `< ...` answered).
slofpy's TPM 2.0 responder is checked against this transcript (swtpm.txt).

Usage (a second; needs swtpm):

    python tests/data/vio/swtpm-capture.py > tests/data/vio/swtpm.txt
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

ALGS = {0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512"}
PASSWORD_SESSION = struct.pack(">IHBH", 0x40000009, 0, 1, 0)


def command(tag: int, code: int, body: bytes) -> bytes:
    return struct.pack(">HII", tag, 10 + len(body), code) + body


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="slofpy-swtpm-") as tmp:
        path = os.path.join(tmp, "server.sock")
        proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={tmp}",
             "--server", f"type=unixio,path={path}",
             "--ctrl", f"type=unixio,path={tmp}/ctrl.sock", "--flags", "not-need-init"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(path):
                    break
                time.sleep(0.05)
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)

            def send(request: bytes) -> bytes:
                sock.sendall(request)
                answer = sock.recv(8192)
                while len(answer) < 6 or len(answer) < struct.unpack(">I", answer[2:6])[0]:
                    answer += sock.recv(8192)
                print("> " + request.hex())
                print("< " + answer.hex())
                return answer

            send(command(0x8001, 0x144, b"\0\0"))                       # Startup(CLEAR)
            send(command(0x8001, 0x143, b"\1"))                         # SelfTest(YES)
            caps = send(command(0x8001, 0x17A, struct.pack(">III", 5, 0, 8)))
            count = struct.unpack(">I", caps[15:19])[0]
            banks, at = [], 19
            for _ in range(count):
                alg, size = struct.unpack(">HB", caps[at:at + 3])
                if caps[at + 3]:
                    banks.append(alg)
                at += 3 + size
            for pcr, data in ((0, b"slofpy"), (4, b"\xff\xff\xff\xff")):
                digests = struct.pack(">I", len(banks)) + b"".join(
                    struct.pack(">H", alg) + hashlib.new(ALGS[alg], data).digest()
                    for alg in banks)
                send(command(0x8002, 0x182, struct.pack(">II", pcr, len(PASSWORD_SESSION))
                             + PASSWORD_SESSION + digests))
            send(command(0x8001, 0x146, struct.pack(">HQ", 8, 0x1234567)))   # StirRandom
            send(command(0x8001, 0x17B, struct.pack(">H", 20)))             # GetRandom
            send(command(0x8002, 0x129, struct.pack(">II", 0x4000000C, len(PASSWORD_SESSION))
                         + PASSWORD_SESSION + struct.pack(">H", 20) + bytes(range(20))))
            send(command(0x8002, 0x121, struct.pack(">II", 0x4000000C, len(PASSWORD_SESSION))
                         + PASSWORD_SESSION + struct.pack(">IB", 0x4000000B, 0)))
            send(command(0x8001, 0x144, b"\0\0"))                       # Startup again
            send(command(0x8001, 0x1FF, b""))                           # no such command
            sock.close()
        finally:
            proc.terminate()
            proc.wait(5)


if __name__ == "__main__":
    sys.exit(main())
