"""The engine's built-in words, one module per word set.

Each module adds entries to the shared table in `table.py`. A word is either a *snippet*:
Python statements over the data stack ``s``, the return stack ``rs`` and memory ``mem`` that
the engine turns into a primitive and that the compiler can inline into generated code; or a
*method* of the VM (for words that parse, compile or talk to the outside).
"""
from . import table  # noqa: F401
from . import stack, arith, memory, compare, control, strings, defining, io, search, tools, slof, paflof  # noqa: F401
