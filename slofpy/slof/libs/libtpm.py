"""libtpm: the vTPM driver and measured boot; slofpy's hosts model no TPM."""
from __future__ import annotations

from .base import CLibrary


class LibTpm(CLibrary):
    UNSUPPORTED = (
        "tpm-start", "tpm-finalize", "tpm-leave-firmware", "tpm-set-log-parameters",
        "tpm-get-logsize", "tpm-add-event-separators", "tpm-measure-bcv-mbr",
        "tpm-is-working", "tpm-measure-scrtm", "tpm-driver-get-failure-reason",
        "tpm-driver-set-failure-reason", "tpm20-menu", "tpm-gpt-set-lba1",
        "tpm-gpt-add-entry", "tpm-measure-gpt", "tpm-hash-log-extend-event-buffer",
        "tpm-2hash-ext-log")


LIBRARY = LibTpm
