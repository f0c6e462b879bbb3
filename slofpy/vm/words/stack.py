"""Data and return stack words (CORE, CORE EXT and SLOF's extras such as 3dup or -roll)."""
from .. import layout as L
from .table import Shuffle, snippet, word

# the shuffles' snippets are threaded code tuned by hand; the code generator lowers them
# from their Shuffle (which input each result is, deepest first)
snippet("dup", "s.append(s[-1])", effect=1)
snippet("drop", "s.pop()", effect=-1)
snippet("swap", "s[-1], s[-2] = s[-2], s[-1]", lowering=Shuffle(2, (1, 0)))
snippet("over", "s.append(s[-2])", lowering=Shuffle(2, (0, 1, 0)))
snippet("rot", "s.append(s.pop(-3))", lowering=Shuffle(3, (1, 2, 0)))
snippet("-rot", "x = s[-3]\ns.insert(-2, s.pop())", lowering=Shuffle(3, (2, 0, 1)))
snippet("nip", "del s[-2]", lowering=Shuffle(2, (1,)))
snippet("tuck", "x = s[-2]\ns.insert(-2, s[-1])", lowering=Shuffle(2, (1, 0, 1)))
snippet("?dup", "if s[-1]: s.append(s[-1])")
snippet("2dup", "s.append(s[-2])\ns.append(s[-2])", lowering=Shuffle(2, (0, 1, 0, 1)))
snippet("2drop", "if len(s) < 2: raise Throw(-4)\ndel s[-2:]", lowering=Shuffle(2, ()))
snippet("2swap", "x = s[-4]\ns[-4:] = s[-2:] + s[-4:-2]", lowering=Shuffle(4, (2, 3, 0, 1)))
snippet("2over", "s.append(s[-4])\ns.append(s[-4])", lowering=Shuffle(4, (0, 1, 2, 3, 0, 1)))
snippet("2rot", "x = s[-6]\ns[-6:] = s[-4:] + s[-6:-4]")
snippet("3dup", "x = s[-3]\ns.extend(s[-3:])")
snippet("4dup", "x = s[-4]\ns.extend(s[-4:])")
snippet("5dup", "x = s[-5]\ns.extend(s[-5:])")
snippet("6dup", "x = s[-6]\ns.extend(s[-6:])")
snippet("3drop", "if len(s) < 3: raise Throw(-4)\ndel s[-3:]", lowering=Shuffle(3, ()))
snippet("4drop", "if len(s) < 4: raise Throw(-4)\ndel s[-4:]")
snippet("5drop", "if len(s) < 5: raise Throw(-4)\ndel s[-5:]")
snippet("5nip", "if len(s) < 6: raise Throw(-4)\ndel s[-6:-1]")
snippet("pick", "n = s.pop()\nif n < 0: raise Throw(-4)\ns.append(s[-1 - n])", effect=0)
snippet("roll", "n = s.pop()\nif n > 0: s.append(s.pop(-1 - n))\nelif n < 0: raise Throw(-4)", effect=-1)
snippet("-roll", "n = s.pop()\nif n > 0:\n    x = s[-1 - n]\n    s.insert(-n, s.pop())\nelif n < 0: raise Throw(-4)")
snippet("depth", "s.append(len(s))")
snippet("clear", "s.clear()")
snippet("depth!", "n = s.pop()\nif n < 0: raise Throw(-4)\nif n > 4096: raise Throw(-3)\n"
        "if n <= len(s): del s[n:]\nelse: s.extend([0] * (n - len(s)))")


# pushes onto the return stack check its room first (-5), as a call does (core.run_threaded)
snippet(">r", f"if len(rs) >= {L.RETURN_STACK_CELLS}: raise Throw(-5)\nrs.append(s.pop())", effect=-1)
snippet("r>", "if len(rs) <= vm.rbase: raise Throw(-6)\ns.append(rs.pop())", effect=1)
snippet("r@", "if len(rs) <= vm.rbase: raise Throw(-6)\ns.append(rs[-1])", effect=1)
snippet("rdrop", "if len(rs) <= vm.rbase: raise Throw(-6)\nrs.pop()", effect=0)
snippet("2>r", f"if len(rs) > {L.RETURN_STACK_CELLS - 2}: raise Throw(-5)\n"
        "b = s.pop()\nrs.append(s.pop())\nrs.append(b)", effect=-2)
snippet("2r>", "if len(rs) < vm.rbase + 2: raise Throw(-6)\ns.extend(rs[-2:])\ndel rs[-2:]", effect=2)
snippet("2r@", "if len(rs) < vm.rbase + 2: raise Throw(-6)\ns.extend(rs[-2:])", effect=2)
snippet("rpick", "n = s.pop()\nif n < 0 or n >= len(rs) - vm.rbase: raise Throw(-6)\ns.append(rs[-1 - n])")
snippet("rdepth", "s.append(len(rs) - vm.rbase)")


@word("rdepth!")
def rdepth_store(vm) -> None:
    n = vm.s.pop()
    if n < 0 or n > len(vm.rs) - vm.rbase:
        raise vm.Throw(-6)
    del vm.rs[vm.rbase + n:]
