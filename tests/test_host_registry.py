"""Backends by name (built-ins and the slofpy.hosts entry-point group), file and record."""
import importlib.metadata
import io
from pathlib import Path

import pytest

from slofpy.host import registry
from slofpy.host.backend import HostBackend
from slofpy.host.file import FileBackend
from slofpy.host.qemu import QemuBackend
from slofpy.host.record import HcallRecord, RecordBackend
from slofpy.host.registry import HostSpecError, backend_names, make_backend, parse_spec
from slofpy.hv import Hypervisor
from slofpy.abi import hcalls as hc
from slofpy.abi.guest_memory import BufferGuestMemory

from conftest import REFERENCE_SEEDS

SEEDS = REFERENCE_SEEDS
BLOB_ADDR = 0x20000


class FakeEntryPoint:
    def __init__(self, name, value, loader):
        self.name = name
        self.value = value
        self.group = registry.ENTRY_POINT_GROUP
        self._loader = loader

    def load(self):
        return self._loader()


class PluginBackend(HostBackend):
    name = "plugin"

    def __init__(self, options=None):
        super().__init__()
        self.options = options


def fake_entry_points(entries):
    def entry_points(**params):
        assert params == {"group": "slofpy.hosts"}
        return list(entries)
    return entry_points


def run_update(backend, blob: bytes) -> int:
    memory = BufferGuestMemory(bytearray(1 << 20))
    hv = Hypervisor(memory, backend)
    hv.reset((SEEDS / "default.seed.dtb").read_bytes())
    memory.write(BLOB_ADDR, blob)
    return hv.hcall(hc.KVMPPC_H_UPDATE_DT, BLOB_ADDR)[0]


def test_builtin_names():
    assert {"qemu", "file", "record"} <= set(backend_names())
    assert type(make_backend("qemu")) is QemuBackend
    assert type(make_backend("record")) is RecordBackend


def test_parse_spec():
    assert parse_spec("qemu") == ("qemu", None)
    assert parse_spec("file:/tmp/a:b.dtb") == ("file", "/tmp/a:b.dtb")
    assert parse_spec("record:") == ("record", "")


def test_file_spec_writes_accepted_blobs(tmp_path):
    target = tmp_path / "out.dtb"
    backend = make_backend(f"file:{target}")
    assert isinstance(backend, FileBackend)
    blob = (SEEDS / "default.slof.dtb").read_bytes()
    assert run_update(backend, blob) == hc.H_SUCCESS
    assert target.read_bytes() == blob


def test_file_backend_does_not_write_refused_blobs(tmp_path):
    target = tmp_path / "out.dtb"
    bad = b"\xde\xad\xbe\xef" + (SEEDS / "default.slof.dtb").read_bytes()[4:]
    assert run_update(FileBackend(target), bad) == hc.H_PARAMETER
    assert not target.exists()


@pytest.mark.parametrize("spec,message", [
    ("nope", "unknown host 'nope'; known hosts: file, qemu, record"),
    ("nope:x", "unknown host 'nope'; known hosts: file, qemu, record"),
    ("", "empty host name"),
    ("file", "host 'file' needs a path: file:PATH"),
    ("file:", "host 'file' needs a path: file:PATH"),
    ("qemu:fast", "host 'qemu' takes no options"),
])
def test_bad_specs(monkeypatch, spec, message):
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points([]))
    with pytest.raises(HostSpecError) as caught:
        make_backend(spec)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_plugin_from_entry_point_group(monkeypatch):
    plugin = FakeEntryPoint("fake", "fakepkg.hosts:PluginBackend", lambda: PluginBackend)
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points([plugin]))
    assert backend_names() == ["fake", "file", "qemu", "record"]
    backend = make_backend("fake:speed=11")
    assert isinstance(backend, PluginBackend)
    assert backend.options == "speed=11"
    assert make_backend("fake").options is None
    with pytest.raises(HostSpecError, match="known hosts: fake, file, qemu, record"):
        make_backend("other")


def test_real_entry_point_object(monkeypatch, tmp_path):
    entry = importlib.metadata.EntryPoint(
        name="rec2", value="slofpy.host.record:RecordBackend", group="slofpy.hosts")
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points([entry]))
    backend = make_backend(f"rec2:{tmp_path / 'calls.log'}")
    assert isinstance(backend, RecordBackend)
    assert backend.log_path == tmp_path / "calls.log"


def test_builtins_win_over_plugins(monkeypatch):
    shadow = FakeEntryPoint("qemu", "evil:Backend", lambda: PluginBackend)
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points([shadow]))
    assert type(make_backend("qemu")) is QemuBackend


def test_broken_plugins_give_spec_errors(monkeypatch):
    def fail():
        raise ImportError("No module named 'missingpkg'")

    entries = [
        FakeEntryPoint("broken", "missingpkg:Backend", fail),
        FakeEntryPoint("notabackend", "pkg:thing", lambda: (lambda options: object())),
        FakeEntryPoint("picky", "pkg:picky", lambda: (lambda options: int(options))),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points(entries))
    with pytest.raises(HostSpecError, match="cannot load missingpkg:Backend: ImportError"):
        make_backend("broken")
    with pytest.raises(HostSpecError, match="not a HostBackend"):
        make_backend("notabackend")
    with pytest.raises(HostSpecError, match="bad options 'x'"):
        make_backend("picky:x")


def test_record_backend_keeps_every_call(tmp_path):
    log = tmp_path / "calls.log"
    backend = make_backend(f"record:{log}")
    backend.console_output = io.StringIO()
    memory = BufferGuestMemory(bytearray(1 << 20))
    hv = Hypervisor(memory, backend)
    hv.reset((SEEDS / "default.seed.dtb").read_bytes())
    blob = (SEEDS / "default.slof.dtb").read_bytes()
    memory.write(BLOB_ADDR, blob)
    hv.hcall(hc.KVMPPC_H_UPDATE_DT, BLOB_ADDR)
    hv.hcall(0xF004, 1, 2)
    hv.hcall(hc.H_PUT_TERM_CHAR, 0x71000000, 1, ord("A") << 56, 0)
    hv.hcall(hc.H_GET_TERM_CHAR, 0x71000000)
    assert backend.calls == [
        HcallRecord(hc.KVMPPC_H_UPDATE_DT, (BLOB_ADDR,), hc.H_SUCCESS),
        HcallRecord(0xF004, (1, 2), hc.H_FUNCTION),
        HcallRecord(hc.H_PUT_TERM_CHAR, (0x71000000, 1, ord("A") << 56, 0), hc.H_SUCCESS),
        HcallRecord(hc.H_GET_TERM_CHAR, (0x71000000,), hc.H_SUCCESS, (0, 0, 0)),
    ]
    assert backend.stored_blob == blob  # otherwise it is QEMU
    assert backend.console_output.getvalue() == "A"
    assert [c.number for c in backend.calls_to(hc.H_PUT_TERM_CHAR)] == [hc.H_PUT_TERM_CHAR]
    lines = log.read_text().splitlines()
    assert lines[0] == "KVMPPC_H_UPDATE_DT(0x20000) -> 0 H_SUCCESS"
    assert lines[1] == "hcall 0xf004(0x1, 0x2) -> -2 H_FUNCTION"
    assert len(lines) == 4


def test_record_backend_is_capped_in_memory_and_on_disk(tmp_path):
    """`--host record:` appended every hcall for ever (issue 16, item 9): past the cap calls
    are only counted, and the log ends with one line saying so."""
    from slofpy.host.record import MAX_RECORDS
    assert 0 < MAX_RECORDS <= 10_000_000
    log = tmp_path / "calls.log"
    backend = RecordBackend(log, max_records=50)
    backend.console_output = io.StringIO()
    hv = Hypervisor(BufferGuestMemory(bytearray(1 << 20)), backend)
    for _ in range(500):
        hv.hcall(0xF004, 1, 2)
    assert len(backend.calls) == 50 and backend.dropped == 450
    lines = log.read_text().splitlines()
    assert len(lines) == 51 and lines[-1].startswith("... 50 hcalls recorded")
    assert make_backend(f"record:{log}").max_records == MAX_RECORDS
