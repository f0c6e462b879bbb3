"""Carrying out one instruction on the cached stack top: `try_lowering` finds the lowering of a
primitive (values.py, memory.py) in `_LOWERINGS`, lowers a variable, constant, VALUE or FIELD
itself, and inlines any other snippet that pops its inputs and pushes its results.
"""
from __future__ import annotations

from ... import layout as L
from ...cells import U
from ...words.table import BUILTINS
from ..decoder import Instruction
from ..primitives import (BINARY, COMMA, DIVISION, FETCH, MAY_STORE, RS_PEEK, RS_POP, RS_PUSH,
                          SHUFFLE, STORE, UNARY, snippet_parts)
from .memory import MemoryLowerings
from .values import ValueLowerings


class Lowering(ValueLowerings, MemoryLowerings):
    """The instructions the emitter can carry out on cached items."""

    def try_lowering(self, instruction: Instruction, depth: int) -> bool:
        """Carry out instruction on the cached stack top if it is one of the words that can be; True
        if done. Each kind of primitive has its lowering (_LOWERINGS); any other snippet
        that pops its inputs and pushes its results is inlined on cached items."""
        if instruction.name is None:
            return self.try_lowering_data_word(instruction, depth)
        lowering = _LOWERINGS.get(instruction.name)
        if lowering is None:
            return self.try_snippet_on_cached_items(instruction, depth)
        return lowering(self, instruction, depth)

    def try_lowering_data_word(self, instruction: Instruction, depth: int) -> bool:
        """A variable, constant, buffer, value, CREATEd word or FIELD on the cached stack top;
        True if done."""
        items = self.stack.items
        kind = instruction.kind
        if kind == L.K_VARIABLE:
            items.append(str(instruction.xt + 8))
        elif kind in (L.K_CONSTANT, L.K_BUFFER):
            # the value as a literal: a store into the constant's cell drops this code
            items.append(str(U(self.vm.mem, instruction.xt + 8)[0]))
            self.deps.append((instruction.xt + 8, instruction.xt + 16))
        elif kind == L.K_VALUE:
            self.read_cell(depth, instruction.xt + 8)
        elif kind == L.K_CREATE:
            does = U(self.vm.mem, instruction.xt + 8)[0]
            if does == 0:
                items.append(str(instruction.xt + 16))
            elif does == self.vm.field_does:
                # a FIELD: its offset as a literal (a store into it drops this code)
                off = U(self.vm.mem, instruction.xt + 16)[0]
                self.deps.append((instruction.xt + 16, instruction.xt + 24))
                self.ensure(1, depth)
                if off:
                    items.append(str(off))
                    self.binary(depth, "+")
            else:
                return False
        else:
            return False
        return True

    def try_snippet_on_cached_items(self, instruction: Instruction, depth: int) -> bool:
        """A primitive whose snippet pops its inputs first and pushes its results last,
        with the inputs taken from the cached items and the results left cached. The
        items under the inputs go onto the real stack first when the snippet can throw, so
        that it finds the stack as the threaded code leaves it."""
        builtin = BUILTINS[instruction.kind - L.PRIM_BASE]
        if not builtin.inline or builtin.code is None:
            return False
        parts = snippet_parts(builtin.code)
        if parts is None:
            return False
        pops, body, pushes, safe = parts
        args = [self.take(depth) for _ in pops]
        lines = [f"{var} = {arg}{tail}" for (var, tail), arg in zip(pops, args)] + body
        if not safe:
            # results that may throw or store (a call of a helper) are made inside it too
            names = [self.tmp() for _ in pushes]
            lines += [f"{t} = {expr}" for t, expr in zip(names, pushes)]
            pushes = names
        code = "\n".join(lines)
        if not safe:
            if MAY_STORE.search(code):
                self.stack.known.clear()           # it may store anywhere
            if self.stack.items:
                # the items under the inputs go onto the real stack only if it throws
                for v in dict.fromkeys(self.stack.items):
                    self.wrapped(v, depth)
                self.emit_guarded(depth, code, "BaseException", self.spill(self.stack.items))
                code = None
        if code is not None:
            self.emit(depth, code)
        if safe:
            for expr in pushes:
                self.result(depth, expr, False)
        else:
            self.stack.items.extend(pushes)
        return True


# primitive name -> the method that lowers it onto cached items
_LOWERINGS: dict = {}
_LOWERINGS.update(dict.fromkeys(("lit",), Lowering.lower_literal))
_LOWERINGS.update(dict.fromkeys(("(sliteral)",), Lowering.lower_string_literal))
_LOWERINGS.update(dict.fromkeys(("true", "false",), Lowering.lower_flag))
_LOWERINGS.update(dict.fromkeys(("i", "j",), Lowering.lower_loop_index))
_LOWERINGS.update(dict.fromkeys(BINARY, Lowering.lower_binary))
_LOWERINGS.update(dict.fromkeys(UNARY, Lowering.lower_unary))
_LOWERINGS.update(dict.fromkeys(("dup",), Lowering.lower_dup))
_LOWERINGS.update(dict.fromkeys(("drop",), Lowering.lower_drop))
_LOWERINGS.update(dict.fromkeys(SHUFFLE, Lowering.lower_shuffle))
_LOWERINGS.update(dict.fromkeys(("/string",), Lowering.lower_slash_string))
_LOWERINGS.update(dict.fromkeys(DIVISION, Lowering.lower_division))
_LOWERINGS.update(dict.fromkeys(("between", "within",), Lowering.lower_range_test))
_LOWERINGS.update(dict.fromkeys(FETCH, Lowering.lower_fetch))
_LOWERINGS.update(dict.fromkeys(STORE, Lowering.lower_store))
_LOWERINGS.update(dict.fromkeys(("+!",), Lowering.lower_plus_store))
_LOWERINGS.update(dict.fromkeys(("move",), Lowering.lower_move))
_LOWERINGS.update(dict.fromkeys(("pick",), Lowering.lower_pick))
_LOWERINGS.update(dict.fromkeys(("(abort\")",), Lowering.lower_abort_quote))
_LOWERINGS.update(dict.fromkeys(("str=",), Lowering.lower_string_equal))
_LOWERINGS.update(dict.fromkeys(("(to)",), Lowering.lower_to))
_LOWERINGS.update(dict.fromkeys(COMMA, Lowering.lower_comma))
_LOWERINGS.update(dict.fromkeys(("allot",), Lowering.lower_allot))
_LOWERINGS.update(dict.fromkeys(("align",), Lowering.lower_align))
_LOWERINGS.update(dict.fromkeys(("here", "get-current",), Lowering.lower_cell_read))
_LOWERINGS.update(dict.fromkeys(("set-current",), Lowering.lower_set_current))
_LOWERINGS.update(dict.fromkeys((*RS_PUSH, *RS_POP, *RS_PEEK,), Lowering.lower_return_stack))
_LOWERINGS.update(dict.fromkeys(("voc-find",), Lowering.lower_voc_find))
