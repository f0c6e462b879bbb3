"""The firmware layer's Python: the Open Firmware view of a VM (Firmware), the pseries board
booted on a host backend (board), and the read-only view of the device tree in VM memory.

Firmware and SOURCE_ROOT are re-exported here because README.md documents them as
``slofpy.firmware.Firmware``.
"""
from .openfirmware import SOURCE_ROOT, Firmware

__all__ = ["Firmware", "SOURCE_ROOT"]
