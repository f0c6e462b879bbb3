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
import os
import sys
import tempfile
import types
from pathlib import Path

DISABLE_ENV = "SLOFPY_NO_DICT_CACHE"
FORMAT = b"slofpy-code-1\n"
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


def read_trusted(path: Path) -> bytes:
    """A cache file's bytes, only when this user owns both the file and its folder and
    nobody else can write either (the same trust model as Python's .pyc files, tightened).
    Raises OSError (UntrustedCacheError) otherwise."""
    folder = path.parent.stat()
    if folder.st_uid != os.getuid() or folder.st_mode & 0o022:
        raise UntrustedCacheError(f"{path.parent}: not a private folder of this user")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise UntrustedCacheError(f"{path}: owned or writable by another user")
        return f.read()


def write_atomically(path: Path, data: bytes, prefix: str) -> None:
    """Write data to path through a temporary file in the same folder, so a reader never sees
    half a file. Raises OSError when the folder cannot be made or written."""
    ensure_cache_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
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
    """The code objects of one kind: loaded on first use, saved at exit when it grew."""

    def __init__(self, kind: str, holds: type = types.CodeType):
        self.kind = kind
        self.holds = holds          # the type of the values kept
        self.table: dict[bytes, object] | None = None
        self.used: set[bytes] = set()
        self.grew = False
        self.path: Path | None = None

    def load(self) -> dict:
        if self.table is None:
            self.table = {}
            try:
                self.path = cache_dir() / (
                    f"code-{self.kind}-{engine_digest().hex()[:24]}"
                    f"-py{sys.version_info[0]}{sys.version_info[1]}.bin")
                data = read_trusted(self.path)
                n = len(FORMAT)
                payload = data[n + 32:]
                if data[:n] == FORMAT and hashlib.sha256(payload).digest() == data[n:n + 32]:
                    table = marshal.loads(payload)
                    if isinstance(table, dict) and all(
                            isinstance(k, bytes) and isinstance(v, self.holds)
                            for k, v in table.items()):
                        self.table = table
            except Exception:      # no file, a damaged one, an unusable folder: compile
                pass
        return self.table

    def save(self) -> None:
        if not self.grew or self.path is None:
            return
        # the code used in this run first, then what the file held, in its order, up to
        # MAX_ENTRIES: code nobody has used for a while drops off the end
        table = {k: self.table[k] for k in self.used if k in self.table}
        for k, v in self.table.items():
            if len(table) >= MAX_ENTRIES:
                break
            table.setdefault(k, v)
        try:
            payload = marshal.dumps(table)
            write_atomically(self.path, FORMAT + hashlib.sha256(payload).digest() + payload,
                             ".code-")
        except (OSError, ValueError):
            pass
        self.grew = False


_stores: dict[str, _Store] = {}


def _store(kind: str, holds: type = types.CodeType) -> _Store:
    store = _stores.get(kind)
    if store is None:
        store = _stores[kind] = _Store(kind, holds)
    return store


def _grown(store: _Store) -> None:
    if not store.grew:
        store.grew = True
        if not _registered:
            _register()


def compile_cached(source: str, filename: str, kind: str) -> types.CodeType:
    """compile(source, filename, "exec"), from the cache when this source was compiled
    before (in this process or an earlier one)."""
    if not enabled():
        return compile(source, filename, "exec")
    store = _store(kind)
    table = store.load()
    key = hashlib.sha1(filename.encode() + b"\0" + source.encode()).digest()
    code = table.get(key)
    if code is None:
        code = compile(source, filename, "exec")
        table[key] = code
        _grown(store)
    store.used.add(key)
    return code


def lookup_entry(kind: str, key: bytes) -> tuple | None:
    """The entry (a tuple of marshallable values) kept under key in the file of kind, or
    None (also when the caches are off)."""
    if not enabled():
        return None
    store = _store(kind, tuple)
    entry = store.load().get(key)
    if entry is not None:
        store.used.add(key)
    return entry


def keep_entry(kind: str, key: bytes, entry: tuple) -> None:
    """Keep entry under key in the file of kind (written back at exit)."""
    if not enabled():
        return
    store = _store(kind, tuple)
    store.load()[key] = entry
    store.used.add(key)
    _grown(store)


_registered = False


def _register() -> None:
    global _registered
    _registered = True
    atexit.register(save_all)


def save_all() -> None:
    """Write every kind that grew back to its file (also done at exit)."""
    for store in _stores.values():
        store.save()
