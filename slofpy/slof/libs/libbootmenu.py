"""libbootmenu: the interactive boot menu (F12); slofpy's boots never ask for it."""
from __future__ import annotations

from .base import CLibrary


class LibBootmenu(CLibrary):
    UNSUPPORTED = ("boot-menu",)


LIBRARY = LibBootmenu
