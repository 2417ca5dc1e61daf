"""Every operation ends in ``_sync``: an exit the manager ignored meanwhile (what exited might
have been replaced) is reported again by the watcher, so no VDU stays dead without its action."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vnfm.errors import VimError
from vnfm.model import Status as S


class _WatchedSets:
    """Stands in for the exit watcher: records each set the manager asks it to watch."""

    def __init__(self) -> None:
        self.synced: list[set] = []

    def sync(self, wanted: set) -> None:
        self.synced.append(set(wanted))

    def close(self) -> None:
        pass


def test_a_failed_scale_out_hands_the_watcher_its_vdus_again(mgr, vim, scaler):
    """An exit during PENDING_SCALE_OUT is ignored (the watcher drops it); every operation must
    end in ``_sync`` so the watcher re-adds the VDU and reports it: a failed scale out did not,
    and the VNF stayed ACTIVE with a dead VDU and no respawn."""
    rec = mgr.instantiate("s1", replace(scaler, vdus=(replace(scaler.vdus[0], image="nsh-forwarder"),)))
    assert rec.vdus[0].pid
    mgr._exits = watcher = _WatchedSets()
    vim.fail_create = {"*"}
    with pytest.raises(VimError, match="injected"):
        mgr.scale("s1", "SP1", "out")
    assert mgr.get("s1").status == S.ACTIVE
    assert watcher.synced and {(w.key, w.pid) for w in watcher.synced[-1]} == {(v.key, v.pid) for v in rec.vdus}
