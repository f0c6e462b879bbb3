"""The prepared-dictionary cache (slofpy.dictcache): a Machine or Firmware started from a
saved dictionary is the one the sources build; the cache is used, rebuilt when a source
changes, and a damaged file or an unusable folder only means building from the sources."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from slofpy import Machine
from slofpy import dictcache
from slofpy.firmware import Firmware
from slofpy.vm import VM


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private, empty cache folder, with the cache switched on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(dictcache.DISABLE_ENV, raising=False)
    return tmp_path / "xdg" / "slofpy"


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("dict-*.bin"))


# Attributes a VM has that are not saved: made by VM() itself, derived from memory and rebuilt
# on demand, or belonging to one run. A new VM attribute must be added here or to
# dictcache.SAVED, so that nothing a dictionary needs is left behind by accident.
NOT_SAVED = {
    "heap_size", "mem", "size", "s", "rs", "rbase", "codepages", "out_parts", "output",
    "input_line", "key_buffer", "device_copy", "fdt_start", "ns", "prims",
    "jit_code", "jit_counts", "jit_ranges", "jit_pages", "jit_cells", "jit_deps", "jit_enabled", "jit_sources", "jit_callers", "rs_readers",
    "codegen",
    "builtin_names", "find_cache", "wid_cache", "control", "sources", "temp_compiles",
    "defining", "search_path", "last_error", "jit_line_tags", "code_line_index",
    "hash_used", "bm_allocators", "abort_copied", "started_ns", "dec_set_at",
    "romfs_lookup", "c_functions", "c_code", "boot_addresses", "name_memory_text",
    "simulated_ticks",
}


def same_vm(a: VM, b: VM) -> None:
    assert a.mem[:] == b.mem[:]
    for name in dictcache.SAVED:
        assert getattr(a, name) == getattr(b, name), name
    assert a.search_path == b.search_path


# ---------------------------------------------------------------- the same dictionary
def test_every_vm_attribute_is_saved_or_known_to_be_rebuilt(cache):
    fresh = Firmware(dictionary_cache=False).vm
    assert set(fresh.__dict__) == set(dictcache.SAVED) | NOT_SAVED


def test_machine_from_the_cache_is_the_one_the_sources_build(cache, monkeypatch):
    built = Machine()
    assert entries(cache)
    fresh = Machine(dictionary_cache=False)
    monkeypatch.setattr(VM, "_bootstrap", lambda self: pytest.fail("built again"))
    loaded = Machine()
    same_vm(loaded.vm, fresh.vm)
    same_vm(built.vm, fresh.vm)


def test_firmware_from_the_cache_is_the_one_the_sources_build(cache):
    Firmware()
    fresh = Firmware(dictionary_cache=False)
    loaded = Firmware()
    same_vm(loaded.vm, fresh.vm)
    for fw in (fresh, loaded):
        fw.evaluate('new-device s" /" device-name finish-device  s" see set-node" evaluate')
    assert loaded.take_output() == fresh.take_output()
    assert loaded.client("finddevice", "/") == fresh.client("finddevice", "/")


def test_the_cache_is_used(cache, monkeypatch):
    Firmware()
    Machine()
    kinds = {p.name.split("-")[1] for p in entries(cache)}
    assert kinds == {"kernel", "of"}
    monkeypatch.setattr(VM, "_bootstrap", lambda self: pytest.fail("built from the sources"))
    monkeypatch.setattr(Machine, "include", lambda self, p, timeout=None: pytest.fail("loaded"))
    Firmware()
    m = Machine()
    m.evaluate("1 2 +")
    assert m.stack == [3]


def test_a_firmware_built_from_the_sources_starts_from_the_cached_kernel(cache, monkeypatch):
    Machine()
    monkeypatch.setattr(VM, "_bootstrap", lambda self: pytest.fail("kernel built again"))
    fw = Firmware()
    assert fw.client("finddevice", "/nothing") == [0xFFFFFFFF]


def test_different_memory_sizes_are_different_entries(cache):
    Machine()
    big = Machine(memory_size=128 << 20, heap_size=16 << 20)
    assert len(entries(cache)) == 2
    big.evaluate("heap-end")
    assert big.stack == [128 << 20]


# ---------------------------------------------------------------- rebuilt when a source changes
def test_a_changed_source_rebuilds(cache, tmp_path):
    top = tmp_path / "top.fs"
    inner = tmp_path / "inner.fs"
    top.write_text('#include "inner.fs"\n: twice  dup + ;\n')
    inner.write_text(": answer  2a ;\n")
    m = Machine(preload=[top])
    m.evaluate("answer twice")
    assert m.stack == [0x54]
    first = set(entries(cache))

    inner.write_text(": answer  15 ;\n")          # a file the preloaded one includes
    m = Machine(preload=[top])
    m.evaluate("answer twice")
    assert m.stack == [0x2a]
    assert set(entries(cache)) - first            # a new entry

    m = Machine(preload=[top])                    # and that one is used now
    m.evaluate("answer")
    assert m.stack == [0x15]


def test_a_changed_engine_rebuilds(cache, monkeypatch):
    Machine()
    before = set(entries(cache))
    from slofpy import codecache
    monkeypatch.setattr(codecache, "_engine_digest", b"another engine")
    Machine()
    assert len(set(entries(cache)) - before) == 1


# ---------------------------------------------------------------- never in the way
def corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x40
    elif how == "truncate":
        data = data[: len(data) // 3]
    elif how == "garbage":
        data = bytearray(b"not a dictionary at all" * 10)
    else:          # a well-formed file whose contents are not a saved dictionary
        import hashlib
        import marshal
        payload = marshal.dumps({"pages": [(1 << 40, b"x")], "attrs": {}})
        data = bytearray(dictcache.FORMAT + hashlib.sha256(payload).digest() + payload)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage", "foreign"])
def test_a_corrupted_cache_file_is_ignored_and_replaced(cache, how):
    fresh = Machine(dictionary_cache=False)
    Machine()
    (path,) = entries(cache)
    good = path.read_bytes()
    corrupt(path, how)
    m = Machine()
    same_vm(m.vm, fresh.vm)
    m.evaluate(": sq dup * ; 7 sq")
    assert m.stack == [49]
    assert path.read_bytes() == good


def test_switched_off_by_the_environment(cache, monkeypatch):
    monkeypatch.setenv(dictcache.DISABLE_ENV, "1")
    Firmware()
    assert not cache.exists()
    monkeypatch.setenv(dictcache.DISABLE_ENV, "0")
    Machine()
    assert entries(cache)


def test_an_unwritable_cache_folder_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.delenv(dictcache.DISABLE_ENV, raising=False)
    m = Machine()
    m.evaluate("3 4 *")
    assert m.stack == [12]


def test_a_broken_preload_file_still_reports_its_error(cache, tmp_path):
    from slofpy import ForthError
    bad = tmp_path / "bad.fs"
    bad.write_text(": ok ;\nnonsense-word\n")
    with pytest.raises(ForthError) as info:
        Machine(preload=[bad])
    assert info.value.code == -13
    missing = tmp_path / "missing.fs"
    with pytest.raises(ForthError) as info:
        Machine(preload=[missing])
    assert not [p for p in entries(cache) if "bad" in p.name or "missing" in p.name]


# ---------------------------------------------------------------- compiled code kept between runs
def fresh_process(monkeypatch) -> None:
    """Forget what this process has loaded or compiled, as a new process would."""
    from slofpy import codecache
    codecache.save_all()
    monkeypatch.setattr(codecache, "_stores", {})


def test_generated_code_comes_back_from_the_cache(cache, monkeypatch):
    from slofpy import codecache
    import builtins
    fresh_process(monkeypatch)
    program = ": sq dup * ; : sum-sq 0 swap 0 DO i sq + LOOP ; d# 100 sum-sq d# 10 sum-sq"
    m = Machine()
    m.evaluate(program)
    first = m.stack
    assert first == [328350, 285]
    fresh_process(monkeypatch)                 # saves what was compiled
    assert list(cache.glob("code-jit-*.bin"))
    compiled = []
    real = builtins.compile
    monkeypatch.setattr(builtins, "compile", lambda *a, **k: compiled.append(a[1]) or real(*a, **k))
    m = Machine()
    m.evaluate(program)
    assert m.stack == first
    assert m.vm.jit_code                       # generated code runs ...
    assert not [f for f in compiled if f.startswith("<jit")]     # ... without compiling it again
    assert set(m.vm.jit_sources) == set(m.vm.jit_code)            # and its source is still there


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage"])
def test_a_damaged_code_cache_is_ignored(cache, monkeypatch, how):
    fresh_process(monkeypatch)
    m = Machine()
    m.evaluate(": sq dup * ; : sum-sq 0 swap 0 DO i sq + LOOP ; d# 100 sum-sq")
    fresh_process(monkeypatch)
    for path in cache.glob("code-*.bin"):
        corrupt(path, how)
    m = Machine()
    m.evaluate(": sq dup * ; : sum-sq 0 swap 0 DO i sq + LOOP ; d# 100 sum-sq")
    assert m.stack == [328350]


def test_the_code_cache_is_switched_off_with_the_rest(cache, monkeypatch):
    monkeypatch.setenv(dictcache.DISABLE_ENV, "1")
    fresh_process(monkeypatch)
    m = Machine()
    m.evaluate(": sum 0 swap 0 DO i + LOOP ; d# 10 sum")
    fresh_process(monkeypatch)
    assert m.stack == [45]
    assert not cache.exists()


# ---------------------------------------------------------------- who may write the cache (issue 16, item 10)
def test_the_cache_folder_is_made_private(cache, monkeypatch):
    import stat
    fresh_process(monkeypatch)
    Machine()
    m = Machine()
    m.evaluate(": sq dup * ; : sum-sq 0 swap 0 DO i sq + LOOP ; d# 100 sum-sq")
    fresh_process(monkeypatch)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    cache.chmod(0o777)                    # an existing open folder of ours is closed again
    fresh_process(monkeypatch)
    for f in cache.glob("*.bin"):
        f.unlink()
    Machine()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


@pytest.mark.parametrize("who", ["another user owns them", "others can write the files",
                                 "others can write the folder"])
def test_cache_files_another_user_owns_or_can_write_are_not_loaded(cache, monkeypatch, who):
    """Cache files hold code (marshal) and a dictionary: files that another user owns or can
    write (or in a folder others can write) are never loaded; the sources are used instead.
    Another user is simulated by changing the uid this process believes it has (the test
    needs no root)."""
    from slofpy import codecache
    fresh_process(monkeypatch)
    program = ": sq dup * ; : sum-sq 0 swap 0 DO i sq + LOOP ; d# 100 sum-sq"
    Machine().evaluate(program)
    fresh_process(monkeypatch)
    files = sorted(cache.glob("*.bin"))
    assert files
    if who == "another user owns them":
        me = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: me + 1)
    elif who == "others can write the files":
        for f in files:
            f.chmod(0o666)
    else:
        cache.chmod(0o777)
    loaded = []
    real = codecache.read_trusted

    def watch(path):
        data = real(path)
        loaded.append(path)
        return data
    monkeypatch.setattr(codecache, "read_trusted", watch)
    monkeypatch.setattr(dictcache, "read_trusted", watch)
    monkeypatch.setattr(codecache, "save_all", lambda: None)   # nothing is written back here

    def no_writes(folder):
        raise OSError("no writes in this test")
    monkeypatch.setattr(codecache, "ensure_cache_dir", no_writes)
    m = Machine()
    m.evaluate(program)
    assert m.stack == [328350]
    assert loaded == []


def test_read_trusted_refuses_a_symlink_and_a_foreign_folder(cache, tmp_path, monkeypatch):
    from slofpy import codecache
    codecache.ensure_cache_dir(cache)
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"x")
    (cache / "link.bin").symlink_to(target)
    with pytest.raises(OSError):
        codecache.read_trusted(cache / "link.bin")
    (cache / "ok.bin").write_bytes(b"y")
    (cache / "ok.bin").chmod(0o600)
    assert codecache.read_trusted(cache / "ok.bin") == b"y"
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    with pytest.raises(codecache.UntrustedCacheError):
        codecache.read_trusted(cache / "ok.bin")
    with pytest.raises(codecache.UntrustedCacheError):
        codecache.ensure_cache_dir(cache)
