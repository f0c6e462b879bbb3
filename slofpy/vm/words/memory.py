"""Memory access: cells, bytes, 16/32/64-bit big-endian and little-endian accessors,
block moves, fills and compares, and the address-unit size words.

Every access outside memory throws -9; so does a negative length (a length is unsigned in
SLOF, so -1 is a huge one), while a length of 0 touches nothing. A store into a page that
holds compiled code tells the VM, which drops generated code that the store may have changed.
"""
from .table import MemoryAccess, snippet

_CHK = "if a < 0 or a > MS - {n}: raise Throw(-9)\n"
# a store into a page with compiled code goes on to code_store only when it touches a cell
# a compiled body covers (JC); a store of n <= 16 bytes touches at most three cells
def _note(n: int) -> str:
    if n <= 8:
        return f"\nif CP[a >> 12] and (a >> 3 in JC or (a + {n - 1}) >> 3 in JC): vm.code_store(a, {n})"
    return ("\nif CP[a >> 12] and (a >> 3 in JC or (a >> 3) + 1 in JC or (a + 15) >> 3 in JC):"
            " vm.code_store(a, 16)")


def fetch(name: str, n: int, expr: str, lowered: bool = True) -> None:
    """( a -- x ): n bytes at {a} read by expr. lowered: the code generator lowers it from
    the same expression (which must itself fail outside memory: no slices)."""
    lowering = MemoryAccess("fetch", n, expr) if lowered else None
    snippet(name, "a = s[-1]\n" + _CHK.format(n=n) + "s[-1] = " + expr.format(a="a"),
            lowering=lowering)


def store(name: str, n: int, stmt: str, lowered: bool = True) -> None:
    """( x a -- ): {v} stored in n bytes at {a} by stmt; lowered as for fetch."""
    lowering = MemoryAccess("store", n, stmt) if lowered else None
    snippet(name, "a = s.pop()\nv = s.pop()\n" + _CHK.format(n=n) + stmt.format(a="a", v="v")
            + _note(n), lowering=lowering)


# generated code reads and writes these inline from the same expressions (lowered); the
# slicing ones must not be (a slice outside memory does not fail), and the sign-extending
# and -be ones are left to their snippets as they always were
fetch("@", 8, "U(mem, {a})[0]")
fetch("x@", 8, "U(mem, {a})[0]")
fetch("l@", 4, "UL(mem, {a})[0]")
fetch("w@", 2, "UW(mem, {a})[0]")
fetch("c@", 1, "mem[{a}]")
fetch("<w@", 2, "UW(mem, {a})[0] - ((mem[{a}] & 0x80) << 9)", lowered=False)
fetch("<l@", 4, "UL(mem, {a})[0] - ((mem[{a}] & 0x80) << 25)", lowered=False)
fetch("unaligned-w@", 2, "UW(mem, {a})[0]")
fetch("unaligned-l@", 4, "UL(mem, {a})[0]")
fetch("x@-le", 8, "int.from_bytes(mem[{a}:{a} + 8], 'little', signed=True)", lowered=False)
fetch("l@-le", 4, "int.from_bytes(mem[{a}:{a} + 4], 'little')", lowered=False)
fetch("w@-le", 2, "int.from_bytes(mem[{a}:{a} + 2], 'little')", lowered=False)
fetch("x@-be", 8, "U(mem, {a})[0]", lowered=False)
fetch("l@-be", 4, "UL(mem, {a})[0]", lowered=False)
fetch("w@-be", 2, "UW(mem, {a})[0]", lowered=False)

store("!", 8, "P(mem, {a}, {v})")
store("x!", 8, "P(mem, {a}, {v})")
store("l!", 4, "PL(mem, {a}, {v} & 0xffffffff)")
store("w!", 2, "PW(mem, {a}, {v} & 0xffff)")
store("c!", 1, "mem[{a}] = {v} & 0xff")
store("unaligned-w!", 2, "PW(mem, {a}, {v} & 0xffff)")
store("unaligned-l!", 4, "PL(mem, {a}, {v} & 0xffffffff)")
store("x!-le", 8, "mem[{a}:{a} + 8] = ({v} & M).to_bytes(8, 'little')", lowered=False)
store("l!-le", 4, "mem[{a}:{a} + 4] = ({v} & 0xffffffff).to_bytes(4, 'little')", lowered=False)
store("w!-le", 2, "mem[{a}:{a} + 2] = ({v} & 0xffff).to_bytes(2, 'little')", lowered=False)
store("x!-be", 8, "P(mem, {a}, {v})", lowered=False)
store("l!-be", 4, "PL(mem, {a}, {v} & 0xffffffff)", lowered=False)
store("w!-be", 2, "PW(mem, {a}, {v} & 0xffff)", lowered=False)

snippet("+!", "a = s.pop()\nv = s.pop()\n" + _CHK.format(n=8)
        + "r = U(mem, a)[0] + v\nP(mem, a, ((r + SB) & M) - SB)" + _note(8))
snippet("on", "a = s.pop()\n" + _CHK.format(n=8) + "P(mem, a, -1)" + _note(8))
snippet("off", "a = s.pop()\n" + _CHK.format(n=8) + "P(mem, a, 0)" + _note(8))
snippet("2@", "a = s[-1]\n" + _CHK.format(n=16) + "s[-1] = U(mem, a + 8)[0]\ns.append(U(mem, a)[0])")
snippet("2!", "a = s.pop()\nb = s.pop()\nv = s.pop()\n" + _CHK.format(n=16)
        + "P(mem, a, b)\nP(mem, a + 8, v)" + _note(16))

# blocks: ( src dst len ) moves, ( addr len byte ) fills, ( a1 a2 len ) compare
_RANGE = "if n < 0 or {a} < 0 or {a} + n > MS: raise Throw(-9)\n"
# a block store goes on to code_store unless it is short (up to a page, so it spans at most
# two) and neither of its pages holds compiled code
_BLOCK_NOTE = "if n > 4096 or CP[{a} >> 12] or CP[({a} + n - 1) >> 12]: vm.code_store({a}, n)"
snippet("move", "n = s.pop()\nd = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ") + _RANGE.format(a="d")
        + "    mem[d:d + n] = mem[a:a + n]\n    " + _BLOCK_NOTE.format(a="d"))
snippet("cmove", "n = s.pop()\nd = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ") + _RANGE.format(a="d")
        + "    if d <= a or d >= a + n: mem[d:d + n] = mem[a:a + n]\n"
        "    else:\n        for k in range(n): mem[d + k] = mem[a + k]\n    vm.code_store(d, n)")
snippet("cmove>", "n = s.pop()\nd = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ") + _RANGE.format(a="d")
        + "    if d >= a or d + n <= a: mem[d:d + n] = mem[a:a + n]\n"
        "    else:\n        for k in range(n - 1, -1, -1): mem[d + k] = mem[a + k]\n"
        "    vm.code_store(d, n)")
snippet("fill", "b = s.pop()\nn = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ")
        + "mem[a:a + n] = bytes((b & 0xff,)) * n\n    " + _BLOCK_NOTE.format(a="a"))
snippet("erase", "n = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ")
        + "mem[a:a + n] = bytes(n)\n    " + _BLOCK_NOTE.format(a="a"))
snippet("blank", "n = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ")
        + "mem[a:a + n] = b' ' * n\n    vm.code_store(a, n)")
snippet("comp", "n = s.pop()\nb = s.pop()\na = s.pop()\nr = 0\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ") + _RANGE.format(a="b")
        + "    x = mem[a:a + n]\n    y = mem[b:b + n]\n    r = 0 if x == y else (-1 if x < y else 1)\n"
        "s.append(r)")
for name, width in (("wbflips", 2), ("lbflips", 4), ("xbflips", 8)):
    snippet(name, "n = s.pop()\na = s.pop()\nif n:\n    "
            + _RANGE.format(a="a").replace("\n", "\n    ")
            + f"for k in range(a, a + n - {width} + 1, {width}): mem[k:k + {width}] = mem[k:k + {width}][::-1]\n"
            "    vm.code_store(a, n)")
snippet("lwflips", "n = s.pop()\na = s.pop()\nif n:\n    "
        + _RANGE.format(a="a").replace("\n", "\n    ")
        + "for k in range(a, a + n - 3, 4): mem[k:k + 4] = mem[k + 2:k + 4] + mem[k:k + 2]\n"
        "    vm.code_store(a, n)")

for name, k in (("/c", 1), ("/w", 2), ("/l", 4), ("/x", 8), ("/n", 8), ("cell", 8)):
    snippet(name, f"s.append({k})")
