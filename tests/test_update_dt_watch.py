"""The H_UPDATE_DT watch of `slofpy boot` and `run --quiesce` (slofpy.frontends.update_dt_watch):
fed through the backend's observe_hcall, which keeps doing its own work and is put back."""
from slofpy.frontends.update_dt_watch import watch_update_dt
from slofpy.host.record import RecordBackend
from slofpy.abi.hcalls import H_PUT_TERM_CHAR, KVMPPC_H_UPDATE_DT


def test_watch_sees_update_dt_and_the_backend_still_records():
    backend = RecordBackend()
    with watch_update_dt(backend) as watch:
        backend.observe_hcall(H_PUT_TERM_CHAR, (0, 1, 2, 3), 0, ())
        assert watch.rc is None
        backend.observe_hcall(KVMPPC_H_UPDATE_DT, (0x1000,), -4, ())
    assert watch.rc == -4
    assert [c.number for c in backend.calls] == [H_PUT_TERM_CHAR, KVMPPC_H_UPDATE_DT]
    assert "observe_hcall" not in vars(backend)          # the class's own method again
    backend.observe_hcall(KVMPPC_H_UPDATE_DT, (0x1000,), 0, ())
    assert watch.rc == -4                                 # no longer watched
