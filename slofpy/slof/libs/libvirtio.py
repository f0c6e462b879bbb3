"""libvirtio: SLOF's virtio drivers (block, SCSI, fs, net, serial). slofpy's hosts have no
virtio device models, so SLOF's Forth reaches these only for a virtio device in the seed;
calling one says it is not supported."""
from __future__ import annotations

from .base import CLibrary


class LibVirtio(CLibrary):
    UNSUPPORTED = (
        "virtio-setup-vd", "virtio-vring-size", "virtio-get-qsize", "virtio-get-config",
        "virtio-blk-init", "virtio-blk-shutdown", "virtio-blk-read", "virtio-blk-write",
        "virtio-scsi-init", "virtio-scsi-shutdown", "virtio-scsi-send", "virtio-fs-init",
        "virtio-fs-shutdown", "virtio-fs-load", "virtio-net-open", "virtio-net-close",
        "virtio-net-read", "virtio-net-write", "virtio-serial-init", "virtio-serial-shutdown",
        "virtio-serial-putchar", "virtio-serial-getchar", "virtio-serial-haschar")


LIBRARY = LibVirtio
