"""Helpers for the PCI host tests: RTAS config calls as SLOF makes them, and real QEMU's
config spaces captured through real SLOF (tests/data/pci/NAME.config.txt, written by
capture-pci-config.py there)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32
from slofpy.host.backend import HostBackend
from slofpy.host.qemu import QemuBackend
from slofpy.host.rtas import rtas_tokens
from slofpy.hv import Hypervisor

DATA = Path(__file__).parent / "data"
SEEDS = DATA / "seeds"
CAPTURES = DATA / "pci"
BLOCK = 0x100


def signed(value: int) -> int:
    return value - (1 << 32) if value & 0x8000_0000 else value


class ConfigPort:
    """ibm,read-pci-config and ibm,write-pci-config through KVMPPC_H_RTAS, with the
    arguments SLOF's rtas-config-b@ ... rtas-config-l! pass (config address, BUID high and
    low, size[, value]), from an RTAS block in a scratch guest memory of its own."""

    def __init__(self, backend: HostBackend, seed: bytes):
        self.memory = BufferGuestMemory(bytearray(0x1000))
        self.hv = Hypervisor(self.memory, backend)
        names = {name: token for token, name in rtas_tokens(seed).items()}
        self.read_token = names["ibm,read-pci-config"]
        self.write_token = names["ibm,write-pci-config"]

    def _call(self, cells: list[int], nret: int) -> list[int]:
        words = cells + [0xDEADBEEF] * nret
        self.memory.write(BLOCK, b"".join((c & 0xFFFF_FFFF).to_bytes(4, "big") for c in words))
        rc, _ = self.hv.hcall(hc.KVMPPC_H_RTAS, BLOCK)
        assert rc == hc.H_SUCCESS
        rets = BLOCK + 4 * (len(cells))
        return [read_u32(self.memory, rets + 4 * i) for i in range(nret)]

    def read(self, buid: int, addr: int, size: int = 4) -> tuple[int, int]:
        """(status, value) of a config read."""
        status, value = self._call(
            [self.read_token, 4, 2, addr, buid >> 32, buid & 0xFFFF_FFFF, size], 2)
        return signed(status), value

    def write(self, buid: int, addr: int, value: int, size: int = 4) -> int:
        """The status of a config write."""
        (status,) = self._call(
            [self.write_token, 5, 1, addr, buid >> 32, buid & 0xFFFF_FFFF, size, value], 1)
        return signed(status)

    def l(self, buid: int, addr: int) -> int:
        """A 4-byte read that must succeed (SLOF's rtas-config-l@)."""
        status, value = self.read(buid, addr)
        assert status == 0, f"config read {buid:x} {addr:06x} failed"
        return value

    def ones(self, buid: int, addr: int, register: int) -> int:
        """What the capture's all-ones probe read at `register` (the old value restored)."""
        before = self.l(buid, addr + register)
        assert self.write(buid, addr + register, 0xFFBF_FFFF if register == 0x3C
                          else 0xFFFF_FFFF) == 0
        after = self.l(buid, addr + register)
        assert self.write(buid, addr + register, before) == 0
        return after


def port_for_seed(name: str) -> tuple[QemuBackend, ConfigPort]:
    """A QEMU backend reset with tests/data/seeds/NAME.seed.dtb and a config port to it."""
    seed = (SEEDS / f"{name}.seed.dtb").read_bytes()
    backend = QemuBackend()
    backend.reset(seed)
    return backend, ConfigPort(backend, seed)


@dataclass
class CapturedFunction:
    """One function of a capture: where it is and what real QEMU answered."""

    buid: int
    addr: int        # RTAS config address of register 0 (bus, device, function)
    where: str       # BUS:DEV.FN
    config: list[int]  # the 64 dwords of its config space at real SLOF's prompt
    ones: list[int]    # the 16 header dwords read back after writing all ones

    @property
    def function(self) -> int:
        return (self.addr >> 8) & 7


def captured(name: str) -> list[CapturedFunction]:
    """The functions of tests/data/pci/NAME.config.txt, in the file's order."""
    found: list[CapturedFunction] = []
    buid = 0
    where = ""
    config: list[int] = []
    for line in (CAPTURES / f"{name}.config.txt").read_text().splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "phb":
            buid = int(rest, 16)
        elif kind == "fn":
            where = rest
        elif kind == "cfg":
            config = [int(w, 16) for w in rest.split()]
        elif kind == "ones":
            bus, slot = where.split(":")
            device, function = slot.split(".")
            addr = (int(bus, 16) << 16) | (int(device, 16) << 11) | (int(function, 16) << 8)
            found.append(CapturedFunction(buid, addr, where, config,
                                          [int(w, 16) for w in rest.split()]))
    return found


MULTIFUNCTION_BIT = 0x0080_0000
"""Header type bit 7 in the dword at 0x0C. QEMU's tree does not say which functions other
than function 0 were created with multifunction=on (bridges3 has one), so the host model
sets it on function 0 of a slot with more functions only: it is not compared elsewhere."""


def comparable(function: CapturedFunction, index: int, value: int) -> int:
    """`value` of dword `index`, without what the host model cannot know (see above)."""
    if index == 3 and function.function != 0:
        return value & ~MULTIFUNCTION_BIT
    return value
