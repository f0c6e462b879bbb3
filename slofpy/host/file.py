"""`FileBackend`: QEMU's behaviour, plus every accepted H_UPDATE_DT blob written to a file.

Each accepted blob replaces the file's contents, so after a run the file holds the last
tree SLOF handed over (normally the one from quiesce). Refused blobs are not written.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from slofpy.host.qemu import QemuBackend


class FileBackend(QemuBackend):
    """A `QemuBackend` that saves each accepted device-tree blob to `path`."""

    name = "file"

    def __init__(self, path: str | os.PathLike[str], console_output: TextIO | None = None):
        super().__init__(console_output)
        self.path = Path(path)

    def accepted_blob(self, blob: bytes) -> None:
        """Write `blob` to the file, replacing what was there."""
        self.path.write_bytes(blob)
