"""Host backends by name: `make_backend("NAME[:OPTIONS]")`.

Built-in names:

* ``qemu``: `QemuBackend`, no options;
* ``file:PATH``: `FileBackend`, writing each accepted H_UPDATE_DT blob to PATH;
* ``record`` or ``record:LOG``: `RecordBackend`, optionally logging each hcall to LOG.

Other packages add backends under the entry-point group ``slofpy.hosts``. The entry point's
name is the host name; the object it loads is called with one argument, the option string
(None when the spec has no ``:``), and must return a `HostBackend`. A class whose
constructor takes that one argument will do. Built-in names take precedence.

Every problem with a spec (unknown name, missing or unwanted options, a plug-in that fails
to load) raises `HostSpecError` with a one-line message.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slofpy.host.backend import HostBackend
from slofpy.host.file import FileBackend
from slofpy.outfile import OutputFileError
from slofpy.host.qemu import QemuBackend
from slofpy.host.record import RecordBackend

if TYPE_CHECKING:
    import importlib.metadata

ENTRY_POINT_GROUP = "slofpy.hosts"

BackendFactory = Callable[[str | None], HostBackend]


class HostSpecError(ValueError):
    """A host spec that names no backend, or gives it options it cannot take."""


def _make_qemu(options: str | None) -> HostBackend:
    if options is not None:
        raise HostSpecError(f"host 'qemu' takes no options (got {options!r})")
    return QemuBackend()


def _make_file(options: str | None) -> HostBackend:
    if not options:
        raise HostSpecError("host 'file' needs a path: file:PATH")
    try:
        return FileBackend(options)
    except OutputFileError as error:
        raise HostSpecError(f"host 'file': {error}") from None


def _make_record(options: str | None) -> HostBackend:
    return RecordBackend(options or None)


BUILTIN_BACKENDS: dict[str, BackendFactory] = {
    "qemu": _make_qemu,
    "file": _make_file,
    "record": _make_record,
}


def _plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points of the ``slofpy.hosts`` group, by name."""
    import importlib.metadata   # here, not at start-up: only plug-ins need it
    return {entry.name: entry
            for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def backend_names() -> list[str]:
    """Every host name that `make_backend` knows, sorted."""
    return sorted(set(BUILTIN_BACKENDS) | set(_plugin_entry_points()))


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split "NAME[:OPTIONS]" into (NAME, OPTIONS or None)."""
    name, colon, options = spec.partition(":")
    name = name.strip()
    if not name:
        raise HostSpecError(
            f"empty host name in {spec!r}; known hosts: {', '.join(backend_names())}"
        )
    return name, (options if colon else None)


def _find_factory(name: str) -> BackendFactory:
    if name in BUILTIN_BACKENDS:
        return BUILTIN_BACKENDS[name]
    entry = _plugin_entry_points().get(name)
    if entry is None:
        raise HostSpecError(
            f"unknown host {name!r}; known hosts: {', '.join(backend_names())}"
        )
    try:
        factory: BackendFactory = entry.load()
    except Exception as error:  # a broken plug-in is reported, not raised through
        raise HostSpecError(
            f"host {name!r}: cannot load {entry.value}: {type(error).__name__}: {error}"
        ) from error
    return factory


def make_backend(spec: str) -> HostBackend:
    """The backend a "NAME[:OPTIONS]" spec names, e.g. "qemu" or "file:/tmp/out.dtb"."""
    name, options = parse_spec(spec)
    factory = _find_factory(name)
    try:
        backend = factory(options)
    except HostSpecError:
        raise
    except (TypeError, ValueError) as error:
        raise HostSpecError(f"host {name!r}: bad options {options!r}: {error}") from error
    if not isinstance(backend, HostBackend):
        raise HostSpecError(
            f"host {name!r} made a {type(backend).__name__}, not a HostBackend"
        )
    return backend
