"""libhvcall: the words SLOF's hypervisor-call library adds beyond the board's hcall words
(slofpy/firmware/hcall_words.py has hv-putchar, the CRQ, TCE and RTAS calls, RB@ ... RX!).

- hv-rtas-get ( -- addr size ): the RTAS code SLOF copies for its clients: one `sc 1`
  with KVMPPC_H_RTAS, laid out by boot.py in paflof's memory. CALL-C on it (enter-rtas)
  makes that hcall.
- check-and-patch-sc1 ( patch start end -- ): the hypervisor is not a broken-sc1 one, so
  there is nothing to patch.
- get-print-version ( addr -- ): the start and end of the version banner (the image's own,
  in guest memory) at addr and addr+8.
"""
from __future__ import annotations

from .base import CLibrary, c_word


class LibHvcall(CLibrary):
    @c_word("hv-rtas-get")
    def rtas_get(self) -> None:
        self.push(self.slof.rtas_code, len(self.slof.RTAS_CODE))

    @c_word("check-and-patch-sc1")
    def check_and_patch_sc1(self) -> None:
        self.pop(3)

    @c_word("get-print-version")
    def print_version(self) -> None:
        (addr,) = self.pop()
        start, end = self.slof.banner_range
        self.vm.set_cell(addr, start)
        self.vm.set_cell(addr + 8, end)


LIBRARY = LibHvcall
