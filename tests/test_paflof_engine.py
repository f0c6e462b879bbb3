"""paflof's conventions in the bare engine (issue 18), beyond the replies compared with real
SLOF in test_slof_prompt.py: the preprocessor's #if/#elif, `\\` at the end of a line in a
file, Forth 2012's meanings on request, find-hash.fs's HASH table, the bitmap allocator,
the simulated processor words, and errors staying one clear line."""
from __future__ import annotations

import subprocess
import sys

import pytest

from slofpy import Machine
from slofpy.errors import ForthError
from slofpy.vm import layout as L
from slofpy.vm.dictionary import search_order

from conftest import run


# ---------------------------------------------------------------- #if / #elif
def load(tmp_path, text: str, m: Machine | None = None) -> list[int]:
    m = m or Machine()
    f = tmp_path / "t.fs"
    f.write_text(text)
    m.include(f)
    return m.stack


@pytest.mark.parametrize("cond,taken", [
    ("defined(A) || defined(B)", True),
    ("defined(B) || defined(C)", False),
    ("defined(A) && !defined(C)", True),
    ("!(defined A)", False),
    ("(defined(A) || defined(C)) && (V == 3)", True),
    ("V > 2 && V <= 3 && V != 4 && V >= 3 && V < 4", True),
    ("UNKNOWN", False),
    ("0x10 == 16", True),
    ("1", True),
    ("0", False),
])
def test_if_expressions(tmp_path, cond, taken):
    text = f"#define A\n#define V 3\n#if {cond}\n1\n#else\n2\n#endif\n"
    assert load(tmp_path, text) == ([1] if taken else [2])


def test_elif_chain_takes_the_first_true_branch_only(tmp_path):
    text = ("#define B\n"
            "#if defined(A)\n1\n#elif defined(B)\n2\n#elif 1\n3\n#else\n4\n#endif\n"
            "#if 0\n5\n#elif 0\n6\n#else\n7\n#endif\n"
            "#ifdef NOPE\n#if garbage ( (\n8\n#endif\n#endif\n")
    assert load(tmp_path, text) == [2, 7]


def test_if_errors_name_file_and_line(tmp_path):
    f = tmp_path / "bad.fs"
    f.write_text("1\n#if (defined(A)\n2\n#endif\n")
    with pytest.raises(ForthError) as e:
        Machine().include(f)
    assert "bad.fs:2" in str(e.value) and "#if" in str(e.value)
    f.write_text("#elif 1\n")
    with pytest.raises(ForthError) as e:
        Machine().include(f)
    assert "bad.fs:1" in str(e.value) and "#elif without #if" in str(e.value)


# ---------------------------------------------------------------- `\` at the end of a line
def test_backslash_at_end_of_line_keeps_the_next_line(tmp_path):
    assert load(tmp_path, "1 \\\n2 \\ comment\n3\n\\\n4") == [1, 2, 3, 4]


def test_backslash_in_evaluate(m):
    assert run(m, 's" 5 \\\n6" evaluate') == [5, 6]
    assert run(m, ': t s" 7 \\ x" evaluate ; t 8') == [7, 8]


# ---------------------------------------------------------------- SLOF's and Forth 2012's
def test_sliteral_is_slofs_by_default_and_standard_on_request():
    m = Machine()
    m.evaluate(": a [ ' sliteral compile, 2 c, char h c, char i c, align ] count type ; a")
    assert m.take_output() == "hi"
    s = Machine(standard=True)
    s.evaluate(': b [ s" std" ] sliteral type ; b')
    assert s.take_output() == "std"


def test_only_is_paflofs_by_default_and_standard_on_request():
    m = Machine()
    m.evaluate("wordlist forth-wordlist 2 set-order only")
    order = search_order(m.vm)
    assert len(order) == 1 and order[0] != L.FORTH_WID         # the bottom entry stays
    s = Machine(standard=True)
    s.evaluate("wordlist forth-wordlist 2 set-order only get-order")
    assert s.stack == [L.FORTH_WID, 1]


def test_run_std_flag():
    code = ': b [ s" ok2012" ] sliteral type ; b'
    std = subprocess.run([sys.executable, "-m", "slofpy", "run", "--std", "-e", code],
                         capture_output=True, text=True)
    assert std.returncode == 0 and std.stdout == "ok2012", std
    # without --std, SLITERAL is paflof's run-time word: compiled here it skips the cell
    # after it (TYPE's), so nothing is printed
    plain = subprocess.run([sys.executable, "-m", "slofpy", "run", "-e", code + " .s"],
                           capture_output=True, text=True)
    assert plain.returncode == 0 and "ok2012" not in plain.stdout, plain


# ---------------------------------------------------------------- wordlists and lookup
def test_wid_cells_and_a_wordlist_made_in_forth(m):
    # SLOF's search.fs makes its wordlists itself (here linked 0 ,): lookups follow them
    run(m, "variable wls  forth-wordlist wls !  : wl2 here wls @ , wls ! 0 , here 2 cells - ;")
    run(m, "wl2 constant w  w set-current : only-in-w 11 ; forth-wordlist set-current")
    assert run(m, "w @ forth-wordlist = w cell+ @ link>name name>string s\" only-in-w\" str=") \
        == [-1, -1]
    assert run(m, "also clean-hash w context ! only-in-w previous") == [0x11]


def test_context_stores_need_clean_hash_as_in_paflof(m):
    run(m, "wordlist constant w2  w2 set-current : in-w2 22 ; forth-wordlist set-current")
    # what SLOF's VOCABULARY does: clean-hash, then a store into the top of the order
    run(m, ": use-w2 clean-hash w2 context ! ; : back clean-hash forth-wordlist context ! ;")
    run(m, "get-order set-order also use-w2")
    assert run(m, "in-w2 previous") == [0x22]
    with pytest.raises(ForthError):
        m.evaluate("in-w2")


def test_find_hash_words(m):
    run(m, ": hw1 1 ;")
    a = run(m, 's" hw1" hash')[0]
    assert L.HASH_TABLE <= a < L.HASH_TABLE + 8 * L.HASH_SIZE and a % 8 == 0
    assert run(m, 's" HW1" hash') == [a]               # case does not count
    run(m, f"latest @ {a:x} !")                         # what find-hash.fs caches
    assert run(m, f"{a:x} @ 0<>") == [-1]
    run(m, ": hw1 2 ;")                                  # REVEAL clears the name's cell
    assert run(m, f"{a:x} @") == [0]
    run(m, f"latest @ {a:x} ! clean-hash")
    assert run(m, f"{a:x} @") == [0]


def test_find_words_stack_effects(m):
    run(m, ": fw1 ; : fw2 ; immediate")
    assert run(m, 's" fw1" (find-order) link> \' fw1 =') == [-1]
    assert run(m, 's" fw2" ($find) nip nip') == [-1]
    assert run(m, 's" fw2" ($find) drop nip') == [1]     # the flags byte: immediate
    assert run(m, 's" FW1" last @ ((find)) s" fw1" last @ (find) =') == [-1]
    assert run(m, 's" nope" ($find)') == [0]


def test_header_and_reveal_make_a_word_as_slof_does(m):
    run(m, ": (c) ; ' (c) @ constant <colon>")
    run(m, "s\" hdr-test\" header <colon> , ' dup , ' * , ' exit , reveal")
    assert run(m, "7 hdr-test") == [49]


# ---------------------------------------------------------------- library words
def test_bitmap_allocator(m):
    h = run(m, "10000 1000 100 bm-allocator-init")[0]
    assert h > 0
    a, b = run(m, f"{h:x} 180 bm-alloc {h:x} 100 bm-alloc")
    assert (a, b) == (0x10000, 0x10200)
    run(m, f"{h:x} {a:x} 180 bm-free")
    assert run(m, f"{h:x} 200 bm-alloc {h:x} 10000 bm-alloc") == [0x10000, -1]
    with pytest.raises(ForthError) as e:
        m.evaluate("1234 10 bm-alloc")
    assert "allocator" in str(e.value)


def test_simulated_processor_words(m):
    assert run(m, "pvr@ 10 rshift") == [0x004E]
    assert run(m, "1234 msr! msr@ 55 sprg0! sprg0@") == [0x1234, 0x55]
    t1, t2 = run(m, "tbl@ tbu@")
    assert 0 <= t1 < 1 << 32 and t2 == 0
    d = run(m, "100000 dec! dec@")[0]
    assert 0 < d <= 0x100000
    with pytest.raises(ForthError) as e:
        m.evaluate("crash")
    assert "CRASH" in str(e.value)
    assert run(m, "1 2") == [1, 2]                       # usable after the error


def test_abort_str_and_catcher(m):
    run(m, ': ab true abort" no way" ;')
    assert run(m, "' ab catch") == [-2]
    m.evaluate('abort"-str @ count type')
    assert m.take_output() == "no way"
    # a message Forth stores there is what THROW -2 reports
    run(m, 'create msg 3 c, char x c, char y c, char z c,  msg abort"-str !')
    with pytest.raises(ForthError) as e:
        m.evaluate("-2 throw")
    assert "xyz" in str(e.value)
    assert run(m, "catcher @ : cc catcher @ ; ' cc catch drop 0<>") == [0, -1]


def test_print_status(m):
    m.evaluate("0 print-status -1 print-status -63 print-status")
    assert m.take_output() == " ok\n Aborted\n Undefined word\n\n"


def test_a_context_outside_the_order_is_one_error_and_the_vm_stays_usable(m):
    with pytest.raises(ForthError) as e:
        m.evaluate("0 to context 1 2 +")
    assert e.value.code == -50
    assert run(m, "1 2 +") == [3]
    with pytest.raises(ForthError):
        m.evaluate("search-order 3 + to context dup")
    assert run(m, "get-order nip") == [1]


def test_input_switched_by_storing_ib_and_span_is_parsed_then_put_back():
    """SLOF's `load` switches the input by hand (SAVE-SOURCE, then IB, #IB and SPAN stored,
    >IN zeroed), parses the boot-device list with PARSE-WORD and puts the input back with
    RESTORE-SOURCE; the words after it on the line still run."""
    m = Machine()
    m.evaluate('create devs 20 allot  s" disk net" devs swap move '
               ': first-two ( -- a n b n ) save-source -1 to source-id '
               'devs 8 dup #ib ! span ! to ib 0 >in ! '
               'parse-word parse-word restore-source ;')
    m.evaluate("first-two 3 4 +")
    seven = m.pop()
    net, disk = m.read(*m.vm.s[-2:]), m.read(*m.vm.s[-4:-2])
    assert (disk, net, seven) == (b"disk", b"net", 7)


# ---------------------------------------------------------------- RMOVE, MRMOVE, RFILL
class RecordingHypervisor:
    """A hypervisor over the VM's memory with a plain host, keeping every hcall made."""

    def __init__(self, m: Machine):
        from slofpy.abi.guest_memory import BufferGuestMemory
        from slofpy.host.backend import HostBackend
        from slofpy.hv import Hypervisor
        self.hv = Hypervisor(BufferGuestMemory(m.vm.mem), HostBackend())
        self.calls: list[tuple[int, ...]] = []

    def hcall(self, number, *args):
        self.calls.append((number, *args))
        return self.hv.hcall(number, *args)


MEMOP = 0xF001


@pytest.fixture
def hm(m):
    """m with the board's hcall words (so RMOVE/RFILL copy as board-qemu's paflof does) on a
    hypervisor that records the hcalls (hm.recorder.calls)."""
    from slofpy.firmware.hcall_words import HcallWords
    m.recorder = RecordingHypervisor(m)
    HcallWords(m.recorder).install(m)
    return m


@pytest.mark.parametrize("src, dst, length, esize", [
    (0x100000, 0x200000, 0x40, 3), (0x100000, 0x200004, 0x40, 2), (0x100000, 0x200000, 0x44, 2),
    (0x100002, 0x200000, 0x40, 1), (0x100000, 0x200000, 0x46, 1), (0x100000, 0x200000, 0x41, 0),
    (0x100001, 0x200000, 0x40, 0)])
@pytest.mark.parametrize("name", ["rmove", "mrmove"])
def test_rmove_is_one_memop_hcall_with_the_element_size_of_the_alignment(hm, name, src, dst,
                                                                          length, esize):
    hm.vm.write(src, bytes(range(length)))
    run(hm, f"{src:x} {dst:x} {length:x} {name}")
    assert hm.recorder.calls == [(MEMOP, dst, src, esize, length >> esize, 0)]
    assert hm.vm.read(dst, length) == bytes(range(length))


def test_rfill_fills_with_the_patterns_low_byte_in_512_byte_memops(hm):
    run(hm, "200003 4fc 1234 rfill")
    buf = L.RFILL_BUFFER
    assert hm.recorder.calls == [(MEMOP, 0x200003, buf, 0, 512, 0),
                                      (MEMOP, 0x200203, buf, 0, 512, 0),
                                      (MEMOP, 0x200403, buf, 0, 0xFC, 0)]
    assert hm.vm.read(0x200000, 0x501) == bytes(3) + b"\x34" * 0x4FC + bytes(2)
    hm.recorder.calls.clear()
    run(hm, "200000 10 ff rfill")
    assert hm.recorder.calls == [(MEMOP, 0x200000, buf, 3, 2, 0)]


def test_without_the_boards_copies_rfill_repeats_the_cell_and_rmove_copies(m):
    run(m, "200000 c 0102030405060708 rfill")
    assert m.vm.read(0x200000, 12) == bytes(range(1, 9)) + bytes(range(1, 5))
    run(m, "200000 300001 5 rmove")
    assert m.vm.read(0x300001, 5) == bytes(range(1, 6))


@pytest.mark.parametrize("line, name", [("1000000000 10 0 rfill", "RFILL"),
                                        ("1000 1000000000 8 rmove", "RMOVE"),
                                        ("1000000000 1000 8 mrmove", "MRMOVE")])
def test_a_copy_the_host_refuses_is_one_error_and_the_vm_stays_usable(hm, line, name):
    with pytest.raises(ForthError) as e:
        hm.evaluate(line)
    assert e.value.code == -9
    assert name in str(e.value) and "0x1000000000" in str(e.value)
    assert "\n" not in str(e.value)
    assert run(hm, "1 2 +") == [3]
