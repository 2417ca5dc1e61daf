"""The exit watcher reports a watched program's exit at once (pidfd + epoll), once, and never
for a program it stopped watching; one found gone when added is reported too."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

import pytest

from vnfm.model import Status as S, VduRecord, VnfRecord
from vnfm.monitor import monitor_targets
from vnfm.vim.exitwatch import ExitWatcher, Watched, watched_vdus


@pytest.fixture
def sleepers():
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        procs.append(subprocess.Popen(["sleep", "30"]))
        return procs[-1]
    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_exit_reported_within_milliseconds_and_once(sleepers):
    got: queue.Queue[tuple[Watched, float]] = queue.Queue()
    watcher = ExitWatcher(lambda key: True, lambda w: got.put((w, time.monotonic())))
    try:
        a, b = sleepers(), sleepers()
        wa, wb = Watched("v", "VDU1", 0, "k0", a.pid), Watched("v", "VDU1", 1, "k1", b.pid)
        watcher.sync({wa, wb})
        assert watcher.watching() == {wa, wb}
        t0 = time.monotonic()
        a.kill()
        item, at = got.get(timeout=2)
        assert item == wa and at - t0 < 0.1, at - t0
        assert watcher.watching() == {wb}
        watcher.sync({wb})   # b no longer wanted: its exit is nobody's business
        watcher.sync(set())
        b.kill()
        with pytest.raises(queue.Empty):
            got.get(timeout=0.3)
    finally:
        watcher.close()


def test_a_program_gone_or_not_the_vims_is_reported_when_added(sleepers):
    got: queue.Queue[Watched] = queue.Queue()
    p = sleepers()
    watcher = ExitWatcher(lambda key: key != "reused", got.put)
    try:
        reused = Watched("v", "VDU1", 0, "reused", p.pid)  # the pid runs, but the VIM says it is not the VDU's
        watcher.sync({reused})
        assert got.get(timeout=2) == reused
        done = subprocess.Popen(["true"])
        done.wait()
        gone = Watched("v", "VDU1", 1, "gone", done.pid)
        watcher.sync({gone})
        assert got.get(timeout=2) == gone
    finally:
        watcher.close()


def test_watched_vdus_are_live_programs_of_serving_vnfs():
    def vdu(i: int, pid: int | None, dead: bool = False) -> VduRecord:
        return VduRecord("VDU1", i, f"k{i}", "img", pid, (), None, key=f"k{i}", dead=dead)
    rec = VnfRecord("id", "fw", "d", "ACTIVE", "", (vdu(0, 10), vdu(1, 11, dead=True), vdu(2, None)), 0.0, None)
    assert watched_vdus([rec]) == {Watched("id", "VDU1", 0, "k0", 10)}
    healing = VnfRecord("id2", "fw2", "d", "PENDING_HEAL", "", (vdu(0, 12),), 0.0, None)
    assert watched_vdus([healing]) == set()


# ------------------------------------------------------------------------------- the manager's hook
def test_an_exit_marks_the_vdu_dead_at_once_and_respawns_in_a_thread_of_its_own(mgr, vim, firewall):
    events = []
    mgr.subscribe(events.append)
    rec = mgr.instantiate("fw1", firewall)   # monitoring_policy: ping, respawn
    (vdu,) = rec.vdus
    (target,) = monitor_targets([(rec, mgr._vnfs[rec.id].spec)], mgr.networks())
    vim.kill(vdu.key)
    mgr._on_exit(Watched(rec.id, vdu.name, vdu.instance, vdu.key, vdu.pid))
    dead = next(e for e in events if e.new == S.DEAD)
    assert dead.old == S.ACTIVE and "process exited" in dead.reason
    deadline = time.monotonic() + 5
    while mgr.get("fw1").status != S.ACTIVE or mgr.get("fw1").vdus[0].pid == vdu.pid:
        assert time.monotonic() < deadline, [(e.old, e.new) for e in events]
        time.sleep(0.01)
    healed = mgr.get("fw1").vdus[0]
    assert not healed.dead and vim.alive(healed.key)
    mgr._on_verdict(target, "failed", "process gone")   # the monitor's late word on the old program
    mgr._on_exit(Watched(rec.id, vdu.name, vdu.instance, vdu.key, vdu.pid))   # and the watcher's, again
    assert mgr.get("fw1").status == S.ACTIVE and mgr.get("fw1").vdus[0].pid == healed.pid
    assert [(e.old, e.new) for e in events][-3:] == [(S.ACTIVE, S.DEAD), (S.DEAD, S.PENDING_HEAL),
                                                     (S.PENDING_HEAL, S.ACTIVE)]


def test_an_exit_is_marked_while_another_operation_holds_the_managers_lock(mgr, vim, firewall):
    rec = mgr.instantiate("fw1", firewall)
    (vdu,) = rec.vdus
    held, release = threading.Event(), threading.Event()

    def long_operation() -> None:   # e.g. another VNF's instantiate or heal: seconds
        with mgr._lock:
            held.set()
            release.wait(10)
    other = threading.Thread(target=long_operation)
    other.start()
    try:
        assert held.wait(5)
        vim.kill(vdu.key)
        t0 = time.monotonic()
        mgr._on_exit(Watched(rec.id, vdu.name, vdu.instance, vdu.key, vdu.pid))
        assert time.monotonic() - t0 < 1 and mgr.get("fw1").status == S.DEAD and mgr.get("fw1").vdus[0].dead
    finally:
        release.set()
        other.join()
    deadline = time.monotonic() + 5   # then the respawn, once the lock is free
    while mgr.get("fw1").status != S.ACTIVE:
        assert time.monotonic() < deadline
        time.sleep(0.01)
