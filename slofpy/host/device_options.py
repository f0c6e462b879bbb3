"""The devices behind the seed's adapters, as the user names them: `--device KIND[,PROP=VALUE...]`.

QEMU's device tree (the seed) shows the adapters (v-scsi units, virtio-scsi and virtio-blk PCI
functions, USB controllers) but not the disks, CD-ROMs and USB devices behind them. A device
option says what sits there, with QEMU's device and property names where QEMU has them:

    scsi-hd,drive=IMG[,bus=ADAPTER][,channel=N][,scsi-id=N][,lun=N][,drive-id=NAME]
    scsi-cd[,drive=IMG][,bus=ADAPTER][,channel=N][,scsi-id=N][,lun=N][,drive-id=NAME]
    virtio-blk-pci,drive=IMG[,node=FUNCTION]
    usb-kbd[,bus=CONTROLLER][,port=N]

* IMG is a raw image file (`file=` is a synonym of `drive=`, as in `-drive file=`); a scsi-cd
  without one is an empty drive. `drive-id` is the name QEMU's `-drive id=` would give it (a
  SCSI device reports it in its device-identification page); by default the image's file
  name without its extension, nothing for an empty drive.
* ADAPTER, FUNCTION and CONTROLLER are node paths in the seed, e.g. `/vdevice/v-scsi@71000003`
  or `/pci@800000020000000/scsi@2`. A SCSI device goes by default to the first v-scsi adapter
  (lowest unit address), else to the first virtio-scsi function; a virtio-blk-pci image to
  the first virtio-blk function; a usb-kbd to the first USB controller (OHCI, EHCI or xHCI).
* Numbers are decimal or 0x-hex. `scsi-id` defaults, as in QEMU, to the lowest id with no
  device at that channel and LUN; `port` to the lowest free root-hub port (QEMU's limits:
  v-scsi channel 0-7, id 0-63, LUN 0-31; virtio-scsi channel 0, id 0-255, LUN 0-16383; OHCI
  ports 1-3, EHCI 1-6, xHCI 1-4 for a USB 2 device).

QEMU's default CD-ROM (an empty scsi-cd at id 2 of the first v-scsi adapter) stays unless a
scsi-hd or scsi-cd is named anywhere, as QEMU drops it when any `-device scsi-hd`/`scsi-cd`
is given; `defaults=False` (the command line's `--nodefaults`) drops it too.

Every mistake a user can make (unknown kind or property, a malformed number, a path that is
not an adapter of the right kind in the seed, an image that cannot be read, two devices at
one address) raises `DeviceOptionError` with one line naming the option.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import libfdt

from slofpy.host import fdt_lookup
from slofpy.host.backend import HostBackend
from slofpy.host.scsi_devices import DEFAULT_SCSI_DEVICES, ScsiDeviceSpec
from slofpy.host.usb_devices import UsbDeviceSpec
from slofpy.host.virtio_devices import TRANSITIONAL_TYPES

PROPERTIES: dict[str, tuple[str, ...]] = {
    "scsi-hd": ("bus", "channel", "scsi-id", "lun", "drive", "file", "drive-id"),
    "scsi-cd": ("bus", "channel", "scsi-id", "lun", "drive", "file", "drive-id"),
    "virtio-blk-pci": ("node", "drive", "file"),
    "usb-kbd": ("bus", "port"),
}
"""The device kinds an option may name, and the properties each takes."""

VSCSI_COMPATIBLE = "IBM,v-scsi"
VIRTIO_VENDOR = 0x1AF4
VIRTIO_BLK, VIRTIO_SCSI = 2, 8          # virtio device types
USB_CLASSES = {0x0C0310: ("OHCI", 3), 0x0C0320: ("EHCI", 6), 0x0C0330: ("xHCI", 4)}
"""USB controller class codes -> name and the root-hub ports a USB 2 device can use."""

SCSI_LIMITS = {"v-scsi": (7, 63, 31), "virtio-scsi": (0, 255, 16383)}
"""Largest channel, SCSI id and LUN of each adapter kind (QEMU's bus limits)."""


class DeviceOptionError(ValueError):
    """A device option that cannot be honoured; the message is one line."""


@dataclass(frozen=True)
class DeviceOption:
    """One parsed `KIND[,PROP=VALUE...]`: its kind, its properties in order, and the text."""

    kind: str
    properties: tuple[tuple[str, str], ...]
    text: str

    def get(self, name: str) -> str | None:
        return dict(self.properties).get(name)


@dataclass(frozen=True)
class DeviceList:
    """What the user said about devices: the options in order, and whether QEMU's default
    devices (the CD-ROM) may stay. Hashable, so booted machines can be cached by it."""

    options: tuple[DeviceOption, ...] = ()
    defaults: bool = True

    def __bool__(self) -> bool:
        return bool(self.options) or not self.defaults


def parse_device(text: str, base: str | os.PathLike | None = None) -> DeviceOption:
    """Parse one `KIND[,PROP=VALUE...]`. A relative image path is made absolute against
    `base` (default: the current folder), so the option means the same wherever it is used."""
    kind, *pieces = text.split(",")
    kind = kind.strip()
    where = f"--device {text}"
    if kind not in PROPERTIES:
        raise DeviceOptionError(f"{where}: unknown device kind {kind!r} "
                                f"(slofpy knows {', '.join(PROPERTIES)})")
    properties: list[tuple[str, str]] = []
    for piece in pieces:
        name, equals, value = piece.partition("=")
        if not equals or not name:
            raise DeviceOptionError(f"{where}: {piece!r} is not PROPERTY=VALUE")
        if name not in PROPERTIES[kind]:
            raise DeviceOptionError(f"{where}: {kind} has no property {name!r} "
                                    f"(it takes {', '.join(PROPERTIES[kind])})")
        if name == "file":
            name = "drive"
        if any(seen == name for seen, _ in properties):
            raise DeviceOptionError(f"{where}: {name} given twice")
        if name == "drive":
            value = os.path.abspath(os.path.join(base or os.curdir, os.path.expanduser(value)))
        elif name in ("channel", "scsi-id", "lun", "port"):
            _number(where, name, value)
        properties.append((name, value))
    if kind in ("scsi-hd", "virtio-blk-pci") and not any(n == "drive" for n, _ in properties):
        raise DeviceOptionError(f"{where}: {kind} needs drive=IMAGE (a raw image file)")
    return DeviceOption(kind, tuple(properties), text)


def _number(where: str, name: str, value: str) -> int:
    try:
        number = int(value, 0)
    except ValueError:
        raise DeviceOptionError(f"{where}: {name}={value!r} is not a number") from None
    if number < 0:
        raise DeviceOptionError(f"{where}: {name}={value} is negative")
    return number


@dataclass
class MachineDevices:
    """The devices behind the adapters, in the form `QemuBackend` takes them."""

    scsi_devices: tuple[ScsiDeviceSpec, ...] = DEFAULT_SCSI_DEVICES
    virtio_disks: dict[str, bytes] = field(default_factory=dict)
    virtio_scsi_devices: dict[str, tuple[ScsiDeviceSpec, ...]] = field(default_factory=dict)
    usb_devices: dict[str, tuple[UsbDeviceSpec, ...]] = field(default_factory=dict)

    def apply_to(self, backend: object) -> None:
        """Give them to a QemuBackend (or a backend built on it) before its reset."""
        backend.scsi_devices = self.scsi_devices                # type: ignore[attr-defined]
        backend.virtio_disks = dict(self.virtio_disks)          # type: ignore[attr-defined]
        backend.virtio_scsi_devices = dict(self.virtio_scsi_devices)  # type: ignore
        backend.usb_devices = dict(self.usb_devices)            # type: ignore[attr-defined]


@dataclass
class Adapter:
    """An adapter of the seed that devices sit behind."""

    kind: str           # "v-scsi", "virtio-scsi", "virtio-blk", "OHCI", "EHCI", "xHCI"
    path: str
    key: int | str      # v-scsi: its position; PCI functions: their ibm,loc-code
    ports: int = 0


def seed_adapters(seed: bytes) -> list[Adapter]:
    """The adapters of the seed that devices can sit behind, in default-choice order:
    v-scsi units by unit address, then PCI functions in tree order."""
    try:
        fdt = fdt_lookup.open_tree(seed)
        vscsi: list[tuple[int, str]] = []
        vdevice = fdt.path_offset("/vdevice", quiet=(libfdt.NOTFOUND,))
        if vdevice >= 0:
            for node in fdt_lookup.child_nodes(fdt, vdevice):
                props = fdt_lookup.node_properties(fdt, node)
                reg = fdt_lookup.cells(props.get("reg", b""))
                names = fdt_lookup.strings(props.get("compatible", b""))
                if reg and names and names[0] == VSCSI_COMPATIBLE:
                    vscsi.append((reg[0], fdt.get_path(node)))
        adapters = [Adapter("v-scsi", path, position)
                    for position, (_, path) in enumerate(sorted(vscsi))]
        for node in fdt_lookup.descendant_nodes(fdt, 0):
            props = fdt_lookup.node_properties(fdt, node)
            if "ibm,loc-code" not in props and "vendor-id" not in props:
                continue
            loc = props.get("ibm,loc-code", b"").rstrip(b"\0").decode("latin-1")
            vendor = fdt_lookup.cells(props.get("vendor-id", b""))
            device = fdt_lookup.cells(props.get("device-id", b""))
            class_code = fdt_lookup.cells(props.get("class-code", b""))
            if vendor == [VIRTIO_VENDOR] and device:
                kind = TRANSITIONAL_TYPES.get(device[0], device[0] - 0x1040)
                if kind in (VIRTIO_BLK, VIRTIO_SCSI):
                    name = "virtio-blk" if kind == VIRTIO_BLK else "virtio-scsi"
                    adapters.append(Adapter(name, fdt.get_path(node), loc))
            elif class_code and class_code[0] in USB_CLASSES:
                name, ports = USB_CLASSES[class_code[0]]
                adapters.append(Adapter(name, fdt.get_path(node), loc, ports))
    except (libfdt.FdtException, SystemError, UnicodeError) as error:
        raise DeviceOptionError(f"--device: cannot read the seed's adapters: {error}") from None
    return adapters


ADAPTER_KINDS = {"scsi-hd": ("v-scsi", "virtio-scsi"), "scsi-cd": ("v-scsi", "virtio-scsi"),
                 "virtio-blk-pci": ("virtio-blk",), "usb-kbd": ("OHCI", "EHCI", "xHCI")}
"""For each device kind, the adapters it can sit behind."""

ADAPTER_NAMES = {"scsi-hd": "SCSI adapter (v-scsi or virtio-scsi)",
                 "scsi-cd": "SCSI adapter (v-scsi or virtio-scsi)",
                 "virtio-blk-pci": "virtio-blk function",
                 "usb-kbd": "USB controller (OHCI, EHCI or xHCI)"}


def _adapter_for(option: DeviceOption, adapters: list[Adapter], seed: bytes) -> Adapter:
    fit = [a for a in adapters if a.kind in ADAPTER_KINDS[option.kind]]
    wanted = option.get("node" if option.kind == "virtio-blk-pci" else "bus")
    what = ADAPTER_NAMES[option.kind]
    if wanted is None:
        if not fit:
            raise DeviceOptionError(f"--device {option.text}: the seed has no {what} "
                                    f"for it")
        return fit[0]
    path = wanted.rstrip("/") or "/"
    for adapter in fit:
        if adapter.path == path:
            return adapter
    known = ", ".join(a.path for a in fit) or "none"
    try:
        exists = fdt_lookup.open_tree(seed).path_offset(path, quiet=(libfdt.NOTFOUND,)) >= 0
    except libfdt.FdtException:         # not a path libfdt can look up at all
        exists = False
    problem = (f"{path} is not a {what}" if exists else f"the seed has no node {path}")
    raise DeviceOptionError(f"--device {option.text}: {problem} (the seed's: {known})")


def _image(option: DeviceOption) -> str | None:
    image = option.get("drive")
    if image is None:
        return None
    try:
        if os.path.exists(image) and not os.path.isfile(image):
            raise DeviceOptionError(f"--device {option.text}: image {image}: not a file")
        with open(image, "rb") as f:
            f.read(1)
    except OSError as error:
        raise DeviceOptionError(f"--device {option.text}: image {image}: "
                                f"{error.strerror or error}") from None
    return image


def resolve_devices(seed: bytes, devices: DeviceList) -> MachineDevices:
    """The devices `devices` puts behind the adapters of `seed`. Raises DeviceOptionError."""
    adapters = seed_adapters(seed) if devices.options else []
    scsi: dict[tuple[str, int | str], list[ScsiDeviceSpec]] = {}
    disks: dict[str, bytes] = {}
    usb: dict[str, list[UsbDeviceSpec]] = {}
    for option in devices.options:
        adapter = _adapter_for(option, adapters, seed)
        if option.kind in ("scsi-hd", "scsi-cd"):
            taken = scsi.setdefault((adapter.kind, adapter.key), [])
            taken.append(_scsi_spec(option, adapter, taken))
        elif option.kind == "virtio-blk-pci":
            if adapter.key in disks:
                raise DeviceOptionError(f"--device {option.text}: {adapter.path} already has "
                                        f"an image")
            image = _image(option)
            assert image is not None
            disks[str(adapter.key)] = Path(image).read_bytes()
        else:
            taken_ports = usb.setdefault(str(adapter.key), [])
            taken_ports.append(_usb_spec(option, adapter, taken_ports))
    named_scsi = any(o.kind in ("scsi-hd", "scsi-cd") for o in devices.options)
    vscsi = tuple(spec for (kind, _), specs in scsi.items() if kind == "v-scsi" for spec in specs)
    return MachineDevices(
        scsi_devices=vscsi if named_scsi or not devices.defaults else DEFAULT_SCSI_DEVICES,
        virtio_disks=disks,
        virtio_scsi_devices={str(key): tuple(specs) for (kind, key), specs in scsi.items()
                             if kind == "virtio-scsi"},
        usb_devices={key: tuple(specs) for key, specs in usb.items()})


def _scsi_spec(option: DeviceOption, adapter: Adapter,
               taken: list[ScsiDeviceSpec]) -> ScsiDeviceSpec:
    where = f"--device {option.text}"
    top_channel, top_id, top_lun = SCSI_LIMITS[adapter.kind]
    numbers = {}
    for name, top in (("channel", top_channel), ("scsi-id", top_id), ("lun", top_lun)):
        value = option.get(name)
        if value is not None:
            numbers[name] = _number(where, name, value)
            if numbers[name] > top:
                raise DeviceOptionError(f"{where}: {name}={value} is more than a "
                                        f"{adapter.kind} allows ({top})")
    channel, lun = numbers.get("channel", 0), numbers.get("lun", 0)
    used = {(s.channel, s.scsi_id, s.lun) for s in taken}
    if "scsi-id" in numbers:
        scsi_id = numbers["scsi-id"]
    else:
        free = [i for i in range(top_id + 1) if (channel, i, lun) not in used]
        if not free:
            raise DeviceOptionError(f"{where}: no free SCSI id left on {adapter.path}")
        scsi_id = free[0]
    if (channel, scsi_id, lun) in used:
        raise DeviceOptionError(f"{where}: {adapter.path} already has a device at "
                                f"channel {channel}, scsi-id {scsi_id}, lun {lun}")
    image = _image(option)
    name = option.get("drive-id")
    if name is None:
        name = Path(image).stem if image else ""
    position = adapter.key if isinstance(adapter.key, int) else 0
    return ScsiDeviceSpec(option.kind[-2:], adapter=position, channel=channel, scsi_id=scsi_id,
                          lun=lun, image=image, drive_name=name)


def _usb_spec(option: DeviceOption, adapter: Adapter,
              taken: list[UsbDeviceSpec]) -> UsbDeviceSpec:
    where = f"--device {option.text}"
    used = {s.port for s in taken}
    value = option.get("port")
    if value is None:
        free = [p for p in range(1, adapter.ports + 1) if p not in used]
        if not free:
            raise DeviceOptionError(f"{where}: no free port left on {adapter.path}")
        port = free[0]
    else:
        port = _number(where, "port", value)
        if not 1 <= port <= adapter.ports:
            raise DeviceOptionError(f"{where}: port={value} is not a port of the "
                                    f"{adapter.kind} at {adapter.path} (1-{adapter.ports})")
        if port in used:
            raise DeviceOptionError(f"{where}: port {port} of {adapter.path} is taken")
    return UsbDeviceSpec(option.kind.removeprefix("usb-"), port)


def backend_with_devices(host: str | HostBackend, seed: bytes,
                         devices: DeviceList) -> str | HostBackend:
    """`host` (a backend spec or a backend) with `devices` behind the adapters of `seed`:
    the spec itself when there is nothing to say, else the backend with its devices set.
    Raises DeviceOptionError (and HostSpecError for a bad spec)."""
    if not devices:
        return host
    from slofpy.host.qemu import QemuBackend
    from slofpy.host.registry import make_backend
    backend = make_backend(host) if isinstance(host, str) else host
    if not isinstance(backend, QemuBackend):
        raise DeviceOptionError(f"--device: the {backend.name} host has no QEMU devices to "
                                f"put them on")
    resolve_devices(seed, devices).apply_to(backend)
    return backend
