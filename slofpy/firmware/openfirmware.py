"""Firmware: a Machine with the generic Open Firmware layer (forth/) loaded, and the Python
faces that need it: IEEE 1275 client-interface calls and a read-only view of the tree.

    >>> from slofpy.firmware import Firmware
    >>> fw = Firmware()
    >>> fw.evaluate('new-device s" /" device-name finish-device')
    >>> fw.client("finddevice", "/")          # [phandle]

The device tree lives in VM memory only; `tree` reads it there each time it is asked.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ..errors import ForthError, error_text
from ..machine import Machine


def _forth_source_root() -> Path:
    """The folder holding forth/ (the generic layer) and board-qemu/ (the board): the
    package itself in an installed wheel (setup.py copies them in), the top of the checkout
    when slofpy runs from its source tree (an editable install)."""
    package = Path(__file__).resolve().parent.parent
    if (package / "forth" / "of.fs").is_file():
        return package
    return package.parent


#: where the Forth sources live: forth/ (generic layer) and board-qemu/ (the board)
SOURCE_ROOT = _forth_source_root()
FORTH_DIR = SOURCE_ROOT / "forth"

CLIENT_SCRATCH = 0x1000   # bytes of VM heap used per client call for arguments and strings


class Firmware(Machine):
    """A Forth VM with forth/of.fs loaded (and any more sources given)."""

    def __init__(self, sources: Iterable[str | os.PathLike] = (), **kwargs):
        include_path = list(kwargs.pop("include_path", ()))
        super().__init__(include_path=[FORTH_DIR, *include_path],
                         preload=[FORTH_DIR / "of.fs"], **kwargs)
        for s in sources:
            self.include(s)

    # ------------------------------------------------------------ device tree blobs
    def place_fdt(self, blob: bytes) -> int:
        """Put a flattened device tree into VM memory, as the host puts the seed into guest
        RAM. Returns the address (the board's `fdt-start`)."""
        addr = self._alloc(max(len(blob), 8))
        self.write(addr, bytes(blob))
        return addr

    def import_fdt(self, blob: bytes) -> None:
        """Unflatten blob into the (empty) device tree with Forth's fdt-unflatten."""
        self.push(self.place_fdt(blob))
        self.execute("fdt-unflatten")

    def flatten(self) -> bytes:
        """The tree as Forth's fdt-flatten-tree makes it (the blob is freed again)."""
        self.execute("fdt-flatten-tree")
        addr = self.pop()
        size = int.from_bytes(self.read(addr + 4, 4), "big")
        blob = self.read(addr, size)
        self.push(addr)
        self.execute("fdt-flatten-tree-free")
        return blob

    # ------------------------------------------------------------ client interface
    def client(self, service: str, *args: int | str | bytes, nret: int = 1) -> list[int]:
        """Call a client-interface service as an OS would: ints are passed as they are,
        str/bytes are copied into VM memory as NUL-terminated strings and passed by address.
        Returns the return cells (unsigned 32-bit values; -1 comes back as 0xffffffff).
        Raises ForthError when the service does not exist."""
        buf = self._alloc(CLIENT_SCRATCH)
        try:
            strings = buf + 12 + 4 * (len(args) + nret) + 64
            cells = []
            name = service.encode("latin-1") + b"\0"
            self.write(strings, name)
            name_addr, strings = strings, strings + len(name)
            for a in args:
                if isinstance(a, (str, bytes)):
                    data = (a.encode("latin-1") if isinstance(a, str) else a) + b"\0"
                    if strings + len(data) > buf + CLIENT_SCRATCH:
                        raise ForthError(-9, "client call arguments too long")
                    self.write(strings, data)
                    cells.append(strings)
                    strings += len(data)
                else:
                    cells.append(a)
            block = [name_addr, len(args), nret] + cells + [0] * nret
            self.write(buf, b"".join((v & 0xFFFFFFFF).to_bytes(4, "big") for v in block))
            self.push(buf)
            self.vm.last_error = None
            self.execute("(client-exec)")
            rc = self.pop()
            if rc != 0:
                failed = self.vm.last_error      # what the service's CATCH caught, if it ran
                if failed is None:
                    raise ForthError(-1, f"client interface: no service {service!r}")
                raise ForthError(failed.code, f"client interface: {service!r} failed: "
                                 + error_text(failed.code, failed.message))
            base = buf + 12 + 4 * len(args)
            return [int.from_bytes(self.read(base + 4 * i, 4), "big") for i in range(nret)]
        finally:
            self._free(buf, CLIENT_SCRATCH)

    def _alloc(self, n: int) -> int:
        self.push(n)
        self.execute("alloc-mem")
        addr = self.pop()
        if not addr:
            raise ForthError(-9, "out of VM heap memory")
        return addr

    def _free(self, addr: int, n: int) -> None:
        self.push(addr, n)
        self.execute("free-mem")

    # ------------------------------------------------------------ tree view
    @property
    def tree(self):
        """A read-only view of the device tree in VM memory (see slofpy.firmware.tree_view)."""
        from .tree_view import TreeView
        return TreeView(self)
