"""Comparisons: true is -1, false is 0."""
from .table import operator, snippet

for name, op in (("=", "=="), ("<>", "!="), ("<", "<"), (">", ">"), ("<=", "<="), (">=", ">=")):
    operator(name, 2, f"-1 if {{a}} {op} {{b}} else 0")
for name, op in (("u<", "<"), ("u>", ">"), ("u<=", "<="), ("u>=", ">=")):
    operator(name, 2, f"-1 if ({{a}} & M) {op} ({{b}} & M) else 0")
for name, op in (("0=", "== 0"), ("0<>", "!= 0"), ("0<", "< 0"), ("0>", "> 0"),
                 ("0<=", "<= 0"), ("0>=", ">= 0")):
    operator(name, 1, f"-1 if {{a}} {op} else 0")
snippet("true", "s.append(-1)")
snippet("false", "s.append(0)")
# Forth 2012 WITHIN (circular, unsigned arithmetic): ( n lo hi -- flag )
snippet("within", "h = s.pop()\nl = s.pop()\ns[-1] = -1 if ((s[-1] - l) & M) < ((h - l) & M) else 0",
        effect=-2)
# SLOF's BETWEEN ( n lo hi -- flag ): lo <= n <= hi, signed
snippet("between", "h = s.pop()\nl = s.pop()\ns[-1] = -1 if l <= s[-1] <= h else 0", effect=-2)
