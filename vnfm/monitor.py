"""VDU monitoring (Tacker's monitoring_policy): which VDUs to watch, how a check result turns
into a verdict (pure), and the watcher threads that run the checks (shell).

A check fails when the VDU's program has exited (the VIM's exit watcher, ``vnfm.vim.exitwatch``,
usually tells the manager first) or, for ping/http_ping, none of ``count``
probes of its management address (else first address) answered; ``retry`` failed checks in a
row make a "failed" verdict, the next good check after that a "recovered" one. A check the VIM's
probes cannot make (``ProbesUnavailable``: the hub they run on failed) counts neither way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from vnfm.model import Network, VnfRecord, Status
from vnfm.spec import MonitorSpec, VnfSpec
from vnfm.vim.base import ProbesUnavailable, Vim

log = logging.getLogger(__name__)
WATCHED = (Status.ACTIVE, Status.DEAD)


@dataclass(frozen=True)
class Target:
    vnf_id: str
    vdu: str
    instance: int
    key: str
    network: Network | None
    ip: str
    spec: MonitorSpec
    pid: int | None = None   # the program checked: a heal (new pid) makes a new target, delay included


@dataclass(frozen=True)
class CheckState:
    failures: int = 0
    failed: bool = False


def monitor_targets(items: Iterable[tuple[VnfRecord, VnfSpec]],
                    networks: Mapping[str, Network]) -> set[Target]:
    out = set()
    for rec, spec in items:
        if rec.status not in WATCHED:
            continue
        for vdu in rec.vdus:
            mon = spec.vdu(vdu.name).monitor
            if mon is None:
                continue
            cps = sorted((c for c in vdu.cps if c.ip), key=lambda c: (not c.management, c.order))
            ip = cps[0].ip if cps and mon.driver in ("ping", "http_ping") else ""
            net = networks.get(cps[0].vl) if ip else None
            out.add(Target(rec.id, vdu.name, vdu.instance, vdu.key, net, ip, mon, vdu.pid))
    return out


def probe_networks(targets: Iterable[Target]) -> list[Network]:
    return sorted({t.network for t in targets if t.network is not None}, key=lambda n: n.vlan)


def evaluate(spec: MonitorSpec, state: CheckState, ok: bool) -> tuple[CheckState, str | None]:
    """(next state, "failed" | "recovered" | None)."""
    if ok:
        return CheckState(0, False), ("recovered" if state.failed else None)
    failures = state.failures + 1
    if not state.failed and failures >= spec.retry:
        return CheckState(failures, True), "failed"
    return CheckState(failures, state.failed), None


def check(vim: Vim, t: Target, stop: threading.Event) -> tuple[bool | None, str]:
    """(answered, why not); None: the VIM's probes cannot tell now (no verdict either way)."""
    if not vim.alive(t.key):
        return False, f"VDU {t.vdu}#{t.instance} process is not running"
    if not t.ip or t.network is None:
        return True, ""
    for n in range(t.spec.count):
        last = n == t.spec.count - 1
        wait = t.spec.timeout if last else min(t.spec.interval, t.spec.timeout)
        try:
            if vim.probe(t.spec.driver, t.network, t.ip, port=t.spec.port, timeout=wait):
                return True, ""
        except ProbesUnavailable as exc:
            return None, str(exc)
        if stop.is_set():
            return True, ""
    return False, (f"VDU {t.vdu}#{t.instance}: {t.spec.driver} {t.ip.split('/')[0]} "
                   f"unanswered ({t.spec.count} tries)")


Verdict = Callable[[Target, str, str], bool | None]  # False: not taken now (the VNF is busy): say it again


class Monitor:
    """One watcher thread per target; ``sync`` starts/stops them to match the wanted set."""

    def __init__(self, vim: Vim, on_verdict: Verdict) -> None:
        self.vim, self.on_verdict = vim, on_verdict
        self._threads: dict[Target, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    def sync(self, targets: set[Target]) -> None:
        with self._lock:
            for t in set(self._threads) - targets:
                self._threads.pop(t)[1].set()   # no join: the caller may be that very thread
            for t in targets - set(self._threads):
                stop = threading.Event()
                th = threading.Thread(target=self._run, args=(t, stop), daemon=True,
                                      name=f"vnfm-mon-{t.key}")
                self._threads[t] = (th, stop)
                th.start()

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            threads = list(self._threads.values())
            self._threads.clear()
        for _, stop in threads:
            stop.set()
        for th, _ in threads:
            if th is not threading.current_thread():
                th.join(timeout)

    def _run(self, t: Target, stop: threading.Event) -> None:
        if stop.wait(t.spec.delay):
            return
        state = CheckState()
        while not stop.is_set():
            try:
                ok, why = check(self.vim, t, stop)
            except Exception as exc:   # a probe bug must not kill the watcher silently
                log.exception("monitor check of %s failed", t.key)
                ok, why = False, f"check error: {exc}"
            if stop.is_set():
                return
            if ok is None:   # e.g. the hub the probes run on failed: they come back when its role moved
                log.info("monitor of %s: no verdict: %s", t.key, why)
                stop.wait(t.spec.interval)
                continue
            state, verdict = evaluate(t.spec, state, ok)
            if verdict:
                try:
                    taken = self.on_verdict(t, verdict, why)
                except Exception:
                    log.exception("monitor action for %s failed", t.key)
                    taken = True
                if taken is False and verdict == "failed":  # a heal or scale was running: the next
                    state = CheckState(state.failures, False)  # failed check delivers it again
            stop.wait(t.spec.interval)
