"""A read-only Python view of the device tree that Forth keeps in VM memory.

Nothing is copied or cached: every attribute is read from memory (or asked of the Forth words)
when it is used, so the view always shows the tree as it is now. Layout read here (forth/node.fs
and forth/property.fs): a node is a structure of cells (peer, parent, child, property wordlist,
method wordlist, ...); a property is a $2constant word in the node's property wordlist whose two
cells are the data address and length, and the cell before the data holds the xt of the word
that prints it, which tells how it was encoded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..vm import layout as L
from ..vm import dictionary as D

#: the fields of node.fs's node structure the view reads; their offsets are asked of the
#: Forth (``0 node>peer`` ...) when a view is made, so a change to the structure needs no change here
NODE_FIELDS = ("node>peer", "node>parent", "node>child", "node>properties", "node>words",
               "node>space?")


@dataclass(frozen=True)
class Property:
    name: str
    value: bytes
    kind: str          # "string", "int" or "bytes": how it was encoded
    address: int       # where the data lives in VM memory


class Node:
    """One node; equality is by phandle."""

    def __init__(self, view: "TreeView", phandle: int):
        self.view = view
        self.phandle = phandle

    def __eq__(self, other) -> bool:
        return isinstance(other, Node) and other.phandle == self.phandle

    def __hash__(self) -> int:
        return hash(self.phandle)

    def __repr__(self) -> str:
        return f"<Node {self.path} @{self.phandle:#x}>"

    def _cell(self, field: str) -> int:
        return self.view.fw.cell(self.phandle + self.view.offsets[field])

    @property
    def parent(self) -> "Node | None":
        p = self._cell("node>parent")
        return Node(self.view, p) if p else None

    @property
    def children(self) -> list["Node"]:
        out, c = [], self._cell("node>child")
        while c:
            out.append(Node(self.view, c))
            c = self.view.fw.cell(c + self.view.offsets["node>peer"])
        return out

    def properties(self) -> list[Property]:
        """Newest first, as Forth iterates them."""
        return list(self.view._properties(self._cell("node>properties")))

    def get(self, name: str) -> Property | None:
        for p in self.properties():
            if p.name.lower() == name.lower():
                return p
        return None

    def __getitem__(self, name: str) -> bytes:
        p = self.get(name)
        if p is None:
            raise KeyError(name)
        return p.value

    @property
    def name(self) -> str:
        p = self.get("name")
        return p.value.rstrip(b"\0").decode("latin-1") if p else f"{self.phandle:x}"

    @property
    def path(self) -> str:
        return self.view._forth_string("node>path", self.phandle)

    @property
    def qname(self) -> str:
        return self.view._forth_string("node>qname", self.phandle)

    @property
    def unit_set(self) -> bool:
        return self._cell("node>space?") != 0

    def methods(self) -> list[str]:
        fw = self.view.fw
        return [D.name_of(fw.vm, lfa).decode("latin-1")
                for lfa in D.wordlist_words(fw.vm, self._cell("node>words"))]

    def walk(self) -> Iterator["Node"]:
        """This node and every node below it, depth first, children in order."""
        stack = [self]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(n.children))


class TreeView:
    def __init__(self, fw):
        self.fw = fw
        self.offsets: dict[str, int] = {}
        for field in NODE_FIELDS:
            fw.push(0)
            fw.execute(field)
            self.offsets[field] = fw.pop()
        self._kinds = {}
        for word, kind in ((".prop-string", "string"), (".prop-int", "int"),
                           (".prop-bytes", "bytes")):
            hit = D.find(fw.vm, word.encode())
            if hit:
                self._kinds[hit[0]] = kind

    @property
    def root(self) -> Node | None:
        self.fw.evaluate("device-tree @")
        ph = self.fw.pop()
        return Node(self, ph) if ph else None

    def find(self, path: str) -> Node | None:
        addr, n = self._string(path)
        try:
            self.fw.push(addr, n)
            self.fw.execute("find-node")
            ph = self.fw.pop()
        finally:
            if addr:
                self.fw._free(addr, n)
        return Node(self, ph) if ph else None

    def nodes(self) -> Iterator[Node]:
        r = self.root
        return r.walk() if r else iter(())

    def _string(self, text: str) -> tuple[int, int]:
        data = text.encode("latin-1")
        if not data:
            return 0, 0
        self.fw.push(len(data))
        self.fw.execute("alloc-mem")
        addr = self.fw.pop()
        self.fw.write(addr, data)
        return addr, len(data)

    def _forth_string(self, word: str, ph: int) -> str:
        self.fw.push(ph)
        self.fw.execute(word)
        n = self.fw.pop()
        a = self.fw.pop()
        return self.fw.read(a, n).decode("latin-1")

    def _properties(self, wid: int) -> Iterator[Property]:
        vm = self.fw.vm
        for lfa in D.wordlist_words(vm, wid):
            xt = D.lfa_to_xt(lfa, vm.mem)
            if vm.cell(xt) != L.K_2CONSTANT:
                continue
            addr, length = vm.cell(xt + 8), vm.cell(xt + 16)
            kind = self._kinds.get(vm.cell(addr - 8), "bytes") if addr >= 8 else "bytes"
            yield Property(D.name_of(vm, lfa).decode("latin-1"), bytes(vm.read(addr, length)),
                           kind, addr)
