"""PCI host bridge hotplug on QEMU's pseries machine: the DRC and its RTAS services.

`plug(index)` is QEMU's `device_add spapr-pci-host-bridge,index=INDEX`: the PHB's dynamic
reconfiguration connector (DRC index 0x20000000 + INDEX, named "PHB INDEX" in the root's
"ibm,drc-names") gets a device. The guest then does what Linux does for it:

* get-sensor-state 9003 (dr-entity-sense): 1 once something is plugged in, else 0;
* set-indicator 9003 (allocation-state) 1 (usable), then 9001 (isolation-state) 1
  (unisolate); out of order, or with nothing plugged in, they fail (-3);
* ibm,configure-connector (work area: the DRC index, then what comes back), called until it
  answers 0: each call hands out the next piece of the PHB's device-tree fragment, as
  QEMU's configure-connector does: 2 (a node: its name at the offset in cell 2), 3 (a
  property: name offset in cell 2, length in cell 3, value offset in cell 4), 4 (back to the
  parent), 0 (done: the DRC is configured). -9003 when the DRC cannot be configured.

The fragment is built at the first configure-connector call, as QEMU's
spapr_phb_dt_populate does: the PHB node (`phb_node`, from the machine's PHB 0 moved to
INDEX: BUID, windows, DMA window, LSIs, DRCs) whose interrupt-map names the interrupt
controller by the phandle QEMU looks up in its current tree: the blob the guest stored
with H_UPDATE_DT, or QEMU's own tree (PHANDLE_INTC, 0x1111) when none was stored.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slofpy.fdt.blob import Node, parse_blob
from slofpy.abi.guest_memory import GuestMemory, read_u32, write_u32

if TYPE_CHECKING:
    from slofpy.host.qemu import QemuBackend
    from slofpy.host.rtas import RtasCall

DRC_TYPE_PHB = 0x20000000
DRC_TYPE_PCI = 0x40000000
SENSOR_DR_ENTITY_SENSE = 9003
INDICATOR_ISOLATION = 9001
INDICATOR_ALLOCATION = 9003
RTAS_SUCCESS, RTAS_HW_ERROR, RTAS_PARAM_ERROR, RTAS_NOT_CONFIGURABLE = 0, -1, -3, -9003
CC_SUCCESS, CC_NEXT_CHILD, CC_NEXT_PROPERTY, CC_PREV_PARENT = 0, 2, 3, 4
CC_DATA_OFFSET = 20          # after the five cells: index, state, name, length, value offsets
CC_WORK_AREA = 4096

BUID_BASE = 0x800000020000000
PCI_BASE = 1 << 45
IO_WINDOW, MEM32_WINDOW, MEM64_WINDOW = 0x10000, 0x80000000, 1 << 40
LSI_PER_PHB = 4


class HotplugError(ValueError):
    """A PHB that cannot be plugged in (one line: why)."""


def _u32s(*values: int) -> bytes:
    return b"".join((v & 0xFFFFFFFF).to_bytes(4, "big") for v in values)


def _cells(value: bytes) -> list[int]:
    return [int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value) - 3, 4)]


def _moved_ranges(ranges: bytes, index: int) -> bytes:
    """PHB 0's "ranges" (3 child, 2 parent, 2 size cells each) for PHB `index`."""
    cells = _cells(ranges)
    for i in range(0, len(cells) - 6, 7):
        space = cells[i] >> 24 & 3
        shift = {1: IO_WINDOW, 2: MEM32_WINDOW, 3: MEM64_WINDOW}.get(space, 0) * index
        parent = (cells[i + 3] << 32 | cells[i + 4]) + shift
        cells[i + 3:i + 5] = [parent >> 32, parent & 0xFFFFFFFF]
        if space == 3:                       # the 64-bit window is mapped 1:1
            child = (cells[i + 1] << 32 | cells[i + 2]) + shift
            cells[i + 1:i + 3] = [child >> 32, child & 0xFFFFFFFF]
    return _u32s(*cells)


def _moved_drcs(node: Node, index: int) -> list[tuple[str, bytes]]:
    """PHB 0's slot DRC tables for PHB `index` (ids gain index << 16, names follow)."""
    ids = _cells(node.get("ibm,drc-indexes") or b"")[1:]
    moved = [DRC_TYPE_PCI | index << 16 | (i & 0xFFFF) for i in ids]
    names = b"".join(f"C{i & 0xFFFFFF}".encode() + b"\0" for i in moved)
    out = []
    for name, value in node.props:
        if name == "ibm,drc-indexes":
            value = _u32s(len(moved), *moved)
        elif name == "ibm,drc-names":
            value = _u32s(len(moved)) + names
        out.append((name, value))
    return out


def phb_node(reset_tree: bytes, index: int, intc_phandle: int) -> Node:
    """The device-tree fragment of PHB `index`, made from the machine's PHB 0."""
    root, _, _ = parse_blob(reset_tree)
    template = root.child(f"pci@{BUID_BASE:x}")
    if template is None:
        raise HotplugError("the machine has no PHB 0 to model a new PHB on")
    props = []
    for name, value in _moved_drcs(template, index):
        if name == "reg":
            cells = _cells(value)
            buid = (cells[0] << 32 | cells[1]) + index
            value = _u32s(buid >> 32, buid, *cells[2:])
        elif name == "ranges":
            value = _moved_ranges(value, index)
        elif name == "ibm,my-drc-index":
            value = _u32s(DRC_TYPE_PHB | index)
        elif name == "ibm,dma-window":
            value = _u32s(_cells(value)[0] | index << 8) + value[4:]
        elif name == "interrupt-map":
            cells = _cells(value)
            for i in range(0, len(cells) - 6, 7):
                cells[i + 4] = intc_phandle
                cells[i + 5] += LSI_PER_PHB * index
            value = _u32s(*cells)
        props.append((name, value))
    props.append(("name", b"pci\0"))
    return Node(f"pci@{BUID_BASE + index:x}", props)


class PhbHotplug:
    """The PHB DRCs of a machine and the RTAS services the guest configures them with."""

    def __init__(self, machine: QemuBackend):
        """`machine`: the host backend (its `seed`, the reset tree, and
        `interrupt_controller_phandle()`, the lookup in its current tree)."""
        self.machine = machine
        self.plugged: dict[int, int] = {}     # DRC index -> PHB index
        self.state: dict[int, str] = {}       # DRC index -> "plugged" / "usable" / "unisolated" / "configured"
        self.pending: dict[int, list[tuple[int, object]]] = {}

    def drc_indexes(self) -> list[int]:
        """The PHB DRCs the machine has (root "ibm,drc-indexes" of type PHB)."""
        blob = self.machine.seed
        if blob is None:
            return []
        root, _, _ = parse_blob(blob)
        ids = _cells(root.get("ibm,drc-indexes") or b"")[1:]
        return [i for i in ids if i & 0xF0000000 == DRC_TYPE_PHB]

    def plug(self, index: int) -> int:
        """Put a new PHB at `index`; its DRC index. HotplugError when that cannot be."""
        drc = DRC_TYPE_PHB | index
        if drc not in self.drc_indexes():
            raise HotplugError(f"the machine has no DRC for PHB {index}")
        root, _, _ = parse_blob(self.machine.seed)
        if root.child(f"pci@{BUID_BASE + index:x}") is not None or drc in self.plugged:
            raise HotplugError(f"PHB {index} is in use already")
        self.plugged[drc] = index
        self.state[drc] = "plugged"
        return drc

    def services(self) -> dict[str, Callable[[RtasCall], None]]:
        """RTAS service name -> handler, for slofpy.host.rtas.RtasServices."""
        return {"get-sensor-state": self.get_sensor_state,
                "set-indicator": self.set_indicator,
                "ibm,configure-connector": self.configure_connector}

    def get_sensor_state(self, call: RtasCall) -> None:
        sensor, drc = call.arg(0), call.arg(1)
        if sensor != SENSOR_DR_ENTITY_SENSE or drc not in self.drc_indexes():
            call.ret(0, RTAS_PARAM_ERROR)
            return
        call.ret(0, RTAS_SUCCESS)
        call.ret(1, 1 if drc in self.plugged else 0)

    def set_indicator(self, call: RtasCall) -> None:
        indicator, drc, value = call.arg(0), call.arg(1), call.arg(2)
        state = self.state.get(drc)
        moves = {(INDICATOR_ALLOCATION, 1, "plugged"): "usable",
                 (INDICATOR_ISOLATION, 1, "usable"): "unisolated",
                 (INDICATOR_ISOLATION, 0, "unisolated"): "usable",
                 (INDICATOR_ALLOCATION, 0, "usable"): "plugged"}
        new = moves.get((indicator, value, state))
        if new is None:
            call.ret(0, RTAS_PARAM_ERROR)
            return
        self.state[drc] = new
        call.ret(0, RTAS_SUCCESS)

    def _pieces(self, drc: int) -> list[tuple[int, object]]:
        node = phb_node(self.machine.seed, self.plugged[drc], self.machine.interrupt_controller_phandle())
        return ([(CC_NEXT_CHILD, node.name)] + [(CC_NEXT_PROPERTY, p) for p in node.props]
                + [(CC_SUCCESS, None)])

    def configure_connector(self, call: RtasCall) -> None:
        memory: GuestMemory = call.memory
        work = call.arg(0)
        drc = read_u32(memory, work)
        if self.state.get(drc) != "unisolated":
            call.ret(0, RTAS_NOT_CONFIGURABLE)
            return
        if drc not in self.pending:
            try:
                self.pending[drc] = self._pieces(drc)
            except LookupError:              # QEMU: no interrupt controller to point at
                call.ret(0, RTAS_HW_ERROR)
                return
        kind, what = self.pending[drc].pop(0)
        if kind == CC_NEXT_CHILD:
            memory.write(work + CC_DATA_OFFSET, what.encode() + b"\0")
            write_u32(memory, work + 8, CC_DATA_OFFSET)
        elif kind == CC_NEXT_PROPERTY:
            name, value = what
            text = name.encode() + b"\0"
            if CC_DATA_OFFSET + len(text) + len(value) > CC_WORK_AREA:
                call.ret(0, RTAS_PARAM_ERROR)
                return
            memory.write(work + CC_DATA_OFFSET, text + value)
            write_u32(memory, work + 8, CC_DATA_OFFSET)
            write_u32(memory, work + 12, len(value))
            write_u32(memory, work + 16, CC_DATA_OFFSET + len(text))
        else:
            del self.pending[drc]
            self.state[drc] = "configured"
        call.ret(0, kind)
