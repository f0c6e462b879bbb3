"""Generated Python code for hot colon definitions (a cache of the threaded form)."""
from __future__ import annotations


def compile_definition(vm, xt: int) -> None:
    """Not generating code yet: the threaded form runs."""
    return None
