"""Type a file of Forth lines at real SLOF's prompt (QEMU 7.2, `-M pseries`) and print the
transcript: each line as `> LINE`, then SLOF's answer. Usage (about 20 s):

    python tests/data/vscsi/capture.py tests/data/vscsi/default-cdrom-1.forth > default-cdrom-1.txt

The QEMU process is make-seeds.py's `Session` (its base arguments: no NIC, no VGA, so the
machine has QEMU's default devices: the v-scsi adapter with the empty default CD-ROM).
"""
import importlib.util
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "make-seeds.py"


def main(path: str) -> None:
    spec = importlib.util.spec_from_file_location("make_seeds", SEEDS)
    make_seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_seeds)
    session = make_seeds.Session([])
    try:
        session.wait_prompt(120)
        for line in Path(path).read_text().splitlines():
            if line.strip():
                answer = session.command(line, 60)
                sys.stdout.write("> " + line + "\n" + answer.decode("latin-1") + "\n")
    finally:
        session.close()


if __name__ == "__main__":
    main(sys.argv[1])
