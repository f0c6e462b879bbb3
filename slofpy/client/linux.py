"""A Linux-like client of the firmware: what Linux's prom_init does on pseries, in Python.

The client reaches the firmware only through the IEEE 1275 client interface (`fw.client`,
the entry point an OS calls) and the memory it is given there (heap memory it asks for with
the `interpret` service: slofpy's guest memory ends where the firmware's heap ends, so the
RAM `claim` hands out above it is not backed); after quiesce it reaches RTAS
only through the code `instantiate-rtas` put into its memory, which it runs: that code loads
an hcall number and makes the `sc 1` call (`RtasCode`). Its steps, in prom_init's order:

1. /chosen and its stdout instance: the path of the console ("linux,stdout-path" set);
2. CAS: the root's ibm,client-architecture-support with Linux's option vectors, the
   interrupt and MMU modes picked from /chosen "ibm,arch-vec-5-platform-support";
3. instantiate-rtas at memory it claimed ("linux,rtas-base", "linux,rtas-entry" set);
4. a walk of the whole tree (peer, child, package-to-path, nextprop, getproplen, getprop)
   that builds the client's own flattened tree: node names from the paths, every property
   but "name", a "phandle" added from the node's handle, as prom_init's flatten does;
5. quiesce: stdin is closed (which quiesces SLOF) and quiesce is called, unless told not to.

`hotplug_phb()` then plays the OS's part of a PHB hotplug (as drmgr and the kernel do):
find the DRC named "PHB <index>" in its tree, make it usable and unisolate it (RTAS
set-indicator), read the new node with ibm,configure-connector, add it to its tree and
check that the interrupt-map's parent phandle names the interrupt controller there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..fdt.blob import Node, build_blob
from .errors import ClientError

if TYPE_CHECKING:
    from ..firmware.board import BoardFirmware

PROM_ERROR = 0xFFFFFFFF

# Linux's ibm_architecture_vec (prom_init.c): PVR (mask, value) pairs, the last one ending
# the list (a value bit outside its mask), then vectors 1 to 6.
LINUX_PVRS = [(0xFFFE0000, 0x003A0000), (0xFFFF0000, 0x003E0000), (0xFFFF0000, 0x003F0000),
              (0xFFFF0000, 0x004B0000), (0xFFFF0000, 0x004C0000), (0xFFFF0000, 0x004D0000),
              (0xFFFF0000, 0x004E0000), (0xFFFF0000, 0x00800000), (0xFFFFFFFF, 0x0F000006),
              (0xFFFFFFFF, 0x0F000005), (0xFFFFFFFF, 0x0F000004), (0xFFFFFFFF, 0x0F000003),
              (0xFFFFFFFF, 0x0F000002), (0xFFFFFFFE, 0x0F000001)]
OV5_INTARCH, OV5_MMU, OV5_RADIX_EXT = 22, 23, 25          # indexes into vector 5's bytes
OV5_XIVE_EXPLOIT, OV5_MMU_RADIX, OV5_RADIX_GTSE = 0x40, 0x40, 0x40


def linux_choices(platform_support: bytes) -> tuple[bool, bool, bool]:
    """(XIVE, radix MMU, radix GTSE) as prom_check_platform_support picks them from
    /chosen "ibm,arch-vec-5-platform-support" (pairs of vector-5 byte number and value)."""
    pairs = {platform_support[i]: platform_support[i + 1]
             for i in range(0, len(platform_support) - 1, 2)}
    xive = pairs.get(23, 0) & 0xC0 in (0x40, 0x80)
    radix = pairs.get(24, 0) & 0xC0 in (0x40, 0x80, 0xC0)
    return xive, radix, radix and bool(pairs.get(26, 0) & 0x40)


def linux_option_vectors(platform_support: bytes, max_cores: int = 2048) -> bytes:
    """Linux's option vectors, vector 5 filled in from "ibm,arch-vec-5-platform-support"
    as prom_check_platform_support fills it in (see linux_choices)."""
    xive, radix, gtse = linux_choices(platform_support)
    out = bytearray()
    for mask, value in LINUX_PVRS:
        out += mask.to_bytes(4, "big") + value.to_bytes(4, "big")
    out.append(5)                                         # six vectors
    vec5 = bytearray(26)
    vec5[1] = 0xF3      # LPAR, SPLPAR, DRCONF_MEMORY, LARGE_PAGES, DONATE_DEDICATE_CPU, MSI
    vec5[3] = 0xC0      # CMO, XCMO
    vec5[4] = 0xE0      # FORM1 and FORM2 affinity, PRRN
    vec5[5] = 0x05      # HP_EVT, RESIZE_HPT
    vec5[8:12] = max_cores.to_bytes(4, "big")
    vec5[16] = 0xE0     # PFO: RNG, encryption, 842
    vec5[20] = 1        # sub-processors
    vec5[21] = 0xC0     # DRMEM_V2, DRC_INFO
    vec5[OV5_INTARCH] = OV5_XIVE_EXPLOIT if xive else 0
    vec5[OV5_MMU] = OV5_MMU_RADIX if radix else 0
    vec5[OV5_RADIX_EXT] = OV5_RADIX_GTSE if gtse else 0
    vectors = (bytes([0x00, 0xFF, 0xC0]),                 # ISA 2.00 .. 2.07, 3.00, 3.1
               bytes([0x20, 0, 0]) + b"\xff" * 16 + (512).to_bytes(4, "big") + b"\xff" * 4
               + bytes([0, 48]),                          # real mode, min RMA, max PFT
               bytes([0x00, 0xE0]),                       # FP, VMX, DFP
               bytes([0x00, 10]),                         # min entitled capacity
               bytes(vec5),
               bytes([0x00, 0x00, 0x02]))                 # OS: Linux
    for vec in vectors:
        out.append(len(vec) - 1)
        out += vec
    return bytes(out)


@dataclass
class ClientReport:
    """What the client saw."""
    stdout_path: str = ""
    cas_result: int | None = None
    interrupt_mode: str = ""
    rtas_base: int = 0
    rtas_entry: int = 0
    nodes: int = 0
    properties: int = 0
    blob: bytes = b""
    quiesced: bool = False
    lines: list[str] = field(default_factory=list)


def _cell(value: bytes) -> int:
    return int.from_bytes(value[:4], "big")


class RtasCode:
    """The RTAS code instantiate-rtas copied into the client's memory, run as a CPU would
    run it: `mr r4,r3; lis r3,HI; ori r3,r3,LO; sc 1; blr` makes hcall HI<<16|LO with the
    argument block in r4. Anything else there is refused (the client would crash)."""

    MR_R4_R3, SC_1, BLR = 0x7C641B78, 0x44000022, 0x4E800020

    def __init__(self, fw: BoardFirmware, base: int):
        words = [int.from_bytes(fw.read(base + 4 * i, 4), "big") for i in range(5)]
        if (words[0] != self.MR_R4_R3 or words[1] & 0xFFFF0000 != 0x3C600000
                or words[2] & 0xFFFF0000 != 0x60630000 or words[3] != self.SC_1
                or words[4] != self.BLR):
            raise ClientError(f"no RTAS code at {base:#x}")
        self.hcall_number = (words[1] & 0xFFFF) << 16 | (words[2] & 0xFFFF)
        self.hypervisor = fw.hypervisor

    def __call__(self, args_addr: int) -> int:
        rc, _ = self.hypervisor.hcall(self.hcall_number, args_addr)
        return rc


class LinuxClient:
    """Linux's prom_init against a booted board (`slofpy.firmware.board.boot_machine`)."""

    SCRATCH = 0x10000          # claimed once: strings, buffers, the RTAS argument block
    WORK_AREA = 0x1000         # RTAS configure-connector work area (Linux's rtas data buffer)

    def __init__(self, fw: BoardFirmware):
        self.fw = fw
        self.report = ClientReport()
        self.root: Node | None = None
        self.rtas: RtasCode | None = None
        self.tokens: dict[str, int] = {}
        self.scratch = self._claim(self.SCRATCH)

    # --- the client interface ------------------------------------------------------------

    def ci(self, service: str, *args: int | str | bytes, nret: int = 1) -> list[int]:
        """One client-interface call (slofpy.firmware.Firmware.client): its return cells."""
        return self.fw.client(service, *args, nret=nret)

    def _claim(self, size: int, align: int = 0x1000) -> int:
        """Memory for the client: what `claim` gives, as Linux asks for it, when guest
        memory backs it (SLOF itself on slofpy: the VM spans the guest's RAM). slofpy's own
        firmware's guest memory ends where its heap ends (the RAM `claim` hands out above
        it is not backed), so there the client asks for heap memory with the `interpret`
        service instead."""
        base, = self.ci("claim", 0, size, align)
        if base != PROM_ERROR and base + size <= self.fw.vm.size:
            return base
        catch, base = self.ci("interpret", f"{size + align:x} alloc-mem", nret=2)
        if catch or not base:
            raise ClientError(f"no memory for {size:#x} bytes")
        return (base + align - 1) & -align

    def getprop(self, ph: int, name: str) -> bytes | None:
        size, = self.ci("getproplen", ph, name)
        if size == PROM_ERROR:
            return None
        if size > self.SCRATCH:
            raise ClientError(f"property {name} of {size} bytes is too big")
        got, = self.ci("getprop", ph, name, self.scratch, size)
        return self.fw.read(self.scratch, min(got, size))

    def setprop(self, ph: int, name: str, value: bytes) -> None:
        self.fw.write(self.scratch, value)
        self.ci("setprop", ph, name, self.scratch, len(value))

    def path_of(self, ph: int) -> str:
        size, = self.ci("package-to-path", ph, self.scratch, 1024)
        if size == PROM_ERROR:
            raise ClientError(f"package-to-path of {ph:#x} failed")
        return self.fw.read(self.scratch, size).split(b"\0")[0].decode("latin-1")

    def nextprop(self, ph: int, previous: str) -> str | None:
        flag, = self.ci("nextprop", ph, previous, self.scratch)
        if flag != 1:
            return None
        return self.fw.read(self.scratch, 64).split(b"\0")[0].decode("latin-1")

    # --- prom_init's steps -----------------------------------------------------------------

    def init_stdout(self) -> None:
        self.chosen, = self.ci("finddevice", "/chosen")
        value = self.getprop(self.chosen, "stdout")
        if not value:
            raise ClientError("no /chosen stdout")
        size, = self.ci("instance-to-path", _cell(value), self.scratch, 255)
        path = self.fw.read(self.scratch, size).split(b"\0")[0]
        self.setprop(self.chosen, "linux,stdout-path", path + b"\0")
        self.report.stdout_path = path.decode("latin-1")
        self.report.lines.append(f"OF stdout device is: {self.report.stdout_path}")

    def send_capabilities(self) -> None:
        support = self.getprop(self.chosen, "ibm,arch-vec-5-platform-support") or b""
        vectors = linux_option_vectors(support)
        table = self._claim(len(vectors), 8)
        self.fw.write(table, vectors)
        root, = self.ci("open", "/")
        catch, result = self.ci("call-method", "ibm,client-architecture-support", root, table,
                                nret=2)
        self.ci("close", root, nret=0)
        self.report.cas_result = result if catch == 0 else catch
        if catch or result:
            self.report.lines.append("WARNING: ibm,client-architecture-support call FAILED!")
        self.report.interrupt_mode = "XIVE" if linux_choices(support)[0] else "XICS"
        self.report.lines.append(f"CAS: ibm,client-architecture-support returned "
                                 f"{self.report.cas_result} ({self.report.interrupt_mode})")

    def instantiate_rtas(self) -> None:
        node, = self.ci("finddevice", "/rtas")
        if node == PROM_ERROR:
            raise ClientError("no /rtas")
        size = _cell(self.getprop(node, "rtas-size") or b"\0\0\0\0")
        base = self._claim(max(size, 0x1000))
        inst, = self.ci("open", "/rtas")
        catch, entry = self.ci("call-method", "instantiate-rtas", inst, base, nret=2)
        if catch or not entry:
            raise ClientError("instantiate-rtas failed")
        self.setprop(node, "linux,rtas-base", base.to_bytes(4, "big"))
        self.setprop(node, "linux,rtas-entry", entry.to_bytes(4, "big"))
        self.report.rtas_base, self.report.rtas_entry = base, entry
        self.report.lines.append(f"instantiating rtas at {base:#x}... done (entry {entry:#x})")
        self.rtas_node = node

    def walk(self, ph: int) -> Node:
        """One node and everything under it, as prom_init's scan_dt_build_struct reads it."""
        path = self.path_of(ph)
        node = Node(path.rsplit("/", 1)[-1])
        previous, has_phandle = "", False
        while (name := self.nextprop(ph, previous)) is not None:
            previous = name
            if name == "name":
                continue
            value = self.getprop(ph, name)
            if value is None:
                continue
            has_phandle |= name == "phandle"
            node.props.append((name, value))
        if not has_phandle:
            node.props.append(("phandle", ph.to_bytes(4, "big")))
        self.report.nodes += 1
        self.report.properties += len(node.props)
        kid, = self.ci("child", ph)
        while kid:
            node.children.append(self.walk(kid))
            kid, = self.ci("peer", kid)
        return node

    def flatten_device_tree(self) -> None:
        root, = self.ci("peer", 0)
        self.root = self.walk(root)
        cpu = self.getprop(self.chosen, "cpu")
        boot_cpu = 0
        if cpu:
            ph, = self.ci("instance-to-package", _cell(cpu))
            boot_cpu = _cell(self.getprop(ph, "reg") or b"\0\0\0\0")
        reserve = [(self.report.rtas_base, 0x1000)] if self.report.rtas_base else []
        self.report.blob = build_blob(self.root, reserve, boot_cpu)
        self.report.lines.append(f"copying OF device tree: {self.report.nodes} nodes, "
                                 f"{self.report.properties} properties, "
                                 f"{len(self.report.blob)} bytes")

    def quiesce(self) -> None:
        stdin = self.getprop(self.chosen, "stdin")
        if stdin:
            self.ci("close", _cell(stdin), nret=0)
        self.report.lines.append("Quiescing Open Firmware ...")
        self.ci("quiesce", nret=0)
        self.report.quiesced = True

    def run(self, quiesce: bool = True) -> ClientReport:
        """prom_init from the console to quiesce (skipped when quiesce is False)."""
        self.init_stdout()
        self.send_capabilities()
        self.instantiate_rtas()
        self.flatten_device_tree()
        if quiesce:
            self.quiesce()
        return self.report

    # --- after quiesce: RTAS and a PHB hotplug ---------------------------------------------

    def rtas_call(self, service: str, args: list[int], nret: int) -> list[int]:
        """Call RTAS `service` through the instantiated code; its return cells (signed)."""
        if self.rtas is None:
            self.rtas = RtasCode(self.fw, self.report.rtas_base)
            rtas = find(self.root, "/rtas")
            self.tokens = {name: _cell(value) for name, value in (rtas.props if rtas else [])
                           if len(value) == 4}
        if service not in self.tokens:
            raise ClientError(f"RTAS has no {service}")
        block = self.scratch
        cells = [self.tokens[service], len(args), nret, *args] + [0] * nret
        self.fw.write(block, b"".join((c & 0xFFFFFFFF).to_bytes(4, "big") for c in cells))
        self.rtas(block)
        out = []
        for i in range(nret):
            value = int.from_bytes(self.fw.read(block + 12 + 4 * (len(args) + i), 4), "big")
            out.append(value - (1 << 32) if value & 0x80000000 else value)
        return out

    def hotplug_phb(self, index: int) -> tuple[int, str]:
        """Configure the PHB hotplugged at DRC "PHB <index>"; (exit status, the line)."""
        from .hotplug import configure_phb
        return configure_phb(self, index)


def find(root: Node | None, path: str) -> Node | None:
    """The node at `path` of a client tree (names with their units)."""
    node = root
    for part in [p for p in path.split("/") if p]:
        if node is None:
            return None
        node = node.child(part)
    return node
