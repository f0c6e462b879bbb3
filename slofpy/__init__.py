"""slofpy: SLOF, the Open Firmware of QEMU's pseries machine, as a Python Forth VM."""
from .errors import ForthError
from .machine import Machine

__all__ = ["Machine", "ForthError"]
__version__ = "0.1.0"
