"""One thread per switch: converge its installed flows on the latest desired ones (OVN ofctrl style).

Why a thread per switch: a slow or frozen switch must hold up only itself. The controller hands
each worker a ``Target`` (the flows of one document generation on the ports they were derived
on) and returns; the worker diffs what it knows the switch holds against the latest target and
pushes the difference as one bundle + barrier (``SwitchDriver.apply``). A target handed while an
older one is still in flight simply replaces it: the next push goes straight to the newest.

Every hand-over gets a sequence number; a ``Ticket`` for it is resolved when that target or a
later one is installed (success) or an attempt at it or a later one failed. What the switch is
known to hold is published as an immutable ``WorkerView`` (acknowledged generation, installed
flows, last error), read without any lock. After a failure the installed state counts as
unknown: the worker reads it back (``read_state``) before the next attempt, and retries with a
back-off while the switch is connected; a (re)connect also reads back first, so a restarted
controller converges without flushing.

One refused flow refuses only its path: OVS rejects a whole bundle for one bad flow, so when the
error names the flows (``ApplyError.refused``), the worker leaves their paths out (keeping what
it knows is installed of them, else their classifiers dropping: fail closed) and sends the rest
again at once. A full table that refuses a shared flow (pipeline, SF port) makes one path give
way, the one the switch did not hold yet first. A refused path stays out while its flows are the
same; it is tried again with the back-off, on a reconnect, or when it changes. A change whose
own flows are refused still fails its ticket (the caller rolls it back); older refusals do not.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Mapping

from sdn.driver import ApplyError, SwitchDriver
from sdn.gcpause import gc_paused
from sdn.openflow import Flow, GroupEntry, SwitchState
from sdn.pipeline import CLASSIFY
from sdn.render import Owned, merge
from sdn.sync import Plan, plan_changes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """What one switch should hold of ours: the flows of document ``generation`` on ``ports``."""

    generation: int
    ports: Mapping[str, int]
    owned: Owned
    down: Mapping[str, str] = field(default_factory=dict)  # path -> why it is left out (sdn.usable)
    degraded: Mapping[str, str] = field(default_factory=dict)  # path -> what of it is left out


@dataclass(frozen=True)
class WorkerView:
    """One switch's convergence as last known: immutable, so status() needs no lock."""

    acked: int = 0  # the generation whose flows the switch was last seen to hold in full
    installed: Owned = field(default_factory=dict)
    error: str = ""
    refused: Mapping[str, str] = field(default_factory=dict)  # owner -> the switch's refusal (left out)

    @cached_property
    def counts(self) -> tuple[int, int]:
        state = merge(self.installed)
        return len(state.flows), len(state.groups)


class Ticket:
    """Resolved once the worker installed its target or a later one (``error`` empty), or failed."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.error = ""
        self.changes = 0  # flow/group changes the resolving push sent
        self._done = threading.Event()

    def resolve(self, error: str, changes: int) -> None:
        self.error, self.changes = error, changes
        self._done.set()

    def wait(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)


def same_owned(a: Owned, b: Owned) -> bool:
    """Equal desired states, cheaply: memoised parts compare by identity first."""
    return a.keys() == b.keys() and all(a[k] is b[k] or a[k] == b[k] for k in a)


def plan_between(before: Owned, after: Owned) -> Plan:
    """Diff only the owners whose part changed (memoised parts compare by identity first)."""
    changed = [k for k, part in after.items() if before.get(k) is not part and before.get(k) != part]
    changed += before.keys() - after.keys()
    if not changed:
        return Plan()
    old = merge({k: before[k] for k in changed if k in before})
    new = merge({k: after[k] for k in changed if k in after})
    return plan_changes(old, new)


class SwitchWorker:
    """Owns one switch's installed state; the only thread that talks to that switch."""

    def __init__(self, dpid: int, driver: SwitchDriver, *, timeout: float,
                 refresh: Callable[[int], None], retry: float = 1.0, max_retry: float = 30.0) -> None:
        self.dpid = dpid
        self._driver, self._timeout, self._refresh = driver, timeout, refresh
        self._retry_min, self._retry_max = retry, max_retry
        self._retry = retry
        self._cond = threading.Condition()
        self._target: Target | None = None
        self._seq = 0  # of the latest target handed over
        self._attempted = 0  # the latest target seq an attempt finished for (success or not)
        self._synced = -1  # the target seq the switch holds in full (-1: none known)
        self._read = True  # installed state unknown: read it back before diffing
        self._refresh_wanted = False  # ports changed or switch (re)connected: re-derive the target
        self._connected = True
        self._failed = False
        self._busy = False
        self._stopping = False
        self._tickets: list[Ticket] = []
        self._installed: Owned | None = None  # worker thread only
        self._refused: dict[str, tuple[SwitchState, str]] = {}  # owner -> (its refused part, why); worker thread
        self._retry_refused = False  # the back-off ran out: try the refused owners again
        self.view = WorkerView()
        self._thread = threading.Thread(target=self._run, name=f"sfc-switch-{dpid:#x}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ called by the controller
    @property
    def target(self) -> Target | None:
        return self._target

    def submit(self, target: Target) -> Ticket | None:
        """Converge on ``target`` from now on. None when its flows equal the previous target's
        (nothing to wait for: acknowledged at once if the switch is in sync, else with the push
        already under way); otherwise a Ticket to wait on."""
        with self._cond:
            unchanged = self._target is not None and same_owned(self._target.owned, target.owned)
            self._seq += 1
            self._target = target
            if unchanged and self._in_sync(self._seq - 1):
                self._synced = self._attempted = self._seq
                self.view = replace(self.view, acked=target.generation, error="")
                return None
            self._cond.notify_all()
            if unchanged:
                return None
            ticket = Ticket(self._seq)
            self._tickets.append(ticket)
            return ticket

    def notify(self, kind: str) -> None:
        """A switch event: "connected", "disconnected" or "ports"."""
        with self._cond:
            if kind == "disconnected":
                self._connected = False
                return
            if kind == "connected":
                self._connected, self._read = True, True
                self._retry = self._retry_min
                self._retry_refused = True  # maybe another switch, or one with room again
            self._refresh_wanted = True
            self._cond.notify_all()

    def report(self, error: str) -> None:
        """Record a problem found while deriving this switch's target (e.g. a missing port)."""
        with self._cond:
            self.view = replace(self.view, error=error)

    def settle(self, timeout: float) -> bool:
        """Wait until nothing is pending (the latest target attempted, events handled)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stopping or not (self._busy or self._pending()), timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # ------------------------------------------------------------ the worker thread
    def _in_sync(self, seq: int) -> bool:
        return (self._synced == seq and not self._busy and not self._read and not self._refresh_wanted)

    def _pending(self) -> bool:
        return self._refresh_wanted or (self._target is not None and self._attempted != self._seq)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._pending():
                    if (self._failed or self._refused) and self._connected:
                        if not self._cond.wait(self._retry):  # retry the latest target (reading first after a failure)
                            self._retry = min(self._retry * 2, self._retry_max)
                            self._attempted, self._read = -1, self._read or self._failed
                            self._retry_refused = True
                    else:
                        self._cond.wait()
                if self._stopping:
                    for ticket in self._tickets:
                        ticket.resolve(f"switch {self.dpid:#x}: controller stopped", 0)
                    self._tickets.clear()
                    return
                refresh, self._refresh_wanted = self._refresh_wanted, False
                self._busy = refresh
            if refresh:
                try:
                    self._refresh(self.dpid)  # the controller derives and submits a new target
                except Exception:
                    log.exception("switch %#x: deriving its flows failed", self.dpid)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                continue
            with self._cond:
                if self._target is None or self._attempted == self._seq:
                    continue
                target, seq, read = self._target, self._seq, self._read
                self._read, self._busy = False, True
            self._attempt(target, seq, read)

    def _attempt(self, target: Target, seq: int, read: bool) -> None:
        error, changes, fresh = "", 0, ""
        try:
            if read or self._installed is None:
                with gc_paused():  # bulk: tens of thousands of flows read back (sdn.gcpause)
                    self._installed = {"switch": self._driver.read_state(self.dpid, self._timeout)}
            with self._cond:
                retry, self._retry_refused = self._retry_refused, False
            known = dict(self._refused)  # refused before: not this change's fault
            if retry:
                self._refused.clear()
            wanted, changes = self._push(target.owned)
            fresh = "; ".join(why for owner, (part, why) in self._refused.items()
                              if owner not in known or known[owner][0] != part)
            self._installed = wanted
        except ApplyError as exc:
            error = str(exc)
        except Exception as exc:  # a driver bug must not kill the worker
            log.exception("switch %#x: push failed", self.dpid)
            error = f"switch {self.dpid:#x}: {exc}"
        refused = {owner: why for owner, (_, why) in self._refused.items()}
        with self._cond:
            self._busy = False
            self._attempted = max(self._attempted, seq)
            if error:
                self._installed = None  # a timed-out bundle may or may not have landed: read back
                self._read, self._failed = True, True
                self.view = WorkerView(self.view.acked, self.view.installed, error, refused)
                log.warning("switch %#x not converged on generation %d: %s", self.dpid, target.generation, error)
            else:
                self._synced, self._failed = seq, False
                if not refused:
                    self._retry = self._retry_min
                self.view = WorkerView(target.generation, self._installed or {}, "", refused)
            done = [t for t in self._tickets if t.seq <= seq]
            self._tickets = [t for t in self._tickets if t.seq > seq]
            for ticket in done:
                ticket.resolve(error or fresh, changes)
            self._cond.notify_all()

    def _push(self, owned: Owned) -> tuple[Owned, int]:
        """Install ``owned`` but what the switch refuses (recorded in ``_refused``): (what it then
        holds, changes sent). Raises ApplyError for what names no path of ours."""
        installed = self._installed or {}
        wanted = dict(owned)
        for owner, (part, _) in list(self._refused.items()):
            if owner in wanted and (wanted[owner] is part or wanted[owner] == part):
                wanted[owner] = _stand_in(installed, owner, part)
            else:
                del self._refused[owner]  # changed (or gone): try it again
        for _ in range(len(wanted) + 1):
            with gc_paused():
                plan = plan_between(installed, wanted)
            try:
                if not plan.empty:
                    self._driver.apply(self.dpid, plan, self._timeout)
                return wanted, plan.size
            except ApplyError as exc:
                owners, why = _owners_of(exc.refused, wanted), str(exc)
                if exc.table_full and any(not o.startswith("path:") for o in owners):
                    owners = _make_room(exc.refused, plan, wanted, installed)  # shared flows first: a path gives way
                    why = f"left out to make room: {why}"
                if not owners or any(not o.startswith("path:") for o in owners):
                    raise
                for owner in owners:
                    if owner in self._refused:  # its stand-in was refused too: nothing of it
                        wanted.pop(owner, None)
                        continue
                    self._refused[owner] = (owned[owner], why)
                    wanted[owner] = _stand_in(installed, owner, owned[owner])
                log.warning("switch %#x: left out %s: %s", self.dpid, ", ".join(sorted(owners)), exc)
        raise ApplyError(f"switch {self.dpid:#x}: refusals did not end")  # pragma: no cover - each round drops one


def _stand_in(installed: Owned, owner: str, part: SwitchState) -> SwitchState:
    """What stands in for a refused part: the version the switch holds (when known by owner),
    else its classifiers dropping what they match (fail closed: nothing bypasses the path's SFs)."""
    if owner in installed:
        return installed[owner]
    return SwitchState(frozenset(replace(f, actions=(), goto_table=None) for f in part.flows if f.table == CLASSIFY))


def _make_room(refused: tuple[Flow | GroupEntry, ...], plan: Plan, wanted: Owned, installed: Owned) -> set[str]:
    """A table is full and a shared flow (pipeline, SF port) did not fit: a path this plan adds
    flows to that table for gives way, one the switch did not hold before first (the change that
    did not fit, rather than a chain that was running), the last by name; empty if there is none."""
    tables = {f.table for f in refused if isinstance(f, Flow)}
    adding = {f for f in plan.add_flows if f.table in tables}
    paths = [k for k, part in wanted.items() if k.startswith("path:") and not adding.isdisjoint(part.flows)]
    return {max(paths, key=lambda k: (k not in installed, k))} if paths else set()


def _owners_of(refused: tuple[Flow | GroupEntry, ...], wanted: Owned) -> set[str]:
    """The owners whose parts hold every refused flow or group; empty if any is nobody's."""
    owners: set[str] = set()
    for item in refused:
        owner = next((k for k, part in wanted.items()
                      if item in (part.flows if isinstance(item, Flow) else part.groups)), None)
        if owner is None:
            return set()
        owners.add(owner)
    return owners
