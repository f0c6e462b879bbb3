"""Compiling: the control-flow stack, branch resolution, and interpret-level control
structures (SLOF compiles them into the comp-buffer and runs the result when the outermost
structure closes)."""
from __future__ import annotations

from ..errors import Throw
from . import layout as L
from .dictionary import comma, here as _here


def here(vm) -> int:
    return _here(vm)


def compiling(vm) -> bool:
    return vm.cell(L.STATE) != 0


def require_compiling(vm) -> None:
    if not compiling(vm):
        raise Throw(-14)


def compile_word(vm, name: str) -> None:
    comma(vm, vm.builtin_xt[name])


def push_control(vm, tag: str, value: int) -> None:
    vm.control.append((tag, value))


def pop_control(vm, tag: str) -> int:
    if not vm.control or vm.control[-1][0] != tag:
        raise Throw(-22)
    return vm.control.pop()[1]


def mark_forward(vm, runtime: str, tag: str) -> None:
    """Compile runtime with a target cell to fill in later; remember where it is."""
    require_compiling(vm)
    compile_word(vm, runtime)
    push_control(vm, tag, here(vm))
    comma(vm, 0)


def resolve_forward(vm, operand: int) -> None:
    vm.set_cell(operand, here(vm))


def compile_branch(vm, runtime: str, target: int) -> None:
    require_compiling(vm)
    compile_word(vm, runtime)
    comma(vm, target)


# ---------------------------------------------------------------- interpret-level structures
def open_structure(vm) -> None:
    """Called by IF, BEGIN, DO... : at interpret level, start compiling into the comp-buffer."""
    if compiling(vm):
        return
    top = vm.cell(L.COMP_TOP)
    top = (top + 7) & ~7
    if top + 0x1000 > L.COMP_BUFFER_END:
        raise Throw(-8, "interpret-level control structures nest too deeply")
    vm.temp_compiles.append((vm.cell(L.DP), vm.cell(L.COMP_TOP), len(vm.control)))
    vm.set_cell(L.THERE, vm.cell(L.DP))          # paflof's THERE: HERE outside the buffer
    vm.set_cell(L.DP, top)
    vm.set_cell(L.STATE, -1)
    push_control(vm, "temp", len(vm.temp_compiles))


def close_structure(vm) -> None:
    """Called by THEN, UNTIL, LOOP... : if that closed the outermost interpret-level
    structure, run what was compiled."""
    if not vm.control or vm.control[-1][0] != "temp":
        return
    vm.control.pop()
    compile_word(vm, "exit")
    saved_dp, saved_top, _ = vm.temp_compiles.pop()
    start = (saved_top + 7) & ~7
    vm.set_cell(L.COMP_TOP, here(vm))
    vm.set_cell(L.DP, saved_dp)
    vm.set_cell(L.STATE, 0)
    try:
        vm.run_threaded(start)
    finally:
        vm.set_cell(L.COMP_TOP, saved_top)


def abandon_temp_compiles(vm, keep: int) -> None:
    """After an error: drop interpret-level structures opened since `keep` were open."""
    while len(vm.temp_compiles) > keep:
        saved_dp, saved_top, _ = vm.temp_compiles.pop()
        vm.set_cell(L.DP, saved_dp)
        vm.set_cell(L.COMP_TOP, saved_top)
        vm.set_cell(L.STATE, 0)
    vm.control[:] = [c for c in vm.control if c[0] != "temp" or c[1] <= keep]
