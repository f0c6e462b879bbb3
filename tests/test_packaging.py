"""slofpy as installed from its distributions, not from the checkout: the sdist carries the
Forth layers, the tests and their data; the wheel built from it, installed into a fresh
virtual environment, boots the board and runs a booted Forth test from a folder outside the
source tree.

This builds both distributions (python -m build: the sdist, then the wheel from the sdist)
and installs the wheel with pip, so it needs what any such install needs: PyPI or pip's
cache for setuptools, pylibfdt (built from source when pip has no wheel for it: a C compiler
and the Python headers, see the README's set-up) and the other dependencies.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from conftest import require_slof_bin

REPO = Path(__file__).resolve().parents[1]

BOOTED_TEST = """\
\\ slofpy: booted
\\ a Forth test on the booted board, run from outside the source tree
decimal
testing the tree
T{ s" /vdevice" find-node 0<> -> true }T
T{ s" /cpus" find-node s" /cpus" find-node = -> true }T
"""


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                       env=env, timeout=timeout)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def outside_env() -> dict:
    """The environment without anything pointing back at the checkout or its venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTEST_ADDOPTS")
           and not k.startswith("PYTEST_XDIST")}
    return env


def test_the_wheel_boots_and_runs_a_booted_forth_test_outside_the_source_tree(tmp_path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, REPO, cwd=tmp_path, env=outside_env())
    sdist, = dist.glob("slofpy-*.tar.gz")
    wheel, = dist.glob("slofpy-*.whl")

    with tarfile.open(sdist) as t:
        in_sdist = {"/".join(name.split("/")[1:]) for name in t.getnames()}
    for name in ("forth/of.fs", "board-qemu/board.fs", "tests/forth/test_booted_tree.fs",
                 "tests/data/reference-seeds/default.seed.dtb", "tests/data/tools/tree-score",
                 "LICENSE", "setup.py", "MANIFEST.in"):
        assert name in in_sdist, name
    with zipfile.ZipFile(wheel) as z:
        in_wheel = set(z.namelist())
    forth = {p.name for p in (REPO / "forth").glob("*.fs")}
    board = {p.name for p in (REPO / "board-qemu").glob("*.fs")}
    assert {n.split("/")[-1] for n in in_wheel if n.startswith("slofpy/forth/")} == forth
    assert {n.split("/")[-1] for n in in_wheel if n.startswith("slofpy/board-qemu/")} == board
    assert {"slofpy/py.typed", "slofpy/kernel/kernel.fs", "slofpy/data/default.seed.dtb",
            "slofpy-%s.dist-info/licenses/LICENSE" % wheel.name.split("-")[1]} <= in_wheel

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_ = venv / "bin"
    env = outside_env()
    env["PATH"] = f"{bin_}{os.pathsep}{env.get('PATH', '')}"
    run(bin_ / "python", "-m", "pip", "install", "-q", wheel, "pytest", cwd=tmp_path, env=env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(bin_ / "python", "-c", "import slofpy.firmware as f; print(f.SOURCE_ROOT)",
                cwd=elsewhere, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    r = run(bin_ / "slofpy", "boot", cwd=elsewhere, env=env)
    assert "H_UPDATE_DT: 0 (accepted)" in r.stdout
    # SLOF itself, with the installed package's libraries and host models
    r = run(bin_ / "slofpy", "boot", "--firmware", require_slof_bin(), cwd=elsewhere, env=env)
    assert "Welcome to Open Firmware" in r.stdout and "H_UPDATE_DT: 0 (accepted)" in r.stdout
    r = run(bin_ / "slofpy", "--version", cwd=elsewhere, env=env)
    assert r.stdout.startswith("slofpy ")

    (elsewhere / "test_installed.fs").write_text(BOOTED_TEST)
    # find-node is a word of the generic layer: on the bare engine these two would fail
    r = run(bin_ / "python", "-m", "pytest", "-p", "no:cacheprovider", "test_installed.fs",
            cwd=elsewhere, env=env)
    assert "2 passed" in r.stdout


def readme_set_up() -> list[str]:
    """The commands of the README's set-up block (what .ci/run runs)."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Set-up\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()


def test_the_readme_set_up_installs_every_system_package_the_tests_use() -> None:
    import re

    from conftest import TOOL_PACKAGES
    first, second = readme_set_up()
    assert second == "pytest"
    installed = set(re.search(r"apt-get install -y ([^&]+)", first).group(1).split())
    used = {m for f in (REPO / "tests").glob("*.py")
            for m in re.findall(r"need_tool\(\"([\w-]+)\"\)", f.read_text())}
    assert used >= {"dtc", "tmux"}
    assert {TOOL_PACKAGES[tool] for tool in used} <= installed
    assert {"gcc", "python3-dev", "python3-venv"} <= installed     # pylibfdt builds from source
    uses_slof_bin = any("require_slof_bin" in f.read_text() or "slof_bin" in f.read_text()
                        for f in (REPO / "tests").glob("test_*.py"))
    assert uses_slof_bin and "qemu-system-data" in installed       # /usr/share/qemu/slof.bin
    assert "pip install -e '.[test]'" in first
    ci = (REPO / ".ci" / "run").read_text()
    assert "README.md" in ci and "apt-get" not in ci and "pip install" not in ci
