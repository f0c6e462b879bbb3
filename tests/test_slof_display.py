"""SLOF's display drivers (std VGA and Cirrus) on slofpy's host, end to end, on the pci-vga
machine (QEMU's -device VGA -device cirrus-vga -device virtio-gpu-pci): the console real
SLOF printed at its prompt (tests/data/seeds/pci-vga.console.txt), what real SLOF read back
from the adapters and their framebuffers with RMOVE, MRMOVE and RFILL
(tests/data/display/replies.txt, captured by tests/data/display/capture.py), and one-line
errors for what slofpy's models do not cover. The tree is test_slof_seeds.py's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from slofpy.errors import ForthError
from slofpy.slof.boot import boot_slof

DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "seeds" / "pci-vga.seed.dtb"
CONSOLE = DATA / "seeds" / "pci-vga.console.txt"
REPLIES = DATA / "display" / "replies.txt"


@pytest.fixture(scope="module")
def booted(slof_bin):
    out: list[str] = []
    machine = boot_slof(slof_bin, seed=SEED, output=out.append, timeout=300)
    machine.vm.flush()
    machine.vm.s.clear()                   # real SLOF's prompt after its boot shows depth 0
    return machine, out


def say(booted, line: str) -> str:
    machine, out = booted
    out.clear()
    machine.interpret_line(line, timeout=120)
    machine.vm.flush()
    return "".join(out)


def fold(text: str) -> str:
    return " ".join(text.replace("\0", "").split()).removesuffix(" ok").removesuffix("ok")


def captured(path: Path, pattern: str) -> list[tuple[str, str]]:
    text = path.read_text(encoding="latin-1")
    return [(m.group(1), m.group(2)) for m in re.finditer(pattern, text, re.M | re.S)]


def masked(text: str) -> str:
    """Node addresses (SLOF's phandles: where its heap put the nodes) and /chosen's random
    rng-seed, which differ from run to run of any SLOF, taken out."""
    text = re.sub(r"(?m)^[0-9a-f]{8} :", "NODE :", text)
    return re.sub(r"rng-seed( +[0-9a-f]{8}){4}\s+( *[0-9a-f]{8}){4}", "rng-seed RANDOM", text)


def test_the_console_at_the_prompt_is_real_slofs(booted):
    machine, _ = booted
    machine.quiesce()                      # real SLOF's lines were typed after flattening
    lines = captured(CONSOLE, r"^=== ([^\n]*)\n(.*?)(?=\n=== |\Z)")
    assert [line for line, _ in lines] == ["dev / ls", "devalias", "dev /chosen .properties"]
    for line, reply in lines:
        assert (line, fold(masked(say(booted, line)))) == (line, fold(masked(reply)))


def test_what_slof_reads_from_the_adapters_is_what_real_qemu_gave(booted):
    for line, reply in captured(REPLIES, r"^=== ([^\n]*)\n(.*?)\n--- end\n"):
        assert (line, fold(say(booted, line))) == (line, fold(reply))


@pytest.mark.parametrize("line, code, words", [
    # the Cirrus's MMIO BAR (BAR 1): no model
    ("200084000000 rl@", -21, ["cirrus-vga 00:01.0", "BAR 1", "not modelled"]),
    # an RFILL where there is neither RAM nor a device
    ("100000000000 10 0 rfill", -9, ["RFILL", "0x100000000000"]),
    ("4000 100000000000 8 rmove", -9, ["RMOVE", "0x100000000000"]),
])
def test_what_slofpy_does_not_model_is_one_error_and_the_prompt_goes_on(booted, line, code,
                                                                       words):
    with pytest.raises(ForthError) as error:
        say(booted, line)
    assert error.value.code == code
    assert "\n" not in str(error.value)
    assert all(word in str(error.value) for word in words), str(error.value)
    booted[0].vm.s.clear()
    assert say(booted, "1 2 + .").strip() == "3"
