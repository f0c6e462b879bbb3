"""The C code paflof links in, in Python: SLOF's lib/* libraries that its Forth calls by name.

One module per library, named as SLOF's; each defines LIBRARY, a `base.CLibrary` subclass
(base.py says how a library carries out its words).
"""
from __future__ import annotations

from .base import CLibrary


def all_libraries() -> list[type[CLibrary]]:
    """The libraries board-qemu's paflof links (COMMON_LIBS of its Makefile)."""
    from . import (libbases, libbootmenu, libbootmsg, libe1k, libelf, libhvcall, libnet,
                   libnvram, libtpm, libusb, libveth, libvirtio)
    return [m.LIBRARY for m in (libbases, libbootmsg, libhvcall, libnvram, libelf, libnet,
                                libvirtio, libusb, libveth, libe1k, libbootmenu, libtpm)]
