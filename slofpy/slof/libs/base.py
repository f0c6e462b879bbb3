"""What every one of SLOF's C libraries in Python is built on (see the package's docstring).

The C code paflof links in, in Python: SLOF's lib/* libraries that its Forth calls by name.

Each library is a `CLibrary` subclass in a module named after SLOF's library. A method marked
`@c_word("name")` carries out the word of that name with the stack effect SLOF's library gives
it, working on the VM's data stack like the C code works on paflof's. A library lists in
`UNSUPPORTED` the words it declares that slofpy does not carry out: they exist, and calling
one throws "not supported by slofpy: NAME" instead of answering a wrong value.

The libraries run inside the guest: they reach the machine only through `self.hcall`
(the same hypervisor calls SLOF's C makes) and guest memory (`self.vm`).
"""
from __future__ import annotations

from typing import Callable

from ...errors import Throw
from ...vm.dictionary import find


def c_word(name: str) -> Callable:
    """Mark a CLibrary method as the C code of the Forth word `name`."""
    def mark(method: Callable) -> Callable:
        method.c_word_name = name
        return method
    return mark


class CLibrary:
    """One of SLOF's C libraries, attached to one booting VM (see boot.py)."""

    UNSUPPORTED: tuple[str, ...] = ()

    def __init__(self, slof):
        self.slof = slof
        self.vm = slof.vm

    def words(self) -> dict[str, Callable]:
        """name -> f(vm) for every word of this library."""
        out: dict[str, Callable] = {}
        for attr in dir(type(self)):
            name = getattr(getattr(type(self), attr), "c_word_name", None)
            if name is not None:
                method = getattr(self, attr)
                out[name] = lambda vm, m=method: m()
        for name in self.UNSUPPORTED:
            out[name] = _unsupported(name)
        return out

    # -------------------------------------------------------- what the C code has at hand
    def pop(self, n: int = 1) -> list[int]:
        """The top n cells of the data stack, deepest first, as unsigned 64-bit values."""
        s = self.vm.s
        if len(s) < n:
            raise Throw(-4)
        values = [v & (1 << 64) - 1 for v in s[len(s) - n:]]
        del s[len(s) - n:]
        return values

    def push(self, *values: int) -> None:
        for v in values:
            v &= (1 << 64) - 1
            self.vm.s.append(v - (1 << 64) if v >> 63 else v)

    def hcall(self, number: int, *args: int) -> tuple[int, tuple[int, ...]]:
        return self.slof.hcall_words.hcall(number, *args)

    def forth(self, name: str, *args: int, results: int = 1) -> list[int]:
        """What the C's forth_eval does with one word: args pushed, the word run, `results`
        cells popped (deepest first)."""
        self.push(*args)
        hit = find(self.vm, name.encode())
        if hit is None:
            raise Throw(-13, word=name)
        self.vm.execute(hit[0])
        return self.pop(results) if results else []

    def alloc(self, size: int) -> int:
        """SLOF_alloc_mem: Forth's alloc-mem."""
        return self.forth("alloc-mem", size)[0]

    def free(self, addr: int, size: int) -> None:
        """SLOF_free_mem: Forth's free-mem."""
        self.forth("free-mem", addr, size, results=0)

    def usleep(self, us: int) -> None:
        """SLOF_usleep: Forth's us."""
        self.forth("us", us, results=0)

    def msleep(self, ms: int) -> None:
        """SLOF_msleep: spin on get-msecs until `ms` milliseconds have passed."""
        until = (self.forth("get-msecs")[0] + ms) & 0xFFFFFFFF
        while until > self.forth("get-msecs")[0] & 0xFFFFFFFF:
            pass

    # -------------------------------------------------------- guest memory, as C reaches it
    def _check(self, addr: int, size: int) -> None:
        """Memory the C code would touch must exist (else: invalid address, -9)."""
        if addr < 0 or addr + size > len(self.vm.mem):
            raise Throw(-9)

    def guest_bytes(self, addr: int, size: int) -> bytes:
        """The size bytes at addr."""
        self._check(addr, size)
        return bytes(self.vm.mem[addr:addr + size])

    def fill(self, addr: int, data: bytes) -> None:
        """Store data at addr."""
        self._check(addr, len(data))
        self.vm.mem[addr:addr + len(data)] = data

    def get(self, addr: int, size: int = 8, order: str = "big") -> int:
        """The unsigned size-byte value at addr (big-endian unless order says otherwise)."""
        self._check(addr, size)
        return int.from_bytes(self.vm.mem[addr:addr + size], order)  # type: ignore[arg-type]

    def put(self, addr: int, value: int, size: int = 8, order: str = "big") -> None:
        """Store the low size bytes of value at addr."""
        self.fill(addr, (value & ((1 << 8 * size) - 1)).to_bytes(size, order))  # type: ignore[arg-type]

    def c_string(self, addr: int, limit: int = 4096) -> bytes:
        """The zero-ended string at addr."""
        mem = self.vm.mem
        end = mem.find(b"\0", addr, addr + limit)
        if addr < 0 or end < 0:
            raise Throw(-9)
        return bytes(mem[addr:end])

    def print(self, text: bytes) -> None:
        """What SLOF's C prints (its io_putchar): to the console, as the hvterm shows it."""
        self.slof.console_write(text)

    def write_stdout(self, text: bytes) -> None:
        """What SLOF's C printf/puts do once its Forth runs (paflof's write() to stdout):
        each character through the Forth word `emit`, each newline through `cr` (on the
        hvterm a C "\n" becomes CR LF), so the text goes wherever SLOF's output goes."""
        emit, cr = (find(self.vm, name) for name in (b"emit", b"cr"))
        if emit is None or cr is None:
            raise Throw(-13, word="emit" if emit is None else "cr")
        for byte in text:
            if byte == 0x0A:
                self.vm.execute(cr[0])
            else:
                self.vm.s.append(byte)
                self.vm.execute(emit[0])


def _unsupported(name: str) -> Callable:
    def run(vm) -> None:
        raise Throw(-21, f"not supported by slofpy: {name}")
    return run
