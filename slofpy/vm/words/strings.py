"""Strings and parsing: S" C" Z" ." .( SLOF's " with "(hex) parts, ABORT", PARSE, PARSE-NAME,
WORD, CHAR, ( \\, COUNT, COMPARE, SEARCH, /STRING, -TRAILING, SLITERAL, and SLOF's string
helpers ($cat, string=ci, str=, left-parse-string, split, zcount, pack, place ...)."""
from __future__ import annotations

from ...errors import Throw
from .. import layout as L
from .. import dictionary as D
from ..outer import parse, parse_name, skip_blanks, current, digit_value, digits_value
from .table import helper, snippet, word

ONE_BYTE = tuple(bytes((i,)) for i in range(256))


# ---------------------------------------------------------------- string literals
def pocket(vm, data: bytes) -> int:
    """Copy data into the next of SLOF's 16 rotating 256-byte pockets."""
    if len(data) > L.POCKET_SIZE:
        raise Throw(-18)
    n = (vm.cell(L.POCKET_NO) + 1) % L.POCKET_COUNT
    vm.set_cell(L.POCKET_NO, n)
    a = L.POCKETS + n * L.POCKET_SIZE
    vm.mem[a:a + len(data)] = data
    return a


def compile_string(vm, data: bytes) -> None:
    """Compile (sliteral): at run time it pushes ( addr len ) of the inline copy."""
    D.comma(vm, vm.builtin_xt["(sliteral)"])
    D.comma(vm, len(data))
    D.compile_bytes(vm, data)
    D.align(vm)


def string_literal(vm, data: bytes) -> None:
    if vm.cell(L.STATE):
        compile_string(vm, data)
    else:
        vm.s.extend((pocket(vm, data), len(data)))


def parse_quoted(vm) -> bytes:
    """SLOF's " syntax: text up to a closing quote; "(hex bytes) inserts bytes, "" a quote."""
    src = current(vm)
    text = src.text
    i = vm.cell(L.TOIN)
    out = bytearray()
    while i < len(text):
        c = text[i]
        i += 1
        if c != 0x22:
            out.append(c)
            continue
        nxt = text[i] if i < len(text) else None
        if nxt == 0x28:                      # "( hex )
            end = text.find(b")", i)
            if end < 0:
                end = len(text)
            hexpart = bytes(b for b in text[i + 1:end] if b > 0x20)
            for k in range(0, len(hexpart) - 1, 2):
                out.append(int(hexpart[k:k + 2], 16))
            i = end + 1
            continue
        if nxt == 0x22:
            out.append(0x22)
            i += 1
            continue
        if nxt is not None and nxt > 0x20:
            # SLOF keeps going: a quote followed by other text is part of the string
            out.append(0x22)
            continue
        if nxt is not None:
            i += 1
        break
    vm.set_cell(L.TOIN, min(i, len(text)))
    return bytes(out)


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("e"): 27, ord("f"): 12, ord("l"): 10, ord("n"): 10,
            ord("q"): 34, ord("r"): 13, ord("t"): 9, ord("v"): 11, ord("z"): 0, ord('"'): 34,
            ord("\\"): 92}


def parse_escaped(vm) -> bytes:
    """Forth 2012 S\\" text: backslash escapes, up to the closing quote."""
    src = current(vm)
    text = src.text
    i = vm.cell(L.TOIN)
    out = bytearray()
    while i < len(text) and text[i] != 0x22:
        c = text[i]
        i += 1
        if c == 0x5C and i < len(text):
            e = text[i]
            i += 1
            if e == ord("m"):
                out += b"\r\n"
            elif e == ord("x") and i + 1 < len(text):
                out.append(int(text[i:i + 2], 16))
                i += 2
            else:
                out.append(_ESCAPES.get(e, e))
        else:
            out.append(c)
    vm.set_cell(L.TOIN, min(i + 1, len(text)))
    return bytes(out)


@word('s"', immediate=True)
def s_quote(vm) -> None:
    string_literal(vm, parse(vm, 0x22)[1])


@word('s\\"', immediate=True)
def s_backslash_quote(vm) -> None:
    string_literal(vm, parse_escaped(vm))


@word('"', immediate=True)
def quote(vm) -> None:
    string_literal(vm, parse_quoted(vm))


@word('c"', immediate=True)
def c_quote(vm) -> None:
    data = parse(vm, 0x22)[1]
    counted = bytes((len(data),)) + data
    if vm.cell(L.STATE):
        compile_string(vm, counted)
        D.comma(vm, vm.builtin_xt["drop"])
    else:
        vm.s.append(pocket(vm, counted))


@word('z"', immediate=True)
def z_quote(vm) -> None:
    data = parse(vm, 0x22)[1] + b"\0"
    if vm.cell(L.STATE):
        compile_string(vm, data)
        D.comma(vm, vm.builtin_xt["drop"])
    else:
        vm.s.append(pocket(vm, data))


@word('."', immediate=True)
def dot_quote(vm) -> None:
    data = parse(vm, 0x22)[1]
    if vm.cell(L.STATE):
        compile_string(vm, data)
        D.comma(vm, vm.builtin_xt["type"])
    else:
        vm.emit_text(data.decode("latin-1"))


@word(".(", immediate=True)
def dot_paren(vm) -> None:
    vm.emit_text(parse(vm, 0x29)[1].decode("latin-1"))


@word('abort"', immediate=True)
def abort_quote(vm) -> None:
    data = parse(vm, 0x22)[1]
    from ..compiler import require_compiling
    require_compiling(vm)
    compile_string(vm, data)
    D.comma(vm, vm.builtin_xt['(abort")'])


@word("(sliteral-standard)", immediate=True)
def sliteral(vm) -> None:
    # Forth 2012's SLITERAL ( addr len -- ), compile-time: a VM made with standard=True finds
    # it as SLITERAL (by default SLITERAL is paflof's run-time word, words/paflof.py)
    n = vm.s.pop()
    a = vm.s.pop()
    compile_string(vm, vm.read(a, n))


# ---------------------------------------------------------------- parsing words
@word("(", immediate=True)
def paren(vm) -> None:
    parse(vm, 0x29)


@word("\\", immediate=True)
def backslash(vm) -> None:
    # as paflof, from the character after the backslash (one back from >IN, which parsing
    # the backslash moved past its delimiter): a backslash right before the end of a line
    # ends the comment there, instead of running on through the next line
    toin = vm.cell(L.TOIN)
    if toin > 0:
        vm.set_cell(L.TOIN, toin - 1)
    parse(vm, 0x0A)


@word("parse")
def w_parse(vm) -> None:
    a, data = parse(vm, vm.s.pop() & 0xFF)
    vm.s.extend((a, len(data)))


@word("parse-name")
def w_parse_name(vm) -> None:
    a, data = parse_name(vm)
    vm.s.extend((a, len(data)))


@word("parse-word")
def w_parse_word(vm) -> None:
    w_parse_name(vm)


@word("skipws")
def w_skipws(vm) -> None:
    skip_blanks(vm)


@word("word")
def w_word(vm) -> None:
    delim = vm.s.pop() & 0xFF
    src = current(vm)
    text = src.text
    i = vm.cell(L.TOIN)
    while i < len(text) and (text[i] == delim or (delim == 0x20 and text[i] <= 0x20)):
        i += 1
    vm.set_cell(L.TOIN, i)
    _, data = parse(vm, delim)
    data = data[:255]
    vm.mem[L.WORD_BUF] = len(data)
    vm.mem[L.WORD_BUF + 1:L.WORD_BUF + 1 + len(data)] = data
    vm.mem[L.WORD_BUF + 1 + len(data)] = 0x20
    vm.s.append(L.WORD_BUF)


@word("char")
def w_char(vm) -> None:
    _, data = parse_name(vm)
    if not data:
        raise Throw(-16)
    vm.s.append(data[0])


@word("[char]", immediate=True)
def bracket_char(vm) -> None:
    _, data = parse_name(vm)
    if not data:
        raise Throw(-16)
    if vm.cell(L.STATE):
        from ..outer import compile_literal
        compile_literal(vm, data[0])
    else:
        vm.s.append(data[0])


def _prefixed(vm, base: int) -> None:
    _, data = parse_name(vm)
    n = digits_value(data, base)
    if n is None:
        raise Throw(-13, word=data.decode("latin-1"))
    if vm.cell(L.STATE):
        from ..outer import compile_literal
        compile_literal(vm, n)
    else:
        vm.s.append(n)


@word("h#", immediate=True)
def h_sharp(vm) -> None:
    _prefixed(vm, 16)


@word("d#", immediate=True)
def d_sharp(vm) -> None:
    _prefixed(vm, 10)


@word("o#", immediate=True)
def o_sharp(vm) -> None:
    _prefixed(vm, 8)


@word("b#", immediate=True)
def b_sharp(vm) -> None:
    _prefixed(vm, 2)


# ---------------------------------------------------------------- number conversion
@word(">number")
def to_number(vm) -> None:
    s = vm.s
    n = s.pop()
    a = s.pop()
    hi = s.pop() & L.MASK64
    lo = s.pop() & L.MASK64
    ud = (hi << 64) | lo
    base = vm.cell(L.BASE)
    _check_string(vm, a, n)
    while n > 0:
        d = digit_value(vm.mem[a])
        if d < 0 or d >= base:
            break
        ud = (ud * base + d) & ((1 << 128) - 1)
        a += 1
        n -= 1
    lo, hi = ud & L.MASK64, ud >> 64
    s.extend((((lo + L.SIGN64) & L.MASK64) - L.SIGN64, ((hi + L.SIGN64) & L.MASK64) - L.SIGN64, a, n))


@word("$number")
def dollar_number(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    v = digits_value(vm.read(a, n), vm.cell(L.BASE))
    if v is None:
        vm.s.append(-1)
    else:
        vm.s.extend((v, 0))


@word("digit")
def digit(vm) -> None:
    base = vm.s.pop()
    c = vm.s.pop()
    d = digit_value(c & 0xFF) if 0 <= c < 256 else -1
    if 0 <= d < base:
        vm.s.extend((d, -1))
    else:
        vm.s.extend((c, 0))


# ---------------------------------------------------------------- string words
snippet("count", "a = s[-1]\nif a < 0 or a >= MS: raise Throw(-9)\ns[-1] = a + 1\ns.append(mem[a])")
snippet("/string", "n = s.pop()\ns[-2] += n\ns[-1] -= n", effect=-1)
snippet("bl", "s.append(32)")


def _str(vm) -> bytes:
    n = vm.s.pop()
    a = vm.s.pop()
    return vm.read(a, max(n, 0)) if n > 0 else b""


def _cmp(x: bytes, y: bytes) -> int:
    return 0 if x == y else (-1 if x < y else 1)


def _bytes_at(mem: bytearray, size: int, a: int, n: int) -> bytes:
    """The n bytes at a (none when n is not positive); -9 outside memory."""
    if n <= 0:
        return b""
    if a < 0 or a + n > size:
        raise Throw(-9)
    return mem[a:a + n]


def _compare(mem: bytearray, size: int, a1: int, n1: int, a2: int, n2: int) -> int:
    return _cmp(_bytes_at(mem, size, a1, n1), _bytes_at(mem, size, a2, n2))


def _search(mem: bytearray, size: int, a1: int, n1: int, a2: int, n2: int) -> tuple:
    """( a1 n1 a2 n2 -- a3 n3 flag ) as a tuple: where the second string starts in the
    first, and true; or the first string and false."""
    found = _bytes_at(mem, size, a1, n1).find(_bytes_at(mem, size, a2, n2))
    return (a1, n1, 0) if found < 0 else (a1 + found, n1 - found, -1)


# COMPARE and SEARCH take their four inputs first (an address outside memory throws -9 with
# them taken), so the code generator can inline them on cached items
helper("COMPARE", _compare)
helper("SEARCH", _search)
snippet("compare", "n2 = s.pop()\na2 = s.pop()\nn1 = s.pop()\na1 = s.pop()\n"
        "s.append(COMPARE(mem, MS, a1, n1, a2, n2))")
snippet("search", "n2 = s.pop()\na2 = s.pop()\nn1 = s.pop()\na1 = s.pop()\n"
        "r = SEARCH(mem, MS, a1, n1, a2, n2)\ns.append(r[0])\ns.append(r[1])\ns.append(r[2])")


def _check_string(vm, a: int, n: int) -> None:
    """-9 unless a string the word is about to scan (n > 0) lies inside memory."""
    if n > 0 and (a < 0 or a + n > vm.size):
        raise Throw(-9)


@word("-trailing")
def minus_trailing(vm) -> None:
    n = vm.s[-1]
    a = vm.s[-2]
    _check_string(vm, a, n)
    while n > 0 and vm.mem[a + n - 1] == 0x20:
        n -= 1
    vm.s[-1] = n


@word("-leading")
def minus_leading(vm) -> None:
    n = vm.s[-1]
    a = vm.s[-2]
    _check_string(vm, a, n)
    while n > 0 and vm.mem[a] <= 0x20:
        a += 1
        n -= 1
    vm.s[-2], vm.s[-1] = a, n


@word("string=ci")
def string_eq_ci(vm) -> None:
    y = _str(vm)
    x = _str(vm)
    vm.s.append(-1 if x.lower() == y.lower() else 0)


# ( str1 len1 str2 len2 -- flag ): a snippet, the device tree compares names all the time
snippet("str=", """m = s.pop()
b = s.pop()
n = s.pop()
a = s.pop()
if m > 0 and (b < 0 or b + m > MS): raise Throw(-9)
if n > 0 and (a < 0 or a + n > MS): raise Throw(-9)
if n <= 0 or m <= 0:
    s.append(-1 if n <= 0 and m <= 0 else 0)
else:
    s.append(-1 if n == m and mem[a:a + n] == mem[b:b + m] else 0)""", effect=-3)


@word("$cat")
def dollar_cat(vm) -> None:
    y = _str(vm)
    x = _str(vm)
    data = (x + y)[:0x400]
    vm.mem[L.CATPAD:L.CATPAD + len(data)] = data
    vm.s.extend((L.CATPAD, len(data)))


@word("$cat-space")
def dollar_cat_space(vm) -> None:
    y = _str(vm)
    x = _str(vm)
    data = (x + b" " + y)[:0x400]
    vm.mem[L.CATPAD:L.CATPAD + len(data)] = data
    vm.s.extend((L.CATPAD, len(data)))


def _find_char(vm, last: bool) -> None:
    # ( str len char -- offset true | false )
    # searched in place: the cost is the distance to the character, not the length given
    c = vm.s.pop() & 0xFF
    n = vm.s.pop()
    a = vm.s.pop()
    if n <= 0:
        vm.s.append(0)
        return
    if a < 0 or a + n > vm.size:
        raise Throw(-9)
    k = vm.mem.rfind(ONE_BYTE[c], a, a + n) if last else vm.mem.find(ONE_BYTE[c], a, a + n)
    if k < 0:
        vm.s.append(0)
    else:
        vm.s.extend((k - a, -1))


@word("findchar")
def findchar(vm) -> None:
    _find_char(vm, last=False)


@word("rfindchar")
def rfindchar(vm) -> None:
    _find_char(vm, last=True)


@word("left-parse-string", effect=1)
def left_parse_string(vm) -> None:
    # ( str len char -- rstr rlen lstr llen )
    c = vm.s.pop() & 0xFF
    n = vm.s.pop()
    a = vm.s.pop()
    data = vm.read(a, max(n, 0))
    k = data.find(bytes((c,)))
    if k < 0:
        vm.s.extend((a + n, 0, a, n))
    else:
        vm.s.extend((a + k + 1, n - k - 1, a, k))


def _split_at(vm, last: bool) -> None:
    # ( str len char -- left len right len ): split at the first (last) char, which belongs
    # to neither part, as real SLOF does ("/a/b" at "/" is "" and "a/b"); no char: all left
    c = bytes((vm.s.pop() & 0xFF,))
    n = vm.s.pop()
    a = vm.s.pop()
    data = vm.read(a, max(n, 0))
    k = data.rfind(c) if last else data.find(c)
    if k < 0:
        vm.s.extend((a, n, a + n, 0))
    else:
        vm.s.extend((a, k, a + k + 1, n - k - 1))


@word("split")
def split(vm) -> None:
    _split_at(vm, last=False)


@word("rsplit")
def rsplit(vm) -> None:
    _split_at(vm, last=True)


_SCAN_CHECK = "if n > 0 and (a < 0 or a + n > MS): raise Throw(-9)\n"
snippet("skip", "c = s.pop() & 0xff\nn = s.pop()\na = s.pop()\n" + _SCAN_CHECK +
        "while n > 0 and mem[a] == c:\n    a += 1\n    n -= 1\ns.append(a)\ns.append(n)")
# scan ( str len char -- str' len' ): searched in place, and in the form generated code keeps
# in locals (inputs popped first, results pushed last)
snippet("scan", "c = s.pop()\nn = s.pop()\na = s.pop()\n" + _SCAN_CHECK +
        "k = a if n <= 0 else mem.find(BYTE[c & 0xff], a, a + n)\nif k < 0: k = a + n\n"
        "s.append(k)\ns.append(n - k + a)")


snippet("zcount", """a = s[-1]
e = mem.find(b"\\0", a)
if a < 0 or e < 0: raise Throw(-9)
s.append(e - a)""")


@word("from-cstring")
def from_cstring(vm) -> None:
    a = vm.s.pop()
    end = vm.mem.find(b"\0", a)
    if a < 0 or end < 0:
        raise Throw(-9)
    vm.s.append(end - a)


@word("zplace")
def zplace(vm) -> None:
    to = vm.s.pop()
    data = _str(vm)
    vm.write(to, data + b"\0")


@word("place")
def place(vm) -> None:
    to = vm.s.pop()
    data = _str(vm)[:255]
    vm.write(to, bytes((len(data),)) + data)


@word("pack")
def pack(vm) -> None:
    to = vm.s.pop()
    data = _str(vm)[:255]
    vm.write(to, bytes((len(data),)) + data)
    vm.s.append(to)


@word("strdup")
def strdup(vm) -> None:
    data = _str(vm)
    a = D.compile_bytes(vm, data)
    D.align(vm)
    vm.s.extend((a, len(data)))


@word("string,")
def string_comma(vm) -> None:
    data = _str(vm)[:255]
    D.compile_bytes(vm, bytes((len(data),)) + data)


snippet("upc", "c = s[-1]\nif 97 <= c <= 122: s[-1] = c - 32")
snippet("lcc", "c = s[-1]\nif 65 <= c <= 90: s[-1] = c + 32")
snippet("isdigit", "c = s[-1]\ns[-1] = -1 if 48 <= c <= 57 else 0")


# ( str len -- flag ): every byte printable ASCII (20..7e); true for an empty string. A
# snippet, since the device-tree import asks it of every property value
# each byte value as a one-byte string: what find and rfind on VM memory (an mmap) look for
helper("BYTE", ONE_BYTE)
helper("PRINTABLE", bytes(range(0x20, 0x7F)))
snippet("test-string", """n = s.pop()
a = s.pop()
if n > 0 and (a < 0 or a + n > MS): raise Throw(-9)
s.append(0 if n > 0 and mem[a:a + n].translate(None, PRINTABLE) else -1)""")


@word("find-substr")
def find_substr(vm) -> None:
    # ( str len sub len -- offset ): offset of sub in str, or len if absent
    y = _str(vm)
    x = _str(vm)
    k = x.find(y)
    vm.s.append(len(x) if k < 0 else k)


@word("find-isubstr")
def find_isubstr(vm) -> None:
    y = _str(vm).lower()
    x = _str(vm).lower()
    k = x.find(y)
    vm.s.append(len(x) if k < 0 else k)
