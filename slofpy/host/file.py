"""`FileBackend`: QEMU's behaviour, plus every accepted H_UPDATE_DT blob written to a file.

Each accepted blob replaces the file's contents, so after a run the file holds the last
tree SLOF handed over (normally the one from quiesce). Refused blobs are not written. The
file is replaced atomically (slofpy.outfile): a kill or a full disk leaves the previous file.
A write that fails does not fail the hcall (QEMU accepted the tree); it is kept in
`write_error` for the caller to report.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from slofpy.host.qemu import QemuBackend
from slofpy.outfile import FDT_MAGIC, OutputFileError, target_path, write_atomically


class FileBackend(QemuBackend):
    """A `QemuBackend` that saves each accepted device-tree blob to `path`."""

    name = "file"

    def __init__(self, path: str | os.PathLike[str], console_output: TextIO | None = None):
        super().__init__(console_output)
        target_path(path, FDT_MAGIC)      # a folder, a missing folder: refused at once
        self.path = Path(path)
        self.write_error: OutputFileError | None = None

    def accepted_blob(self, blob: bytes) -> None:
        """Write `blob` to the file, replacing what was there."""
        try:
            write_atomically(self.path, blob, FDT_MAGIC)
            self.write_error = None
        except OutputFileError as e:
            self.write_error = e
