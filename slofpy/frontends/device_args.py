"""`--device KIND[,PROP=VALUE...]` and `--nodefaults`: the devices behind the seed's adapters,
for `slofpy boot`, `slofpy repl`, `slofpy run --boot` and `slofpy test` (the option syntax and
its meaning are slofpy.host.device_options')."""
from __future__ import annotations

import argparse

DEVICE_HELP = ("a device behind an adapter of the seed, QEMU style (repeatable): "
               "scsi-hd,drive=IMG | scsi-cd[,drive=IMG] [,bus=ADAPTER-PATH,channel=,scsi-id=,"
               "lun=,drive-id=]; virtio-blk-pci,drive=IMG[,node=FUNCTION-PATH]; "
               "usb-kbd[,bus=CONTROLLER-PATH,port=N]. Naming a scsi-hd or scsi-cd drops "
               "QEMU's default CD-ROM, as QEMU does")
NODEFAULTS_HELP = "no QEMU default devices the seed does not show (the empty CD-ROM at id 2 " \
                  "of the first v-scsi adapter)"


def add_arguments(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """Add --device and --nodefaults to a command's parser (help texts prefixed)."""
    p.add_argument("--device", dest="devices", action="append", default=[],
                   metavar="KIND[,PROP=VALUE...]", help=prefix + DEVICE_HELP)
    p.add_argument("--nodefaults", action="store_true", help=prefix + NODEFAULTS_HELP)


def device_list(args: argparse.Namespace):
    """The DeviceList the command line gives (slofpy.host.device_options); raises
    DeviceOptionError for a malformed option."""
    from ..host.device_options import DeviceList, parse_device
    return DeviceList(tuple(parse_device(text) for text in getattr(args, "devices", None) or []),
                      defaults=not getattr(args, "nodefaults", False))


def host_for(args: argparse.Namespace, seed: bytes | None, host: str):
    """The host spec or backend to boot with: `host` with the command line's devices behind
    the adapters of `seed` (None: the default seed). Raises DeviceOptionError."""
    devices = device_list(args)
    if not devices:
        return host
    from ..firmware.board import default_seed
    from ..host.device_options import backend_with_devices
    return backend_with_devices(host, default_seed() if seed is None else seed, devices)
