"""Boot real SLOF on QEMU's "vio" configuration (make-seeds.py's: two v-scsi adapters, an
l-lan, a second vty and a vTPM on swtpm) and write what it printed: the boot up to the
first `0 >` prompt (boot.console.raw, bytes as they came, CRLF kept), then the answers
to the Forth lines of prompt.forth (prompt.txt: `> LINE`, then SLOF's answer).

Usage (about 60 s; needs qemu-system-ppc64 and swtpm):

    python tests/data/vio/capture.py
"""
import importlib.util
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds" / "make-seeds.py"


HEADER = ("# Real SLOF's console while booting, configuration 'vio' of make-seeds.py (QEMU 7.2, "
          "Debian's slof.bin 20220719, swtpm 0.7.1); bytes as sent, up to the first prompt\n")


def without_banner(console: bytes) -> bytes:
    """The console with SLOF's copyright banner (4 lines of copyright-oss.fs) left out: the
    captures keep what SLOF does, not its text."""
    return re.sub(rb"  Copyright \(c\) .*?\n  This program .*?\n  under the terms .*?\n"
                  rb"  http://www\.opensource\.org/\S*",
                  b"  [SLOF's copyright banner (4 lines) is not kept in this capture]", console)


def main() -> None:
    spec = importlib.util.spec_from_file_location("make_seeds", SEEDS)
    make_seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_seeds)
    config = next(c for c in make_seeds.CONFIGS if c["name"] == "vio")
    with tempfile.TemporaryDirectory(prefix="slofpy-vio-") as tmp:
        work = Path(tmp)
        for image, size in make_seeds.IMAGES.items():
            with open(work / image, "wb") as f:
                f.truncate(size)
        tpm = make_seeds.Swtpm(work)
        session = make_seeds.Session(make_seeds.substitute(config["args"], tpm.sock),
                                     cwd=str(work))
        try:
            session.wait_prompt(300)
            boot = session.transcript
            (HERE / "boot.console.raw").write_bytes(HEADER.encode() + without_banner(boot))
            out = []
            for line in (HERE / "prompt.forth").read_text().splitlines():
                if line.strip():
                    answer = session.command(line, 120)
                    out.append("> " + line + "\n" + answer.decode("latin-1") + "\n")
            (HERE / "prompt.txt").write_text("".join(out), encoding="latin-1")
        finally:
            session.close()
            tpm.close()


if __name__ == "__main__":
    sys.exit(main())
