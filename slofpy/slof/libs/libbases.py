"""libbases: where the board's flash, NVRAM and mailbox are (none is memory-mapped on QEMU's
pseries machine, so the bases read 0, as real SLOF answers there)."""
from __future__ import annotations

from .base import CLibrary, c_word


class LibBases(CLibrary):
    @c_word("get-nvram-base")
    def nvram_base(self) -> None:          # ( -- base )
        self.push(0)

    @c_word("get-nvram-size")
    def nvram_size(self) -> None:          # ( -- size ): what libnvram was told at its init
        self.push(self.slof.nvram_size)

    @c_word("get-flash-base")
    def flash_base(self) -> None:          # ( -- base )
        self.push(0)

    @c_word("get-flash-size")
    def flash_size(self) -> None:          # ( -- size )
        self.push(0)

    @c_word("get-mbx-base")
    def mailbox_base(self) -> None:        # ( -- base )
        self.push(0)


LIBRARY = LibBases
