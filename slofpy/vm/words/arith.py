"""Arithmetic, logic, shifts, double-cell words, and SLOF's split/join/flip words.

Cells are signed 64-bit Python ints; every result is wrapped back into that range.
Division is floored, as in SLOF.
"""
from .table import Division, Shuffle, W, operator, snippet

# addition and friends (their snippets wrap only when the result is out of range)
operator("+", 2, "{a} + {b}", wrap=True, modular=True)
operator("-", 2, "{a} - {b}", wrap=True, modular=True)
operator("*", 2, "{a} * {b}", wrap=True, modular=True)
for name, d in (("1+", "+ 1"), ("1-", "- 1"), ("2+", "+ 2"), ("2-", "- 2"),
                ("cell+", "+ 8"), ("cell-", "- 8"), ("char+", "+ 1"), ("char-", "- 1"),
                ("ca1+", "+ 1"), ("wa1+", "+ 2"), ("la1+", "+ 4"), ("xa1+", "+ 8"),
                ("na1+", "+ 8")):
    operator(name, 1, f"{{a}} {d}", wrap=True, modular=True)
for name, k in (("cells", 8), ("/n*", 8), ("/x*", 8), ("/l*", 4), ("/w*", 2), ("2*", 2)):
    operator(name, 1, f"{{a}} * {k}", wrap=True, modular=True)
for name, k in (("ca+", 1), ("wa+", 2), ("la+", 4), ("xa+", 8), ("na+", 8), ("cells+", 8)):
    snippet(name, "n = s.pop()\ns[-1] = " + W(f"s[-1] + n * {k}"))
snippet("chars+", "n = s.pop()\ns[-1] = " + W("s[-1] + n"))
for name in ("chars", "/c*"):    # ( n -- n ), checking there is one
    snippet(name, "x = s[-1]", lowering=Shuffle(1, (0,)))
operator("negate", 1, "-{a}", wrap=True, modular=True)
operator("abs", 1, "abs({a})", wrap=True)
operator("min", 2, "{b} if {b} < {a} else {a}")
operator("max", 2, "{b} if {b} > {a} else {a}")
snippet("umin", "b = s.pop()\nif (b & M) < (s[-1] & M): s[-1] = b")
snippet("umax", "b = s.pop()\nif (b & M) > (s[-1] & M): s[-1] = b")
operator("2/", 1, "{a} >> 1")
operator("u2/", 1, "({a} & M) >> 1")
snippet("even", "s[-1] = " + W("(s[-1] + 1) & ~1"))
operator("and", 2, "{a} & {b}", modular=True)
operator("or", 2, "{a} | {b}", modular=True)
operator("xor", 2, "{a} ^ {b}", modular=True)
operator("invert", 1, "~{a}", modular=True)
operator("not", 1, "~{a}", modular=True)
for name in ("lshift", "<<"):
    operator(name, 2, "({a} << {b}) if 0 <= {b} < 64 else 0", wrap=True)
for name in ("rshift", ">>"):
    operator(name, 2, "(({a} & M) >> {b}) if 0 <= {b} < 64 else 0", wrap=True)
snippet(">>a", "n = s.pop()\ns[-1] = s[-1] >> min(max(n, 0), 63)")
snippet("ashift", "n = s.pop()\ns[-1] = s[-1] >> min(max(n, 0), 63)")

# division (floored, as SLOF's / mod /mod are)
def division(name: str, expr: str, wrap: bool) -> None:
    """( a b -- r ): expr of {a} and {b}, throwing -10 when b is 0; wrap: its result may
    lie outside 64 bits. The code generator lowers it from the same expression."""
    value = expr.format(a="s[-1]", b="b")
    result = W(value) if wrap else value
    snippet(name, "b = s.pop()\nif b == 0: raise Throw(-10)\ns[-1] = " + result,
            lowering=Division(expr, wrap))


division("/", "{a} // {b}", wrap=True)
division("mod", "{a} % {b}", wrap=False)
snippet("/mod", "b = s.pop()\nif b == 0: raise Throw(-10)\na = s[-1]\ns[-1] = a % b\ns.append("
        + W("a // b") + ")")
snippet("u/mod", "b = s.pop() & M\nif b == 0: raise Throw(-10)\na = s[-1] & M\ns[-1] = "
        + W("a % b") + "\ns.append(" + W("a // b") + ")")
snippet("*/", "c = s.pop()\nb = s.pop()\nif c == 0: raise Throw(-10)\nq = s[-1] * b // c\n"
        "if not -SB <= q < SB: raise Throw(-11)\ns[-1] = q")
snippet("*/mod", "c = s.pop()\nb = s.pop()\nif c == 0: raise Throw(-10)\nx = s[-1] * b\nq = x // c\n"
        "if not -SB <= q < SB: raise Throw(-11)\ns[-1] = x % c\ns.append(q)")

# double cells: ( lo hi ), hi on top
D_IN = "h = s.pop()\nl = s.pop()\nd = ((h & M) << 64) | (l & M)\nif h < 0: d -= 1 << 128\n"
D_OUT = "s.append(" + W("d") + ")\ns.append(" + W("d >> 64") + ")"
snippet("s>d", "s.append(-1 if s[-1] < 0 else 0)")
snippet("m*", "b = s.pop()\nd = s.pop() * b\n" + D_OUT)
snippet("um*", "b = s.pop() & M\nd = (s.pop() & M) * b\n" + D_OUT)
snippet("u*", "b = s.pop() & M\ns[-1] = " + W("(s[-1] & M) * b"))
snippet("um/mod", "u = s.pop() & M\nh = s.pop() & M\nl = s.pop() & M\nif u == 0: raise Throw(-10)\n"
        "d = (h << 64) | l\nq = d // u\nif q > M: raise Throw(-11)\ns.append(" + W("d % u")
        + ")\ns.append(" + W("q") + ")")
snippet("sm/rem", "n = s.pop()\n" + D_IN + "if n == 0: raise Throw(-10)\n"
        "q = abs(d) // abs(n)\nif (d < 0) != (n < 0): q = -q\nr = d - q * n\n"
        "if not -SB <= q < SB: raise Throw(-11)\ns.append(r)\ns.append(q)")
snippet("fm/mod", "n = s.pop()\n" + D_IN + "if n == 0: raise Throw(-10)\n"
        "q = d // n\nr = d % n\nif not -SB <= q < SB: raise Throw(-11)\ns.append(r)\ns.append(q)")
snippet("mu/mod", "u = s.pop() & M\nh = s.pop() & M\nl = s.pop() & M\nif u == 0: raise Throw(-10)\n"
        "d = (h << 64) | l\nq = d // u\ns.append(" + W("d % u") + ")\ns.append(" + W("q")
        + ")\ns.append(" + W("q >> 64") + ")")
snippet("d+", "h = s.pop()\nl = s.pop()\nb = ((h & M) << 64) | (l & M)\n" + D_IN
        + "d = d + b\n" + D_OUT)
snippet("d-", "h = s.pop()\nl = s.pop()\nb = ((h & M) << 64) | (l & M)\n" + D_IN
        + "d = d - b\n" + D_OUT)
snippet("m+", "b = s.pop()\n" + D_IN + "d = d + b\n" + D_OUT)
snippet("dnegate", D_IN + "d = -d\n" + D_OUT)
snippet("dabs", D_IN + "d = abs(d)\n" + D_OUT)
snippet("d2*", D_IN + "d = d << 1\n" + D_OUT)
snippet("d2/", D_IN + "d = d >> 1\n" + D_OUT)
snippet("ud2/", "h = s.pop()\nl = s.pop()\nd = ((h & M) << 64) | (l & M)\nd >>= 1\n" + D_OUT)
snippet("d=", "b = s.pop()\na = s.pop()\nh = s.pop()\nl = s.pop()\n"
        "s.append(-1 if (a == l and b == h) else 0)")
snippet("d0=", "h = s.pop()\nl = s.pop()\ns.append(-1 if (h == 0 and l == 0) else 0)")
snippet("d<", "h2 = s.pop()\nl2 = s.pop()\n" + D_IN
        + "b = ((h2 & M) << 64) | (l2 & M)\nif h2 < 0: b -= 1 << 128\ns.append(-1 if d < b else 0)")

# SLOF's split / join / flip words (the high part of a split is not masked)
snippet("wbsplit", "x = s[-1]\ns[-1] = x & 0xff\ns.append(x >> 8)")
snippet("lwsplit", "x = s[-1]\ns[-1] = x & 0xffff\ns.append(x >> 16)")
snippet("xlsplit", "x = s[-1]\ns[-1] = x & 0xffffffff\ns.append(x >> 32)")
snippet("lbsplit", "x = s.pop()\ns.extend((x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff, (x >> 24) & 0xff))")
snippet("xwsplit", "x = s.pop() & M\ns.extend((x & 0xffff, (x >> 16) & 0xffff, (x >> 32) & 0xffff, "
        + W("x >> 48") + "))")
snippet("xbsplit", "x = s.pop() & M\ns.extend([(x >> (8 * k)) & 0xff for k in range(8)])")
snippet("bwjoin", "h = s.pop()\ns[-1] = (s[-1] & 0xff) | ((h & 0xff) << 8)")
snippet("wljoin", "h = s.pop()\ns[-1] = (s[-1] & 0xffff) | ((h & 0xffff) << 16)")
snippet("lxjoin", "h = s.pop()\ns[-1] = " + W("(s[-1] & 0xffffffff) | ((h & 0xffffffff) << 32)"))
snippet("bljoin", "b3 = s.pop()\nb2 = s.pop()\nb1 = s.pop()\n"
        "s[-1] = (s[-1] & 0xff) | ((b1 & 0xff) << 8) | ((b2 & 0xff) << 16) | ((b3 & 0xff) << 24)")
snippet("wxjoin", "w3 = s.pop()\nw2 = s.pop()\nw1 = s.pop()\ns[-1] = " + W(
    "(s[-1] & 0xffff) | ((w1 & 0xffff) << 16) | ((w2 & 0xffff) << 32) | ((w3 & 0xffff) << 48)"))
snippet("bxjoin", "x = 0\nfor k in range(7, -1, -1): x |= (s.pop() & 0xff) << (8 * k)\ns.append("
        + W("x") + ")")
snippet("wbflip", "x = s[-1] & 0xffff\ns[-1] = ((x & 0xff) << 8) | (x >> 8)")
snippet("lbflip", "s[-1] = int.from_bytes((s[-1] & 0xffffffff).to_bytes(4, 'big'), 'little')")
snippet("lwflip", "x = s[-1] & 0xffffffff\ns[-1] = ((x & 0xffff) << 16) | (x >> 16)")
snippet("xbflip", "s[-1] = int.from_bytes((s[-1] & M).to_bytes(8, 'big'), 'little', signed=True)")
snippet("xwflip", "x = s[-1] & M\ns[-1] = " + W(
    "((x & 0xffff) << 48) | (((x >> 16) & 0xffff) << 32) | (((x >> 32) & 0xffff) << 16) | (x >> 48)"))
snippet("xlflip", "x = s[-1] & M\ns[-1] = " + W("((x & 0xffffffff) << 32) | (x >> 32)"))
snippet("bounds", "n = s.pop()\na = s.pop()\ns.append(" + W("a + n") + ")\ns.append(a)")
snippet("aligned", "s[-1] = " + W("(s[-1] + 7) & ~7"))
snippet("#aligned", "n = s.pop()\ns[-1] = " + W("(s[-1] + n - 1) // n * n") + " if n > 0 else s[-1]")
snippet("signed", "x = s[-1] & 0xffffffff\ns[-1] = x - (1 << 32) if x & 0x80000000 else x")
snippet("//", "b = s.pop()\nif b == 0: raise Throw(-10)\ns[-1] = " + W("-(-s[-1] // b)"))
snippet("log2", "x = s[-1] & M\ns[-1] = x.bit_length() - 1 if x else -1")
snippet("2log", "x = s[-1] & M\ns[-1] = (x - 1).bit_length() if x > 1 else 0")
