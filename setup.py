"""Build hook: the wheel carries the Forth sources that live at the top of the repository.

forth/ (the generic Open Firmware layer) and board-qemu/ (the pseries board) stay where they
are in the source tree; a built wheel holds them as slofpy/forth/*.fs and
slofpy/board-qemu/*.fs, which is where slofpy.firmware looks first. An editable install
leaves them out and finds them at the top of the checkout instead. Everything else about the
package is in pyproject.toml.
"""
from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: folders of Forth source outside the package that the package needs at run time
FORTH_FOLDERS = ("forth", "board-qemu")


class BuildWithForth(build_py):
    """build_py that also copies FORTH_FOLDERS/*.fs into the built slofpy package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        top = Path(__file__).resolve().parent
        for folder in FORTH_FOLDERS:
            target = Path(self.build_lib) / "slofpy" / folder
            self.mkpath(str(target))
            for source in sorted((top / folder).glob("*.fs")):
                self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildWithForth})
