"""The SEARCH-ORDER word set and SLOF's vocabulary words on paflof's layout.

A wid is [link to the previous wordlist, newest word]; SEARCH-ORDER is an array of wids (the
first searched last) and CONTEXT a value holding the address of the entry searched first;
CURRENT is a value holding the compilation wordlist, LAST the address of its head cell.
Words: WORDLIST FORTH-WORDLIST GET-ORDER SET-ORDER GET-CURRENT SET-CURRENT DEFINITIONS ALSO
PREVIOUS ONLY SEAL FORTH VOCABULARY ORDER VOCS SEARCH-WORDLIST, paflof's CURRENT CONTEXT
SEARCH-ORDER (FIND) ((FIND)) (FIND-ORDER) ($FIND) (REVEAL) CLEAN-HASH HASH HASH-TABLE
HASH-SIZE, and slofpy's voc-find, (prune), (order-depth), replace-top-of-order.

Lookups from Python (the outer interpreter, ' and FIND) use the dictionary's name tables
(dictionary.py) rather than the (FIND) defer; they find what ((FIND)) would. As in paflof,
code that changes the order by storing into SEARCH-ORDER calls CLEAN-HASH first (SLOF's
search.fs does); TO CONTEXT and the words here do it themselves.
"""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from .table import helper, snippet, sysvalue, word


# ( -- wid ): a snippet calling the dictionary, which generated code runs on its cached items
helper("NEW_WORDLIST", D.new_wordlist)
snippet("wordlist", "s.append(NEW_WORDLIST(vm))")


@word("forth-wordlist", effect=1)
def forth_wordlist(vm) -> None:
    vm.s.append(L.FORTH_WID)


sysvalue("current", L.CURRENT)
sysvalue("context", L.CONTEXT)


@word("search-order", effect=1)
def search_order_array(vm) -> None:
    # ( -- addr ): the array of the search order's wids, the one searched last first
    vm.s.append(L.ORDER)


@word("get-order")
def get_order(vm) -> None:
    order = D.search_order(vm)
    vm.s.extend(reversed(order))
    vm.s.append(len(order))


@word("set-order")
def set_order(vm) -> None:
    n = vm.s.pop()
    if n == -1:
        D.set_search_order(vm, [L.FORTH_WID])
        return
    if n < 0 or n > L.MAX_ORDER:
        raise Throw(-49)
    wids = [vm.s.pop() for _ in range(n)]
    D.set_search_order(vm, wids)


# (order-depth) ( -- n ): how many wordlists the search order has
snippet("(order-depth)", f"s.append(((U(mem, {L.CONTEXT})[0] - {L.ORDER}) >> 3) + 1)")


@word("replace-top-of-order", effect=-1)
def replace_top_of_order(vm) -> None:
    # ( wid -- ): wid is searched first, in place of the wordlist that was (-50: no order)
    wid = vm.s.pop()
    if D.order_depth(vm) < 1:
        raise Throw(-50)
    vm.set_cell(vm.cell(L.CONTEXT), wid)
    vm.find_cache.clear()


snippet("get-current", f"s.append(U(mem, {L.CURRENT})[0])")
snippet("set-current", f"P(mem, {L.CURRENT}, s.pop())", effect=-1)


@word("definitions", effect=0)
def definitions(vm) -> None:
    order = D.search_order(vm)
    if not order:
        raise Throw(-50)
    vm.set_cell(L.CURRENT, order[0])


@word("also", effect=0)
def also(vm) -> None:
    order = D.search_order(vm)
    if not order:
        raise Throw(-50)
    if len(order) >= L.MAX_ORDER:
        raise Throw(-49)
    D.set_search_order(vm, [order[0]] + order)


@word("previous", effect=0)
def previous(vm) -> None:
    order = D.search_order(vm)
    if not order:
        raise Throw(-50)
    D.set_search_order(vm, order[1:])


@word("only")
def only(vm) -> None:
    # as paflof: the wordlist at the bottom of SEARCH-ORDER stays, alone (FORTH after
    # SET-ORDER's -1 or a fresh VM)
    vm.set_cell(L.CONTEXT, L.ORDER)
    vm.find_cache.clear()


@word("(only-standard)")
def only_standard(vm) -> None:
    # Forth 2012's ONLY: the minimum search order, FORTH alone (what a VM made with
    # standard=True finds as ONLY)
    D.set_search_order(vm, [L.FORTH_WID])


@word("seal")
def seal(vm) -> None:
    order = D.search_order(vm)
    D.set_search_order(vm, order[:1])


@word("forth")
def forth(vm) -> None:
    order = D.search_order(vm) or [L.FORTH_WID]
    D.set_search_order(vm, [L.FORTH_WID] + order[1:])


@word("search-wordlist")
def search_wordlist(vm) -> None:
    wid = vm.s.pop()
    n = vm.s.pop()
    a = vm.s.pop()
    lfa = D.search_wordlist(vm, D.name_at(vm, a, n), wid)
    if not lfa:
        vm.s.append(0)
    else:
        vm.s.extend((D.lfa_to_xt(lfa, vm.mem), 1 if D.is_immediate(vm, lfa) else -1))


# voc-find ( str len wid -- 0 | lfa ) runs for every property looked up, so it is a snippet
# (inlined in generated code): the wordlist's table from vm.wid_cache when it is current
# (its head cell, wid+8, unchanged), else dictionary.wid_index builds it
snippet("voc-find", """wid = s.pop()
n = s.pop()
a = s.pop()
if n < 0 or a < 0 or a + n > MS: raise Throw(-9)
c = vm.wid_cache.get(wid)
if c is None or c[0] != U(mem, wid + 8)[0]:
    from slofpy.vm.dictionary import wid_index
    c = (0, wid_index(vm, wid))
s.append(c[1].get(bytes(mem[a:a + n]).lower(), 0))""")


@word("((find))", effect=-2)
def find_in_chain(vm) -> None:
    # ( str len head -- 0 | link ): the first word of that name (any case) from head on,
    # following the link cells
    head = vm.s.pop()
    n = vm.s.pop()
    key = D.name_at(vm, vm.s.pop(), n).lower()
    mem = vm.mem
    lfa = head
    seen = 0
    while lfa:
        if mem[lfa + 9] == n and bytes(mem[lfa + 10:lfa + 10 + n]).lower() == key:
            break
        lfa = vm.cell(lfa)
        seen += 1
        if seen > 10_000_000:
            raise Throw(-21, "wordlist link loop")
    vm.s.append(lfa)


@word("(find-order)", effect=-1)
def find_order(vm) -> None:
    # ( str len -- 0 | link ): the word in the search order, the wordlist CONTEXT points
    # at first
    n = vm.s.pop()
    name = D.name_at(vm, vm.s.pop(), n).lower()
    for wid in D.search_order(vm):
        lfa = D.wid_index(vm, wid).get(name, 0)
        if lfa:
            vm.s.append(lfa)
            return
    vm.s.append(0)


@word("($find)")
def paren_dollar_find(vm) -> None:
    # ( str len -- xt flags true | 0 ): flags is the header's flags byte (1: immediate)
    find_order(vm)
    lfa = vm.s.pop()
    if lfa:
        vm.s.extend((D.lfa_to_xt(lfa, vm.mem), vm.mem[lfa + 8], -1))
    else:
        vm.s.append(0)


@word("clean-hash", effect=0)
def clean_hash(vm) -> None:
    # ( -- ): empty paflof's find hash table (HASH-TABLE) and slofpy's lookup cache; code
    # that changes the search order or a wordlist's newest word behind the dictionary's back
    # calls it (SLOF: at every ALSO, PREVIOUS, vocabulary and $FORGET). The per-wordlist
    # indexes stay: each is checked against its wordlist's newest word when used
    # (dictionary.wid_index), which a changed search order leaves alone
    vm.mem[L.HASH_TABLE:L.HASH_TABLE + 8 * L.HASH_SIZE] = bytes(8 * L.HASH_SIZE)
    vm.find_cache.clear()


# ( -- addr ): paflof's find hash table
snippet("hash-table", f"s.append({L.HASH_TABLE})")
# ( -- n ): its number of cells
snippet("hash-size", f"s.append({L.HASH_SIZE})")


def name_hash(name: bytes) -> int:
    """paflof's HASH of a name: the address of its cell in HASH-TABLE (the hash: for each
    character, lower-cased, shift left one and xor in the character and the length)."""
    n = len(name)
    h = 0
    for c in name.lower():
        h = ((h << 1) ^ c ^ n) & L.MASK64
    return L.HASH_TABLE + 8 * (h & (L.HASH_SIZE - 1))


@word("hash", effect=-1)
def hash_word(vm) -> None:
    # ( str len -- addr ): the name's cell in HASH-TABLE (SLOF's find-hash.fs caches links
    # there); from now on a word defined clears its name's cell, as paflof's REVEAL does
    # through (REVEAL)
    n = vm.s.pop()
    vm.s.append(name_hash(D.name_at(vm, vm.s.pop(), n)))
    vm.hash_used = True


@word("(prune)", effect=-2)
def prune(vm) -> None:
    # ( lfa wid -- ): take a word out of a wordlist
    wid = vm.s.pop()
    D.unlink_word(vm, wid, vm.s.pop())


@word("vocabulary")
def vocabulary(vm) -> None:
    # CREATE'd word whose body is the wid, as SLOF's search.fs makes it
    xt = D.make_header(vm, _name(vm), L.K_CREATE)
    D.comma(vm, vm.vocabulary_does)
    D.reveal(vm)
    wid = D.new_wordlist(vm)
    vm.vocabularies[xt] = wid


def _name(vm) -> bytes:
    from ..outer import parse_word_or_fail
    return parse_word_or_fail(vm)


@word("(vocabulary)")
def vocabulary_runtime(vm) -> None:
    # ( body -- ): the body is the wid; it replaces the top of the order
    wid = vm.s.pop()
    order = D.search_order(vm) or [L.FORTH_WID]
    D.set_search_order(vm, [wid] + order[1:])


def _wid_name(vm, wid: int) -> str:
    if wid == L.FORTH_WID:
        return "forth"
    for xt, w in vm.vocabularies.items():
        if w == wid:
            return D.xt_name(vm, xt)
    return f"{wid:x}"


@word("order")
def order(vm) -> None:
    from .io import emit_str
    names = " ".join(_wid_name(vm, w) for w in D.search_order(vm))
    emit_str(vm, f"{names}   {_wid_name(vm, vm.cell(L.CURRENT))} ")


@word("vocs")
def vocs(vm) -> None:
    from .io import emit_str
    w = vm.cell(L.WORDLISTS)
    names = []
    while w:
        names.append(_wid_name(vm, w))
        w = vm.cell(w)
    emit_str(vm, " ".join(names) + " ")
