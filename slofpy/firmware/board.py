"""The QEMU pseries board: boot the firmware on a seed, as QEMU starts SLOF.

    >>> from slofpy.firmware.board import boot_machine
    >>> fw = boot_machine()                  # the default seed, the `qemu` host
    >>> fw.client("finddevice", "/cpus")
    >>> fw.quiesce()                         # as an OS would: the tree goes to the host
    >>> fw.host.stored_blob                  # what QEMU now holds

`boot_machine` makes a `Firmware` (forth/ loaded), attaches a `Hypervisor` whose guest memory
is the VM's memory and whose backend is the chosen host, defines the board's hcall words on it
(hcall_words.py), tells the host the seed (machine reset), puts the seed into VM memory
(`fdt-start`) and loads board-qemu/board.fs, which imports the seed and builds the rest of
the tree. Firmware console output goes through the
host's console hcalls; the host writes it to `output` (or it is collected for take_output()).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ForthError
from ..fdt.blob import BlobError
from .openfirmware import Firmware, SOURCE_ROOT
from ..host.backend import HostBackend
from ..machine import Snapshot
from ..host.registry import make_backend
from ..hv.hypervisor import Hypervisor
from .hcall_words import HcallWords
from ..abi.guest_memory import BufferGuestMemory

BOARD_DIR = SOURCE_ROOT / "board-qemu"


def default_seed() -> bytes:
    """The QEMU 7.2 pseries seed shipped with slofpy (-M pseries -m 512 -nic none -vga none)."""
    return (Path(__file__).resolve().parent.parent / "data" / "default.seed.dtb").read_bytes()


MAX_SEED_BYTES = 64 << 20
"""The largest seed file read (QEMU's own trees are tens of KiB; its limit is 1 MiB)."""


def load_seed(path: str | os.PathLike, include_dirs: Sequence[str] = (),
              read_dirs: Sequence[str] | None = ()) -> bytes:
    """A seed from a .dtb file or a .dts source (compiled with slofpy's DTS compiler, whose
    /include/ and /incbin/ read only from the seed's folder, `include_dirs` and `read_dirs`).
    Raises SeedFileError with one line saying what is wrong and where."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_SEED_BYTES:
                raise SeedFileError(f"{p}: more than {MAX_SEED_BYTES} bytes, too big for a seed")
            data = f.read(MAX_SEED_BYTES + 1)
    except OSError as e:
        raise SeedFileError(f"{p}: {e.strerror or e}") from None
    if len(data) > MAX_SEED_BYTES:
        raise SeedFileError(f"{p}: more than {MAX_SEED_BYTES} bytes, too big for a seed")
    if p.suffix == ".dts" or not data.startswith(b"\xd0\x0d\xfe\xed") and data[:1] in (b"/", b" "):
        from ..fdt.dts_compiler import compile_dts
        from ..fdt.dts_source import DtsError
        try:
            text = data.decode("utf-8", "surrogateescape")
            return compile_dts(text, str(p), include_dirs=include_dirs, read_dirs=read_dirs)
        except DtsError as e:
            raise SeedFileError(str(e)) from None
    return data


class SeedFileError(ValueError):
    """A seed file that cannot be read or compiled."""


class ConsoleToMachine:
    """The host's console output, handed to the VM's output (a file-like object)."""

    def __init__(self, fw: Firmware):
        self.fw = fw

    def write(self, text: str) -> int:
        self.fw.vm.emit_text(text)
        return len(text)

    def flush(self) -> None:
        pass    # the VM passes output on at line ends and when a command finishes


@dataclass(frozen=True)
class BoardSnapshot:
    """A booted machine saved whole: the VM and the host's state (see BoardFirmware)."""
    machine: Snapshot
    host: HostBackend


class HostedSnapshots:
    """Snapshots of a Machine booted on a host: the VM and the host's state together (mixed
    into BoardFirmware and slofpy.slof's SlofMachine)."""

    hypervisor: Hypervisor
    host: HostBackend

    def _host_copy(self, host: HostBackend) -> HostBackend:
        console = host.console_output
        return copy.deepcopy(host, {id(console): console})

    def snapshot(self) -> BoardSnapshot:
        """The VM and the host (stored blob, NVRAM, CRQs, ...), so a restore forgets both."""
        return BoardSnapshot(super().snapshot(), self._host_copy(self.host))

    def restore(self, snap) -> None:
        if isinstance(snap, BoardSnapshot):
            super().restore(snap.machine)
            self.host = self._host_copy(snap.host)
            self.hypervisor.backend = self.host
        else:
            super().restore(snap)


class BoardFirmware(HostedSnapshots, Firmware):
    """A Firmware booted on the pseries board, with its host."""

    seed: bytes
    hcall_words: HcallWords

    def quiesce(self) -> None:
        """What an OS does when it is done with the firmware: the client-interface quiesce."""
        self.client("quiesce", nret=0)


def boot_machine(seed: bytes | str | os.PathLike | None = None, host: str | HostBackend = "qemu",
                 output: Callable[[str], None] | None = None, **machine_options) -> BoardFirmware:
    """Boot the board on seed (bytes, a .dtb/.dts path, or None for the default seed) with
    host (a backend spec such as "qemu" or "file:out.dtb", or a HostBackend)."""
    if seed is None:
        blob = default_seed()
    elif isinstance(seed, (bytes, bytearray)):
        blob = bytes(seed)
    else:
        blob = load_seed(seed)
    if len(blob) < 8 or blob[:4] != b"\xd0\x0d\xfe\xed":
        raise SeedFileError("seed: not a flattened device tree (no d00dfeed magic at offset 0x0)")
    total = int.from_bytes(blob[4:8], "big")
    if total > len(blob):
        raise SeedFileError(f"seed: header totalsize {total} (offset 0x4) is more than the "
                            f"{len(blob)} bytes there are")
    backend = make_backend(host) if isinstance(host, str) else host
    fw = BoardFirmware(output=output, include_path=[BOARD_DIR], **machine_options)
    backend.console_output = ConsoleToMachine(fw)
    fw.host = backend
    fw.seed = blob
    fw.hypervisor = Hypervisor(BufferGuestMemory(fw.vm.mem), backend)
    fw.hcall_words = HcallWords(fw.hypervisor)
    fw.hcall_words.install(fw)
    try:
        fw.hypervisor.reset(blob)
        refused = None
    except ValueError as e:
        refused = e
    fw.vm.fdt_start = fw.place_fdt(blob)
    fw.include(BOARD_DIR / "board.fs")     # a malformed seed stops here, with its offset
    if refused is not None:
        raise ForthError(-2, f"the host refuses the seed: {refused}")
    return fw
