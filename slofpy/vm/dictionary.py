"""The dictionary: word headers, data space, wordlists, the search order and lookup.

Header layout (see layout.py): link, flags, count, name, padding, then the code field (xt).
A wordlist id (wid) is the address of two cells, as in paflof: the link to the wordlist
created before it, then the newest word's link-field address (`wid cell+ @`). The search
order is paflof's too: an array of wids from the one searched last up, and CONTEXT holding the
address of the one searched first. Lookup is case-insensitive and names keep their
case. Python caches lookups per wordlist and per search order; both are derived from memory
and rebuilt when the words they saw change.
"""
from __future__ import annotations

import struct
from bisect import bisect_left

from ..errors import Throw
from . import layout as L
from .cells import U, P
from .words.table import BUILTINS, SYNONYMS, SYSVALUES

_M = L.MASK64
_SB = L.SIGN64
P_ONE = struct.Struct(">q").pack
# define_word writes a whole header (link, flags, count, name, padding, code field and up to
# 7 body cells) in one pack: one Struct per name length and cell count (key: length * 8 +
# cells), made when first used
_HEADERS: dict = {}
_WID = struct.Struct(">qq")
_DP, _LATEST, _LAST_XT, _CURRENT, _DICT_LIMIT = L.DP, L.LATEST, L.LAST_XT, L.CURRENT, L.DICT_LIMIT
_DICTIONARY = L.DICTIONARY


def init_dictionary(vm) -> None:
    """Lay out a fresh memory: system variables, heap bounds, the FORTH wordlist and every
    built-in word."""
    sc = vm.set_cell
    heap_size = vm.heap_size
    heap_start = vm.size - heap_size
    sc(L.DP, L.DICTIONARY)
    sc(L.BASE, 16)
    sc(L.STATE, 0)
    sc(L.LATEST, 0)
    sc(L.FORTH_WID, 0)
    sc(L.FORTH_WID + 8, 0)
    sc(L.WORDLISTS, L.FORTH_WID)
    sc(L.CURRENT, L.FORTH_WID)
    sc(L.CONTEXT, L.ORDER)
    sc(L.ORDER, L.FORTH_WID)
    sc(L.NTIB, L.TIB_SIZE)
    sc(L.HEAP_START, heap_start)
    sc(L.HEAP_END, vm.size)
    sc(L.HEAP_WILD, heap_start)
    sc(L.DICT_LIMIT, heap_start)
    sc(L.COMP_TOP, L.COMP_BUFFER)
    sc(L.SRC_TOP, L.SOURCES)
    vm.builtin_xt = {}
    for i, b in enumerate(BUILTINS):
        xt = make_header(vm, b.name.encode("latin-1"), L.PRIM_BASE + i)
        reveal(vm)
        if b.immediate:
            set_immediate(vm)
        vm.builtin_xt[b.name.lower()] = xt
        if b.name.lower() in SYSVALUES:
            # the cell after the code field, where SLOF's DOTO stores into a VALUE: kept
            # free, so a DOTO on one of these never lands in the next header (the threaded
            # interpreter stores into the system cell instead)
            comma(vm, 0)
    for name, target in SYNONYMS.items():
        xt = make_header(vm, name.encode("latin-1"), vm.cell(vm.builtin_xt[target]))
        reveal(vm)
        vm.builtin_xt[name.lower()] = xt
    vm.sysvalue_xt = {vm.builtin_xt[name]: addr for name, addr in SYSVALUES.items()}


# ---------------------------------------------------------------- data space
# The system variables (DP, DICT_LIMIT, ...) sit in the first pages of memory, where no
# threaded code lives, so they are read and written here without the generic checks.
def here(vm) -> int:
    return U(vm.mem, L.DP)[0]


def allot(vm, n: int) -> int:
    mem = vm.mem
    dp = U(mem, L.DP)[0]
    new = dp + n
    if new > U(mem, L.DICT_LIMIT)[0]:
        raise Throw(-8)
    if new < L.DICTIONARY and not (L.COMP_BUFFER <= new <= L.COMP_BUFFER_END):
        raise Throw(-9)
    P(mem, L.DP, new)
    return dp


def comma(vm, value: int) -> None:
    a = allot(vm, 8)
    if a < 0 or a > vm.size - 8:
        raise Throw(-9)
    P(vm.mem, a, ((value + _SB) & _M) - _SB)
    if vm.codepages[a >> 12]:
        vm.code_store(a, 8)


def align(vm) -> None:
    dp = U(vm.mem, L.DP)[0]
    if dp & 7:
        allot(vm, 8 - (dp & 7))


def compile_bytes(vm, data: bytes) -> int:
    a = allot(vm, len(data))
    vm.write(a, data)
    return a


# ---------------------------------------------------------------- headers
def make_header(vm, name: bytes, kind: int) -> int:
    """Lay down a header for name in the compilation wordlist (not yet findable: `reveal`
    links it). Returns the xt."""
    if len(name) > 255:
        raise Throw(-19)
    if not name:
        raise Throw(-16)
    require_permanent_space(vm)
    align(vm)
    lfa = here(vm)
    raw = bytes(8) + bytes((0, len(name))) + name
    raw += bytes(-len(raw) & 7)
    compile_bytes(vm, raw)
    xt = here(vm)
    comma(vm, kind)
    mem = vm.mem
    P(mem, L.LATEST, lfa)
    P(mem, L.LAST_XT, xt)
    note_header(vm, lfa)
    vm.defining = (lfa, xt, U(mem, L.CURRENT)[0])
    return xt


def define_word(vm, name: bytes, kind: int, cells) -> int:
    """make_header(name, kind), one cell for each of cells, reveal: what the defining words
    that take their whole body at once do. Written in one piece when it fits in the
    dictionary; otherwise step by step (which stops where the step that fails stops).
    Returns the xt."""
    n = len(name)
    mem = vm.mem
    lfa = (U(mem, _DP)[0] + 7) & ~7
    xt = (lfa + 17 + n) & ~7            # after link, flags, count, name and padding
    ncells = len(cells)
    end = xt + 8 + 8 * ncells
    wid = U(mem, _CURRENT)[0]
    size = vm.size
    if not (0 < n <= 255 and lfa >= _DICTIONARY and end <= U(mem, _DICT_LIMIT)[0]
            and end <= size and 0 <= wid <= size - 16 and ncells < 8):
        make_header(vm, name, kind)
        for c in cells:
            comma(vm, c)
        reveal(vm)
        return U(mem, L.LAST_XT)[0]
    prev = U(mem, wid + 8)[0]
    header = _HEADERS.get(n << 3 | ncells)
    if header is None:
        header = _HEADERS[n << 3 | ncells] = struct.Struct(
            f">qBB{n}s{-(n + 2) & 7}x{1 + ncells}q").pack_into
    try:
        header(mem, lfa, prev, 0, n, name, kind, *cells)
    except struct.error:            # a cell outside the signed range: stored wrapped
        header(mem, lfa, prev, 0, n, name, kind, *[((c + _SB) & _M) - _SB for c in cells])
    P(mem, _DP, end)
    P(mem, _LATEST, lfa)
    P(mem, _LAST_XT, xt)
    P(mem, wid + 8, lfa)
    codepages = vm.codepages
    if codepages[lfa >> 12] or codepages[(end - 1) >> 12] or codepages[(wid + 8) >> 12]:
        vm.code_store(lfa, end - lfa)           # a header is < 4 KiB
        vm.code_store(wid + 8, 8)
    headers = vm.headers          # note_header, inline
    if headers and headers[-1] >= lfa:
        del headers[bisect_left(headers, lfa):]
    headers.append(lfa)
    vm.defining = None
    key = name.lower()
    if vm.hash_used:
        clear_hash_cell(vm, key)
    find_cache = vm.find_cache
    if key in find_cache:
        del find_cache[key]
    cached = vm.wid_cache.get(wid)
    if cached is not None and cached[0] == prev:
        cached[1][key] = lfa
        cached[0] = lfa
    return xt


def reveal(vm) -> None:
    """Link the newest header into the wordlist it was made for."""
    if vm.defining is None:
        return
    lfa, xt, wid = vm.defining
    vm.defining = None
    vm.set_cell(lfa, vm.cell(wid + 8))
    vm.set_cell(wid + 8, lfa)
    key = name_of(vm, lfa).lower()
    vm.find_cache.pop(key, None)
    if vm.hash_used:
        clear_hash_cell(vm, key)
    cached = vm.wid_cache.get(wid)
    if cached is not None and cached[0] == vm.cell(lfa):
        cached[1][key] = lfa
        cached[0] = lfa


def clear_hash_cell(vm, key: bytes) -> None:
    """paflof's REVEAL through (REVEAL) as SLOF's find-hash.fs sets it: a name just defined
    is no longer answered from HASH-TABLE (only done once HASH has been used)."""
    n = len(key)
    h = 0
    for c in key:
        h = ((h << 1) ^ c ^ n) & _M
    P(vm.mem, L.HASH_TABLE + 8 * (h & (L.HASH_SIZE - 1)), 0)


def set_immediate(vm) -> None:
    lfa = vm.cell(L.LATEST)
    if lfa == 0:
        raise Throw(-21, "no word to make immediate")
    vm.mem[lfa + 8] |= L.F_IMMEDIATE
    vm.find_cache.pop(name_of(vm, lfa).lower(), None)


def name_of(vm, lfa: int) -> bytes:
    n = vm.mem[lfa + 9]
    return bytes(vm.mem[lfa + 10:lfa + 10 + n])


def lfa_to_xt(lfa: int, mem) -> int:
    n = mem[lfa + 9]
    return (lfa + 10 + n + 7) & ~7


def is_immediate(vm, lfa: int) -> bool:
    return bool(vm.mem[lfa + 8] & L.F_IMMEDIATE)


def note_header(vm, lfa: int) -> None:
    """Remember a header made at lfa. Headers are made at HERE, so in address order; one
    made below the newest (HERE was moved back: a marker, FORGET) takes the place of every
    header from there on, whose memory is being reused."""
    headers = vm.headers
    if headers and headers[-1] >= lfa:
        del headers[bisect_left(headers, lfa):]
    headers.append(lfa)


def xt_to_lfa(vm, xt: int) -> int:
    """The header of xt (the newest one below it, when its code field is xt), or 0 for a
    headerless word (:noname)."""
    headers = vm.headers
    i = bisect_left(headers, xt) - 1
    if i >= 0 and lfa_to_xt(headers[i], vm.mem) == xt:
        return headers[i]
    return 0


def xt_name(vm, xt: int) -> str:
    lfa = xt_to_lfa(vm, xt)
    return name_of(vm, lfa).decode("latin-1") if lfa else f"<noname {xt:x}>"


# ---------------------------------------------------------------- wordlists
def require_permanent_space(vm) -> None:
    """-29 while HERE is in the comp-buffer (an interpret-level control structure is being
    compiled, e.g. `1 if [ : x ; ] then`): a header or wordlist made there would be linked
    into the dictionary and then overwritten by the next structure."""
    if L.COMP_BUFFER <= U(vm.mem, L.DP)[0] < L.COMP_BUFFER_END:
        raise Throw(-29, "cannot define words inside an interpret-level control structure")


def new_wordlist(vm) -> int:
    """Two cells at HERE (aligned): the wordlist made before this one, and the newest word
    (none yet). In one go when it fits in the dictionary; else step by step (which stops
    where the step that fails stops)."""
    mem = vm.mem
    dp = U(mem, _DP)[0]
    wid = (dp + 7) & ~7
    if not (wid >= _DICTIONARY and wid + 16 <= U(mem, _DICT_LIMIT)[0] and wid + 16 <= vm.size):
        require_permanent_space(vm)
        align(vm)
        wid = allot(vm, 16)
        if wid < 0 or wid > vm.size - 16:
            raise Throw(-9)
    else:
        P(mem, _DP, wid + 16)
    _WID.pack_into(mem, wid, U(mem, L.WORDLISTS)[0], 0)
    if vm.codepages[wid >> 12] or vm.codepages[(wid + 15) >> 12]:
        vm.code_store(wid, 16)
    P(mem, L.WORDLISTS, wid)
    vm.wid_cache[wid] = [0, {}]     # empty, and kept current as words are added
    return wid


def wordlist_words(vm, wid: int):
    """(lfa) of every word in wid, newest first."""
    lfa = vm.cell(wid + 8)
    seen = 0
    limit = vm.size - 10
    while lfa:
        if not 0 < lfa <= limit:
            raise Throw(-21, f"wordlist {wid:x} links to {lfa & _M:x}, outside memory")
        yield lfa
        lfa = vm.cell(lfa)
        seen += 1
        if seen > 10_000_000:
            raise Throw(-21, "wordlist link loop")


def wid_index(vm, wid: int) -> dict[bytes, int]:
    head = vm.cell(wid + 8)
    cached = vm.wid_cache.get(wid)
    if cached is not None:
        if cached[0] == head:
            return cached[1]
        newer = _words_since(vm, head, cached[0])
        if newer is not None:           # words added in front (SLOF's properties, say)
            table = cached[1]
            for lfa in reversed(newer):
                table[name_of(vm, lfa).lower()] = lfa
            cached[0] = head
            return table
    table: dict[bytes, int] = {}
    for lfa in wordlist_words(vm, wid):
        key = name_of(vm, lfa).lower()
        if key not in table:
            table[key] = lfa
    vm.wid_cache[wid] = [head, table]
    return table


_MAX_NEWER = 64


def _words_since(vm, head: int, old_head: int) -> list[int] | None:
    """The words linked in front of old_head since the index was made, newest first; None
    when old_head is not a few links down from head (words were forgotten or relinked, or
    many added): then the index is made again from the whole list."""
    if not old_head:
        return None
    newer = []
    lfa = head
    limit = vm.size - 10
    while lfa != old_head:
        if not 0 < lfa <= limit or len(newer) >= _MAX_NEWER:
            return None
        newer.append(lfa)
        lfa = vm.cell(lfa)
    return newer


def search_wordlist(vm, name: bytes, wid: int) -> int:
    """The lfa of the newest word called name in wid, or 0."""
    if len(name) > 255:
        return 0
    return wid_index(vm, wid).get(name.lower(), 0)


# the search order as one struct per depth, read and written in one go
_ORDERS = [struct.Struct(f">{n}q") for n in range(L.MAX_ORDER + 1)]


def order_depth(vm) -> int:
    """How many wordlists the search order holds (CONTEXT's distance from SEARCH-ORDER);
    -50 when CONTEXT points outside SEARCH-ORDER's array."""
    off = U(vm.mem, L.CONTEXT)[0] - L.ORDER
    n = (off >> 3) + 1
    if not 0 <= n <= L.MAX_ORDER or off & 7:
        raise Throw(-50)
    return n


def search_order(vm) -> list[int]:
    """The wids of the search order, the one searched first first."""
    order = list(_ORDERS[order_depth(vm)].unpack_from(vm.mem, L.ORDER))
    order.reverse()
    return order


def set_search_order(vm, wids: list[int]) -> None:
    """Make wids (searched first first) the search order."""
    n = len(wids)
    if n > L.MAX_ORDER:
        raise Throw(-49)
    mem = vm.mem
    P(mem, L.CONTEXT, L.ORDER + 8 * (n - 1))
    wids = wids[::-1]
    try:
        _ORDERS[n].pack_into(mem, L.ORDER, *wids)
    except struct.error:        # a wid outside the signed range: stored wrapped
        _ORDERS[n].pack_into(mem, L.ORDER, *[((w + _SB) & _M) - _SB for w in wids])
    vm.find_cache.clear()


def name_at(vm, addr: int, length: int) -> bytes:
    """A name given as (addr, len), for a lookup. The range must lie inside memory (-9); a
    string longer than any name (255) is not copied, just stood in for by one that cannot
    be found either."""
    if length <= 255:
        return vm.read(addr, length)
    if addr < 0 or addr + length > vm.size:
        raise Throw(-9)
    return bytes(256)


def find(vm, name: bytes) -> tuple[int, bool] | None:
    """Look name up in the search order: (xt, immediate?) or None."""
    if len(name) > 255:
        return None           # no name is that long; and do not cache (or hash) huge keys
    key = name.lower()
    cache = vm.find_cache
    hit = cache.get(key, False)
    if hit is not False:
        return hit
    mem = vm.mem
    result = None
    top = U(mem, L.CONTEXT)[0]
    if not L.ORDER - 8 <= top < L.ORDER + 8 * L.MAX_ORDER or top & 7:
        raise Throw(-50)
    for a in range(top, L.ORDER - 8, -8):
        wid = U(mem, a)[0]
        lfa = wid_index(vm, wid).get(key, 0)
        if lfa:
            result = (lfa_to_xt(lfa, mem), bool(mem[lfa + 8] & L.F_IMMEDIATE))
            break
    cache[key] = result
    return result


def forget_caches(vm) -> None:
    vm.find_cache.clear()
    vm.wid_cache.clear()


def unlink_word(vm, wid: int, lfa: int) -> None:
    """Take the word at lfa out of wid's list (SLOF's prune)."""
    mem = vm.mem
    prev = wid + 8
    cur = U(mem, prev)[0]
    while cur:
        if cur == lfa:
            vm.set_cell(prev, vm.cell(cur))
            break
        prev = cur
        cur = U(mem, cur)[0]
    key = name_of(vm, lfa).lower()
    vm.find_cache.pop(key, None)
    cached = vm.wid_cache.pop(wid, None)
    head = U(mem, wid + 8)[0]
    if cached is None or cur != lfa or cached[0] != (lfa if prev == wid + 8 else head):
        return                  # not cached, or not current: rebuilt when next needed
    # the table stays current: the name now finds the next older word of that name, if any
    table = cached[1]
    if table.get(key) == lfa:
        del table[key]
        n = len(key)
        older = U(mem, lfa)[0]
        while older:
            if mem[older + 9] == n and mem[older + 10:older + 10 + n].lower() == key:
                table[key] = older
                break
            older = U(mem, older)[0]
    vm.wid_cache[wid] = [head, table]
