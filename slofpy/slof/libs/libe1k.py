"""libe1k: the e1000 network driver; not modelled by slofpy's hosts."""
from __future__ import annotations

from .base import CLibrary


class LibE1k(CLibrary):
    UNSUPPORTED = ("e1k-open", "e1k-close", "e1k-read", "e1k-write", "e1k-mac-setup")


LIBRARY = LibE1k
