"""Console and input: EMIT TYPE CR KEY ACCEPT, pictured numeric output and the number
printing words (. U. .R U.R 0.R .D .H (.) (U.) ?), BASE words, the input-source words
(SOURCE >IN SOURCE-ID TIB REFILL EVALUATE INCLUDED), ENVIRONMENT?, QUIT and BYE."""
from __future__ import annotations


from ...errors import Throw
from .. import layout as L
from ..outer import evaluate_memory, include_named, parse_name
from .table import sysvalue, word


class Bye(Exception):
    """BYE: leave the VM (the command line exits)."""


def _signed(v: int) -> int:
    return ((v + L.SIGN64) & L.MASK64) - L.SIGN64


def format_number(n: int, base: int, signed: bool = True) -> str:
    """n in base, lowercase, as SLOF prints it."""
    if not 2 <= base <= 36:
        base = 10
    neg = signed and n < 0
    u = -n if neg else n & L.MASK64
    if base == 16 or base == 10:
        out = format(u, "x") if base == 16 else str(u)
        return "-" + out if neg else out
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        out = digits[u % base] + out
        u //= base
        if not u:
            break
    return "-" + out if neg else out


# ---------------------------------------------------------------- output
@word("(emit)")
def raw_emit(vm) -> None:
    vm.emit_text(chr(vm.s.pop() & 0xFF))


@word("(type)")
def raw_type(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    if n:
        vm.emit_text(vm.read(a, n).decode("latin-1"))   # a negative n is -9, as in vm.read


@word("type")
def type_(vm) -> None:
    emit_xt = vm.cell(vm.emit_defer + 8)
    if emit_xt == vm.builtin_xt["(emit)"]:
        raw_type(vm)
        return
    n = vm.s.pop()
    a = vm.s.pop()
    for c in vm.read(a, n) if n else b"":
        vm.s.append(c)
        vm.execute(emit_xt)


# Long runs of padding (SPACES, .R widths) go out in pieces of this many characters, so a
# huge count is a long-running output loop (interruptible) rather than one huge string.
PAD_CHUNK = 4096


def emit_padding(vm, n: int, char: str = " ") -> None:
    """Print n copies of char through EMIT, a piece at a time."""
    while n > 0:
        emit_str(vm, char * min(n, PAD_CHUNK))
        n -= PAD_CHUNK


def emit_padded(vm, text: str, width: int, char: str = " ") -> None:
    """Print text right-aligned in width characters (no padding if it is wider)."""
    emit_padding(vm, width - len(text), char)
    emit_str(vm, text)


def emit_str(vm, text: str) -> None:
    """Print text through EMIT (so a redirected EMIT sees it)."""
    emit_xt = vm.cell(vm.emit_defer + 8)
    if emit_xt == vm.builtin_xt["(emit)"]:
        vm.emit_text(text)
        return
    for c in text.encode("latin-1", "replace"):
        vm.s.append(c)
        vm.execute(emit_xt)


@word("(newline)")
def cr(vm) -> None:
    # ( -- ): end the output line; CR is a DEFER (kernel.fs) set to this, as in paflof
    emit_str(vm, "\n")


@word("space")
def space(vm) -> None:
    emit_str(vm, " ")


@word("spaces")
def spaces(vm) -> None:
    emit_padding(vm, vm.s.pop())


@word(".")
def dot(vm) -> None:
    emit_str(vm, format_number(vm.s.pop(), vm.cell(L.BASE)) + " ")


@word("s.")
def s_dot(vm) -> None:
    dot(vm)


@word("u.")
def u_dot(vm) -> None:
    emit_str(vm, format_number(vm.s.pop(), vm.cell(L.BASE), False) + " ")


@word(".r")
def dot_r(vm) -> None:
    w = vm.s.pop()
    emit_padded(vm, format_number(vm.s.pop(), vm.cell(L.BASE)), w)


@word("u.r")
def u_dot_r(vm) -> None:
    w = vm.s.pop()
    emit_padded(vm, format_number(vm.s.pop(), vm.cell(L.BASE), False), w)


@word("0.r")
def zero_dot_r(vm) -> None:
    w = vm.s.pop()
    emit_padded(vm, format_number(vm.s.pop(), vm.cell(L.BASE), False), w, "0")


@word(".d")
def dot_d(vm) -> None:
    emit_str(vm, format_number(vm.s.pop(), 10) + " ")


@word(".h")
def dot_h(vm) -> None:
    emit_str(vm, format_number(vm.s.pop(), 16) + " ")


@word("?")
def question(vm) -> None:
    vm.s.append(vm.cell(vm.s.pop()))
    dot(vm)


def _to_pocket_string(vm, text: str) -> None:
    from .strings import pocket
    data = text.encode("latin-1")
    vm.s.extend((pocket(vm, data), len(data)))


@word("(.)")
def paren_dot(vm) -> None:
    _to_pocket_string(vm, format_number(vm.s.pop(), vm.cell(L.BASE)))


@word("(u.)", effect=1)
def paren_u_dot(vm) -> None:
    _to_pocket_string(vm, format_number(vm.s.pop(), vm.cell(L.BASE), False))


@word("(.d)")
def paren_dot_d(vm) -> None:
    _to_pocket_string(vm, format_number(vm.s.pop(), 10))


# pictured numeric output: the string grows down from HOLD_END
@word("<#")
def less_sharp(vm) -> None:
    vm.set_cell(L.HLD, L.HOLD_END)


def _hold(vm, c: int) -> None:
    h = vm.cell(L.HLD) - 1
    if h < L.HOLD_END - 0x100:
        raise Throw(-17)
    vm.mem[h] = c & 0xFF
    vm.code_store(h, 1)          # HLD may have been pointed into a compiled body
    vm.set_cell(L.HLD, h)


@word("hold")
def hold(vm) -> None:
    _hold(vm, vm.s.pop())


@word("holds")
def holds(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    for c in reversed(vm.read(a, max(n, 0))):
        _hold(vm, c)


@word("sign")
def sign(vm) -> None:
    if vm.s.pop() < 0:
        _hold(vm, ord("-"))


def _ud(vm) -> int:
    hi = vm.s.pop() & L.MASK64
    lo = vm.s.pop() & L.MASK64
    return (hi << 64) | lo


def _push_ud(vm, ud: int) -> None:
    vm.s.extend((_signed(ud & L.MASK64), _signed(ud >> 64)))


@word("#")
def sharp(vm) -> None:
    base = vm.cell(L.BASE)
    ud = _ud(vm)
    _hold(vm, ord("0123456789abcdefghijklmnopqrstuvwxyz"[ud % base]))
    _push_ud(vm, ud // base)


@word("#s")
def sharp_s(vm) -> None:
    while True:
        sharp(vm)
        if vm.s[-1] == 0 and vm.s[-2] == 0:
            break


@word("#>")
def sharp_greater(vm) -> None:
    vm.s.pop()
    vm.s.pop()
    h = vm.cell(L.HLD)
    vm.s.extend((h, L.HOLD_END - h))




# ---------------------------------------------------------------- base
@word("base", effect=1)
def base(vm) -> None:
    vm.s.append(L.BASE)


@word("hex", effect=0)
def hex_(vm) -> None:
    vm.set_cell(L.BASE, 16)


@word("decimal", effect=0)
def decimal(vm) -> None:
    vm.set_cell(L.BASE, 10)


@word("octal")
def octal(vm) -> None:
    vm.set_cell(L.BASE, 8)


@word("binary")
def binary(vm) -> None:
    vm.set_cell(L.BASE, 2)


@word("pad")
def pad(vm) -> None:
    vm.s.append(L.PAD)


# ---------------------------------------------------------------- input
def input_bytes(line: str | bytes) -> bytes:
    """A line from the input source as bytes: bytes as they are, text as UTF-8."""
    return bytes(line) if isinstance(line, (bytes, bytearray)) else line.encode("utf-8", "surrogateescape")


@word("(key)")
def key(vm) -> None:
    vm.flush()
    while not vm.key_buffer:
        line = vm.input_line() if vm.input_line else None
        if line is None:
            vm.s.append(4)    # end of input reads as ^D
            return
        vm.key_buffer += input_bytes(line) + b"\n"
    vm.s.append(vm.key_buffer[0])
    vm.key_buffer = vm.key_buffer[1:]


@word("(key?)")
def key_question(vm) -> None:
    vm.s.append(-1 if vm.key_buffer else 0)


@word("(accept)")
def accept(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    vm.flush()
    if vm.key_buffer:
        data, _, rest = vm.key_buffer.partition(b"\n")
        vm.key_buffer = rest
    else:
        line = vm.input_line() if vm.input_line else None
        data = input_bytes(line or b"")
    data = data[:max(n, 0)]
    vm.write(a, data)
    vm.s.append(len(data))


@word("expect")
def expect(vm) -> None:
    accept(vm)
    vm.set_cell(L.SOURCE_LEN, vm.s.pop())


@word("span", effect=1)
def span(vm) -> None:
    # ( -- addr ): as in paflof, the length of the input being interpreted (what EXPECT
    # stores, and what SLOF's `"` and PARSE read as the end of the input)
    vm.s.append(L.SOURCE_LEN)


sysvalue("ib", L.SOURCE_ADDR)           # ( -- addr ): the input buffer


@word("#ib", effect=1)
def number_ib(vm) -> None:
    # ( -- addr ): the input buffer's size (the line's length, or #TIB at the terminal)
    vm.s.append(L.NIB)


@word("terminal", effect=0)
def terminal(vm) -> None:
    # ( -- ): paflof's: the terminal input buffer becomes IB (#IB its size, SOURCE-ID 0).
    # slofpy reads a line typed at its prompt through Machine.interpret_line instead; this
    # only sets the cells
    vm.set_cell(L.SOURCE_ADDR, L.TIB)
    vm.set_cell(L.NIB, vm.cell(L.NTIB))
    vm.set_cell(L.SOURCE_ID, 0)


@word("interpret")
def interpret_input(vm) -> None:
    # ( -- ): interpret IB from its start to SPAN, as SOURCE-ID says it came (paflof's
    # INTERPRET, which SLOF calls after setting IB, #IB and SPAN itself)
    from ..outer import interpret_memory
    interpret_memory(vm, vm.cell(L.SOURCE_ADDR), vm.cell(L.SOURCE_LEN), vm.cell(L.SOURCE_ID))


@word("tib")
def tib(vm) -> None:
    vm.s.append(L.TIB)


@word("#tib")
def number_tib(vm) -> None:
    vm.s.append(L.NTIB)


@word("source")
def source(vm) -> None:
    # ( -- addr len ): IB #IB @, as in paflof
    vm.s.extend((vm.cell(L.SOURCE_ADDR), vm.cell(L.NIB)))


@word(">in")
def to_in(vm) -> None:
    vm.s.append(L.TOIN)


sysvalue("source-id", L.SOURCE_ID)


@word("state")
def state(vm) -> None:
    vm.s.append(L.STATE)


@word("refill")
def refill(vm) -> None:
    vm.s.append(0)


@word("save-input")
def save_input(vm) -> None:
    vm.s.extend((vm.cell(L.SOURCE_ADDR), vm.cell(L.TOIN), 2))


@word("restore-input")
def restore_input(vm) -> None:
    n = vm.s.pop()
    vals = [vm.s.pop() for _ in range(n)][::-1]
    if n == 2 and vals[0] == vm.cell(L.SOURCE_ADDR):
        vm.set_cell(L.TOIN, vals[1])
        vm.s.append(0)
    else:
        vm.s.append(-1)


@word("evaluate")
def evaluate(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    evaluate_memory(vm, a, n)


@word("eval")
def eval_(vm) -> None:
    evaluate(vm)


@word("included")
def included(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    include_named(vm, vm.read(a, n).decode("latin-1"))


@word("include")
def include(vm) -> None:
    _, name = parse_name(vm)
    if not name:
        raise Throw(-16)
    include_named(vm, name.decode("latin-1"))


@word("bye")
def bye(vm) -> None:
    vm.flush()
    raise Bye()


@word("quit")
def quit_(vm) -> None:
    raise Throw(-56)


_ENVIRONMENT = {
    b"/counted-string": [255], b"/hold": [256], b"/pad": [1024],
    b"address-unit-bits": [8], b"floored": [-1], b"max-char": [255],
    b"max-n": [(1 << 63) - 1], b"max-u": [-1], b"max-d": [-1, (1 << 63) - 1],
    b"max-ud": [-1, -1], b"return-stack-cells": [4096], b"stack-cells": [4096],
    b"wordlists": [64],
}


@word("environment?")
def environment_q(vm) -> None:
    n = vm.s.pop()
    a = vm.s.pop()
    vals = _ENVIRONMENT.get(vm.read(a, n).lower())
    if vals is None:
        vm.s.append(0)
    else:
        vm.s.extend(vals)
        vm.s.append(-1)
