"""paflof's engine vocabulary that SLOF's Forth names, where slofpy had no word of that name.

paflof (SLOF's engine) defines its words in slof/engine.in, prim.in and ppc64.in. The words
here give those names paflof's stack effects:

- the run-time code words SLOF refers to by name (DOTICK DODO DO?DO DOLOOP DO+LOOP DOLEAVE
  DO?LEAVE SEMICOLON DOTO): other names for slofpy's own run-time words, so `' doto` and
  `['] semicolon` give xts that threaded code and SEE treat as those (slofpy's loop words
  keep their own inline operands: code that lays DODO by hand needs slofpy's layout);
- SLITERAL, paflof's run-time word that pushes the counted string laid inline after it (what
  SLOF's `"` compiles); Forth 2012's compile-time SLITERAL is `Machine(standard=True)`'s;
- POCKET, ABORT"-STR, CATCHER, THERE, COMP-BUFFER, POCKETS, EREGS, CIREGS, CISTACK, HEADER,
  RMOVE, MRMOVE, RFILL, the bitmap allocator (BM-ALLOCATOR-INIT BM-ALLOC BM-FREE);
- the words that touch the processor (MSR@ TBL@ DEC! ...), each with a simulated meaning
  stated where it is defined.

Words that read better in Forth (PRINT-STATUS, SAVE-SOURCE, (FIND) ...) are in kernel.fs.
"""
from __future__ import annotations

import time

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from .table import snippet, special, synonym, word

# ---------------------------------------------------------------- run-time code words
for _name, _target in (("dotick", "lit"), ("doto", "(to)"), ("semicolon", "exit"),
                       ("dodo", "(do)"), ("do?do", "(?do)"), ("doloop", "(loop)"),
                       ("do+loop", "(+loop)"), ("doleave", "leave"), ("do?leave", "?leave")):
    synonym(_name, _target)

# ( -- addr len ) in threaded code: the counted string after it, execution going on at the
# next cell boundary after the string (the inner interpreter carries it out)
special("sliteral")


# ---------------------------------------------------------------- buffers and cells
@word("pocket", effect=1)
def pocket(vm) -> None:
    # ( -- addr ): the next of the 16 rotating 256-byte pockets (interpret-mode strings)
    n = (vm.cell(L.POCKET_NO) + 1) % L.POCKET_COUNT
    vm.set_cell(L.POCKET_NO, n)
    vm.s.append(L.POCKETS + n * L.POCKET_SIZE)


# ( -- addr ): the 16 pockets
snippet("pockets", f"s.append({L.POCKETS})")
# ( -- addr ): interpret-mode structures compile here
snippet("comp-buffer", f"s.append({L.COMP_BUFFER})")
# ( -- addr ): HERE while an interpret-mode structure compiles
snippet("there", f"s.append({L.THERE})")
# ( -- addr ): return-stack depth of the innermost CATCH
snippet("catcher", f"s.append({L.CATCHER})")


@word('abort"-str', effect=1)
def abort_str(vm) -> None:
    # ( -- addr ): the variable holding the counted string of the last ABORT" message
    # (slofpy keeps the message as address and length; it is laid out counted on demand)
    a, n = vm.cell(L.ABORT_STR), vm.cell(L.ABORT_LEN)
    if vm.abort_copied != (a, n):
        vm.abort_copied = (a, n)
        n = max(0, min(n, 255))
        vm.write(L.ABORT_BUF, bytes((n,)) + (vm.read(a, n) if n else b""))
        vm.set_cell(L.ABORT_CSTR, L.ABORT_BUF)
    vm.s.append(L.ABORT_CSTR)


# client-interface and exception register save areas, and the client-interface stack:
# plain memory here (no processor state is saved into them)
_AREAS = {"eregs": (0x5000, 0x400), "ciregs": (0x5400, 0x400), "cistack": (0x5800, 0x800)}


def _area(name: str, addr: int) -> None:
    def push(vm) -> None:
        vm.s.append(addr)
    word(name, effect=1)(push)


for _n, (_a, _size) in _AREAS.items():
    _area(_n, _a)


def _constant(name: str, value: int) -> None:
    def push(vm) -> None:
        vm.s.append(value)
    word(name, effect=1)(push)


# where paflof, the romfs, the ePAPR boot data and the client entry are: what whoever runs
# the VM puts into vm.boot_addresses (slofpy.slof places SLOF's image at real SLOF's
# addresses); 0 otherwise, nothing being loaded there (and SLOF's code that tests them takes
# its no-such-thing paths)
BOOT_ADDRESSES = ("paflof-start", "romfs-base", "epapr-magic", "epapr-ima-size",
                  "client-entry-point")


def _boot_address(name: str) -> None:
    def push(vm) -> None:
        vm.s.append(vm.boot_addresses.get(name, 0))
    word(name, effect=1)(push)


for _n in BOOT_ADDRESSES:
    _boot_address(_n)

# the one C function CALL-C carries out: looking a file up in the romfs (SLOF's romfs.fs
# calls it for `included`); this is its entry's token
ROMFS_LOOKUP_ENTRY = 1
_constant("romfs-lookup-entry", ROMFS_LOOKUP_ENTRY)


@word("header")
def header(vm) -> None:
    # ( str len -- ): a header for the name in the compilation wordlist, not yet findable
    # (REVEAL links it); the code field is for the caller to lay (`<colon> ,` ...)
    n = vm.s.pop()
    name = D.name_at(vm, vm.s.pop(), n)
    xt = D.make_header(vm, name, 0)
    vm.set_cell(L.DP, xt)


@word("fdt-start")
def fdt_start(vm) -> None:
    # ( -- addr ): the address the firmware was handed at entry (r3: the device tree QEMU
    # placed), which the board sets; 0 when there is none
    vm.s.append(vm.fdt_start)


@word("rmove", effect=-3)
def rmove(vm) -> None:
    # ( src dst len -- ): paflof's cell-wise MOVE. A board that copies another way (board-qemu:
    # one memop hcall, so a device's BAR is reached as the host routes it) sets
    # vm.device_copy; without one, a copy in the VM's memory.
    n = vm.s.pop()
    d = vm.s.pop()
    a = vm.s.pop()
    if vm.device_copy is not None:
        vm.device_copy.move(vm, a, d, n, "RMOVE")
    elif n > 0:
        vm.write(d, vm.read(a, n))


@word("mrmove", effect=-3)
def mrmove(vm) -> None:
    # ( src dst len -- ): paflof's MOVE for device memory: the same as RMOVE on board-qemu
    n = vm.s.pop()
    d = vm.s.pop()
    a = vm.s.pop()
    if vm.device_copy is not None:
        vm.device_copy.move(vm, a, d, n, "MRMOVE")
    elif n > 0:
        vm.write(d, vm.read(a, n))


@word("rfill", effect=-3)
def rfill(vm) -> None:
    # ( addr len pattern -- ): the board's fill when it has one (board-qemu: paflof's
    # fast_rfill, the pattern's low byte copied out by memop hcalls); without one, the cell
    # pattern repeated big-endian in the VM's memory
    pat = vm.s.pop() & L.MASK64
    n = vm.s.pop()
    a = vm.s.pop()
    if vm.device_copy is not None:
        vm.device_copy.fill(vm, a, n, pat)
    elif n > 0:
        cell = pat.to_bytes(8, "big")
        vm.write(a, (cell * (n // 8 + 1))[:n])


# ---------------------------------------------------------------- bitmap allocator
@word("bm-allocator-init")
def bm_allocator_init(vm) -> None:
    # ( start size blocksize -- handle | -1 ): an allocator of blocksize blocks over
    # [start, start+size), kept in Python (SLOF keeps its bitmap in C)
    bs = vm.s.pop()
    size = vm.s.pop()
    start = vm.s.pop()
    if bs <= 0 or size < bs:
        vm.s.append(-1)
        return
    vm.bm_allocators.append([start, bs, bytearray(size // bs)])
    vm.s.append(len(vm.bm_allocators))


def _bm(vm, handle: int):
    if not 1 <= handle <= len(vm.bm_allocators):
        raise Throw(-21, f"bitmap allocator {handle:x} does not exist")
    return vm.bm_allocators[handle - 1]


@word("bm-alloc")
def bm_alloc(vm) -> None:
    # ( handle size -- addr | -1 ): the first run of free blocks that holds size bytes
    size = vm.s.pop()
    start, bs, used = _bm(vm, vm.s.pop())
    need = max(1, -(-size // bs))
    run = 0
    for i, u in enumerate(used):
        run = 0 if u else run + 1
        if run == need:
            first = i - need + 1
            used[first:i + 1] = b"\x01" * need
            vm.s.append(start + first * bs)
            return
    vm.s.append(-1)


@word("bm-free", effect=-3)
def bm_free(vm) -> None:
    # ( handle addr size -- ): give the blocks back
    size = vm.s.pop()
    addr = vm.s.pop()
    start, bs, used = _bm(vm, vm.s.pop())
    first = (addr - start) // bs
    last = -(-(addr + size - start) // bs)
    if 0 <= first <= last <= len(used):
        used[first:last] = bytes(last - first)


# ---------------------------------------------------------------- the processor, simulated
# QEMU's pseries timebase runs at 512 MHz; slofpy's counts from the VM's start
TIMEBASE_HZ = 512_000_000


# a VM with simulated time (vm.simulated_ticks not None) sees its timebase move on by this
# much at each read: 64 microseconds, so a busy wait for a device that never answers ends
# after a few thousand reads instead of the seconds it asks for, and timeouts still expire
# in the order they were set
SIMULATED_TICKS_PER_READ = TIMEBASE_HZ // 1_000_000 * 64


def _timebase(vm) -> int:
    if vm.simulated_ticks is not None:
        vm.simulated_ticks += SIMULATED_TICKS_PER_READ
        return vm.simulated_ticks
    return (time.monotonic_ns() - vm.started_ns) * TIMEBASE_HZ // 1_000_000_000


@word("tbl@", effect=1)
def tbl_fetch(vm) -> None:
    # ( -- u ): the low 32 bits of the simulated timebase (512 MHz since the VM started)
    vm.s.append(_timebase(vm) & 0xFFFFFFFF)


@word("tbu@", effect=1)
def tbu_fetch(vm) -> None:
    # ( -- u ): the timebase's high 32 bits
    vm.s.append((_timebase(vm) >> 32) & 0xFFFFFFFF)


@word("dec!", effect=-1)
def dec_store(vm) -> None:
    # ( n -- ): set the simulated decrementer; it counts down at the timebase's rate
    vm.set_cell(L.CPU_REGS["DEC"], vm.s.pop())
    vm.dec_set_at = _timebase(vm)


@word("dec@", effect=1)
def dec_fetch(vm) -> None:
    # ( -- n ): the decrementer: what DEC! set, less the timebase ticks since (32-bit signed)
    v = vm.cell(L.CPU_REGS["DEC"]) - (_timebase(vm) - vm.dec_set_at)
    v &= 0xFFFFFFFF
    vm.s.append(v - (1 << 32) if v & 0x80000000 else v)


@word("pvr@", effect=1)
def pvr_fetch(vm) -> None:
    # ( -- u ): the processor version of QEMU's default pseries CPU, POWER9 v2.2
    vm.s.append(0x004E1202)


@word("pir@", effect=1)
def pir_fetch(vm) -> None:
    # ( -- u ): the processor id: slofpy runs on CPU 0
    vm.s.append(0)


@word("pmc1@", effect=1)
def pmc1_fetch(vm) -> None:
    # ( -- u ): performance monitor counter 1: nothing is counted, 0
    vm.s.append(0)


def _register(name: str, cell: int) -> None:
    def fetch(vm) -> None:
        vm.s.append(vm.cell(cell))

    def store(vm) -> None:
        vm.set_cell(cell, vm.s.pop())
    if name != "MMCR0":
        word(f"{name.lower()}@", effect=1)(fetch)
    word(f"{name.lower()}!", effect=-1)(store)


# MSR HID0 HID1 HID4 HID5 SDR1 DABR HIOR SPRG0-3 HSPRG0-1 MMCR0: a cell each that @ reads
# and ! writes back; nothing else follows from them (no translation, no interrupts)
for _reg, _cell in L.CPU_REGS.items():
    if _reg != "DEC":
        _register(_reg, _cell)


@word("icbi", effect=-1)
def icbi(vm) -> None:
    # ( addr -- ): instruction-cache block invalidate: slofpy has no instruction cache
    vm.s.pop()


@word("flushcache", effect=-2)
def flushcache(vm) -> None:
    # ( addr len -- ): nothing to flush in slofpy
    vm.s.pop()
    vm.s.pop()


@word("breakpoint", effect=0)
def breakpoint_word(vm) -> None:
    # ( -- ): paflof traps to a debugger here; slofpy goes on
    pass


@word("crash")
def crash(vm) -> None:
    # ( -- ): paflof hangs on purpose; slofpy ends the run with an error instead
    raise Throw(-21, "CRASH")


@word("call-c")
def call_c(vm) -> None:
    # ( p0 p1 p2 entry -- result ): calls C code in paflof. slofpy has one: the romfs
    # lookup (entry ROMFS-LOOKUP-ENTRY; p0 the zero-ended file name, p2 the control block
    # whose file-header, data, data-size and flags cells it fills; result 0 when found,
    # else 1), answered by vm.romfs_lookup (name -> (addr, size) in VM memory, or None)
    # when one is set, else finding nothing. Other entries are the functions in
    # vm.c_functions (entry -> f(vm, p0, p1, p2) -> result) that whoever runs the VM
    # provides; any other entry is an error.
    entry = vm.s.pop()
    block = vm.s.pop()
    p1 = vm.s.pop()
    name_addr = vm.s.pop()
    if entry != ROMFS_LOOKUP_ENTRY:
        fn = vm.c_functions.get(entry)
        if fn is None:
            raise Throw(-21, f"CALL-C: no C code at {entry & L.MASK64:x} in slofpy")
        vm.s.append(fn(vm, name_addr, p1, block))
        return
    name = bytearray()
    while len(name) < 256:
        c = vm.read(name_addr + len(name), 1)[0]
        if c == 0:
            break
        name.append(c)
    found = vm.romfs_lookup(bytes(name)) if vm.romfs_lookup else None
    if found is None:
        vm.s.append(1)
        return
    addr, size = found
    for i, v in enumerate((0, addr, size, 0)):
        vm.set_cell(block + 8 * i, v)
    vm.s.append(0)


@word("(c-code)")
def c_code(vm) -> None:
    # ( i*x n -- j*x ): carries out the n-th entry of vm.c_code, a Python function f(vm)
    # working on the stacks, that stands for C code paflof links in (SLOF's lib/*
    # libraries: slofpy.slof defines each such word as `: name n (c-code) ;`)
    n = vm.s.pop()
    if not 0 <= n < len(vm.c_code):
        raise Throw(-21, f"(C-CODE): no C code number {n} in slofpy")
    vm.c_code[n](vm)


@word("start-rtas")
def start_rtas(vm) -> None:
    # ( p0 p1 entry -- result ): RTAS is carried out by the host backend (rtas-call), not
    # by code at an entry address
    raise Throw(-21, "START-RTAS: no RTAS code to enter in slofpy")


@word("jump-client")
def jump_client(vm) -> None:
    # ( args -- result ): a client program is not run by slofpy
    raise Throw(-21, "JUMP-CLIENT: slofpy does not run client programs")


# ---------------------------------------------------------------- Forth 2012's meanings
# Where paflof and Forth 2012 disagree, a VM has SLOF's meaning; standard_words gives it the
# standard one under the same name (Machine(standard=True), `slofpy run --std`).
STANDARD_WORDS = {"sliteral": "(sliteral-standard)", "only": "(only-standard)"}


def use_standard_words(vm) -> None:
    """Define, in the FORTH wordlist, the Forth 2012 word of each name in STANDARD_WORDS
    (newer, so found first): SLITERAL compiles a string, ONLY leaves FORTH alone."""
    current = vm.cell(L.CURRENT)
    vm.set_cell(L.CURRENT, L.FORTH_WID)
    try:
        for name, builtin in STANDARD_WORDS.items():
            xt = vm.builtin_xt[builtin]
            D.make_header(vm, name.encode(), vm.cell(xt))
            D.reveal(vm)
            if D.is_immediate(vm, D.xt_to_lfa(vm, xt)):
                D.set_immediate(vm)
    finally:
        vm.set_cell(L.CURRENT, current)
