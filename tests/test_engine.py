"""Engine behaviour seen from Python: the Machine API, errors and recovery, output, file
loading with #include and #ifdef, and the command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slofpy import Machine, ForthError
from conftest import run


def test_stack_after_evaluate(m: Machine) -> None:
    m.evaluate("1 2 +")
    assert m.stack == [3]


def test_base_starts_at_16(m: Machine) -> None:
    assert run(m, "10 base @") == [16, 16]


def test_cells_are_64_bit_and_memory_big_endian(m: Machine) -> None:
    m.evaluate("here 0102030405060708 over ! ")
    addr = m.pop()
    assert m.read(addr, 8) == bytes(range(1, 9))
    m.write(addr, b"\xff" * 8)
    assert run(m, f"{addr:x} @") == [-1]


def test_output_is_collected(m: Machine) -> None:
    m.evaluate('decimal 42 . ." hi" cr -7 .')
    assert m.take_output() == "42 hi\n-7 "


def test_undefined_word_error_names_word_and_place(m: Machine) -> None:
    with pytest.raises(ForthError) as info:
        m.evaluate("1 2\nfoo? 3", name="x.fs")
    e = info.value
    assert (e.code, e.file, e.line, e.word) == (-13, "x.fs", 2, "foo?")
    assert str(e) == "x.fs:2: foo?? undefined word"


def test_vm_usable_after_error(m: Machine) -> None:
    with pytest.raises(ForthError):
        m.evaluate("1 2 3 : half-made dup foo")
    assert m.stack == []
    assert run(m, "1 2 + ") == [3]
    with pytest.raises(ForthError):
        m.evaluate("half-made")


def test_interpret_level_structure_error_recovers(m: Machine) -> None:
    with pytest.raises(ForthError):
        m.evaluate("1 if nosuchword then")
    assert run(m, "5 0 do i loop") == [0, 1, 2, 3, 4]


def test_stack_underflow_is_minus_4(m: Machine) -> None:
    with pytest.raises(ForthError) as info:
        m.evaluate("drop")
    assert info.value.code == -4


def test_return_stack_overflow_not_python_recursion(m: Machine) -> None:
    m.evaluate(": down recursive down ;")
    with pytest.raises(ForthError) as info:
        m.evaluate("down")
    assert info.value.code == -5
    assert run(m, "1 2 +") == [3]


def test_data_stack_overflow_is_minus_3(m: Machine) -> None:
    with pytest.raises(ForthError) as info:
        m.evaluate("begin 1 again")
    assert info.value.code == -3


def test_abort_quote_message(m: Machine) -> None:
    m.evaluate(': check abort" bad thing" ;')
    with pytest.raises(ForthError) as info:
        m.evaluate("1 check")
    assert info.value.code == -2 and "bad thing" in str(info.value)


def test_write_outside_memory_is_minus_9(m: Machine) -> None:
    with pytest.raises(ForthError) as info:
        m.evaluate("1 7fffffff0 !")
    assert info.value.code == -9


def test_include_with_preprocessor(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "inc.fs").write_text(": from-lib 11 ;\n")
    (tmp_path / "local.fs").write_text(": from-local 22 ;\n")
    (tmp_path / "main.fs").write_text(
        '#include "local.fs"\n#include <inc.fs>\n#define FEATURE\n'
        "#ifdef FEATURE\n: feat 1 ;\n#else\n: feat 2 ;\n#endif\n"
        "#ifndef FEATURE\n: other 3 ;\n#endif\n"
        "( a comment that\n spans lines ) from-local from-lib feat\n")
    m = Machine(include_path=[lib])
    m.include(tmp_path / "main.fs")
    assert m.stack == [0x22, 0x11, 1]
    with pytest.raises(ForthError):
        m.evaluate("other")


def test_include_error_reports_included_file_line(tmp_path: Path) -> None:
    (tmp_path / "bad.fs").write_text("1 2\n3 oops\n")
    (tmp_path / "main.fs").write_text('\\ top\n#include "bad.fs"\n')
    m = Machine()
    with pytest.raises(ForthError) as info:
        m.include(tmp_path / "main.fs")
    assert info.value.line == 2 and info.value.file.endswith("bad.fs")


def test_missing_include_is_clear(tmp_path: Path) -> None:
    (tmp_path / "main.fs").write_text('#include "nope.fs"\n')
    with pytest.raises(ForthError) as info:
        Machine().include(tmp_path / "main.fs")
    assert "nope.fs" in str(info.value) and info.value.line == 1


def test_quote_bracket_include_prefers_search_path(tmp_path: Path) -> None:
    (tmp_path / "board").mkdir()
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "x.fs").write_text(": which 1 ;\n")
    (tmp_path / "board" / "x.fs").write_text(": which 2 ;\n")
    (tmp_path / "generic" / "main.fs").write_text("#include <x.fs>\nwhich\n")
    m = Machine(include_path=[tmp_path / "board", tmp_path / "generic"])
    m.include(tmp_path / "generic" / "main.fs")
    assert m.stack == [2]


def test_generated_code_dropped_when_body_patched(m: Machine) -> None:
    m.evaluate("decimal : seven 7 ; : use seven seven + ; use use use use drop drop drop drop")
    assert run(m, "use") == [14]
    # patch the literal inside SEVEN's body: LIT cell, then the value (paflof's >BODY of a
    # colon definition: its second body cell)
    m.evaluate("' seven >body 8 swap !")
    assert run(m, "use") == [16]


def test_generated_code_dropped_when_block_store_patches_body(m: Machine) -> None:
    # move, erase and fill into a compiled body drop its generated code, as ! does
    m.evaluate("decimal : seven 7 ; : use seven seven + ; use use use use drop drop drop drop")
    m.evaluate("create eight 8 ,")
    m.evaluate("eight ' seven >body 8 move")
    assert run(m, "use") == [16]
    m.evaluate("' seven >body 7 + 1 9 fill")
    assert run(m, "use") == [18]
    m.evaluate("' seven >body 8 erase")
    assert run(m, "use") == [0]


def test_see_shows_definition(m: Machine) -> None:
    m.evaluate("decimal : sq dup * ; see sq")
    assert m.take_output().startswith(": sq dup * ;")


def _slofpy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slofpy", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_run_ok() -> None:
    r = _slofpy("run", "-e", "decimal 2 3 * . cr")
    assert r.returncode == 0 and r.stdout == "6 \n"


def test_cli_error_one_line_exit_1(tmp_path: Path) -> None:
    f = tmp_path / "t.fs"
    f.write_text("decimal\n1 2 +\nnosuch\n")
    r = _slofpy("run", str(f))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"slofpy: {f}:3: nosuch? undefined word"] or \
        r.stderr.strip().endswith("t.fs:3: nosuch? undefined word")
    assert "Traceback" not in r.stderr


def test_cli_usage_error_exit_2() -> None:
    assert _slofpy("run", "--nope").returncode == 2


def test_cli_include_dir(tmp_path: Path) -> None:
    (tmp_path / "lib.fs").write_text(": libword .\" lib\" ;\n")
    (tmp_path / "main.fs").write_text("#include <lib.fs>\nlibword\n")
    r = _slofpy("run", "-I", str(tmp_path), str(tmp_path / "main.fs"))
    assert r.returncode == 0 and r.stdout == "lib"


def test_cli_bye_exits_zero() -> None:
    r = _slofpy("run", "-e", "bye 1 2 nosuch")
    assert r.returncode == 0


def test_snapshot_and_restore(m: Machine) -> None:
    m.evaluate("decimal variable counter 5 counter ! : bump 1 counter +! ; 3 0 do bump loop")
    snap = m.snapshot()
    m.evaluate(": extra 99 ; bump bump 1 2")
    assert run(m, "counter @") == [1, 2, 10]
    m.restore(snap)
    assert m.stack == []
    assert run(m, "counter @") == [8]
    with pytest.raises(ForthError):
        m.evaluate("extra")
    assert run(m, "bump bump bump bump counter @") == [12]


def test_snapshot_copy_is_independent() -> None:
    a = Machine()
    snap = a.snapshot()
    a.evaluate(": later 1 ;")
    a.restore(snap)
    with pytest.raises(ForthError):
        a.evaluate("later")
