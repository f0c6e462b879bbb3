"""SLOF's own virtio drivers on slofpy's host, end to end: real SLOF's image boots the seeds
with virtio PCI devices to its prompt, its tree is the one real SLOF flattened for them, and
the drivers answer lines typed at the prompt as real SLOF's do under QEMU 7.2
(tests/data/virtio/replies.txt, captured by tests/data/virtio/capture.py): through the
virtio 1.0 interface of transitional devices (pci-virtio, vserial-modern) and the legacy one
(virtio-legacy: the same devices with disable-modern=on, vserial-legacy)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TREE_SCORE
from slofpy.host.qemu import QemuBackend
from slofpy.host.scsi_devices import ScsiDeviceSpec
from slofpy.slof.boot import boot_slof

DATA = Path(__file__).resolve().parent / "data"
SEEDS = DATA / "seeds"
REPLIES = DATA / "virtio" / "replies.txt"


def disk0() -> bytes:
    """The virtio-blk image of the capture (capture.py's disk0)."""
    image = bytearray(1 << 20)
    image[0:4] = b"SLOF"
    image[0x1FE:0x200] = b"\x55\xaa"
    image[0x200:0x208] = b"sector 1"
    return bytes(image)


def seed_file(seed: str) -> Path:
    """The seed from tests/data/seeds, or for virtio-legacy the one capture.py dumped."""
    here = DATA / "virtio" / f"{seed}.seed.dtb"
    return here if here.exists() else SEEDS / f"{seed}.seed.dtb"


def host_for(seed: str, tmp_path: Path) -> QemuBackend:
    """The host with the drives the seed's QEMU command line had (make-seeds.py, capture.py)."""
    host = QemuBackend()
    if seed in ("pci-virtio", "virtio-legacy"):
        host.virtio_disks = {"qemu_virtio-blk-pci:0000:00:01.0": disk0()}
        blank = tmp_path / "disk1.img"
        blank.write_bytes(bytes(1 << 20))
        host.virtio_scsi_devices = {"qemu_virtio-scsi-pci:0000:00:02.0": (
            ScsiDeviceSpec("hd", image=str(blank), drive_name="d1"),)}
    return host


def boot(slof_bin: Path, seed: str, tmp_path: Path, out: list[str] | None = None):
    """The booted machine and its console text so far; what it prints later goes to out."""
    out = [] if out is None else out
    machine = boot_slof(slof_bin, seed=seed_file(seed), host=host_for(seed, tmp_path),
                        output=out.append, timeout=600)
    machine.vm.flush()
    return machine, "".join(out)


# What differs from real SLOF's tree for reasons outside the virtio drivers: real SLOF's
# failed boot attempts (disk, then the network) leave /chosen bootpath and bootargs behind.
OUTSIDE_VIRTIO = {"missing prop /chosen bootargs", "missing prop /chosen bootpath"}


@pytest.mark.parametrize("seed", ["vserial-legacy", "vserial-modern", "pci-virtio",
                                  "pci-nics", "pci-drivers2"])
def test_seed_boots_to_the_tree_real_slof_builds(slof_bin, seed, tmp_path):
    machine, console = boot(slof_bin, seed, tmp_path)
    assert "Ready!" in console
    assert "not supported by slofpy" not in console
    machine.quiesce()
    ours = tmp_path / "ours.dtb"
    ours.write_bytes(machine.host.stored_blob)
    shown = subprocess.run([sys.executable, str(TREE_SCORE), str(SEEDS / f"{seed}.slof.dtb"),
                            str(ours), "--show"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    differences = set(shown[:-1]) - OUTSIDE_VIRTIO
    assert differences == set()
    nodes = re.search(r"nodes (\d+)/(\d+)", shown[-1])
    assert nodes and nodes.group(1) == nodes.group(2)


def captured() -> dict[str, list[tuple[str, str]]]:
    text = REPLIES.read_text(encoding="latin-1")
    out: dict[str, list[tuple[str, str]]] = {}
    for m in re.finditer(r"^=== (\S+) \| ([^\n]*)\n(.*?)\n--- end\n", text, re.M | re.S):
        out.setdefault(m.group(1), []).append((m.group(2), m.group(3)))
    return out


def fold(text: str) -> str:
    return " ".join(text.replace("\r", "").split())


@pytest.mark.parametrize("seed", ["pci-virtio", "virtio-legacy", "vserial-legacy", "pci-drivers2",
                                  "vserial-modern"])
def test_drivers_answer_at_the_prompt_as_real_slof(slof_bin, seed, tmp_path):
    out: list[str] = []
    machine, _ = boot(slof_bin, seed, tmp_path, out)
    machine.vm.s.clear()                   # real SLOF's prompt after its boot shows depth 0
    for line, reply in captured()[seed]:
        out.clear()
        machine.interpret_line(line, timeout=120)
        machine.vm.flush()
        ours = "".join(out)
        assert (line, fold(ours)) == (line, fold(reply.removesuffix(" ok").removesuffix("ok")))


def test_a_bad_device_address_is_one_error_and_the_prompt_goes_on(slof_bin, tmp_path):
    from slofpy.errors import ForthError
    out: list[str] = []
    machine, _ = boot(slof_bin, "vserial-legacy", tmp_path, out)
    with pytest.raises(ForthError) as error:
        machine.interpret_line("-8 0 virtio-get-qsize", timeout=60)
    assert error.value.code == -9
    out.clear()
    machine.interpret_line("1 2 + .", timeout=60)
    machine.vm.flush()
    assert "".join(out).strip() == "3"
