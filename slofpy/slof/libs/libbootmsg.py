"""libbootmsg: checkpoints and boot messages on the console, as SLOF's C prints them.

A checkpoint is `C` and four hex digits followed by a carriage return (the next one overwrites
it); a message is a line `<kind><id> text` with kind W (warning) or E (error). A warning is
printed when its level is at most the area's level (all areas start at 0)."""
from __future__ import annotations

from .base import CLibrary, c_word

AREAS = 128


class LibBootmsg(CLibrary):
    def __init__(self, slof):
        super().__init__(slof)
        self.levels = bytearray(AREAS)

    @c_word("bootmsg-cp")
    def checkpoint(self) -> None:          # ( id -- )
        (cp,) = self.pop()
        self.print(b"C%04X\r" % (cp & 0xFFFF))

    def _message(self, kind: bytes, cp: int, text_addr: int) -> None:
        self.print(b"\n\r" + kind + b"%04X " % (cp & 0xFFFF) + self.c_string(text_addr) + b"\n\r")

    @c_word("bootmsg-warning")
    def warning(self) -> None:             # ( id level zstr -- )
        cp, level, text = self.pop(3)
        if (level & 0xFFFF) <= self.levels[(cp >> 8) & (AREAS - 1)]:
            self._message(b"W", cp, text)

    @c_word("bootmsg-error")
    def error(self) -> None:               # ( id zstr -- )
        cp, text = self.pop(2)
        self._message(b"E", cp, text)

    @c_word("bootmsg-debugcp")
    def debug_checkpoint(self) -> None:    # ( id level zstr -- )
        cp, level, text = self.pop(3)
        if (level & 0xFFFF) <= self.levels[(cp >> 8) & (AREAS - 1)]:
            self._message(b"D", cp, text)

    @c_word("bootmsg-setlevel")
    def set_level(self) -> None:           # ( area level -- )
        area, level = self.pop(2)
        self.levels[area & (AREAS - 1)] = level & 0xFF

    @c_word("bootmsg-checklevel")
    def check_level(self) -> None:         # ( area level -- flag )
        area, level = self.pop(2)
        self.push(-1 if (level & 0xFF) <= self.levels[area & (AREAS - 1)] else 0)

    @c_word("bootmsg-nvupdate")
    def nvram_update(self) -> None:        # ( -- ): the levels live in slofpy's memory only
        pass


LIBRARY = LibBootmsg
