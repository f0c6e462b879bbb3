"""Words on memory lowered onto the cached stack top: fetches and stores (with their -9
checks and the check that drops generated code a store changes), MOVE, strings in the
definition's own body, TO, HERE, `,` ALLOT ALIGN, CURRENT and VOC-FIND. Cells read by
literal address are remembered in straight-line code (read_cell, stored).
"""
from __future__ import annotations

from ... import layout as L
from ...cells import U
from ...words.table import BUILTINS
from ..decoder import Instruction
from ..primitives import COMMA, FETCH, STORE, snippet_parts
from .base import EmitterBase, is_int


class MemoryLowerings(EmitterBase):
    """Lowerings of the primitives that read or write memory."""

    def access(self, depth: int, addr: str, size: int, spill: str, stmt: str) -> None:
        """stmt, a memory access of size bytes at addr, with its -9 check (spill puts the real
        stack as the throw must leave it); no check when addr is a literal inside memory. The
        access itself tells an address past the end (OUTSIDE), so only the sign is tested."""
        if is_int(addr) and 0 <= int(addr) <= self.vm.size - size:
            self.emit(depth, stmt)
            return
        made = self.stack.unwrapped.get(addr)
        if made is None:
            sign = f"if {addr} < 0: raise IndexError"
        else:       # inside memory means inside 64 bits: wrap only when the address is outside
            sign = (f"if {addr} < 0:\n    {addr} = (({addr} + SB) & M) - SB\n"
                    f"    if {addr} < 0: raise IndexError")
            if made == depth:
                del self.stack.unwrapped[addr]
        self.emit(depth, "try:")
        self.emit(depth + 1, f"{sign}\n{stmt}")
        self.emit(depth, f"except OUTSIDE:\n    {spill}\n    raise Throw(-9)")

    # Cells read or written by literal address (VALUEs, variables, HERE) are remembered
    # in straight-line code: a second read uses the name the first one (or the store)
    # left. Anything else that may write memory (a call, a word run on the real stack, a
    # store to an address not known here) and every edge of a control structure forget it.
    def read_cell(self, depth: int, addr: int) -> None:
        name = self.stack.known.get(addr)
        if name is None:
            self.result(depth, f"U(mem, {addr})[0]", False)
            self.stack.known[addr] = self.stack.items[-1]
        else:
            self.stack.items.append(name)

    def stored(self, addr: str, size: int, value: str | None) -> None:
        """Note a store of size bytes at addr (value: the 8-byte value stored, if known)."""
        known = self.stack.known
        if not is_int(addr):
            known.clear()
            return
        start = int(addr)
        for k in [k for k in known if k < start + size and start < k + 8]:
            del known[k]
        if value is not None:
            known[start] = value

    def lower_fetch(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        self.ensure(1, depth)
        size, expr = FETCH[name]
        addr = items[-1]
        if size == 8 and is_int(addr) and 0 <= int(addr) <= self.vm.size - 8:
            items.pop()
            self.read_cell(depth, int(addr))
            return True
        spill_code = self.spill(items)
        items.pop()
        name = self.tmp()
        self.access(depth, addr, size, spill_code, f"{name} = {expr.format(a=addr)}")
        items.append(name)
        return True

    def lower_store(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        self.ensure(2, depth)
        size, stmt = STORE[name]
        addr = self.take_raw(depth)
        value = self.take(depth)
        check = (f"({addr}) >> 3 in JC or ({addr} + {size - 1}) >> 3 in JC" if size > 1
                 else f"({addr}) >> 3 in JC")
        self.access(depth, addr, size, self.spill(items), stmt.format(a=addr, v=value))
        self.emit(depth, f"if CP[({addr}) >> 12] and ({check}): vm.code_store({addr}, {size})")
        self.stored(addr, size, value if size == 8 else None)
        return True

    def lower_plus_store(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(2, depth)
        addr = self.take_raw(depth)
        value = self.take_raw(depth)
        self.access(depth, addr, 8, self.spill(items),
                    f"P(mem, {addr}, ((U(mem, {addr})[0] + {value} + SB) & M) - SB)")
        self.stored(addr, 8, None)
        self.emit(depth, f"if CP[({addr}) >> 12] and (({addr}) >> 3 in JC or ({addr} + 7) >> 3 in JC): "
                         f"vm.code_store({addr}, 8)")
        return True

    def lower_move(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        count, dest, source = self.take(depth), self.take(depth), self.take(depth)
        spill_code = self.spill(items)
        self.stack.known.clear()
        self.emit(depth, f"if {count}:\n"
                         f"    if {count} < 0 or {source} < 0 or {source} + {count} > MS or {dest} < 0 or {dest} + {count} > MS:\n"
                         f"        {spill_code}\n        raise Throw(-9)\n"
                         f"    mem[{dest}:{dest} + {count}] = mem[{source}:{source} + {count}]\n"
                         f"    if {count} > 4096 or CP[{dest} >> 12] or CP[({dest} + {count} - 1) >> 12]: "
                         f"vm.code_store({dest}, {count})")
        return True

    def lower_abort_quote(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(3, depth)
        length, addr, flag = self.take(depth), self.take(depth), self.take(depth)
        throw = (f"{self.spill(items)}\n"
                 f"P(mem, {L.ABORT_STR}, {addr})\nP(mem, {L.ABORT_LEN}, {length})\n"
                 f"if {length} < 0 or {addr} < 0 or {addr} + {length} > MS: raise Throw(-9)\n"
                 f"raise Throw(-2, bytes(mem[{addr}:{addr} + {length}]).decode('latin-1'))")
        if not is_int(flag):
            self.emit_if(depth, flag, throw)
        elif int(flag):                  # ABORT" on a literal true: always throws
            self.emit(depth, throw)
        return True

    def lower_string_equal(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(4, depth)
        len2, addr2, len1, addr1 = self.take(depth), self.take(depth), self.take(depth), self.take(depth)
        spill_code = self.spill(items)
        if not self.literal_string(addr2, len2) and self.literal_string(addr1, len1):
            addr1, len1, addr2, len2 = addr2, len2, addr1, len1       # str= is symmetric
        text = self.literal_string(addr2, len2)
        if text:                  # against a string in this code: known, and inside memory
            self.emit(depth, f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS):\n    {spill_code}\n"
                             "    raise Throw(-9)")
            self.result(depth, f"-1 if {len1} == {len(text)} and mem[{addr1}:{addr1} + {len(text)}] == "
                               f"{text!r} else 0", False)
            return True
        if len1 == len2:              # one length (as `2dup ... over str=`)
            self.emit(depth, f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS or {addr2} < 0 or "
                             f"{addr2} + {len1} > MS):\n    {spill_code}\n    raise Throw(-9)")
            self.result(depth, f"-1 if {len1} <= 0 or mem[{addr1}:{addr1} + {len1}] == mem[{addr2}:{addr2} + {len1}] "
                               "else 0", False)
            return True
        self.emit(depth, f"if {len2} > 0 and ({addr2} < 0 or {addr2} + {len2} > MS):\n    {spill_code}\n    raise Throw(-9)\n"
                         f"if {len1} > 0 and ({addr1} < 0 or {addr1} + {len1} > MS):\n    {spill_code}\n    raise Throw(-9)")
        self.result(depth, f"(-1 if {len1} <= 0 and {len2} <= 0 else 0) if {len1} <= 0 or {len2} <= 0 "
                           f"else (-1 if {len1} == {len2} and mem[{addr1}:{addr1} + {len1}] == mem[{addr2}:{addr2} + {len2}] "
                           f"else 0)", False)
        return True

    def literal_string(self, addr: str, length: str) -> bytes | None:
        """The bytes of a string this definition holds (an S" in its own body), given
        its address and length as literals; None if addr and length are not that."""
        if not (is_int(addr) and is_int(length)) or int(length) <= 0:
            return None
        string_start, string_end = int(addr), int(addr) + int(length)
        if not any(start <= string_start < string_end <= end for start, end in self.bodies):
            return None
        return bytes(self.vm.mem[string_start:string_end])

    def lower_to(self, instruction: Instruction, depth: int) -> bool:
        # a VALUE's cell after its code field; CURRENT, CONTEXT, IB and SOURCE-ID store into
        # their system cell, as the threaded DOTO does
        cell = self.vm.sysvalue_xt.get(instruction.arg, instruction.arg + 8)
        value = self.take(depth)
        self.emit(depth, f"P(mem, {cell}, {value})" + self.to_check(instruction.arg))
        self.stored(str(cell), 8, value)
        return True

    def to_check(self, xt: int) -> str:
        """What follows TO's store into xt's cell: the check that drops generated code built
        on it. Nothing for a VALUE: no code is built on a VALUE's cell (it is read where used);
        a CONSTANT's value is (it becomes a literal), and TO works on one too."""
        cell = xt + 8
        if U(self.vm.mem, xt)[0] == L.K_VALUE:
            return ""
        return f"\nif CP[{cell >> 12}] and {cell >> 3} in JC: vm.code_store({cell}, 8)"

    def lower_comma(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        items = self.stack.items
        size, store = COMMA[name]
        self.ensure(1, depth)
        value = self.take(depth)
        under = self.spill(items + [value])          # it throws before taking its value
        here, new_here = self.reserve(depth, str(size), under)
        self.emit(depth, f"if {here} > MS - {size}:\n    {under}\n    raise Throw(-9)\n"
                         + store.format(d=here, v=value) + "\n"
                         f"if CP[{here} >> 12] and ({here} >> 3 in JC or ({here} + {size - 1}) >> 3 in JC): "
                         f"vm.code_store({here}, {size})")
        self.stack.known.clear()                    # HERE's cell lies below the dictionary
        self.stack.known[L.DP] = new_here
        return True

    def lower_allot(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        self.ensure(1, depth)
        size = self.take(depth)
        self.reserve(depth, size, self.spill(items))
        return True

    def lower_align(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        here = self.here(depth)
        aligned = self.tmp()
        self.emit(depth, f"{aligned} = ({here} + 7) & -8")
        self.reserve(depth, None, self.spill(items), (here, aligned))
        return True

    def here(self, depth: int) -> str:
        """A name holding HERE (read once, then remembered)."""
        self.read_cell(depth, L.DP)
        return self.stack.items.pop()

    def reserve(self, depth: int, size: str | None, under: str,
                ends: tuple[str, str] | None = None) -> tuple[str, str]:
        """Data space moved on by size bytes, with allot's checks (the stack as under leaves
        it when one throws); ends: HERE and where it goes, already named. Returns those."""
        if ends is None:
            here, new_here = self.here(depth), self.tmp()
            self.emit(depth, f"{new_here} = {here} + {size}")
        else:
            here, new_here = ends
        check = (f"if {new_here} > U(mem, {L.DICT_LIMIT})[0]:\n    {under}\n    raise Throw(-8)\n"
                 f"if {new_here} < {L.DICTIONARY} and not ({L.COMP_BUFFER} <= {new_here} <= {L.COMP_BUFFER_END}):"
                 f"\n    {under}\n    raise Throw(-9)\nP(mem, {L.DP}, {new_here})")
        if ends is not None:            # align: nothing to do when HERE is aligned already
            self.emit_if(depth, f"{new_here} != {here}", check)
        else:
            self.emit(depth, check)
        self.stored(str(L.DP), 8, new_here)
        return here, new_here

    def lower_cell_read(self, instruction: Instruction, depth: int) -> bool:
        name = instruction.name
        self.read_cell(depth, L.DP if name == "here" else L.CURRENT)
        return True

    def lower_set_current(self, instruction: Instruction, depth: int) -> bool:
        value = self.take(depth)
        self.emit(depth, f"P(mem, {L.CURRENT}, {value})")
        self.stored(str(L.CURRENT), 8, value)
        return True

    def lower_voc_find(self, instruction: Instruction, depth: int) -> bool:
        items = self.stack.items
        if not (len(items) >= 3 and self.literal_string(items[-3], items[-2])):
            return self.try_snippet_on_cached_items(instruction, depth)
        # a name this code holds: the key is a constant, and the name is inside memory
        key = self.literal_string(items[-3], items[-2]).lower()
        wid = self.take(depth)
        del items[-2:]
        # the snippet's own lookup of the wordlist's table, without its string check
        body = snippet_parts(BUILTINS[instruction.kind - L.PRIM_BASE].code)[1]
        code = "\n".join([f"wid = {wid}"] + [line for line in body if not line.startswith("if n < 0")])
        if items:
            self.emit_guarded(depth, code, "BaseException", self.spill(items))
        else:
            self.emit(depth, code)
        self.result(depth, f"c[1].get({key!r}, 0)", False)
        return True
