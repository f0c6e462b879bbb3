"""SLOF's own xHCI, USB keyboard and e1000 drivers and its network boot on slofpy's host, end to
end, on the pci-misc machine (QEMU's -device e1000 -device qemu-xhci -device usb-kbd): the
console real SLOF printed while booting it (tests/data/slof-boot/pci-misc.console.raw,
captured by tests/data/slof-boot/capture.py), the tree it flattened, what the devices saw, and
the keyboard's words at the prompt."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TREE_SCORE
from slofpy.host.qemu import QemuBackend
from slofpy.host.usb_devices import UsbDeviceSpec
from slofpy.host.usb_keyboard import UsbKeyboard
from slofpy.host.xhci import XhciController
from slofpy.slof.boot import boot_slof

DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "seeds" / "pci-misc.seed.dtb"
CONSOLE = DATA / "slof-boot" / "pci-misc.console.raw"
XHCI_LOC = "qemu_qemu-xhci:0000:00:01.0"
BANNER = re.compile(r"  (Copyright \(c\) |This program and the accompanying |under the terms of "
                    r"the BSD |http://www\.opensource\.org/|\[SLOF's copyright banner)")


def lines(text: str) -> list[str]:
    """Console text as lines: checkpoints and terminal escapes dropped, CRLF and lone CRs
    made line ends, blank lines, trailing blanks and the copyright banner dropped."""
    text = re.sub(r"C0[0-9A-F]{3}\r", "", text)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [line.rstrip() for line in re.split(r"\r\n|\n|\r", text)
            if line.strip() and not BANNER.match(line)]


def boot(slof_bin, usb_devices=(UsbDeviceSpec("kbd", 1),), out=None):
    host = QemuBackend()
    host.usb_devices = {XHCI_LOC: usb_devices} if usb_devices else {}
    out = [] if out is None else out
    machine = boot_slof(slof_bin, seed=SEED, host=host, output=out.append, timeout=300)
    machine.vm.flush()
    return machine, host, "".join(out)


def model(host, kind):
    return next(f.model for _, f in host.mmio.functions if isinstance(f.model, kind))


@pytest.fixture(scope="module")
def booted(slof_bin):
    return boot(slof_bin)


@pytest.fixture(scope="module")
def registers_at_prompt(booted):
    """The xHCI's registers right after the boot (before any test quiesces the machine)."""
    _, host, _ = booted
    xhci = model(host, XhciController)
    return {offset: int.from_bytes(xhci.read_bytes(offset, 4), "big")
            for offset in list(range(0, 0x40, 4)) + [0x440 + 0x10 * i for i in range(8)]}


def test_the_console_shows_what_real_slof_prints(booted):
    _, _, console = booted
    real = CONSOLE.read_bytes().split(b"\n", 1)[1].decode("latin-1")
    ours, theirs = lines(console), lines(real)
    start = theirs.index("Populating /vdevice methods")
    assert theirs[-2:] == ["Ready!", "0 >"]
    assert ours[ours.index("Populating /vdevice methods"):] == theirs[start:-1]


def test_the_xhci_registers_at_the_prompt_are_what_real_qemu_held(registers_at_prompt):
    """tests/data/usb/xhci-registers.txt: real QEMU's registers read with rl@ at real SLOF's
    prompt (byte-swapped, as rl@ reads them), captured by tests/data/usb/capture.py."""
    real = {}
    for line in (DATA / "usb" / "xhci-registers.txt").read_text().splitlines():
        if not line.startswith("#"):
            offset, value = line.split()
            real[int(offset, 16)] = int(value, 16)
    ours = {offset: registers_at_prompt[offset] for offset in real}
    assert {f"{k:x}": f"{v:x}" for k, v in ours.items()} == \
        {f"{k:x}": f"{v:x}" for k, v in real.items()}


def test_the_tree_is_real_slofs(booted, registers_at_prompt, tmp_path):
    machine, host, _ = booted
    machine.quiesce()
    ours = tmp_path / "ours.dtb"
    ours.write_bytes(host.stored_blob)
    result = subprocess.run([sys.executable, str(TREE_SCORE), str(SEED.with_name(
        "pci-misc.slof.dtb")), str(ours), "--show"], capture_output=True, text=True, check=True)
    shown = result.stdout.strip().splitlines()
    assert [line for line in shown[:-1] if not line.startswith("  ok")] == []
    # quiesce ran the xHCI driver's exit: halted, no event ring
    xhci = model(host, XhciController)
    assert xhci.read_bytes(0x44, 4)[0] & 1
    assert xhci.interrupters[0].erstsz == 0 and xhci.dcbaap == 0
    assert xhci.unmodelled == []


def test_the_keyboard_was_enumerated_as_slofs_usb_core_does(booted):
    _, host, _ = booted
    keyboard = model(host, XhciController).devices[0]
    assert keyboard.address == 1 and keyboard.configuration == 1
    get_device, get_config, set_config = (0x80, 6, 0x100), (0x80, 6, 0x200), (0, 9, 1)
    assert [r[:3] for r in keyboard.requests[:6]] == [
        (0, 5, 1), get_device, get_device, get_config, get_config, set_config]
    assert [r[4] for r in keyboard.requests[1:5]] == [8, 18, 9, 34]


def test_the_net_boot_sends_ten_rounds_of_dhcp_and_gets_no_answer(booted):
    _, host, _ = booted
    from slofpy.host.e1000 import E1000
    sent = model(host, E1000).sent
    assert len(sent) == 30
    kinds = [(f[12:14].hex(), f[23] if f[12:14] == b"\x08\x00" else f[20]) for f in sent]
    assert kinds == [("0800", 17), ("86dd", 58), ("86dd", 17)] * 10    # UDP, ICMPv6, UDP
    discover = sent[0]
    assert discover[:6] == b"\xff" * 6 and discover[6:12] == bytes.fromhex("525400123456")
    assert discover[34:38] == bytes([0, 68, 0, 67]) and discover[42] == 1           # BOOTREQUEST
    assert discover[42 + 236:42 + 243] == bytes([0x63, 0x82, 0x53, 0x63, 53, 1, 1])  # DISCOVER


def test_without_a_usb_device_the_controller_stays_empty(slof_bin):
    out: list[str] = []
    machine, host, console = boot(slof_bin, usb_devices=(), out=out)
    assert "  XHCI: Initializing" in console and "USB Keyboard" not in console
    out.clear()
    machine.interpret_line("devalias", timeout=60)
    machine.vm.flush()
    aliases = "".join(out)
    assert "usb0 : /pci@800000020000000/usb-xhci@1" in aliases and "keyboard" not in aliases


class PressingKeyboard(UsbKeyboard):
    """A usb-kbd on which "a" is pressed once and then released."""

    def __init__(self):
        super().__init__()
        self.reports = [bytes([0, 0, 4, 0, 0, 0, 0, 0]), bytes(8)]

    def interrupt_in(self, endpoint, length):
        return self.reports.pop(0) if self.reports else None


def test_the_keyboard_words_at_the_prompt(slof_bin, monkeypatch):
    from slofpy.host import usb_keyboard
    monkeypatch.setitem(usb_keyboard.USB_DEVICE_MODELS, "usb-kbd", PressingKeyboard)
    out: list[str] = []
    machine, host, _ = boot(slof_bin, out=out)
    keyboard = model(host, XhciController).devices[0]
    machine.vm.s.clear()
    machine.interpret_line('" keyboard" open-dev value kbd  kbd 0<> .', timeout=60)
    machine.vm.flush()
    requests = [r[:2] for r in keyboard.requests]
    assert requests[-3:] == [(0x21, 0x0B), (0x21, 0x0A), (0xA1, 0x01)]   # protocol, idle, report
    out.clear()
    machine.interpret_line('s" key-available?" kbd $call-method .', timeout=60)
    machine.interpret_line('pad 1 s" read" kbd $call-method . pad c@ .', timeout=60)
    machine.interpret_line('s" key-available?" kbd $call-method .', timeout=60)
    machine.vm.flush()
    assert "".join(out).split() == ["-1", "1", "61", "0"]
    machine.interpret_line('kbd close-dev', timeout=60)


def pcap_frames(path: Path) -> list[bytes]:
    data, frames, at = path.read_bytes(), [], 24
    while at < len(data):
        length = int.from_bytes(data[at + 8:at + 12], "little")
        frames.append(data[at + 16:at + 16 + length])
        at += 16 + length
    return frames


def internet_checksum_ok(data: bytes) -> bool:
    if len(data) & 1:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_the_frames_are_real_slofs_but_for_transaction_ids_and_checksums(booted):
    """tests/data/slof-boot/pci-misc.net.pcap: what real SLOF sent from the e1000 under QEMU
    (the pci-misc machine with the e1000 on a hub port of its own and a filter-dump)."""
    _, host, _ = booted
    from slofpy.host.e1000 import E1000
    ours, real = model(host, E1000).sent, pcap_frames(DATA / "slof-boot" / "pci-misc.net.pcap")
    assert len(ours) == len(real) == 30
    # bytes left out: UDP checksum and xid (DHCPv4), ICMPv6 checksum (router solicitation),
    # UDP checksum and transaction id (DHCPv6)
    skip = {342: {40, 41, 46, 47, 48, 49}, 70: {56, 57}, 96: {60, 61, 63, 64, 65}}
    for n, (a, b) in enumerate(zip(ours, real)):
        assert len(a) == len(b), n
        leave = skip[len(b)]
        assert [x for i, x in enumerate(a) if i not in leave] == \
            [x for i, x in enumerate(b) if i not in leave], n
    discover, solicitation, request = ours[:3]
    assert internet_checksum_ok(discover[14:34])
    udp = discover[34:]
    assert internet_checksum_ok(bytes(4) + b"\xff" * 4 + bytes([0, 17])
                                + len(udp).to_bytes(2, "big") + udp)
    for frame, proto in ((solicitation, 58), (request, 17)):
        payload = frame[54:]
        assert internet_checksum_ok(frame[22:54] + len(payload).to_bytes(4, "big")
                                    + bytes([0, 0, 0, proto]) + payload)
    assert solicitation[56:58] == real[1][56:58]            # same addresses, no xid: same sum
