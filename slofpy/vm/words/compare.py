"""Comparisons: true is -1, false is 0."""
from .table import snippet

for name, op in (("=", "=="), ("<>", "!="), ("<", "<"), (">", ">"), ("<=", "<="), (">=", ">=")):
    snippet(name, f"b = s.pop()\ns[-1] = -1 if s[-1] {op} b else 0")
for name, op in (("u<", "<"), ("u>", ">"), ("u<=", "<="), ("u>=", ">=")):
    snippet(name, f"b = s.pop() & M\ns[-1] = -1 if (s[-1] & M) {op} b else 0")
for name, op in (("0=", "== 0"), ("0<>", "!= 0"), ("0<", "< 0"), ("0>", "> 0"),
                 ("0<=", "<= 0"), ("0>=", ">= 0")):
    snippet(name, f"s[-1] = -1 if s[-1] {op} else 0")
snippet("true", "s.append(-1)")
snippet("false", "s.append(0)")
# Forth 2012 WITHIN (circular, unsigned arithmetic): ( n lo hi -- flag )
snippet("within", "h = s.pop()\nl = s.pop()\ns[-1] = -1 if ((s[-1] - l) & M) < ((h - l) & M) else 0")
# SLOF's BETWEEN ( n lo hi -- flag ): lo <= n <= hi, signed
snippet("between", "h = s.pop()\nl = s.pop()\ns[-1] = -1 if l <= s[-1] <= h else 0")
