"""Where things live in VM memory, and the code-field kinds of words.

The VM has one flat, byte-addressed, big-endian memory. Its low part holds the system
variables, the pockets for interpret-mode strings, the pictured-output and PAD buffers, the
terminal input buffer and the buffer that interpret-mode control structures compile into.
Above that come the source texts being evaluated, then the dictionary, and at the top the
alloc-mem heap. Every address stays below 4 GiB.

A word's header is: link cell (address of the previous word's link), flags byte, count byte,
name, zero padding to a cell boundary. The execution token (xt) is the address of the next
cell, the code field, which holds the word's kind. The body follows.
"""
from __future__ import annotations

CELL = 8

# ---- system variables (one cell each) -------------------------------------------------
SYSVARS = 0x1000
_names = [
    "DP", "BASE", "STATE", "LATEST", "CURRENT", "CONTEXT",
    "ORDER0", "ORDER1", "ORDER2", "ORDER3", "ORDER4", "ORDER5", "ORDER6", "ORDER7",
    "ORDER8", "ORDER9", "ORDER10", "ORDER11", "ORDER12", "ORDER13", "ORDER14", "ORDER15",
    "TOIN", "SOURCE_ADDR", "SOURCE_LEN", "SOURCE_ID",
    "HEAP_WILD", "POCKET_NO", "FORTH_WID", "FORTH_WID_LINK", "WORDLISTS", "HLD",
    "LAST_XT", "SPAN", "NTIB", "ABORT_STR", "ABORT_LEN", "COMP_TOP", "SRC_TOP",
    "HEAP_START", "HEAP_END", "DICT_LIMIT", "ENCODE_SCRATCH",
    "NIB", "CATCHER", "THERE", "ABORT_CSTR", "HW_HANDLER", "REVEAL_HOOK", "FIND_HOOK",
    "MSR", "DEC", "HID0", "HID1", "HID4", "HID5", "SDR1", "DABR", "HIOR",
    "SPRG0", "SPRG1", "SPRG2", "SPRG3", "HSPRG0", "HSPRG1", "MMCR0",
]
SYSVAR: dict[str, int] = {n: SYSVARS + CELL * i for i, n in enumerate(_names)}
DP = SYSVAR["DP"]
BASE = SYSVAR["BASE"]
STATE = SYSVAR["STATE"]
LATEST = SYSVAR["LATEST"]
CURRENT = SYSVAR["CURRENT"]
# The search order as paflof keeps it: SEARCH-ORDER is an array of MAX_ORDER wids, the first
# searched last; CONTEXT holds the address of the entry searched first (SEARCH-ORDER - 8
# for an empty order).
CONTEXT = SYSVAR["CONTEXT"]
ORDER = SYSVAR["ORDER0"]
MAX_ORDER = 16
TOIN = SYSVAR["TOIN"]
SOURCE_ADDR = SYSVAR["SOURCE_ADDR"]
SOURCE_LEN = SYSVAR["SOURCE_LEN"]
SOURCE_ID = SYSVAR["SOURCE_ID"]
HEAP_WILD = SYSVAR["HEAP_WILD"]
POCKET_NO = SYSVAR["POCKET_NO"]
FORTH_WID = SYSVAR["FORTH_WID"]
WORDLISTS = SYSVAR["WORDLISTS"]
HLD = SYSVAR["HLD"]
LAST_XT = SYSVAR["LAST_XT"]
SPAN = SYSVAR["SPAN"]
NTIB = SYSVAR["NTIB"]
ABORT_STR = SYSVAR["ABORT_STR"]
ABORT_LEN = SYSVAR["ABORT_LEN"]
COMP_TOP = SYSVAR["COMP_TOP"]
SRC_TOP = SYSVAR["SRC_TOP"]
HEAP_START = SYSVAR["HEAP_START"]
HEAP_END = SYSVAR["HEAP_END"]
DICT_LIMIT = SYSVAR["DICT_LIMIT"]
NIB = SYSVAR["NIB"]                # #IB: the input buffer's size (SOURCE's length)
CATCHER = SYSVAR["CATCHER"]        # return-stack depth of the innermost CATCH
THERE = SYSVAR["THERE"]            # HERE while an interpret-mode structure compiles
ABORT_CSTR = SYSVAR["ABORT_CSTR"]  # ABORT"-STR: the counted string of the last ABORT"
# simulated CPU registers (see words/cpu.py)
CPU_REGS = {n: SYSVAR[n] for n in ("MSR", "DEC", "HID0", "HID1", "HID4", "HID5", "SDR1",
                                   "DABR", "HIOR", "SPRG0", "SPRG1", "SPRG2", "SPRG3",
                                   "HSPRG0", "HSPRG1", "MMCR0")}

# free-list heads of the alloc-mem heap, one per power of two
HEAP_HEADS = 0x1400
HEAP_ORDERS = 40

# ---- buffers ---------------------------------------------------------------------------
POCKETS = 0x2000          # 16 pockets of 256 bytes for interpret-mode strings
POCKET_SIZE = 0x100
POCKET_COUNT = 16
HOLD_END = 0x3100         # pictured numeric output grows down from here
PAD = 0x3100              # PAD, 0x400 bytes
WORD_BUF = 0x3600         # WORD's counted string
CATPAD = 0x3800           # $cat's shared buffer, 0x400 bytes
ABORT_BUF = 0x3f00         # ABORT"'s message as a counted string, 0x100 bytes
TIB = 0x4000              # terminal input buffer (#TIB: 0x100 bytes, as in SLOF)
TIB_SIZE = 0x100
RFILL_BUFFER = 0x4800     # RFILL's 512-byte buffer, where paflof has it on its C stack
HASH_TABLE = 0x8000        # paflof's find hash table: HASH_SIZE cells, up to 0x10000
HASH_SIZE = 0x1000
COMP_BUFFER = 0x10000     # interpret-mode control structures compile here
COMP_BUFFER_END = 0x40000
SOURCES = 0x40000         # texts being evaluated, stacked
SOURCES_END = 0x800000
DICTIONARY = 0x800000     # the dictionary grows up from here

# ---- stacks ----------------------------------------------------------------------------
# The data stack holds DATA_STACK_CELLS cells: deeper is -3, checked when a colon definition
# is called, at every loop iteration and branch back, and after each word or number the
# outer interpreter handles. The return stack holds RETURN_STACK_CELLS cells (-5); nesting
# through generated code or EXECUTE/CATCH/EVALUATE is also bounded by Python's recursion
# limit, which ends in -5 as well.
DATA_STACK_CELLS = 4096
RETURN_STACK_CELLS = 4096

DEFAULT_MEMORY_SIZE = 64 * 1024 * 1024
DEFAULT_HEAP_SIZE = 8 * 1024 * 1024

# ---- code-field kinds ------------------------------------------------------------------
K_COLON = 1
K_VARIABLE = 2
K_CONSTANT = 3
K_VALUE = 4
K_DEFER = 5
K_CREATE = 6      # xt+8: DOES> code address (0 = none), body at xt+16
K_ALIAS = 7       # xt+8: the xt it stands for
K_BUFFER = 8      # xt+8: address of the buffer
K_2CONSTANT = 9   # xt+8, xt+16: the two cells
PRIM_BASE = 0x100  # kind = PRIM_BASE + primitive number

KIND_NAMES = {
    K_COLON: "<colon>", K_VARIABLE: "<variable>", K_CONSTANT: "<constant>",
    K_VALUE: "<value>", K_DEFER: "<defer>", K_CREATE: "<create>", K_ALIAS: "<alias>",
    K_BUFFER: "<buffer:>", K_2CONSTANT: "<2constant>",
}

# header flags
F_IMMEDIATE = 1

MASK64 = (1 << 64) - 1
SIGN64 = 1 << 63
