"""Host backends: what answers SLOF's hcalls (QEMU's behaviour, a file writer, a recorder).

A backend sees hcalls and guest memory only. `make_backend("NAME[:OPTIONS]")` finds one by
name; `HostBackend` is the base class to write a new one.
"""
from slofpy.host.backend import HostBackend
from slofpy.host.file import FileBackend
from slofpy.host.qemu import QemuBackend, SeedError
from slofpy.host.record import HcallRecord, RecordBackend
from slofpy.host.registry import HostSpecError, backend_names, make_backend

__all__ = [
    "FileBackend",
    "HcallRecord",
    "HostBackend",
    "HostSpecError",
    "QemuBackend",
    "RecordBackend",
    "SeedError",
    "backend_names",
    "make_backend",
]
