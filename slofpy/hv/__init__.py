"""The hypervisor layer: PAPR hcalls as SLOF makes them, on flat big-endian guest memory.

`Hypervisor` takes an hcall number and its register arguments, reads or writes guest
memory through a `GuestMemory`, and hands the work to a host backend (slofpy.host).
"""
from slofpy.hv.hypervisor import Hypervisor
from slofpy.hv.memory import BytearrayGuestMemory, GuestMemory, GuestMemoryError, real_address

__all__ = [
    "BytearrayGuestMemory",
    "GuestMemory",
    "GuestMemoryError",
    "Hypervisor",
    "real_address",
]
