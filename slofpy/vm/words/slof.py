"""SLOF's engine extras: the alloc-mem heap, header walking (>name, name>string, link>name),
and constants naming the code-field kinds (<colon> <value> ...) that SLOF code compares
xts against."""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from .table import helper, snippet, word

# ---------------------------------------------------------------- heap
# SLOF's allocator: blocks are powers of two (at least 8 bytes), one free list per size,
# never merged; free-mem must be told the length alloc-mem was given.


def block_order(length: int) -> int:
    return max(3, (length - 1).bit_length())


def heap_alloc(vm, length: int) -> int:
    if length <= 0:
        return 0
    order = block_order(length)
    if order >= L.HEAP_ORDERS:
        return 0
    head = L.HEAP_HEADS + 8 * order
    block = vm.cell(head)
    if block:
        vm.set_cell(head, vm.cell(block))
        return block
    size = 1 << order
    wild = vm.cell(L.HEAP_WILD)
    start = (wild + size - 1) & ~(size - 1) if size <= 4096 else (wild + 4095) & ~4095
    if start + size > vm.cell(L.HEAP_END):
        return 0
    # the gap skipped for alignment goes onto the free lists
    gap = start - wild
    a = wild
    while gap >= 8:
        piece = 1 << (gap.bit_length() - 1)
        while a & (piece - 1):
            piece >>= 1
        heap_free(vm, a, piece)
        a += piece
        gap -= piece
    vm.set_cell(L.HEAP_WILD, start + size)
    return start


def heap_free(vm, addr: int, length: int) -> None:
    if addr == 0 or length <= 0:
        return
    if not vm.cell(L.HEAP_START) <= addr < vm.cell(L.HEAP_END):
        raise Throw(-9, "free-mem: not a heap address")
    head = L.HEAP_HEADS + 8 * block_order(length)
    vm.set_cell(addr, vm.cell(head))
    vm.set_cell(head, addr)


def place_heap_and_dictionary(vm, heap: tuple[int, int], dictionary: tuple[int, int]) -> None:
    """Put the heap at heap = (start, end) of memory, and let the dictionary go on at
    dictionary = (start, limit): what whoever lays a VM out for a firmware with its own memory
    map does right after making it, before the first alloc-mem. The dictionary built so far
    stays where it is; what is compiled next goes to the new start."""
    if vm.cell(L.HEAP_WILD) != vm.cell(L.HEAP_START) or any(
            vm.cell(L.HEAP_HEADS + 8 * i) for i in range(L.HEAP_ORDERS)):
        raise ValueError("the heap is in use: it can only be moved before the first alloc-mem")
    (heap_start, heap_end), (dict_start, dict_limit) = heap, dictionary
    if not (vm.cell(L.DP) <= dict_start < dict_limit <= vm.size
            and heap_start < heap_end <= vm.size
            and (heap_end <= dict_start or dict_limit <= heap_start)
            and (heap_end <= L.DICTIONARY or heap_start >= vm.cell(L.DP))):
        raise ValueError(f"heap {heap_start:#x}..{heap_end:#x} and dictionary "
                         f"{dict_start:#x}..{dict_limit:#x} do not fit {vm.size:#x} bytes of "
                         "memory beside the dictionary so far")
    vm.set_cell(L.HEAP_START, heap_start)
    vm.set_cell(L.HEAP_WILD, heap_start)
    vm.set_cell(L.HEAP_END, heap_end)
    vm.set_cell(L.DP, dict_start)
    vm.set_cell(L.DICT_LIMIT, dict_limit)


# alloc-mem ( n -- addr|0 ) and free-mem ( addr n -- ): snippets calling the heap, which
# generated code runs on its cached items
helper("HEAP_ALLOC", heap_alloc)
helper("HEAP_FREE", heap_free)
snippet("alloc-mem", "n = s.pop()\ns.append(HEAP_ALLOC(vm, n))")
snippet("free-mem", "n = s.pop()\na = s.pop()\nHEAP_FREE(vm, a, n)")


@word("heap-start")
def heap_start(vm) -> None:
    vm.s.append(vm.cell(L.HEAP_START))


@word("heap-end")
def heap_end(vm) -> None:
    vm.s.append(vm.cell(L.HEAP_END))


# ---------------------------------------------------------------- headers
@word(">name")
def to_name(vm) -> None:
    lfa = D.xt_to_lfa(vm, vm.s.pop())
    if not lfa:
        raise Throw(-21, ">name: word has no name")
    vm.s.append(lfa + 8)


def _header_byte(vm, addr: int) -> int:
    """A byte of a header the user pointed at (-9 outside memory)."""
    return vm.read(addr, 1)[0]


# name>string and link> run for every property a tree walk looks at: snippets, with the
# checks _header_byte makes (the argument is off the stack when they throw)
snippet("name>string", """a = s.pop()
if a < -1: raise Throw(-9)
try:
    n = mem[a + 1]
except IndexError:
    raise Throw(-9) from None
s.append(a + 2)
s.append(n)""")


snippet("link>name", "a = s.pop()\ns.append(a + 8)")


@word("name>")
def name_from(vm) -> None:
    nfa = vm.s.pop()
    _header_byte(vm, nfa + 1)
    vm.s.append(D.lfa_to_xt(nfa - 8, vm.mem))


snippet("link>", """a = s.pop()
if a < -9: raise Throw(-9)
try:
    n = mem[a + 9]
except IndexError:
    raise Throw(-9) from None
s.append((a + 10 + n + 7) & ~7)""")
# link>2value ( lfa -- x1 x2 ): the two cells after the code field of the word at lfa, what
# running a 2CONSTANT there gives (a property: data len); read in one go
snippet("link>2value", """a = s.pop()
if a < -9: raise Throw(-9)
try:
    n = mem[a + 9]
    x1, x2 = U2(mem, ((a + 10 + n + 7) & ~7) + 8)
except OUTSIDE:
    raise Throw(-9) from None
s.append(x1)
s.append(x2)""")


@word("immediate?")
def immediate_q(vm) -> None:
    nfa = vm.s.pop()
    vm.s.append(-1 if _header_byte(vm, nfa) & L.F_IMMEDIATE else 0)


@word("xt>name")
def xt_to_name(vm) -> None:
    data = D.xt_name(vm, vm.s.pop()).encode("latin-1")
    from .strings import pocket
    vm.s.extend((pocket(vm, data[:256]), min(len(data), 256)))


for _kind, _name in L.KIND_NAMES.items():
    snippet(_name, f"s.append({_kind})")
