"""The controller's core: holds the desired document and keeps every switch converged on it.

Level-triggered: a new document, a switch connecting, a port change all lead to the same
thing — re-derive the switch's desired flows and push only the difference. A switch that
(re)connects is read first, so a restarted controller or switch converges without flushing
live chains. No OpenFlow or gRPC here: switches are reached through ``SwitchDriver``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from sdn.document import DocumentError, ServicePath, SfcDocument, with_paths
from sdn.driver import ApplyError, SwitchDriver, SwitchEvent
from sdn.render import Owned, compute_owned_states, merge, update_owned_states
from sdn.state import load_state, save_state
from sdn.sync import Plan, plan_changes

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


@dataclass(frozen=True)
class ApplyResult:
    generation: int
    changes: dict[int, int] = field(default_factory=dict)  # dpid -> flow/group changes sent
    seconds: float = 0.0


class SfcController:
    """Owns the desired state; every public method is thread-safe."""

    def __init__(self, driver: SwitchDriver, *, timeout: float = 10.0, now: Callable[[], float] = time.monotonic,
                 state_file: Path | None = None):
        self._driver = driver
        self._timeout = timeout
        self._now = now
        self._lock = threading.RLock()
        self._state_file = state_file
        self._document, self._generation = _load_state(state_file)
        self._installed: dict[int, Owned] = {}  # what each switch holds of ours, by owner
        self._desired: dict[int, tuple[dict[str, int], Owned]] = {}  # dpid -> (ports, the document's flows)
        self._acked: dict[int, int] = {}
        self._errors: dict[int, str] = {}
        driver.subscribe(self._on_switch_event)

    # ----------------------------------------------------------------- queries
    @property
    def document(self) -> SfcDocument:
        return self._document

    @property
    def generation(self) -> int:
        return self._generation

    def status(self) -> list[SwitchStatus]:
        with self._lock:
            connected = self._driver.switches()
            out = []
            names = {s.dpid: s.name for s in self._document.switches}
            for dpid in sorted(set(names) | set(connected)):
                state = merge(self._installed.get(dpid, {}))
                out.append(SwitchStatus(names.get(dpid, ""), dpid, dpid in connected, self._acked.get(dpid, 0),
                                        len(state.flows), len(state.groups), self._errors.get(dpid, "")))
            return out

    # ----------------------------------------------------------------- changes
    def apply_document(self, doc: SfcDocument) -> ApplyResult:
        """Make ``doc`` the desired state on every switch, or change nothing and raise.

        Raises DocumentError (bad reference, missing port, switch not connected) or ApplyError
        (a switch refused or did not acknowledge; switches already changed are rolled back).
        """
        with self._lock:
            return self._apply(doc, lambda ports: compute_owned_states(doc, ports))

    def upsert_paths(self, paths: Sequence[ServicePath], remove: Iterable[str] = ()) -> ApplyResult:
        """Add or replace paths and remove others by name.

        The result is checked as a whole document, exactly as apply_document would; only the
        flows of the named paths are derived again (the rest is reused while ports are unchanged).
        """
        with self._lock:
            paths, remove = list(paths), set(remove)
            doc = with_paths(self._document, paths, remove)
            changed = {p.name for p in paths} | remove
            return self._apply(doc, lambda ports: update_owned_states(doc, ports, self._reusable(ports), changed))

    def _apply(self, doc: SfcDocument, derive: Callable[[dict[int, dict[str, int]]], dict[int, Owned]]) -> ApplyResult:
        started = self._now()
        connected = self._driver.switches()
        for switch in doc.switches:
            if switch.dpid not in connected and _is_used(doc, switch.name):
                raise DocumentError(f"switches[{switch.name}]",
                                    f"switch {switch.name} (dpid {switch.dpid:#x}) is not connected")
        ports = {dpid: dict(info.ports) for dpid, info in connected.items()}
        desired = derive(ports)
        for dpid in connected:
            desired.setdefault(dpid, {})  # a switch dropped from the document loses our flows
        generation = self._generation + 1
        changes = self._push(desired)
        self._document, self._generation = doc, generation
        self._desired = {dpid: (ports[dpid], owned) for dpid, owned in desired.items()}
        _save_state(self._state_file, doc, generation)
        for dpid in desired:
            self._acked[dpid] = generation
            self._errors.pop(dpid, None)
        return ApplyResult(generation, changes, self._now() - started)

    def _reusable(self, ports: Mapping[int, Mapping[str, int]]) -> dict[int, Owned]:
        """The current document's flows per switch, where derived on the ports it has now."""
        return {dpid: owned for dpid, (then, owned) in self._desired.items() if ports.get(dpid) == then}

    def _push(self, desired: dict[int, Owned]) -> dict[int, int]:
        done: list[tuple[int, Owned]] = []
        changes: dict[int, int] = {}
        try:
            for dpid, owned in desired.items():
                before = self._installed.get(dpid, {})
                plan = _plan_between(before, owned)
                if not plan.empty:
                    self._driver.apply(dpid, plan, self._timeout)
                changes[dpid] = plan.size
                done.append((dpid, before))
                self._installed[dpid] = owned
        except ApplyError:
            for dpid, before in reversed(done):  # best effort: restore what was in force
                try:
                    self._driver.apply(dpid, _plan_between(self._installed[dpid], before), self._timeout)
                    self._installed[dpid] = before
                except ApplyError as exc:
                    self._errors[dpid] = f"rollback failed: {exc}"
            raise
        return changes

    # ----------------------------------------------------------------- switch events
    def _on_switch_event(self, event: SwitchEvent) -> None:
        with self._lock:
            if event.kind == "disconnected":
                return
            try:
                self._converge(event.dpid, read=event.kind == "connected")
            except (DocumentError, ApplyError) as exc:
                log.warning("switch %#x not converged: %s", event.dpid, exc)
                self._errors[event.dpid] = str(exc)

    def _converge(self, dpid: int, read: bool) -> None:
        """Bring one switch to the current document, reading its flows first on (re)connect."""
        info = self._driver.switches().get(dpid)
        if info is None:
            return
        if read:
            self._installed[dpid] = {"switch": self._driver.read_state(dpid, self._timeout)}
        ports = dict(info.ports)
        owned = compute_owned_states(self._document, {dpid: ports}).get(dpid, {})
        plan = _plan_between(self._installed.get(dpid, {}), owned)
        if not plan.empty:
            self._driver.apply(dpid, plan, self._timeout)
        self._installed[dpid] = owned
        self._desired[dpid] = (ports, owned)
        self._acked[dpid] = self._generation
        self._errors.pop(dpid, None)


def _load_state(path: Path | None) -> tuple[SfcDocument, int]:
    """The last applied document, so a restarted controller converges instead of flushing."""
    return load_state(path)


def _save_state(path: Path | None, doc: SfcDocument, generation: int) -> None:
    save_state(path, doc, generation)


def _plan_between(before: Owned, after: Owned) -> Plan:
    """Diff only the owners whose part changed (memoised parts compare by identity first)."""
    changed = [k for k, part in after.items() if before.get(k) is not part and before.get(k) != part]
    changed += before.keys() - after.keys()
    if not changed:
        return Plan()
    old = merge({k: before[k] for k in changed if k in before})
    new = merge({k: after[k] for k in changed if k in after})
    return plan_changes(old, new)


def _is_used(doc: SfcDocument, switch: str) -> bool:
    return any(inst.switch == switch for f in doc.service_functions for inst in f.instances)

