"""Which USB devices sit on the root-hub ports of the machine's USB controllers.

The seed (QEMU's device tree) names the controllers (pci-ohci, usb-ehci, qemu-xhci functions)
but not what is plugged into them. `QemuBackend.usb_devices` holds that, keyed by the
controller function's `ibm,loc-code` as the seed gives it: a tuple of `UsbDeviceSpec`, each a
device kind and the root-hub port it is plugged into, numbered from 1 as QEMU's `port=`
counts them. Without options nothing is plugged in anywhere (QEMU's pseries machine adds no
USB device by default).
"""
from __future__ import annotations

from dataclasses import dataclass

USB_KINDS = ("kbd",)
"""The kinds of USB device slofpy knows: "kbd" is QEMU's usb-kbd (a HID boot keyboard)."""


@dataclass(frozen=True)
class UsbDeviceSpec:
    """One USB device: its kind (see `USB_KINDS`) and the root-hub port (1 = first)."""

    kind: str
    port: int
