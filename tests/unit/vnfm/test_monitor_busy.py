"""A failed verdict the VNFM could not take (the VNF was busy healing or scaling) is said again."""

from __future__ import annotations

import threading

from vnfm.monitor import Monitor, Target
from vnfm.spec import MonitorSpec

SPEC = MonitorSpec("ping", "respawn", delay=0, count=1, interval=0.01, timeout=0.01, retry=1, port=0)


class DeadVim:
    def alive(self, key: str) -> bool:
        return False   # the VDU's process is gone: every check fails


def test_a_verdict_not_taken_is_delivered_again_and_a_taken_one_is_not():
    calls: list[str] = []
    done = threading.Event()

    def on_verdict(t: Target, verdict: str, why: str) -> bool:
        calls.append(verdict)
        if len(calls) == 3:
            done.set()
        return len(calls) >= 3   # busy twice, then taken

    monitor = Monitor(DeadVim(), on_verdict)  # type: ignore[arg-type]
    monitor.sync({Target("v", "VDU1", 0, "k", None, "", SPEC, pid=1)})
    try:
        assert done.wait(5)
        threading.Event().wait(0.2)  # many more failed checks: no verdict after the taken one
        assert calls == ["failed", "failed", "failed"]
    finally:
        monitor.close()


class HubDownVim:
    """The VDU runs; the probes' host (the VIM's hub) is down until ``moved`` is set, then they answer."""

    def __init__(self) -> None:
        self.moved = threading.Event()
        self.probed = 0

    def alive(self, key: str) -> bool:
        return True

    def probe(self, kind, network, ip, *, port=80, timeout=1.0) -> bool:
        from vnfm.vim.base import ProbesUnavailable

        self.probed += 1
        if not self.moved.is_set():
            raise ProbesUnavailable("the probes' host compute1 is down: failed by operator")
        return True


def test_no_verdict_while_the_probes_cannot_tell_and_none_when_they_answer_again():
    """A failed hub takes the probes down with it until its role moves: that says nothing of the
    VDUs, so no "failed" verdict (a respawn of every monitored VDU) comes of it."""
    from vnfm.model import Network

    vim, calls = HubDownVim(), []
    monitor = Monitor(vim, lambda t, verdict, why: calls.append(verdict) or True)  # type: ignore[arg-type]
    monitor.sync({Target("v", "VDU1", 0, "k", Network("net", 100, "10.0.0.0/24"), "10.0.0.5/24", SPEC, pid=1)})
    try:
        threading.Event().wait(0.3)
        assert vim.probed > 3 and calls == []
        vim.moved.set()
        threading.Event().wait(0.2)
        assert calls == []
    finally:
        monitor.close()
