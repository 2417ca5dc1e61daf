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
