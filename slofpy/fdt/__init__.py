"""Flattened device tree support for slofpy.

* :mod:`.blob` reads, checks and builds DTB blobs;
* :mod:`.dts_compiler` compiles DTS source (grammar in ``dts.lark``);
* :mod:`.dts_writer` turns a blob back into DTS text.
"""

from .blob import BlobError, Header, Node, build_blob, parse_blob, read_header, read_memreserve, walk_struct

# The DTS side (the Lark grammar and its parser take tens of milliseconds to load) is
# imported when one of its names is first asked for, so that reading and writing blobs,
# which booting needs, does not pay for it.
_LAZY = {
    "compile_dts": "dts_compiler",
    "compile_dts_file": "dts_compiler",
    "DtsError": "dts_source",
    "blob_to_dts": "dts_writer",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "BlobError",
    "DtsError",
    "Header",
    "Node",
    "blob_to_dts",
    "build_blob",
    "compile_dts",
    "compile_dts_file",
    "parse_blob",
    "read_header",
    "read_memreserve",
    "walk_struct",
]
