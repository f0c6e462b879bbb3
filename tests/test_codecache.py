"""The code cache's files (slofpy/codecache.py): a start-up reads the index and only the
entries it asks for, a damaged entry is ignored without losing the others, and the entries a
run used are the ones kept when the file is full."""
from __future__ import annotations

import pytest

from slofpy import codecache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SLOFPY_NO_DICT_CACHE", raising=False)
    monkeypatch.setattr(codecache, "_stores", {})
    return tmp_path / "slofpy"


def _new_process(monkeypatch) -> None:
    """Write what this 'process' kept, and forget it, as the next process starts."""
    codecache.save_all()
    monkeypatch.setattr(codecache, "_stores", {})


def test_entries_come_back_in_the_next_process_and_only_those_asked_for(cache, monkeypatch):
    for n in range(50):
        codecache.keep_entry("t", bytes([n]) * 20, ("entry", n, b"x" * n))
    _new_process(monkeypatch)
    assert codecache.lookup_entry("t", bytes([7]) * 20) == ("entry", 7, b"x" * 7)
    assert codecache.lookup_entry("t", b"\xff" * 20) is None
    store = codecache._stores["t"]
    assert set(store.values) == {bytes([7]) * 20} and len(store.index) == 50


def test_a_damaged_entry_is_ignored_and_the_others_still_load(cache, monkeypatch):
    codecache.keep_entry("t", b"a" * 20, ("first", "A" * 40))
    codecache.keep_entry("t", b"b" * 20, ("second", "B" * 40))
    _new_process(monkeypatch)
    (path,) = cache.glob("code-t-*.bin")
    data = bytearray(path.read_bytes())
    data[data.index(b"A" * 40) + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert codecache.lookup_entry("t", b"a" * 20) is None
    assert codecache.lookup_entry("t", b"b" * 20) == ("second", "B" * 40)


def test_a_damaged_index_means_an_empty_cache(cache, monkeypatch):
    codecache.keep_entry("t", b"a" * 20, ("first",))
    _new_process(monkeypatch)
    (path,) = cache.glob("code-t-*.bin")
    data = bytearray(path.read_bytes())
    data[len(codecache.FORMAT) + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert codecache.lookup_entry("t", b"a" * 20) is None


def test_when_full_the_entries_this_run_used_are_kept(cache, monkeypatch):
    monkeypatch.setattr(codecache, "MAX_ENTRIES", 10)
    for n in range(10):
        codecache.keep_entry("t", bytes([n]) * 20, (n,))
    _new_process(monkeypatch)
    assert codecache.lookup_entry("t", bytes([9]) * 20) == (9,)
    codecache.keep_entry("t", b"\xee" * 20, ("new",))
    _new_process(monkeypatch)
    kept = set(codecache._store("t", tuple).load().index)
    assert len(kept) == 10 and {bytes([9]) * 20, b"\xee" * 20} <= kept


def test_compiled_code_comes_back_as_code(cache, monkeypatch):
    code = codecache.compile_cached("x = 6 * 7\n", "<test>", "jit")
    _new_process(monkeypatch)
    again = codecache.compile_cached("x = 6 * 7\n", "<test>", "jit")
    assert again is not code and again == code
    assert not codecache._stores["jit"].grew     # it came from the file, not from compile()
    scope: dict = {}
    exec(again, scope)
    assert scope["x"] == 42
