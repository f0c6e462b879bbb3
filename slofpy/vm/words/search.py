"""The SEARCH-ORDER word set and SLOF's vocabulary words: WORDLIST VOCABULARY ALSO ONLY
PREVIOUS DEFINITIONS FORTH GET-ORDER SET-ORDER GET-CURRENT SET-CURRENT SEARCH-WORDLIST
FORTH-WORDLIST ORDER VOCS SEAL CONTEXT CURRENT, and (prune) for unlinking a word."""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from .table import helper, snippet, word


# ( -- wid ): a snippet calling the dictionary, which generated code runs on its cached items
helper("NEW_WORDLIST", D.new_wordlist)
snippet("wordlist", "s.append(NEW_WORDLIST(vm))")


@word("forth-wordlist", effect=1)
def forth_wordlist(vm) -> None:
    vm.s.append(L.FORTH_WID)


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
snippet("(order-depth)", f"s.append(U(mem, {L.NORDER})[0])")


@word("replace-top-of-order", effect=-1)
def replace_top_of_order(vm) -> None:
    # ( wid -- ): wid is searched first, in place of the wordlist that was (-50: no order)
    wid = vm.s.pop()
    n = vm.cell(L.NORDER)
    if not 1 <= n <= L.MAX_ORDER:
        raise Throw(-50)
    vm.set_cell(L.ORDER, wid)
    vm.find_cache.clear()


snippet("get-current", f"s.append(U(mem, {L.CURRENT})[0])")
snippet("set-current", f"P(mem, {L.CURRENT}, s.pop())")


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
    D.set_search_order(vm, [L.FORTH_WID])


@word("seal")
def seal(vm) -> None:
    order = D.search_order(vm)
    D.set_search_order(vm, order[:1])


@word("forth")
def forth(vm) -> None:
    order = D.search_order(vm) or [L.FORTH_WID]
    D.set_search_order(vm, [L.FORTH_WID] + order[1:])


@word("context")
def context(vm) -> None:
    vm.s.append(L.ORDER)


@word("current")
def current(vm) -> None:
    vm.s.append(L.CURRENT)


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
# (inlined in generated code): the wordlist's table from vm.wid_cache when it is current,
# else dictionary.wid_index builds it
snippet("voc-find", """wid = s.pop()
n = s.pop()
a = s.pop()
if n < 0 or a < 0 or a + n > MS: raise Throw(-9)
c = vm.wid_cache.get(wid)
if c is None or c[0] != U(mem, wid)[0]:
    from slofpy.vm.dictionary import wid_index
    c = (0, wid_index(vm, wid))
s.append(c[1].get(bytes(mem[a:a + n]).lower(), 0))""")


@word("(prune)", effect=-2)
def prune(vm) -> None:
    # ( lfa wid -- ): take a word out of a wordlist
    wid = vm.s.pop()
    D.unlink_word(vm, wid, vm.s.pop())


@word("vocabulary")
def vocabulary(vm) -> None:
    xt = D.make_header(vm, _name(vm), L.K_CREATE)
    D.comma(vm, vm.vocabulary_does)
    body = D.here(vm)
    D.comma(vm, 0)
    D.reveal(vm)
    wid = D.new_wordlist(vm)
    vm.set_cell(body, wid)
    vm.vocabularies[xt] = wid


def _name(vm) -> bytes:
    from ..outer import parse_word_or_fail
    return parse_word_or_fail(vm)


@word("(vocabulary)")
def vocabulary_runtime(vm) -> None:
    body = vm.s.pop()
    wid = vm.cell(body)
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
        w = vm.cell(w + 8)
    emit_str(vm, " ".join(names) + " ")
