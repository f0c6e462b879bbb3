"""QEMU's hypercall-based RTAS: the KVMPPC_H_RTAS argument block and the services behind it.

The guest passes the real address of a block of big-endian u32 cells: token, nargs, nret,
then nargs argument cells followed by nret return cells. The token names a service; the
token table is the seed's /rtas node, where each property holding one u32 is a service name
and its token (a few known non-service properties such as `rtas-size` are skipped).

As in QEMU: a token with no service (and not the legacy 0xa display-character token) gets
status -3 in the first return cell and the hcall returns H_PARAMETER; every service that
runs makes the hcall return H_SUCCESS and reports its own status in the first return cell.
QEMU writes that first cell even when nret is 0, and so does this. Services listed in the
seed but not emulated here answer status -3 (RTAS "not supported") and are noted in
`unsupported`.
"""
from __future__ import annotations

import struct
import time
from collections.abc import Callable

import libfdt

from slofpy.host import fdt_lookup
from slofpy.host.pci import PciBus, config_offset
from slofpy.host.tce import TceTables
from slofpy.host.vio import VioBus
from slofpy.abi.guest_memory import GuestMemory, GuestMemoryError, read_u32, write_u32
from slofpy.abi.hcalls import H_PARAMETER, H_SUCCESS

# RTAS status values (first return cell).
RTAS_OUT_SUCCESS = 0
RTAS_OUT_HW_ERROR = -1
RTAS_OUT_PARAM_ERROR = -3
RTAS_OUT_NOT_SUPPORTED = -3

LEGACY_DISPLAY_CHARACTER_TOKEN = 0xA
"""Token some early Linux debug code uses for display-character without looking it up."""

NON_SERVICE_PROPERTIES = frozenset({
    "phandle", "linux,phandle", "rtas-size", "rtas-version", "rtas-error-log-max",
    "rtas-event-scan-rate", "linux,rtas-base", "linux,rtas-entry", "slof,rtas-base",
    "slof,rtas-size", "slof,from-fdt",
})
"""One-u32 properties of /rtas that are not service tokens."""


def rtas_tokens(blob: bytes) -> dict[int, str]:
    """Token -> service name, from the /rtas node of `blob` (empty if there is none)."""
    fdt = fdt_lookup.open_tree(blob)
    node = fdt.path_offset("/rtas", quiet=(libfdt.NOTFOUND,))
    if node < 0:
        return {}
    tokens: dict[int, str] = {}
    for name, value in fdt_lookup.node_properties(fdt, node).items():
        if len(value) == 4 and name not in NON_SERVICE_PROPERTIES:
            tokens.setdefault(int.from_bytes(value, "big"), name)
    return tokens


_HEADER = struct.Struct(">III")        # token, nargs, nret
_MAX_ARGS_AT_ONCE = 16


class RtasCall:
    """One RTAS argument block in guest memory."""

    def __init__(self, memory: GuestMemory, addr: int):
        self.memory = memory
        self.addr = addr
        self.token, self.nargs, self.nret = _HEADER.unpack(memory.read(addr, 12))
        self._args: tuple[int, ...] | None = None

    def arg(self, index: int) -> int:
        """Argument cell `index` as an unsigned u32."""
        args = self._args
        if args is None:
            # the arguments in one read (NVRAM access makes thousands of calls a boot)
            count = min(self.nargs, _MAX_ARGS_AT_ONCE)
            try:
                args = struct.unpack(f">{count}I", self.memory.read(self.addr + 12, 4 * count))
            except GuestMemoryError:
                args = ()
            self._args = args
        if index < len(args):
            return args[index]
        return read_u32(self.memory, self.addr + 12 + 4 * index)

    def signed_arg(self, index: int) -> int:
        """Argument cell `index` as a signed 32-bit value."""
        value = self.arg(index)
        return value - (1 << 32) if value & 0x8000_0000 else value

    def ret(self, index: int, value: int) -> None:
        """Set return cell `index` (negative values are stored two's complement)."""
        write_u32(self.memory, self.addr + 12 + 4 * (self.nargs + index), value)


class RtasServices:
    """The RTAS services of the machine, with the state they change."""

    def __init__(
        self,
        tokens: dict[int, str],
        vio: VioBus,
        pci: PciBus,
        tce_tables: TceTables,
        nvram: bytearray,
        console_write: Callable[[bytes], None],
        request_halt: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ):
        self.tokens = tokens
        self.vio = vio
        self.pci = pci
        self.tce_tables = tce_tables
        self.nvram = nvram
        self.console_write = console_write
        self.request_halt = request_halt
        self.clock = clock
        self.quiesce_count = 0
        self.time_offset = 0.0
        self.unsupported: list[str] = []
        self.services: dict[str, Callable[[RtasCall], None]] = {
            "display-character": self.display_character,
            "power-off": self.power_off,
            "system-reboot": self.system_reboot,
            "quiesce": self.quiesce,
            "get-time-of-day": self.get_time_of_day,
            "set-time-of-day": self.set_time_of_day,
            "read-pci-config": self.read_pci_config,
            "write-pci-config": self.write_pci_config,
            "ibm,read-pci-config": self.ibm_read_pci_config,
            "ibm,write-pci-config": self.ibm_write_pci_config,
            "nvram-fetch": self.nvram_fetch,
            "nvram-store": self.nvram_store,
            "ibm,set-tce-bypass": self.set_tce_bypass,
        }

    def call(self, memory: GuestMemory, addr: int) -> int:
        """Run the RTAS call whose argument block is at real address `addr`; the hcall rc."""
        call = RtasCall(memory, addr)
        name = self.tokens.get(call.token)
        if name is None:
            if call.token == LEGACY_DISPLAY_CHARACTER_TOKEN:
                self.display_character(call)
                return H_SUCCESS
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return H_PARAMETER
        service = self.services.get(name)
        if service is None:
            self.unsupported.append(name)
            call.ret(0, RTAS_OUT_NOT_SUPPORTED)
        else:
            service(call)
        return H_SUCCESS

    # --- console and machine state ------------------------------------------------------

    def display_character(self, call: RtasCall) -> None:
        """Write one character to the default vty."""
        if self.vio.vty(0) is None:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        self.console_write(bytes([call.arg(0) & 0xFF]))
        call.ret(0, RTAS_OUT_SUCCESS)

    def power_off(self, call: RtasCall) -> None:
        """Ask for power-off (through `request_halt`; nothing stops by itself)."""
        if call.nargs != 2 or call.nret != 1:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        self.request_halt("power-off")
        call.ret(0, RTAS_OUT_SUCCESS)

    def system_reboot(self, call: RtasCall) -> None:
        """Ask for a reboot (through `request_halt`)."""
        if call.nargs != 0 or call.nret != 1:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        self.request_halt("reboot")
        call.ret(0, RTAS_OUT_SUCCESS)

    def quiesce(self, call: RtasCall) -> None:
        """Quiesce the VIO devices: reset their TCE tables and free their CRQs."""
        if call.nargs != 0:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        self.vio.quiesce(self.tce_tables)
        self.quiesce_count += 1
        call.ret(0, RTAS_OUT_SUCCESS)

    def set_tce_bypass(self, call: RtasCall) -> None:
        """ibm,set-tce-bypass (unit, enable): DMA of a VIO unit bypasses its TCE table
        (bus address = guest real address) or goes through it again."""
        if call.nargs != 2:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        unit = self.vio.units.get(call.arg(0))
        if unit is None or unit.liobn is None or \
                not self.tce_tables.set_bypass(unit.liobn, call.arg(1) != 0):
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        call.ret(0, RTAS_OUT_SUCCESS)

    # --- time of day ---------------------------------------------------------------------

    def get_time_of_day(self, call: RtasCall) -> None:
        """Status, year, month, day, hour, minute, second, nanoseconds (UTC)."""
        if call.nret != 8:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        now = self.clock() + self.time_offset
        seconds = int(now // 1)
        moment = time.gmtime(seconds)
        call.ret(0, RTAS_OUT_SUCCESS)
        fields = (moment.tm_year, moment.tm_mon, moment.tm_mday, moment.tm_hour,
                  moment.tm_min, moment.tm_sec, int((now - seconds) * 1e9))
        for index, value in enumerate(fields, start=1):
            call.ret(index, value)

    def set_time_of_day(self, call: RtasCall) -> None:
        """Set the clock from year, month, day, hour, minute, second, nanoseconds (UTC)."""
        if call.nargs != 7 or call.nret != 1:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        try:
            import calendar     # only for this call: it costs a start-up its import
            wanted = calendar.timegm((call.arg(0), call.arg(1), call.arg(2), call.arg(3),
                                      call.arg(4), call.arg(5), 0, 0, 0))
        except (OverflowError, ValueError):
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return
        self.time_offset = wanted + call.arg(6) / 1e9 - self.clock()
        call.ret(0, RTAS_OUT_SUCCESS)

    # --- PCI configuration space ---------------------------------------------------------

    def _read_config(self, call: RtasCall, buid: int, addr: int, size: int) -> None:
        function = self.pci.access_ok(buid, addr, size)
        if function is None:
            # QEMU reports a hardware error; the value cell also gets all ones, the
            # usual "no device there" answer, for callers that only look at the value.
            call.ret(0, RTAS_OUT_HW_ERROR)
            if call.nret >= 2:
                call.ret(1, (1 << (8 * size)) - 1 if size in (1, 2, 4) else 0xFFFF_FFFF)
            return
        call.ret(0, RTAS_OUT_SUCCESS)
        call.ret(1, function.read(config_offset(addr), size))

    def _write_config(self, call: RtasCall, buid: int, addr: int, size: int,
                      value: int) -> None:
        function = self.pci.access_ok(buid, addr, size)
        if function is None:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        function.write(config_offset(addr), size, value)
        call.ret(0, RTAS_OUT_SUCCESS)

    def read_pci_config(self, call: RtasCall) -> None:
        """(addr, size) -> (status, value). Like QEMU, this addresses BUID 0."""
        if call.nargs != 2 or call.nret != 2:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        self._read_config(call, 0, call.arg(0), call.arg(1))

    def write_pci_config(self, call: RtasCall) -> None:
        """(addr, size, value) -> (status). Like QEMU, this addresses BUID 0."""
        if call.nargs != 3 or call.nret != 1:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        self._write_config(call, 0, call.arg(0), call.arg(1), call.arg(2))

    def ibm_read_pci_config(self, call: RtasCall) -> None:
        """(addr, buid.hi, buid.lo, size) -> (status, value)."""
        if call.nargs != 4 or call.nret != 2:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        buid = (call.arg(1) << 32) | call.arg(2)
        self._read_config(call, buid, call.arg(0), call.arg(3))

    def ibm_write_pci_config(self, call: RtasCall) -> None:
        """(addr, buid.hi, buid.lo, size, value) -> (status)."""
        if call.nargs != 5 or call.nret != 1:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        buid = (call.arg(1) << 32) | call.arg(2)
        self._write_config(call, buid, call.arg(0), call.arg(3), call.arg(4))

    # --- NVRAM ---------------------------------------------------------------------------

    def _nvram_range(self, call: RtasCall) -> tuple[int, int, int] | None:
        """(offset, buffer, length) of an nvram call, after QEMU's checks (None = failed)."""
        if not self.nvram:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return None
        if call.nargs != 3 or call.nret != 2:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            return None
        offset, buffer, length = call.arg(0), call.arg(1), call.arg(2)
        if offset >= len(self.nvram) or length > len(self.nvram) - offset:
            call.ret(0, RTAS_OUT_PARAM_ERROR)
            call.ret(1, 0)
            return None
        return offset, buffer, length

    def nvram_fetch(self, call: RtasCall) -> None:
        """(offset, buffer, length) -> (status, length): copy NVRAM into guest memory.

        A buffer outside guest memory is a hardware error, as QEMU's failed mapping is.
        """
        checked = self._nvram_range(call)
        if checked is None:
            return
        offset, buffer, length = checked
        try:
            call.memory.write(buffer, bytes(self.nvram[offset:offset + length]))
        except GuestMemoryError:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        call.ret(0, RTAS_OUT_SUCCESS)
        call.ret(1, length)

    def nvram_store(self, call: RtasCall) -> None:
        """(offset, buffer, length) -> (status, length): copy guest memory into NVRAM."""
        checked = self._nvram_range(call)
        if checked is None:
            return
        offset, buffer, length = checked
        try:
            self.nvram[offset:offset + length] = call.memory.read(buffer, length)
        except GuestMemoryError:
            call.ret(0, RTAS_OUT_HW_ERROR)
            return
        call.ret(0, RTAS_OUT_SUCCESS)
        call.ret(1, length)
