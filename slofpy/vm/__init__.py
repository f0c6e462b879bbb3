"""The Forth engine: memory, dictionary, threaded code, compiler and interpreters.

It knows nothing of device trees, FDTs or hosts.
"""
from .core import VM  # noqa: F401
