"""KVMPPC_H_RTAS through the hypervisor into QemuBackend, tokens from the real seeds."""
import io
import re
from pathlib import Path

import pytest

from slofpy.host.qemu import QemuBackend
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory, read_u32

from conftest import REFERENCE_SEEDS

SEEDS = REFERENCE_SEEDS
RTAS_BLOCK = 0x3000
FILL = 0xDEADBEEF
RNG_PHB_BUID = 0x0800_0000_2000_0000  # /pci@800000020000000
VSCSI = 0x71000002


def token(service: str, machine: str = "default") -> int:
    """A service's token, read from the seed's DTS text."""
    text = (SEEDS / f"{machine}.seed.dts").read_text()
    found = re.search(rf"^\t\t{re.escape(service)} = <(0x[0-9a-f]+)>;", text, re.M)
    assert found, f"no RTAS token for {service}"
    return int(found.group(1), 16)


def make(machine: str = "default", clock=None):
    memory = BufferGuestMemory(bytearray(1 << 20))
    console = io.StringIO()
    backend = QemuBackend(console_output=console, clock=clock or (lambda: 1_700_000_000.25))
    hv = Hypervisor(memory, backend)
    hv.reset((SEEDS / f"{machine}.seed.dtb").read_bytes())
    return hv, memory, backend


def rtas(hv, memory, token_value, args=(), nret=1, addr=RTAS_BLOCK, nargs=None):
    """Fill an RTAS block, make the hcall; (rc, return cells incl. one spare)."""
    nargs = len(args) if nargs is None else nargs
    cells = [token_value, nargs, nret, *args] + [FILL] * (nret + 1)
    memory.write(addr, b"".join((c & 0xFFFFFFFF).to_bytes(4, "big") for c in cells))
    rc, outputs = hv.hcall(hc.KVMPPC_H_RTAS, addr)
    assert outputs == ()
    rets = addr + 12 + 4 * len(args)
    return rc, [read_u32(memory, rets + 4 * i) for i in range(nret + 1)]


def signed(value: int) -> int:
    return value - (1 << 32) if value & 0x8000_0000 else value


def test_quiesce_as_slof_calls_it():
    hv, memory, backend = make()
    assert not backend.quiesced
    # rtas-quiesce: token from /rtas "quiesce", nargs 0, nret 0; QEMU still writes status.
    rc, rets = rtas(hv, memory, token("quiesce"), nret=0)
    assert rc == hc.H_SUCCESS
    assert rets[0] == 0
    assert backend.quiesced


def test_quiesce_through_a_0xc_address():
    hv, memory, backend = make()
    memory.write(RTAS_BLOCK, b"".join(v.to_bytes(4, "big") for v in (token("quiesce"), 0, 1)))
    assert hv.hcall(hc.KVMPPC_H_RTAS, 0xC000_0000_0000_0000 | RTAS_BLOCK)[0] == 0
    assert backend.quiesced


def test_quiesce_with_arguments_is_a_parameter_error():
    hv, memory, backend = make()
    rc, rets = rtas(hv, memory, token("quiesce"), args=(5,), nret=1)
    assert (rc, signed(rets[0])) == (hc.H_SUCCESS, -3)
    assert not backend.quiesced


def test_quiesce_frees_crqs_and_vio_tces_but_not_phb_tces():
    hv, memory, backend = make()
    assert hv.hcall(hc.H_REG_CRQ, VSCSI, 0x10000, 0x1000)[0] == hc.H_SUCCESS
    assert hv.hcall(hc.H_PUT_TCE, VSCSI, 0x1000, 0x20003)[0] == hc.H_SUCCESS
    assert hv.hcall(hc.H_PUT_TCE, 0x80000000, 0x2000, 0x30003)[0] == hc.H_SUCCESS
    rtas(hv, memory, token("quiesce"), nret=0)
    assert hv.hcall(hc.H_GET_TCE, VSCSI, 0x1000) == (hc.H_SUCCESS, (0,))
    assert hv.hcall(hc.H_GET_TCE, 0x80000000, 0x2000) == (hc.H_SUCCESS, (0x30003,))
    assert hv.hcall(hc.H_REG_CRQ, VSCSI, 0x10000, 0x1000)[0] == hc.H_SUCCESS


def test_unknown_token():
    hv, memory, backend = make()
    rc, rets = rtas(hv, memory, 0x1234, nret=1)
    assert rc == hc.H_PARAMETER
    assert signed(rets[0]) == -3
    assert rets[1] == FILL


def test_listed_but_unemulated_service_says_not_supported():
    hv, memory, backend = make()
    rc, rets = rtas(hv, memory, token("event-scan"), args=(0, 0, 0, 0), nret=1)
    assert (rc, signed(rets[0])) == (hc.H_SUCCESS, -3)
    assert backend.rtas_services.unsupported == ["event-scan"]


def test_non_token_properties_are_not_services():
    _, _, backend = make()
    names = set(backend.rtas_services.tokens.values())
    assert {"quiesce", "power-off", "ibm,read-pci-config", "display-character"} <= names
    assert not names & {"rtas-size", "rtas-error-log-max", "rtas-event-scan-rate"}


def test_power_off_and_reboot_request_a_halt():
    hv, memory, backend = make()
    rc, rets = rtas(hv, memory, token("power-off"), args=(0, 0), nret=1)
    assert (rc, rets[0]) == (0, 0)
    assert backend.halt_reason == "power-off"
    hv.reset((SEEDS / "default.seed.dtb").read_bytes())
    assert backend.halt_reason is None
    rc, rets = rtas(hv, memory, token("power-off"), args=(0,), nret=1)
    assert signed(rets[0]) == -3 and backend.halt_reason is None
    rc, rets = rtas(hv, memory, token("system-reboot"), nret=1)
    assert (rc, rets[0]) == (0, 0)
    assert backend.halt_reason == "reboot"


def test_display_character_goes_to_the_console():
    hv, memory, backend = make()
    for char in b"OK":
        rc, rets = rtas(hv, memory, token("display-character"), args=(char,), nret=1)
        assert (rc, rets[0]) == (0, 0)
    rtas(hv, memory, 0xA, args=(ord("!"),), nret=1)  # the legacy hard-wired token
    assert backend.console_output.getvalue() == "OK!"


def test_get_time_of_day():
    hv, memory, _ = make()
    rc, rets = rtas(hv, memory, token("get-time-of-day"), nret=8)
    assert rc == 0
    # 1700000000.25 s after the epoch is 2023-11-14 22:13:20.25 UTC.
    assert rets[:8] == [0, 2023, 11, 14, 22, 13, 20, 250_000_000]
    rc, rets = rtas(hv, memory, token("get-time-of-day"), nret=2)
    assert signed(rets[0]) == -3


def test_set_time_of_day_moves_the_clock():
    hv, memory, _ = make()
    rc, rets = rtas(hv, memory, token("set-time-of-day"),
                    args=(2030, 1, 2, 3, 4, 5, 0), nret=1)
    assert (rc, rets[0]) == (0, 0)
    rc, rets = rtas(hv, memory, token("get-time-of-day"), nret=8)
    assert rets[1:7] == [2030, 1, 2, 3, 4, 5]


def config(hv, memory, addr, size, buid=RNG_PHB_BUID):
    rc, rets = rtas(hv, memory, token("ibm,read-pci-config", "rng"),
                    args=(addr, buid >> 32, buid & 0xFFFFFFFF, size), nret=2)
    assert rc == 0
    return signed(rets[0]), rets[1]


def config_write(hv, memory, addr, size, value, buid=RNG_PHB_BUID):
    rc, rets = rtas(hv, memory, token("ibm,write-pci-config", "rng"),
                    args=(addr, buid >> 32, buid & 0xFFFFFFFF, size, value), nret=1)
    assert rc == 0
    return signed(rets[0])


def test_pci_config_of_the_seed_device():
    hv, memory, _ = make("rng")
    # /pci@800000020000000/legacy-device@0: virtio-rng, vendor 0x1af4 device 0x1005.
    assert config(hv, memory, 0x00, 4) == (0, 0x1005_1AF4)
    assert config(hv, memory, 0x00, 2) == (0, 0x1AF4)
    assert config(hv, memory, 0x02, 2) == (0, 0x1005)
    assert config(hv, memory, 0x08, 4) == (0, 0x00FF_0000)  # class ff0000, revision 0
    assert config(hv, memory, 0x2C, 4) == (0, 0x0004_1AF4)  # subsystem
    assert config(hv, memory, 0x3D, 1) == (0, 1)             # interrupt pin A


def test_pci_config_misses_are_hardware_errors_with_all_ones():
    hv, memory, _ = make("rng")
    assert config(hv, memory, 0x0800, 4) == (-1, 0xFFFF_FFFF)   # device 1: nothing there
    assert config(hv, memory, 0x0800, 2) == (-1, 0xFFFF)
    assert config(hv, memory, 0x0000, 4, buid=0x1234) == (-1, 0xFFFF_FFFF)  # no such PHB
    assert config(hv, memory, 0x02, 4)[0] == -1                 # misaligned
    assert config(hv, memory, 0x00, 3)[0] == -1                 # odd size
    assert config(hv, memory, 0xF000_0000, 4)[0] == -1          # extended register 0xf00


def test_plain_read_pci_config_addresses_buid_zero_like_qemu():
    hv, memory, _ = make("rng")
    rc, rets = rtas(hv, memory, token("read-pci-config", "rng"), args=(0, 4), nret=2)
    assert (rc, signed(rets[0]), rets[1]) == (0, -1, 0xFFFF_FFFF)
    rc, rets = rtas(hv, memory, token("write-pci-config", "rng"), args=(4, 2, 7), nret=1)
    assert signed(rets[0]) == -1


def test_pci_config_writes_and_bar_sizing():
    hv, memory, _ = make("rng")
    assert config_write(hv, memory, 0x04, 2, 0x0007) == 0
    assert config(hv, memory, 0x04, 2) == (0, 0x0007)
    assert config_write(hv, memory, 0x00, 4, 0) == 0            # read-only: ignored
    assert config(hv, memory, 0x00, 4) == (0, 0x1005_1AF4)
    # reg: I/O BAR0 of 0x20 bytes, 32-bit memory BAR1 of 0x1000, 64-bit memory BAR4 of 0x4000.
    for bar in (0x10, 0x14, 0x20, 0x24):
        assert config_write(hv, memory, bar, 4, 0xFFFF_FFFF) == 0
    assert config(hv, memory, 0x10, 4) == (0, 0xFFFF_FFE1)
    assert config(hv, memory, 0x14, 4) == (0, 0xFFFF_F000)
    # virtio-pci's 64-bit BAR is prefetchable memory (QEMU registers it so)
    assert config(hv, memory, 0x20, 4) == (0, 0xFFFF_C00C)
    assert config(hv, memory, 0x24, 4) == (0, 0xFFFF_FFFF)
    assert config(hv, memory, 0x18, 4) == (0, 0)                # no BAR2
    assert config_write(hv, memory, 0x14, 4, 0x8000_1234) == 0
    assert config(hv, memory, 0x14, 4) == (0, 0x8000_1000)


def test_pci_config_is_rebuilt_on_reset():
    hv, memory, _ = make("rng")
    config_write(hv, memory, 0x04, 2, 0x0006)
    hv.reset((SEEDS / "rng.seed.dtb").read_bytes())
    assert config(hv, memory, 0x04, 2) == (0, 0)


def test_nvram_store_and_fetch():
    hv, memory, backend = make()
    memory.write(0x5000, b"SLOFNVRM")
    rc, rets = rtas(hv, memory, token("nvram-store"), args=(0x10, 0x5000, 8), nret=2)
    assert (rc, rets[:2]) == (0, [0, 8])
    rc, rets = rtas(hv, memory, token("nvram-fetch"), args=(0x10, 0x6000, 8), nret=2)
    assert (rc, rets[:2]) == (0, [0, 8])
    assert memory.read(0x6000, 8) == b"SLOFNVRM"
    assert len(backend.nvram) == 0x10000  # nvram@71000001 #bytes
    rc, rets = rtas(hv, memory, token("nvram-fetch"), args=(0xFFFC, 0x6000, 8), nret=2)
    assert (signed(rets[0]), rets[1]) == (-3, 0)
    rc, rets = rtas(hv, memory, token("nvram-fetch"), args=(0, 0xFFFF_FFF0, 8), nret=2)
    assert signed(rets[0]) == -1
    hv.reset((SEEDS / "default.seed.dtb").read_bytes())
    assert backend.nvram[0x10:0x18] == b"SLOFNVRM"  # NVRAM survives a reset


@pytest.mark.parametrize("addr", [(1 << 20) - 8, 1 << 40])
def test_rtas_block_outside_memory_is_h_parameter(addr):
    hv, memory, backend = make()
    assert hv.hcall(hc.KVMPPC_H_RTAS, addr) == (hc.H_PARAMETER, ())
    assert not backend.quiesced


def test_no_seed_no_tokens():
    memory = BufferGuestMemory(bytearray(0x10000))
    backend = QemuBackend(console_output=io.StringIO())
    hv = Hypervisor(memory, backend)
    rc, rets = rtas(hv, memory, 0x2011, nret=0)
    assert (rc, signed(rets[0])) == (hc.H_PARAMETER, -3)
