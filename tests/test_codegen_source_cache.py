"""The source cache (vm/codegen/source_cache.py): what the emitter wrote for a definition is
taken again, without emitting, only when everything it read is the same. Two machines that
differ only in a callee's body, a constant's value or the kind of a word TO stores into
put their definitions at the same addresses; each must get code for its own words."""
from __future__ import annotations

import pytest

from slofpy import Machine
from slofpy.vm.codegen import generate, source_cache
from slofpy.vm.dictionary import find


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, and no entries left from earlier tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SLOFPY_NO_DICT_CACHE", raising=False)
    monkeypatch.setattr("slofpy.codecache._stores", {})


def _run(text: str, word: str, times: int = 4) -> tuple[Machine, list[list[int]]]:
    """A machine with text evaluated, and the stack after each of `times` calls of word
    (the third call generates its code)."""
    m = Machine()
    m.evaluate(text)
    results = []
    for _ in range(times):
        m.evaluate(f"{word} ")
        results.append(list(m.stack))
        m.evaluate("depth 0 ?do drop loop")
    return m, results


def _xt(m: Machine, word: str) -> int:
    return find(m.vm, word.encode())[0]


def _made_from(m: Machine, xt: int) -> list[bytes]:
    """The bytes the code for xt is made from, as the source cache keeps them."""
    return [bytes(m.vm.mem[lo:hi]) for lo, hi in source_cache.read_spans(m.vm, xt)]


def _count_emitter_runs(monkeypatch) -> list[int]:
    runs: list[int] = []
    real = generate._emit_fresh

    def counting(vm, xt):
        runs.append(xt)
        return real(vm, xt)
    monkeypatch.setattr(generate, "_emit_fresh", counting)
    return runs


def test_a_second_machine_takes_the_source_without_emitting(monkeypatch):
    runs = _count_emitter_runs(monkeypatch)
    text = ": sq dup * ; : quad sq sq ;"
    first, results = _run(text, "3 quad")
    assert results == [[81]] * 4
    xt = _xt(first, "quad")
    assert xt in first.vm.jit_code and xt in runs
    runs.clear()
    second, results = _run(text, "3 quad")
    assert results == [[81]] * 4
    assert xt in second.vm.jit_code and runs == []
    assert second.vm.jit_sources[xt] == first.vm.jit_sources[xt]


@pytest.mark.parametrize("one, other, word, want_one, want_other", [
    # a callee's body (inlined): same addresses, other code
    (": sq dup * ; : quad sq sq ;", ": sq dup + ; : quad sq sq ;", "3 quad", 81, 12),
    # a constant built into the code as a literal
    ("5 constant k : g k 2 * ;", "6 constant k : g k 2 * ;", "g", 10, 12),
    # a FIELD's offset, built in
    ("0 8 field >a 8 field >b drop create r 20 allot : h r >b ;",
     "0 10 field >a 8 field >b drop create r 20 allot : h r >b ;", "h r -", 8, 16),
])
def test_what_the_code_was_built_from_is_part_of_the_key(one, other, word, want_one,
                                                          want_other):
    first, results = _run(one, word)
    assert results == [[want_one]] * 4
    second, results = _run(other, word)
    assert results == [[want_other]] * 4
    name = word.split()[0] if word.endswith("-") else word.split()[-1]
    xt = _xt(first, name)
    assert xt == _xt(second, name)                    # the same address in both
    assert _made_from(first, xt) != _made_from(second, xt)


def test_the_kind_of_the_word_to_stores_into_is_part_of_the_key():
    first, _ = _run("5 value k : set  7 to k ;", "set")
    second, _ = _run("5 constant k : set  7 to k ;", "set")
    xt = _xt(first, "set")
    assert xt == _xt(second, "set")
    assert _made_from(first, xt) != _made_from(second, xt)
    # what only the running code reads (a VALUE's contents) is not
    third, _ = _run("9 value k : set  7 to k ;", "set")
    assert _made_from(third, xt) == _made_from(first, xt)


def test_a_definition_that_stays_threaded_is_not_emitted_again(monkeypatch):
    runs = _count_emitter_runs(monkeypatch)
    # R> of its caller's return address: generated code cannot do that
    text = ": back  r> drop ; : caller  1 back 2 ; : top  caller 3 ;"
    first, results = _run(text, "top")
    assert results == [[1, 3]] * 4
    assert _xt(first, "back") not in first.vm.jit_code
    tried = runs.count(_xt(first, "caller"))
    runs.clear()
    second, results = _run(text, "top")
    assert results == [[1, 3]] * 4
    assert _xt(second, "caller") not in runs and tried == 1


def test_source_cache_survives_the_process(tmp_path):
    """The entries are written to the cache folder at exit and read by the next process."""
    import subprocess
    import sys
    program = ("from slofpy import Machine\n"
               "from slofpy.vm.codegen import generate\n"
               "runs = []\n"
               "real = generate._emit_fresh\n"
               "generate._emit_fresh = lambda vm, xt: runs.append(xt) or real(vm, xt)\n"
               "m = Machine()\n"
               "m.evaluate(': sq dup * ; : quad sq sq ; 3 quad 3 quad 3 quad 3 quad')\n"
               "print(len(runs), list(m.stack))\n")
    import os
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    env.pop("SLOFPY_NO_DICT_CACHE", None)
    outs = [subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert int(outs[0][0]) >= 1 and outs[1][0] == "0"
    assert outs[0][1:] == outs[1][1:] == ["[81,", "81,", "81,", "81]"]
