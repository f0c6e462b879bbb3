"""H_UPDATE_DT on mutated blobs: the qemu backend must agree with libfdt, case by case.

Each case puts a blob (a mutation of one of the real trees in tests/data/reference-seeds) into guest
memory and makes hcall 0xF003 with its address through the Hypervisor, as SLOF's
`hv-update-dt` does. The expected answer is computed independently, straight from guest
memory with pylibfdt: QEMU's h_update_dt rules (host.md 1.3) are

* the 40-byte header and then `totalsize` bytes must lie inside guest memory (else
  H_PARAMETER: slofpy's rule for what QEMU would read as unassigned memory);
* `totalsize > 2 * fdt_initial_size` is H_PARAMETER;
* `fdt_check_full(blob, totalsize) != 0` is H_PARAMETER (and the trace names libfdt's code);
* otherwise H_SUCCESS and the blob is stored.

Every case also checks that a refused blob leaves the stored blob and sizes exactly as they
were, that an accepted one is stored as a copy, that guest memory is never written, and that
QEMU's later lookups in the stored tree (PHB hotplug's interrupt-controller phandle, FWNMI's
rtas-base) answer as libfdt does or fail only with TreeLookupError.

Sizes: SLOFPY_FUZZ_SCALE multiplies the case counts (tests/README.md).
"""
from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import libfdt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import SEED, cases, fuzz_settings, report
from slofpy import Machine
from slofpy.host.qemu import QemuBackend
from slofpy.host.fdt_lookup import TreeLookupError
from slofpy.firmware.hcall_words import HcallWords
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import REAL_ADDRESS_MASK, BufferGuestMemory

from conftest import REFERENCE_SEEDS

SEEDS = REFERENCE_SEEDS
MACHINES = ["default", "rng"]
BLOB_FILES = sorted(p.name for p in SEEDS.glob("*.dtb"))
MEMORY_SIZE = 0x20000          # 128 KiB: room for any blob up to twice the largest seed

BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9
TOKENS = [BEGIN_NODE, END_NODE, PROP, NOP, END]
HEADER_FIELDS = ["magic", "totalsize", "off_dt_struct", "off_dt_strings", "off_mem_rsvmap",
                 "version", "last_comp_version", "boot_cpuid_phys", "size_dt_strings",
                 "size_dt_struct"]


# ---------------------------------------------------------------- blobs and their layout

def u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "big")


def put(data: bytearray, offset: int, value: int) -> None:
    """Store a big-endian u32 at offset, if it fits (mutations never grow a blob by it)."""
    if 0 <= offset <= len(data) - 4:
        data[offset:offset + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "big")


def machine_of(blob_file: str) -> str:
    return blob_file.split(".")[0]


class Layout:
    """Where the header fields, tokens, property lengths and name offsets of a valid blob
    are. Found with a small walker of our own (the blobs are known to be valid)."""

    def __init__(self, name: str, blob: bytes):
        self.blob = blob
        self.size = len(blob)
        # QEMU's limit: twice the initial tree of this blob's machine
        self.limit = 2 * len((SEEDS / f"{machine_of(name)}.seed.dtb").read_bytes())
        self.struct = u32(blob, 8)
        self.struct_size = u32(blob, 36)
        self.strings = u32(blob, 12)
        self.strings_size = u32(blob, 32)
        self.tokens: list[tuple[int, int]] = []   # (offset, token)
        self.props: list[int] = []                # offsets of FDT_PROP tokens
        pos, end = self.struct, self.struct + self.struct_size
        while pos < end:
            token = u32(blob, pos)
            self.tokens.append((pos, token))
            pos += 4
            if token == BEGIN_NODE:
                pos = (blob.index(b"\0", pos) + 4) & ~3
            elif token == PROP:
                self.props.append(pos - 4)
                pos = (pos + 8 + u32(blob, pos) + 3) & ~3
            elif token == END:
                break
        assert self.tokens[-1][1] == END


def with_rtas_base(blob: bytes, value: bytes) -> bytes:
    """blob with /rtas "linux,rtas-base" set (as an OS's instantiate-rtas leaves it), packed
    by libfdt (which also puts the blocks in dtc's order)."""
    tree = libfdt.Fdt(bytearray(blob))
    tree.resize(tree.totalsize() + 64)
    tree.setprop(tree.path_offset("/rtas"), "linux,rtas-base", value)
    tree.pack()
    return bytes(tree.as_bytearray())


BLOBS = {name: (SEEDS / name).read_bytes() for name in BLOB_FILES}
# Neither QEMU's trees nor SLOF's have linux,rtas-base; these give FWNMI's lookup values
# to find (a normal one and one shorter than the 4 bytes QEMU reads).
for _machine, _value in (("default", b"\x1f\xff\x00\x00"), ("rng", b"\x2f\xf0")):
    _name = f"{_machine}.slof.dtb+rtas-base"
    BLOBS[_name] = with_rtas_base(BLOBS[f"{_machine}.slof.dtb"], _value)
    BLOB_FILES.append(_name)
LAYOUTS = {name: Layout(name, blob) for name, blob in BLOBS.items()}


# ---------------------------------------------------------------- the oracle

def expected(memory: bytearray, addr: int, initial_size: int) -> tuple[int, int | None,
                                                                        bytes | None]:
    """(rc, libfdt code or None, blob the host must store or None), from pylibfdt alone."""
    real = addr & REAL_ADDRESS_MASK
    if real + 40 > len(memory):
        return hc.H_PARAMETER, None, None
    size = u32(memory, real + 4)
    if size > 2 * initial_size or real + size > len(memory):
        return hc.H_PARAMETER, None, None
    blob = bytearray(memory[real:real + size])
    code = libfdt.fdt_check_full(blob, size)
    if code != 0:
        return hc.H_PARAMETER, code, None
    return hc.H_SUCCESS, 0, bytes(blob)


def expected_lookups(blob: bytes) -> tuple[int | None, int]:
    """What QEMU's PHB hotplug and FWNMI lookups find in an accepted tree, by libfdt calls
    as QEMU makes them (phandle None: the hotplug lookup fails)."""
    fdt = bytearray(blob)
    node = libfdt.fdt_subnode_offset(fdt, 0, "interrupt-controller")
    phandle = libfdt.fdt_get_phandle(fdt, node) if node >= 0 else 0
    rtas = libfdt.fdt_path_offset(fdt, "/rtas")
    base = 0
    if rtas >= 0:
        value, length = libfdt.fdt_getprop(fdt, rtas, "linux,rtas-base")
        if value is not None:
            # QEMU reads 4 bytes where the value starts, however long it is
            prop = libfdt.fdt_first_property_offset(fdt, rtas)
            while prop >= 0:
                name = libfdt.fdt_get_property_by_offset(fdt, prop)[0]
                if name == "linux,rtas-base":
                    at = u32(blob, 8) + prop + 12
                    base = u32(blob, at)
                    break
                prop = libfdt.fdt_next_property_offset(fdt, prop)
            else:
                raise AssertionError("fdt_getprop found a property the walk did not")
            assert length < 4 or bytes(value[:4]) == blob[at:at + 4]
    return (phandle or None), base


# ---------------------------------------------------------------- the harness

class Host:
    """One guest (memory + Hypervisor + QemuBackend) that cases are run against, with the
    state the host must be in tracked independently."""

    def __init__(self, machine: str):
        self.machine = machine
        self.seed = BLOBS[f"{machine}.seed.dtb"]
        self.memory = bytearray(MEMORY_SIZE)
        self.backend = QemuBackend()
        self.hv = Hypervisor(BufferGuestMemory(self.memory), self.backend)
        self.stats: Counter = Counter()
        self.reset()

    def reset(self) -> None:
        self.hv.reset(self.seed)
        self.want_stored: bytes | None = None
        self.want_size = len(self.seed)

    def place(self, data: bytes, addr: int, after: bytes = b"") -> None:
        """Write data (and what follows it in memory) at addr, clipped to memory."""
        chunk = (data + after)[:max(0, len(self.memory) - addr)]
        self.memory[addr:addr + len(chunk)] = chunk

    def call(self, addr: int, label: str) -> int:
        """Make the hcall and check everything; returns the rc."""
        before = bytes(self.memory)
        stored_before = self.backend.stored_blob
        initial = self.backend.fdt_initial_size
        assert initial == len(self.seed)
        want_rc, want_code, want_blob = expected(self.memory, addr, initial)
        rc, outputs = self.hv.hcall(hc.KVMPPC_H_UPDATE_DT, addr)
        what = f"{label}: addr {addr:#x}"
        assert (rc, outputs) == (want_rc, ()), what
        assert bytes(self.memory) == before, f"{what}: guest memory written"
        assert self.backend.fdt_initial_size == initial, what
        if rc == hc.H_SUCCESS:
            self.want_stored = want_blob
            self.want_size = len(want_blob)
            stored = self.backend.stored_blob
            assert stored == want_blob, what
            assert isinstance(stored, bytes), f"{what}: stored blob is not a copy"
            self.check_lookups(stored, what)
            self.stats["accepted"] += 1
        else:
            assert self.backend.stored_blob is stored_before, f"{what}: stored blob changed"
            if want_code is not None:
                # refused by libfdt: the trace must name libfdt's own code
                found = re.search(r"fdt_check_full (-?\d+)", self.backend.trace[-1])
                assert found and int(found.group(1)) == want_code, \
                    f"{what}: {self.backend.trace[-1]!r}, libfdt says {want_code}"
                self.stats[f"refused {libfdt.fdt_strerror(want_code)}"] += 1
            else:
                self.stats["refused size/range"] += 1
        assert self.backend.stored_blob == self.want_stored, what
        assert self.backend.fdt_size == self.want_size, what
        return rc

    def check_lookups(self, blob: bytes, what: str) -> None:
        want_phandle, want_base = expected_lookups(blob)
        try:
            phandle = self.backend.interrupt_controller_phandle()
        except TreeLookupError:
            phandle = None
        assert phandle == want_phandle, what
        assert self.backend.rtas_base() == want_base, what


# ---------------------------------------------------------------- mutations
# Each mutator takes (rng, data, lay): data is the blob to change (the original or an
# already-mutated one), lay the layout of the original. It returns (blob, after): the bytes
# to place in guest memory and what to put right behind them (b"" for whatever is there).

def interesting_u32(rng: random.Random, lay: Layout) -> int:
    """A header or length value likely to sit on a boundary."""
    if rng.random() < 0.1:
        return rng.getrandbits(32)
    anchors = [0, 1, 4, 8, 0x28, 0x38, lay.size, lay.struct, lay.strings, lay.struct_size,
               lay.strings_size, lay.struct + lay.struct_size, lay.strings + lay.strings_size,
               lay.limit, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF8]
    step = rng.choice([0, 0, 0, 1, -1, 4, -4, 8, -8, rng.randrange(-64, 65)])
    return (rng.choice(anchors) + step) & 0xFFFF_FFFF


def m_bitflip(rng, data, lay):
    data = bytearray(data or b"\0")
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(data), b""


def m_bytes(rng, data, lay):
    data = bytearray(data or b"\0")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data))
        run = rng.choice([1, 1, 2, 4, 8])
        fill = rng.choice([0x00, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x09, None])
        for i in range(at, min(len(data), at + run)):
            data[i] = rng.randrange(256) if fill is None else fill
    return bytes(data), b""


def m_truncate(rng, data, lay):
    cut = rng.choice([rng.randrange(len(data) + 1), rng.randrange(48), len(data) - 4,
                      len(data) - 1, lay.struct + lay.struct_size - 4])
    data = bytearray(data[:cut])
    if rng.random() < 0.5:
        put(data, 4, cut)                      # the header says the short length
    filler = rng.choice([b"\0", b"\xff", None])
    after = rng.randbytes(lay.limit) if filler is None else filler * lay.limit
    return bytes(data), after


def m_header(rng, data, lay):
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        field = rng.randrange(10)
        if field == 0:
            value = rng.choice([0xD00DFEEE, 0xEDFE0DD0, 0, 0xD00DFEED ^ (1 << rng.randrange(32))])
        elif field == 1 and rng.random() < 0.5:
            # totalsize around the 2 x initial-size limit (zeros follow the blob)
            value = rng.choice([lay.limit - 1, lay.limit, lay.limit + 1,
                                lay.size + rng.randrange(64), lay.size - rng.randrange(64)])
        elif field == 5:
            value = rng.choice([0, 1, 2, 3, 15, 16, 17, 18, 0x10011, rng.getrandbits(32)])
        elif field == 6:
            value = rng.choice([0, 1, 2, 15, 16, 17, 18, rng.getrandbits(32)])
        else:
            value = interesting_u32(rng, lay)
        put(data, 4 * field, value)
    return bytes(data), bytes(lay.limit)


def resize_struct(data: bytearray, at: int, delta: int) -> None:
    """Fix the header after `delta` bytes were inserted (or removed) at `at`, inside the
    struct block: the struct block and the blob grow, blocks behind `at` move."""
    put(data, 36, u32(data, 36) + delta)
    put(data, 4, u32(data, 4) + delta)
    for field in (8, 12, 16):
        if u32(data, field) > at:
            put(data, field, u32(data, field) + delta)


def nop_out_property(data: bytearray, lay: Layout, prop: int) -> None:
    """Overwrite a property (token, length, name offset, padded value) with NOPs."""
    length = (u32(lay.blob, prop + 4) + 3) & ~3
    for at in range(prop, prop + 12 + length, 4):
        put(data, at, NOP)


def m_token(rng, data, lay):
    data = bytearray(data)
    kind = rng.randrange(6)
    offset, token = rng.choice(lay.tokens)
    if kind == 0:      # one token becomes another
        put(data, offset, rng.choice([t for t in TOKENS if t != token] + [0, 5, 8, 0xFFFF_FFFF]))
    elif kind == 1:    # two tokens swap
        other, other_token = rng.choice(lay.tokens)
        put(data, offset, other_token)
        put(data, other, token)
    elif kind == 2:    # a NOP (or another token) inserted before a token
        new = NOP if rng.random() < 0.6 else rng.choice(TOKENS)
        data[offset:offset] = new.to_bytes(4, "big")
        resize_struct(data, offset, 4)
    elif kind == 3:    # a token removed (or blanked, when it carries a payload)
        if token in (END_NODE, END, NOP):
            del data[offset:offset + 4]
            resize_struct(data, offset, -4)
        else:
            put(data, offset, NOP)
    elif kind == 4:    # a property turned into NOPs, as fdt_nop_property does
        nop_out_property(data, lay, rng.choice(lay.props))
    else:              # END_NODE / END / NOP / BEGIN_NODE near the end of the block
        at = rng.choice([o for o, _ in lay.tokens[-6:]])
        put(data, at, rng.choice([END_NODE, END, NOP, BEGIN_NODE]))
    return bytes(data), b""


def m_prop(rng, data, lay):
    data = bytearray(data)
    prop = rng.choice(lay.props)
    if rng.random() < 0.5:     # the value length
        room = lay.struct + lay.struct_size - (prop + 12)
        value = rng.choice([room, room + 1, room - 4, room + 4, lay.size - prop - 12,
                            lay.size - prop - 11, 0x7FFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFC,
                            u32(lay.blob, prop + 4) + rng.choice([1, 4, -1, 8]),
                            interesting_u32(rng, lay)])
        put(data, prop + 4, value)
    else:                      # the name offset
        end = lay.strings + lay.strings_size
        last_nul = lay.blob.rindex(b"\0", lay.strings, end) - lay.strings
        value = rng.choice([lay.strings_size, lay.strings_size - 1, lay.strings_size + 1,
                            last_nul, last_nul + 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                            lay.size, rng.randrange(lay.strings_size),
                            interesting_u32(rng, lay)])
        put(data, prop + 8, value)
    return bytes(data), bytes(lay.limit)


def m_valid(rng, data, lay):
    """Changes that keep the tree valid, so acceptance is exercised as much as refusal."""
    data = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:      # property values changed
        for _ in range(rng.randint(1, 5)):
            prop = rng.choice(lay.props)
            length = u32(lay.blob, prop + 4)
            at = prop + 12 + rng.randrange(length) if length else len(data)
            if at < len(data):
                data[at] = rng.randrange(256)
    elif kind == 1:    # free space at the end, up to and just past the size limit
        extra = rng.choice([rng.randrange(64), lay.limit - lay.size, lay.limit - lay.size + 1,
                            rng.randrange(lay.limit - lay.size)])
        data += bytes(extra)
        put(data, 4, len(data))
    elif kind == 2:    # properties blanked with NOPs
        for _ in range(rng.randint(1, 3)):
            nop_out_property(data, lay, rng.choice(lay.props))
    else:              # the boot cpu number
        put(data, 28, rng.getrandbits(32))
    return bytes(data), b""


def m_mixed(rng, data, lay):
    """Two to four of the mutations above, one after another."""
    after = b""
    for _ in range(rng.randint(2, 4)):
        step = rng.choice([m_bitflip, m_bytes, m_truncate, m_header, m_token, m_prop, m_valid])
        data, more = step(rng, data, lay)
        after = after or more
    return data, after


MUTATORS = {
    "bit flips": m_bitflip,
    "byte overwrites": m_bytes,
    "truncations": m_truncate,
    "header fields": m_header,
    "tokens": m_token,
    "property length/nameoff": m_prop,
    "valid edits": m_valid,
    "mixtures": m_mixed,
}
CI_CASES = 400     # per category, at scale 1


@pytest.mark.parametrize("category", list(MUTATORS))
def test_mutated_blobs_agree_with_libfdt(category):
    mutate = MUTATORS[category]
    rng = random.Random(f"{SEED}:{category}")
    hosts = {machine: Host(machine) for machine in MACHINES}
    total = cases(CI_CASES)
    for case in range(total):
        name = BLOB_FILES[case % len(BLOB_FILES)]
        blob, lay = BLOBS[name], LAYOUTS[name]
        host = hosts[machine_of(name)]
        if case % 7 == 0:
            host.reset()          # sometimes with nothing stored, sometimes with a blob
        data, after = mutate(rng, blob, lay)
        addr = rng.choice([0x1000, 0x1008, 0x1004, 0x1001, 0x1003])
        if rng.random() < 0.2:
            addr |= rng.choice([0xC, 0x8, 0xF]) << 60       # 0xC... style addresses
        host.place(data, addr & REAL_ADDRESS_MASK, after or bytes(8))
        host.call(addr, f"{category} case {case} of {name}")
    stats = hosts["default"].stats + hosts["rng"].stats
    assert sum(stats.values()) == total
    report(f"update-dt {category}: {total} cases, " +
           ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    if category == "valid edits":
        assert stats["accepted"] > total // 2
    elif category != "mixtures":
        assert stats["accepted"] < total


# ---------------------------------------------------------------- guest addresses

def test_addresses_and_sizes_past_guest_memory():
    """Header or blob running past guest memory is H_PARAMETER, whatever the blob."""
    rng = random.Random(f"{SEED}:addresses")
    host = Host("default")
    good = BLOBS["default.slof.dtb"]
    limit = 2 * len(host.seed)
    total = cases(300)
    results = Counter()
    for case in range(total):
        kind = case % 5
        data = bytearray(good)
        if kind == 0:        # header itself past the end
            addr = MEMORY_SIZE - rng.randrange(0, 40)
        elif kind == 1:      # header fits, blob does not
            addr = MEMORY_SIZE - rng.randrange(40, len(good))
        elif kind == 2:      # totalsize (within the 2x limit) runs past memory
            addr = MEMORY_SIZE - len(good) - rng.randrange(0, 64)
            put(data, 4, rng.randrange(MEMORY_SIZE - addr + 1, limit + 1))
        elif kind == 3:      # far away, with or without the top bits QEMU ignores
            addr = rng.choice([MEMORY_SIZE, MEMORY_SIZE + 8, 1 << 32, 1 << 59,
                               REAL_ADDRESS_MASK, (0xC << 60) | MEMORY_SIZE,
                               (1 << 64) - 1, rng.getrandbits(64)])
        else:                # fits exactly at the end of memory: accepted
            addr = MEMORY_SIZE - len(good)
        real = addr & REAL_ADDRESS_MASK
        if real < MEMORY_SIZE:
            host.place(bytes(data), real)
        rc = host.call(addr, f"address case {case}")
        results[rc] += 1
        if kind == 4:
            assert rc == hc.H_SUCCESS
        else:
            assert rc == hc.H_PARAMETER
    report(f"update-dt addresses: {total} cases, rc counts {dict(results)}")


def test_negative_address_register_is_h_parameter():
    host = Host("default")
    host.place(BLOBS["default.slof.dtb"], 0x1000)
    assert host.hv.hcall(hc.KVMPPC_H_UPDATE_DT, -1) == (hc.H_PARAMETER, ())
    assert host.backend.stored_blob is None


# ---------------------------------------------------------------- through Forth

def test_forth_hv_update_dt_agrees_with_libfdt():
    """The firmware's own way in: the blob in VM memory (the guest's RAM), SLOF's
    `hv-update-dt ( dtb -- rc )` making hcall 0xF003 through the Hypervisor."""
    m = Machine()
    backend = QemuBackend()
    hypervisor = Hypervisor(BufferGuestMemory(m.vm.mem), backend)
    HcallWords(hypervisor).install(m)
    seed = BLOBS["default.seed.dtb"]
    hypervisor.reset(seed)
    m.evaluate("#131072 alloc-mem")
    buf = m.pop()
    assert buf
    rng = random.Random(f"{SEED}:forth")
    names = [n for n in BLOB_FILES if machine_of(n) == "default"]
    mutators = list(MUTATORS.values())
    outcomes = Counter()
    stored = None
    total = cases(200)
    for case in range(total):
        name = names[case % len(names)]
        data, after = rng.choice(mutators)(rng, BLOBS[name], LAYOUTS[name])
        m.write(buf, (data + (after or bytes(8)))[:131072])
        addr = rng.choice([buf, buf, buf, buf | (0xC << 60), -1, MEMORY_SIZE << 20])
        want_rc, want_code, want_blob = expected(m.vm.mem, addr, len(seed))
        m.evaluate(f"#{addr} hv-update-dt")
        assert m.stack == [want_rc], f"case {case} of {name}"
        m.evaluate("clear")
        if want_rc == hc.H_SUCCESS:
            stored = want_blob
        assert backend.stored_blob == stored, f"case {case} of {name}"
        outcomes["accepted" if want_rc == hc.H_SUCCESS else "refused"] += 1
    report(f"update-dt through Forth hv-update-dt: {total} cases, {dict(outcomes)}")
    assert outcomes["accepted"] and outcomes["refused"]


# ---------------------------------------------------------------- hypothesis

@st.composite
def edits(draw):
    """A blob with a few hypothesis-chosen u32 writes and byte writes, and its filler."""
    name = draw(st.sampled_from(BLOB_FILES))
    blob, lay = BLOBS[name], LAYOUTS[name]
    data = bytearray(blob)
    token_offsets = [o for o, _ in lay.tokens] + lay.props
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.one_of(
            st.integers(0, 9).map(lambda f: 4 * f),                        # header field
            st.sampled_from(token_offsets),                                 # token
            st.sampled_from(lay.props).map(lambda p: p + 4),                # prop length
            st.sampled_from(lay.props).map(lambda p: p + 8),                # prop nameoff
            st.integers(0, len(blob) - 4)))
        value = draw(st.one_of(st.sampled_from(TOKENS), st.integers(0, 0xFFFF_FFFF),
                               st.sampled_from([len(blob), lay.struct_size, lay.strings_size,
                                                0x7FFF_FFFF, 0xFFFF_FFFF, 40, 16, 17])))
        put(data, where, value)
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))
    filler = draw(st.sampled_from([b"\0", b"\xff", b"\x04"]))
    return name, bytes(data[:cut]), filler * (2 * len(blob))


HOSTS: dict[str, Host] = {}


@fuzz_settings(300)
@given(edit=edits(), keep=st.booleans())
def test_hypothesis_edits_agree_with_libfdt(edit, keep):
    name, data, after = edit
    machine = machine_of(name)
    host = HOSTS.get(machine) or HOSTS.setdefault(machine, Host(machine))
    if not keep:
        host.reset()
    host.place(data, 0x2000, after)
    host.call(0x2000, f"hypothesis edit of {name}")


# ---------------------------------------------------------------- regressions
# (Blobs that once disagreed or crashed would be listed here; see tests/README.md.)

def root_replaced_by_end(blob: bytes) -> bytes:
    """blob with its root node's FDT_BEGIN_NODE turned into FDT_END."""
    data = bytearray(blob)
    put(data, u32(blob, 8), END)
    return bytes(data)


@pytest.mark.parametrize("name", ["default.slof.dtb", "rng.seed.dtb"])
def test_tree_without_a_root_node_is_stored_and_lookups_fail_as_in_qemu(name):
    """Found by the byte-overwrite run: libfdt 1.7.2's fdt_check_full accepts a struct block
    that starts with FDT_END (no root node at all), so QEMU stores it; its hotplug lookup
    then fails with BADOFFSET and FWNMI finds no /rtas. The backend raised libfdt's
    FdtException from both lookups instead."""
    blob = root_replaced_by_end(BLOBS[name])
    assert libfdt.fdt_check_full(bytearray(blob), len(blob)) == 0
    host = Host(machine_of(name))
    host.place(blob, 0x1000)
    assert host.call(0x1000, "no root node") == hc.H_SUCCESS
    with pytest.raises(TreeLookupError,
                       match='Can\'t find node "interrupt-controller": FDT_ERR_BADOFFSET'):
        host.backend.interrupt_controller_phandle()
    assert host.backend.rtas_base() == 0


def test_tree_with_nop_before_the_root_is_stored_and_lookups_fail_as_in_qemu():
    """Same crash, other shape: a NOP before the root node is valid, and offset 0 (where
    QEMU looks for the root) is then that NOP."""
    blob = bytearray(BLOBS["default.seed.dtb"])
    struct_at = u32(blob, 8)
    blob[struct_at:struct_at] = NOP.to_bytes(4, "big")
    resize_struct(blob, struct_at, 4)
    host = Host("default")
    host.place(bytes(blob), 0x1000)
    assert host.call(0x1000, "NOP before the root") == hc.H_SUCCESS
    with pytest.raises(TreeLookupError, match="FDT_ERR_BADOFFSET"):
        host.backend.interrupt_controller_phandle()
    assert host.backend.rtas_base() == 0


@pytest.mark.parametrize("value", [b"\x1f\xff\x00\x00", b"\x12\x34", b"\x12\x34\x56\x78\x9a"])
def test_rtas_base_reads_four_bytes_as_qemu_does(value):
    """QEMU's spapr_get_rtas_addr reads a u32 where the value starts whatever its length;
    the backend used to answer 0 for a value shorter than 4 bytes. (libfdt's setprop does
    not clear the padding after a short value, so those bytes are whatever was there.)"""
    host = Host("default")
    blob = with_rtas_base(BLOBS["default.slof.dtb"], value)
    host.place(blob, 0x1000)
    assert host.call(0x1000, "rtas-base") == hc.H_SUCCESS
    base = host.backend.rtas_base()
    assert base.to_bytes(4, "big")[:len(value)] == value[:4]
    assert base == expected_lookups(blob)[1]


def test_empty_rtas_base_reads_the_next_token():
    host = Host("default")
    blob = with_rtas_base(BLOBS["default.slof.dtb"], b"")
    host.place(blob, 0x1000)
    assert host.call(0x1000, "empty rtas-base") == hc.H_SUCCESS
    assert host.backend.rtas_base() in (BEGIN_NODE, END_NODE, PROP, NOP)
