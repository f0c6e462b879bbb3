"""Watching the firmware hand its flattened tree to the host: the return code of H_UPDATE_DT.

`slofpy boot` and `slofpy run --boot --quiesce` both quiesce the board and then need to know
whether the host took the tree. The hypervisor tells the host backend of every hcall through
`HostBackend.observe_hcall`; `watch_update_dt` chains onto that hook for the length of a
``with`` block (the backend's own observation, e.g. the record backend's log, still runs) and
takes it away again afterwards.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..abi.hcalls import KVMPPC_H_UPDATE_DT


class UpdateDtWatch:
    """The return code of the last H_UPDATE_DT seen (None: the firmware never made one)."""

    def __init__(self) -> None:
        self.rc: int | None = None

    def observe(self, number: int, rc: int) -> None:
        """Note `rc` when hcall `number` is H_UPDATE_DT."""
        if number == KVMPPC_H_UPDATE_DT:
            self.rc = rc


@contextmanager
def watch_update_dt(backend) -> Iterator[UpdateDtWatch]:
    """An UpdateDtWatch fed by `backend`'s observe_hcall while the block runs."""
    watch = UpdateDtWatch()
    own = backend.__dict__.get("observe_hcall")
    inner = backend.observe_hcall

    def observe_hcall(number: int, args: tuple[int, ...], rc: int,
                      outputs: tuple[int, ...]) -> None:
        inner(number, args, rc, outputs)
        watch.observe(number, rc)

    backend.observe_hcall = observe_hcall
    try:
        yield watch
    finally:
        if own is None:
            del backend.observe_hcall
        else:
            backend.observe_hcall = own
