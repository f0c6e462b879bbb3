"""Generated source kept between runs: the emitter's work for a definition is done once.

Writing the Python for a hot definition (emitter.py) costs a few milliseconds, and a boot
compiles about a hundred of them: more than the generated code saves in a run that short.
The same definition, read from the same memory, always gives the same source, so this module
keeps what the emitter produced (`Emitted`) under a digest of everything it can have read,
and a later process (or a later VM in this one) takes it from there instead of emitting again.
codecache.py already keeps compile()'s results for that source, so such a definition costs no
code generation at all.

What code generation reads (the key, `reads_digest`) is the threaded code of the definition
and, transitively, of every colon definition and DOES> code it calls (inlined, analysed for
throws and return-stack use), plus the header cells of every word it names: its kind, and
the cells the emitter builds in (a CONSTANT's value, a CREATE's DOES> address and a FIELD's
offset). VALUEs, VARIABLEs and deferred words are read by the generated code when it runs,
so only their kind counts. On top of that, what stays the same for a VM's life and shapes the
code: its memory size, where its system VALUEs and the FIELD runtime are. The engine's own
sources are in the cache file's name (codecache.engine_digest), so a changed engine never
meets old entries.

A definition whose call graph cannot all be decoded (a callee with code that is not
threaded, say) gets no key and is emitted every time, as before.
"""
from __future__ import annotations

import hashlib
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
        """The entry back from its marshalled form; None when it is not one."""
        try:
            source, params, primitives, calls, deps, end, marks = plain
            return cls(str(source), tuple(map(str, params)),
                       tuple((str(name), int(kind)) for name, kind in primitives),
                       tuple(map(int, calls)), tuple((int(lo), int(hi)) for lo, hi in deps),
                       int(end), tuple(map(int, marks)))
        except (TypeError, ValueError):
            return None


def _vm_fingerprint(vm) -> bytes:
    """What shapes generated code besides the threaded code: the memory's size, where the
    FIELD runtime and the system VALUEs are."""
    return repr((vm.size, vm.field_does, sorted(vm.sysvalue_xt.items()), L.PRIM_BASE,
                 len(vm.prims))).encode()


def _header(vm, ref: int, digest, bodies: list[int]) -> None:
    """Put what the emitter reads of the word at ref into digest; its code into bodies."""
    mem = vm.mem
    if ref < 0 or ref > vm.size - 24:
        digest.update(b"?" + ref.to_bytes(8, "big", signed=True))
        return
    kind = U(mem, ref)[0]
    digest.update(ref.to_bytes(8, "big") + mem[ref:ref + 8])
    if kind == L.K_COLON:
        bodies.append(ref + 8)
    elif kind in (L.K_CONSTANT, L.K_BUFFER, L.K_ALIAS):
        digest.update(mem[ref + 8:ref + 16])
    elif kind == L.K_CREATE:
        does = U(mem, ref + 8)[0]
        digest.update(mem[ref + 8:ref + 24])
        if does:
            bodies.append(does)


def reads_digest(vm, xt: int) -> bytes | None:
    """The key of the definition at xt: a digest of what generating its code reads (see the
    module's docstring); None when some of it cannot be decoded."""
    mem = vm.mem
    digest = hashlib.blake2b(_vm_fingerprint(vm), digest_size=20)
    digest.update(xt.to_bytes(8, "big"))
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
        end = code[-1].addr + 8
        digest.update(body.to_bytes(8, "big") + (end - body).to_bytes(8, "big"))
        digest.update(mem[body:end])
        for instruction in code:
            refs = (instruction.xt, instruction.arg) if instruction.name == "(to)" \
                else (instruction.xt,)
            for ref in refs:
                if ref not in seen_refs:
                    seen_refs.add(ref)
                    _header(vm, ref, digest, bodies)
    return digest.digest()


def lookup(key: bytes) -> Emitted | None:
    """What was emitted under key, in this process or an earlier one."""
    plain = codecache.lookup_entry(KIND, key)
    return None if plain is None else Emitted.from_plain(plain)


def keep(key: bytes, emitted: Emitted) -> None:
    """Keep what was emitted under key (written to the cache folder at exit)."""
    codecache.keep_entry(KIND, key, emitted.to_plain())
