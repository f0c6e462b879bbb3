"""Comparing two device trees with their phandles resolved to paths.

Trees from QEMU, from real SLOF, from slofpy and from a client give their nodes different
phandles (QEMU numbers them, SLOF uses node addresses), so comparing raw bytes says every
tree differs everywhere a phandle is used. Here each tree's phandles (the "phandle",
"linux,phandle" and "ibm,phandle" properties) are mapped to the path of the node that has
them, and the properties that refer to nodes are compared as those paths:

* "interrupt-parent", "ibm,gpu", "ibm,npu", "ibm,nvlink", "memory-region": every cell;
* "interrupt-map": the parent cell of each entry (its position worked out from the node's
  #address-cells and #interrupt-cells and the parent's, as an OS reads it);
* the phandle properties themselves compare equal when both nodes have one.

A cell that names no node stays a number (and is shown as such: the dangling phandle).

`tree_differences(a, b)` gives the differences as `Difference` items, in path order; each
prints as one line ``path: property: A-value | B-value`` (a node only one tree has is
``path: (node): present | (none)``).
"""
from __future__ import annotations

from dataclasses import dataclass

from .blob import Node, parse_blob
from .dts_writer import format_value

PHANDLE_PROPERTIES = ("phandle", "linux,phandle", "ibm,phandle")
PHANDLE_LISTS = ("interrupt-parent", "ibm,gpu", "ibm,npu", "ibm,nvlink", "memory-region")
ABSENT = "(none)"
REFERRING = (*PHANDLE_PROPERTIES, *PHANDLE_LISTS, "interrupt-map")
"""Properties whose bytes can be equal while they name different nodes."""


@dataclass(frozen=True)
class Difference:
    """One difference: the node's path, the property ("(node)" for a whole node), both sides."""
    path: str
    prop: str
    a: str
    b: str

    def __str__(self) -> str:
        return f"{self.path}: {self.prop}: {self.a} | {self.b}"


def _cells(value: bytes) -> list[int]:
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


class ResolvedTree:
    """A parsed tree with its nodes by path and its phandles mapped to paths."""

    def __init__(self, blob: bytes):
        root, _, _ = parse_blob(blob)
        self.nodes: dict[str, Node] = {}
        self.paths: dict[int, str] = {}
        for path, node in root.walk():
            self.nodes[path] = node
            for name in PHANDLE_PROPERTIES:
                value = node.get(name)
                if value is not None and len(value) == 4:
                    self.paths.setdefault(int.from_bytes(value, "big"), path)

    def _cell_count(self, path: str, name: str, default: int) -> int:
        value = self.nodes[path].get(name) if path in self.nodes else None
        return int.from_bytes(value[:4], "big") if value and len(value) >= 4 else default

    def phandle_text(self, cell: int) -> str:
        """`&/path` for a phandle that names a node, else the number (it points nowhere)."""
        path = self.paths.get(cell)
        return f"&{path}" if path is not None else f"{cell:#x}"

    def _parent_layout(self, cells: list[int], head: int) -> set[int] | None:
        """Parent positions if every entry's parent names a node (whose #address-cells
        and #interrupt-cells say how long the entry is) and the entries fill the map."""
        positions, i = set(), head
        while i < len(cells):
            parent = self.paths.get(cells[i])
            if parent is None:
                return None
            positions.add(i)
            i += (1 + self._cell_count(parent, "#address-cells", 0)
                  + self._cell_count(parent, "#interrupt-cells", 1) + head)
        return positions if i == len(cells) + head else None

    def interrupt_map_parents(self, path: str, value: bytes) -> set[int] | None:
        """Cell indexes of the parent phandles in `path`'s interrupt-map, None if unreadable.

        An entry is the child unit address and interrupt (the node's #address-cells and
        #interrupt-cells; other counts are tried when those do not fit), the parent's
        phandle and the parent's unit and interrupt. When the parents name no node, the
        entry length is open: the shortest for which every entry has the same parent cell
        is taken (a dangling phandle is shown as the number it is)."""
        cells = _cells(value)
        declared = (self._cell_count(path, "#address-cells", 2)
                    + self._cell_count(path, "#interrupt-cells", 1))
        for head in [declared] + [h for h in range(1, 8) if h != declared]:
            positions = self._parent_layout(cells, head)
            if positions:
                return positions
        if len(cells) <= declared:
            return None
        for stride in range(declared + 1, declared + 6):
            if len(cells) % stride == 0:
                positions = set(range(declared, len(cells), stride))
                if len({cells[i] for i in positions}) == 1:
                    return positions
        return None

    def show(self, path: str, name: str, value: bytes) -> str:
        """The value as DTS text, with the cells that are phandles shown as paths."""
        if name in PHANDLE_PROPERTIES and len(value) == 4:
            return f"<&{path}>"
        positions: set[int] | None = None
        if name in PHANDLE_LISTS and len(value) % 4 == 0:
            positions = set(range(len(value) // 4))
        elif name == "interrupt-map" and len(value) % 4 == 0:
            positions = self.interrupt_map_parents(path, value)
        if not positions:
            return format_value(value)
        cells = _cells(value)
        return "<" + " ".join(self.phandle_text(c) if i in positions else f"{c:#x}"
                              for i, c in enumerate(cells)) + ">"


def tree_differences(a: bytes, b: bytes) -> list[Difference]:
    """The differences between blobs `a` and `b`, phandles resolved (see the module doc)."""
    ta, tb = ResolvedTree(a), ResolvedTree(b)
    out: list[Difference] = []
    for path in sorted(set(ta.nodes) | set(tb.nodes)):
        na, nb = ta.nodes.get(path), tb.nodes.get(path)
        if na is None or nb is None:
            out.append(Difference(path, "(node)", "present" if na else ABSENT,
                                  "present" if nb else ABSENT))
            continue
        pa, pb = dict(na.props), dict(nb.props)
        for name in sorted(set(pa) | set(pb)):
            if pa.get(name) == pb.get(name) and name not in REFERRING:
                continue                      # the same bytes that name no node
            sa = ta.show(path, name, pa[name]) if name in pa else ABSENT
            sb = tb.show(path, name, pb[name]) if name in pb else ABSENT
            if sa != sb:
                out.append(Difference(path, name, sa, sb))
    return out
