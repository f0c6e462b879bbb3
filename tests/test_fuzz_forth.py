"""Random Forth never breaks the engine: hypothesis-generated programs in a bare Machine.

Every case may end in success or in a `ForthError`, nothing else: no other Python exception
and no hang (each case runs under Machine's time limit; running out of it, code -256, is a
failure here). After every case the same VM must still evaluate `1 2 + .` and print `3 `.

Programs are built from the whole dictionary (read from the VM at test time, so new words are
fuzzed as soon as they exist) minus the words listed in EXCLUDED, from numbers (given with
the # or $ prefix so BASE does not matter), and from templates: definitions with fresh names,
bounded loops, guarded recursion, CATCH/EXECUTE of real xts, EVALUATE of generated text,
defining words, strings, and stores whose addresses are kept to scratch space or outside
memory. See tests/README.md for the figures and the long run (SLOFPY_FUZZ_SCALE).
"""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import cases, fuzz_settings, report
from slofpy import ForthError, Machine
from slofpy.vm import layout as L
from slofpy.vm.dictionary import find

CASE_TIME_LIMIT = 20.0      # seconds; a case this slow is reported as a hang

# Words random token streams do not use, and why. Most are used by the templates below in a
# form that keeps the program finite and the VM's own state intact.
EXCLUDED = {
    # leave the VM by design (the Bye exception ends `slofpy run`)
    "bye": "leaves the VM",
    # loops whose end depends on the data: at random they run (practically) forever, e.g.
    # `begin ... again`, `begin 0 until`, or `0 0 do` (2**64 iterations); the templates
    # build them with bounded counts
    "begin": "loop", "again": "loop", "until": "loop", "while": "loop", "repeat": "loop",
    "do": "loop", "?do": "loop", "loop": "loop", "+loop": "loop",
    # rewinding the input re-runs the rewind itself, forever
    ">in": "rewinds input", "save-input": "rewinds input", "restore-input": "rewinds input",
    # engine internals that read an inline operand: compiled bare they jump to arbitrary
    # addresses (SLOF would crash the same way); or does>-runtimes that act on a body
    # address (`(marker)` given a random one rewinds the dictionary to a random point)
    "lit": "internal", "branch": "internal", "0branch": "internal", "(do)": "internal",
    "(?do)": "internal", "(loop)": "internal", "(+loop)": "internal",
    "(sliteral)": "internal", "(to)": "internal", "(does>)": "internal",
    "(abort\")": "internal", "compile": "internal", "(field)": "internal",
    "(marker)": "internal", "(structure)": "internal", "(vocabulary)": "internal",
    "(prune)": "internal",
    # paflof's names for run-time words (the same inline operands), and its SLITERAL
    "dotick": "internal", "doto": "internal", "dodo": "internal", "do?do": "internal",
    "doloop": "internal", "do+loop": "internal", "sliteral": "internal",
    # paflof's input-state words: INTERPRET runs IB again from its start (endless at
    # random), TERMINAL and TO IB point the input elsewhere, SAVE-SOURCE and RESTORE-SOURCE
    # move return-stack cells (as >R R> do, which streams only get in templates)
    "interpret": "rewinds input", "terminal": "rewinds input",
    "save-source": "rewinds input", "restore-source": "rewinds input",
    # defining words and TO/IS: at random they would redefine or retarget `+`, `.` or
    # `emit` and so change what `1 2 + .` means (streams get them with fresh names)
    ":": "defines", "create": "defines",
    "$create": "defines", "variable": "defines", "2variable": "defines",
    "constant": "defines", "2constant": "defines", "$2constant": "defines",
    "value": "defines", "defer": "defines", "alias": "defines", "buffer:": "defines",
    "vocabulary": "defines", "marker": "defines", "field": "defines", "+field": "defines",
    "begin-structure": "defines", "end-structure": "defines", "struct": "defines",
    "end-struct": "defines", "to": "retargets", "is": "retargets", "defer!": "retargets",
    "header": "defines", "(sysvalue!)": "retargets",
    # the search order: dropping FORTH from it legitimately makes `+` unknown
    "only": "search order", "also": "search order", "previous": "search order",
    "set-order": "search order", "definitions": "search order", "set-current": "search order",
    "seal": "search order", "forth": "search order", "replace-top-of-order": "search order",
    # numbers in base 2 have no digit 2, so `1 2 + .` would not parse
    "binary": "base",
    # stores to an address from the stack: at random they hit BASE, the search order or a
    # dictionary link (legitimately breaking `1 2 + .`); the templates store only to
    # scratch space or outside memory
    "!": "store", "c!": "store", "w!": "store", "l!": "store", "x!": "store", "2!": "store",
    "+!": "store", "on": "store", "off": "store", "x!-le": "store", "l!-le": "store",
    "w!-le": "store", "x!-be": "store", "l!-be": "store", "w!-be": "store",
    "unaligned-w!": "store", "unaligned-l!": "store", "fill": "store", "erase": "store",
    "blank": "store", "move": "store", "cmove": "store", "cmove>": "store", "place": "store",
    "pack": "store", "zplace": "store", "wbflips": "store", "lbflips": "store",
    "xbflips": "store", "lwflips": "store", "cpoke": "store", "wpoke": "store",
    "lpoke": "store", "rmove": "store", "mrmove": "store", "rfill": "store",
    "xlflips": "store", "xwflips": "store",
    # print n characters: a random 64-bit n is an output loop that legitimately runs for
    # ages (SLOF's loops just the same; a time limit ends it, see test_robustness_forth);
    # the templates give them counts up to a few hundred
    "spaces": "long output", ".r": "long output", "u.r": "long output", "0.r": "long output",
    # a negative ALLOT hands dictionary space back and `,` then overwrites older words,
    # the kernel's included; FREE-MEM of a wrong address corrupts SLOF's heap (it keeps no
    # headers to check) - both only in templates
    "allot": "dictionary", "free-mem": "heap",
}

SCRATCH = 0x100000          # bytes of dictionary space a case may scribble on (above HERE)
MEMORY = L.DEFAULT_MEMORY_SIZE


def dictionary_words(m: Machine) -> list[str]:
    m.evaluate("words")
    return sorted(set(m.take_output().split()))


_PROBE = Machine()
WORDS = [w for w in dictionary_words(_PROBE) if w.lower() not in EXCLUDED]
IMMEDIATE = {w.lower() for w in WORDS if find(_PROBE.vm, w.encode("latin-1"))[1]}
del _PROBE

# the control words random streams may use (the loop words only come from templates)
CONTROL = ["if", "else", "then", "case", "of", "endof", "endcase", "exit", "leave", "?leave",
           "unloop", "recurse", "ahead", "i", "j", "[", "]", "literal", "postpone",
           "[']", "'", "[char]", "char", "immediate"]


# ---------------------------------------------------------------- pieces

numbers = st.one_of(
    st.integers(-3, 20),
    st.sampled_from([-1, 0, 8, 0x100, 0xFFFF, 1 << 32, (1 << 63) - 1, -(1 << 63), -8,
                     -256, MEMORY + 8, 1 << 40]),
    st.integers(-(1 << 63), (1 << 63) - 1),
).map(lambda n: f"#{n}")

hex_numbers = st.integers(0, 0xFFFF).map(lambda n: f"{n:x}")   # in whatever BASE is
words = st.sampled_from(WORDS)
cased_words = words.map(lambda w: w.upper())
chars = st.sampled_from(list("abcXYZ019 +-.*/@#$%&^~_<>=?!,|[]{}")
                        + ["\\t", "\\n", "\\x41", "\\\\"])
text = st.lists(st.sampled_from(list("abcdefXYZ0123456789 +-.*/@#$%&^~_<>=?!,|[]{}")),
                max_size=40).map("".join)

strings = st.one_of(
    text.map(lambda t: f's" {t}"'),
    text.map(lambda t: f'." {t}"'),
    text.map(lambda t: f'c" {t}"'),
    text.map(lambda t: f'z" {t}"'),
    text.map(lambda t: f'" {t}"'),
    st.tuples(text, st.sampled_from(["41 42", "0", "ff 00 7", "", "4"])).map(
        lambda p: f'" {p[0]}"({p[1]})"'),
    st.lists(chars, max_size=10).map(lambda cs: 's\\" ' + "".join(cs) + '"'),
    text.map(lambda t: f".( {t.replace(')', '')})"),
    text.map(lambda t: f"( {t.replace(')', '')} )"),
    st.just('s" ' + "y" * 300 + '"'),                  # longer than an interpret-mode pocket
    st.tuples(st.sampled_from(["spaces", ".r", "u.r", "0.r"]), st.integers(-5, 300)).map(
        lambda p: f"#{p[1]} spaces" if p[0] == "spaces" else f"#-7 #{p[1]} {p[0]}"),
    st.sampled_from(["#0 [if] #1 [else] #2 [then]", "#1 [if] #1 [then]", "[defined] dup",
                     "[undefined] nothere", "#0 [if] #1", "[then]", "[else] #4 [then]"]),
)

class Names:
    """Fresh word names (so no case ever redefines a word the check needs)."""
    count = 0

    @classmethod
    def new(cls) -> str:
        cls.count += 1
        return f"fz{cls.count}"


# defining words with a fresh name, as stream tokens (`;` and `:noname` come as words)
DEFINERS = [":", "create", "variable", "2variable", "value", "constant", "2constant",
            "defer", "buffer:", "marker", "vocabulary", "field", "+field", "alias"]
named_definers = st.sampled_from(DEFINERS).map(lambda w: f"{w} {Names.new()}")

tokens = st.one_of(words, words, words, numbers, numbers, hex_numbers, cased_words,
                   st.sampled_from(CONTROL), strings, named_definers)


def joined(parts) -> str:
    return " ".join(parts)


# ---------------------------------------------------------------- templates

# immediate words a bounded loop's body may hold: the others run while the loop is being
# compiled and may push or pop there, e.g. `[defined] x` leaves a flag that `?do` then takes
# as its start index (so `0 0 ?do [defined] x -1 +loop` runs 2**64 times), or parse the
# token after them (`1 0 ?do [char] -1 +loop` steps by 35, not -1)
LOOP_CONTROL = ["if", "else", "then", "case", "of", "endof", "endcase", "i", "j", "leave",
                "?leave"]


@st.composite
def loop_body(draw, depth: int):
    """Tokens for inside a bounded loop: no return-stack words (they would move the loop's
    own index), no bare RECURSE, no immediate words that use the stack while compiling."""
    pieces = draw(st.lists(st.one_of(
        words.filter(lambda w: w.lower() not in NOT_IN_LOOPS and w.lower() not in IMMEDIATE),
        numbers, st.sampled_from(LOOP_CONTROL), strings.filter(lambda t: "[" not in t),
        small_loop_program(depth + 1) if depth < 2 else numbers), max_size=8))
    return joined(pieces)


# words a bounded loop's body leaves out: the return-stack words would move the loop's own
# index, EXECUTE/CATCH/EVALUATE/... could run anything (`source evaluate` in a loop runs
# the loop again, exponentially), the compile-time words use the stack while the loop is
# compiled, and:
NOT_IN_LOOPS = {">r", "r>", "r@", "rdrop", "2>r", "2r>", "2r@", "rpick", "rdepth!",
                "rdepth", "unloop", "exit", "recurse", "execute", "catch", "evaluate", "eval",
                "eval-string", "included", "include", "quit", "]", "[", "postpone",
                "literal", "'", "[']", "char", "[char]", "immediate", "depth!", "throw",
                "abort", "see",
                # they parse the input when the loop runs, so the tokens after the loop
                # are eaten and the next `?do` takes its bounds from whatever is left
                "parse", "parse-name", "parse-word", "word", "skipws", "source"}


@st.composite
def bounded_loop(draw, depth: int):
    """A DO, BEGIN-UNTIL or BEGIN-WHILE-REPEAT loop that ends after a few rounds whatever
    its body does (the count lives in the loop index or in a variable of its own)."""
    body = draw(loop_body(depth))
    n = draw(st.integers(0, 12))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return f"#{n} #0 ?do {body} loop"
    if kind == 1:
        step = draw(st.integers(1, 4))
        return f"#{n} #0 ?do {body} #{step} +loop"
    if kind == 2:
        return f"#0 #{n} ?do {body} #-1 +loop"
    counter = draw(st.sampled_from(["fz-c1", "fz-c2"]))
    if kind == 3:
        return f"#{n} {counter} ! begin {body} {counter} @ #1 - dup {counter} ! #1 < until"
    return (f"#{n} {counter} ! begin {counter} @ #0 > while {body} "
            f"{counter} @ #1 - {counter} ! repeat")


@st.composite
def definition(draw, depth: int):
    """A colon definition with a fresh name, called 0-4 times (the third call compiles it
    to Python; a loop compiles it on the first)."""
    name = Names.new()
    body = draw(st.lists(st.one_of(tokens, tokens, bounded_loop(depth + 1) if depth < 2
                                   else tokens, st.just("recurse")), max_size=14))
    calls = draw(st.integers(0, 4))
    return f": {name} {joined(body)} ; " + " ".join([name] * calls)


@st.composite
def recursion(draw, depth: int):
    name = Names.new()
    kind = draw(st.integers(0, 3))
    if kind == 0:     # unbounded: ends in -5
        return f": {name} {draw(tokens)} recurse ; {name}"
    if kind == 1:     # bounded by a counter on the stack
        n = draw(st.integers(0, 60))
        return f": {name} dup #0 > if #1 - recurse then ; #{n} {name} {name} {name} {name}"
    if kind == 2:     # through a deferred word
        d = Names.new()
        return f"defer {d} : {name} {d} ; ' {name} to {d} {name}"
    return f": {name} s\" {name}\" evaluate ; {name}"       # through EVALUATE


@st.composite
def defining(draw, depth: int):
    name = Names.new()
    n = draw(numbers)
    kind = draw(st.integers(0, 11))
    if kind == 0:
        return f"{n} constant {name} {name}"
    if kind == 1:
        return f"variable {name} {n} {name} ! {name} @"
    if kind == 2:
        return f"{n} value {name} {draw(numbers)} to {name} {name}"
    if kind == 3:
        target = draw(words)
        return f"defer {name} ' {target} to {name} {draw(tokens)} {name}"
    if kind == 4:
        return f"defer {name} {name}"                       # not set yet
    if kind == 5:
        body = joined(draw(st.lists(tokens, max_size=6)))
        return (f": {name} create {draw(numbers)} , does> {body} ; "
                f"{name} {name}a {name}a {name}a")
    if kind == 6:
        return f"create {name} #{draw(st.integers(0, 64))} allot {name} {draw(tokens)}"
    if kind == 7:
        return f"#{draw(st.integers(0, 256))} buffer: {name} {name} {draw(tokens)}"
    if kind == 8:
        body = joined(draw(st.lists(tokens, max_size=8)))
        return f":noname {body} ; {draw(st.sampled_from(['execute', 'catch', 'drop']))}"
    if kind == 9:
        return f"marker {name} {draw(definition(depth + 1))} {name}"
    if kind == 10:
        return f"alias {name} {draw(words)} {draw(tokens)} {name}"
    return f"{n} {draw(numbers)} 2constant {name} {name}"


# addresses a store may use: scratch space above HERE, PAD, a fresh heap block, and places
# outside memory (which must be -9)
@st.composite
def stores(draw, depth: int):
    word = draw(st.sampled_from(
        ["!", "c!", "w!", "l!", "x!", "2!", "+!", "x!-le", "l!-be", "unaligned-l!"]))
    place = draw(st.integers(0, 3))
    value = draw(numbers)
    if place == 0:
        return f"{value} here #{draw(st.integers(0, SCRATCH - 16))} + {word}"
    if place == 1:
        return f"{value} pad #{draw(st.integers(0, 0x3F0))} + {word}"
    if place == 2:
        off = draw(st.integers(0, 240))
        return (f"#256 alloc-mem ?dup if >r {value} r@ #{off} + {word} r> #256 free-mem "
                f"then")
    bad = draw(st.sampled_from([-1, -8, MEMORY, MEMORY - 1, MEMORY - 3, (1 << 63) - 1,
                                -(1 << 63), 1 << 40]))
    return f"{value} #{bad} {word}"


@st.composite
def blocks(draw, depth: int):
    """fill/erase/blank/move/cmove/cmove>/place/pack/zplace/flips/allot with lengths that
    are 0, small, negative or huge, on scratch space or outside memory."""
    length = draw(st.one_of(st.integers(0, 64), st.sampled_from(
        [-1, -8, MEMORY, MEMORY + 1, (1 << 63) - 1, -(1 << 63), SCRATCH])))
    inside = draw(st.sampled_from(["here", "pad", "here #4096 +"]))
    base = draw(st.sampled_from([inside, inside, "#-8", f"#{MEMORY - 4}"]))
    if length > 0x300 and base != "here" and base.startswith(("pad", "here #")):
        base = "here"          # a long run from PAD or HERE+4096 is still inside scratch
    if length >= SCRATCH:
        length = draw(st.sampled_from([MEMORY, MEMORY + 1, (1 << 63) - 1]))   # past memory
    op = draw(st.integers(0, 9))
    n = f"#{length}"
    if op == 0:
        return f"{base} {n} {draw(numbers)} fill"
    if op == 1:
        return f"{base} {n} {draw(st.sampled_from(['erase', 'blank']))}"
    if op == 2:
        word = draw(st.sampled_from(["move", "cmove", "cmove>"]))
        src = draw(st.sampled_from(["pad", "here", "#0", "#-1", f"#{MEMORY - 2}"]))
        return f"{src} {base} {n} {word}"
    if op == 3:
        word = draw(st.sampled_from(["place", "pack", "zplace"]))
        return f"pad {n} {base} {word}"
    if op == 4:
        word = draw(st.sampled_from(["wbflips", "lbflips", "xbflips", "lwflips"]))
        return f"{base} {n} {word}"
    if op == 5:
        word = draw(st.sampled_from(["type", "dump", "count", "evaluate", "-trailing",
                                     "-leading", "comp", "compare", "str=", "zcount"]))
        arg = {"count": "", "zcount": "", "comp": f"pad {n}", "compare": f"pad {n}",
               "str=": f"pad {n}"}.get(word, n)
        return f"{base} {arg} {word}"
    if op == 6:
        size = draw(st.sampled_from([0, 1, 64, 4096, 1 << 20, 1 << 30, -1, (1 << 63) - 1]))
        return f"#{size} alloc-mem ?dup if #{size} free-mem then"
    if op == 7:
        return f"#{draw(st.integers(0, 256))} allot"
    if op == 8:
        return f"#{draw(st.sampled_from([-(1 << 40), (1 << 40), (1 << 63) - 1]))} allot"
    return f"{base} {n} #32 {draw(st.sampled_from(['skip', 'scan']))}"


@st.composite
def catching(draw, depth: int):
    kind = draw(st.integers(0, 3))
    target = draw(words)
    if kind == 0:
        return f"['] {target} catch"
    if kind == 1:
        return f"' {target} execute"
    if kind == 2:
        return f"{draw(numbers)} throw"
    body = draw(small_program(depth + 1)) if depth < 2 else draw(tokens)
    return f'{draw(numbers)} s" {body.replace(chr(34), "")}" evaluate'


def small_loop_program(depth: int):
    """Loop-safe pieces (for a loop body): nested bounded loops, stores and blocks."""
    return st.lists(st.one_of(bounded_loop(depth) if depth < 3 else numbers, stores(depth),
                              blocks(depth)), max_size=3).map(joined)


def small_program(depth: int = 0):
    return st.lists(st.one_of(
        tokens, tokens, tokens,
        bounded_loop(depth) if depth < 3 else tokens,
        definition(depth) if depth < 2 else tokens,
        recursion(depth), defining(depth) if depth < 2 else tokens,
        stores(depth), blocks(depth), catching(depth),
    ), max_size=12).map(joined)


CATEGORIES = {
    "token streams": st.lists(tokens, max_size=30).map(joined),
    "definitions": definition(0),
    "control structures": st.lists(st.one_of(bounded_loop(0), st.sampled_from(CONTROL),
                                             numbers, words), max_size=12).map(joined),
    "strings and parsing": st.lists(st.one_of(strings, words, numbers), max_size=12).map(
        joined),
    "defining words": st.lists(defining(0), min_size=1, max_size=4).map(joined),
    "recursion, catch, evaluate": st.lists(st.one_of(recursion(0), catching(0)),
                                           min_size=1, max_size=4).map(joined),
    "memory": st.lists(st.one_of(stores(0), blocks(0), numbers, words), min_size=1,
                       max_size=8).map(joined),
    "mixtures": small_program(0),
}
CI_EXAMPLES = 150          # per category at scale 1


# ---------------------------------------------------------------- the harness

class Runner:
    """One VM for a whole category: each case runs in it after all the ones before."""

    def __init__(self):
        self.printed = 0                      # printed text is counted, not kept
        self.tail = ""                        # except its last few characters
        self.m = Machine(output=self.sink)
        self.m.vm.input_line = None           # KEY/ACCEPT read end of input at once
        # the loop counters, then a word for a stray IMMEDIATE to hit instead of them (an
        # immediate counter is not compiled into the loop, which then never ends)
        self.m.evaluate("variable fz-c1 variable fz-c2 : fz-latest ;")
        self.outcomes: Counter = Counter()
        self.cases = 0

    def sink(self, text: str) -> None:
        self.printed += len(text)
        self.tail = (self.tail + text)[-16:]

    def run(self, program: str) -> None:
        m = self.m
        self.cases += 1
        try:
            m.evaluate(program, timeout=CASE_TIME_LIMIT)
            self.outcomes["ok"] += 1
        except ForthError as e:
            # a time limit running out (not a program's own `-256 throw`) is a hang
            assert not (e.code == -256 and "timed out after" in e.text), f"hang: {program!r}"
            self.outcomes[e.code] += 1
        # anything else (a Python exception) fails the test here, with the program
        vm = m.vm
        if vm.cell(L.STATE) or vm.control:
            m.recover()          # a case may end half way through a definition
        m.evaluate("clear cr")
        before = self.printed
        m.evaluate("1 2 + . cr", timeout=CASE_TIME_LIMIT)
        assert self.printed - before == 3 and self.tail.endswith("3 \n"), \
            f"VM broken after {program!r}"
        assert m.stack == []
        if self.cases % 400 == 0:
            self.fresh_dictionary_space()

    def fresh_dictionary_space(self) -> None:
        """Keep room for definitions: a category's many small ALLOTs add up."""
        if self.m.vm.cell(L.DICT_LIMIT) - self.m.vm.cell(L.DP) < 4 * SCRATCH:
            self.__init__()


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_random_forth_ends_in_success_or_a_forth_error(category):
    runner = Runner()

    @fuzz_settings(CI_EXAMPLES)
    @given(program=CATEGORIES[category])
    def one_case(program):
        runner.run(program)

    one_case()
    ok = runner.outcomes.pop("ok", 0)
    errors = ", ".join(f"{code}: {n}" for code, n in sorted(runner.outcomes.items()))
    report(f"forth {category}: {runner.cases} cases, {ok} ok, errors {errors}")
    assert runner.cases >= cases(CI_EXAMPLES) // 2
