"""Real SLOF's TPM menu: boot QEMU's default pseries machine with a vTPM (tpm-spapr on a fresh
swtpm), type 't' at "Press "s" to enter Open Firmware.", then in the menu '2' (the PCR
banks), ESC (back), ESC (continue the boot). Writes the machine's seed (tpm-menu.seed.dtb,
QEMU's dumpdtb) and the console up to the first prompt (tpm-menu.console.raw, copyright
banner left out as in the other captures). Usage (about 30 s; needs qemu-system-ppc64 and
swtpm):

    python tests/data/vio/menu-capture.py
"""
import importlib.util
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE.parent / "seeds" / "make-seeds.py"
CAPTURE = HERE / "capture.py"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tpm_args(sock: str) -> list[str]:
    return ["-m", "512", "-chardev", f"socket,id=chrtpm,path={sock}",
            "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-spapr,tpmdev=tpm0"]


def main() -> None:
    make_seeds, capture = load("make_seeds", SEEDS), load("capture", CAPTURE)
    with tempfile.TemporaryDirectory(prefix="slofpy-tpm-menu-") as tmp:
        work = Path(tmp)
        tpm = make_seeds.Swtpm(work)
        try:
            subprocess.run([make_seeds.QEMU, "-M", f"pseries,dumpdtb={HERE / 'tpm-menu.seed.dtb'}",
                            *make_seeds.BASE_ARGS, *tpm_args(tpm.sock)], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            tpm.close()
        tpm = make_seeds.Swtpm(work)
        session = make_seeds.Session(tpm_args(tpm.sock), cwd=tmp)
        try:
            session.read_until(b'Press "s" to enter Open Firmware.', 60)
            for key, answer in ((b"t", b"continue the boot."),
                                (b"2", b"ESC: return to previous menu"),
                                (b"\x1b", b"continue the boot.")):
                session.proc.stdin.write(key)
                session.proc.stdin.flush()
                session.read_until(answer, 60)
                time.sleep(1)
            session.proc.stdin.write(b"\x1b")
            session.proc.stdin.flush()
            session.wait_prompt(300)
            header = ("# Real SLOF's console while booting QEMU's default machine with a vTPM "
                      "(QEMU 7.2, Debian's slof.bin 20220719, swtpm 0.7.1), keys t 2 ESC ESC "
                      "typed (menu-capture.py); bytes as sent, up to the first prompt\n")
            (HERE / "tpm-menu.console.raw").write_bytes(
                header.encode() + capture.without_banner(session.transcript))
        finally:
            session.close()
            tpm.close()


if __name__ == "__main__":
    main()
