"""QEMU's virtio-pci devices as the host answers a guest: configuration space through the
RTAS config calls, the device's registers through H_LOGICAL_CI_LOAD/STORE on its BARs, and
the virtqueues in guest memory (tests/data/seeds: the pci-virtio and vserial-* machines)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32
from slofpy.host.qemu import QemuBackend
from slofpy.host.scsi_devices import ScsiDeviceSpec
from slofpy.hv import Hypervisor

SEEDS = Path(__file__).resolve().parent / "data" / "seeds"
PHB = 0x0800_0000_2000_0000
IO_WINDOW = 0x2000_0000_0000          # the PHB's I/O space at CPU address (its `ranges`)
MEM64 = 0x2100_0000_0000               # 64-bit memory: PCI address = CPU address
RTAS_BLOCK = 0x3000
NET, BLK, SCSI = 0x00, 0x08, 0x10      # pci-virtio's devfns
RING = 0x10000                         # where the tests put a virtqueue (page aligned)


def token(machine: str, service: str) -> int:
    text = (SEEDS / f"{machine}.seed.dts").read_text()
    found = re.search(rf"^\t\t{re.escape(service)} = <(0x[0-9a-f]+)>;", text, re.M)
    assert found
    return int(found.group(1), 16)


class Guest:
    """A machine booted on a seed, driven the way SLOF's C reaches it."""

    def __init__(self, machine: str, backend: QemuBackend | None = None):
        self.machine = machine
        self.memory = BufferGuestMemory(bytearray(1 << 20))
        self.backend = backend or QemuBackend(console_output=io.StringIO())
        self.hv = Hypervisor(self.memory, self.backend)
        self.hv.reset((SEEDS / f"{machine}.seed.dtb").read_bytes())

    def _rtas(self, service: str, args: tuple[int, ...], nret: int) -> list[int]:
        cells = [token(self.machine, service), len(args), nret, *args] + [0] * nret
        self.memory.write(RTAS_BLOCK, b"".join(c.to_bytes(4, "big") for c in cells))
        rc, _ = self.hv.hcall(hc.KVMPPC_H_RTAS, RTAS_BLOCK)
        assert rc == 0
        rets = RTAS_BLOCK + 12 + 4 * len(args)
        return [read_u32(self.memory, rets + 4 * i) for i in range(nret)]

    def config(self, devfn: int, offset: int, size: int) -> int:
        status, value = self._rtas("ibm,read-pci-config",
                                   ((devfn << 8) | offset, PHB >> 32, PHB & 0xFFFFFFFF, size), 2)
        assert status == 0
        return value

    def config_write(self, devfn: int, offset: int, size: int, value: int) -> None:
        (status,) = self._rtas("ibm,write-pci-config", ((devfn << 8) | offset, PHB >> 32,
                                                        PHB & 0xFFFFFFFF, size, value), 1)
        assert status == 0

    def load(self, size: int, addr: int) -> int:
        rc, (value,) = self.hv.hcall(hc.H_LOGICAL_CI_LOAD, size, addr)
        assert rc == hc.H_SUCCESS
        return value

    def store(self, size: int, addr: int, value: int) -> None:
        rc, _ = self.hv.hcall(hc.H_LOGICAL_CI_STORE, size, addr, value)
        assert rc == hc.H_SUCCESS


def le(value: int, size: int) -> int:
    """What a big-endian CI access moves for a little-endian register value (cpu_to_le)."""
    return int.from_bytes(value.to_bytes(size, "little"), "big")


def capabilities(guest: Guest, devfn: int) -> list[tuple[int, int, int]]:
    """(offset, capability id, virtio cfg_type or 0) along the capability list."""
    out = []
    at = guest.config(devfn, 0x34, 1)
    while at:
        cap_id = guest.config(devfn, at, 1)
        out.append((at, cap_id, guest.config(devfn, at + 3, 1) if cap_id == 9 else 0))
        at = guest.config(devfn, at + 1, 1)
    return out


def test_transitional_device_lists_qemus_capabilities():
    guest = Guest("pci-virtio")
    assert guest.config(NET, 0x06, 2) & 0x10                     # capability list present
    assert capabilities(guest, NET) == [(0x98, 0x11, 0), (0x84, 9, 5), (0x70, 9, 2),
                                        (0x60, 9, 4), (0x50, 9, 3), (0x40, 9, 1)]
    # common configuration: BAR 4, offset 0, 4 KiB; notify: offset 0x3000, multiplier 4
    assert [guest.config(NET, 0x40 + i, 4) for i in (4, 8, 12)] == [4, 0, 0x1000]
    assert [guest.config(NET, 0x70 + i, 4) for i in (4, 8, 12, 16)] == [4, 0x3000, 0x1000, 4]
    # MSI-X: as many vectors as the node's ibm,req#msi-x (4), table in BAR 1
    assert guest.config(NET, 0x98 + 2, 2) == 3
    assert guest.config(NET, 0x98 + 4, 4) == 1


def test_legacy_only_device_has_only_msix():
    guest = Guest("vserial-legacy")
    assert capabilities(guest, 0x00) == [(0x40, 0x11, 0)]


def test_bars_answer_only_where_assigned_and_enabled():
    guest = Guest("vserial-legacy")
    guest.config_write(0x00, 0x10, 4, 0x1000)
    # I/O space not enabled yet: the address is no device's (nor guest memory)
    rc, _ = guest.hv.hcall(hc.H_LOGICAL_CI_LOAD, 4, IO_WINDOW + 0x1000)
    assert rc == hc.H_PARAMETER
    guest.config_write(0x00, 0x04, 2, 0x0001)
    assert guest.load(1, IO_WINDOW + 0x1000 + 18) == 0            # device status


def legacy_serial() -> tuple[Guest, int]:
    guest = Guest("vserial-legacy")
    guest.config_write(0x00, 0x10, 4, 0x1000)
    guest.config_write(0x00, 0x04, 2, 0x0007)
    return guest, IO_WINDOW + 0x1000


def test_legacy_header_features_queue_sizes_and_config():
    guest, base = legacy_serial()
    features = int.from_bytes(guest.load(4, base).to_bytes(4, "big"), "little")
    assert features & 0b110 == 0b110                              # MULTIPORT, EMERG_WRITE
    guest.store(2, base + 14, le(0, 2))
    assert guest.load(2, base + 12) == le(128, 2)                 # port 0 receive queue
    guest.store(2, base + 14, le(2, 2))
    assert guest.load(2, base + 12) == le(32, 2)                  # control receive queue
    guest.store(2, base + 14, le(64, 2))
    assert guest.load(2, base + 12) == 0                          # no such queue
    # device configuration at 20, in the guest's byte order: max_nr_ports = 31
    assert guest.load(4, base + 20 + 4) == 31


def test_legacy_status_and_reset():
    guest, base = legacy_serial()
    for status in (1, 3, 7):
        guest.store(1, base + 18, status)
    assert guest.load(1, base + 18) == 7
    guest.store(1, base + 18, 0)
    assert guest.load(1, base + 18) == 0


def put_ring_be(memory, desc: int, size: int, chains: list[list[tuple[int, int, int]]],
                order: str = "big", avail: int | None = None) -> None:
    """Descriptors (addr, len, flags) of each chain from index 0, linked; then the heads
    in the available ring (after the table, as the legacy layout has it)."""
    avail = desc + 16 * size if avail is None else avail
    index = 0
    heads = []
    for chain in chains:
        heads.append(index)
        for n, (addr, length, flags) in enumerate(chain):
            last = n == len(chain) - 1
            entry = (addr.to_bytes(8, order) + length.to_bytes(4, order)
                     + (flags | (0 if last else 1)).to_bytes(2, order)
                     + (0 if last else index + 1).to_bytes(2, order))
            memory.write(desc + 16 * index, entry)
            index += 1
    for i, head in enumerate(heads):
        memory.write(avail + 4 + 2 * i, head.to_bytes(2, order))
    memory.write(avail + 2, len(heads).to_bytes(2, order))


def test_legacy_transmit_is_consumed_and_given_back():
    guest, base = legacy_serial()
    guest.store(1, base + 18, 7)
    guest.store(2, base + 14, le(1, 2))                           # port 0 transmit
    guest.store(4, base + 8, le(RING >> 12, 4))
    guest.memory.write(0x8000, b"hi")
    put_ring_be(guest.memory, RING, 128, [[(0x8000, 2, 0)]])
    guest.store(2, base + 16, le(1, 2))                           # notify queue 1
    used = RING + ((16 * 128 + 4 + 2 * 128 + 0xFFF) & ~0xFFF)
    assert guest.memory.read(used + 2, 2) == (1).to_bytes(2, "big")
    assert guest.memory.read(used + 4, 8) == bytes(8)             # head 0, nothing written
    serial = guest.backend.virtio.function_at(PHB, 0).device
    assert bytes(serial.dropped) == b"hi"


def modern_blk(image: bytes) -> tuple[Guest, int]:
    backend = QemuBackend(console_output=io.StringIO())
    backend.virtio_disks = {"qemu_virtio-blk-pci:0000:00:01.0": image}
    guest = Guest("pci-virtio", backend)
    guest.config_write(BLK, 0x20, 4, 0)
    guest.config_write(BLK, 0x24, 4, MEM64 >> 32)
    guest.config_write(BLK, 0x04, 2, 0x0006)
    return guest, MEM64


def test_modern_feature_negotiation():
    guest, bar = modern_blk(bytes(1 << 20))
    guest.store(4, bar + 0, le(1, 4))
    assert int.from_bytes(guest.load(4, bar + 4).to_bytes(4, "big"), "little") & 1  # VERSION_1
    guest.store(4, bar + 0, le(0, 4))
    low = int.from_bytes(guest.load(4, bar + 4).to_bytes(4, "big"), "little")
    assert low & (1 << 6)                                         # BLK_SIZE
    assert not low & (1 << 24 | 1 << 27)                          # legacy-only features hidden
    for status in (1, 3):
        guest.store(1, bar + 20, status)
    guest.store(4, bar + 8, le(1, 4))
    guest.store(4, bar + 12, le(1, 4))                            # VERSION_1
    guest.store(4, bar + 8, le(0, 4))
    guest.store(4, bar + 12, le(1 << 6, 4))
    guest.store(1, bar + 20, 0xB)
    assert guest.load(1, bar + 20) == 0xB                         # FEATURES_OK stays set
    assert guest.load(2, bar + 18) == le(1, 2)                    # one queue
    assert guest.load(4, bar + 0x2000 + 20) == le(512, 4)         # blk_size, little-endian
    assert guest.load(4, bar + 0x2000) == le(2048, 4)             # capacity: 1 MiB


def start_modern_queue(guest: Guest, bar: int) -> tuple[int, int, int]:
    for status in (1, 3):
        guest.store(1, bar + 20, status)
    guest.store(4, bar + 8, le(1, 4))
    guest.store(4, bar + 12, le(1, 4))
    guest.store(1, bar + 20, 0xB)
    guest.store(2, bar + 22, le(0, 2))
    size = int.from_bytes(guest.load(2, bar + 24).to_bytes(2, "big"), "little")
    avail = RING + 16 * size
    used = (avail + 4 + 2 * size + 0xFFF) & ~0xFFF
    for register, addr in ((32, RING), (40, avail), (48, used)):
        guest.store(4, bar + register, le(addr, 4))
        guest.store(4, bar + register + 4, 0)
    guest.store(2, bar + 28, le(1, 2))
    guest.store(1, bar + 20, 0xF)
    return size, avail, used


def blk_request(guest: Guest, bar: int, kind: int, sector: int, length: int) -> tuple[int, int]:
    """One request through queue 0 (little-endian rings): (status byte, used length)."""
    size, avail, used = start_modern_queue(guest, bar)
    header = 0x8000
    guest.memory.write(header, kind.to_bytes(4, "little") + bytes(4)
                       + sector.to_bytes(8, "little"))
    guest.memory.write(0x9000 + length, b"\xee")
    flags = 0 if kind == 1 else 2
    put_ring_be(guest.memory, RING, size, [[(header, 16, 0), (0x9000, length, flags),
                                            (0x9000 + length, 1, 2)]], "little", avail)
    notify_off = int.from_bytes(guest.load(2, bar + 30).to_bytes(2, "big"), "little")
    guest.store(2, bar + 0x3000 + 4 * notify_off, le(0, 2))
    assert guest.memory.read(used + 2, 2) == (1).to_bytes(2, "little")
    written = int.from_bytes(guest.memory.read(used + 8, 4), "little")
    return guest.memory.read(0x9000 + length, 1)[0], written


def test_modern_blk_reads_the_image():
    image = bytearray(1 << 20)
    image[512:520] = b"sector 1"
    guest, bar = modern_blk(bytes(image))
    status, written = blk_request(guest, bar, 0x80000000, 1, 512)  # IN, with SLOF's barrier bit
    assert (status, written) == (0, 513)
    assert guest.memory.read(0x9000, 8) == b"sector 1"


def test_modern_blk_beyond_the_end_is_an_io_error():
    guest, bar = modern_blk(bytes(1 << 20))
    assert blk_request(guest, bar, 0, 2048, 512)[0] == 1


def test_modern_blk_writes_the_image():
    guest, bar = modern_blk(bytes(1 << 20))
    guest.memory.write(0x9000, b"written!" + bytes(504))
    assert blk_request(guest, bar, 1, 3, 512) == (0, 1)
    blk = guest.backend.virtio.function_at(PHB, BLK).device
    assert bytes(blk.image[3 * 512:3 * 512 + 8]) == b"written!"


def test_queue_enable_takes_the_rings():
    guest, bar = modern_blk(bytes(1 << 20))
    guest.store(2, bar + 22, le(0, 2))
    assert guest.load(2, bar + 28) == 0
    guest.store(4, bar + 32, le(RING, 4))
    assert guest.load(4, bar + 32) == le(RING, 4)
    guest.store(2, bar + 28, le(1, 2))
    assert guest.load(2, bar + 28) == le(1, 2)
    guest.store(1, bar + 20, 0)                                   # reset
    assert guest.load(2, bar + 28) == 0


@pytest.mark.parametrize("target, expect", [(0, 0), (5, 3)])
def test_scsi_request_reaches_the_disk_at_its_target(target, expect):
    backend = QemuBackend(console_output=io.StringIO())
    backend.virtio_scsi_devices = {"qemu_virtio-scsi-pci:0000:00:02.0": (ScsiDeviceSpec("hd"),)}
    guest = Guest("pci-virtio", backend)
    guest.config_write(SCSI, 0x20, 4, 0)
    guest.config_write(SCSI, 0x24, 4, MEM64 >> 32)
    guest.config_write(SCSI, 0x04, 2, 0x0006)
    bar = MEM64
    for status in (1, 3):
        guest.store(1, bar + 20, status)
    guest.store(4, bar + 8, le(1, 4))
    guest.store(4, bar + 12, le(1, 4))
    guest.store(1, bar + 20, 0xB)
    guest.store(2, bar + 22, le(2, 2))                            # the request queue
    size = int.from_bytes(guest.load(2, bar + 24).to_bytes(2, "big"), "little")
    avail = RING + 16 * size
    used = (avail + 4 + 2 * size + 0xFFF) & ~0xFFF
    for register, addr in ((32, RING), (40, avail), (48, used)):
        guest.store(4, bar + register, le(addr, 4))
    guest.store(2, bar + 28, le(1, 2))
    request = bytes([1, target, 0x40, 0]) + bytes(4) + bytes(8) + bytes(3) \
        + bytes([0x12, 0, 0, 0, 36, 0]) + bytes(26)                # INQUIRY, 36 bytes
    guest.memory.write(0x8000, request)
    put_ring_be(guest.memory, RING, size, [[(0x8000, 51, 0), (0x9000, 108, 2),
                                            (0xA000, 36, 2)]], "little", avail)
    guest.store(2, bar + 0x3000 + 4 * 2, le(2, 2))
    assert guest.memory.read(used + 2, 2) == (1).to_bytes(2, "little")
    assert guest.memory.read(0x9000 + 11, 1)[0] == expect          # response
    if expect == 0:
        assert guest.memory.read(0x9000 + 10, 1)[0] == 0           # GOOD
        assert guest.memory.read(0xA000 + 8, 4) == b"QEMU"


def test_a_descriptor_loop_breaks_the_device_until_reset():
    guest, base = legacy_serial()
    guest.store(1, base + 18, 7)
    guest.store(2, base + 14, le(1, 2))
    guest.store(4, base + 8, le(RING >> 12, 4))
    # descriptor 0 chains to itself
    guest.memory.write(RING, (0x8000).to_bytes(8, "big") + (1).to_bytes(4, "big")
                       + (1).to_bytes(2, "big") + (0).to_bytes(2, "big"))
    guest.memory.write(RING + 16 * 128 + 2, (1).to_bytes(2, "big"))
    guest.store(2, base + 16, le(1, 2))
    assert guest.load(1, base + 18) == 0x47                       # NEEDS_RESET
    guest.store(1, base + 18, 0)
    assert guest.load(1, base + 18) == 0
