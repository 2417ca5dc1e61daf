"""Compute host failure and recovery on ``nfv up --hosts N`` (Masakari's host monitor + evacuation).

A host fails two ways: a drill (``nfv host fail HOST``: the supervisor is asked to stop the
host's ovs-vswitchd and ovsdb-server and keep them stopped, ``nfvo.computehosts.fence``), or for
real: its OVS stops answering (the VIM says down, or the supervisor reports its daemons not up)
for longer than ``grace`` (a daemon the supervisor restarts within it is no failure). Either way
the host is fenced, the controller told to drop its switch (a dead vswitchd's connection would
linger until the echo timeout, every change touching the switch waiting for it), and the host is
marked down in the VIM, so it leaves the switches chains render onto
(``nfvo.vnffg.sffs.vim_switches``: the port-less classifiers every overlay switch holds go with
it), its VDUs are rebuilt elsewhere (``VnfManager.fail_host``), and every chain is re-rendered:
meanwhile a chain through the host is DEGRADED, or ERROR while each of its paths crosses the
dropped switch (nothing flows), ACTIVE after. ``recover`` starts its OVS again,
purges what the evacuation left on its bridge and puts it back in the chains' switch set.
The VIM's hub (first the first host: the VLs' tunnel star, DHCP servers and probes, Neutron's
network node) fails like any other: the VIM moves its role to the first host up before the
evacuation (``LocalVim.fail_site``), and a recovered former hub rejoins as a spoke. The last host
up is never failed nor removed: nothing would take its VDUs or the hub's role.

Hosts come and go (``nfv host add|remove``, :meth:`HostOps.add`, :meth:`HostOps.remove`): the
supervisor builds or removes the host (``nfvo.computehosts.request_rack_change``); an added host
joins the VIM (a site: the scheduler's zone of its name, the VLs' tunnels) only once its br-int is
connected to the controller, so it is never listed up before; then every chain is re-rendered (the
port-less classifiers cover it). A host leaves the VIM and the document before its OVS stops.
Either way a failure half-way undoes what was done.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.supervision import STATUS_FILE, read_status
from vnfm.evacuation import EvacuationPlan

GRACE = 10.0           # seconds a host may not answer before it is evacuated
POLL = 1.0
FENCE_TIMEOUT = 15.0
DISCONNECT_TIMEOUT = 40.0   # the controller's echo timeout (if it cannot be asked to drop the switch)
OPERATOR = "failed by operator (nfv host fail)"
REMOVING = "being removed (nfv host remove --evacuate)"
LEAVING = "being removed (nfv host remove)"
CONNECT_TIMEOUT = 30.0      # an added host's br-int to reach the controller
RACK_TIMEOUT = 90.0         # the supervisor to build or remove a host
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostActionResult:
    host: str
    plan: EvacuationPlan | None = None
    purged: tuple[str, ...] = ()
    seconds: float = 0.0
    removed: Any = None        # RemoveHost: the host as it was (a ComputeHostInfo)


class HostOps:
    """``service``: the NFVO (its VNFM and VNFFGs); ``state_dir``: the stack's (the supervisor's
    fence markers and status file). ``start`` runs the failure detector."""

    def __init__(self, service: Any, state_dir: Path, sdn: Any = None, *, grace: float = GRACE) -> None:
        self.service, self.state_dir, self.grace, self.sdn = service, Path(state_dir), grace, sdn
        self._lock = threading.Lock()
        self._since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._added: dict[str, Any] = {}     # OVSDB connections of the hosts added here (closed on remove)

    # -- operator actions ---------------------------------------------------------------------
    def fail(self, host: str, why: str = "") -> HostActionResult:
        from nfvo.computehosts import fence

        why = why or OPERATOR
        t0 = time.monotonic()
        with self._lock:
            hosts = self._hosts()
            self._check(host, hosts, failing=True)
            fence(self.state_dir, host, why)
            self._wait_daemons(host, lambda state: state == "failed", "stopped")
            phases = [("fenced", time.monotonic())]
            self._drop_switch(next(h for h in hosts if h.name == host).dpid)
            phases.append(("switch dropped", time.monotonic()))
            if self.service.vnfm.mark_host_lost(host, why):   # its VDUs dead: the chains through them DEGRADED
                self._rerender(f"compute host {host} failed: {why}")
            phases.append(("VDUs dead", time.monotonic()))
            plan = self.service.vnfm.fail_host(host, why)   # down for the scheduler, evacuated
            phases.append(("evacuated", time.monotonic()))
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
            self._check(host, hosts)
            unfence(self.state_dir, host)
            self._wait_daemons(host, lambda state: state == "up", "up")
            purged = self._purge(host)
            # back in the chains' switches (their port-less classifiers): once the controller has it
            self._wait_connection(next(h for h in hosts if h.name == host).dpid, True)
            self._since.pop(host, None)
            self._rerender(f"compute host {host} recovered")
        return HostActionResult(host, purged=purged, seconds=time.monotonic() - t0)

    def add(self, name: str = "") -> HostActionResult:
        """One more compute host (``name``, default the next ``compute<id>``), up in the VIM once
        its br-int is connected; every chain re-rendered onto it. InvalidArgument for a bad or
        taken name; on any failure after the supervisor built it, it is removed again."""
        from dataplane.underlay import PlanError
        from vnfm.scheduler import ANY_ZONE

        t0 = time.monotonic()
        with self._lock:
            rack = self._rack()
            if name == ANY_ZONE:
                raise InvalidArgument(f"compute host name {name!r} is the scheduler's zone for any host", "name")
            try:
                new = rack.with_host(name or None).hosts[-1]
            except PlanError as exc:
                raise InvalidArgument(str(exc), "name") from None
            try:
                self._change("add", new.name)
            except TimeoutError as exc:    # it may finish later: make sure it goes again
                self._undo_add(new.name)
                raise FailedPrecondition(f"compute host {new.name} could not be built: {exc}", "name") from None
            try:
                site = self._connect(new, rack)
                try:
                    self.service.vnfm.vim.add_site(site)
                except Exception:
                    self._added.pop(new.name).close()
                    raise
            except Exception as exc:
                self._undo_add(new.name)
                if isinstance(exc, (FailedPrecondition, InvalidArgument)):
                    raise
                raise FailedPrecondition(f"compute host {new.name} could not join the VIM: {exc}", "name") from exc
            self._rerender(f"compute host {new.name} added", always=True)
            log.warning("compute host %s added in %.1f s", new.name, time.monotonic() - t0)
        return HostActionResult(new.name, seconds=time.monotonic() - t0)

    def remove(self, host: str, evacuate: bool = False) -> HostActionResult:
        """``host`` out of the VIM and the chains' switches (the hub's role moves first), then its OVS
        stopped and everything of it removed. Refused for the last host up, and while it holds
        VDUs unless ``evacuate``: they are rebuilt on the other hosts first (as for a failed host)."""
        t0 = time.monotonic()
        with self._lock:
            hosts = self._hosts()
            names, racked = [h.name for h in hosts], [h.name for h in self._rack().hosts]
            if host not in names and host not in racked:
                raise NotFound(f"no compute host {host!r} (hosts: {', '.join(names) or 'none'})", "name")
            if host in names:
                self._check(host, hosts, failing=True)
            plan, was = None, next((h for h in hosts if h.name == host), None)
            if was is not None:
                held = self._vdus_on(host)
                if held and not evacuate:
                    raise FailedPrecondition(f"compute host {host} holds VDUs {', '.join(held)}: delete their VNFs, "
                                             f"or move them away first (nfv host remove {host} --evacuate)", "name")
                if held:
                    plan = self._evacuate(host)
                else:       # down for the scheduler: a VDU placed meanwhile makes remove_site refuse
                    self.service.vnfm.vim.failed[host] = LEAVING
                self._leave(host)
            answer = self._change("remove", host, strict=False)
            if answer:
                raise FailedPrecondition(f"compute host {host} left the VIM and the chains, but the supervisor could "
                                         f"not remove it: {answer}; nfv host remove {host} again finishes it", "name")
            self._since.pop(host, None)
            log.warning("compute host %s removed in %.1f s", host, time.monotonic() - t0)
        return HostActionResult(host, plan, seconds=time.monotonic() - t0, removed=was)

    def _rack(self) -> Any:
        from nfvo.allinone import stack_prefix
        from nfvo.computehosts import stack_plan

        return stack_plan(self.state_dir, stack_prefix(self.state_dir), len(self._hosts()))

    def _change(self, action: str, host: str, strict: bool = True) -> str:
        """The supervisor's add or remove of ``host``; its error ("" = done), raised if ``strict``
        (FailedPrecondition; TimeoutError if it did not answer)."""
        from nfvo import computehosts

        try:
            error = computehosts.request_rack_change(self.state_dir, action, host, RACK_TIMEOUT).error
        except TimeoutError as exc:
            if strict:
                raise
            error = str(exc)
        if error and strict:
            raise FailedPrecondition(f"compute host {host}: the supervisor could not {action} it: {error}", "name")
        return error

    def _connect(self, new: Any, rack: Any) -> Any:
        """The new host's site: its OVSDB opened, its br-int pointed at the controller and connected."""
        from dataplane.ovsdb import Ovsdb
        from dataplane.underlay import INTEGRATION_BRIDGE
        from nfvo.computehosts import host_ovsdb, openflow_address
        from vnfm.vim.sites import site_of

        remote = host_ovsdb(self.state_dir, new.name)
        db = Ovsdb(remote)
        self._added[new.name] = db
        db.set_controller(INTEGRATION_BRIDGE, f"tcp:{openflow_address(rack)}")
        if not self._wait_connection(new.datapath_id, True, CONNECT_TIMEOUT):
            raise FailedPrecondition(f"compute host {new.name}: its br-int did not connect to the controller at "
                                     f"{openflow_address(rack)} within {CONNECT_TIMEOUT:.0f} s", "name")
        return site_of(new, db, ovsdb=remote, underlay_mtu=rack.mtu)

    def _undo_add(self, host: str) -> None:
        db = self._added.pop(host, None)
        if db is not None:
            db.close()
        error = self._change("remove", host, strict=False)
        if error:
            log.error("compute host %s: rolling back its add failed: %s", host, error)

    def _vdus_on(self, host: str) -> list[str]:
        """``<vnf>/<vdu>[#instance]`` of each server on ``host`` (a server no VNF knows: its key)."""
        names = {d.key: f"{v.name}/{d.name}" + (f"#{d.instance}" if d.instance else "")
                 for v in self.service.vnfm.list() for d in v.vdus if d.key}
        held = next((h.servers for h in self._hosts() if h.name == host), ())
        return [names.get(k, k) for k in held]

    def _evacuate(self, host: str) -> EvacuationPlan:
        """Rebuild ``host``'s VDUs elsewhere (it is down for the scheduler meanwhile); what the
        rebuilds left on its bridge goes. If some stay, the host is back up and the removal refused."""
        vnfm = self.service.vnfm
        plan = vnfm.fail_host(host, REMOVING)
        vnfm.vim.purge_host(host)
        left = self._vdus_on(host)
        if left:
            vnfm.vim.failed.pop(host, None)
            self._rerender(f"compute host {host} stays: {', '.join(left)} could not move")
            raise FailedPrecondition(f"compute host {host}: VDUs {', '.join(left)} could not be moved away "
                                     "(see their VNFs' events); the host stays", "name")
        return plan

    def _leave(self, host: str) -> None:
        """Out of the VIM (the hub's tunnels to it go), the document re-rendered without its switch."""
        vim = self.service.vnfm.vim
        site = vim.site(host)
        try:
            vim.remove_site(host)
        except Exception as exc:  # noqa: BLE001 - VimError: a server appeared meanwhile, an OVSDB error
            vim.failed.pop(host, None)
            raise FailedPrecondition(f"compute host {host} cannot leave the VIM: {exc}", "name") from exc
        self._rerender(f"compute host {host} removed", always=True)
        db = self._added.pop(host, None) or site.db
        try:
            db.close()
        except Exception:  # noqa: BLE001 - closing a connection to a host about to go
            log.debug("closing %s's OVSDB", host, exc_info=True)

    # -- the detector -------------------------------------------------------------------------
    def start(self) -> "HostOps":
        self._thread = threading.Thread(target=self._watch, name="nfvo-hostmonitor", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for db in self._added.values():
            db.close()
        self._added.clear()

    def _watch(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.check_once(time.monotonic())
            except Exception:  # noqa: BLE001 - the detector keeps watching
                log.exception("host failure detector")

    def check_once(self, now: float) -> list[str]:
        """Fail every host down for longer than ``grace`` (the hub too: its role moves), unless no
        other host is up (nowhere to go); returns their names."""
        failed = []
        daemons = self._daemon_states()
        hosts = self._hosts()
        for h in hosts:
            if h.reason.startswith(OPERATOR) or h.name in _fenced(self.state_dir):
                continue          # failed already (its reason is ours)
            why = h.reason if not h.up else "; ".join(
                f"{n} {s}" for n, s in sorted(daemons.items()) if n.startswith(f"{h.name}/") and s != "up")
            if not why or self._failed_already(h):
                self._since.pop(h.name, None)
                continue
            first = self._since.setdefault(h.name, now)
            if now - first >= self.grace and any(o.up for o in hosts if o.name != h.name):
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
    def _check(host: str, hosts: tuple[Any, ...], failing: bool = False) -> None:
        """NotFound for an unknown host; ``failing`` (fail, remove): FailedPrecondition unless
        another host is up, to take the VDUs and, for the hub, its role (DHCP, probes, tunnels)."""
        names = [h.name for h in hosts]
        if host not in names:
            raise NotFound(f"no compute host {host!r} (hosts: {', '.join(names) or 'none'})", "name")
        if len(names) < 2:
            raise FailedPrecondition(f"compute host {host} is the VIM's only host: there is nowhere to evacuate to",
                                     "name")
        others = [h for h in hosts if h.name != host]
        if failing and not any(h.up for h in others):
            why = ", ".join(f"{h.name}: {h.reason or 'down'}" for h in others)
            raise FailedPrecondition(
                f"compute host {host} is the last one up ({why}): "
                "there is nowhere to evacuate its VDUs to, nor to move the VIM's hub (DHCP, probes, the virtual "
                "links' tunnels)", "name")

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

    def _drop_switch(self, dpid: int) -> None:
        """The controller drops the fenced host's switch at once: a dead vswitchd's TCP connection
        is never closed (its br-phy tap carried the FIN), and until the controller's echo timeout
        every change touching the switch (a re-render leaving it out: our flows removed from it)
        would wait for it and fail. If the controller cannot be asked, that timeout it is."""
        if self.sdn is None:
            return
        try:
            self.sdn.disconnect(dpid)
        except Exception:  # noqa: BLE001 - the controller restarting: its echo timeout drops it
            log.warning("the controller could not be asked to drop switch %#x: waiting for it to", dpid,
                        exc_info=True)
        self._wait_connection(dpid, False)

    def _wait_connection(self, dpid: int, connected: bool, timeout: float = DISCONNECT_TIMEOUT) -> bool:
        """Until the controller has (``connected``) or has dropped switch ``dpid`` (``_drop_switch``).
        Connected: a chain is refused while a switch it is on is not."""
        deadline = time.monotonic() + timeout
        while self.sdn is not None and time.monotonic() < deadline:
            try:
                if (dpid in self.sdn.connected()) == connected:
                    return True
            except Exception:  # noqa: BLE001 - the controller restarting: ask again
                log.debug("controller state", exc_info=True)
            time.sleep(0.2)
        return self.sdn is None

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

    def _rerender(self, why: str, always: bool = False) -> None:
        """Every chain again; ``always``: also with none (the document's switches changed)."""
        names = [r.name for r in self.service.vnffgs.list()]
        if names or always:
            self.service.vnffgs.rerender(names, why)


def _fenced(state_dir: Path) -> dict[str, str]:
    from nfvo.computehosts import fenced_hosts

    return fenced_hosts(state_dir)
