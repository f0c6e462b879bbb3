"""Bad Forth input ends in a Forth error, never a Python exception, a hang or a broken VM.

Deterministic cases: stack limits, unbounded recursion, heap exhaustion, memory access
outside memory, dictionary exhaustion, deep nesting, long lines and names. Each engine bug
found by these tests or by tests/test_fuzz_forth.py has a regression test here (marked
"regression"). The random side is tests/test_fuzz_forth.py; see tests/README.md.
"""
from __future__ import annotations

import pytest

from slofpy import ForthError, Machine
from slofpy.vm import layout as L
from slofpy.vm.dictionary import find

DEPTH = L.DATA_STACK_CELLS          # 4096
RDEPTH = L.RETURN_STACK_CELLS       # 4096
MEMORY = L.DEFAULT_MEMORY_SIZE


@pytest.fixture(scope="module")
def vm() -> Machine:
    """One VM shared by the tests of this module: every test also shows it survives."""
    return Machine()


def fails(m: Machine, code: str) -> int:
    """Evaluate code that must end in a Forth error; return its THROW code, after checking
    the VM still works."""
    with pytest.raises(ForthError) as info:
        m.evaluate(code)
    assert m.stack == []
    still_works(m)
    return info.value.code


def works(m: Machine, code: str) -> list[int]:
    m.evaluate(code)
    stack = m.stack
    m.evaluate("clear")
    still_works(m)
    return stack


def still_works(m: Machine) -> None:
    m.take_output()
    m.evaluate("1 2 + .")
    assert m.take_output() == "3 "


# ---------------------------------------------------------------- data stack

def test_data_stack_underflow_is_minus_4(vm):
    assert fails(vm, "drop") == -4
    assert fails(vm, "1 +") == -4
    assert fails(vm, ": fz-under swap ; 1 fz-under") == -4
    assert fails(vm, ": fz-under2 10 0 do drop loop ; fz-under2") == -4   # generated code
    assert fails(vm, "2drop") == -4
    assert fails(vm, "-1 pick") == -4


def test_data_stack_holds_exactly_4096_cells_at_the_prompt(vm):
    assert len(works(vm, " 1" * DEPTH)) == DEPTH
    assert fails(vm, " 1" * (DEPTH + 1)) == -3


def test_data_stack_overflow_in_loops_is_minus_3(vm):
    """Regression: loops (threaded, at the prompt, and generated code) pushed without limit
    (`100000 0 do i loop` made a 100000-cell stack, a big count ran out of memory)."""
    assert len(works(vm, f"#{DEPTH} 0 do i loop")) == DEPTH
    assert fails(vm, f"#{DEPTH + 1} 0 do i loop") == -3
    assert fails(vm, "#100000000 0 do i loop") == -3
    assert fails(vm, ": fz-push 0 do i loop ; 7fffffffffffffff fz-push") == -3
    assert fails(vm, ": fz-push2 0 do i 2 +loop ; 7fffffffffffffff fz-push2") == -3
    assert fails(vm, ": fz-push3 0 begin 1+ dup dup 0= until ; fz-push3") == -3
    assert fails(vm, ": fz-push4 begin 1 dup while repeat ; fz-push4") == -3
    vm.vm.jit_enabled = False
    try:
        assert fails(vm, ": fz-push5 0 do i loop ; 7fffffffffffffff fz-push5") == -3
    finally:
        vm.vm.jit_enabled = True


def test_depth_store_past_the_limit_is_minus_3(vm):
    """Regression: `n depth!` made n zero cells whatever n was (a huge n ran out of
    memory)."""
    assert len(works(vm, f"#{DEPTH} depth!")) == DEPTH
    assert fails(vm, f"#{DEPTH + 1} depth!") == -3
    assert fails(vm, "7fffffffffffffff depth!") == -3
    assert fails(vm, "-1 depth!") == -4


# ---------------------------------------------------------------- return stack

def test_return_stack_underflow_is_minus_6(vm):
    assert fails(vm, "r>") == -6
    assert fails(vm, "r@") == -6
    assert fails(vm, "rdrop") == -6
    assert fails(vm, "2r>") == -6
    assert fails(vm, ": fz-rq r> r> r> ; fz-rq") == -6


def test_return_stack_holds_4096_cells_in_threaded_code():
    m = Machine()
    m.vm.jit_enabled = False
    m.evaluate("variable fz-n : fz-deep 1 fz-n +! recurse ;")
    with pytest.raises(ForthError) as info:
        m.evaluate("fz-deep")
    assert info.value.code == -5
    m.evaluate("fz-n @")
    assert m.stack == [RDEPTH + 1]       # the first call plus 4096 nested ones
    still_works(m)


def test_unbounded_recursion_is_minus_5(vm):
    assert fails(vm, ": fz-r recurse ; fz-r") == -5
    assert fails(vm, ": fz-r2 1 >r recurse ; fz-r2") == -5
    assert fails(vm, "defer fz-d : fz-r3 fz-d ; ' fz-r3 to fz-d fz-r3") == -5
    assert fails(vm, "variable fz-v : fz-r4 fz-v @ execute ; ' fz-r4 fz-v ! fz-r4") == -5
    assert fails(vm, ': fz-r5 s" fz-r5" evaluate ; fz-r5') == -5
    assert fails(vm, "defer fz-c : fz-r6 ['] fz-c catch throw ; ' fz-r6 to fz-c fz-r6") == -5


def test_unbounded_recursion_in_generated_code_is_minus_5():
    """A recursive word the JIT compiled nests Python calls; the end is Python's recursion
    limit, which must come out as -5, not RecursionError."""
    m = Machine()
    m.evaluate(": fz-count dup 0> if 1- recurse then ; 3 fz-count 3 fz-count 3 fz-count")
    m.evaluate("clear")
    xt = find(m.vm, b"fz-count")[0]
    assert xt in m.vm.jit_code                       # it really runs as generated code
    with pytest.raises(ForthError) as info:
        m.evaluate("7fffffffffffffff fz-count")
    assert info.value.code == -5
    still_works(m)
    # the same through CATCH: caught, and the VM goes on
    m.evaluate("7fffffffffffffff ' fz-count catch nip")
    assert m.stack == [-5]
    m.evaluate("clear")
    still_works(m)


# ---------------------------------------------------------------- heap

def test_alloc_mem_returns_0_when_the_heap_is_exhausted():
    m = Machine()
    m.evaluate(": fz-grab 0 begin #100000 alloc-mem dup while drop 1+ repeat drop ; fz-grab")
    (blocks,) = m.stack
    assert 0 < blocks <= L.DEFAULT_HEAP_SIZE // 131072       # 128 KiB blocks
    m.evaluate("clear #100000 alloc-mem")
    assert m.stack == [0]                                    # still exhausted
    m.evaluate("clear")
    for size in ("7fffffffffffffff", "-1", "0", "10000000000"):
        m.evaluate(f"{size} alloc-mem")
        assert m.stack == [0], size
        m.evaluate("clear")
    still_works(m)


# ---------------------------------------------------------------- memory access

@pytest.mark.parametrize("code", [
    "-1 @", "-8 @", f"{MEMORY - 7:x} @", f"{MEMORY:x} c@", "7fffffffffffffff c@",
    f"1 {MEMORY - 4:x} !", "1 -1 c!", f"1 {MEMORY:x} w!", f"{MEMORY - 12:x} 2@",
    "-1 count", f"{MEMORY:x} count",
    # block words with lengths past memory, and negative lengths (-1 is a huge unsigned one)
    f"0 pad {MEMORY:x} move", "0 pad -1 move", "pad 0 -1 move", f"{MEMORY - 4:x} pad 8 move",
    "pad -10 10 cmove", "0 pad -10 cmove", "0 pad -10 cmove>",
    f"pad {MEMORY:x} 0 fill", "pad -1 0 fill", "-1 1 0 fill", "pad -1 erase", "pad -1 blank",
    "pad pad -1 comp", "pad -4 lbflips",
    f"0 {MEMORY + 1:x} dump", "0 -1 dump", "-10 10 dump",
    f"0 {MEMORY + 1:x} type", "0 -1 type", "0 -1 (type)", "-1 1 type",
    f"{MEMORY - 1:x} 100 evaluate", "0 -1 evaluate",
])
def test_access_outside_memory_is_minus_9(vm, code):
    assert fails(vm, code) == -9


@pytest.mark.parametrize("code", [
    "-100 name>string", "-100 immediate?", "7fffffffff name>string", "-100 name>",
    "-100 link>",
    "-10 10 -trailing", "-10 10 -leading", f"{MEMORY - 5:x} 10 -trailing",
    "-10 10 20 skip", "-10 10 20 scan", f"{MEMORY - 5:x} 10 20 scan",
    "0 0 -10 5 >number", f"0 0 {MEMORY - 2:x} 5 >number",
    "-1 find", f"{MEMORY:x} find",
])
def test_header_and_string_words_outside_memory_are_minus_9(vm, code):
    """Regression: these read Python's bytearray directly, so a negative address read the
    top of memory (bytearray[-n]) and one past the end gave -4 instead of -9 (FIND answered
    "not found" for a counted string outside memory)."""
    assert fails(vm, code) == -9


def test_find_still_finds(vm):
    assert works(vm, 'c" dup" find nip') == [-1]
    assert works(vm, 'c" fz-nothere" find nip') == [0]


def test_redirected_type_checks_the_range_too():
    m = Machine()
    m.evaluate(": fz-e drop ; ' fz-e to emit")
    with pytest.raises(ForthError) as info:
        m.evaluate("0 -1 type")
    assert info.value.code == -9
    m.evaluate("' (emit) to emit")
    still_works(m)


def test_zero_lengths_touch_nothing(vm):
    """A length of 0 at an address outside memory is no error, prints nothing and changes
    no byte (the top of memory, where -5 points, and the bottom are compared)."""
    mem = vm.vm.mem
    top, bottom = bytes(mem[-64:]), bytes(mem[:64])
    vm.take_output()
    works(vm, f"{MEMORY + 100:x} 0 type  -5 0 0 fill  -5 -5 0 move  -5 0 erase  -5 0 dump")
    assert vm.take_output().strip() == ""
    assert bytes(mem[-64:]) == top and bytes(mem[:64]) == bottom


def test_huge_padding_is_printed_in_pieces():
    """Regression: `n spaces` and `.r` built one n-character string (a huge n ran out of
    memory); now they print a piece at a time."""
    m = Machine()
    pieces = []
    m.vm.emit_text = pieces.append            # every piece the words print
    m.evaluate("#10000 spaces 7 #10000 .r 7 -5 .r 7 3 0.r")
    assert "".join(pieces) == " " * 10000 + " " * 9999 + "7" + "7" + "007"
    assert max(len(p) for p in pieces) <= 4096


# ---------------------------------------------------------------- dictionary

def test_allot_past_memory_and_then_comma(vm):
    here = works(vm, "here")[0]
    assert fails(vm, "unused 1+ allot") == -8
    assert fails(vm, "7fffffffffffffff allot") == -8
    assert fails(vm, "-7fffffffffffffff allot") == -9
    assert works(vm, "here")[0] == here                   # unchanged by the failures
    works(vm, "unused allot")                              # the dictionary is now full
    assert works(vm, "unused") == [0]
    assert fails(vm, "1 ,") == -8
    assert fails(vm, "1 c,") == -8
    assert fails(vm, ": fz-full ;") == -8
    works(vm, f"{here:x} here - allot")                    # give it all back
    assert works(vm, "here")[0] == here
    works(vm, ": fz-after-full 5 ; fz-after-full drop")


# ---------------------------------------------------------------- nesting, long input

@pytest.mark.parametrize("n", [1, 20, 200, 2000])
def test_deeply_nested_control_structures(vm, n):
    """Deep nesting compiles, runs threaded and (when called often) as generated code, or
    falls back to threaded code when Python cannot compile that depth."""
    name = f"fz-nest{n}"
    vm.evaluate(f": {name}-if" + " dup if" * n + " 1+" + " then" * n + " ;")
    vm.evaluate(f": {name}-do" + " 1 0 do" * n + " 7" + " loop" * n + " ;")
    vm.evaluate(f": {name}-begin" + " begin" * n + " 1 until" * n + " ;")
    vm.evaluate(f": {name}-case" + " 1 case 1 of" * n + " 9" + " endof endcase" * n + " ;")
    for _ in range(4):                            # the third call compiles them
        assert works(vm, f"1 {name}-if") == [2]
        assert works(vm, f"{name}-do") == [7]
        assert works(vm, f"{name}-begin") == []
        assert works(vm, f"{name}-case") == [9]
    # the same at the prompt, compiled into the comp-buffer
    assert works(vm, "1" + " dup if" * n + " 1+" + " then" * n) == [2]
    assert works(vm, " 1 0 do" * n + " 7" + " loop" * n) == [7]


def test_no_words_are_defined_in_the_comp_buffer(vm):
    """Regression: a defining word run with `[ ... ]` while an interpret-level structure
    was being compiled put its header (or wordlist) in the comp-buffer and linked it into
    the dictionary; the next structure overwrote it, leaving a word that was no longer an
    xt and a wordlist chain that ended in it (WORDS then listed only newer words)."""
    for code in ("1 if [ : fz-cb 5 ; ] then", "1 if [ variable fz-cb ] then",
                 "1 if [ create fz-cb ] then", "1 if [ wordlist ] then",
                 "1 if [ vocabulary fz-cb ] then", "0 0 ?do [ marker fz-cb ] loop"):
        assert fails(vm, code) == -29, code
    works(vm, "1 if" + " 1 drop" * 50 + " then")      # reuses the comp-buffer
    assert fails(vm, "fz-cb") == -13
    works(vm, ": fz-after-cb 7 ;")
    vm.evaluate("words")
    listed = vm.take_output().split()
    assert "fz-after-cb" in listed and "dup" in listed and "u#>" in listed
    assert works(vm, "1 if [ here ] literal drop then") == []     # HERE itself is fine


def test_nesting_past_the_comp_buffer_is_an_error(vm):
    assert fails(vm, " 1 if" * 100000) in (-8, -9)


def test_unbalanced_control_structures(vm):
    assert fails(vm, ": fz-bad if ;") == -22
    assert fails(vm, ": fz-bad2 then ;") == -22
    assert fails(vm, ": fz-bad3 begin loop ;") == -22
    assert fails(vm, "then") in (-14, -22)
    assert fails(vm, "1 if 2 loop") == -22


def test_very_long_lines(vm):
    assert works(vm, "1 drop " * 100000) == []
    assert fails(vm, "1 drop " * 1500000) == -8          # bigger than the source area
    assert fails(vm, "x" * 200000) == -13


def test_lookups_of_strings_longer_than_any_name(vm):
    """Regression (found by the fuzz as a 7-second case): FIND and $FIND lowercased, hashed
    and cached the whole string, so `$find` given an address as its length copied and hashed
    megabytes each time, and every long token stayed in the lookup cache."""
    assert fails(vm, "q" * 100000) == -13
    assert works(vm, "here #8000000 $find nip nip") == [0]
    assert works(vm, "here #8000000 forth-wordlist search-wordlist") == [0]
    assert all(len(key) <= 255 for key in vm.vm.find_cache)
    assert fails(vm, "#-1 #1000 $find") == -9
    assert fails(vm, f"#0 #{MEMORY + 1} $find") == -9
    assert fails(vm, f"#0 #{MEMORY + 1} forth-wordlist search-wordlist") == -9
    assert works(vm, 's" DUP" $find nip') == [-1]         # names still found, any case


def test_long_names(vm):
    name = "n" * 255
    assert works(vm, f": {name} 7 ; {name}") == [7]
    assert fails(vm, ": " + "m" * 256 + " 7 ;") == -19
    assert fails(vm, "create " + "c" * 1000) == -19
    assert fails(vm, 's" ' + "s" * 300 + '"') == -18     # an interpret-mode pocket is 256
    assert works(vm, ': fz-long s" ' + "s" * 100000 + '" nip ; fz-long') == [100000]
