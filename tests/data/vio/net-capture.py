"""Boot real SLOF on QEMU with one spapr-vlan whose network is a UDP socket nobody listens
on (so no DHCP server answers), record the frames SLOF sends with QEMU's filter-dump, and
write them to net-frames.txt: one line per frame, seconds since the previous frame, then
the frame in hex. Usage (about 100 s: SLOF's ten DHCP attempts run in real time):

    python tests/data/vio/net-capture.py
"""
import importlib.util
import struct
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds" / "make-seeds.py"


def frames(pcap: bytes) -> list[tuple[float, bytes]]:
    """(time, frame) of each record of a little-endian pcap file."""
    out, at = [], 24
    while at + 16 <= len(pcap):
        seconds, micros, length, _ = struct.unpack_from("<IIII", pcap, at)
        out.append((seconds + micros / 1e6, pcap[at + 16:at + 16 + length]))
        at += 16 + length
    return out


def main() -> None:
    spec = importlib.util.spec_from_file_location("make_seeds", SEEDS)
    make_seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_seeds)
    with tempfile.TemporaryDirectory(prefix="slofpy-net-") as tmp:
        pcap = Path(tmp) / "frames.pcap"
        session = make_seeds.Session(
            ["-m", "512", "-netdev", "socket,id=n0,udp=127.0.0.1:39999,localaddr=127.0.0.1:39998",
             "-device", "spapr-vlan,netdev=n0",
             "-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"], cwd=tmp)
        try:
            session.wait_prompt(400)
        finally:
            session.close()
        lines, last = [], None
        for when, frame in frames(pcap.read_bytes()):
            lines.append(f"{0 if last is None else when - last:.3f} {frame.hex()}\n")
            last = when
    (HERE / "net-frames.txt").write_text(
        "# the frames real SLOF (Debian's slof.bin 20220719, QEMU 7.2) sent on a spapr-vlan "
        "with no DHCP server, captured by net-capture.py: seconds since the previous frame, "
        "the frame\n" + "".join(lines))


if __name__ == "__main__":
    main()
