"""The VM: memory, stacks, the primitives' namespace, and execution of threaded code.

A colon definition is threaded code in VM memory: a sequence of cells, each an xt, some
followed by inline data (LIT's number, a branch target, a string). `run_threaded` walks it
with an explicit return stack of real addresses, so return-stack tricks behave as in a
classic threaded Forth. The convention is paflof's (SLOF's engine): a call leaves the address
of the calling cell itself, so `r>` in a called word is the cell holding its xt, an
inline-operand reader (`r> cell+ dup >r @`) finds its operand in the next cell, and EXIT goes
on at the cell after the one it pops (codegen/convention.py says the same for generated code). Hot definitions may also get generated Python code (see codegen/);
that is a cache of the threaded form and is dropped when a store lands in its range.
"""
from __future__ import annotations

import functools
import mmap
import sys
import time
import types
from typing import Callable

from ..codecache import compile_cached
from ..errors import Throw
from . import layout as L
from . import words as _words  # noqa: F401  (fills the table)
from .words.table import BUILTINS, HELPERS
from .codegen.caches import GeneratedCode

from .cells import OUTSIDE, U, U2, P, UU, PU, UL, PL, UW, PW
M = L.MASK64
SB = L.SIGN64
# the VM memory's mapping: anonymous and private (see VM.__init__)
_ANONYMOUS_PRIVATE = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS

DATA_STACK_CELLS = L.DATA_STACK_CELLS
RETURN_STACK_CELLS = L.RETURN_STACK_CELLS


def _snippet_source(b, index: int) -> str:
    body = "\n".join("    " + line for line in b.code.split("\n"))
    return f"def _p{index}():\n{body}\n"


# All snippet primitives compiled once per process into one code object; each VM runs it
# in its own namespace, so the functions see that VM's stacks and memory as globals.
_SNIPPET_INDEX = [i for i, b in enumerate(BUILTINS) if b.code is not None]
_PRIM_CODE = compile_cached("".join(_snippet_source(BUILTINS[i], i) for i in _SNIPPET_INDEX),
                            "<slofpy primitives>", "prims")

# kinds of the words the inner interpreter carries out itself
SPECIAL = {}
for _i, _b in enumerate(BUILTINS):
    if _b.code is None and _b.func is None:
        SPECIAL[_b.name.lower()] = L.PRIM_BASE + _i
K_LIT = SPECIAL["lit"]
K_EXIT = SPECIAL["exit"]
K_BRANCH = SPECIAL["branch"]
K_0BRANCH = SPECIAL["0branch"]
K_DO = SPECIAL["(do)"]
K_QDO = SPECIAL["(?do)"]
K_LOOP = SPECIAL["(loop)"]
K_PLOOP = SPECIAL["(+loop)"]
K_LEAVE = SPECIAL["leave"]
K_QLEAVE = SPECIAL["?leave"]
K_SLIT = SPECIAL["(sliteral)"]
K_CSLIT = SPECIAL["sliteral"]
K_DOTO = SPECIAL["(to)"]
K_EXECUTE = SPECIAL["execute"]
K_DOES = SPECIAL["(does>)"]


class _RunTimeWords(dict):
    """kind -> the VM method that carries out that run-time word in threaded code (given
    the VM and ip, giving where to go on); any other kind of special word there is an
    error (-21)."""

    def __missing__(self, kind: int) -> Callable:
        raise Throw(-21)


class VM:
    """One Forth virtual machine. See the module docstring; Machine wraps it for users."""

    Throw = Throw

    def __init__(self, memory_size: int = L.DEFAULT_MEMORY_SIZE,
                 heap_size: int = L.DEFAULT_HEAP_SIZE,
                 output: Callable[[str], None] | None = None, bootstrap: bool = True):
        """bootstrap=False leaves memory empty (no dictionary, no kernel): for a caller that
        puts a saved dictionary in place (slofpy.dictcache)."""
        self.heap_size = heap_size
        if memory_size < L.DICTIONARY + heap_size + 0x100000 or memory_size > 1 << 32:
            raise ValueError("memory size must leave room for the dictionary and stay below 4 GiB")
        # anonymous memory: pages are zero and cost nothing until written, so a VM as big as
        # the guest RAM a seed describes is cheap. Private, not mmap's default shared: a
        # shared anonymous page is committed when it is first read (the dictionary cache's
        # scan for non-zero pages read every page of SLOF's 512 MiB), a private one reads
        # as the kernel's zero page
        self.mem = mmap.mmap(-1, memory_size, flags=_ANONYMOUS_PRIVATE)
        self.size = memory_size
        self.s: list[int] = []
        self.rs: list[int] = []
        self.rbase = 0
        self.codepages = bytearray((memory_size >> 12) + 1)
        self.out_parts: list[str] = []
        self.output = output
        self.input_line: Callable[[], str | None] | None = None
        self.key_buffer = b""
        # the board's RMOVE/MRMOVE/RFILL copies (move(vm, src, dst, len, name) and
        # fill(vm, addr, len, pattern)), when it has its own way; None: in VM memory
        self.device_copy = None
        self.fdt_start = 0              # paflof's FDT-START: the address handed over at entry
        self.ns: dict = {}
        self._build_namespace()
        self._init_state(bootstrap)

    # ------------------------------------------------------------------ namespace & prims
    def _build_namespace(self) -> None:
        ns = self.ns
        # what this VM keeps of its generated code (codegen/caches.py); the tables the inner
        # interpreter and the stores read are bound under the names below too. jit_cells:
        # cell numbers (address >> 3) inside compiled bodies, which stores check inline (JC)
        self.codegen = GeneratedCode()
        self.jit_cells: set[int] = self.codegen.cells
        ns.update(s=self.s, rs=self.rs, mem=self.mem, vm=self, MS=self.size, U=U, U2=U2, P=P,
                  UU=UU, PU=PU, UL=UL, PL=PL, UW=UW, PW=PW, SB=SB, M=M, CP=self.codepages,
                  JC=self.jit_cells, Throw=Throw, OUTSIDE=OUTSIDE, **HELPERS)
        exec(_PRIM_CODE, ns)
        self.prims: list = [None] * (L.PRIM_BASE + len(BUILTINS))
        for i, b in enumerate(BUILTINS):
            if b.code is not None:
                self.prims[L.PRIM_BASE + i] = ns[f"_p{i}"]
            elif b.func is not None:
                self.prims[L.PRIM_BASE + i] = types.MethodType(b.func, self)
        codegen = self.codegen
        self.jit_code: dict[int, Callable[[], None]] = codegen.functions
        self.jit_counts: dict[int, int] = codegen.call_counts
        self.jit_ranges: dict[int, int] = codegen.ranges
        self.jit_pages: dict[int, set[int]] = codegen.pages
        self.jit_deps: dict[int, list[tuple[int, int]]] = codegen.depends_on
        self.jit_sources: dict[int, str] = codegen.sources
        self.jit_line_tags: dict[int, list[int]] = codegen.line_tags
        self.jit_callers: dict[int, list[dict]] = codegen.callers
        self.rs_readers: dict[int, bool] = codegen.rs_readers
        self.jit_enabled = True
        self.builtin_names = {L.PRIM_BASE + i: b.name.lower() for i, b in enumerate(BUILTINS)}

    def _init_state(self, bootstrap: bool = True) -> None:
        from .dictionary import init_dictionary
        self.find_cache: dict[bytes, tuple[int, bool] | None] = {}
        self.wid_cache: dict[int, list] = {}   # wid -> [head lfa when made, {name: lfa}]
        # the link-field address of every header made, in address order (see
        # dictionary.note_header): what finds an xt's name
        self.headers: list[int] = []
        self.control: list[tuple] = []
        self.sources: list = []
        self.temp_compiles: list[tuple] = []
        self.defining = None
        self.markers: dict = {}
        self.vocabularies: dict[int, int] = {}
        self.hash_used = False      # has HASH been asked (find-hash.fs): REVEAL clears its cell
        self.bm_allocators: list = []           # BM-ALLOCATOR-INIT's, [start, blocksize, used]
        self.abort_copied = None                # ABORT"-STR: the message last laid counted
        self.started_ns = time.monotonic_ns()   # the timebase counts from here
        self.simulated_ticks: int | None = None  # a count instead: simulated time (paflof.py)
        self.dec_set_at = 0
        self.romfs_lookup = None                # CALL-C's romfs: name -> (addr, size) | None
        self.c_functions: dict = {}             # CALL-C's other entries: entry -> f(vm, p0, p1, p2)
        self.c_code: list = []                  # (C-CODE)'s functions f(vm), by number
        # EVALUATE's text in memory -> its file/line map (a Preprocessed), or None: names
        # the text whoever runs the VM placed (outer.evaluate_memory)
        self.name_memory_text = None
        self.boot_addresses: dict[str, int] = {}  # PAFLOF-START, ROMFS-BASE ... (words/paflof.py)
        self.search_path: list = []
        self.defines: dict[bytes, bytes] = {}
        self.last_error = None
        # address of the first cell compiled from each source line -> (file, line), and
        # those addresses sorted (made when a backtrace needs them): see backtrace.py
        self.code_lines: dict[int, tuple[str | None, int | None]] = {}
        self.code_line_index: list[int] = []
        if bootstrap:
            init_dictionary(self)
            self._bootstrap()

    def _bootstrap(self) -> None:
        """Small pieces of threaded code the defining words point at, then kernel.fs."""
        from .dictionary import comma, align, here
        from .outer import evaluate_text
        from pathlib import Path

        def does_code(*names: str) -> int:
            align(self)
            start = here(self)
            for n in names:
                comma(self, self.builtin_xt[n])
            comma(self, self.builtin_xt["exit"])
            return start

        self.field_does = does_code("(field)")
        self.marker_does = does_code("(marker)")
        self.struct_does = does_code("(structure)")
        self.vocabulary_does = does_code("(vocabulary)")
        kernel = Path(__file__).resolve().parent.parent / "kernel" / "kernel.fs"
        evaluate_text(self, kernel.read_bytes(), name="<kernel>/kernel.fs")
        from .dictionary import find
        self.emit_defer = find(self, b"emit")[0]

    # ------------------------------------------------------------------ memory helpers
    def cell(self, addr: int) -> int:
        if addr < 0 or addr > self.size - 8:
            raise Throw(-9)
        return U(self.mem, addr)[0]

    def set_cell(self, addr: int, value: int) -> None:
        if addr < 0 or addr > self.size - 8:
            raise Throw(-9)
        P(self.mem, addr, ((value + SB) & M) - SB)
        if self.codepages[addr >> 12]:
            self.code_store(addr, 8)

    def read(self, addr: int, length: int) -> bytes:
        if length < 0 or addr < 0 or addr + length > self.size:
            raise Throw(-9)
        return bytes(self.mem[addr:addr + length])

    def write(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > self.size:
            raise Throw(-9)
        self.mem[addr:addr + len(data)] = data
        self.code_store(addr, len(data))

    def code_store(self, addr: int, length: int) -> None:
        """A store landed at addr: drop generated code whose threaded body it may change."""
        ranges = self.jit_ranges
        if not ranges:
            return
        first = addr >> 12
        last = (addr + max(length, 1) - 1) >> 12
        codepages = self.codepages
        if first == last:
            if not codepages[first]:
                return
            if length <= 16:
                cells = self.jit_cells
                c = addr >> 3
                top = (addr + max(length, 1) - 1) >> 3
                if c not in cells and (top == c or (c + 1 not in cells and
                                                    (top == c + 1 or top not in cells))):
                    return
        elif not any(codepages[first:last + 1]):
            return
        end = addr + length
        pages = self.jit_pages
        for page in range(first, last + 1):
            bodies = pages.get(page)
            if not bodies:
                continue
            for start in list(bodies):
                stop = ranges.get(start)
                if stop is None:
                    bodies.discard(start)
                elif start < end and addr < stop:
                    self.drop_jit(start)
                else:
                    deps = self.jit_deps.get(start)
                    if deps and any(lo < end and addr < hi for lo, hi in deps):
                        self.drop_jit(start)

    def forget_generated_code(self) -> None:
        """Drop all generated code and what is kept to invalidate it (rebuilt on demand)."""
        self.codegen.reset()
        self.codepages[:] = bytes(len(self.codepages))

    def drop_jit(self, body: int) -> None:
        xt = body - 8
        self.jit_ranges.pop(body, None)
        self.jit_deps.pop(body, None)
        self.jit_code.pop(xt, None)
        self.jit_counts[xt] = -1_000_000   # do not compile it again soon
        callers = self.jit_callers.get(xt)
        if callers:
            runner = self.threaded_runner(xt)
            for slots in callers:
                slots[f"_c{xt}"] = runner

    def threaded_runner(self, xt: int) -> Callable[[], None]:
        """A call of the colon definition at xt as threaded code (which may compile it)."""
        return functools.partial(self.run_threaded, xt + 8, xt)

    # ------------------------------------------------------------------ output
    def emit_text(self, text: str) -> None:
        self.out_parts.append(text)
        if self.output is not None and (len(self.out_parts) > 256 or "\n" in text):
            self.flush()

    def flush(self) -> None:
        if self.output is not None and self.out_parts:
            self.output("".join(self.out_parts))
            self.out_parts.clear()

    def take_output(self) -> str:
        text = "".join(self.out_parts)
        self.out_parts.clear()
        return text

    # ------------------------------------------------------------------ execution
    def execute(self, xt: int) -> None:
        """Run the word whose execution token is xt."""
        mem = self.mem
        if xt < 0 or xt > self.size - 8:
            raise Throw(-9)
        k = U(mem, xt)[0]
        if L.PRIM_BASE <= k < len(self.prims):
            fn = self.prims[k]
            if fn is not None:
                fn()
                return
            if k == K_EXECUTE:
                self.execute(self.s.pop())
                return
            raise Throw(-21, "this word only works inside a definition")
        if k == L.K_COLON:
            code = self.jit_code.get(xt)
            if code is not None:
                code()
            else:
                self.run_threaded(xt + 8, xt)
        elif k == L.K_2CONSTANT:            # every property of the device tree is one
            self.s.extend(U2(mem, xt + 8))
        elif k == L.K_VARIABLE:
            self.s.append(xt + 8)
        elif k == L.K_CONSTANT or k == L.K_VALUE:
            self.s.append(U(mem, xt + 8)[0])
        elif k == L.K_DEFER or k == L.K_ALIAS:
            target = U(mem, xt + 8)[0]
            if target == 0:
                raise Throw(-21, "deferred word not set")
            self.execute(target)
        elif k == L.K_CREATE:
            self.s.append(xt + 16)
            does = U(mem, xt + 8)[0]
            if does:
                # DOES> code gets generated code like a colon definition, filed under
                # the cell before it (the (does>) of its defining word)
                code = self.jit_code.get(does - 8)
                if code is not None:
                    code()
                else:
                    self.run_threaded(does, does - 8)
        elif k == L.K_BUFFER:
            self.s.append(U(mem, xt + 8)[0])
        else:
            raise Throw(-21, f"not an execution token: {xt:x}")

    def run_threaded(self, ip: int, xt: int = 0) -> None:
        """Walk threaded code from ip until the EXIT that returns from this level. The words
        met on every pass of a loop are carried out here; the other run-time words (DO, ?DO,
        +LOOP, inline strings, LEAVE, (TO), EXECUTE...) by methods (_RUN_TIME_WORDS), a call of
        DOES> code by `_call_does_code`, each given the instruction pointer and giving back
        where to go on."""
        mem, s, rs, prims = self.mem, self.s, self.rs, self.prims
        nprims = len(prims)
        execute, jit_code, run_time_words = self.execute, self.jit_code, _RUN_TIME_WORDS
        if self.jit_enabled and xt:
            code = self.count_call(xt)
            if code is not None:
                code()
                return
        base = len(rs)
        saved_rbase = self.rbase
        self.rbase = base
        try:
            while True:
                word = U(mem, ip)[0]
                ip += 8
                kind = U(mem, word)[0]
                if kind < nprims and kind >= L.PRIM_BASE:
                    primitive = prims[kind]
                    if primitive is not None:
                        primitive()
                    elif kind == K_LIT:
                        s.append(U(mem, ip)[0])
                        ip += 8
                    elif kind == K_0BRANCH:
                        ip = ip + 8 if s.pop() else U(mem, ip)[0]
                    elif kind == K_BRANCH:
                        ip = U(mem, ip)[0]
                        if len(s) > DATA_STACK_CELLS:
                            raise Throw(-3)
                    elif kind == K_EXIT or kind == K_DOES:
                        if kind == K_DOES:
                            self.set_does(ip)
                        if len(rs) <= base:
                            return
                        ip = rs.pop() + 8       # the calling cell: go on after it
                    elif kind == K_LOOP:
                        index = rs[-1] + 1
                        if index == SB:
                            index = -SB
                        if index == rs[-2]:
                            del rs[-3:]
                            ip += 8
                        else:
                            rs[-1] = index
                            ip = U(mem, ip)[0]
                            if len(s) > DATA_STACK_CELLS:
                                raise Throw(-3)
                    else:
                        ip = run_time_words[kind](self, ip)
                elif kind == L.K_COLON:
                    code = jit_code.get(word)
                    if code is None and self.jit_enabled:
                        code = self.count_call(word)
                    if code is not None:
                        code()
                        continue
                    if len(rs) >= RETURN_STACK_CELLS:
                        raise Throw(-5)
                    if len(s) > DATA_STACK_CELLS:
                        raise Throw(-3)
                    rs.append(ip - 8)           # the calling cell, as paflof (R> gives it)
                    ip = word + 8
                elif kind == L.K_VALUE or kind == L.K_CONSTANT:
                    s.append(U(mem, word + 8)[0])
                elif kind == L.K_VARIABLE:
                    s.append(word + 8)
                elif kind == L.K_CREATE and U(mem, word + 8)[0]:
                    ip = self._call_does_code(word, ip)
                else:
                    execute(word)
        finally:
            self.rbase = saved_rbase

    def _do(self, ip: int) -> int:
        """(DO): the limit and the index onto the return stack, under where LEAVE goes."""
        s, rs = self.s, self.rs
        index = s.pop()
        rs.append(U(self.mem, ip)[0])
        rs.append(s.pop())
        rs.append(index)
        return ip + 8

    def _question_do(self, ip: int) -> int:
        """(?DO): as (DO), or past the loop when the index is the limit."""
        s, rs = self.s, self.rs
        index = s.pop()
        limit = s.pop()
        if index == limit:
            return U(self.mem, ip)[0]
        rs.append(U(self.mem, ip)[0])
        rs.append(limit)
        rs.append(index)
        return ip + 8

    def _plus_loop(self, ip: int) -> int:
        """(+LOOP): the index moved on by the step; out of the loop when it crosses the
        boundary between limit - 1 and limit."""
        s, rs = self.s, self.rs
        step = s.pop()
        limit = rs[-2]
        before = ((rs[-1] - limit + SB) & M) - SB
        after = before + step
        if (before < 0 <= after) if step >= 0 else (after < 0 <= before):
            del rs[-3:]
            return ip + 8
        rs[-1] = ((limit + after + SB) & M) - SB
        if len(s) > DATA_STACK_CELLS:
            raise Throw(-3)
        return U(self.mem, ip)[0]

    def _string_literal(self, ip: int) -> int:
        """(SLITERAL): the inline string's address and length pushed, and ip past it."""
        length = U(self.mem, ip)[0]
        if length < 0:       # a hand-made inline string of negative length
            raise Throw(-9)
        self.s.append(ip + 8)
        self.s.append(length)
        return (ip + 8 + length + 7) & ~7

    def _counted_string_literal(self, ip: int) -> int:
        """paflof's SLITERAL: the inline counted string's address pushed, and ip past it."""
        self.s.append(ip)
        return (ip + self.mem[ip] + 8) & ~7

    def _leave(self, ip: int) -> int:
        """LEAVE: out of the innermost DO loop."""
        rs = self.rs
        ip = rs[-3]
        del rs[-3:]
        return ip

    def _question_leave(self, ip: int) -> int:
        """?LEAVE: LEAVE when the flag is true."""
        return self._leave(ip) if self.s.pop() else ip

    def _store_to(self, ip: int) -> int:
        """(TO): the top item into the cell of the word whose xt is inline (CURRENT,
        SOURCE-ID... into their system cell)."""
        target = U(self.mem, ip)[0] + 8
        if target - 8 in self.sysvalue_xt:
            target = self.sysvalue_xt[target - 8]
        P(self.mem, target, self.s.pop())
        if self.codepages[target >> 12] and target >> 3 in self.jit_cells:
            self.code_store(target, 8)
        return ip + 8

    def _execute_in_thread(self, ip: int) -> int:
        """EXECUTE in threaded code: a colon definition or DOES> code without generated code
        runs on in this loop (the calling cell on the return stack, as paflof), anything
        else through execute."""
        mem, rs = self.mem, self.rs
        xt = self.s.pop()
        kind = U(mem, xt)[0] if 0 <= xt <= self.size - 16 else 0
        if kind == L.K_COLON and xt not in self.jit_code:
            if len(rs) >= RETURN_STACK_CELLS:
                raise Throw(-5)
            rs.append(ip - 8)
            return xt + 8
        does = U(mem, xt + 8)[0] if kind == L.K_CREATE else 0
        if does and does - 8 not in self.jit_code:
            if len(rs) >= RETURN_STACK_CELLS:
                raise Throw(-5)
            self.s.append(xt + 16)    # a DOES> child: its DOES> code threaded
            rs.append(ip - 8)
            return does
        self.execute(xt)
        return ip

    def _call_does_code(self, xt: int, ip: int) -> int:
        """A child of CREATE ... DOES> met in threaded code at ip - 8: its body pushed, then
        its DOES> code called as a colon definition is (the calling cell on the return
        stack), or its generated code run. Where the threaded code goes on."""
        does = U(self.mem, xt + 8)[0]
        s, rs = self.s, self.rs
        s.append(xt + 16)
        code = self.jit_code.get(does - 8)
        if code is None and self.jit_enabled:
            code = self.count_call(does - 8)
        if code is not None:
            code()
            return ip
        if len(rs) >= RETURN_STACK_CELLS:
            raise Throw(-5)
        if len(s) > DATA_STACK_CELLS:
            raise Throw(-3)
        rs.append(ip - 8)
        return does

    def count_call(self, xt: int):
        """Definitions called a few times, or on their first call when they loop, get
        generated code (codegen/)."""
        n = self.jit_counts.get(xt, 0) + 1
        self.jit_counts[xt] = n
        if n == 3 or (n == 1 and self._has_loop(xt)):
            from .codegen.generate import compile_definition
            if compile_definition(self, xt):
                return self.jit_code[xt]
        return None

    def _has_loop(self, xt: int) -> bool:
        from .codegen.analysis import has_loop
        return has_loop(self, xt)

    def set_does(self, code_addr: int) -> None:
        xt = self.cell(L.LAST_XT)
        if self.cell(xt) != L.K_CREATE:
            raise Throw(-31)
        self.set_cell(xt + 8, code_addr)



# the run-time words run_threaded hands to a VM method
_RUN_TIME_WORDS = _RunTimeWords({
    K_DO: VM._do, K_QDO: VM._question_do, K_PLOOP: VM._plus_loop,
    K_SLIT: VM._string_literal, K_CSLIT: VM._counted_string_literal, K_LEAVE: VM._leave,
    K_QLEAVE: VM._question_leave, K_DOTO: VM._store_to, K_EXECUTE: VM._execute_in_thread})


sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
