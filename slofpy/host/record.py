"""`RecordBackend`: QEMU's behaviour, plus a record of every hcall the guest made.

Each hcall, handled or not, is kept in `calls` as an `HcallRecord` (number, arguments,
return code, output registers). With a log path, each call is also appended to that file
as one line of text. Both are capped (`max_records`, default MAX_RECORDS): a firmware that
makes hcalls forever (a console loop, say) cannot fill memory or the disk. Calls past the
cap are only counted (`dropped`); the log gets one closing line saying so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from slofpy.host.qemu import QemuBackend
from slofpy.abi.hcalls import hcall_name, return_code_name

MAX_RECORDS = 1_000_000
"""Hcalls a RecordBackend keeps (and logs) at most: about 200 MB of records, a 60 MB log."""


@dataclass(frozen=True)
class HcallRecord:
    """One hcall as the guest made it and as it was answered."""

    number: int
    args: tuple[int, ...]
    rc: int
    outputs: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """The hcall's name (H_PUT_TERM_CHAR, KVMPPC_H_UPDATE_DT, ...)."""
        return hcall_name(self.number)

    def describe(self) -> str:
        """One line: name, arguments, return code and outputs."""
        args = ", ".join(f"{arg:#x}" for arg in self.args)
        text = f"{self.name}({args}) -> {self.rc} {return_code_name(self.rc)}"
        if self.outputs:
            text += " [" + ", ".join(f"{value:#x}" for value in self.outputs) + "]"
        return text


class RecordBackend(QemuBackend):
    """A `QemuBackend` that keeps every hcall in `calls` (and optionally a log file)."""

    name = "record"

    def __init__(self, log_path: str | os.PathLike[str] | None = None,
                 console_output: TextIO | None = None, max_records: int | None = None):
        super().__init__(console_output)
        self.calls: list[HcallRecord] = []
        self.log_path = Path(log_path) if log_path is not None else None
        self.max_records = MAX_RECORDS if max_records is None else max_records
        self.dropped = 0

    def observe_hcall(self, number: int, args: tuple[int, ...], rc: int,
                      outputs: tuple[int, ...]) -> None:
        """Keep the call (and log it when there is a log file), up to `max_records`."""
        if len(self.calls) >= self.max_records:
            self.dropped += 1
            if self.dropped == 1 and self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as log:
                    log.write(f"... {self.max_records} hcalls recorded; later ones are only "
                              "counted\n")
            return
        record = HcallRecord(number, tuple(args), rc, tuple(outputs))
        self.calls.append(record)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(record.describe() + "\n")

    def calls_to(self, number: int) -> list[HcallRecord]:
        """The recorded calls of hcall `number`."""
        return [call for call in self.calls if call.number == number]
