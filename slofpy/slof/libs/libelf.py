"""libelf: loading an ELF client into memory. slofpy does not run client programs; the boot
path reaches these only once a boot device gave an image, and then says so."""
from __future__ import annotations

from .base import CLibrary

class LibElf(CLibrary):
    UNSUPPORTED = ("elf-load-file", "elf-load-file-to-addr")


LIBRARY = LibElf
