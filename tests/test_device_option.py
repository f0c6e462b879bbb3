"""`--device KIND[,PROP=VALUE...]` and `--nodefaults` (slofpy.host.device_options): parsing,
where each device lands in the qemu host, QEMU's rule for its default CD-ROM, the errors a
user can cause (one line, exit status 1), both firmwares, and the pytest plugin's option
and marker."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slofpy.host.device_options import (DeviceList, DeviceOptionError, parse_device,
                                        resolve_devices)
from slofpy.host.qemu import QemuBackend
from slofpy.host.scsi_devices import DEFAULT_SCSI_DEVICES, ScsiDeviceSpec
from slofpy.host.usb_devices import UsbDeviceSpec

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "tests" / "data" / "seeds"
SLOFPY = [sys.executable, "-m", "slofpy"]
VIRTIO_SCSI = "/pci@800000020000000/scsi@2"
VIRTIO_SCSI_LOC = "qemu_virtio-scsi-pci:0000:00:02.0"
VIRTIO_BLK_LOC = "qemu_virtio-blk-pci:0000:00:01.0"
XHCI = "/pci@800000020000000/usb-xhci@1"
XHCI_LOC = "qemu_qemu-xhci:0000:00:01.0"


def seed(name: str) -> bytes:
    return (SEEDS / f"{name}.seed.dtb").read_bytes()


def devices(*texts: str, defaults: bool = True, base: Path | None = None) -> DeviceList:
    return DeviceList(tuple(parse_device(t, base) for t in texts), defaults=defaults)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A 1 MiB raw image, blank but for a marker in its first sector."""
    path = tmp_path / "disk1.img"
    path.write_bytes(b"slofpy disk" + bytes((1 << 20) - 11))
    return path


def slofpy(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([*SLOFPY, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


# ---------------------------------------------------------------- parsing
def test_an_option_is_a_kind_and_qemus_property_names(tmp_path):
    option = parse_device("scsi-hd,bus=/vdevice/v-scsi@71000003,scsi-id=0x3,lun=1,"
                          "file=d.img", tmp_path)
    assert option.kind == "scsi-hd"
    assert option.get("bus") == "/vdevice/v-scsi@71000003"
    assert option.get("scsi-id") == "0x3" and option.get("lun") == "1"
    # file= is drive=, made absolute against the base folder
    assert option.get("drive") == str(tmp_path / "d.img")
    assert parse_device("usb-kbd,port=2").get("port") == "2"
    assert parse_device("scsi-cd").properties == ()


@pytest.mark.parametrize("text, says", [
    ("scsi-tape", "unknown device kind 'scsi-tape'"),
    ("scsi-hd", "scsi-hd needs drive=IMAGE"),
    ("virtio-blk-pci,node=/x", "virtio-blk-pci needs drive=IMAGE"),
    ("scsi-cd,speed=4", "scsi-cd has no property 'speed'"),
    ("scsi-cd,lun", "'lun' is not PROPERTY=VALUE"),
    ("scsi-cd,lun=one", "lun='one' is not a number"),
    ("scsi-cd,lun=-1", "lun=-1 is negative"),
    ("scsi-cd,drive=a,file=b", "drive given twice"),
    ("usb-kbd,port=1,port=2", "port given twice"),
])
def test_malformed_options_are_one_line(text, says):
    with pytest.raises(DeviceOptionError) as error:
        parse_device(text)
    message = str(error.value)
    assert message == f"--device {text}: " + message.split(": ", 1)[1]
    assert says in message and "\n" not in message


# ---------------------------------------------------------------- where devices land
def test_no_options_change_nothing():
    assert not DeviceList()
    machine = resolve_devices(seed("default"), DeviceList())
    assert machine.scsi_devices == DEFAULT_SCSI_DEVICES
    assert machine.virtio_disks == machine.virtio_scsi_devices == machine.usb_devices == {}


def test_a_scsi_device_replaces_qemus_default_cdrom_as_qemu_does(image):
    # QEMU (-M pseries -device spapr-vscsi -device scsi-cd): no scsi0-cd2 once any scsi-hd
    # or scsi-cd is named; the named device takes the lowest free id
    machine = resolve_devices(seed("default"), devices(f"scsi-hd,drive={image}"))
    assert machine.scsi_devices == (ScsiDeviceSpec("hd", adapter=0, scsi_id=0, image=str(image),
                                                   drive_name="disk1"),)
    # naming it at id 2 keeps a CD-ROM where QEMU's default was
    machine = resolve_devices(seed("default"), devices("scsi-cd,scsi-id=2,drive-id=scsi0-cd2"))
    assert machine.scsi_devices == DEFAULT_SCSI_DEVICES


def test_nodefaults_drops_the_default_cdrom_and_usb_keeps_it(image):
    assert resolve_devices(seed("default"), DeviceList(defaults=False)).scsi_devices == ()
    machine = resolve_devices(seed("pci-misc"), devices("usb-kbd"))
    assert machine.scsi_devices == DEFAULT_SCSI_DEVICES
    assert machine.usb_devices == {XHCI_LOC: (UsbDeviceSpec("kbd", 1),)}
    machine = resolve_devices(seed("pci-misc"), devices("usb-kbd", defaults=False))
    assert machine.scsi_devices == ()


def test_bus_names_the_adapter_by_its_seed_path(image, tmp_path):
    other = tmp_path / "cd.iso"
    other.write_bytes(bytes(2048 * 4))
    machine = resolve_devices(seed("vio"), devices(
        f"scsi-hd,drive={image}", f"scsi-cd,bus=/vdevice/v-scsi@71000003,drive={other}",
        "scsi-cd,bus=/vdevice/v-scsi@71000003/", "scsi-cd,bus=/vdevice/v-scsi@71000003,channel=1"))
    assert machine.scsi_devices == (
        ScsiDeviceSpec("hd", adapter=0, scsi_id=0, image=str(image), drive_name="disk1"),
        ScsiDeviceSpec("cd", adapter=1, scsi_id=0, image=str(other), drive_name="cd"),
        ScsiDeviceSpec("cd", adapter=1, scsi_id=1),
        ScsiDeviceSpec("cd", adapter=1, channel=1, scsi_id=0))


def test_virtio_devices_are_keyed_by_the_functions_loc_code(image, tmp_path):
    blk = tmp_path / "disk0.img"
    blk.write_bytes(b"SLOF" + bytes(4092))
    machine = resolve_devices(seed("pci-virtio"), devices(
        f"scsi-hd,drive={image},lun=3", f"virtio-blk-pci,drive={blk}"))
    # no v-scsi in this seed: the first SCSI adapter is the virtio-scsi function
    assert machine.scsi_devices == ()
    assert machine.virtio_scsi_devices == {VIRTIO_SCSI_LOC: (
        ScsiDeviceSpec("hd", lun=3, image=str(image), drive_name="disk1"),)}
    assert machine.virtio_disks == {VIRTIO_BLK_LOC: blk.read_bytes()}


def test_the_host_answers_with_the_devices_it_was_given(image):
    host = QemuBackend()
    resolve_devices(seed("vio"), devices(f"scsi-hd,drive={image},scsi-id=5")).apply_to(host)
    host.reset(seed("vio"))
    first, second = (host.vio.units[u].vscsi for u in (0x71000002, 0x71000003))
    assert [(d.kind, d.scsi_id, bytes(d.medium[:11])) for d in first.devices] == \
        [("hd", 5, b"slofpy disk")]
    assert second.devices == []
    assert host.usb_devices == {}


@pytest.mark.parametrize("seed_name, text, says", [
    ("default", "scsi-cd,bus=/vdevice/v-scsi@71000009",
     "the seed has no node /vdevice/v-scsi@71000009 (the seed's: /vdevice/v-scsi@71000002)"),
    ("default", "scsi-cd,bus=/vdevice/vty@71000000",
     "/vdevice/vty@71000000 is not a SCSI adapter (v-scsi or virtio-scsi)"),
    ("pci-virtio", "virtio-blk-pci,drive=IMG,node=" + VIRTIO_SCSI,
     f"{VIRTIO_SCSI} is not a virtio-blk function"),
    ("default", "usb-kbd", "the seed has no USB controller (OHCI, EHCI or xHCI) for it"),
    ("pci-misc", "usb-kbd,port=5", f"port=5 is not a port of the xHCI at {XHCI} (1-4)"),
    ("default", "scsi-cd,scsi-id=64", "scsi-id=64 is more than a v-scsi allows (63)"),
    ("pci-virtio", "scsi-cd,channel=1", "channel=1 is more than a virtio-scsi allows (0)"),
    ("default", "scsi-hd,drive=MISSING", "image MISSING: No such file or directory"),
])
def test_devices_that_do_not_fit_the_seed_are_one_line(seed_name, text, says, image, tmp_path):
    text = text.replace("MISSING", str(tmp_path / "missing.img")).replace("IMG", str(image))
    says = says.replace("MISSING", str(tmp_path / "missing.img"))
    with pytest.raises(DeviceOptionError) as error:
        resolve_devices(seed(seed_name), devices(text))
    assert str(error.value).startswith(f"--device {text}: ")
    assert says in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("first, second, says", [
    ("scsi-cd,scsi-id=2", "scsi-cd,scsi-id=2",
     "/vdevice/v-scsi@71000002 already has a device at channel 0, scsi-id 2, lun 0"),
    ("usb-kbd", "usb-kbd,port=1", f"port 1 of {XHCI} is taken"),
    ("virtio-blk-pci,drive=IMG", "virtio-blk-pci,drive=IMG",
     "/pci@800000020000000/scsi@1 already has an image"),
])
def test_two_devices_at_one_address_are_one_line(first, second, says, image):
    seed_name = {"scsi-cd": "default", "usb-kbd": "pci-misc"}.get(first.split(",")[0],
                                                                   "pci-virtio")
    texts = [t.replace("IMG", str(image)) for t in (first, second)]
    with pytest.raises(DeviceOptionError) as error:
        resolve_devices(seed(seed_name), devices(*texts))
    assert str(error.value) == f"--device {texts[1]}: {says}"


# ---------------------------------------------------------------- the commands
BAD_BUS = ("--device scsi-cd,bus=/vdevice/v-scsi@71000009: the seed has no node "
           "/vdevice/v-scsi@71000009 (the seed's: /vdevice/v-scsi@71000002)")


@pytest.mark.parametrize("command", [["boot", "-q"], ["boot", "-q", "--firmware", "SLOF"],
                                     ["run", "--boot", "-e", "bye"], ["repl"]])
def test_every_command_reports_a_bad_device_in_one_line(command, slof_bin):
    command = [str(slof_bin) if word == "SLOF" else word for word in command]
    r = slofpy(*command, "--device", "scsi-cd,bus=/vdevice/v-scsi@71000009")
    assert r.returncode == 1
    assert r.stderr == f"slofpy: {BAD_BUS}\n"
    r = slofpy(*command, "--device", "usb-kbd,port=x")
    assert (r.returncode, r.stderr) == (1, "slofpy: --device usb-kbd,port=x: port='x' is not "
                                           "a number\n")


def test_slofpy_test_fails_the_booted_files_tests_with_that_line():
    r = slofpy("test", "tests/forth/test_booted_tree.fs", "--device",
               "scsi-cd,bus=/vdevice/v-scsi@71000009")
    assert r.returncode == 1
    assert f"cannot boot on the default seed: {BAD_BUS}" in r.stdout.splitlines()[0]
    assert r.stdout.splitlines()[-1].startswith("0 passed,")
    r = slofpy("test", "tests/forth", "--device", "usb-kbd,port=x")
    assert (r.returncode, r.stderr) == (1, "slofpy: --device usb-kbd,port=x: port='x' is not "
                                           "a number\n")


def test_devices_need_a_host_that_models_qemus_machine(tmp_path, image):
    from slofpy.host.backend import HostBackend
    from slofpy.host.device_options import backend_with_devices
    with pytest.raises(DeviceOptionError) as error:
        backend_with_devices(HostBackend(), seed("default"), devices("scsi-cd"))
    assert str(error.value) == "--device: the base host has no QEMU devices to put them on"
    # the file and record hosts are QEMU's machine too
    r = slofpy("boot", "-q", "--host", "file:" + str(tmp_path / "out.dtb"),
               "--device", f"scsi-hd,drive={image}")
    assert (r.returncode, r.stderr) == (0, "")
    r = slofpy("boot", "-q", "--host", "nosuchhost", "--device", "scsi-cd")
    assert r.returncode == 1 and r.stderr.startswith("slofpy: unknown host 'nosuchhost'")
    r = slofpy("run", "--device", "scsi-cd", "-e", "bye")
    assert r.returncode == 2 and "need --boot" in r.stderr
    r = slofpy("repl", "--bare", "--device", "scsi-cd")
    assert r.returncode == 1
    assert r.stderr == "slofpy: --device and --nodefaults are for the booted board, not --bare\n"


def test_slof_finds_the_vscsi_disk_and_cdrom_as_real_slof_does(slof_bin, image, tmp_path):
    """The vio seed's adapters with the devices its QEMU command line had (make-seeds.py):
    a scsi-hd on vscsi1, an empty scsi-cd on vscsi2. The seed loses its vTPM, which slofpy
    does not model; what SLOF makes of the SCSI devices is real SLOF's tree, byte for byte."""
    import libfdt
    from slofpy.host import fdt_lookup
    fdt = libfdt.Fdt(bytearray(seed("vio")))
    fdt.del_node(fdt.path_offset("/vdevice/vtpm@71000006"))
    fdt.pack()
    no_tpm = tmp_path / "vio-no-tpm.dtb"
    no_tpm.write_bytes(bytes(fdt.as_bytearray()))
    out = tmp_path / "out.dtb"
    r = slofpy("boot", "--firmware", str(slof_bin), "--seed", str(no_tpm), "-o", str(out),
               "--device", f"scsi-hd,drive={image},bus=/vdevice/v-scsi@71000002",
               "--device", "scsi-cd,bus=/vdevice/v-scsi@71000003")
    assert r.returncode == 0, r.stderr
    assert '8000000000000000 DISK     : "QEMU     QEMU HARDDISK    2.5+"' in r.stdout
    assert '8000000000000000 CD-ROM   : "QEMU     QEMU CD-ROM      2.5+"' in r.stdout
    ours = fdt_lookup.open_tree(out.read_bytes())
    real = fdt_lookup.open_tree((SEEDS / "vio.slof.dtb").read_bytes())

    def props(tree, path: str) -> dict[str, bytes]:
        found = fdt_lookup.node_properties(tree, tree.path_offset(path))
        return {k: v for k, v in found.items() if k != "phandle"}
    for path in ("/vdevice/v-scsi@71000002", "/vdevice/v-scsi@71000002/disk",
                 "/vdevice/v-scsi@71000003", "/vdevice/v-scsi@71000003/disk"):
        assert props(ours, path) == props(real, path), path
    aliases = props(ours, "/aliases")
    for name in ("disk", "cdrom", "scsi"):
        assert aliases[name] == props(real, "/aliases")[name], name


def test_own_firmware_boots_with_the_devices_on_its_host(image, tmp_path):
    """slofpy's own firmware does not probe SCSI targets (it has no SCSI driver); the devices
    are on its host all the same, answering the CRQ as they do for SLOF."""
    from slofpy.firmware.board import boot_machine
    from slofpy.host.device_options import backend_with_devices
    host = backend_with_devices("qemu", seed("default"), devices(f"scsi-hd,drive={image}"))
    fw = boot_machine(host=host)
    vscsi = fw.host.vio.units[0x71000002].vscsi
    assert [(d.kind, d.scsi_id) for d in vscsi.devices] == [("hd", 0)]
    r = slofpy("boot", "-q", "--device", f"scsi-hd,drive={image}", "--nodefaults")
    assert r.returncode == 0 and r.stderr == ""


# ---------------------------------------------------------------- the pytest plugin
pytest_plugins = ["pytester"]


def test_the_pytest_plugin_takes_devices_by_option_and_marker(pytester, image):
    (pytester.path / "disk.img").write_bytes(image.read_bytes())
    pytester.makepyfile(f"""
        import pytest

        def units(booted):
            vscsi = booted.host.vio.units[0x71000002].vscsi
            return [(d.kind, d.scsi_id) for d in vscsi.devices]

        def test_option(booted):
            assert units(booted) == [("hd", 0)]

        @pytest.mark.slofpy_devices("scsi-cd,scsi-id=5,drive=disk.img")
        def test_marker(booted):
            assert units(booted) == [("cd", 5)]
            assert booted.host.vio.units[0x71000002].vscsi.devices[0].medium[:11] == \\
                b"slofpy disk"

        @pytest.mark.slofpy_devices(nodefaults=True)
        def test_nodefaults(booted):
            assert units(booted) == []

        @pytest.mark.slofpy_devices("scsi-cd,bus=/vdevice/v-scsi@71000009")
        def test_bad(booted):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--slofpy-device",
                                f"scsi-hd,drive={image}")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["cannot boot the board: cannot boot on the default seed: "
                                 + BAD_BUS])
    result = pytester.runpytest("--slofpy-device", "scsi-tape")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--device scsi-tape: unknown device kind 'scsi-tape'*"])


def test_slof_on_pci_virtio_with_the_disk_on_the_command_line_is_real_slofs_tree(slof_bin,
                                                                                 image, tmp_path):
    """make-seeds.py's pci-virtio had a scsi-hd behind the virtio-scsi function; given on the
    command line, SLOF's virtio-scsi driver finds it and makes /aliases disk1, and the whole
    tree is the one real SLOF flattened."""
    from conftest import TREE_SCORE
    out = tmp_path / "out.dtb"
    r = slofpy("boot", "--firmware", str(slof_bin), "--seed", str(SEEDS / "pci-virtio.seed.dtb"),
               "--device", f"scsi-hd,drive={image},bus={VIRTIO_SCSI}", "-o", str(out))
    assert r.returncode == 0, r.stderr
    from slofpy.host import fdt_lookup
    tree = fdt_lookup.open_tree(out.read_bytes())
    aliases = fdt_lookup.node_properties(tree, tree.path_offset("/aliases"))
    assert aliases["disk1"] == f"{VIRTIO_SCSI}/disk@100000000000000\0".encode()
    real = SEEDS / "pci-virtio.slof.dtb"
    score = subprocess.run([sys.executable, str(TREE_SCORE), str(real), str(out), "--show"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert score[:-1] == [] and score[-1].startswith("nodes 31/31 props 310/310 values 310/310")
