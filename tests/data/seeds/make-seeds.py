#!/usr/bin/env python3
"""Regenerate the QEMU pseries seeds and real-SLOF captures in this folder.

For every configuration in CONFIGS this writes, next to this script:

  NAME.seed.dtb / NAME.seed.dts   the tree QEMU hands to SLOF
                                  (qemu-system-ppc64 -M pseries,dumpdtb=...)
  NAME.slof.dtb / NAME.slof.dts   the tree real SLOF flattens back
                                  (fdt-flatten-tree typed at the "0 >" prompt)
  NAME.console.txt                what real SLOF prints for a few display
                                  words at the same prompt

Needs qemu-system-ppc64 (Debian: qemu-system-ppc, which bundles slof.bin),
dtc, pylibfdt, and swtpm for the configuration with a vTPM (skipped with a
note when swtpm is missing).

Usage:
  make-seeds.py                 all configurations
  make-seeds.py NAME ...        only these
  make-seeds.py --list          list the configurations
  make-seeds.py --time [N]      time boot-to-prompt of the default config N times

The timing functions can be imported by other tools (the file name has a
dash, so load it by path):

  import importlib.util
  spec = importlib.util.spec_from_file_location("make_seeds", "tests/data/seeds/make-seeds.py")
  mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
  seconds = mod.time_boot_to_prompt(["-m", "512"])   # process start -> "0 >"
  lines = mod.boot_timeline()                        # [(seconds, console line), ...]
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QEMU = os.environ.get("QEMU", "qemu-system-ppc64")

# Always present: no default NIC, no graphics (so SLOF uses the hvterm vty).
BASE_ARGS = ["-nic", "none", "-vga", "none"]

# Arguments that make QEMU run SLOF with the console on our stdin/stdout.
RUN_ARGS = ["-display", "none", "-monitor", "none", "-serial", "stdio"]

PROMPT = b"\n0 > "

# Disk images the configurations refer to, created in the scratch directory
# QEMU runs in: name -> size in bytes (all zeros; SLOF finds no partition
# table on them and moves on).
IMAGES = {"disk0.img": 1 << 20, "disk1.img": 1 << 20, "disk2.img": 1 << 20}

# name, extra QEMU arguments, what it exercises.  "@TPMSOCK@" is replaced by
# the swtpm control socket path (configurations with needs_tpm=True).
CONFIGS: list[dict] = [
    dict(name="default",
         args=["-m", "512"],
         what="Same as shared/seeds/default: 512 MiB, 1 CPU, the default "
              "v-scsi with QEMU's default (empty) CD-ROM. Used to check the "
              "capture method against shared/seeds/default.slof.dtb."),
    dict(name="smp4",
         args=["-m", "512", "-smp", "4"],
         what="4 CPUs (4 cores, 1 thread each): four PowerPC,POWER9@N nodes, "
              "interrupt-server ranges, CPU DRC entries."),
    dict(name="cpu-hotplug",
         args=["-m", "512", "-smp", "2,maxcpus=4,sockets=2,cores=2,threads=1"],
         what="2 CPUs present of 4 possible (2 sockets x 2 cores): CPU DRC "
              "tables list hot-pluggable cores that have no node."),
    dict(name="numa",
         args=["-m", "1G", "-smp", "2",
               "-object", "memory-backend-ram,id=m0,size=512M",
               "-object", "memory-backend-ram,id=m1,size=512M",
               "-numa", "node,nodeid=0,memdev=m0,cpus=0",
               "-numa", "node,nodeid=1,memdev=m1,cpus=1"],
         what="2 NUMA nodes of 512 MiB, one CPU each: two memory@ nodes, "
              "ibm,associativity on CPUs and memory, "
              "ibm,max-associativity-domains."),
    dict(name="hotmem",
         args=["-m", "2G,slots=2,maxmem=4G"],
         what="More RAM (2 GiB, so SLOF sits higher and its phandles change) "
              "with memory hotplug space (maxmem 4 GiB): LMB and PMEM DRC "
              "entries in the root DRC lists, ibm,lrdr-capacity. (QEMU only "
              "adds /ibm,dynamic-reconfiguration-memory at CAS time, so it "
              "is not in the boot tree.)"),
    dict(name="pci-virtio",
         args=["-m", "512",
               "-device", "virtio-net-pci",
               "-drive", "if=none,id=d0,file=disk0.img,format=raw",
               "-device", "virtio-blk-pci,drive=d0",
               "-device", "virtio-scsi-pci,id=vs0",
               "-drive", "if=none,id=d1,file=disk1.img,format=raw",
               "-device", "scsi-hd,drive=d1,bus=vs0.0"],
         what="virtio-net, virtio-blk (1 MiB blank image) and virtio-scsi "
              "with one scsi-hd on the first PHB: the properties SLOF's PCI "
              "drivers add to QEMU's pre-enumerated device nodes, the disk "
              "child under virtio-scsi, net/disk/scsi aliases, and a failed "
              "network boot (bootpath/bootargs in /chosen)."),
    dict(name="pci-misc",
         args=["-m", "512",
               "-device", "e1000",
               "-device", "qemu-xhci",
               "-device", "usb-kbd"],
         what="e1000 NIC, an XHCI USB controller and a USB keyboard: "
              "non-virtio PCI devices, the usb-keyboard node SLOF creates "
              "under usb-xhci, usb0/keyboard aliases."),
    dict(name="phb2",
         args=["-m", "512",
               "-device", "spapr-pci-host-bridge,index=1,id=phb1",
               "-device", "virtio-rng-pci,bus=phb1.0",
               "-device", "pci-bridge,chassis_nr=1,id=br1,bus=pci.0",
               "-device", "virtio-rng-pci,bus=br1,addr=3"],
         what="A second PHB (index 1) with a virtio-rng behind it, and a "
              "PCI-PCI bridge on the first PHB with a virtio-rng behind it."),
    dict(name="bridges2",
         args=["-m", "512",
               "-device", "pci-bridge,chassis_nr=1,id=br1,bus=pci.0,addr=2",
               "-device", "virtio-rng-pci,bus=pci.0,addr=5",
               "-device", "virtio-rng-pci,bus=br1,addr=1",
               "-device", "pci-bridge,chassis_nr=2,id=br2,bus=br1,addr=3",
               "-device", "virtio-rng-pci,bus=br2,addr=4.0,multifunction=on",
               "-device", "virtio-rng-pci,bus=br2,addr=4.1",
               "-device", "virtio-rng-pci,bus=br2,addr=7"],
         what="Two levels of PCI-to-PCI bridges (br2 behind br1 on the first "
              "PHB), virtio-rng devices on the PHB, on br1 and on br2 at "
              "several slots and a two-function slot: bridge windows that "
              "hold a bridge's windows, interrupt-maps on buses 1 and 2."),
    dict(name="bridges3",
         args=["-m", "512",
               "-device", "pci-bridge,chassis_nr=1,id=br1,bus=pci.0,addr=3",
               "-device", "pci-bridge,chassis_nr=2,id=br2,bus=br1,addr=2",
               "-device", "pci-bridge,chassis_nr=3,id=br3,bus=br2,addr=6",
               "-device", "virtio-rng-pci,bus=br1,addr=5.0,multifunction=on",
               "-device", "virtio-rng-pci,bus=br1,addr=5.2",
               "-device", "virtio-rng-pci,bus=br2,addr=1",
               "-device", "virtio-rng-pci,bus=br3,addr=0",
               "-device", "virtio-rng-pci,bus=br3,addr=9.3,multifunction=on",
               "-device", "virtio-rng-pci,bus=br3,addr=9.0,multifunction=on",
               "-device", "virtio-rng-pci,bus=br3,addr=1f"],
         what="Three levels of PCI-to-PCI bridges (br1 > br2 > br3) with "
              "devices at several slots and functions on every level."),
    dict(name="vserial-legacy",
         args=["-m", "512",
               "-device", "virtio-serial-pci,disable-modern=on"],
         what="virtio-serial with the legacy device ID (1af4:1003): SLOF's "
              "driver gives it device_type serial and the vsterm alias."),
    dict(name="vserial-modern",
         args=["-m", "512",
               "-device", "virtio-serial-pci,disable-legacy=on,addr=4",
               "-device", "virtio-serial-pci,disable-modern=on,addr=6"],
         what="virtio-serial with the modern device ID (1af4:1043) at slot 4 "
              "and a legacy one at slot 6: only the first gets vsterm."),
    dict(name="pci-drivers",
         args=["-m", "512",
               "-fsdev", "local,id=fs0,path=.,security_model=none",
               "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share",
               "-device", "pci-ohci",
               "-device", "usb-ehci",
               "-drive", "if=none,id=d0,file=disk0.img,format=raw",
               "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
               "-device", "virtio-scsi-pci,disable-legacy=on",
               "-device", "virtio-rng-pci,disable-legacy=on"],
         what="Device classes and IDs of SLOF's PCI driver table not in the "
              "other configurations: virtio-9p (1af4:1009), OHCI and EHCI "
              "USB hosts (class 0c03), modern virtio-blk (1042), "
              "virtio-scsi (1048) and virtio-rng (1044)."),
    dict(name="pci-nics",
         args=["-m", "512",
               "-device", "virtio-net-pci,disable-legacy=on",
               "-device", "rtl8139"],
         what="A modern virtio-net (1af4:1041) and an rtl8139, a network "
              "device SLOF has no driver for (class 02 generic)."),
    dict(name="pci-vga",
         args=["-m", "512",
               "-device", "VGA",
               "-device", "cirrus-vga",
               "-device", "virtio-gpu-pci"],
         what="Displays: QEMU's std VGA (1234:1111), Cirrus (1013:00b8) and "
              "virtio-gpu (1af4:1050)."),
    dict(name="pci-drivers2",
         args=["-m", "512",
               "-fsdev", "local,id=fs0,path=.,security_model=none",
               "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share,disable-legacy=on",
               "-device", "lsi53c895a",
               "-device", "ich9-ahci"],
         what="More of SLOF's driver table: modern virtio-9p (1af4:1049), "
              "and storage controllers SLOF has no driver for (LSI SCSI, "
              "AHCI). (Debian's QEMU 7.2 has no virtio-vga to capture.)"),
    dict(name="vio",
         args=["-m", "512",
               "-device", "spapr-vscsi,id=vscsi1",
               "-drive", "if=none,id=d2,file=disk2.img,format=raw",
               "-device", "scsi-hd,drive=d2,bus=vscsi1.0",
               "-device", "spapr-vscsi,id=vscsi2",
               "-device", "scsi-cd,bus=vscsi2.0",
               "-device", "spapr-vlan",
               "-chardev", "null,id=vty1",
               "-device", "spapr-vty,chardev=vty1",
               "-chardev", "socket,id=chrtpm,path=@TPMSOCK@",
               "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
               "-device", "tpm-spapr,tpmdev=tpm0"],
         needs_tpm=True,
         what="PAPR VIO devices: two v-scsi adapters (a scsi-hd on a 1 MiB "
              "blank image; an empty scsi-cd), an l-lan "
              "(spapr-vlan), a second vty (on a null chardev) and a vTPM (tpm-spapr, swtpm "
              "backend)."),
]

# Typed at the prompt.  HX prints a memory range as hex, 64 bytes a line.
DEFINE_HX = ": hx ( a n -- ) 0 ?do dup i + c@ 2 0.r i 3f and 3f = if cr then loop drop ;"
FLATTEN = 'fdt-flatten-tree dup dup >fdth_tsize l@ cr ." <<<" cr hx ." >>>" cr fdt-flatten-tree-free'
CONSOLE_LINES = ["dev / ls", "devalias", "dev /chosen .properties"]


# --------------------------------------------------------------------------
# QEMU session over the serial console

class Session:
    """A QEMU+SLOF process whose hvterm console is our stdin/stdout pipe."""

    def __init__(self, qemu_args: list[str], cwd: str | None = None, log=None):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [QEMU, "-M", "pseries", *BASE_ARGS, *qemu_args, *RUN_ARGS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log if log is not None else subprocess.DEVNULL,
            cwd=cwd, start_new_session=True)
        self.buf = b""
        self.transcript = b""

    def read_until(self, pattern: bytes, timeout: float) -> bytes:
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while pattern not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {pattern!r} after {timeout} s; last output: {self.buf[-400:]!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                data = os.read(fd, 65536)
                if not data:
                    raise EOFError(f"QEMU exited; last output: {self.buf[-400:]!r}")
                self.buf += data
                self.transcript += data
        i = self.buf.index(pattern) + len(pattern)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def wait_prompt(self, timeout: float = 300) -> float:
        """Wait for the first "0 >" prompt; returns seconds since process start."""
        self.read_until(PROMPT, timeout)
        return time.monotonic() - self.t0

    def command(self, line: str, timeout: float = 300) -> bytes:
        """Type LINE; return SLOF's answer with the echo and the next prompt removed."""
        self.proc.stdin.write(line.encode("ascii") + b"\r")
        self.proc.stdin.flush()
        out = self.read_until(PROMPT, timeout)[:-len(PROMPT)]
        # SLOF's line editor echoes as ESC 7 <line> ESC 8 ESC [ n C
        m = re.match(rb"\x1b7.*?\x1b8\x1b\[\d+C", out, re.S)
        if m is None:
            raise ValueError(f"unexpected echo for {line!r}: {out[:200]!r}")
        out = out[m.end():].replace(b"\r\n", b"\n")
        if out.endswith(b"\r"):
            out = out[:-1]
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


def time_boot_to_prompt(qemu_args: list[str] | None = None, timeout: float = 300,
                        cwd: str | None = None) -> float:
    """Wall-clock seconds from starting qemu-system-ppc64 (pseries, TCG, serial
    on a pipe) until SLOF prints its first "0 >" prompt.  With the default
    configuration SLOF first tries to boot (disk, CD-ROM, net) and gives up,
    which is included.  qemu_args are added to
    ``-M pseries -nic none -vga none``; None means ``-m 512``."""
    s = Session(["-m", "512"] if qemu_args is None else qemu_args, cwd=cwd)
    try:
        return s.wait_prompt(timeout)
    finally:
        s.close()


def boot_timeline(qemu_args: list[str] | None = None, timeout: float = 300,
                  cwd: str | None = None) -> list[tuple[float, str]]:
    """Like time_boot_to_prompt, but returns every console line up to the
    first prompt with the time (seconds since process start) its last byte
    arrived; the last entry is the prompt itself.  Shows where boot time goes."""
    s = Session(["-m", "512"] if qemu_args is None else qemu_args, cwd=cwd)
    lines: list[tuple[float, str]] = []
    pending = b""
    try:
        fd = s.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no prompt")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                raise EOFError("QEMU exited before the prompt")
            now = time.monotonic() - s.t0
            pending += data
            *done, pending = pending.split(b"\n")
            lines += [(now, d.decode("latin1").rstrip("\r")) for d in done]
            if pending.startswith(b"0 > "):
                lines.append((now, "0 > "))
                return lines
    finally:
        s.close()


# --------------------------------------------------------------------------
# helpers

def parse_hex_dump(out: bytes) -> bytes:
    start = out.index(b"<<<") + 3
    stop = out.index(b">>>", start)
    digits = re.sub(rb"\s+", b"", out[start:stop])
    if not re.fullmatch(rb"[0-9a-fA-F]*", digits) or len(digits) % 2:
        raise ValueError("hex dump does not parse")
    return bytes.fromhex(digits.decode())


def check_blob(blob: bytes, what: str) -> None:
    import libfdt  # pylibfdt
    fdt = libfdt.Fdt(bytearray(blob))
    if fdt.totalsize() != len(blob):
        raise ValueError(f"{what}: totalsize {fdt.totalsize()} != {len(blob)}")
    rc = libfdt.fdt_check_full(bytearray(blob), len(blob))
    if rc != 0:
        raise ValueError(f"{what}: fdt_check_full -> {rc}")


def dtb_to_dts(dtb: Path, dts: Path) -> None:
    subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", "-o", str(dts), str(dtb)], check=True)


def substitute(args: list[str], tpm_sock: str | None) -> list[str]:
    return [a.replace("@TPMSOCK@", tpm_sock or "") for a in args]


class Swtpm:
    """One swtpm per QEMU run (it exits when QEMU disconnects)."""

    def __init__(self, workdir: Path):
        if shutil.which("swtpm") is None:
            raise FileNotFoundError("swtpm not installed (apt-get install swtpm)")
        self.dir = workdir / "tpm"
        self.dir.mkdir(exist_ok=True)
        self.sock = str(self.dir / "swtpm.sock")
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--terminate",
             "--tpmstate", f"dir={self.dir}",
             "--ctrl", f"type=unixio,path={self.sock}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        else:
            self.close()
            raise RuntimeError("swtpm did not create its socket")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def dump_seed(cfg: dict, workdir: Path, out: Path) -> None:
    tpm = Swtpm(workdir) if cfg.get("needs_tpm") else None
    try:
        args = substitute(cfg["args"], tpm.sock if tpm else None)
        res = subprocess.run([QEMU, "-M", f"pseries,dumpdtb={out}", *BASE_ARGS, *args],
                             cwd=workdir, capture_output=True, text=True, timeout=120)
        if res.returncode != 0 or not out.is_file():
            raise RuntimeError(f"dumpdtb failed: {res.stderr.strip()}")
    finally:
        if tpm:
            tpm.close()


def capture(cfg: dict, workdir: Path) -> tuple[bytes, str, str]:
    """Boot SLOF, flatten its tree at the prompt; returns (blob, console text, banner)."""
    tpm = Swtpm(workdir) if cfg.get("needs_tpm") else None
    log = open(workdir / f"{cfg['name']}.qemu.log", "wb")
    s = Session(substitute(cfg["args"], tpm.sock if tpm else None), cwd=str(workdir), log=log)
    try:
        secs = s.wait_prompt(600)
        boot = s.transcript.decode("latin1")
        s.command(DEFINE_HX)
        blob = parse_hex_dump(s.command(FLATTEN, 600))
        parts = []
        for line in CONSOLE_LINES:
            parts.append(f"=== {line}\n" + s.command(line).decode("latin1") + "\n")
        console = "".join(parts)
    finally:
        s.close()
        log.close()
        if tpm:
            tpm.close()
    m = re.search(r"FW Version = (.*?)\r?\n", boot)
    banner = m.group(1).strip() if m else "?"
    print(f"  {cfg['name']}: prompt after {secs:.1f} s, SLOF {banner!r}, blob {len(blob)} bytes")
    return blob, console, boot


def make(cfg: dict, workdir: Path) -> None:
    name = cfg["name"]
    seed = HERE / f"{name}.seed.dtb"
    dump_seed(cfg, workdir, seed)
    check_blob(seed.read_bytes(), seed.name)
    dtb_to_dts(seed, HERE / f"{name}.seed.dts")

    blob, console, boot = capture(cfg, workdir)
    check_blob(blob, f"{name}.slof.dtb")
    slof = HERE / f"{name}.slof.dtb"
    slof.write_bytes(blob)
    dtb_to_dts(slof, HERE / f"{name}.slof.dts")

    head = ("# Real SLOF console output (QEMU pseries, TCG), configuration "
            f"'{name}': {qemu_cmdline(cfg)}\n"
            "# Each '=== LINE' is what was typed at the '0 >' prompt (after "
            "the failed boot attempts, right after the tree was flattened); "
            "below it is what SLOF printed (echo and prompt removed, CRLF -> LF, "
            "NUL bytes kept).\n"
            "# Phandles are SLOF node addresses.\n\n")
    (HERE / f"{name}.console.txt").write_bytes((head + console).encode("latin1"))
    # The boot transcript up to the first prompt (kept only with SEEDS_WORKDIR).
    (workdir / f"{name}.boot.txt").write_text(boot, encoding="latin1")


def qemu_cmdline(cfg: dict, dump: bool = False) -> str:
    m = f"pseries,dumpdtb={cfg['name']}.seed.dtb" if dump else "pseries"
    args = [QEMU, "-M", m, *BASE_ARGS, *substitute(cfg["args"], "/path/to/swtpm.sock")]
    if not dump:
        args += RUN_ARGS
    return " ".join(args)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--list"]:
        for c in CONFIGS:
            print(f"{c['name']:12} {qemu_cmdline(c)}")
        return 0
    if argv[:1] == ["--time"]:
        n = int(argv[1]) if len(argv) > 1 else 3
        times = []
        for _ in range(n):
            times.append(time_boot_to_prompt())
            print(f"{times[-1]:.2f} s", flush=True)
        ordered = sorted(times)
        print(f"min {ordered[0]:.2f}  median {ordered[n // 2]:.2f}  "
              f"mean {sum(times) / n:.2f}  max {ordered[-1]:.2f} s")
        return 0
    wanted = set(argv)
    unknown = wanted - {c["name"] for c in CONFIGS}
    if unknown:
        print("unknown configuration(s):", ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    # SEEDS_WORKDIR keeps the scratch files (disk images, QEMU logs, boot
    # transcripts) for inspection.
    keep = os.environ.get("SEEDS_WORKDIR")
    with tempfile.TemporaryDirectory(prefix="slof-seeds-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for img, size in IMAGES.items():
            with open(work / img, "wb") as f:
                f.truncate(size)
        for cfg in CONFIGS:
            if wanted and cfg["name"] not in wanted:
                continue
            if cfg.get("needs_tpm") and shutil.which("swtpm") is None:
                print(f"  {cfg['name']}: skipped, swtpm is not installed")
                continue
            print(f"{cfg['name']}: {qemu_cmdline(cfg)}")
            make(cfg, work)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main(sys.argv[1:]))
