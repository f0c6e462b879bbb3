"""The prepared-dictionary cache: start a Machine from a saved dictionary instead of building
it again from the sources.

Building a VM's dictionary means laying down the built-in words, evaluating kernel.fs and,
for a Firmware, forth/of.fs with everything it includes. The result is the same every time
the same sources build it, so the first Machine saves it and later ones (in any process)
load it: VM memory (the pages that are not zero) and the few Python-side tables that go
with it (word names, markers, vocabularies, the built-in words' xts, the code the defining
words point at). What is derived from memory is not saved and is rebuilt as it is needed:
lookup caches and generated code (vm/codegen/).

An entry is keyed by a SHA-256 over everything that went into it: this module's format
version and the Python version (marshal), the VM's memory and heap sizes, the engine (every
.py file under slofpy/vm, kernel.fs and the cache modules: codecache.engine_digest), and for each preloaded file its
text after the pre-pass (so every file it #includes counts, found through the same search
path). A change to any of them gives another key, so the entry is rebuilt and saved again.

Entries live in $XDG_CACHE_HOME/slofpy (~/.cache/slofpy without it), one file each,
written atomically; the newest few per preloaded file are kept. A file starts with a magic
string and the SHA-256 of the rest: a file that does not check out, or does not load, is
ignored (and replaced). A cache folder that cannot be written is no error: the Machine is
built from the sources. Setting $SLOFPY_NO_DICT_CACHE (to anything but "" or "0") turns the
cache off, as does Machine(dictionary_cache=False).
"""
from __future__ import annotations

import hashlib
import marshal
import sys
from pathlib import Path
from typing import Callable, Iterable

from .codecache import DISABLE_ENV, cache_dir, enabled, engine_digest, read_trusted, write_atomically
from .vm import VM
from .vm.source import SourceError, preprocess_file

FORMAT = b"slofpy-dict-1\n"
KEEP_PER_KIND = 8

#: VM attributes saved with memory; every other attribute is either set up by VM() itself,
#: derived from memory (rebuilt on demand), or belongs to a run (stacks, sources, output).
SAVED = ("builtin_xt", "sysvalue_xt", "headers", "markers", "vocabularies", "defines",
         "code_lines",
         "field_does", "marker_does", "struct_does", "vocabulary_does", "emit_defer")

PAGE = 0x1000
CHUNK = 0x10000

__all__ = ["Entry", "prepared_vm", "enabled", "cache_dir", "DISABLE_ENV", "SAVED"]


class Entry:
    """One cache entry: the dictionary after the kernel and the given preloaded files."""

    def __init__(self, memory_size: int, heap_size: int, search_path: list[Path],
                 preload: list[Path]):
        self.memory_size = memory_size
        self.heap_size = heap_size
        h = hashlib.sha256(FORMAT)
        h.update(sys.version.encode() + b"\0")
        h.update(b"%d %d\0" % (memory_size, heap_size))
        h.update(engine_digest())
        for p in preload:
            text = preprocess_file(p, search_path, {}).text
            h.update(len(text).to_bytes(8, "big") + text)
        self.key = h.hexdigest()
        self.kind = Path(preload[-1]).stem if preload else "kernel"
        self.path = cache_dir() / f"dict-{self.kind}-{self.key[:40]}.bin"

    # ---------------------------------------------------------------- loading
    def load(self, output: Callable[[str], None] | None) -> VM | None:
        """A VM with the saved dictionary, or None when there is no usable entry."""
        try:
            data = read_trusted(self.path)
        except OSError:
            return None
        try:
            state = _decode(data)
            vm = VM(memory_size=self.memory_size, heap_size=self.heap_size, output=output,
                    bootstrap=False)
            mem = vm.mem
            for addr, page in state["pages"]:
                if addr < 0 or addr + len(page) > len(mem):
                    raise ValueError("page outside memory")
                mem[addr:addr + len(page)] = page
            attrs = state["attrs"]
            for name in SAVED:
                setattr(vm, name, attrs[name])
        except Exception:     # a damaged or foreign file: build from the sources instead
            return None
        return vm

    # ---------------------------------------------------------------- saving
    def save(self, vm: VM) -> bool:
        """Save vm's dictionary (right after it was built). Returns whether it was saved:
        not when the VM holds run state a saved dictionary would lose, or on an OS error."""
        if vm.s or vm.rs or vm.sources or vm.control or vm.temp_compiles or vm.out_parts \
                or vm.defining is not None:
            return False
        state = {"pages": _pages(vm.mem),
                 "attrs": {name: getattr(vm, name) for name in SAVED}}
        try:
            payload = marshal.dumps(state)
        except ValueError:
            return False
        blob = FORMAT + hashlib.sha256(payload).digest() + payload
        try:
            write_atomically(self.path, blob, ".dict-")
            self._prune()
        except OSError:
            return False
        return True

    def _prune(self) -> None:
        """Keep the newest KEEP_PER_KIND entries of this kind."""
        mine = []
        for f in self.path.parent.glob(f"dict-{self.kind}-*.bin"):
            try:
                mine.append((f.stat().st_mtime, f))
            except OSError:
                pass
        mine.sort(reverse=True)
        for _, f in mine[KEEP_PER_KIND:]:
            if f != self.path:
                try:
                    f.unlink()
                except OSError:
                    pass


def _decode(data: bytes) -> dict:
    n = len(FORMAT)
    if data[:n] != FORMAT or len(data) < n + 32:
        raise ValueError("not a slofpy dictionary file")
    payload = data[n + 32:]
    if hashlib.sha256(payload).digest() != data[n:n + 32]:
        raise ValueError("checksum mismatch")
    state = marshal.loads(payload)
    if not isinstance(state, dict) or not isinstance(state.get("pages"), list) \
            or not isinstance(state.get("attrs"), dict):
        raise ValueError("unexpected contents")
    return state


def _pages(mem: bytearray) -> list[tuple[int, bytes]]:
    """The runs of non-zero pages of mem, as (address, bytes)."""
    runs: list[tuple[int, bytes]] = []
    zero_chunk = bytes(CHUNK)
    zero_page = bytes(PAGE)
    start = None
    size = len(mem)
    for chunk in range(0, size, CHUNK):
        if mem[chunk:chunk + CHUNK] == zero_chunk[:min(CHUNK, size - chunk)]:
            if start is not None:
                runs.append((start, bytes(mem[start:chunk])))
                start = None
            continue
        for page in range(chunk, min(chunk + CHUNK, size), PAGE):
            if mem[page:page + PAGE] == zero_page[:min(PAGE, size - page)]:
                if start is not None:
                    runs.append((start, bytes(mem[start:page])))
                    start = None
            elif start is None:
                start = page
    if start is not None:
        runs.append((start, bytes(mem[start:size])))
    return runs


def prepared_vm(memory_size: int, heap_size: int, output: Callable[[str], None] | None,
                search_path: Iterable[Path], preload: Iterable[Path],
                load_file: Callable[[VM, Path], None], use_cache: bool | None = None) -> VM:
    """A VM with the kernel and the preload files loaded (by load_file(vm, path), in
    order), from the cache when it holds them, else built and then saved to the cache."""
    search_path = [Path(p) for p in search_path]
    preload = [Path(p) for p in preload]
    entry = None
    if enabled(use_cache):
        try:
            entry = Entry(memory_size, heap_size, search_path, preload)
        except (SourceError, OSError):
            entry = None         # a missing or broken source: loading it says what is wrong
    if entry is not None:
        vm = entry.load(output)
        if vm is not None:
            vm.search_path = search_path
            return vm
    if preload and entry is not None:
        vm = prepared_vm(memory_size, heap_size, output, search_path, (), load_file, True)
    else:
        vm = VM(memory_size=memory_size, heap_size=heap_size, output=output)
        vm.search_path = search_path
    for p in preload:
        load_file(vm, p)
    if entry is not None:
        entry.save(vm)
    return vm
