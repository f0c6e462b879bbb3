"""Generated source kept between runs: the emitter's work for a definition is done once.

Writing the Python for a hot definition (emitter/) costs a few milliseconds, and a boot
compiles about a hundred of them: more than the generated code saves in a run that short.
The same definition, read from the same memory, always gives the same source, so this module
keeps what the emitter produced (`Emitted`) with a copy of everything it can have read, and
a later process (or a later VM in this one) takes it from there instead of emitting again
when all of that memory holds the same bytes.
codecache.py already keeps compile()'s results for that source, so such a definition costs no
code generation at all.

What code generation reads (`read_spans`) is the threaded code of the definition
and, transitively, of every colon definition and DOES> code it calls (inlined, analysed for
throws and return-stack use), plus the header cells of every word it names: its kind, and
the cells the emitter builds in (a CONSTANT's value, a CREATE's DOES> address and a FIELD's
offset). VALUEs, VARIABLEs and deferred words are read by the generated code when it runs,
so only their kind counts. On top of that, what stays the same for a VM's life and shapes the
code: its memory size, where its system VALUEs and the FIELD runtime are. The engine's own
sources are in the cache file's name (codecache.engine_digest), so a changed engine never
meets old entries.

A definition whose call graph cannot all be decoded (a callee with code that is not
threaded, say) is not kept, and is emitted every time, as before.
"""
from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass

from ... import codecache
from .. import layout as L
from ..cells import U
from .decoder import NotCompilable, decode

# the most bodies one key may cover; definitions that reach further are not kept
MAX_BODIES = 3000

KIND = "emit"


@dataclass(frozen=True)
class Emitted:
    """What the emitter produced for one definition, without anything bound to a VM: the
    function's source, its parameters, the primitives it binds by name (name -> kind), the
    definitions it calls through slots, the threaded bodies it depends on, the end of its
    body and its line marks (codegen.line_marks)."""
    source: str
    params: tuple[str, ...]
    primitives: tuple[tuple[str, int], ...]
    calls: tuple[int, ...]
    deps: tuple[tuple[int, int], ...]
    end: int
    marks: tuple[int, ...]

    def to_plain(self) -> tuple:
        return (self.source, self.params, self.primitives, self.calls, self.deps, self.end,
                self.marks)

    @classmethod
    def from_plain(cls, plain) -> "Emitted | None":
        """The entry back from its marshalled form (as to_plain made it: the cache file's
        entries are checksummed, so only the shape is checked); None when it is not one."""
        if not (isinstance(plain, tuple) and len(plain) == 7 and isinstance(plain[0], str)
                and all(isinstance(part, tuple) for part in plain[1:5] + plain[6:])):
            return None
        return cls(*plain)


def _vm_fingerprint(vm) -> bytes:
    """What shapes generated code besides the threaded code: the memory's size, where the
    FIELD runtime and the system VALUEs are."""
    return repr((vm.size, vm.field_does, sorted(vm.sysvalue_xt.items()), L.PRIM_BASE,
                 len(vm.prims))).encode()


def _header(vm, ref: int, spans: list, bodies: list[int]) -> None:
    """Add the cells the emitter reads of the word at ref to spans; its code to bodies."""
    mem = vm.mem
    if ref < 0 or ref > vm.size - 8:
        return                  # not a word: the code names it, which its bytes say
    kind = U(mem, ref)[0]
    if ref > vm.size - 24:
        spans.append((ref, ref + 8))
    elif kind == L.K_COLON:
        spans.append((ref, ref + 8))
        bodies.append(ref + 8)
    elif kind in (L.K_CONSTANT, L.K_BUFFER, L.K_ALIAS):
        spans.append((ref, ref + 16))
    elif kind == L.K_CREATE:
        does = U(mem, ref + 8)[0]
        spans.append((ref, ref + 24))
        if does:
            bodies.append(does)
    else:
        spans.append((ref, ref + 8))


def _named_words(vm, body: int, code: list) -> tuple[int, ...]:
    """The words the instructions of the body at body name (each once, in order): the words
    they compile, and the words (TO) stores into."""
    known = vm.codegen.named_words.get(body)
    if known is not None and known[0] is code:
        return known[1]
    refs = tuple(dict.fromkeys(
        ref for instruction in code
        for ref in ((instruction.xt, instruction.arg) if instruction.name == "(to)"
                    else (instruction.xt,))))
    vm.codegen.named_words[body] = (code, refs)
    return refs


def read_spans(vm, xt: int) -> list[tuple[int, int]] | None:
    """What generating code for the definition at xt reads (see the module's docstring), as
    (start, end) spans of memory; None when some of it cannot be decoded."""
    spans: list[tuple[int, int]] = []
    bodies = [xt + 8]
    seen_bodies: set[int] = set()
    seen_refs: set[int] = set()
    while bodies:
        body = bodies.pop()
        if body in seen_bodies:
            continue
        seen_bodies.add(body)
        if len(seen_bodies) > MAX_BODIES:
            return None
        try:
            code = decode(vm, body)
        except NotCompilable:
            return None
        spans.append((body, code[-1].addr + 8))
        for ref in _named_words(vm, body, code):
            if ref not in seen_refs:
                seen_refs.add(ref)
                _header(vm, ref, spans, bodies)
    return spans


def _key(vm, xt: int) -> bytes | None:
    """Where the entry for the definition at xt is kept: its address, its threaded code and
    the VM's fingerprint (what it read besides is checked against the entry itself)."""
    try:
        code = decode(vm, xt + 8)
    except NotCompilable:
        return None
    digest = hashlib.blake2b(_vm_fingerprint(vm), digest_size=20)
    digest.update(xt.to_bytes(8, "big"))
    digest.update(vm.mem[xt + 8:code[-1].addr + 8])
    return digest.digest()


def lookup(vm, xt: int) -> Emitted | None:
    """What was emitted for the definition at xt, in this process or an earlier one, when
    every cell it was made from holds what it held then."""
    key = _key(vm, xt)
    entry = None if key is None else codecache.lookup_entry(KIND, key)
    if entry is None:
        return None
    try:
        positions, data, plain = entry
        bounds = array("q")
        bounds.frombytes(positions)
        mem = vm.mem
        if b"".join([mem[bounds[i]:bounds[i + 1]] for i in range(0, len(bounds), 2)]) != data:
            return None
    except (TypeError, ValueError):
        return None
    return Emitted.from_plain(plain)


def keep(vm, xt: int, emitted: Emitted) -> None:
    """Keep what was emitted for the definition at xt, with the cells it was made from
    (written to the cache folder at exit). Not kept when they cannot all be found."""
    key = _key(vm, xt)
    spans = read_spans(vm, xt)
    if key is None or spans is None:
        return
    mem = vm.mem
    bounds = array("q", [bound for span in spans for bound in span])
    data = b"".join([mem[lo:hi] for lo, hi in spans])
    codecache.keep_entry(KIND, key, (bounds.tobytes(), data, emitted.to_plain()))
