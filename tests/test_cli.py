"""The `slofpy` command line as a user meets it: `run` on the bare engine and on the booted
board (`--boot`, `--quiesce -o`, `-` for standard input), `--version`, `--help` texts, and
Unix manners (a closed output pipe ends quietly)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slofpy import __version__
from slofpy.fdt.blob import parse_blob

REPO = Path(__file__).resolve().parents[1]
SLOFPY = [sys.executable, "-m", "slofpy"]

DEVICE_TREE_SCRIPT = """\
\\ a device-tree script: only the booted board knows these words
dev /vdevice ls device-end
: show-cpus  " /cpus" find-device  pwd device-end ;
show-cpus cr
: bad   " /nowhere" find-device ;
: worse
   bad ;
worse
." never"
"""


def slofpy(*args: str, input: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*SLOFPY, *args], capture_output=True, text=True, input=input,
                          cwd=cwd or REPO, timeout=120)


def test_version() -> None:
    r = slofpy("--version")
    assert r.returncode == 0 and r.stdout == f"slofpy {__version__}\n"


def test_run_on_the_bare_engine_does_not_know_the_device_tree() -> None:
    r = slofpy("run", "-e", "dev /vdevice ls")
    assert r.returncode == 1
    assert r.stderr == "slofpy: -e:1: dev? undefined word\n"


def test_run_boot_runs_a_device_tree_script_and_its_errors_carry_file_and_line(tmp_path) -> None:
    (tmp_path / "tree.fs").write_text(DEVICE_TREE_SCRIPT)
    r = slofpy("run", "--boot", "tree.fs", cwd=tmp_path)
    assert r.returncode == 1
    assert "|-- vty@71000000" in r.stdout and "/cpus\n" in r.stdout
    assert "never" not in r.stdout
    lines = r.stderr.splitlines()
    assert lines[0] == "slofpy: tree.fs:8: worse? No such device path"
    assert lines[1].endswith("forth/path.fs:" + lines[1].split(":")[-2] + ": find-device (at (abort\"))")
    assert lines[2:] == ["  tree.fs:5: bad (at find-device)", "  tree.fs:7: worse (at bad)"]


def test_run_boot_files_and_snippets_in_order_and_from_standard_input() -> None:
    r = slofpy("run", "--boot", "-e", 'dev /cpus', "-", "-e", "pwd",
               input="device-end dev /vdevice\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/vdevice"
    r = slofpy("run", "-", input=": sq dup * ; 7 sq .\n")
    assert (r.returncode, r.stdout) == (0, "31 ")        # hex, as SLOF
    r = slofpy("run", "-", input="1 0 /\n")
    assert (r.returncode, r.stderr) == (1, "slofpy: <stdin>:1: /? division by zero\n")


def test_run_boot_quiesce_writes_the_tree_the_host_accepted(tmp_path) -> None:
    out = tmp_path / "out.dtb"
    r = slofpy("run", "--boot", "--seed", str(REPO / "tests/data/seeds/vio.seed.dtb"),
               "--quiesce", "-o", str(out),
               "-e", 'dev / new-device s" slofpy-test" device-name finish-device device-end')
    assert r.returncode == 0, r.stderr
    root, _, _ = parse_blob(out.read_bytes())
    paths = [p for p, _ in root.walk()]
    assert "/slofpy-test" in paths and any(p.startswith("/vdevice/vty@") for p in paths)


def test_run_boot_errors_of_its_own_are_one_line(tmp_path) -> None:
    r = slofpy("run", "--boot", "--seed", str(tmp_path / "missing.dtb"), "-e", "1")
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1
    assert "missing.dtb" in r.stderr and "Traceback" not in r.stderr
    r = slofpy("run", "--boot", "--host", "nosuchhost", "-e", "1")
    assert r.returncode == 1 and r.stderr.startswith("slofpy: ") and len(r.stderr.splitlines()) == 1
    r = slofpy("run", "--boot", "--quiesce", "-o", str(tmp_path / "no" / "dir.dtb"))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1
    # the same words `slofpy boot -o` uses for a target in a missing folder
    assert r.stderr.startswith(f"slofpy: {tmp_path / 'no' / 'dir.dtb'}: no such folder")


@pytest.mark.parametrize("args", [["--seed", "x.dtb"], ["--quiesce"], ["--host", "record"],
                                  ["--boot", "-o", "x.dtb"]])
def test_run_board_options_need_boot_and_quiesce(args) -> None:
    r = slofpy("run", *args, "-e", "1")
    assert r.returncode == 2
    assert "need" in r.stderr.splitlines()[-1]


def test_help_texts_name_the_host_backends() -> None:
    for command in ("repl", "boot", "run"):
        r = slofpy(command, "--help")
        assert r.returncode == 0
        assert "qemu, file:PATH, record, or a plugin" in " ".join(r.stdout.split()), command


def pipeline(command: str) -> subprocess.CompletedProcess:
    """A shell pipeline; the status reported is slofpy's (the first command)."""
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}; echo \"status ${{PIPESTATUS[0]}}\" >&2"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("command,second", [
    ("run -e ': l 20000 0 do i . cr loop ; l'", "1 "),
    ("run --boot -e 'dev / ls'", " :  /"),
])
def test_a_closed_pipe_ends_quietly(command, second) -> None:
    cmd = " ".join(SLOFPY)
    r = pipeline(f"{cmd} {command} | head -2")
    assert len(r.stdout.splitlines()) == 2 and second in r.stdout.splitlines()[1]
    assert r.stderr.splitlines() == ["status 141"]


def test_a_closed_pipe_after_the_repl_ends_quietly() -> None:
    cmd = " ".join(SLOFPY)
    r = pipeline(f"{cmd} repl <<< 'dev / ls' | head -2")
    assert len(r.stdout.splitlines()) == 2
    assert r.stderr.splitlines() == ["status 141"]
