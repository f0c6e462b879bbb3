"""libusb: SLOF's USB host-controller and device drivers. slofpy's hosts model no USB
controller; calling one of these says it is not supported."""
from __future__ import annotations

from .base import CLibrary


class LibUsb(CLibrary):
    UNSUPPORTED = (
        "usb-ohci-register", "usb-ehci-register", "usb-xhci-register", "usb-hcd-init",
        "usb-hcd-exit", "usb-hid-init", "usb-hid-exit", "usb-read-keyb", "usb-key-available",
        "usb-hub-init", "usb-msc-init", "usb-msc-exit", "usb-transfer-ctrl",
        "usb-transfer-bulk")


LIBRARY = LibUsb
