"""Flattened device tree support for slofpy.

* :mod:`.blob` reads, checks and builds DTB blobs;
* :mod:`.dts_compiler` compiles DTS source (grammar in ``dts.lark``);
* :mod:`.dts_writer` turns a blob back into DTS text.
"""

from .blob import BlobError, Header, Node, build_blob, parse_blob, read_header, read_memreserve, walk_struct
from .dts_compiler import compile_dts, compile_dts_file
from .dts_source import DtsError
from .dts_writer import blob_to_dts

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
