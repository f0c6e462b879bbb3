"""The client's side of a PHB hotplug after quiesce (what drmgr and Linux's DLPAR code do).

`configure_phb(client, index)`: the DRC named "PHB <index>" is looked up in the client's own
tree (root "ibm,drc-names" / "ibm,drc-indexes"); RTAS, through the code the client
instantiated, senses it (get-sensor-state 9003), makes it usable and unisolates it
(set-indicator 9003, 9001) and hands out the new node piece by piece
(ibm,configure-connector). The node joins the client's tree under the root, and the
interrupt-map's parent phandle is looked up there: it must name the interrupt controller.

Result: (0, "hotplug: <path> interrupt-parent <phandle> -> <path>") when it does, else
(1, one line naming the phandle and what is wrong).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..fdt.blob import Node
from .errors import ClientError

if TYPE_CHECKING:
    from .linux import LinuxClient

PHANDLE_PROPERTIES = ("phandle", "linux,phandle", "ibm,phandle")
CC_SUCCESS, CC_NEXT_SIBLING, CC_NEXT_CHILD, CC_NEXT_PROPERTY, CC_PREV_PARENT = 0, 1, 2, 3, 4
MAX_PIECES = 10000


def _cells(value: bytes) -> list[int]:
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


def drc_by_name(root: Node, name: str) -> int | None:
    """The DRC index the root lists under `name`."""
    names_value = root.get("ibm,drc-names") or b""
    names = names_value[4:].split(b"\0")
    indexes = _cells(root.get("ibm,drc-indexes") or b"")[1:]
    for drc_name, index in zip(names, indexes):
        if drc_name.decode("latin-1") == name:
            return index
    return None


def phandle_paths(root: Node) -> dict[int, str]:
    """phandle -> path, for every node of a client tree."""
    paths: dict[int, str] = {}
    for path, node in root.walk():
        for name in PHANDLE_PROPERTIES:
            value = node.get(name)
            if value is not None and len(value) == 4:
                paths.setdefault(int.from_bytes(value, "big"), path)
    return paths


def read_connector(client: LinuxClient, drc: int) -> Node:
    """ibm,configure-connector until done: the new node (with any children)."""
    fw = client.fw
    work = client._claim(0x1000)
    fw.write(work, drc.to_bytes(4, "big") + bytes(4))
    stack: list[Node] = []
    top: Node | None = None
    for _ in range(MAX_PIECES):
        response, = client.rtas_call("ibm,configure-connector", [work, 0], 1)
        if response == CC_SUCCESS:
            if top is None:
                raise ClientError(f"ibm,configure-connector gave no node for DRC {drc:#x}")
            return top
        if response == CC_NEXT_CHILD or response == CC_NEXT_SIBLING:
            offset = int.from_bytes(fw.read(work + 8, 4), "big")
            name = fw.read(work + offset, 256).split(b"\0")[0].decode("latin-1")
            node = Node(name)
            if response == CC_NEXT_SIBLING and stack:
                stack.pop()
            if stack:
                stack[-1].children.append(node)
            else:
                top = node
            stack.append(node)
        elif response == CC_NEXT_PROPERTY and stack:
            name_at, length, value_at = _cells(fw.read(work + 8, 12))
            name = fw.read(work + name_at, 256).split(b"\0")[0].decode("latin-1")
            stack[-1].props.append((name, fw.read(work + value_at, length)))
        elif response == CC_PREV_PARENT and stack:
            stack.pop()
        else:
            raise ClientError(f"ibm,configure-connector for DRC {drc:#x} answered {response}")
    raise ClientError(f"ibm,configure-connector for DRC {drc:#x} never finished")


def configure_phb(client: LinuxClient, index: int) -> tuple[int, str]:
    """See the module docstring."""
    root = client.root
    name = f"PHB {index}"
    drc = drc_by_name(root, name)
    if drc is None:
        return 1, f"hotplug: the tree has no DRC named {name!r}"
    status, sense = client.rtas_call("get-sensor-state", [9003, drc], 2)
    if status != 0 or sense != 1:
        return 1, f"hotplug: nothing is plugged into {name} (dr-entity-sense {status}, {sense})"
    for indicator in (9003, 9001):
        status, = client.rtas_call("set-indicator", [indicator, drc, 1], 1)
        if status != 0:
            return 1, f"hotplug: set-indicator {indicator} for {name} failed ({status})"
    try:
        node = read_connector(client, drc)
    except ClientError as e:
        return 1, f"hotplug: {e}"
    root.children.append(node)
    path = "/" + node.name
    imap = node.get("interrupt-map")
    if not imap:
        return 1, f"hotplug: {path} has no interrupt-map"
    head = (_cells(node.get("#address-cells") or b"\0\0\0\3")[0]
            + _cells(node.get("#interrupt-cells") or b"\0\0\0\1")[0])
    phandle = _cells(imap)[head]
    target = phandle_paths(root).get(phandle)
    if target is None:
        return 1, f"hotplug: {path}: interrupt-map parent phandle {phandle:#x} points to no node"
    if not target.rsplit("/", 1)[-1].startswith("interrupt-controller"):
        return 1, (f"hotplug: {path}: interrupt-map parent phandle {phandle:#x} names "
                   f"{target}, not the interrupt controller")
    return 0, f"hotplug: {path} interrupt-parent {phandle:#x} -> {target}"
