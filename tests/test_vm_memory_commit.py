"""The VM's memory costs nothing until it is written (issue 20, "Memory").

Each case runs in a fresh Python and reads the resident size of the VM memory's own mapping
from /proc/self/smaps (found by the buffer's address, kept a mapping of its own), so the
rest of the process (Python, the dictionary's Python objects, caches) does not blur it. A
default VM of slofpy's firmware, the board `slofpy boot` boots (64 MiB each) and SLOF's
512 MiB machine are made, then every page of their memory is read the way the dictionary
cache reads it when it saves one; the part never written must stay uncommitted. Then one
byte is written into every page of the upper half: the mapping's resident size must cover
it, which shows the measurement sees a commit when there is one (so the first assertions
cannot pass because the mapping or its size was misread). Nothing is timed."""
from __future__ import annotations

import subprocess
import sys
import textwrap

MiB = 1 << 20

_MEASURE = """
import ctypes, mmap

def resident(mem):
    # the Rss of the mapping that starts at the buffer's address, in bytes. The kernel may
    # have merged it with an adjacent anonymous mapping (Python's own arenas): a flag that
    # means nothing to anonymous memory (MADV_RANDOM is about file read-ahead) keeps it apart
    mem.madvise(mmap.MADV_RANDOM)
    view = ctypes.c_char.from_buffer(mem)
    start = ctypes.addressof(view)
    del view
    found = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                found = (hi - lo) if lo == start else None
            elif found is not None and head[0] == "Rss:":
                return found, int(head[1]) * 1024
    raise SystemExit("the VM memory's mapping is not in /proc/self/smaps")

def report(vm, touch_from):
    from slofpy.dictcache import _pages
    size, before = resident(vm.mem)
    assert size == vm.size, (size, vm.size)
    _pages(vm.mem)                          # reads every page, as a cache save does
    _, after_read = resident(vm.mem)
    for a in range(touch_from, vm.size, 4096):
        vm.mem[a] = 1                       # one byte a page: each page committed
    _, after_write = resident(vm.mem)
    print(size, before, after_read, after_write, vm.size - touch_from)
"""


def _measure(code: str) -> tuple[int, int, int, int, int]:
    r = subprocess.run([sys.executable, "-c", _MEASURE + textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    size, before, after_read, after_write, touched = map(int, r.stdout.split()[-5:])
    return size, before, after_read, after_write, touched


def _check(size: int, before: int, after_read: int, after_write: int, touched: int,
           used_limit: int) -> None:
    # booted, and every page read: only what the firmware wrote is resident
    assert before <= used_limit, f"{before >> 20} MiB resident after the boot"
    assert after_read <= before + 64 * 1024, \
        f"reading the memory committed {(after_read - before) >> 20} MiB"
    # the control: writing commits, and the measure sees it
    assert after_write >= touched, (after_read, after_write, touched)
    assert touched >= size // 2


def test_a_default_firmware_vm_commits_only_what_it_wrote():
    size, *rest = _measure("""
        from slofpy.firmware import Firmware
        fw = Firmware(output=lambda text: None)
        fw.evaluate("1 2 + drop")
        report(fw.vm, fw.vm.size // 2)
    """)
    assert size == 64 * MiB
    _check(size, *rest, used_limit=size // 4)


def test_the_booted_boards_vm_commits_only_what_it_wrote():
    # slofpy boot's machine, booted on the default seed
    size, *rest = _measure("""
        from slofpy.firmware.board import boot_machine
        fw = boot_machine(output=lambda text: None)
        report(fw.vm, fw.vm.size // 2)
    """)
    assert size == 64 * MiB
    _check(size, *rest, used_limit=size // 4)


def test_slofs_512_mib_machine_commits_only_what_it_wrote(slof_bin):
    size, *rest = _measure(f"""
        from slofpy.slof.boot import boot_slof
        slof = boot_slof({str(slof_bin)!r}, output=lambda text: None, timeout=120)
        report(slof.vm, slof.vm.size // 2)
    """)
    assert size == 512 * MiB
    _check(size, *rest, used_limit=64 * MiB)
