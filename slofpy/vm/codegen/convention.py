"""The threaded code's calling convention, as far as generated code depends on it: one place.

A call compiled at cell `addr` of a body:
* `resume_address(addr)`: where the threaded code goes on after the call (the next cell).
  Generated code that hands the rest of a definition to its threaded code after a call
  (emitter.call_kept) starts it there.
* `return_address(addr)`: what the threaded call pushes onto the return stack for the callee,
  the value R> gives inside it. paflof's convention (its instruction pointer advances before
  the fetch): the calling cell itself, so an inline-operand reader (`r> cell+ dup >r @`)
  finds its operand in the next cell and, having pushed that cell back, resumes after it.
  EXIT goes on at `resume_address` of what it pops. Generated code never pushes one: a
  callee that reads its caller's return stack (analysis.reads_callers_return_stack) keeps
  its caller threaded, and the threaded code pushes its own. Code that needs the value asks
  here.
"""
from __future__ import annotations

CELL = 8


def resume_address(addr: int) -> int:
    """Where the threaded code goes on after the word compiled at addr (no inline operand)."""
    return addr + CELL


def return_address(addr: int) -> int:
    """What a call compiled at addr leaves on the return stack for the callee: addr."""
    return addr
