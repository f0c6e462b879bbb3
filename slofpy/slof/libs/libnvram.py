"""libnvram: SLOF's NVRAM partitions and environment (placeholder until written)."""
from __future__ import annotations

from .base import CLibrary


class LibNvram(CLibrary):
    UNSUPPORTED = (
        "nvram-c@", "nvram-c!", "nvram-w@", "nvram-w!", "nvram-l@", "nvram-l!", "nvram-x@",
        "nvram-x!", "internal-reset-nvram", "nvram-debug", "wipe-nvram",
        "get-nvram-partition", "get-named-nvram-partition", "new-nvram-partition",
        "increase-nvram-partition", "erase-nvram-partition", "delete-nvram-partition",
        "internal-get-env", "internal-add-env", "internal-del-env", "internal-set-env",
        "internal-nvram-init")


LIBRARY = LibNvram
