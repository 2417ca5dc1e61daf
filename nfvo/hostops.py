"""Compute host failure and recovery on ``nfv up --hosts N`` (Masakari's host monitor + evacuation).

A host fails two ways: a drill (``nfv host fail HOST``: the supervisor is asked to stop the
host's ovs-vswitchd and ovsdb-server and keep them stopped, ``nfvo.computehosts.fence``), or for
real: its OVS stops answering (the VIM says down, or the supervisor reports its daemons not up)
for longer than ``grace`` (a daemon the supervisor restarts within it is no failure). Either way
the host is fenced and marked down in the VIM, so it leaves the switches chains render onto
(``nfvo.vnffg.sffs.vim_switches``: the port-less classifiers every overlay switch holds go with
it), its VDUs are rebuilt elsewhere (``VnfManager.fail_host``), and every chain is re-rendered:
DEGRADED (its switch disconnected) meanwhile, ACTIVE after. ``recover`` starts its OVS again,
purges what the evacuation left on its bridge and puts it back in the chains' switch set.
The first host carries the VIM's DHCP servers and probes (Neutron's network node): it is not
failed by this module.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nfvo.errors import FailedPrecondition, NotFound
from nfvo.supervision import STATUS_FILE, read_status
from vnfm.evacuation import EvacuationPlan

GRACE = 10.0           # seconds a host may not answer before it is evacuated
POLL = 1.0
FENCE_TIMEOUT = 15.0
DISCONNECT_TIMEOUT = 40.0   # the controller's echo timeout, past a state read of the dead switch (10 s)
OPERATOR = "failed by operator (nfv host fail)"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostActionResult:
    host: str
    plan: EvacuationPlan | None = None
    purged: tuple[str, ...] = ()
    seconds: float = 0.0


class HostOps:
    """``service``: the NFVO (its VNFM and VNFFGs); ``state_dir``: the stack's (the supervisor's
    fence markers and status file). ``start`` runs the failure detector."""

    def __init__(self, service: Any, state_dir: Path, sdn: Any = None, *, grace: float = GRACE) -> None:
        self.service, self.state_dir, self.grace, self.sdn = service, Path(state_dir), grace, sdn
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- operator actions ---------------------------------------------------------------------
    def fail(self, host: str, why: str = "") -> HostActionResult:
        from nfvo.computehosts import fence

        why = why or OPERATOR
        t0 = time.monotonic()
        with self._lock:
            hosts = self._hosts()
            self._check(host, hosts)
            fence(self.state_dir, host, why)
            self._wait_daemons(host, lambda state: state == "failed", "stopped")
            phases = [("fenced", time.monotonic())]
            if self.service.vnfm.mark_host_lost(host, why):   # its VDUs dead: the chains through them DEGRADED
                self._rerender(f"compute host {host} failed: {why}")
            phases.append(("VDUs dead", time.monotonic()))
            plan = self.service.vnfm.fail_host(host, why)   # down for the scheduler, evacuated
            phases.append(("evacuated", time.monotonic()))
            # the chains' re-render waits for the controller to drop the host's switch: until then
            # it reads the switch (no longer in the document) and fails (the chain ERROR a while)
            self._wait_connection(next(h for h in hosts if h.name == host).dpid, False)
            phases.append(("switch dropped", time.monotonic()))
            self._rerender(f"compute host {host} failed: {why}")
            phases.append(("chains re-rendered", time.monotonic()))
            log.warning("compute host %s failed (%s): %s", host, why,
                        ", ".join(f"{name} at {at - t0:.1f} s" for name, at in phases))
        return HostActionResult(host, plan, seconds=time.monotonic() - t0)

    def recover(self, host: str) -> HostActionResult:
        from nfvo.computehosts import unfence

        t0 = time.monotonic()
        with self._lock:
            hosts = self._hosts()
            self._check(host, hosts, hub_ok=True)
            unfence(self.state_dir, host)
            self._wait_daemons(host, lambda state: state == "up", "up")
            purged = self._purge(host)
            # back in the chains' switches (their port-less classifiers): once the controller has it
            self._wait_connection(next(h for h in hosts if h.name == host).dpid, True)
            self._since.pop(host, None)
            self._rerender(f"compute host {host} recovered")
        return HostActionResult(host, purged=purged, seconds=time.monotonic() - t0)

    # -- the detector -------------------------------------------------------------------------
    def start(self) -> "HostOps":
        self._thread = threading.Thread(target=self._watch, name="nfvo-hostmonitor", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _watch(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.check_once(time.monotonic())
            except Exception:  # noqa: BLE001 - the detector keeps watching
                log.exception("host failure detector")

    def check_once(self, now: float) -> list[str]:
        """Fail every host (not the first) down for longer than ``grace``; returns their names."""
        failed = []
        daemons = self._daemon_states()
        hosts = self._hosts()
        for h in hosts[1:]:
            if h.reason.startswith(OPERATOR) or h.name in _fenced(self.state_dir):
                continue          # failed already (its reason is ours)
            why = h.reason if not h.up else "; ".join(
                f"{n} {s}" for n, s in sorted(daemons.items()) if n.startswith(f"{h.name}/") and s != "up")
            if not why or self._failed_already(h):
                self._since.pop(h.name, None)
                continue
            first = self._since.setdefault(h.name, now)
            if now - first >= self.grace:
                log.warning("compute host %s down for %.0f s (%s): evacuating", h.name, now - first, why)
                self.fail(h.name, f"did not answer for {now - first:.0f} s: {why}")
                failed.append(h.name)
        return failed

    # -- internals ----------------------------------------------------------------------------
    def _hosts(self) -> tuple[Any, ...]:
        return tuple(self.service.vnfm.hosts())

    def _failed_already(self, h: Any) -> bool:
        return h.name in getattr(self.service.vnfm.vim, "failed", {})

    @staticmethod
    def _check(host: str, hosts: tuple[Any, ...], hub_ok: bool = False) -> None:
        names = [h.name for h in hosts]
        if host not in names:
            raise NotFound(f"no compute host {host!r} (hosts: {', '.join(names) or 'none'})", "name")
        if len(names) < 2:
            raise FailedPrecondition(f"compute host {host} is the VIM's only host: there is nowhere to evacuate to",
                                     "name")
        if host == names[0] and not hub_ok:
            raise FailedPrecondition(f"compute host {host} carries the VIM's DHCP servers and probes (the network "
                                     "node): it cannot be failed", "name")

    def _daemon_states(self) -> dict[str, str]:
        try:
            _, _, parts = read_status(json.loads((self.state_dir / STATUS_FILE).read_text()))
        except (OSError, ValueError):
            return {}
        return {c.name: c.state for c in parts}

    def _wait_daemons(self, host: str, ok: Any, what: str) -> None:
        deadline = time.monotonic() + FENCE_TIMEOUT
        while time.monotonic() < deadline:
            mine = {n: s for n, s in self._daemon_states().items() if n.startswith(f"{host}/")}
            if mine and all(ok(s) for s in mine.values()):
                return
            time.sleep(0.1)
        raise FailedPrecondition(f"compute host {host}: the supervisor did not report its OVS {what} within "
                                 f"{FENCE_TIMEOUT:.0f} s", "name")

    def _wait_connection(self, dpid: int, connected: bool) -> None:
        """Until the controller has (``connected``) or has dropped switch ``dpid``. Dropped: its
        echo timeout (a dead vswitchd's TCP connection is never closed, its br-phy tap carried
        the FIN); a chain rendered before would have the controller read a switch that never
        answers, and fail. Connected: a chain is refused while a switch it is on is not."""
        deadline = time.monotonic() + DISCONNECT_TIMEOUT
        while self.sdn is not None and time.monotonic() < deadline:
            try:
                if (dpid in self.sdn.connected()) == connected:
                    return
            except Exception:  # noqa: BLE001 - the controller restarting: ask again
                log.debug("controller state", exc_info=True)
            time.sleep(0.2)

    def _purge(self, host: str) -> tuple[str, ...]:
        """The VNFM's recover_host, retried while the VIM's OVSDB connection to the restarted
        ovsdb-server comes back."""
        deadline = time.monotonic() + FENCE_TIMEOUT
        while True:
            try:
                return tuple(self.service.vnfm.recover_host(host))
            except Exception:  # noqa: BLE001 - VimError while reconnecting
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def _rerender(self, why: str) -> None:
        names = [r.name for r in self.service.vnffgs.list()]
        if names:
            self.service.vnffgs.rerender(names, why)


def _fenced(state_dir: Path) -> dict[str, str]:
    from nfvo.computehosts import fenced_hosts

    return fenced_hosts(state_dir)
