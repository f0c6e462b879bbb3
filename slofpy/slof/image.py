"""Where SLOF's own Forth comes from: the slof.bin QEMU ships, or a SLOF source tree.

Either way the result is a `SlofImage`: the boot Forth text paflof evaluates at start-up
(OF.fsi), the romfs that `included` reads files from, and a way to say where a line of the
boot text came from (for error messages).

- A slof.bin (Debian's qemu-system-data installs /usr/share/qemu/slof.bin) is a romfs from its
  first byte. The boot text is inside the `ofw_main` file, paflof's program, linked in as
  text: the longest run of text bytes there.
- A source tree (aik/SLOF, or roms/SLOF in QEMU's sources) is prepared as SLOF's build does
  it for board-qemu: board-qemu/slof/OF.fs and each file listed in OF_FFS_FILES of
  board-qemu/slof/Makefile are run through the C preprocessor's #include/#if rules and then
  trimmed (leading blanks, `\\ ` comment lines, `( ... )` lines and empty lines go), and the
  files are laid out as a romfs. The tree's boot text is then the image's, line for line.

Nothing of SLOF is part of slofpy: the user's file or tree is read when a boot starts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SlofImageError
from ..vm.source import Preprocessed, Segment, SourceError, preprocess_file
from . import romfs

MAX_IMAGE_BYTES = 64 << 20
BOOT_TEXT_FILE = "ofw_main"
MIN_BOOT_TEXT = 4096
# what SLOF's build defines for board-qemu's Forth (board-qemu/Makefile's FPPFLAGS)
BUILD_DEFINES = {b"RTAS_NVRAM": b"", b"BROKEN_SC1": b"", b"DHCPARCH": b""}
OF_FS = Path("board-qemu/slof/OF.fs")
MAKEFILE = Path("board-qemu/slof/Makefile")


@dataclass
class SlofImage:
    origin: str                 # the file or folder, as the user named it
    boot_text: bytes            # what paflof evaluates at start-up
    romfs: bytes                # the romfs `included` reads from
    # for a source tree: (file, line) of each line of boot_text; empty for an image, whose
    # boot text is its own file (BOOT_NAME, lines counted in it)
    line_origins: list[tuple[str, int]] = field(default_factory=list)
    banner: bytes = b""         # what SLOF's start-up code prints first (its version)
    # for a source tree: romfs file name -> (file, line) of each of its lines
    file_origins: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def boot_name(self) -> str:
        """The name errors in the boot text carry when they have no source file."""
        return f"{self.origin}:OF.fsi"

    def where(self, line: int) -> tuple[str, int]:
        """(file, line) a line of the boot text comes from."""
        if self.line_origins and 1 <= line <= len(self.line_origins):
            return self.line_origins[line - 1]
        return self.boot_name, line

    def text_origin(self, name: str, text: bytes, offset: int) -> Preprocessed:
        """The file/line map of romfs file `name`'s text from byte `offset` on (`text` being
        that part): its lines in the source tree, or the file's own lines in an image."""
        origins = self.file_origins.get(name)
        line = 1 + self._romfs_file(name)[:offset].count(b"\n")
        if not origins:
            return Preprocessed(text, [Segment(0, f"{self.origin}:{name}", line)])
        segments, at = [], 0
        for raw in text.split(b"\n"):
            file, no = origins[min(line - 1, len(origins) - 1)]
            segments.append(Segment(at, file, no))
            at += len(raw) + 1
            line += 1
        return Preprocessed(text, segments)

    def _romfs_file(self, name: str) -> bytes:
        for e in romfs.parse(self.romfs):
            if e.name == name:
                return romfs.read_file(self.romfs, e)
        return b""

    def files(self) -> list[str]:
        return [e.name for e in romfs.parse(self.romfs)]


def load_image(path: str | Path) -> SlofImage:
    """A SlofImage from a slof.bin file or a SLOF source tree."""
    p = Path(path)
    if p.is_dir():
        return _from_tree(p)
    try:
        with open(p, "rb") as f:
            data = f.read(MAX_IMAGE_BYTES + 1)
    except OSError as e:
        raise SlofImageError(f"{p}: {e.strerror or e}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise SlofImageError(f"{p}: more than {MAX_IMAGE_BYTES} bytes, not a SLOF image")
    return _from_file(p, data)


def _from_file(p: Path, data: bytes) -> SlofImage:
    try:
        entries = romfs.parse(data)
    except romfs.RomfsError as e:
        raise SlofImageError(f"{p}: not a SLOF image: {e}") from None
    if entries[0].name != "header":
        raise SlofImageError(f"{p}: not a SLOF image: its romfs starts with "
                             f"{entries[0].name!r}, not 'header'")
    main = next((e for e in entries if e.name == BOOT_TEXT_FILE), None)
    if main is None:
        raise SlofImageError(f"{p}: not a SLOF image: no {BOOT_TEXT_FILE!r} (paflof) in its "
                             "romfs")
    program = romfs.read_file(data, main)
    runs = [(m.end() - m.start(), m.start())
            for m in re.finditer(rb"[\t\n\r\x20-\x7e]{%d,}" % MIN_BOOT_TEXT, program)]
    if not runs:
        raise SlofImageError(f"{p}: not a SLOF image: no boot Forth text in "
                             f"{BOOT_TEXT_FILE!r} (at offset {main.data_offset:#x})")
    length, start = max(runs)
    return SlofImage(str(p), program[start:start + length], data, banner=_banner(data))


def _banner(data: bytes) -> bytes:
    """The version banner SLOF's low-level start-up prints, as the image holds it: the text
    from its terminal reset up to the end of the `FW Version = ...` line."""
    at = data.find(b" FW Version = ")
    if at < 0:
        return b""
    start = data.rfind(b"\x1b[0m", 0, at)
    start = data.rfind(b"\x1b[0m", 0, start) if start >= 0 else -1
    end = data.find(b"\r\n", at)
    if start < 0 or end < 0 or at - start > 400:
        return b""
    return data[start:end + 2]


# ---------------------------------------------------------------- a source tree
def _search_path(tree: Path) -> list[Path]:
    return [tree / "board-qemu" / "slof", tree / "slof" / "fs", tree / "slof"]


def prepare(path: Path, tree: Path) -> tuple[bytes, list[tuple[str, int]]]:
    """A Forth file of the tree as SLOF's build prepares it (cpp, then trimmed), with the
    (file, line) each remaining line comes from."""
    try:
        pre = preprocess_file(path, _search_path(tree), BUILD_DEFINES)
    except SourceError as e:
        raise SlofImageError(str(e)) from None
    lines, origins = [], []
    at = 0
    for raw in pre.text.split(b"\n"):
        line = raw.lstrip(b" \t")
        start, at = at, at + len(raw) + 1
        if not line or re.match(rb"\\[ \t]", line) or line == b"\\" \
                or re.fullmatch(rb"\([ \t][^)]*[ \t]\)[ \t]*", line):
            continue
        file, no = pre.locate(start)
        lines.append(line)
        origins.append((_relative(file, tree), no))
    return b"".join(x + b"\n" for x in lines), origins


def _relative(file: str, tree: Path) -> str:
    try:
        return str(Path(file).resolve().relative_to(tree.resolve()))
    except ValueError:
        return file


def romfs_files(tree: Path) -> list[Path]:
    """The files board-qemu's build puts into the romfs (OF_FFS_FILES), in its order."""
    try:
        text = (tree / MAKEFILE).read_text(errors="replace")
    except OSError as e:
        raise SlofImageError(f"{tree}: not a SLOF source tree: {tree / MAKEFILE}: "
                             f"{e.strerror}") from None
    text = text.replace("\\\n", " ")
    lists: dict[str, list[str]] = {}
    for m in re.finditer(r"^(\w+)[ \t]*(\+=|=)(.*)$", text, re.M):
        name, op, value = m.groups()
        if op == "=":
            lists[name] = value.split()
        else:
            lists.setdefault(name, []).extend(value.split())
    dirs = {"SLOFCMNDIR": tree / "slof", "SLOFBRDDIR": tree / "board-qemu" / "slof"}

    def expand(word: str) -> list[str]:
        ref = re.fullmatch(r"\$\((\w+)\)", word)
        if ref:
            return [w for x in lists.get(ref.group(1), []) for w in expand(x)]
        return [re.sub(r"\$\((\w+)\)", lambda v: str(dirs.get(v.group(1), "")), word)]
    return [Path(w) for w in expand("$(OF_FFS_FILES)")]


FONT = Path("board-qemu/slof/default-font.bin")
FONT_SOURCE = Path("slof/default-font.c")


def _font(tree: Path) -> bytes:
    """default-font.bin, which the build makes from the byte array in slof/default-font.c."""
    try:
        text = (tree / FONT_SOURCE).read_text(errors="replace")
    except OSError as e:
        raise SlofImageError(f"{tree}: {FONT_SOURCE}: {e.strerror}") from None
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    body = text[text.find("{") + 1:text.rfind("}")]
    try:
        return bytes(int(v, 0) & 0xFF for v in body.replace(",", " ").split())
    except ValueError:
        raise SlofImageError(f"{tree}: {FONT_SOURCE}: not a byte array") from None


def _from_tree(tree: Path) -> SlofImage:
    if not (tree / OF_FS).is_file():
        raise SlofImageError(f"{tree}: not a SLOF source tree: no {OF_FS}")
    text, origins = prepare(tree / OF_FS, tree)
    files = []
    file_origins = {}
    for f in romfs_files(tree):
        if f.name == FONT.name and not f.is_file():
            files.append((f.name, _font(tree)))
            continue
        if not f.is_file():
            raise SlofImageError(f"{tree / MAKEFILE}: romfs file {f} is missing")
        if f.suffix == ".fs":
            data, file_origins[f.name] = prepare(f, tree)
        else:
            data = f.read_bytes()
        files.append((f.name, data))
    try:
        release = (tree / "VERSION").read_text().strip()
    except OSError:
        release = "unknown"
    banner = (b"\x1b[0m\x1b[?25l " + b"*" * 70 + b"\r\n\x1b[1mSLOF source tree Starting\r\n"
              b"\x1b[0m FW Version = release " + release.encode("latin-1", "replace") + b"\r\n")
    return SlofImage(str(tree), text, romfs.build([("header", _flash_header(files))] + files),
                     origins, banner=banner, file_origins=file_origins)


def _flash_header(files: list[tuple[str, bytes]]) -> bytes:
    """The romfs's `header` file as board-qemu's build writes it for a tree that is not a git
    checkout: magic, image length, version HEAD, platform qemu0, no dates, revision 1, and
    the end mark (SLOF's flash-header and slof-build-id read it)."""
    length = len(romfs.build([("header", bytes(0x88))] + files))
    return (b"magic123" + length.to_bytes(8, "big") + b"HEAD".ljust(16, b"\0")
            + b"qemu0".ljust(32, b"\0") + bytes(16) + b"1".ljust(4, b"\0") + bytes(4)
            + bytes(8) + b"\xff" * 8).ljust(0x88, b"\0")
