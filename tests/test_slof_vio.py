"""SLOF's own Forth (Debian's slof.bin) on the "vio" seed: two v-scsi adapters, an l-lan, a
second vty and a TPM 2.0 vTPM, with the SCSI devices real QEMU had. The oracle is real SLOF
on real QEMU with swtpm (tests/data/vio/, captured by capture.py there): its boot console,
and at its prompt the state of its TPM driver and the TPM event log it wrote.

The vTPM part runs SLOF's vio-vtpm-cdriver.fs and vtpm-sml.fs on slofpy's libtpm (the CRQ
driver and tcgbios in Python) and slofpy's tpm-spapr host model with its TPM 2.0."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from test_slof_boot import _lines
from test_slof_seeds import host_for
from slofpy.slof.boot import boot_slof
from slofpy.slof.libs import net_frames

DATA = Path(__file__).parent / "data"
VIO = DATA / "vio"
SEED = DATA / "seeds" / "vio.seed.dtb"
VTPM = 0x71000006
LLAN = 0x71000004
DIGEST_SIZES = {0x0004: 20, 0x000B: 32, 0x000C: 48, 0x000D: 64}


@pytest.fixture(scope="module")
def booted(slof_bin, tmp_path_factory):
    out: list[str] = []
    slof = boot_slof(slof_bin, seed=SEED,
                     host=host_for("vio", SEED.read_bytes(), tmp_path_factory.mktemp("vio")),
                     output=out.append, timeout=600)
    slof.vm.flush()
    return slof, "".join(out)


def prompt_replies() -> dict[str, str]:
    """Real SLOF's answers to the lines of prompt.forth: line -> answer (without ' ok')."""
    text = (VIO / "prompt.txt").read_text(encoding="latin-1")
    out = {}
    for block in text.split("> ")[1:]:
        line, _, answer = block.partition("\n")
        out[line] = re.sub(r"\s*ok\s*$", "", answer).strip()
    return out


def stack_after(slof, line: str) -> list[int]:
    depth = len(slof.vm.s)
    slof.evaluate(line, name="<test>")
    values = [slof.pop() for _ in range(len(slof.vm.s) - depth)]
    return values[::-1]


def test_the_boot_console_is_real_slofs(booted):
    _, console = booted
    real = (VIO / "boot.console.raw").read_bytes().split(b"\n", 1)[1].decode("latin-1")
    ours, theirs = _lines(console), _lines(real)
    start = theirs.index("Populating /vdevice methods")
    assert "Populating /vdevice/vtpm@71000006" in theirs
    assert "Giving up after 10 DHCP requests" in theirs
    assert theirs[-2:] == ["Ready!", "0 >"]
    assert ours[ours.index("Populating /vdevice methods"):] == theirs[start:-1]
    assert "not supported by slofpy" not in console


def test_the_net_boot_sent_the_frames_real_slof_sent(booted):
    slof, _ = booted
    sent = slof.host.vio.units[LLAN].llan.sent
    real = [bytes.fromhex(line.split()[1])
            for line in (VIO / "net-frames.txt").read_text().splitlines()[1:]]
    assert len(sent) == len(real) == 30
    mac = bytes.fromhex("525400123456")
    # the transaction ids are random (seeded from the timebase), the same in every attempt
    xid = struct.unpack(">I", sent[0][46:50])[0]
    tid = sent[2][63:66]
    # the router solicitations' checksums: right, right, then 0 and right in turn
    solicitations = [net_frames.router_solicitation(mac, stale) for stale in (0, 0, 0x6FB5)]
    assert solicitations[1][56:58] == b"\x6f\xb5" and solicitations[2][56:58] == b"\0\0"
    rs = [solicitations[0], solicitations[1]] + [solicitations[2], solicitations[1]] * 4

    def frames(xid: int, tid: bytes) -> list[bytes]:
        return [frame for i in range(10) for frame in (
            net_frames.dhcp_discover(mac, xid), rs[i],
            net_frames.dhcpv6_information_request(mac, tid))]
    assert sent == frames(xid, tid)
    assert real == frames(struct.unpack(">I", real[0][46:50])[0], real[2][63:66])


def test_the_tpm_works_and_its_driver_reports_no_failure(booted):
    slof, _ = booted
    real = prompt_replies()
    assert stack_after(slof, "tpm-is-working") == [int(real["tpm-is-working ."], 16)]
    assert stack_after(slof, "tpm-driver-get-failure-reason") == \
        [int(real["tpm-driver-get-failure-reason ."], 16)]
    assert stack_after(slof, "tpm-get-logsize") == [int(real["tpm-get-logsize ."], 16)]


def log_entries(log: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """The TPM 2.0 event log as (pcr, type, digests, event); the first entry is the
    TCG_PCClientPCREvent with a SHA-1-sized digest, the others TCG_PCR_EVENT2 with the
    digest sizes of four banks (SHA-1, SHA-256, SHA-384, SHA-512)."""
    out, at = [], 0
    while at < len(log):
        pcr, kind = struct.unpack_from("<II", log, at)
        at += 8
        end = at + 20
        if out:
            end = at + 4
            for _ in range(struct.unpack_from("<I", log, at)[0]):
                end += 2 + DIGEST_SIZES[struct.unpack_from("<H", log, end)[0]]
        digests = log[at:end]
        at += len(digests)
        length = struct.unpack_from("<I", log, at)[0]
        out.append((pcr, kind, digests, log[at + 4:at + 4 + length]))
        at += 4 + length
    return out


def test_the_event_log_is_real_slofs(booted):
    slof, _ = booted
    base, size = stack_after(slof, "s\" /vdevice/vtpm@71000006\" find-device log-base "
                                   "tpm-get-logsize device-end")
    ours = log_entries(slof.read(base, size))
    real = log_entries(bytes.fromhex("".join(
        prompt_replies()["log-base tpm-get-logsize hx"].split())))
    assert [e[:2] for e in ours] == [(0, 3), (0, 8), (0, 7)] == [e[:2] for e in real]
    # the Spec ID event and the version measurement, digests and all
    assert ours[:2] == real[:2]
    # the S-CRTM contents: SLOF hashes its running paflof's text segment, which an image
    # file does not hold as such (slofpy measures the image's paflof program file)
    assert ours[2][3] == real[2][3] == b"S-CRTM Contents"
    assert len(ours[2][2]) == len(real[2][2]) and ours[2][2] != real[2][2]


def test_the_tpm_saw_the_boot_and_leave_firmware(booted):
    slof, _ = booted
    vtpm = slof.host.vio.units[VTPM].vtpm
    codes = [struct.unpack(">I", c[6:10])[0] for c in vtpm.commands]
    # Startup, SelfTest, GetCapability, two PCR_Extend (S-CRTM), then leaving firmware
    # before the boot attempts: StirRandom, GetRandom, HierarchyChangeAuth
    assert codes == [0x144, 0x143, 0x17A, 0x182, 0x182, 0x146, 0x17B, 0x129]
    assert len(vtpm.tpm.platform_auth) > 0
    assert vtpm.tpm.banks[0x000B][0] != bytes(32)


def test_the_tpm_menu_is_real_slofs(slof_bin):
    """Real SLOF with 't' typed at boot, then 2, ESC, ESC (data/vio/tpm-menu.console.raw,
    menu-capture.py); here the menu is entered at the prompt with the same keys waiting."""
    from slofpy.host.qemu import QemuBackend
    host = QemuBackend()
    out: list[str] = []
    slof = boot_slof(slof_bin, seed=VIO / "tpm-menu.seed.dtb", host=host, output=out.append,
                     timeout=600)
    slof.vm.flush()
    out.clear()
    host.feed_console(b"2\x1b\x1b")
    slof.evaluate('s" /ibm,vtpm" find-node s" vtpm-menu" rot $call-static', name="<test>")
    slof.vm.flush()
    real = (VIO / "tpm-menu.console.raw").read_bytes().split(b"\n", 1)[1].decode("latin-1")
    theirs = _lines(real)
    menu = theirs[theirs.index("1. Clear TPM"):theirs.index("Trying to load:  from: disk ...")]
    assert menu.count("1. Clear TPM") == 2 and "  4: SHA512 (enabled)" in menu
    assert _lines("".join(out)) == menu


def test_the_tpm_menu_cannot_clear_the_tpm_after_leave_firmware(slof_bin):
    """At the prompt the boot has left firmware: the platform hierarchy's password is 20
    random bytes, so ClearControl with the empty one fails, and the menu says so."""
    from slofpy.host.qemu import QemuBackend
    host = QemuBackend()
    out: list[str] = []
    slof = boot_slof(slof_bin, seed=VIO / "tpm-menu.seed.dtb", host=host, output=out.append,
                     timeout=600)
    vtpm = host.vio.units[0x71000003].vtpm
    before = len(vtpm.commands)
    host.feed_console(b"1\x1b")
    slof.evaluate("tpm20-menu", name="<test>")
    slof.vm.flush()
    codes = [struct.unpack(">I", c[6:10])[0] for c in vtpm.commands[before:]]
    assert codes == [0x127]                    # ClearControl, refused: no Clear
    assert "An error occurred clearing the TPM: 0xffffffff" in _lines("".join(out))
    vtpm.tpm.platform_auth = b""                # as before leaving firmware
    host.feed_console(b"1\x1b")
    slof.evaluate("tpm20-menu", name="<test>")
    codes = [struct.unpack(">I", c[6:10])[0] for c in vtpm.commands[before:]]
    assert codes == [0x127, 0x127, 0x126]      # ClearControl, Clear
