"""libveth: the PAPR virtual ethernet (l-lan) driver; not modelled by slofpy's hosts."""
from __future__ import annotations

from .base import CLibrary


class LibVeth(CLibrary):
    UNSUPPORTED = ("libveth-open", "libveth-close", "libveth-read", "libveth-write")


LIBRARY = LibVeth
