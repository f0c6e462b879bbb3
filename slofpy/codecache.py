"""slofpy's cache folder, and compiled Python code kept there between runs.

The engine turns Python source it generates into code objects with compile(): the
primitives written as snippets once per process, and hot colon definitions (vm/codegen/) as they
warm up. The same source always compiles to the same code, so `compile_cached` keeps the
results, by kind ("prims", "jit"), in one file per kind and engine version in the cache
folder, the way Python keeps .pyc files: a later process loads them instead of compiling
again. The generated source is still what vm/codegen records (vm.jit_sources) and threaded code
stays the definition; only compile()'s work is saved. The same files keep entries of other
kinds (`lookup_entry`, `keep_entry`): tuples of plain values, such as what the code
generator wrote for a definition (vm/codegen/source_cache.py, kind "emit").

A kind's file is read the first time that kind is asked for, and written back when the
process exits if anything new was compiled (atomically; the code used in this run is kept,
then older entries, up to MAX_ENTRIES). Files start with a magic string and the SHA-256 of
the rest; a file that does not check out is ignored. The folder is $XDG_CACHE_HOME/slofpy
(~/.cache/slofpy without it), made 0700; files (or a folder) that another user owns or can
write are never loaded (they hold code); $SLOFPY_NO_DICT_CACHE (anything but "" or "0") turns every
slofpy cache off.
"""
from __future__ import annotations

import atexit
import hashlib
import marshal
import mmap
import os
import sys
import types
from pathlib import Path

DISABLE_ENV = "SLOFPY_NO_DICT_CACHE"
FORMAT = b"slofpy-code-2\n"
MAX_ENTRIES = 1500

PACKAGE = Path(__file__).resolve().parent

_engine_digest: bytes | None = None


class UntrustedCacheError(OSError):
    """A cache file or folder another user owns (or others may write): not used."""


def ensure_cache_dir(folder: Path) -> None:
    """Make the cache folder, private (0700): what is in it is run as code, so nobody else
    may write there. An existing folder of ours is made private; one owned by another user
    raises UntrustedCacheError."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise UntrustedCacheError(f"{folder}: owned by another user")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)


def read_trusted(path: Path, mapped: bool = False) -> bytes | mmap.mmap:
    """A cache file's bytes, only when this user owns both the file and its folder and
    nobody else can write either (the same trust model as Python's .pyc files, tightened).
    Raises OSError (UntrustedCacheError) otherwise.

    With mapped, the file is mapped read-only instead of read: a start-up then touches only
    the pages it uses of a file of several MB. (A cache file is only ever replaced whole, by
    rename, so the mapped one does not change under the reader.)"""
    folder = path.parent.stat()
    if folder.st_uid != os.getuid() or folder.st_mode & 0o022:
        raise UntrustedCacheError(f"{path.parent}: not a private folder of this user")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise UntrustedCacheError(f"{path}: owned or writable by another user")
        if mapped and st.st_size:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return f.read()


def write_atomically(path: Path, data: bytes, prefix: str) -> None:
    """Write data to path through a temporary file in the same folder, so a reader never sees
    half a file. Raises OSError when the folder cannot be made or written."""
    ensure_cache_dir(path.parent)
    from .outfile import make_temporary
    fd, tmp = make_temporary(path.parent, prefix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def enabled(choice: bool | None = None) -> bool:
    """Whether the caches are used: choice when given, else not when $SLOFPY_NO_DICT_CACHE
    is set (to anything but "" or "0")."""
    if choice is not None:
        return choice
    return os.environ.get(DISABLE_ENV, "") in ("", "0")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "slofpy"


def engine_digest() -> bytes:
    """SHA-256 over the engine's sources (every .py under slofpy/vm), kernel.fs and the two
    cache modules (once per process)."""
    global _engine_digest
    if _engine_digest is None:
        h = hashlib.sha256()
        files = sorted((PACKAGE / "vm").rglob("*.py")) + [
            PACKAGE / "kernel" / "kernel.fs", PACKAGE / "dictcache.py", PACKAGE / "codecache.py"]
        for f in files:
            data = f.read_bytes()
            h.update(str(f.relative_to(PACKAGE)).encode() + b"\0")
            h.update(len(data).to_bytes(8, "big") + data)
        _engine_digest = h.digest()
    return _engine_digest


class _Store:
    """The entries of one kind: the file's index read on first use, an entry unmarshalled
    only when it is asked for, the file written back at exit when something was added.

    The file is FORMAT, the length of the index (8 bytes), the index (marshalled: key ->
    (offset from the first entry, length, BLAKE2b-128 of the entry)), SHA-256 of the index,
    then the entries, each marshalled on its own. So a start-up unmarshals the index and the
    few entries it uses, however many the file holds; an entry that does not check out is
    left alone."""

    def __init__(self, kind: str, holds: type = types.CodeType):
        self.kind = kind
        self.holds = holds          # the type of the values kept
        self.index: dict[bytes, tuple[int, int, bytes]] | None = None
        self.data = memoryview(b"")     # the file's entries, as read at load
        self.values: dict[bytes, object] = {}      # entries unmarshalled or added this run
        self.used: set[bytes] = set()
        self.grew = False
        self.path: Path | None = None

    def _file_path(self) -> Path:
        return cache_dir() / (f"code-{self.kind}-{engine_digest().hex()[:24]}"
                              f"-py{sys.version_info[0]}{sys.version_info[1]}.bin")

    def load(self) -> "_Store":
        if self.index is None:
            self.index = {}
            try:
                self.path = self._file_path()
                data = read_trusted(self.path, mapped=True)
                n = len(FORMAT)
                size = int.from_bytes(data[n:n + 8], "big")
                index_bytes = data[n + 8:n + 8 + size]
                if data[:n] == FORMAT and \
                        hashlib.sha256(index_bytes).digest() == data[n + 8 + size:n + 40 + size]:
                    index = marshal.loads(index_bytes)
                    if isinstance(index, dict):
                        # offsets count from the first entry, right after the index's digest
                        self.index, self.data = index, memoryview(data)[n + 40 + size:]
            except Exception:      # no file, a damaged one, an unusable folder: start empty
                pass
        return self

    def _raw(self, key: bytes) -> bytes | None:
        """The marshalled entry under key as the file holds it, if it checks out."""
        try:
            offset, length, digest = self.index[key]
            raw = self.data[offset:offset + length]
            if len(raw) == length and hashlib.blake2b(raw, digest_size=16).digest() == digest:
                return raw
        except (KeyError, TypeError, ValueError):
            pass
        return None

    def get(self, key: bytes):
        """The entry under key, or None."""
        value = self.values.get(key)
        if value is None and key in self.index:
            raw = self._raw(key)
            try:
                value = marshal.loads(raw) if raw is not None else None
            except (EOFError, ValueError, TypeError):
                value = None
            if not isinstance(value, self.holds):
                return None
            self.values[key] = value
        if value is not None:
            self.used.add(key)
        return value

    def put(self, key: bytes, value) -> None:
        self.values[key] = value
        self.used.add(key)
        if not self.grew:
            self.grew = True
            _register()

    def save(self) -> None:
        if not self.grew or self.path is None:
            return
        # the entries used in this run first, then what the file held, in its order, up to
        # MAX_ENTRIES: entries nobody has used for a while drop off the end
        keys = [k for k in self.used if k in self.values or k in self.index]
        keys += [k for k in self.index if k not in self.used]
        entries: list[tuple[bytes, bytes]] = []
        for key in keys:
            if len(entries) >= MAX_ENTRIES:
                break
            raw = marshal.dumps(self.values[key]) if key in self.values else self._raw(key)
            if raw is not None:
                entries.append((key, raw))
        try:
            index, offset = {}, 0
            for key, raw in entries:
                index[key] = (offset, len(raw), hashlib.blake2b(raw, digest_size=16).digest())
                offset += len(raw)
            index_bytes = marshal.dumps(index)
            write_atomically(self.path, FORMAT + len(index_bytes).to_bytes(8, "big") + index_bytes
                             + hashlib.sha256(index_bytes).digest()
                             + b"".join(raw for _, raw in entries), ".code-")
        except (OSError, ValueError):
            pass
        self.grew = False


_stores: dict[str, _Store] = {}


def _store(kind: str, holds: type = types.CodeType) -> _Store:
    store = _stores.get(kind)
    if store is None:
        store = _stores[kind] = _Store(kind, holds)
    return store


def compile_cached(source: str, filename: str, kind: str) -> types.CodeType:
    """compile(source, filename, "exec"), from the cache when this source was compiled
    before (in this process or an earlier one)."""
    if not enabled():
        return compile(source, filename, "exec")
    store = _store(kind).load()
    key = hashlib.sha1(filename.encode() + b"\0" + source.encode()).digest()
    code = store.get(key)
    if code is None:
        code = compile(source, filename, "exec")
        store.put(key, code)
    return code


def lookup_entry(kind: str, key: bytes) -> tuple | None:
    """The entry (a tuple of marshallable values) kept under key in the file of kind, or
    None (also when the caches are off)."""
    if not enabled():
        return None
    return _store(kind, tuple).load().get(key)


def keep_entry(kind: str, key: bytes, entry: tuple) -> None:
    """Keep entry under key in the file of kind (written back at exit)."""
    if not enabled():
        return
    _store(kind, tuple).load().put(key, entry)


_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        _registered = True
        atexit.register(save_all)


def save_all() -> None:
    """Write every kind that grew back to its file (also done at exit)."""
    for store in _stores.values():
        store.save()
