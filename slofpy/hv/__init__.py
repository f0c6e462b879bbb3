"""The hypervisor layer: PAPR hcalls as SLOF makes them, on flat big-endian guest memory.

`Hypervisor` takes an hcall number and its register arguments, reads or writes guest
memory through a `GuestMemory` (slofpy.abi.guest_memory), and hands the work to a host
backend (slofpy.host), the layer below it.
"""
from slofpy.hv.hypervisor import Hypervisor

__all__ = ["Hypervisor"]
