"""Hcall numbers and hcall return codes, with names for printing.

The numbers are the PAPR hcalls SLOF makes (lib/libhvcall/libhvcall.h) and QEMU's private
KVMPPC range starting at 0xF000 (include/hw/ppc/spapr.h). Return codes are the ones listed in
the team's reference notes (host.md section 1.4). Hcalls return a signed 64-bit value in r3;
here return codes are plain (signed) Python ints.
"""
from __future__ import annotations

# --- PAPR hcalls SLOF uses -------------------------------------------------------------
H_GET_TCE = 0x1C
H_PUT_TCE = 0x20
H_LOGICAL_CI_LOAD = 0x3C
H_LOGICAL_CI_STORE = 0x40
H_GET_TERM_CHAR = 0x54
H_PUT_TERM_CHAR = 0x58
H_REG_CRQ = 0xFC
H_FREE_CRQ = 0x100
H_SEND_CRQ = 0x108
H_REGISTER_LOGICAL_LAN = 0x114
H_FREE_LOGICAL_LAN = 0x118
H_ADD_LOGICAL_LAN_BUFFER = 0x11C
H_SEND_LOGICAL_LAN = 0x120

# --- QEMU / KVM private hcalls ------------------------------------------------------------
KVMPPC_HCALL_BASE = 0xF000
KVMPPC_H_RTAS = KVMPPC_HCALL_BASE + 0x0
KVMPPC_H_LOGICAL_MEMOP = KVMPPC_HCALL_BASE + 0x1
KVMPPC_H_CAS = KVMPPC_HCALL_BASE + 0x2
KVMPPC_H_UPDATE_DT = KVMPPC_HCALL_BASE + 0x3
# 0xF004 was SLOF's short-lived KVMPPC_H_UPDATE_PHANDLE; QEMU leaves it unused.
KVMPPC_H_VOF_CLIENT = KVMPPC_HCALL_BASE + 0x5  # QEMU's Virtual Open Firmware; not SLOF

# --- Return codes --------------------------------------------------------------------------
H_SUCCESS = 0
H_BUSY = 1
H_CLOSED = 2
H_NOT_AVAILABLE = 3
H_CONSTRAINED = 4
H_PARTIAL = 5
H_IN_PROGRESS = 14
H_PAGE_REGISTERED = 15
H_PARTIAL_STORE = 16
H_PENDING = 17
H_CONTINUE = 18
H_LONG_BUSY_ORDER_1_MSEC = 9900
H_LONG_BUSY_ORDER_10_MSEC = 9901
H_LONG_BUSY_ORDER_100_MSEC = 9902
H_LONG_BUSY_ORDER_1_SEC = 9903
H_LONG_BUSY_ORDER_10_SEC = 9904
H_LONG_BUSY_ORDER_100_SEC = 9905

H_HARDWARE = -1
H_FUNCTION = -2
H_PRIVILEGE = -3
H_PARAMETER = -4
H_BAD_MODE = -5
H_PTEG_FULL = -6
H_NOT_FOUND = -7
H_RESERVED_DABR = -8
H_NO_MEM = -9
H_AUTHORITY = -10
H_PERMISSION = -11
H_DROPPED = -12
H_SOURCE_PARM = -13
H_DEST_PARM = -14
H_REMOTE_PARM = -15
H_RESOURCE = -16
H_ADAPTER_PARM = -17
H_SH_PARM = -18
H_SCQ_PARM = -19
H_EQ_PARM = -20
H_RT_PARM = -21
H_ST_PARM = -22
H_SIGT_PARM = -23
H_TOKEN_PARM = -24
H_MLENGTH_PARM = -27
H_MEM_PARM = -28
H_MEM_ACCESS_PARM = -29
H_ATTR_PARM = -30
H_PORT_PARM = -31
H_MCG_PARM = -32
H_VL_PARM = -33
H_TSIZE_PARM = -34
H_TRACE_PARM = -35
H_MASK_PARM = -37
H_MCG_FULL = -38
H_ALIAS_EXIST = -39
H_P_COUNTER = -40
H_TABLE_FULL = -41
H_ALT_TABLE = -42
H_MR_CONDITION = -43
H_NOT_ENOUGH_RESOURCES = -44
H_R_STATE = -45
H_RESCINDED = -46
H_P2 = -55
H_P3 = -56
H_P4 = -57
H_P5 = -58
H_P6 = -59
H_P7 = -60
H_P8 = -61
H_P9 = -62
H_OVERLAP = -68
H_UNSUPPORTED_FLAG = -256
H_MULTI_THREADS_ACTIVE = -9005


_HCALL_CONSTANT_NAMES = (
    "H_GET_TCE", "H_PUT_TCE", "H_LOGICAL_CI_LOAD", "H_LOGICAL_CI_STORE",
    "H_GET_TERM_CHAR", "H_PUT_TERM_CHAR", "H_REG_CRQ", "H_FREE_CRQ", "H_SEND_CRQ",
    "H_REGISTER_LOGICAL_LAN", "H_FREE_LOGICAL_LAN", "H_ADD_LOGICAL_LAN_BUFFER",
    "H_SEND_LOGICAL_LAN", "KVMPPC_H_RTAS", "KVMPPC_H_LOGICAL_MEMOP", "KVMPPC_H_CAS",
    "KVMPPC_H_UPDATE_DT", "KVMPPC_H_VOF_CLIENT",
)

HCALL_NAMES: dict[int, str] = {globals()[name]: name for name in _HCALL_CONSTANT_NAMES}
"""Hcall number -> its name, for the hcalls defined above."""

RETURN_CODE_NAMES: dict[int, str] = {
    value: name
    for name, value in list(globals().items())
    if name.startswith("H_") and name not in _HCALL_CONSTANT_NAMES and isinstance(value, int)
}
"""Return code -> its name (H_SUCCESS, H_PARAMETER, ...), for the codes defined above."""


def hcall_name(number: int) -> str:
    """The name of hcall `number`, or "hcall 0x..." when it has none here."""
    return HCALL_NAMES.get(number, f"hcall {number:#x}")


def return_code_name(rc: int) -> str:
    """The name of return code `rc`, or "rc N" when it has none here."""
    return RETURN_CODE_NAMES.get(rc, f"rc {rc}")
