"""Compile device tree source (DTS) into a flattened device tree blob.

:func:`compile_dts` / :func:`compile_dts_file` run the whole pipeline:
splice ``/include/`` files (:mod:`dts_source`), parse with the Lark grammar
(:mod:`dts_parser`), then do what dtc does after parsing:

* apply node definitions in order, merging repeated definitions of a node,
  ``&label { ... }`` and ``&{/path} { ... }`` amendments into the live tree
  (a redefined property keeps its place and takes the new value);
* apply ``/delete-node/`` and ``/delete-property/``;
* resolve references: ``&label`` / ``&{/path}`` inside ``<...>`` become the
  target's phandle, elsewhere the target's full path as a string;
* give each node referenced by phandle a ``phandle`` property, numbered from
  1 in order of first reference, skipping values used by explicit phandles;
* drop ``/omit-if-no-ref/`` nodes that nothing references;
* guess ``boot_cpuid_phys`` from the first child of ``/cpus`` as dtc does;

and finally lay the blob out with :func:`slofpy.fdt.blob.build_blob`.
Errors are raised as :class:`DtsError` with a ``FILE:LINE:COL: message``
text.  ``/plugin/`` overlays are rejected.

One deliberate difference from dtc: a node body is applied in order, so
``/delete-property/ p;`` or ``/delete-node/ n;`` also removes a ``p`` or
``n`` defined earlier in the same body.  dtc only applies deletions when
merging into an existing node (it keeps ``p`` and reports ``n`` as a
duplicate node name there).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from .blob import Node, build_blob
from .dts_parser import (
    AmendDef,
    BodyItem,
    CellRef,
    DeleteNode,
    DeleteProp,
    DeleteRef,
    Document,
    Label,
    NodeDef,
    OmitRef,
    PathRef,
    PropDef,
    Ref,
    RootDef,
    ValuePiece,
    parse_dts,
)
from .dts_source import DtsError, SourceError, load_source, read_text_file

__all__ = ["DtsError", "compile_dts", "compile_dts_file"]


@dataclass
class _Prop:
    name: str
    value: list[ValuePiece]
    labels: list[Label]
    pos: int
    deleted: bool = False


@dataclass
class _Node:
    name: str
    parent: "_Node | None"
    pos: int
    props: list[_Prop] = field(default_factory=list)
    children: list["_Node"] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    deleted: bool = False
    omit_if_no_ref: bool = False
    referenced: bool = False
    phandle: int = 0

    def path(self) -> str:
        names = []
        node: _Node | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))

    def live_props(self) -> Iterator[_Prop]:
        return (prop for prop in self.props if not prop.deleted)

    def live_children(self) -> Iterator["_Node"]:
        return (child for child in self.children if not child.deleted)

    def live_prop(self, name: str) -> _Prop | None:
        return next((prop for prop in self.live_props() if prop.name == name), None)

    def walk(self) -> Iterator["_Node"]:
        """Live nodes of this subtree in pre-order (iteratively)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.live_children())))


def _add_labels(labels: list[Label], new: list[Label]) -> None:
    for label in new:
        if all(label.name != old.name for old in labels):
            labels.append(label)


def _delete_node(node: _Node) -> None:
    """Mark a subtree deleted, as dtc does: labels go, props and children are hidden."""
    stack = [node]
    while stack:
        current = stack.pop()
        current.deleted = True
        current.labels = []
        for prop in current.props:
            prop.deleted = True
            prop.labels = []
        stack.extend(current.children)


class _TreeBuilder:
    """Applies the parsed definitions to a live tree and resolves references."""

    def __init__(self) -> None:
        self.root = _Node("", None, 0)
        self.root_defined = False

    # lookups

    def find_label(self, name: str) -> _Node | None:
        for node in self.root.walk():
            if any(label.name == name for label in node.labels):
                return node
        return None

    def find_path(self, path: str, start: _Node | None = None) -> _Node | None:
        node = start or self.root
        for component in path.split("/"):
            if not component:
                continue
            node = next((child for child in node.live_children() if child.name == component), None)
            if node is None:
                return None
        return node

    def lookup(self, ref: Ref) -> _Node | None:
        target = ref.target
        if ref.braced and target.startswith("/"):
            return self.find_path(target)
        if ref.braced and "/" in target:
            label, rest = target.split("/", 1)
            base = self.find_label(label)
            return self.find_path(rest, base) if base is not None else None
        return self.find_label(target)

    def lookup_or_fail(self, ref: Ref) -> _Node:
        node = self.lookup(ref)
        if node is None:
            if ref.braced:
                raise SourceError(f"reference to non-existent node or label '{ref}'", ref.pos)
            raise SourceError(f"reference to undefined label '{ref.target}'", ref.pos)
        return node

    # applying definitions

    def apply_body(self, node: _Node, body: list[BodyItem]) -> None:
        defined_props: set[str] = set()
        defined_nodes: set[str] = set()
        for item in body:
            if isinstance(item, PropDef):
                if item.name in defined_props:
                    raise SourceError(f"duplicate property '{item.name}' in node '{node.path()}'", item.pos)
                defined_props.add(item.name)
                existing = next((prop for prop in node.props if prop.name == item.name), None)
                if existing is None:
                    node.props.append(_Prop(item.name, list(item.value), list(item.labels), item.pos))
                else:
                    existing.value = list(item.value)
                    existing.deleted = False
                    existing.pos = item.pos
                    _add_labels(existing.labels, item.labels)
            elif isinstance(item, DeleteProp):
                defined_props.discard(item.name)
                for prop in node.live_props():
                    if prop.name == item.name:
                        prop.deleted = True
                        prop.labels = []
            elif isinstance(item, NodeDef):
                if item.name in defined_nodes:
                    raise SourceError(f"duplicate node '{item.name}' in node '{node.path()}'", item.pos)
                defined_nodes.add(item.name)
                child = next((c for c in node.children if c.name == item.name), None)
                if child is None:
                    child = _Node(item.name, node, item.pos)
                    node.children.append(child)
                child.deleted = False
                child.omit_if_no_ref = child.omit_if_no_ref or item.omit_if_no_ref
                _add_labels(child.labels, item.labels)
                self.apply_body(child, item.body)
            elif isinstance(item, DeleteNode):
                defined_nodes.discard(item.name)
                for child in list(node.live_children()):
                    if child.name == item.name:
                        _delete_node(child)

    def apply(self, document: Document) -> None:
        for item in document.items:
            if isinstance(item, RootDef):
                self.root_defined = True
                self.apply_body(self.root, item.body)
            elif isinstance(item, AmendDef):
                node = self.lookup_or_fail(item.ref)
                _add_labels(node.labels, item.labels)
                self.apply_body(node, item.body)
            elif isinstance(item, DeleteRef):
                node = self.lookup_or_fail(item.ref)
                if node is self.root:
                    raise SourceError("cannot delete the root node", item.ref.pos)
                _delete_node(node)
            elif isinstance(item, OmitRef):
                self.lookup_or_fail(item.ref).omit_if_no_ref = True

    # checks and references

    def check_labels(self) -> None:
        owners: dict[str, str] = {}
        for node in self.root.walk():
            for label in node.labels:
                self._claim(owners, label, node.path())
            for prop in node.live_props():
                for label in prop.labels:
                    self._claim(owners, label, f"{node.path()}:{prop.name}")

    @staticmethod
    def _claim(owners: dict[str, str], label: Label, owner: str) -> None:
        previous = owners.get(label.name)
        if previous is not None and previous != owner:
            raise SourceError(f"duplicate label '{label.name}' on {previous} and {owner}", label.pos)
        owners[label.name] = owner

    def collect_explicit_phandles(self) -> dict[int, _Node]:
        used: dict[int, _Node] = {}
        for node in self.root.walk():
            for name in ("phandle", "linux,phandle"):
                prop = node.live_prop(name)
                if prop is None or not all(isinstance(piece, bytes) for piece in prop.value):
                    continue
                data = b"".join(prop.value)  # type: ignore[arg-type]
                if len(data) != 4:
                    raise SourceError(f"'{name}' property of {node.path()} is not one 32-bit cell", prop.pos)
                value = struct.unpack(">I", data)[0]
                if value in (0, 0xFFFFFFFF):
                    raise SourceError(f"'{name}' property of {node.path()} has invalid value 0x{value:x}", prop.pos)
                if node.phandle and node.phandle != value:
                    raise SourceError(f"{node.path()} has different 'phandle' and 'linux,phandle'", prop.pos)
                other = used.get(value)
                if other is not None and other is not node:
                    raise SourceError(f"phandle 0x{value:x} used by both {other.path()} and {node.path()}", prop.pos)
                node.phandle = value
                used[value] = node
        return used

    def resolve_references(self) -> None:
        used = self.collect_explicit_phandles()
        next_phandle = 1

        def phandle_of(target: _Node) -> int:
            nonlocal next_phandle
            if target.phandle:
                return target.phandle
            while next_phandle in used:
                next_phandle += 1
            target.phandle = next_phandle
            used[next_phandle] = target
            if target.live_prop("phandle") is None:
                target.props = [p for p in target.props if not (p.deleted and p.name == "phandle")]
                target.props.append(_Prop("phandle", [struct.pack(">I", next_phandle)], [], target.pos))
            return target.phandle

        # dtc fixes phandle references over the whole tree first, then paths.
        for node in list(self.root.walk()):
            for prop in list(node.live_props()):
                for index, piece in enumerate(prop.value):
                    if isinstance(piece, CellRef):
                        target = self.lookup_or_fail(piece.ref)
                        target.referenced = True
                        prop.value[index] = struct.pack(">I", phandle_of(target))
        for node in self.root.walk():
            for prop in node.live_props():
                for index, piece in enumerate(prop.value):
                    if isinstance(piece, PathRef):
                        target = self.lookup_or_fail(piece.ref)
                        target.referenced = True
                        prop.value[index] = target.path().encode("latin-1") + b"\0"

    def omit_unreferenced(self) -> None:
        for node in list(self.root.walk()):
            if node.omit_if_no_ref and not node.referenced and not node.deleted and node is not self.root:
                _delete_node(node)

    def to_node(self) -> Node:
        """The live tree as a :class:`~slofpy.fdt.blob.Node` tree (all references resolved)."""

        def convert(node: _Node) -> Node:
            props = [(prop.name, b"".join(prop.value)) for prop in node.live_props()]  # type: ignore[arg-type]
            return Node(node.name, props)

        root = convert(self.root)
        stack = [(self.root, root)]
        while stack:
            source, target = stack.pop()
            for child in source.live_children():
                converted = convert(child)
                target.children.append(converted)
                stack.append((child, converted))
        return root

    def guess_boot_cpuid(self) -> int:
        cpus = self.find_path("/cpus")
        if cpus is None:
            return 0
        first = next(cpus.live_children(), None)
        if first is None:
            return 0
        reg = first.live_prop("reg")
        if reg is None:
            return 0
        data = b"".join(piece for piece in reg.value if isinstance(piece, bytes))
        if len(data) != 4:
            return 0
        return struct.unpack(">I", data)[0]


def compile_dts(
    text: str,
    filename: str = "<string>",
    *,
    include_dirs: Sequence[str] = (),
    boot_cpuid: int | None = None,
    version: int = 17,
    read_dirs: Sequence[str] | None = (),
) -> bytes:
    """Compile DTS ``text`` into a blob (laid out as ``dtc -O dtb`` does).

    ``filename`` names the text in error messages, and ``/include/`` and
    ``/incbin/`` files are looked up relative to it, then in
    ``include_dirs``.  Unlike dtc, they may only read files inside the
    folder of ``filename`` (the current folder for ``<string>``), the
    ``include_dirs`` and the folders in ``read_dirs`` (links and ``../``
    resolved first); ``read_dirs=None`` lifts the limit.  ``boot_cpuid`` overrides the header field, which by
    default is guessed like dtc does (``reg`` of the first ``/cpus`` child).
    Raises :class:`DtsError` (``FILE:LINE:COL: message``) on any error.
    """
    include_dirs = tuple(str(d) for d in include_dirs)
    reads = None if read_dirs is None else tuple(str(d) for d in read_dirs)
    source = load_source(text, filename, include_dirs, reads)
    document = parse_dts(source, include_dirs, reads)
    try:
        if not document.has_v1_header:
            raise SourceError("missing '/dts-v1/;' at the start of the file", 0)
        builder = _TreeBuilder()
        builder.apply(document)
        if not builder.root_defined:
            raise SourceError("no root node ('/ { ... };') defined", len(source.text.rstrip()))
        builder.check_labels()
        builder.resolve_references()
        builder.omit_unreferenced()
        memreserve = []
        for entry in document.memreserves:
            if entry.size == 0:
                raise SourceError("/memreserve/ size must not be 0", entry.pos)
            memreserve.append((entry.address, entry.size))
        cpuid = builder.guess_boot_cpuid() if boot_cpuid is None else boot_cpuid
        root = builder.to_node()
    except SourceError as exc:
        raise source.error(exc.message, exc.pos) from None
    return build_blob(root, memreserve, cpuid, version)


def compile_dts_file(
    path: str | Path,
    *,
    include_dirs: Sequence[str] = (),
    boot_cpuid: int | None = None,
    version: int = 17,
    read_dirs: Sequence[str] | None = (),
) -> bytes:
    """Compile the DTS file at ``path``; see :func:`compile_dts`.

    An unreadable top-level file raises the usual :class:`OSError`.
    """
    path = str(path)
    return compile_dts(
        read_text_file(path), path, include_dirs=include_dirs, boot_cpuid=boot_cpuid,
        version=version, read_dirs=read_dirs,
    )
