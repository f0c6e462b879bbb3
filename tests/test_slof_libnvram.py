"""slofpy's libnvram (slofpy/slof/libs/libnvram.py) on its own, against real SLOF's.

The library runs on a bare VM wired as slofpy.slof.boot wires a SlofMachine: a Hypervisor over
the VM's memory with the qemu host backend reset with QEMU's default seed (so the NVRAM is the
host's, 64 KiB, zeroed as QEMU's is without a backing file), and the library's words defined
as (C-CODE) calls. rtas-nvram.fs's set-up is typed as SLOF runs it: the tokens of
nvram-fetch/nvram-store, nvram-size, a buffer from alloc-mem, internal-nvram-init.

tests/data/slof-nvram/replies.txt is what real SLOF (QEMU 7.2's slof.bin) replied to the
lines of tests/data/slof-nvram/capture.py, typed in order at its prompt after its boot had
initialised QEMU's blank NVRAM. Here the NVRAM image its first `nvdump` printed is put into
the host's NVRAM, the same lines are typed into the library, and every reply, every stack
depth and every NVRAM image (`nvdump`, compared byte for byte) must be the same.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import require_slof_bin
from slofpy import Machine
from slofpy.abi.guest_memory import BufferGuestMemory
from slofpy.errors import ForthError
from slofpy.firmware.board import default_seed
from slofpy.host.registry import make_backend
from slofpy.host.rtas import rtas_tokens
from slofpy.hv.hypervisor import Hypervisor
from slofpy.slof.libs.libnvram import LibNvram, header_checksum
from slofpy.abi.hcalls import KVMPPC_H_RTAS
from slofpy.firmware.hcall_words import HcallWords

DATA = Path(__file__).resolve().parent / "data" / "slof-nvram"
REPLIES = DATA / "replies.txt"
BOOT_CONSOLE = DATA / "boot-console.txt"

# Lines that need SLOF's own Forth beyond libnvram (printenv: envvar.fs). `nvdump` itself is
# not run here (64 Ki RTAS calls through Forth): the host's NVRAM is compared with its reply.
NOT_TYPED = {"printenv"}


class NvramBench:
    """A bare VM with the host's NVRAM behind RTAS and libnvram's words: what the library
    sees of a SlofMachine (vm, scratch, nvram_size, console_write)."""

    def __init__(self):
        self.machine = Machine()
        self.vm = self.machine.vm
        self.host = make_backend("qemu")
        self.hypervisor = Hypervisor(BufferGuestMemory(self.vm.mem), self.host)
        self.hcall_words = HcallWords(self.hypervisor)
        self.hypervisor.reset(default_seed())
        self.rtas_calls: list[int] = []
        real_hcall = self.hypervisor.hcall

        def hcall(number: int, *args: int):
            if number == KVMPPC_H_RTAS:
                self.rtas_calls.append(args[0])
            return real_hcall(number, *args)
        self.hypervisor.hcall = hcall
        self.nvram_size = 0
        self.printed = b""
        self.machine.evaluate("10000 alloc-mem")
        self.scratch = self.machine.pop()
        self.library = LibNvram(self)
        for name, run in self.library.words().items():
            self.machine.evaluate(f": {name} d# {len(self.vm.c_code)} (c-code) ;")
            self.vm.c_code.append(run)

    def console_write(self, text: bytes) -> None:
        self.printed += text

    def init(self, size: int = 0x10000) -> None:
        """rtas-nvram.fs's set-up, with the seed's tokens."""
        tokens = {name: token for token, name in rtas_tokens(default_seed()).items()}
        self.machine.evaluate(
            f"{size:x} value nvram-size nvram-size alloc-mem value nvram-addr "
            f"{tokens['nvram-fetch']:x} {tokens['nvram-store']:x} nvram-size nvram-addr "
            "internal-nvram-init")

    @property
    def nvram(self) -> bytearray:
        return self.host.nvram

    def line(self, text: str) -> tuple[str, int]:
        """text typed at a prompt: (what it printed and "ok", or the error), the depth."""
        try:
            self.machine.interpret_line(text, timeout=60)
            reply = self.machine.take_output() + " ok"
        except ForthError as e:
            reply = self.machine.take_output() + f" {e}"
        return fold(reply), len(self.machine.stack)


def fold(text: str) -> str:
    return " ".join(text.split())


def captured() -> list[tuple[str, str, str, int]]:
    """(group, line, reply, depth) for every line real SLOF was given, in order."""
    text = REPLIES.read_text(encoding="latin-1")
    return [(m.group(1), m.group(2), m.group(3), int(m.group(4))) for m in
            re.finditer(r"^=== ([^\n|]*?) \| ([^\n]*)\n(.*?)\n--- depth (-?\d+)\n", text,
                        re.M | re.S)]


def dump_image(reply: str, size: int = 0x10000) -> bytes:
    """The NVRAM image an `nvdump` reply describes (its runs of non-zero bytes)."""
    image = bytearray(size)
    for m in re.finditer(r"^\s*([0-9a-f]+) : ([0-9a-f]*)\s*$", reply, re.M):
        start, data = int(m.group(1), 16), bytes.fromhex(m.group(2))
        image[start:start + len(data)] = data
    return bytes(image)


def image_difference(got: bytes, want: bytes) -> str:
    """Where two NVRAM images first differ, for an assertion message."""
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return (f"first difference at {i:#x}: slofpy {got[i:i + 16].hex()} "
                    f"real SLOF {want[i:i + 16].hex()}")
    return "no difference"


ALL = captured()
BOOT_IMAGE = dump_image(next(r for g, line, r, _ in ALL if g == "boot" and line == "nvdump"))


@pytest.fixture
def bench() -> NvramBench:
    b = NvramBench()
    b.init()
    return b


def common_variables(image: bytes) -> list[bytes]:
    """The "name=value" strings of the common partition at 0x2810 of a freshly set NVRAM."""
    data = image[0x2810:0x3800]
    return data[:data.index(b"\0\0")].split(b"\0")


# ------------------------------------------------------------------ the capture itself
def test_capture_is_complete():
    """Every group the capture names is there, each line left the depth the next one
    expects, and real SLOF re-initialised the blank NVRAM once while booting."""
    groups = {g for g, _, _, _ in ALL}
    assert {"boot", "get-partition", "get-named", "access", "get-env", "set-env", "add-env",
            "del-env", "new-partition", "erase-partition", "increase-partition",
            "delete-partition", "wipe", "reset"} <= groups
    assert len(ALL) >= 80
    boot = BOOT_CONSOLE.read_text(encoding="latin-1")
    assert boot.count("No NVRAM common partition, re-initializing...") == 1
    assert BOOT_IMAGE[0] == 0x51 and BOOT_IMAGE[0x2800] == 0x70 and BOOT_IMAGE[0x3800] == 0x7F


# ------------------------------------------------------------- replies against real SLOF
def replay(bench: NvramBench) -> list[tuple[str, str, str, int, str, int]]:
    """Every captured line typed into the library, from real SLOF's boot image on:
    (group, line, real reply, real depth, slofpy reply, slofpy depth). An `nvdump` at the
    end of a line is the host NVRAM's image, compared with real SLOF's dump."""
    bench.nvram[:] = BOOT_IMAGE
    out = []
    for group, line, reply, depth in ALL:
        if group in NOT_TYPED:
            continue
        if line.endswith("nvdump"):
            before = line[:-len("nvdump")].strip()
            mine, my_depth = bench.line(before) if before else ("ok", len(bench.machine.stack))
            want = dump_image(reply)
            got = bytes(bench.nvram)
            assert got == want, f"{line!r}: {image_difference(got, want)}"
            out.append((group, line, "ok", depth, mine, my_depth))
            continue
        mine, my_depth = bench.line(line)
        out.append((group, line, fold(reply), depth, mine, my_depth))
    return out


def test_replies_are_real_slofs(bench):
    """Each line's reply and stack depth, and each NVRAM image, as real SLOF's."""
    wrong = []
    for group, line, want, want_depth, got, got_depth in replay(bench):
        if (got, got_depth) != (want, want_depth):
            wrong.append(f"{group} | {line}\n  real SLOF: {want!r} depth {want_depth}"
                         f"\n  slofpy:    {got!r} depth {got_depth}")
    assert not wrong, "\n".join(wrong)
    assert bench.printed == b""                 # libnvram's C prints nothing on board-qemu


def test_boot_image_is_what_reset_and_defaults_make(bench):
    """From a blank NVRAM, what envvar.fs's get-nv does on it (internal-reset-nvram, the
    common partition erased, each default added with internal-add-env) gives real SLOF's
    boot image byte for byte."""
    assert not any(bench.nvram)
    bench.machine.evaluate(": common ( -- addr len ) 70 get-nvram-partition drop ;")
    bench.line("70 get-nvram-partition")
    assert bench.machine.pop() == -1
    bench.line("internal-reset-nvram common erase-nvram-partition drop")
    for entry in common_variables(BOOT_IMAGE):
        name, _, value = entry.partition(b"=")
        bench.machine.evaluate(f"{len(entry):x} alloc-mem")
        addr = bench.machine.pop()
        bench.vm.write(addr, entry)
        bench.machine.push(*bench.library.find_partition(0x70))
        bench.machine.push(addr, len(name), addr + len(name) + 1, len(value))
        bench.machine.evaluate("internal-add-env")
        assert bench.machine.pop() == 0, entry
    got = bytes(bench.nvram)
    assert got == BOOT_IMAGE, image_difference(got, BOOT_IMAGE)


# ------------------------------------------------------------ the library's own conventions
# the words of SLOF's lib/libnvram/libnvram.in
LIBNVRAM_WORDS = {
    "nvram-c@", "nvram-c!", "nvram-w@", "nvram-w!", "nvram-l@", "nvram-l!", "nvram-x@",
    "nvram-x!", "internal-reset-nvram", "nvram-debug", "wipe-nvram", "get-nvram-partition",
    "get-named-nvram-partition", "new-nvram-partition", "increase-nvram-partition",
    "erase-nvram-partition", "delete-nvram-partition", "internal-get-env", "internal-add-env",
    "internal-del-env", "internal-set-env", "internal-nvram-init"}


def test_every_word_is_carried_out():
    assert LibNvram.UNSUPPORTED == ()
    names = {getattr(getattr(LibNvram, a), "c_word_name", None) for a in dir(LibNvram)}
    assert names - {None} == LIBNVRAM_WORDS


def test_init_tells_the_size(bench):
    """internal-nvram-init's size is what get-nvram-size answers (SlofMachine.nvram_size)."""
    assert bench.nvram_size == 0x10000


def test_a_read_is_one_rtas_call_as_slofs_c_makes_it(bench):
    """nvram-w@: one KVMPPC_H_RTAS hcall whose block (big-endian u32: token, nargs 3,
    nret 2, offset, buffer, length, status, length done) the host fills in, the value read
    back from the buffer big-endian; past the end no call at all."""
    bench.nvram[0x10:0x12] = b"\xbe\xef"
    bench.rtas_calls.clear()
    assert bench.line("10 nvram-w@ .") == ("beef ok", 0)
    (block,) = bench.rtas_calls
    cells = [int.from_bytes(bench.vm.read(block + 4 * i, 4), "big") for i in range(8)]
    fetch = {n: t for t, n in rtas_tokens(default_seed()).items()}["nvram-fetch"]
    assert cells == [fetch, 3, 2, 0x10, cells[4], 2, 0, 2]
    assert bench.vm.read(cells[4], 2) == b"\xbe\xef"
    bench.rtas_calls.clear()
    assert bench.line("nvram-size 1- nvram-w@ . ffff nvram-size nvram-c!") == ("0 ok", 0)
    assert bench.rtas_calls == [] and not bench.nvram[-1]


def test_a_write_is_one_nvram_store(bench):
    bench.rtas_calls.clear()
    assert bench.line("0102030405060708090a 20 nvram-x!") == ("ok", 0)
    assert len(bench.rtas_calls) == 1
    assert bench.nvram[0x20:0x28] == bytes.fromhex("030405060708090a")


def test_before_init_nothing_reaches_the_nvram():
    """Without internal-nvram-init the tokens are 0, which the host refuses: reads give 0
    and writes change nothing (SLOF's C reads an uninitialised local there)."""
    b = NvramBench()
    b.nvram[:4] = b"\x51\x52\x53\x54"
    assert b.line("0 nvram-l@ . 99 1 nvram-c!") == ("0 ok", 0)
    assert b.nvram[:4] == b"\x51\x52\x53\x54"


def test_header_checksum_is_slofs_rule():
    """Type byte plus bytes 2..15 as a 16-bit sum, folded once into a byte: every header of
    real SLOF's boot image carries it (common: 70+01+"common" = 2fa, folded fc)."""
    for offset in (0, 0x2000, 0x2800, 0x3800):
        header = BOOT_IMAGE[offset:offset + 16]
        assert header_checksum(header) == header[1], hex(offset)
    assert BOOT_IMAGE[0x2801] == 0xFC


def test_zero_length_header_of_another_type_is_an_error_not_a_hang(bench):
    """`0 get-nvram-partition` over a valid header of type 70 and length 0 would make
    SLOF's C walk on the spot forever: one clear error, and the VM stays usable."""
    bench.nvram[0:4] = b"\x70\x70\x00\x00"
    reply, depth = bench.line("0 get-nvram-partition")
    assert "zero-length partition header at NVRAM offset 0x0" in reply and depth == 0
    assert bench.line("70 get-nvram-partition .") == ("-1 ok", 0)


def test_set_env_without_equals_in_nvram_is_an_error_not_a_hang(bench):
    """A variable string with no "=" and none before it: SLOF's C walks back for one
    forever; slofpy stops after one round of the NVRAM with one clear error."""
    assert bench.line("70 s\" common\" 40 new-nvram-partition drop nip") == ("ok", 1)
    addr = bench.machine.pop()
    bench.nvram[addr:addr + 4] = b"abc\0"
    reply, depth = bench.line(f"{addr:x} 40 s\" abc\" s\" x\" internal-set-env")
    assert 'no "=" in the NVRAM' in reply and depth == 0
    assert bench.line("1 2 + .") == ("3 ok", 0)


def test_negative_name_length_is_an_error(bench):
    reply, depth = bench.line("0 -1 get-named-nvram-partition")
    assert "negative name length" in reply and depth == 0


# ------------------------------------------------------------------ SLOF's own boot on it


def printenv_rows(text: str) -> dict[str, str]:
    """printenv's table: variable -> the rest of its row, white space folded."""
    rows = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if parts and not line.startswith("---"):
            rows[parts[0]] = fold(parts[1]) if len(parts) > 1 else ""
    return rows


def test_slof_boot_initialises_blank_nvram_as_real_slof():
    """slof.bin booted on slofpy with QEMU's blank NVRAM: nvram.fs and envvar.fs run, SLOF
    says once that it re-initialises the NVRAM, the NVRAM ends up as real SLOF's boot left
    it, printenv shows real SLOF's table (oem-logo is an address in SLOF's dictionary,
    compared only by being there), and /options of the tree SLOF flattens at quiesce is
    real SLOF's."""
    from slofpy.slof.boot import boot_slof
    out: list[str] = []
    slof = boot_slof(require_slof_bin(), output=out.append, timeout=120)
    console = "".join(out)
    assert console.count("No NVRAM common partition, re-initializing...") == 1
    got = bytes(slof.host.nvram)
    assert got == BOOT_IMAGE, image_difference(got, BOOT_IMAGE)
    assert slof.nvram_size == 0x10000
    out.clear()
    slof.evaluate("printenv")
    mine = printenv_rows("".join(out))
    reply = next(r for g, _, r, _ in ALL if g == "printenv")
    real = printenv_rows(reply.rstrip().removesuffix("ok"))
    assert mine.keys() == real.keys()
    assert {k: v for k, v in mine.items() if k != "oem-logo"} == \
        {k: v for k, v in real.items() if k != "oem-logo"}
    # /options, which envvar.fs fills from the NVRAM, as real SLOF flattens it
    slof.quiesce()
    assert options_node(slof.host.stored_blob) == options_node(REAL_SLOF_TREE.read_bytes())


# the tree real SLOF flattened at its prompt on QEMU's default machine
REAL_SLOF_TREE = Path(__file__).resolve().parent / "data" / "seeds" / "default.slof.dtb"


def options_node(blob: bytes) -> list[tuple[str, bytes]]:
    """The properties of /options in a flattened tree, in order, without its phandle."""
    from slofpy.fdt.blob import parse_blob
    root, _, _ = parse_blob(blob)
    (options,) = [n for n in root.children if n.name == "options"]
    return [(name, value) for name, value in options.props if name != "phandle"]


def persist_capture() -> tuple[list[str], bytes, str, dict[str, str]]:
    """tests/data/slof-nvram/persist.txt: the first boot's setenv lines, the NVRAM image
    after them, the second boot's console, and its replies by line."""
    text = (DATA / "persist.txt").read_text(encoding="latin-1")
    sections = re.split(r"^=== (.*)\n", text, flags=re.M)[1:]
    pairs = dict(zip(sections[0::2], sections[1::2]))
    image_key = next(k for k in pairs if k.startswith("image after: "))
    console = pairs.pop("second boot console")
    image = dump_image(pairs.pop(image_key))
    lines = image_key.removeprefix("image after: ").split(" | ")
    return lines, image, console, {k: fold(v.rstrip().removesuffix("ok"))
                                   for k, v in pairs.items()}


def test_slof_boot_keeps_what_setenv_stored_as_real_slof():
    """Two boots of slof.bin on one host (its NVRAM kept, as QEMU keeps an NVRAM file): the
    first re-initialises the blank NVRAM and takes three setenv lines, leaving the NVRAM
    image real SLOF left; the second reads the variables back from it without
    re-initialising, and printenv shows what real SLOF's second boot shows."""
    from slofpy.host.registry import make_backend as backend
    from slofpy.slof.boot import boot_slof
    lines, image, real_console, real_replies = persist_capture()
    assert "re-initializing" not in real_console and len(lines) == len(real_replies) == 3
    host = backend("qemu")
    out: list[str] = []
    first = boot_slof(require_slof_bin(), host=host, output=out.append,
                      timeout=120)
    for line in lines:
        first.interpret_line(line, timeout=60)
    got = bytes(host.nvram)
    assert got == image, image_difference(got, image)
    out.clear()
    second = boot_slof(require_slof_bin(), host=host, output=out.append,
                       timeout=120)
    assert "re-initializing" not in "".join(out)
    assert bytes(host.nvram) == image
    for line, want in real_replies.items():
        out.clear()
        second.interpret_line(line, timeout=60)
        assert fold("".join(out)) == want, line
