"""KVMPPC_H_UPDATE_DT through the hypervisor into QemuBackend, with the real seeds."""
import re
from pathlib import Path

import libfdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slofpy.host.qemu import QemuBackend, SeedError
from slofpy.host.fdt_lookup import PHANDLE_INTC, TreeLookupError
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory

from conftest import REFERENCE_SEEDS

SEEDS = REFERENCE_SEEDS
MACHINES = ["default", "rng"]
MEMORY_SIZE = 1 << 20
BLOB_ADDR = 0x40000

FDT_PROP = 3


def seed_blob(machine: str) -> bytes:
    return (SEEDS / f"{machine}.seed.dtb").read_bytes()


def slof_blob(machine: str) -> bytes:
    return (SEEDS / f"{machine}.slof.dtb").read_bytes()


def slof_intc_phandle(machine: str) -> int:
    """/interrupt-controller's phandle, read from the SLOF tree's DTS text."""
    text = (SEEDS / f"{machine}.slof.dts").read_text()
    found = re.search(r"^\tinterrupt-controller \{\n\t\tphandle = <(0x[0-9a-f]+)>;", text, re.M)
    assert found, "no /interrupt-controller phandle in the DTS"
    return int(found.group(1), 16)


def machine_for(machine: str = "default"):
    memory = BufferGuestMemory(bytearray(MEMORY_SIZE))
    backend = QemuBackend()
    hv = Hypervisor(memory, backend)
    hv.reset(seed_blob(machine))
    return hv, memory, backend


def put_u32(blob: bytes, offset: int, value: int) -> bytes:
    return blob[:offset] + value.to_bytes(4, "big") + blob[offset + 4:]


def update(hv: Hypervisor, memory: BufferGuestMemory, blob: bytes,
           addr: int = BLOB_ADDR) -> int:
    memory.write(addr, blob)
    rc, outputs = hv.hcall(hc.KVMPPC_H_UPDATE_DT, addr)
    assert outputs == ()
    return rc


@pytest.mark.parametrize("machine", MACHINES)
def test_slof_blob_is_accepted_and_stored(machine):
    hv, memory, backend = machine_for(machine)
    blob = slof_blob(machine)
    assert backend.stored_blob is None
    assert update(hv, memory, blob) == hc.H_SUCCESS
    assert backend.stored_blob == blob
    assert backend.fdt_size == len(blob)
    assert backend.fdt_initial_size == len(seed_blob(machine))  # unchanged


def test_only_totalsize_bytes_are_taken():
    hv, memory, backend = machine_for()
    blob = slof_blob("default")
    memory.write(BLOB_ADDR + len(blob), b"\xAA" * 64)  # whatever follows in memory
    assert update(hv, memory, blob) == hc.H_SUCCESS
    assert backend.stored_blob == blob


def test_top_four_address_bits_are_ignored():
    hv, memory, backend = machine_for()
    blob = slof_blob("default")
    memory.write(BLOB_ADDR, blob)
    assert hv.hcall(hc.KVMPPC_H_UPDATE_DT, 0xC000_0000_0000_0000 | BLOB_ADDR)[0] == 0
    assert backend.stored_blob == blob


def corruptions(blob: bytes) -> dict[str, bytes]:
    struct_offset = int.from_bytes(blob[8:12], "big")
    # The first FDT_PROP tag after the root's FDT_BEGIN_NODE and empty name.
    prop_at = blob.index(FDT_PROP.to_bytes(4, "big"), struct_offset)
    return {
        "bad magic": put_u32(blob, 0, 0xD00DFEEE),
        "truncated totalsize": put_u32(blob, 4, len(blob) - 16),
        "tiny totalsize": put_u32(blob, 4, 20),
        "zero totalsize": put_u32(blob, 4, 0),
        "flipped token": put_u32(blob, prop_at, 0x7),
        "bad version": put_u32(blob, 20, 1),
        "strings past end": put_u32(blob, 12, len(blob)),
    }


@pytest.mark.parametrize("kind", sorted(corruptions(slof_blob("default"))))
def test_corrupt_blob_is_refused_and_stored_blob_kept(kind):
    hv, memory, backend = machine_for()
    good = slof_blob("default")
    assert update(hv, memory, good) == hc.H_SUCCESS
    bad = corruptions(good)[kind]
    assert libfdt.fdt_check_full(bytearray(bad), len(bad)) != 0 or kind.endswith("totalsize")
    assert update(hv, memory, bad, addr=BLOB_ADDR + 0x10000) == hc.H_PARAMETER
    assert backend.stored_blob == good


def test_corrupt_blob_with_nothing_stored_keeps_nothing():
    hv, memory, backend = machine_for()
    assert update(hv, memory, corruptions(slof_blob("default"))["flipped token"]) == -4
    assert backend.stored_blob is None


def test_size_limit_is_twice_the_seed():
    hv, memory, backend = machine_for()
    limit = 2 * len(seed_blob("default"))
    blob = slof_blob("default")
    at_limit = put_u32(blob, 4, limit) + bytes(limit - len(blob))
    over_limit = put_u32(blob, 4, limit + 4) + bytes(limit + 4 - len(blob))
    for candidate in (at_limit, over_limit):  # both are valid trees
        assert libfdt.fdt_check_full(bytearray(candidate), len(candidate)) == 0
    assert update(hv, memory, over_limit) == hc.H_PARAMETER
    assert backend.stored_blob is None
    assert update(hv, memory, at_limit) == hc.H_SUCCESS
    assert backend.stored_blob == at_limit


def test_huge_totalsize_is_refused_by_size_before_reading():
    hv, memory, backend = machine_for()
    blob = put_u32(slof_blob("default"), 4, 0xFFFF_FFFF)
    assert update(hv, memory, blob) == hc.H_PARAMETER
    assert "too big" in backend.trace[-1]


@pytest.mark.parametrize("addr", [
    MEMORY_SIZE - 20,                  # the header itself runs past memory
    MEMORY_SIZE - 100,                 # the header fits, the blob does not
    MEMORY_SIZE,                       # just past the end
    0x0800_0000_0000,                  # far away
])
def test_blob_past_guest_memory_is_refused(addr):
    hv, memory, backend = machine_for()
    blob = slof_blob("default")
    fitting = blob[:max(0, min(len(blob), MEMORY_SIZE - addr))]
    if fitting:
        memory.write(addr, fitting)
    assert hv.hcall(hc.KVMPPC_H_UPDATE_DT, addr) == (hc.H_PARAMETER, ())
    assert backend.stored_blob is None


def test_without_a_seed_every_blob_is_refused():
    memory = BufferGuestMemory(bytearray(MEMORY_SIZE))
    backend = QemuBackend()
    hv = Hypervisor(memory, backend)
    blobs = [slof_blob(m) for m in MACHINES] + [seed_blob(m) for m in MACHINES]
    for blob in blobs + [blobs[0][:40]]:
        assert update(hv, memory, blob) == hc.H_PARAMETER
        assert backend.stored_blob is None


def test_unknown_hcall_is_h_function():
    hv, _, _ = machine_for()
    assert hv.hcall(0xF004, BLOB_ADDR) == (hc.H_FUNCTION, ())
    assert hv.hcall(0xF005, BLOB_ADDR) == (hc.H_FUNCTION, ())


@pytest.mark.parametrize("machine", MACHINES)
def test_interrupt_controller_phandle_before_and_after_update(machine):
    backend = QemuBackend()
    assert backend.interrupt_controller_phandle() == PHANDLE_INTC  # no tree at all yet
    memory = BufferGuestMemory(bytearray(MEMORY_SIZE))
    hv = Hypervisor(memory, backend)
    hv.reset(seed_blob(machine))
    assert backend.interrupt_controller_phandle() == 0x1111  # QEMU's own tree
    assert update(hv, memory, slof_blob(machine)) == hc.H_SUCCESS
    expected = slof_intc_phandle(machine)
    assert expected != 0x1111
    assert backend.interrupt_controller_phandle() == expected
    hv.reset(seed_blob(machine))
    assert backend.stored_blob is None
    assert backend.interrupt_controller_phandle() == 0x1111


def test_interrupt_controller_lookup_failures_are_reported():
    tree = libfdt.Fdt(bytearray(seed_blob("default")))
    tree.del_node(tree.path_offset("/interrupt-controller"))
    tree.pack()
    backend = QemuBackend()
    backend.reset(bytes(tree.as_bytearray()))
    with pytest.raises(TreeLookupError, match="Can't find node"):
        backend.interrupt_controller_phandle()

    tree = libfdt.Fdt(bytearray(seed_blob("default")))
    node = tree.path_offset("/interrupt-controller")
    tree.delprop(node, "phandle")
    tree.delprop(node, "linux,phandle")
    tree.pack()
    backend.reset(bytes(tree.as_bytearray()))
    with pytest.raises(TreeLookupError, match="Can't get phandle"):
        backend.interrupt_controller_phandle()


def test_rtas_base_comes_from_the_current_tree():
    hv, memory, backend = machine_for()
    assert backend.rtas_base() == 0  # neither QEMU's tree nor SLOF's has it
    tree = libfdt.Fdt(bytearray(seed_blob("default")))
    tree.resize(tree.totalsize() + 64)
    tree.setprop_u32(tree.path_offset("/rtas"), "linux,rtas-base", 0x1FFF0000)
    tree.pack()
    assert update(hv, memory, bytes(tree.as_bytearray())) == hc.H_SUCCESS
    assert backend.rtas_base() == 0x1FFF0000
    assert QemuBackend().rtas_base() == 0


def test_reset_rejects_a_bad_seed():
    backend = QemuBackend()
    with pytest.raises(SeedError):
        backend.reset(b"\0" * 8)
    with pytest.raises(SeedError):
        backend.reset(put_u32(seed_blob("default"), 0, 0x12345678))
    with pytest.raises(SeedError):
        backend.reset(seed_blob("default")[:1000])


def test_cas_sends_the_rebuilt_tree_and_drops_the_stored_blob():
    from slofpy.client.linux import linux_option_vectors
    hv, memory, backend = machine_for()
    assert update(hv, memory, slof_blob("default")) == hc.H_SUCCESS
    memory.write(0x1000, linux_option_vectors(bytes.fromhex("178018c019001a40")))
    buffer = 0x80000
    rc, _ = hv.hcall(hc.KVMPPC_H_CAS, 0x1000, buffer, 0x20000)
    assert rc == hc.H_SUCCESS
    assert memory.read(buffer, 4) == b"\1\0\0\0"      # version 1, in an x86 host's order
    size = int.from_bytes(memory.read(buffer + 8, 4), "big")
    assert memory.read(buffer + 4, size) == backend.cas_blob
    assert backend.cas_blob != seed_blob("default")
    assert backend.stored_blob is None
    assert backend.fdt_initial_size == size
    # from now on H_UPDATE_DT's limit is twice the CAS tree, a little smaller than the seed
    assert size < len(seed_blob("default"))
    big = 2 * size + 8
    padded = put_u32(slof_blob("default"), 4, big).ljust(big, b"\0")
    assert update(hv, memory, padded) == hc.H_PARAMETER
    hv, memory, backend = machine_for()
    assert update(hv, memory, padded) == hc.H_SUCCESS


def test_cas_with_a_small_buffer_fails():
    hv, memory, backend = machine_for()
    assert hv.hcall(hc.KVMPPC_H_CAS, 0x1000, 0x80000, 2)[0] == hc.H_PARAMETER
    assert backend.halt_reason == "error: SLOF provided insufficient CAS buffer"
    hv, memory, backend = machine_for()
    assert hv.hcall(hc.KVMPPC_H_CAS, 0x1000, 0x80000, 0x100)[0] == hc.H_PARAMETER
    assert memory.read(0x80000, 4) == b"\0\0\0\0"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offset=st.integers(0, len(slof_blob("default")) - 1), value=st.integers(0, 255))
def test_any_single_byte_change_is_checked_by_libfdt(offset, value):
    hv, memory, backend = machine_for()
    good = slof_blob("default")
    mutated = good[:offset] + bytes([value]) + good[offset + 1:]
    rc = update(hv, memory, mutated)
    size = int.from_bytes(mutated[4:8], "big")
    taken = mutated[:size]
    valid = (size <= 2 * len(seed_blob("default")) and size <= len(mutated)
             and libfdt.fdt_check_full(bytearray(taken), len(taken)) == 0)
    if size > len(mutated) and size <= 2 * len(seed_blob("default")):
        # The blob reaches into whatever memory follows it (zeros here).
        taken = memory.read(BLOB_ADDR, size)
        valid = libfdt.fdt_check_full(bytearray(taken), len(taken)) == 0
    assert rc == (hc.H_SUCCESS if valid else hc.H_PARAMETER)
    assert backend.stored_blob == (taken if valid else None)
