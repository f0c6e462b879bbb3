"""The table of built-in words.

`snippet(name, code)` registers a primitive written as Python statements. The statements run
with these names bound: ``s`` (data stack, a list of signed 64-bit ints, top last), ``rs``
(return stack), ``mem`` (VM memory, a bytearray), ``vm`` (the VM), ``MS`` (memory size),
``U/P`` (unpack/pack a big-endian signed cell), ``UU/PU`` (unsigned cell), ``UL/PL`` (u32),
``UW/PW`` (u16), ``SB`` (2**63), ``M`` (2**64-1), ``CP`` (code-page marks), ``JC`` (the
cells compiled bodies cover, address >> 3), ``Throw``, and the names `helper` adds.
Values pushed must already be in signed 64-bit range.

`word(name)` decorates a Python function ``f(vm)`` that carries out a word; `special(name)`
names a word the inner interpreter handles itself (LIT, branches, loop runtime...).

`operator(name, inputs, expr)` registers a primitive that is one expression of its one or two
inputs ( a -- r ) or ( a b -- r ): the one specification its snippet is made from, and that
the code generator lowers onto values it holds in Python locals (codegen/primitives.py).
The other primitives the code generator lowers carry their specification beside their snippet
(`snippet(..., lowering=...)`): a `Shuffle` (the permutation; its snippet is hand-tuned
threaded code), a `MemoryAccess` (fetch, store or comma: size and expression, from which the
word set also makes the snippet) or a `Division`. A snippet whose change to the data-stack
depth is fixed but cannot be read off its text declares it (`effect=`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    """A primitive that is one expression: inputs (1 or 2) taken, one result left. expr
    names the inputs {a} and (the top one) {b}; wrap: the result may lie outside 64 bits
    and is wrapped back; modular: the result's low 64 bits are the same when the inputs
    were not wrapped first (+, -, *, the bitwise words)."""
    inputs: int
    expr: str
    wrap: bool = False
    modular: bool = False


@dataclass(frozen=True)
class Shuffle:
    """A primitive that only rearranges the top `inputs` cells: `outputs` lists the results,
    deepest first, each as the index of the input it is (0: the deepest input)."""
    inputs: int
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class MemoryAccess:
    """A fetch ( a -- x ), store ( x a -- ) or comma ( x -- , at HERE) of `size` bytes.
    expr: a fetch's expression of the address {a}; a store's statement storing {v} at {a};
    a comma's statement storing {v} at {d}. Only accesses whose expression itself fails
    outside memory (no slices) carry one: the code generator drops the range check."""
    kind: str
    size: int
    expr: str


@dataclass(frozen=True)
class Division:
    """( a b -- r ) that throws -10 when b is 0: the expression of {a} and {b}, and whether
    its result may lie outside 64 bits and is wrapped back."""
    expr: str
    wrap: bool


@dataclass(frozen=True)
class Builtin:
    name: str
    code: str | None = None     # snippet statements
    func: object = None         # Python function f(vm)
    immediate: bool = False
    inline: bool = True         # may the compiler inline the snippet
    effect: int | None = None   # its change to the data-stack depth, where fixed and declared
    operator: Operator | None = None    # the expression the snippet was made from
    # what the code generator lowers the snippet from: a Shuffle, MemoryAccess or Division
    lowering: Shuffle | MemoryAccess | Division | None = None


BUILTINS: list[Builtin] = []
_seen: set[str] = set()
# names snippets may use besides the ones above (functions and constants a word set needs),
# bound in every VM's namespace and in generated code
HELPERS: dict[str, object] = {}


def helper(name: str, value: object) -> None:
    if name in HELPERS:
        raise ValueError(f"snippet helper {name!r} defined twice")
    HELPERS[name] = value


def snippet(name: str, code: str, immediate: bool = False, inline: bool = True,
            effect: int | None = None,
            lowering: Shuffle | MemoryAccess | Division | None = None) -> None:
    """A primitive written as Python statements (see above). effect: its fixed change to
    the data-stack depth, where the code generator cannot read it off the statements;
    lowering: the specification the code generator lowers it from."""
    key = name.lower()
    if key in _seen:
        raise ValueError(f"built-in word {name!r} defined twice")
    _seen.add(key)
    BUILTINS.append(Builtin(name, code=code.strip("\n"), immediate=immediate, inline=inline,
                            effect=effect, lowering=lowering))


def operator(name: str, inputs: int, expr: str, wrap: bool = False,
             modular: bool = False) -> None:
    """A primitive that is one expression of its inputs (see Operator); its snippet takes
    the top input off the stack and leaves the result in place of the other."""
    key = name.lower()
    if key in _seen:
        raise ValueError(f"built-in word {name!r} defined twice")
    _seen.add(key)
    spec = Operator(inputs, expr, wrap, modular)
    value = expr.format(a="s[-1]", b="b")
    code = "b = s.pop()\n" if inputs == 2 else ""
    if wrap:        # the wrap only when the result is out of range, which is rare
        code += f"r = {value}\nif not -SB <= r < SB: r = ((r + SB) & M) - SB\ns[-1] = r"
    else:
        code += f"s[-1] = {value}"
    BUILTINS.append(Builtin(name, code=code, operator=spec))


def special(name: str, effect: int | None = None) -> None:
    """A word the inner interpreter carries out itself (it reads inline data or moves ip);
    effect: its change to the data-stack depth, when fixed."""
    key = name.lower()
    if key in _seen:
        raise ValueError(f"built-in word {name!r} defined twice")
    _seen.add(key)
    BUILTINS.append(Builtin(name, effect=effect))


def word(name: str, immediate: bool = False, effect: int | None = None):
    """Decorator: a word carried out by the Python function f(vm). effect: how much deeper
    (or, negative, shallower) it always leaves the data stack when it returns, if it does
    (what the code generator may count on: codegen/analysis.py)."""
    def register(func):
        key = name.lower()
        if key in _seen:
            raise ValueError(f"built-in word {name!r} defined twice")
        _seen.add(key)
        BUILTINS.append(Builtin(name, func=func, immediate=immediate, effect=effect))
        return func
    return register


# paflof's names for slofpy's run-time words (DOTO for (to), SEMICOLON for exit ...): name ->
# the built-in word it names. Each gets a header of its own whose code field is the target's
# kind, so threaded code, generated code and SEE treat it as the target.
SYNONYMS: dict[str, str] = {}


def synonym(name: str, target: str) -> None:
    key = name.lower()
    if key in _seen:
        raise ValueError(f"built-in word {name!r} defined twice")
    _seen.add(key)
    SYNONYMS[name] = target.lower()


# paflof's VALUEs that slofpy keeps in a system-variable cell (CURRENT, CONTEXT, IB,
# SOURCE-ID): name -> the cell. The word is a snippet pushing the cell; TO stores into it.
SYSVALUES: dict[str, int] = {}


def sysvalue(name: str, addr: int) -> None:
    snippet(name, f"s.append(U(mem, {addr})[0])")
    SYSVALUES[name.lower()] = addr


# signed wrap of an arbitrary Python int expression, for use inside snippets
def W(expr: str) -> str:
    return f"((({expr}) + SB) & M) - SB"
