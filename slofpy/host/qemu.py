"""`QemuBackend`: a host that answers SLOF's hcalls the way QEMU 7.2's pseries machine does.

State, as in QEMU's SpaprMachineState:

* the initial tree (the seed) and its size, `fdt_initial_size`, set by `reset()` and by CAS;
* the current tree: the blob SLOF handed over with H_UPDATE_DT (`stored_blob`) if any, else
  the tree QEMU rebuilt at the last CAS (`cas_blob`, slofpy.host.cas), else the seed. Reset
  and CAS throw the stored blob away.

KVMPPC_H_UPDATE_DT (host.md 1.3 and 1.7): clear the top 4 bits of the address, read the
40-byte header, take `totalsize`. A size over twice `fdt_initial_size` is refused with
H_PARAMETER; so is a blob that libfdt's `fdt_check_full()` rejects (the linked pylibfdt
decides what valid means). A header or blob that runs past guest memory is refused with
H_PARAMETER too. Otherwise the blob is stored and H_SUCCESS returned; `fdt_initial_size`
does not change. A refused blob leaves the stored one as it was.

The lookups QEMU makes in the current tree afterwards are `interrupt_controller_phandle()`
(PHB hotplug) and `rtas_base()` (FWNMI).

The machine's devices come from the seed: RTAS tokens from /rtas, VIO units (vty, nvram,
v-scsi ...) from /vdevice, PCI functions and DMA windows from the PHB nodes. The SCSI
devices behind the v-scsi adapters, which the seed does not show, are `scsi_devices`
(slofpy.host.scsi_devices; QEMU's default empty CD-ROM unless changed before `reset()`). The
virtio PCI functions (slofpy.host.virtio_pci) answer CI loads and stores on their BARs; a
virtio-blk's image and a virtio-scsi's devices, which the seed does not show either, are
`virtio_disks` and `virtio_scsi_devices` by the function's `ibm,loc-code` (default: a blank
1 MiB image, no SCSI devices). The USB devices on the controllers' root-hub ports are
`usb_devices` by the controller's `ibm,loc-code` (slofpy.host.usb_devices; default: none).
slofpy.host.device_options fills all of these from the user's `--device` options. A TPM 2.0
vTPM answers on its CRQ (slofpy.host.vtpm, with slofpy.host.tpm2 behind it); an l-lan answers
the logical-LAN hcalls (slofpy.host.llan, nothing on its wire). OHCI and EHCI controllers
(slofpy.host.usb_controllers, nothing on their ports), qemu-xhci controllers
(slofpy.host.xhci, with the usb_devices given for them) and e1000 NICs (slofpy.host.e1000)
answer on their BARs too (slofpy.host.pci_mmio), and so do the std VGA and Cirrus
display adapters, on their ports as well (slofpy.host.display). KVMPPC_H_LOGICAL_MEMOP
copies through the same routing as the CI loads and stores (slofpy.host.memop). Before
the first `reset()` there is no machine: every blob is refused (twice a zero initial size),
no RTAS token is known, and the consoles accept any terminal number.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

import libfdt

from slofpy.host import fdt_lookup
from slofpy.host.backend import HostBackend
from slofpy.host.pci import PciBus
from slofpy.host.rtas import RtasServices, rtas_tokens
from slofpy.host.scsi_devices import DEFAULT_SCSI_DEVICES, ScsiDeviceSpec
from slofpy.host.tce import TceTables
from slofpy.host.display import DisplayAdapters
from slofpy.host.e1000 import E1000Factory
from slofpy.host import memop
from slofpy.host.pci_mmio import PciMmioFunctions
from slofpy.host.usb_controllers import usb_controller
from slofpy.host.usb_devices import UsbDeviceSpec
from slofpy.host.usb_keyboard import USB_DEVICE_MODELS
from slofpy.host.xhci import xhci_factory
from slofpy.host.vio import VioBus
from slofpy.host.virtio_pci import VirtioPci
from slofpy.abi.guest_memory import GuestMemory, real_address
from slofpy.abi.hcalls import H_HARDWARE, H_PARAMETER, H_SUCCESS

CAS_UPDATE_HEADER = (1).to_bytes(4, "little")
"""The header QEMU puts before the tree in SLOF's CAS buffer: version_id = 1, written in the
host's byte order (QEMU copies the C struct as it is): on an x86 host SLOF reads 0x01000000
(tests/data/cas/*.result.txt). SLOF only asks whether it is at least 1."""


class SeedError(ValueError):
    """The blob given to `reset()` is not a valid flattened device tree."""


class QemuBackend(HostBackend):
    """QEMU's pseries machine, as far as SLOF's hcalls can see it."""

    name = "qemu"

    def __init__(self, console_output: TextIO | None = None,
                 clock: Callable[[], float] = time.time):
        super().__init__(console_output)
        self.clock = clock
        self.seed: bytes | None = None
        self.fdt_initial_size = 0
        self.fdt_size = 0
        self.trace: list[str] = []
        self._stored: bytes | None = None
        self.cas_blob: bytes | None = None
        self.cas_rng_seed: bytes | None = None   # None: a random /chosen rng-seed at CAS
        self.xive_active = False
        self.nvram = bytearray()
        self.scsi_devices: tuple[ScsiDeviceSpec, ...] = DEFAULT_SCSI_DEVICES
        self.virtio_disks: dict[str, bytes] = {}
        self.virtio_scsi_devices: dict[str, tuple[ScsiDeviceSpec, ...]] = {}
        self.usb_devices: dict[str, tuple[UsbDeviceSpec, ...]] = {}
        self._build_machine(None)

    # --- machine state -------------------------------------------------------------------

    def _build_machine(self, seed: bytes | None) -> None:
        """(Re)create the devices from `seed` (no devices for None)."""
        self.tce_tables = TceTables()
        if seed is None:
            self.vio = VioBus(self.tce_tables)
            self.pci = PciBus()
            self.virtio = VirtioPci()
            self.mmio = PciMmioFunctions()
            self.displays = DisplayAdapters()
            tokens: dict[int, str] = {}
        else:
            self.vio = VioBus.from_tree(seed, self.tce_tables, self.scsi_devices)
            self.pci = PciBus.from_tree(seed, self.tce_tables)
            self.virtio = VirtioPci.from_tree(
                seed, self.pci, {k: bytearray(v) for k, v in self.virtio_disks.items()},
                {k: [spec.build() for spec in v] for k, v in self.virtio_scsi_devices.items()})
            self.mmio = PciMmioFunctions.from_tree(
                seed, self.pci,
                [usb_controller, xhci_factory(self.usb_devices, USB_DEVICE_MODELS),
                 E1000Factory()], self.tce_tables)
            self.displays = DisplayAdapters.from_tree(seed, self.pci)
            tokens = rtas_tokens(seed)
        if len(self.nvram) != self.vio.nvram_size:
            # NVRAM keeps its contents across resets, as a machine's does.
            self.nvram = bytearray(self.vio.nvram_size)
        self.rtas_services = RtasServices(
            tokens, self.vio, self.pci, self.tce_tables, self.nvram,
            console_write=self.write_console, request_halt=self._request_halt,
            clock=self.clock,
        )
        from slofpy.host.phb_hotplug import PhbHotplug
        self.phb_hotplug = PhbHotplug(self)
        self.rtas_services.services.update(self.phb_hotplug.services())

    def _request_halt(self, reason: str) -> None:
        self.halt_reason = reason

    def reset(self, seed: bytes) -> None:
        """Machine reset with initial tree `seed`: the stored blob is discarded.

        Raises `SeedError` if `seed` is not a valid FDT. Only its first `totalsize` bytes
        count (QEMU packs its tree, so that is the whole of it).
        """
        if len(seed) < fdt_lookup.FDT_HEADER_SIZE:
            raise SeedError(f"seed of {len(seed)} bytes is shorter than an FDT header")
        size = fdt_lookup.header_totalsize(seed)
        blob = bytes(seed[:size])
        error = fdt_lookup.check_full(blob)  # a seed shorter than totalsize fails here too
        if error:
            raise SeedError(f"seed is not a valid FDT (libfdt error {error})")
        self.seed = blob
        self.fdt_initial_size = size
        self.fdt_size = size
        self._stored = None
        self.cas_blob = None
        self.xive_active = False
        self.halt_reason = None
        try:
            self._build_machine(blob)
        except (libfdt.FdtException, SystemError, UnicodeError) as error:
            # a tree libfdt checks as whole but whose nodes the machine model cannot read
            raise SeedError(f"seed: QEMU's model cannot read it: {error}") from None

    @property
    def stored_blob(self) -> bytes | None:
        """The blob the guest handed over with H_UPDATE_DT since the last reset or CAS."""
        return self._stored

    @property
    def current_blob(self) -> bytes | None:
        """QEMU's current tree: the stored blob, else the tree of the last CAS, else the
        seed (None before any reset)."""
        if self._stored is not None:
            return self._stored
        return self.cas_blob if self.cas_blob is not None else self.seed

    @property
    def quiesced(self) -> bool:
        """Whether RTAS quiesce has run since the last reset."""
        return self.rtas_services.quiesce_count > 0

    def interrupt_controller_phandle(self) -> int:
        """The phandle PHB hotplug would use: /interrupt-controller's in the current tree.

        Before any reset there is no tree; QEMU's own trees use PHANDLE_INTC (0x1111), so
        that is the answer then. Raises `fdt_lookup.TreeLookupError` where QEMU reports an error
        (no such node, or no phandle).
        """
        blob = self.current_blob
        if blob is None:
            return fdt_lookup.PHANDLE_INTC
        return fdt_lookup.interrupt_controller_phandle(blob)

    def rtas_base(self) -> int:
        """/rtas "linux,rtas-base" of the current tree, as FWNMI reads it; 0 when absent."""
        blob = self.current_blob
        return 0 if blob is None else fdt_lookup.rtas_base(blob)

    def accepted_blob(self, blob: bytes) -> None:
        """Called with each blob H_UPDATE_DT accepts, after storing it. Default: nothing."""

    # --- hcalls --------------------------------------------------------------------------

    def update_dt(self, memory: GuestMemory, addr: int) -> int:
        """KVMPPC_H_UPDATE_DT; see the module docstring."""
        addr = real_address(addr)
        header = memory.read(addr, fdt_lookup.FDT_HEADER_SIZE)
        size = fdt_lookup.header_totalsize(header)
        magic = int.from_bytes(header[:4], "big")
        if size > 2 * self.fdt_initial_size:
            self.trace.append(f"update-dt refused: old blob {self.fdt_initial_size} bytes, "
                              f"new blob {size} bytes, magic {magic:#x} (too big)")
            return H_PARAMETER
        blob = memory.read(addr, size)
        error = fdt_lookup.check_full(blob)
        if error:
            self.trace.append(f"update-dt refused: old blob {self.fdt_initial_size} bytes, "
                              f"new blob {size} bytes, magic {magic:#x} "
                              f"(fdt_check_full {error})")
            return H_PARAMETER
        self._stored = blob
        self.fdt_size = size
        self.trace.append(f"update-dt: new blob {size} bytes")
        self.accepted_blob(blob)
        return H_SUCCESS

    def rtas(self, memory: GuestMemory, args_addr: int) -> int:
        """KVMPPC_H_RTAS; see slofpy.host.rtas."""
        return self.rtas_services.call(memory, real_address(args_addr))

    def cas(self, memory: GuestMemory, vector_addr: int, buffer_addr: int,
            buffer_size: int) -> int:
        """KVMPPC_H_CAS: negotiate (slofpy.host.cas), rebuild the tree, hand it over.

        The buffer gets the 4-byte update header (version 1) and the packed new tree; the
        stored blob is dropped and the new tree's size becomes `fdt_initial_size` (the 2x
        limit of H_UPDATE_DT is measured against it from now on). Where QEMU would exit
        (buffer under 4 bytes or too small for the tree, an interrupt or MMU mode the
        machine lacks) this sets `halt_reason` and returns H_PARAMETER; no PVR to run as
        is H_HARDWARE, as in QEMU. With no seed yet there is no tree: H_HARDWARE.
        """
        from slofpy.host.cas import CasFailed, CasRefused, negotiate, read_option_vectors
        if self.seed is None:
            return H_HARDWARE
        if buffer_size < len(CAS_UPDATE_HEADER):
            self.halt_reason = "error: SLOF provided insufficient CAS buffer"
            return H_PARAMETER
        try:
            blob, self.xive_active = negotiate(self.seed, read_option_vectors(
                memory, real_address(vector_addr)), rng=self.cas_rng_seed)
        except CasRefused as e:
            self.halt_reason = f"error: {e}"
            return H_PARAMETER
        except CasFailed as e:
            self.trace.append(f"cas failed: {e}")
            return H_HARDWARE
        if len(CAS_UPDATE_HEADER) + len(blob) > buffer_size:
            self.halt_reason = "error: CAS buffer too small for the device tree"
            return H_PARAMETER
        memory.write(real_address(buffer_addr), CAS_UPDATE_HEADER + blob)
        self.cas_blob = blob
        self._stored = None
        self.fdt_initial_size = len(blob)
        self.fdt_size = len(blob)
        self.trace.append(f"cas: sent tree of {len(blob)} bytes")
        return H_SUCCESS

    def _console_ok(self, termno: int) -> bool:
        return self.seed is None or self.vio.vty(termno) is not None

    def put_term_char(self, termno: int, data: bytes) -> int:
        """H_PUT_TERM_CHAR to a vty of the machine (H_PARAMETER for any other number)."""
        if not self._console_ok(termno):
            return H_PARAMETER
        return super().put_term_char(termno, data)

    def get_term_char(self, termno: int) -> tuple[int, bytes]:
        """H_GET_TERM_CHAR from a vty of the machine (H_PARAMETER for any other number)."""
        if not self._console_ok(termno):
            return H_PARAMETER, b""
        return super().get_term_char(termno)

    def _device_load(self, size: int, addr: int) -> bytes | None:
        """The bytes a device's BAR (or a display's ports) gives at `addr`; None: no device."""
        data = self.virtio.load(size, addr)
        if data is None:
            data = self.mmio.load(size, addr)
        if data is None:
            data = self.displays.load(size, addr)
        return data

    def _device_store(self, memory: GuestMemory, size: int, addr: int, value: int) -> bool:
        return (self.virtio.store(memory, size, addr, value)
                or self.mmio.store(size, addr, value, memory)
                or self.displays.store(addr, (value & ((1 << 8 * size) - 1)).to_bytes(size, "big")))

    def logical_ci_load(self, memory: GuestMemory, size: int, addr: int) -> tuple[int, int]:
        """H_LOGICAL_CI_LOAD: a virtio function's, another modelled function's or a display
        adapter's BAR or ports, else memory."""
        data = self._device_load(size, addr) if size in (1, 2, 4, 8) else None
        if data is not None:
            return H_SUCCESS, int.from_bytes(data, "big")
        return super().logical_ci_load(memory, size, addr)

    def logical_ci_store(self, memory: GuestMemory, size: int, addr: int, value: int) -> int:
        """H_LOGICAL_CI_STORE: to the device H_LOGICAL_CI_LOAD would read, else memory."""
        if size in (1, 2, 4, 8) and self._device_store(memory, size, addr, value):
            return H_SUCCESS
        return super().logical_ci_store(memory, size, addr, value)

    def logical_memop(self, memory: GuestMemory, dst: int, src: int, esize: int,
                      count: int, op: int) -> int:
        """KVMPPC_H_LOGICAL_MEMOP as QEMU does it (slofpy.host.memop): element by element
        through the same routing as the CI loads and stores, so a framebuffer or a
        device's registers are reached; RAM and framebuffers are copied in one go."""
        def span(addr: int, length: int):
            if 0 <= addr and addr + length <= memory.size and hasattr(memory, "buffer"):
                return memory.buffer, addr
            return self.displays.span(addr, length)

        def load(addr: int, size: int) -> bytes:
            data = self._device_load(size, addr)
            return memory.read(addr, size) if data is None else data

        def store(addr: int, data: bytes) -> None:
            if not self._device_store(memory, len(data), addr, int.from_bytes(data, "big")):
                memory.write(addr, data)
        return memop.logical_memop(span, load, store, dst, src, esize, count, op)

    def put_tce(self, liobn: int, ioba: int, tce: int) -> int:
        """H_PUT_TCE into the machine's DMA windows."""
        return self.tce_tables.put(liobn, ioba, tce)

    def get_tce(self, liobn: int, ioba: int) -> tuple[int, int]:
        """H_GET_TCE from the machine's DMA windows."""
        return self.tce_tables.get(liobn, ioba)

    def reg_crq(self, unit: int, queue_addr: int, queue_size: int) -> int:
        """H_REG_CRQ on the machine's VIO bus."""
        return self.vio.reg_crq(unit, queue_addr, queue_size)

    def free_crq(self, unit: int) -> int:
        """H_FREE_CRQ on the machine's VIO bus."""
        return self.vio.free_crq(unit)

    def other_hcall(self, memory: GuestMemory, number: int,
                    args: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """The logical-LAN hcalls go to the VIO bus; anything else is H_FUNCTION."""
        if number in VioBus.LLAN_HCALLS:
            return self.vio.llan_hcall(memory, number, args), ()
        return super().other_hcall(memory, number, args)

    def send_crq(self, memory: GuestMemory, unit: int, message: bytes) -> int:
        """H_SEND_CRQ on the machine's VIO bus (a v-scsi adapter or a vTPM answers it)."""
        return self.vio.send_crq(memory, unit, message)
