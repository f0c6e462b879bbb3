"""Which SCSI devices sit behind the machine's v-scsi adapters: the one place that says so.

The seed (QEMU's device tree) names the adapters but not the devices on their buses, so the
host needs this list from elsewhere. Each `ScsiDeviceSpec` names an adapter by its position
among the v-scsi units of the tree (0 = lowest unit address), a kind ("cd" for QEMU's
scsi-cd, "hd" for scsi-hd), its address (channel, SCSI id, LUN) and its medium: None for
an empty drive, else the path of a raw image; and the name of its QEMU drive (`-drive id=`,
or QEMU's own name for a default drive), which the device reports as its identifier.

`DEFAULT_SCSI_DEVICES` is what `qemu-system-ppc64 -M pseries` gives without -nodefaults:
QEMU's default CD-ROM, an empty drive on the first v-scsi adapter, at SCSI id 2 (the
default cdrom is drive index 2 of the machine's default interface, SCSI), which SLOF
shows as disk@8200000000000000. A later option (seed metadata, a command-line flag) only
has to build another list.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slofpy.host.scsi_disk import ScsiDevice


class ScsiImageError(ValueError):
    """A device's image cannot be read (one line: which image, and why)."""


@dataclass(frozen=True)
class ScsiDeviceSpec:
    """One SCSI device of the machine: adapter position, kind, address and medium."""

    kind: str
    adapter: int = 0
    channel: int = 0
    scsi_id: int = 0
    lun: int = 0
    image: str | None = None
    drive_name: str = ""

    def build(self) -> ScsiDevice:
        """The device model, its medium read from `image` (a raw image file) if any."""
        medium = None
        if self.image is not None:
            try:
                medium = bytearray(Path(self.image).read_bytes())
            except OSError as error:
                raise ScsiImageError(f"SCSI {self.kind} image {self.image}: "
                                     f"{error.strerror or error}") from None
        return ScsiDevice(self.kind, self.channel, self.scsi_id, self.lun, medium,
                          drive_name=self.drive_name)


DEFAULT_SCSI_DEVICES: tuple[ScsiDeviceSpec, ...] = (
    ScsiDeviceSpec("cd", adapter=0, scsi_id=2, drive_name="scsi0-cd2"),
)
"""QEMU's default devices: an empty CD-ROM drive at id 2 of the first v-scsi adapter."""


def devices_by_adapter(adapter_units: list[int],
                       specs: tuple[ScsiDeviceSpec, ...] = DEFAULT_SCSI_DEVICES
                       ) -> dict[int, list[ScsiDevice]]:
    """Unit address -> the devices of that adapter (adapters in unit address order)."""
    ordered = sorted(adapter_units)
    devices: dict[int, list[ScsiDevice]] = {unit: [] for unit in ordered}
    for spec in specs:
        if spec.adapter < len(ordered):
            devices[ordered[spec.adapter]].append(spec.build())
    return devices
