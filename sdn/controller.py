"""The controller's core: holds the desired document and keeps every switch converged on it.

Level-triggered: a new document, a switch connecting, a port change all lead to the same
thing — re-derive the switch's desired flows and push only the difference. A switch that
(re)connects is read first, so a restarted controller or switch converges without flushing
live chains. No OpenFlow or gRPC here: switches are reached through ``SwitchDriver``.

Each switch converges on its own worker thread (sdn.worker), so one slow or dead switch holds
up neither other switches' changes nor status(): the controller lock only covers deriving the
flows and handing them over. Rendering memos live in this controller's FlowCache, not in modules.
A restart takes the flows its state file holds for the same document on the same ports instead
of rendering them again (sdn.state: written by this very code, else checked and rendered anew);
the switch is still read back and diffed against them.

One broken thing breaks one thing: a switch carries what it can (sdn.usable): a path whose SF
lacks its port is left out there (failing closed) and the rest converges; a flow the switch refuses
takes out only its path (sdn.worker). ``path_status()`` says, per path, whether its switch holds it
as desired now (ACTIVE), in part (DEGRADED), not yet (PENDING) or not at all (DOWN), and why.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from sdn.document import DocumentError, ServiceFunction, ServicePath, SfcDocument, with_paths
from sdn.driver import ApplyError, SwitchDriver, SwitchEvent, SwitchInfo
from sdn.pathstatus import PathState, PathStatus
from sdn.probes import ProbeKeeper
from sdn.rebalance import rebalance
from sdn.render import FlowCache, Owned, compute_owned_states, update_owned_states
from sdn.gcpause import gc_paused
from sdn.state import SavedRender, StateWriter, load_saved, save_state
from sdn.usable import Usable, closed_state, usable_on
from sdn.worker import SwitchWorker, Target, Ticket, WorkerView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwitchStatus:
    name: str
    dpid: int
    connected: bool
    generation: int  # the last generation this switch acknowledged
    flows: int
    groups: int
    error: str = ""
    probes_error: str = ""  # its probes could not be configured through its OVSDB (retried)


@dataclass(frozen=True)
class ApplyResult:
    generation: int
    changes: dict[int, int] = field(default_factory=dict)  # dpid -> flow/group changes sent
    seconds: float = 0.0


class SfcController:
    """Owns the desired state; every public method is thread-safe.

    ``self._lock`` is held only to derive a document's flows per switch and hand them to the
    switches' workers (sdn.worker), never while a switch is awaited: a change returns once every
    switch whose flows changed acknowledged it, and status() reads immutable snapshots.

    Failure rule: when a switch refuses or does not acknowledge generation G, the caller gets
    ApplyError. If G is still the latest generation, the previous document and generation are put
    back and every switch G was handed to gets its previous flows again (the caller waits for
    those that had already installed G). If a later change was built on G meanwhile (concurrent
    callers), that later document stays in force (it contains G's change): the failing switch
    records the error, keeps its old acknowledged generation, and its worker keeps retrying.
    Generation numbers are never reused, so an acknowledged generation always names one document.
    A refusal counts against a change only when it is of flows the change itself brings; a path
    refused earlier (or left out for a missing port) never fails a change to another path.
    """

    def __init__(self, driver: SwitchDriver, *, timeout: float = 10.0, now: Callable[[], float] = time.monotonic,
                 state_file: Path | None = None, probes: ProbeKeeper | None = None):
        self._driver = driver
        self._timeout = timeout
        self._now = now
        self._lock = threading.RLock()  # document changes: derive + hand over, no I/O to switches
        self._workers_lock = threading.Lock()
        self._state_file = state_file
        self._cache = FlowCache()
        self._writer = StateWriter()
        saved = load_saved(state_file)
        self._snapshot: tuple[SfcDocument, int] = (saved.document, saved.generation)  # (document, generation)
        # the flows the saved document gave on the ports then: reused while both are unchanged
        self._restored: tuple[SfcDocument, Mapping[int, SavedRender]] = (saved.document, saved.renders)
        self._last_generation = self._snapshot[1]  # generations handed out, never reused
        self._workers: Mapping[int, SwitchWorker] = {}  # replaced, never mutated: read without a lock
        self._stopped = False
        self._probes = probes or ProbeKeeper()  # sFlow/IPFIX through each switch's OVSDB (sdn.probes)
        self._probes.submit(self._snapshot[0])
        driver.subscribe(self._on_switch_event)
        for dpid in list(driver.switches()):  # connected before we listened: a restart that read a big
            self._on_switch_event(SwitchEvent("connected", dpid))  # state file first would never converge

    # ----------------------------------------------------------------- queries
    @property
    def document(self) -> SfcDocument:
        return self._snapshot[0]

    @property
    def generation(self) -> int:
        return self._snapshot[1]

    def status(self) -> list[SwitchStatus]:
        """Per switch: the generation it acknowledged and what it holds of ours (no lock taken)."""
        doc, workers = self._snapshot[0], self._workers
        connected = self._driver.switches()
        names = {s.dpid: s.name for s in doc.switches}
        out = []
        for dpid in sorted(set(names) | set(connected)):
            view = workers[dpid].view if dpid in workers else WorkerView()
            flows, groups = view.counts
            out.append(SwitchStatus(names.get(dpid, ""), dpid, dpid in connected, view.acked, flows, groups,
                                    view.error, self._probes.error(dpid)))
        return out

    def path_status(self, names: Iterable[str] = ()) -> list[PathStatus]:
        """Per path of the document (or those of ``names`` it has): does its switch hold it as
        desired now (no lock taken)."""
        doc, workers = self._snapshot[0], self._workers
        wanted = set(names)
        connected = self._driver.switches()
        dpids = {s.name: s.dpid for s in doc.switches}
        by_fn = {f.name: f for f in doc.service_functions}
        out = []
        for path in doc.paths:
            if wanted and path.name not in wanted:
                continue
            # a path across SFFs (sdn.overlay) is as good as its worst switch
            states = [_path_status(path, s, dpids[s], connected, workers.get(dpids[s])) for s in path_switches(by_fn, path)]
            out.append(max(states, key=lambda st: _RANK[st.state]))
        return out

    def watch_switches(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(any switch connected)`` now and after every connect and disconnect
        (e.g. the API's health: NOT_SERVING while no switch can acknowledge anything)."""
        self._driver.subscribe(lambda event: callback(bool(self._driver.switches()))
                               if event.kind in ("connected", "disconnected") else None)
        callback(bool(self._driver.switches()))

    # ----------------------------------------------------------------- changes
    def apply_document(self, doc: SfcDocument) -> ApplyResult:
        """Make ``doc`` the desired state on every switch, or change nothing and raise.

        Raises DocumentError (bad reference; a path it adds or changes is on a switch that is not
        connected; an SF instance or classifier it adds or changes names a port its switch lacks)
        or ApplyError (a switch refused or did not acknowledge; see the class docstring for the
        roll-back). A port that goes missing later (or was missing for what this change leaves
        alone) fails nothing: what needs it is left out (sdn.usable) and reported by
        path_status() until the port appears.
        """
        with self._lock:  # slot tables planned from the held document: only what must move moves
            handed = self._hand_over(rebalance(doc, self.document), None)
        return self._await(handed)

    def upsert_paths(self, paths: Sequence[ServicePath], remove: Iterable[str] = ()) -> ApplyResult:
        """Add or replace paths and remove others by name.

        The result is checked as a whole document, exactly as apply_document would; only the
        flows of the named paths are derived again (the rest is reused while ports are unchanged).
        """
        paths, remove = list(paths), set(remove)
        with self._lock:  # the edit builds on the latest document
            doc = with_paths(self.document, paths, remove)
            changed = {p.name for p in paths} | remove
            handed = self._hand_over(doc, changed)
        return self._await(handed)

    def disconnect(self, dpid: int) -> bool:
        """Drop switch ``dpid`` now: its host is known dead (the NFVO fenced it), and every change
        would wait for it until its echo timeout. Its paths are DOWN; a live switch reconnects."""
        return self._driver.disconnect(dpid)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every switch worker has handled what it was given (for tests and tools)."""
        deadline = time.monotonic() + timeout
        return all(w.settle(max(0.0, deadline - time.monotonic())) for w in list(self._workers.values())) \
            and self._probes.settle(max(0.0, deadline - time.monotonic()))

    def stop(self, timeout: float | None = None) -> None:
        """Stop every switch worker and wait for its thread (a push in flight ends first)."""
        with self._workers_lock:
            self._stopped = True
            workers = list(self._workers.values())
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(self._timeout * 2 + 1 if timeout is None else timeout)
        self._probes.stop()

    close = stop

    def _hand_over(self, doc: SfcDocument, changed: set[str] | None) -> _Handover:
        """Derive ``doc``'s flows per connected switch and hand them to the workers (lock held).
        ``changed``: only these paths differ from the latest document (None: derive it all)."""
        if self._stopped:
            raise ApplyError("the controller is stopping")
        started = self._now()
        connected = self._driver.switches()
        self._check_change(doc, connected, changed)
        ports = {dpid: dict(info.ports) for dpid, info in connected.items()}
        derived = self._derive(doc, ports, changed)
        desired = {dpid: owned for dpid, (owned, _) in derived.items()}
        for dpid in connected:
            desired.setdefault(dpid, {})  # a switch dropped from the document loses our flows
        self._last_generation += 1
        generation, previous = self._last_generation, self._snapshot
        before: dict[int, Target | None] = {}
        handed: dict[int, Target] = {}
        tickets: dict[int, Ticket] = {}
        for dpid, owned in desired.items():
            worker = self._worker(dpid)
            before[dpid] = worker.target
            usable = derived[dpid][1] if dpid in derived else Usable(doc)
            handed[dpid] = Target(generation, ports[dpid], owned, usable.down, usable.degraded)
            ticket = worker.submit(handed[dpid])
            if ticket is not None:
                tickets[dpid] = ticket
        self._snapshot = (doc, generation)
        if self._restored[0] is not doc:
            self._restored = (doc, {})  # the saved renders were of an older document
        return _Handover(generation, previous, before, handed, tickets, started)

    def _await(self, h: _Handover) -> ApplyResult:
        """Wait for the switches whose flows changed; on failure roll back (class docstring)."""
        deadline = time.monotonic() + self._timeout * 4 + 1  # a backstop: workers time out on their own
        changes = {dpid: 0 for dpid in h.handed}
        failures: dict[int, str] = {}
        for dpid, ticket in h.tickets.items():
            if not ticket.wait(max(0.0, deadline - time.monotonic())):
                failures[dpid] = f"switch {dpid:#x}: no acknowledgement of generation {h.generation} in time"
            elif ticket.error:
                failures[dpid] = ticket.error
            else:
                changes[dpid] = ticket.changes
        if not failures:
            with self._lock:
                self._save()
                self._probes.submit(self._snapshot[0])
            return ApplyResult(h.generation, changes, self._now() - h.started)
        rollback: dict[int, Ticket] = {}
        with self._lock:
            if self._snapshot[1] == h.generation:  # nothing built on top: the previous state returns
                self._snapshot = h.previous
                for dpid in h.handed:
                    target = self._previous_target(dpid, h)
                    ticket = self._worker(dpid).submit(target) if target is not None else None
                    if ticket is not None and dpid not in failures:
                        rollback[dpid] = ticket
            self._save()
        for dpid, ticket in rollback.items():  # best effort: restore what was in force
            if not ticket.wait(max(0.0, deadline - time.monotonic())) or ticket.error:
                log.warning("switch %#x: rollback to generation %d failed: %s", dpid, h.previous[1],
                            ticket.error or "no acknowledgement in time")
        raise ApplyError("; ".join(failures[d] for d in sorted(failures)))

    def _save(self) -> None:
        """Write the state file (lock held): the document and, for the next start's fast path,
        each switch's flows derived from it (its workers' targets of this generation)."""
        doc, generation = self._snapshot
        renders = {dpid: SavedRender(t.ports, t.owned) for dpid, w in self._workers.items()
                   if (t := w.target) is not None and t.generation == generation}
        save_state(self._state_file, doc, generation, renders, self._writer)

    def _previous_target(self, dpid: int, h: _Handover) -> Target | None:
        """What ``dpid`` held before the failed change: its previous target while that still fits
        (same ports, our hand-over not replaced), else the previous document derived anew."""
        doc, generation = h.previous
        worker = self._workers[dpid]
        old = h.before.get(dpid)
        if old is not None and old.generation == generation and worker.target is h.handed[dpid]:
            return Target(generation, old.ports, old.owned, old.down, old.degraded)
        info = self._driver.switches().get(dpid)
        if info is None:
            return old
        try:
            owned, usable = self._derive(doc, {dpid: dict(info.ports)}, None).get(dpid, ({}, Usable(doc)))
        except DocumentError:
            return old
        return Target(generation, dict(info.ports), owned, usable.down, usable.degraded)

    def _reusable(self, ports: Mapping[int, Mapping[str, int]]) -> dict[int, Owned]:
        """The latest document's flows per switch, where derived on the ports it has now."""
        generation = self._snapshot[1]
        return {dpid: t.owned for dpid, w in self._workers.items()
                if (t := w.target) is not None and t.generation == generation and ports.get(dpid) == t.ports}

    def _targets(self) -> dict[int, Target]:
        """The latest target of every switch worker (for tests)."""
        return {dpid: t for dpid, w in self._workers.items() if (t := w.target) is not None}

    def _worker(self, dpid: int) -> SwitchWorker:
        worker = self._workers.get(dpid)
        if worker is not None:
            return worker
        with self._workers_lock:
            worker = self._workers.get(dpid)
            if worker is None:
                if self._stopped:
                    raise ApplyError("the controller is stopping")
                worker = SwitchWorker(dpid, self._driver, timeout=self._timeout, refresh=self._refresh)
                self._workers = {**self._workers, dpid: worker}
            return worker

    # ----------------------------------------------------------------- switch events
    def _on_switch_event(self, event: SwitchEvent) -> None:
        """Hand the event to the switch's worker; it reads back / re-derives on its own thread."""
        try:
            self._worker(event.dpid).notify(event.kind)
        except ApplyError:
            pass  # stopping
        if event.kind == "connected":
            self._probes.recheck(event.dpid)

    def _refresh(self, dpid: int) -> None:
        """On the worker's thread: derive the latest document's flows on the switch's ports now."""
        with self._lock:
            info = self._driver.switches().get(dpid)
            if info is None:
                return
            doc, generation = self._snapshot
            ports = dict(info.ports)
            try:
                derived = self._derive(doc, {dpid: ports}, None)
            except DocumentError as exc:  # not expected: sdn.usable leaves out what lacks a port
                log.warning("switch %#x not converged: %s", dpid, exc)
                self._workers[dpid].report(str(exc))
                return
            owned, usable = derived.get(dpid, ({}, Usable(doc)))
            for path, why in usable.down.items():
                log.warning("switch %#x: path %s left out: %s", dpid, path, why)
            self._workers[dpid].submit(Target(generation, ports, owned, usable.down, usable.degraded))

    def _derive(self, doc: SfcDocument, ports: Mapping[int, Mapping[str, int]], changed: set[str] | None
                ) -> dict[int, tuple[Owned, Usable]]:
        with gc_paused():  # bulk: tens of thousands of flows (sdn.gcpause)
            return self._derive_now(doc, ports, changed)

    def _derive_now(self, doc: SfcDocument, ports: Mapping[int, Mapping[str, int]], changed: set[str] | None
                    ) -> dict[int, tuple[Owned, Usable]]:
        """Per switch of ``doc`` with known ports: the flows of what it can carry now (sdn.usable),
        reusing the latest target's where only ``changed`` paths differ (None: derive it all)."""
        reusable = self._reusable(ports) if changed is not None else {}
        restored_doc, restored = self._restored
        if restored_doc is not doc:
            restored = {}
        out: dict[int, tuple[Owned, Usable]] = {}
        for switch in doc.switches:
            dpid = switch.dpid
            if dpid not in ports:
                continue
            usable = usable_on(doc, switch.name, ports[dpid])
            one = {dpid: ports[dpid]}
            saved = restored.get(dpid)
            if changed is None and saved is not None and saved.ports == ports[dpid]:
                out[dpid] = (dict(saved.owned), usable)  # what this document gave on these ports, as saved
                continue
            if changed is not None and dpid in reusable:
                owned = update_owned_states(usable.document, one, {dpid: reusable[dpid]}, changed, self._cache)
            else:
                owned = compute_owned_states(usable.document, one, self._cache)
            mine = owned.get(dpid, {})
            if usable.down:  # fail closed (sdn.usable): their classifiers drop
                by_name = {p.name: p for p in doc.paths if p.name in usable.down}
                mine.update({f"path:{name}": closed_state(path, ports[dpid]) for name, path in by_name.items()})
            out[dpid] = (mine, usable)
        return out

    def _check_change(self, doc: SfcDocument, connected: Mapping[int, SwitchInfo], changed: set[str] | None) -> None:
        """What a change itself names must be there: a path it adds or changes may not be on a
        switch that is not connected (it could not be acknowledged), and an SF instance or a
        classifier it adds or changes may not name a port its switch lacks (bad input: refused,
        naming the element). What it leaves alone may lack them: that is left out and reported
        (sdn.usable), not refused, so one broken chain never blocks a change to another."""
        before = self.document
        old_paths = {p.name: p for p in before.paths}
        functions_changed = changed is None  # a path upsert keeps the service functions as they are
        if changed is None:
            changed = {p.name for p in doc.paths if old_paths.get(p.name) != p}
        old_fns = {f.name: f for f in before.service_functions}
        dpids = {s.name: s.dpid for s in doc.switches}
        by_fn = {f.name: f for f in doc.service_functions}
        for path in doc.paths:
            if path.name not in changed:
                continue
            touched = path_switches(by_fn, path)
            for name in touched:
                switch = doc.switch(name)
                if switch.dpid not in connected:
                    raise DocumentError(f"switches[{switch.name}]",
                                        f"switch {switch.name} (dpid {switch.dpid:#x}) is not connected "
                                        f"(path {path.name} is on it)")
            old = old_paths.get(path.name)
            kept = set(old.classifiers) if old is not None else set()
            for c in path.classifiers:
                switch = doc.switch(c.switch or touched[0])
                if c.in_port and c.in_port not in connected[switch.dpid].ports and c not in kept:
                    raise DocumentError(f"service_function_paths[{path.name}].classifiers[{c.name}].in_port",
                                        f"switch {switch.name} has no port {c.in_port!r}")
        for fn in doc.service_functions if functions_changed else ():
            old_fn = old_fns.get(fn.name)
            kept_instances = set(old_fn.instances) if old_fn is not None else set()
            for i, inst in enumerate(fn.instances):
                info = connected.get(dpids.get(inst.switch, -1))
                if info is None or inst in kept_instances:
                    continue
                for key, port in zip(("port", "egress_port"), inst.ports, strict=False):
                    if port not in info.ports:
                        raise DocumentError(f"service_functions[{fn.name}].instances[{i}].{key}",
                                            f"switch {inst.switch} has no port {port!r}")


_RANK = {PathState.ACTIVE: 0, PathState.DEGRADED: 1, PathState.PENDING: 2, PathState.DOWN: 3}


def path_switches(by_fn: Mapping[str, ServiceFunction], path: ServicePath) -> list[str]:
    """The switches ``path`` touches (``by_fn``: the document's SFs by name), its first hop's
    first: where its classifiers sit (check_document fills them in; "" = the first hop's switch)
    and every instance of every hop."""
    first = by_fn[path.hops[0]].instances[0].switch
    return list(dict.fromkeys([first, *(c.switch or first for c in path.classifiers),
                               *(i.switch for h in path.hops for i in by_fn[h].instances)]))


def _path_status(path: ServicePath, switch: str, dpid: int, connected: Mapping[int, object],
                 worker: SwitchWorker | None) -> PathStatus:
    def status(state: PathState, reason: str = "") -> PathStatus:
        return PathStatus(path.name, switch, state, reason)

    if dpid not in connected:
        return status(PathState.DOWN, f"switch {switch} (dpid {dpid:#x}) is not connected")
    target = worker.target if worker is not None else None
    if worker is None or target is None:
        return status(PathState.PENDING, f"switch {switch}: flows not derived yet")
    if path.name in target.down:
        return status(PathState.DOWN, target.down[path.name])
    view, owner = worker.view, f"path:{path.name}"
    deps = [owner, "pipeline", *(f"sf:{h}" for h in path.hops)]
    refused = [view.refused[k] for k in deps if k in view.refused]
    if refused:
        return status(PathState.DOWN, refused[0])
    held = all(k not in target.owned or view.installed.get(k) is target.owned[k]
               or view.installed.get(k) == target.owned[k] for k in deps)
    if not held:
        why = view.error or f"switch {switch} has not acknowledged generation {target.generation} yet"
        return status(PathState.PENDING, why)
    if path.name in target.degraded:
        return status(PathState.DEGRADED, target.degraded[path.name])
    return status(PathState.ACTIVE)


@dataclass(frozen=True)
class _Handover:
    """One change handed to the workers: what to wait for and what to restore on failure."""

    generation: int
    previous: tuple[SfcDocument, int]
    before: Mapping[int, Target | None]
    handed: Mapping[int, Target]
    tickets: Mapping[int, Ticket]
    started: float



