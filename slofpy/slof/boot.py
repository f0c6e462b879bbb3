"""Boot SLOF's own Forth on slofpy's engine, as QEMU's pseries machine boots slof.bin.

    >>> from slofpy.slof.boot import boot_slof
    >>> slof = boot_slof("/usr/share/qemu/slof.bin")     # or a SLOF source tree
    >>> slof.quiesce()                                    # the client-interface call
    >>> slof.host.stored_blob                             # SLOF's fdt-flatten-tree, as QEMU keeps it

What QEMU and SLOF's start-up code (llfw, paflof's C) would do before the boot Forth text
runs is done here, at the addresses real SLOF uses under QEMU 7.2 on a 512 MiB machine
(observed at its prompt: PAFLOF-START 1daf0100, HEAP-START 1db80000, HEAP-END 1e380000,
ROMFS-BASE 1f9f0000, FDT-START 1fe00000), counted down from the top of the guest's real-mode
memory, which the VM's memory spans:
- the seed goes to FDT-START, and the host is reset with it (it learns its devices from it);
- the image's romfs goes to ROMFS-BASE, where SLOF's `included` finds its files (CALL-C on
  ROMFS-LOOKUP-ENTRY walks it there);
- the heap SLOF's alloc-mem manages is HEAP-START..HEAP-END;
- the RTAS code hv-rtas-get hands out (an `sc 1` with KVMPPC_H_RTAS) and the version banner
  lie in paflof's memory, after PAFLOF-START;
- the words of SLOF's C libraries (libs/) are defined, each as a call of its Python code.
Then the boot text is evaluated with EMIT discarding output until SLOF's hvterm.fs sets it up,
as paflof's start-up does, and the console shows what SLOF prints, through the host.

SLOF's words, nodes and properties are compiled after the heap, where paflof's dictionary is
(so phandles are near real SLOF's). Differences from a real boot that slofpy keeps: the
engine's own areas (stacks' cells, buffers, its kernel words) sit low in guest memory, where
paflof's are inside its claimed region, and slofpy does not run the client program a boot
device would give.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..abi.guest_memory import BufferGuestMemory
from ..errors import ForthError
from ..fdt.blob import BlobError, parse_blob
from ..firmware.board import (ConsoleToMachine, HostedSnapshots, SeedFileError, default_seed,
                              load_seed)
from ..host.backend import HostBackend
from ..host.registry import make_backend
from ..hv.hypervisor import Hypervisor
from ..firmware.hcall_words import HcallWords
from ..machine import Machine
from ..vm import layout as L
from ..abi.hcalls import H_PUT_TERM_CHAR, KVMPPC_H_RTAS
from . import romfs
from .image import SlofImage, load_image
from .libs import all_libraries

# real SLOF's addresses on QEMU 7.2, as distances below the top of real-mode memory
PAFLOF_BELOW_TOP = 0x2510000 - 0x100
HEAP_BELOW_TOP = 0x2480000
HEAP_SIZE = 0x800000
ROMFS_BELOW_TOP = 0x610000
FDT_BELOW_TOP = 0x200000
EPAPR_MAGIC = 0x65504150
DEFAULT_RMA = 0x20000000
MAX_RMA = 0x80000000
TIMEBASE_HZ = 512000000
# the RTAS code hv-rtas-get gives: mr r4,r3; li r3 KVMPPC_H_RTAS (lis+ori); sc 1; blr
RTAS_CODE = bytes.fromhex("7c641b78" "3c600000" "6063f000" "44000022" "4e800020")


class SlofError(ForthError):
    """SLOF's Forth failed while booting (the message says where, in SLOF's source/image)."""


class SlofMachine(HostedSnapshots, Machine):
    """A Machine running SLOF's own Forth from an image, on the pseries board's host."""

    RTAS_CODE = RTAS_CODE
    image: SlofImage
    host: HostBackend
    hypervisor: Hypervisor
    hcall_words: HcallWords
    seed: bytes

    def console_write(self, text: bytes) -> None:
        """Characters SLOF's C code prints (io_putchar): H_PUT_TERM_CHAR on terminal 0."""
        for i in range(0, len(text), 16):
            chunk = text[i:i + 16].ljust(16, b"\0")
            self.hypervisor.hcall(H_PUT_TERM_CHAR, 0, min(16, len(text) - i),
                                  int.from_bytes(chunk[:8], "big"),
                                  int.from_bytes(chunk[8:], "big"))

    # ------------------------------------------------------------ client interface
    def client(self, service: str, *args: int | str | bytes, nret: int = 1) -> list[int]:
        """Call SLOF's client interface as a client program does: an argument block of
        32-bit cells (service name, #args, #rets, args, rets) whose address is in r3 of
        CIREGS, handled by SLOF's own client-voc words. A str or bytes argument is passed
        as the address of a zero-ended copy of it, as a client passes a path."""
        block = self.scratch
        strings = block + CLIENT_BLOCK_BYTES
        values = []
        for text in (service, *args):
            if isinstance(text, int):
                values.append(text)
                continue
            data = (text.encode("latin-1") if isinstance(text, str) else bytes(text)) + b"\0"
            if strings + len(data) > block + CLIENT_SCRATCH_BYTES:
                raise ValueError("client call arguments too long")
            self.write(strings, data)
            values.append(strings)
            strings += len(data)
        cells = [values[0], len(args), nret, *values[1:], *([0] * nret)]
        if len(cells) * 4 > CLIENT_BLOCK_BYTES:
            raise ValueError("too many client call arguments")
        self.write(block, b"".join((c & 0xFFFFFFFF).to_bytes(4, "big") for c in cells))
        depth = len(self.vm.s)
        # real SLOF serves a client deep inside the words that started it (boot, load, go,
        # call-client), with their cells on the data stack; some of its methods touch a cell
        # below what they were given (virtio-block.fs's open DUPs one at quiesce), so the
        # call runs above a cushion of zeros, and the stack is put back afterwards
        self.push(*[0] * CLIENT_STACK_CUSHION, block)
        try:
            self.evaluate("ciregs >r3 ! (slofpy-client-call)", name="<client call>")
            rc = self.pop()
        finally:
            del self.vm.s[depth:]
        if rc == -1:
            raise SlofError(-13, f"client interface: no service {service!r}")
        if rc:
            raise SlofError(rc, f"client interface: {service!r} failed ({rc})")
        out = self.read(block + 12 + 4 * len(args), 4 * nret)
        return [int.from_bytes(out[4 * i:4 * i + 4], "big") for i in range(nret)]

    def quiesce(self) -> None:
        """What an OS does when it is done with the firmware: SLOF flattens its tree and
        hands it to the host with H_UPDATE_DT."""
        self.client("quiesce", nret=0)


CLIENT_STACK_CUSHION = 8
BOOT_TIME_LIMIT = 300.0
CLIENT_BLOCK_BYTES = 0x100      # the argument block, then the strings passed
CLIENT_SCRATCH_BYTES = 0x1000

# One client-interface request, handled as SLOF's call-client loop handles one: the
# arguments onto the stack, the service found in client-voc and run under CATCH, the
# results back into the block. ( -- rc ): 0, or the throw code, or -1 for no such service.
CLIENT_CALL = b"""
: (slofpy-client-call) ( -- rc )
   client-data-to-stack client-data l@ zcount
   also client-voc $find previous
   IF catch ?dup 0= IF stack-to-client-data 0 THEN ELSE 2drop -1 THEN ;
"""


def _rma_top(blob: bytes) -> int:
    """The top of the guest's real-mode memory, where SLOF puts itself: the size of the
    seed's memory@0, at most 2 GiB (QEMU's RTAS and FDT limit; real SLOF sits just below
    2 GiB on a 2 GiB machine), and the default 512 MiB when the seed has none."""
    try:
        root, _, _ = parse_blob(blob)
    except BlobError:
        return DEFAULT_RMA
    for node in root.children:
        if node.name in ("memory", "memory@0"):
            reg = dict(node.props).get("reg", b"")
            if len(reg) >= 16:
                size = int.from_bytes(reg[8:16], "big")
                if int.from_bytes(reg[:8], "big") == 0 and size >= 0x4000000:
                    return min(size, MAX_RMA)
    return DEFAULT_RMA


def boot_slof(firmware: str | os.PathLike | SlofImage,
              seed: bytes | str | os.PathLike | None = None,
              host: str | HostBackend = "qemu",
              output: Callable[[str], None] | None = None,
              timeout: float | None = BOOT_TIME_LIMIT) -> SlofMachine:
    """Boot SLOF's image (a slof.bin path, a source-tree path, or a SlofImage) on seed.
    timeout: seconds the boot text may run (SLOF's Forth can loop forever on a seed it does
    not expect, as real SLOF does there; None: no limit)."""
    image = firmware if isinstance(firmware, SlofImage) else load_image(firmware)
    blob = default_seed() if seed is None else bytes(seed) \
        if isinstance(seed, (bytes, bytearray)) else load_seed(seed)
    if len(blob) < 8 or blob[:4] != b"\xd0\x0d\xfe\xed":
        raise SeedFileError("seed: not a flattened device tree (no d00dfeed magic at offset 0x0)")
    top = _rma_top(blob)
    slof = SlofMachine(memory_size=top, output=output)
    slof.image, slof.seed = image, blob
    slof.vm.simulated_ticks = 0     # waits for absent devices cost no wall time
    _lay_out(slof, top, image, blob)
    backend = make_backend(host) if isinstance(host, str) else host
    backend.console_output = ConsoleToMachine(slof)
    slof.host = backend
    slof.hypervisor = Hypervisor(BufferGuestMemory(slof.vm.mem), backend)
    slof.hcall_words = HcallWords(slof.hypervisor)
    slof.hcall_words.install(slof)
    try:
        slof.hypervisor.reset(blob)
    except ValueError as e:
        raise SlofError(-2, f"the host refuses the seed: {e}") from None
    _define_libraries(slof)
    slof.console_write(image.banner)
    _run_boot_text(slof, image, timeout)
    return slof


def _lay_out(slof: SlofMachine, top: int, image: SlofImage, blob: bytes) -> None:
    vm = slof.vm
    paflof = top - PAFLOF_BELOW_TOP
    heap = top - HEAP_BELOW_TOP
    romfs_base = top - ROMFS_BELOW_TOP
    fdt = top - FDT_BELOW_TOP
    if len(image.romfs) > FDT_BELOW_TOP * 2 or len(blob) > FDT_BELOW_TOP:
        raise SlofError(-2, f"{image.origin}: romfs of {len(image.romfs)} bytes or seed of "
                        f"{len(blob)} bytes too big for SLOF's memory layout")
    from ..vm.words.slof import place_heap_and_dictionary
    # SLOF's own words, nodes and properties go where paflof's dictionary is, after its heap
    place_heap_and_dictionary(vm, (heap, heap + HEAP_SIZE), (heap + HEAP_SIZE, romfs_base))
    vm.boot_addresses.update({"paflof-start": paflof, "romfs-base": romfs_base,
                              "epapr-magic": EPAPR_MAGIC, "epapr-ima-size": fdt})
    slof.write(romfs_base, image.romfs)
    # QEMU loads the image at guest address 0, where SLOF's flash-header finds the romfs's
    # first file (get-flash-base is 0); the VM keeps nothing in that page
    head = romfs.parse(image.romfs)[0]
    slof.write(0, image.romfs[:min(head.data_offset + head.length, L.SYSVARS)])
    slof.write(fdt, blob)
    vm.fdt_start = fdt
    slof.rtas_code = paflof + 0x100
    slof.write(slof.rtas_code, RTAS_CODE)
    banner = paflof + 0x200
    slof.write(banner, image.banner + b"\0")
    slof.banner_range = (banner, banner + len(image.banner) + 1)
    slof.scratch = paflof + 0x1000
    slof.nvram_size = 0

    def lookup(name: bytes):
        return romfs.lookup(slof.read, romfs_base, name)
    vm.romfs_lookup = lookup
    files = [(romfs_base + e.data_offset, e.length, e.name) for e in romfs.parse(image.romfs)]

    def name_text(addr: int, length: int):
        """A romfs file's text being evaluated (SLOF's `included`): named by the file."""
        for start, size, name in files:
            if start <= addr < start + size:
                return image.text_origin(name, slof.read(addr, length), addr - start)
        return None
    vm.name_memory_text = name_text

    def rtas(vm_, args: int, _entry: int, _unused: int) -> int:
        return slof.hypervisor.hcall(KVMPPC_H_RTAS, args)[0]
    vm.c_functions[slof.rtas_code] = rtas


def _define_libraries(slof: SlofMachine) -> None:
    words: dict = {}
    for library in all_libraries():
        words.update(library(slof).words())
    slof.define_python_words(words, "<slofpy: SLOF's C libraries>")


def _run_boot_text(slof: SlofMachine, image: SlofImage, timeout: float | None) -> None:
    slof.evaluate("' drop to emit", name="<slofpy: paflof start-up>")
    try:
        slof.evaluate(image.boot_text, name=image.boot_name, timeout=timeout)
        slof.evaluate(CLIENT_CALL, name="<slofpy: client interface>")
    except ForthError as e:
        raise _in_source(e, image) from None


def _in_source(e: ForthError, image: SlofImage) -> SlofError:
    """The error with the place in SLOF's source tree (or image) its boot-text line is."""
    file, line = e.file, e.line
    if file == image.boot_name and line is not None:
        file, line = image.where(line)
    return SlofError(e.code, e.text, file, line, e.word, e.backtrace)
