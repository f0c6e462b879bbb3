"""Writing slofpy's output files (`slofpy boot -o/--dts`, the `file:` host) without ever
leaving a half-written or emptied file behind.

The data goes to a new temporary file in the target's folder, is flushed to disk, and then
replaces the target with one rename: a kill or a full disk at any point leaves either the old
file or the new one, never a truncated one. Every failure is an `OutputFileError` whose text
is one line naming the file.

Choices (documented in the README):
- a symbolic link is followed: the file it points to is replaced, the link stays;
- an existing file is replaced only when it is empty or holds the same kind of thing slofpy
  writes there (`expect`: the FDT magic for blobs, `/dts-v1/` for DTS), so a mistyped `-o`
  cannot overwrite a seed source or anything else.
"""
from __future__ import annotations

import os
from pathlib import Path

FDT_MAGIC = b"\xd0\x0d\xfe\xed"
DTS_START = b"/dts-v1/"


class OutputFileError(ValueError):
    """An output file that cannot be written; the text is one line naming it."""


def make_temporary(folder: str | os.PathLike[str], prefix: str, suffix: str = "") -> tuple[int, str]:
    """A new file only this user can read or write, in folder, named prefix + a random part
    + suffix: its descriptor (open for writing) and path (what tempfile.mkstemp does, without
    the cost of importing tempfile at start-up). Raises OSError."""
    for _ in range(100):
        path = os.path.join(folder, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                           0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name")


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def target_path(path: str | os.PathLike[str], expect: bytes | None = None) -> Path:
    """Check that `path` can be written as an output file and return where the data will
    go (symbolic links followed). Raises OutputFileError when it is a folder, its folder is
    missing, or it already holds something that does not start with `expect`."""
    given = Path(path)
    real = Path(os.path.realpath(given))
    if real.is_dir():
        raise OutputFileError(f"{given}: is a folder, not a file")
    if not real.parent.is_dir():
        raise OutputFileError(f"{given}: no such folder: {real.parent}")
    if expect is not None and real.exists():
        try:
            with open(real, "rb") as f:
                start = f.read(len(expect))
        except OSError as e:
            raise OutputFileError(f"{given}: cannot read the existing file: {_reason(e)}") from None
        if start and start != expect:
            kind = "a device-tree blob" if expect == FDT_MAGIC else "a DTS file"
            raise OutputFileError(f"{given}: exists and is not {kind}; not overwritten "
                                  "(remove it first)")
    return real


def write_atomically(path: str | os.PathLike[str], data: bytes, expect: bytes | None = None) -> None:
    """Replace the file at `path` (see `target_path`) with `data`, all or nothing."""
    real = target_path(path, expect)
    try:
        fd, temp = make_temporary(real.parent, f".{real.name}.", ".tmp")
    except OSError as e:
        raise OutputFileError(f"{path}: cannot write in {real.parent}: {_reason(e)}") from None
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.chmod(temp, 0o666 & ~_umask())
            except OSError:
                pass
            os.replace(temp, real)
        except OSError as e:
            raise OutputFileError(f"{path}: cannot write: {_reason(e)}") from None
    finally:
        if os.path.exists(temp):
            try:
                os.unlink(temp)
            except OSError:
                pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
