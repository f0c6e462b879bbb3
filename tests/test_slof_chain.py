"""SLOF's own Forth on the bare slofpy engine: every file of board-qemu/slof/OF.fs's chain.

The SLOF source tree is the one Debian built QEMU's slof.bin from, taken from Debian's qemu
source package at set-up when missing (tests/data/fetch-slof-source; nothing of SLOF is part
of slofpy). OF.fs is pre-processed as SLOF's build does it (its search path, RTAS_NVRAM
BROKEN_SC1 DHCPARCH defined) into one text; that text is cut where one file's text gives way
to another's (an #include, or the rest of the including file after one), and the pieces run
in order in one bare VM, each on its own, so an error stops only the piece it is in.

Stubs stand only for words SLOF implements in C or assembler outside the engine: the words its
lib/*/*.in files declare (hcalls, NVRAM, virtio, USB, network, ELF ...). Before a piece runs,
each such word it names that is not defined yet is defined as a word doing nothing; the test
lists those it needed.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import re
from collections import OrderedDict
from pathlib import Path

import pytest

from slofpy import Machine
from slofpy.errors import ForthError, Throw
from slofpy.firmware.hcall_words import HcallWords
from slofpy.vm import layout as L
from slofpy.vm.dictionary import find
from slofpy.vm.source import preprocess_file

HERE = Path(__file__).resolve().parent
DEFINES = {b"RTAS_NVRAM": b"", b"BROKEN_SC1": b"", b"DHCPARCH": b""}

# The C words the chain needs stubs for, as the test finds them (it asserts this list, so a
# change in what SLOF's Forth needs from outside the engine shows up here).
STUBS = """
boot-menu bootmsg-cp bootmsg-debugcp bootmsg-error bootmsg-nvupdate bootmsg-warning
check-and-patch-sc1 elf-load-file elf-load-file-to-addr erase-nvram-partition get-flash-base
get-named-nvram-partition get-nvram-base get-nvram-partition get-nvram-size get-print-version
hv-rtas-get internal-add-env internal-nvram-init internal-reset-nvram net-load net-ping
nvram-c@ nvram-l@ nvram-w@ tpm-gpt-add-entry tpm-gpt-set-lba1
tpm-hash-log-extend-event-buffer usb-ehci-register usb-hcd-init usb-ohci-register
usb-xhci-register
""".split()

# What the stubs that run while the chain loads do, as the C words they stand for (their
# stack effects in SLOF's lib/*/*.code): no flash; an NVRAM whose common partition is there
# and empty ({nvram}: its address), and no other partition.
STUB_EFFECTS = {
    "get-flash-base": "0",                          # ( -- addr )
    "get-nvram-base": "{nvram}",                    # ( -- addr )
    "get-nvram-size": "{nvram_size}",               # ( -- size )
    "get-nvram-partition": "drop {nvram} {nvram_size} false",  # ( type -- addr len false )
    "get-named-nvram-partition": "2drop true",      # ( name len -- true ): none
    "internal-nvram-init": "2drop 2drop",           # ( fetch-xt store-xt size addr -- )
    **{f"nvram-{w}@": "drop 0" for w in "cwlx"},    # ( offset -- 0 ): all zeros
    **{f"nvram-{w}!": "2drop" for w in "cwlx"},     # ( value offset -- )
}
NVRAM_SIZE = 0x1000

# Files in SLOF's romfs (OF_FFS_FILES of board-qemu/slof/Makefile) are found where the build
# takes them from, pre-processed as it does
ROMFS_DIRS = ("board-qemu/slof", "slof/fs", "slof/fs/usb", "slof/fs/devices", "slof/fs/fcode")


def _fetch_module():
    path = str(HERE / "data" / "fetch-slof-source")
    loader = importlib.machinery.SourceFileLoader("fetch_slof_source", path)
    spec = importlib.util.spec_from_loader("fetch_slof_source", loader)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def slof_tree() -> Path:
    mod = _fetch_module()
    try:
        return mod.fetch()
    except Exception as e:          # no apt, no network: one clear reason
        pytest.fail(f"cannot fetch SLOF's source tree: {e}")


def c_effects(tree: Path) -> dict[str, int]:
    """How much deeper each C word of lib/*/*.code leaves the stack (its PUSHes less its
    POPs): what a stub does when STUB_EFFECTS says nothing (pushes zeros or drops)."""
    effects = {}
    for f in sorted((tree / "lib").glob("*/*.code")):
        for m in re.finditer(r"PRIM\(([^)]*)\)(.*?)MIRP", f.read_text(errors="replace"), re.S):
            name = re.sub(r"_X([0-9a-fA-F]{2})_?", lambda x: chr(int(x.group(1), 16)),
                          m.group(1)).lower()
            body = m.group(2)
            effects[name] = (len(re.findall(r"\bPUSH\b", body)) - len(re.findall(r"\bPOP\b", body))
                             - body.count("dp--") + body.count("dp++"))
    return effects


def stub_body(name: str, effects: dict[str, int]) -> str:
    if name in STUB_EFFECTS:
        return STUB_EFFECTS[name]
    d = effects.get(name, 0)
    return " ".join(["drop"] * -d if d < 0 else ["0"] * d)


def c_words(tree: Path) -> set[str]:
    """Names SLOF's lib/*/*.in files declare: words implemented in C outside the engine."""
    names = set()
    for f in sorted((tree / "lib").glob("*/*.in")):
        for m in re.finditer(r"^(?:cod|col|con|var|val|dfr|imm|raw|str)\((\S+?)\)(?:\s|$)",
                             f.read_text(errors="replace"), re.M):
            names.add(m.group(1).lower())
    return names


def pieces(tree: Path) -> list[tuple[str, int, bytes]]:
    """(file inside the tree, its first line, text) of OF.fs pre-processed, in order."""
    search = [tree / "board-qemu" / "slof", tree / "slof" / "fs", tree / "slof"]
    pre = preprocess_file(tree / "board-qemu" / "slof" / "OF.fs", search, DEFINES)
    out = []
    segs = pre.segments
    for i, seg in enumerate(segs):
        end = segs[i + 1].offset if i + 1 < len(segs) else len(pre.text)
        text = pre.text[seg.offset:end]
        if not text.strip():
            continue
        path = Path(seg.file).resolve()
        out.append((str(path.relative_to(tree.resolve())), seg.line, text))
    return out


def _undefined(m: Machine, name: bytes) -> bool:
    try:
        return find(m.vm, name) is None
    except Throw:                   # a search order the piece before left broken
        return False


class _NoHypervisor:
    """Answers every hcall with H_FUNCTION."""

    def hcall(self, number: int, *args: int) -> tuple[int, tuple[int, ...]]:
        return -2, ()


def load_chain(tree: Path) -> tuple[OrderedDict, list[str]]:
    """Run every piece: {file: first error or None} in chain order, and the stubs made."""
    m = Machine(dictionary_cache=False)
    # What lives outside paflof's dictionary and heap (SLOF's alloc-mem.fs takes the heap
    # over) goes at the top of the dictionary's room, given up for it: QEMU's flattened
    # tree where FDT-START says, the NVRAM, and the romfs files as SLOF's CALL-C finds them
    blob = (HERE.parent / "slofpy" / "data" / "default.seed.dtb").read_bytes()
    outside = (m.cell(L.DICT_LIMIT) - 0x400000) & ~0xFFF
    m.set_cell(L.DICT_LIMIT, outside)
    m.vm.fdt_start = outside
    # the board's hcall words, on a hypervisor that knows no hcall (H_FUNCTION), as an old
    # QEMU answers; RMOVE and RFILL stay in memory
    m.define_python_words(HcallWords(_NoHypervisor()).words(), "<slofpy: the board's hcall words>")
    m.write(outside, blob)
    nvram = (outside + len(blob) + 0xFFF) & ~0xFFF
    free = [nvram + NVRAM_SIZE]
    search = [tree / "board-qemu" / "slof", tree / "slof" / "fs", tree / "slof"]

    def romfs_lookup(name: bytes):
        for d in ROMFS_DIRS:
            f = tree / d / name.decode("latin-1")
            if f.is_file():
                data = f.read_bytes() if f.suffix != ".fs" else \
                    preprocess_file(f, search, DEFINES).text
                if f.suffix == ".fs":
                    stub_for(data)
                addr = free[0]
                m.write(addr, data)
                free[0] = (addr + len(data) + 0xFFF) & ~0xFFF
                return addr, len(data)
        return None
    m.vm.romfs_lookup = romfs_lookup

    def rtas(vm, control_block: int, base: int, _: int) -> int:
        """SLOF's RTAS entered through CALL-C (enter-rtas; rtas-base is 0 until RTAS is
        instantiated): every call answers -1, hardware error, in its status word."""
        nargs, nret = vm.cell(control_block) & 0xFFFFFFFF, vm.cell(control_block + 8) >> 32
        if nret:
            vm.write(control_block + 12 + 4 * nargs, b"\xff\xff\xff\xff")
        return 0
    m.vm.c_functions[0] = rtas
    lib = c_words(tree)
    effects = c_effects(tree)
    token = re.compile(rb"\S+")
    stubs: list[str] = []

    def stub_for(text: bytes) -> None:
        """Stubs for the C words text names that are not defined yet (in FORTH)."""
        for t in sorted({t.lower() for t in token.findall(text)}):
            name = t.decode("latin-1")
            if name in lib and _undefined(m, t):
                body = stub_body(name, effects).format(nvram=f"{nvram:x}",
                                                      nvram_size=f"{NVRAM_SIZE:x}")
                m.evaluate(f"get-current forth-wordlist set-current : {name} {body} ; "
                           "set-current")
                stubs.append(name)
    results: OrderedDict[str, str | None] = OrderedDict()
    for file, line, text in pieces(tree):
        stub_for(text)
        results.setdefault(file, None)
        try:
            m.evaluate(text.decode("latin-1"), name=file, line=line, timeout=60)
        except ForthError as e:
            if results[file] is None:
                results[file] = str(e)
        m.take_output()
    return results, stubs


@pytest.fixture(scope="module")
def chain(slof_tree):
    return load_chain(slof_tree)


def test_chain_has_every_file(chain):
    results, _ = chain
    files = list(results)
    assert files[0] == "board-qemu/slof/OF.fs" and files[-1] == "board-qemu/slof/copyright-oss.fs"
    assert len(files) == 65
    assert {"slof/fs/search.fs", "slof/fs/base.fs", "board-qemu/slof/fdt.fs",
            "slof/fs/instance.fs", "slof/fs/envvar.fs", "slof/fs/client.fs"} <= set(files)


def test_every_file_loads(chain):
    results, _ = chain
    for f, err in results.items():
        print(f"{'ok  ' if err is None else 'FAIL'} {f}  {err or ''}")
    assert {f: err for f, err in results.items() if err is not None} == {}


def test_stubs_only_for_c_words(chain, slof_tree):
    _, stubs = chain
    print("stubs:", " ".join(sorted(stubs)))
    assert set(stubs) <= c_words(slof_tree)
    assert sorted(stubs) == sorted(STUBS)


def test_search_fs_works_unmodified(slof_tree):
    """SLOF's own search.fs, loaded on the bare engine, gives the replies real SLOF gave at
    its prompt for the search-order lines (tests/data/slof-prompt)."""
    from test_slof_prompt import captured, fold
    m = Machine()
    m.include(slof_tree / "slof" / "fs" / "search.fs")
    m.evaluate("' vocabulary")                 # search.fs's own, newer than slofpy's
    assert m.pop() != m.vm.builtin_xt["vocabulary"]
    lines = [c for c in captured() if c[0] == "search"]
    assert len(lines) >= 10
    for _, line, reply, depth in lines:
        m.interpret_line(line)
        assert (fold(m.take_output() + " ok"), len(m.stack)) == (fold(reply), depth), line


def engine_words(tree: Path) -> set[str]:
    """The names paflof's engine defines (slof/engine.in, prim.in, ppc64.in)."""
    names = set()
    for part in ("engine.in", "prim.in", "ppc64.in"):
        for line in (tree / "slof" / part).read_text(errors="replace").splitlines():
            m = re.match(r"(?:cod|col|con|var|val|dfr|imm|raw|str)\((\S+)", line)
            if m:
                name = m.group(1)
                if name.count(")") > name.count("("):
                    name = name[:-1]
                names.add(name.lower())
    return names


def test_every_engine_word_slofs_forth_uses_exists(slof_tree):
    used = set()
    files = [*(slof_tree / "slof" / "fs").rglob("*.fs"), *(slof_tree / "board-qemu" / "slof").glob("*.fs")]
    for f in files:
        for line in f.read_text(errors="replace").lower().splitlines():
            used.update(line.split("\\ ")[0].split())
    wanted = {n for n in engine_words(slof_tree) & used if not re.fullmatch(r"-?\d+", n)}
    assert len(wanted) > 300
    m = Machine()
    missing = sorted(n for n in wanted if find(m.vm, n.encode("latin-1")) is None)
    assert missing == []
