"""The alarm runner (shell): samples the metrics of every armed alarm, evaluates it
(``vnfm.alarms``) once a period, and acts: respawn heals the VDUs, a scaling action scales the
VNF (cooldown and min/max respected), log records an event, a webhook gets an HTTP POST.

Why one thread for all alarms: sampling is cheap (a few cgroup files), every action goes
through the manager's lock anyway, and a metric is read once per tick per VDU and window (two
triggers on the same ``cpu_util`` share the reading). The window is the trigger's granularity,
Aodh's period: a chain or hop figure is taken over the last period, so a short one reacts within
about ``granularity x evaluations`` and a long one averages its noise away. Every state change is a VNF event, so it
reaches the NFVO's ``Watch`` stream, and is kept in the alarm's history.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vnfm.alarms import (ALARM, ActionSpec, AlarmSpec, AlarmStatus, AlarmView, Sample, Transition, alarm_id,
                         due_actions, evaluate, scale_allowed)
from vnfm.errors import VnfmError
from vnfm.metrics import Metrics, Subject
from vnfm.model import Status, VnfRecord
from vnfm.spec import VnfSpec

log = logging.getLogger(__name__)
HISTORY = 50
WEBHOOK_TIMEOUT = 3.0


class AlarmHost(Protocol):
    """What the runner needs of the VNF manager."""

    def armed(self) -> list[tuple[VnfRecord, VnfSpec]]: ...
    def scale(self, name_or_id: str, policy: str, direction: str) -> VnfRecord: ...
    def heal(self, name_or_id: str, vdu: str | None = None, *, instance: int | None = None) -> VnfRecord: ...
    def note(self, vnf_id: str, reason: str) -> None: ...


@dataclass
class _Live:
    vnf_id: str
    spec: AlarmSpec
    status: AlarmStatus
    next_eval: float
    samples: deque[Sample] = field(default_factory=deque)
    history: deque[Transition] = field(default_factory=lambda: deque(maxlen=HISTORY))


class AlarmRunner:
    def __init__(self, host: AlarmHost, metrics: Metrics | None = None, *,
                 clock: Callable[[], float] = time.time,
                 post: Callable[[str, bytes], None] | None = None) -> None:
        self.host, self.metrics, self.clock = host, metrics or Metrics(), clock
        self.post = post or _post
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}
        self._scaled: dict[tuple[str, str], float] = {}   # (vnf id, policy) -> when it last scaled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="vnfm-alarms")
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def views(self) -> list[AlarmView]:
        now, armed = self.clock(), self.host.armed()   # the manager's lock is never taken inside ours
        out = []
        with self._lock:
            for rec, spec in armed:
                for a in spec.alarms:
                    aid = alarm_id(rec.id, a.name)
                    live = self._live.get(aid)
                    status = live.status if live else AlarmStatus(since=now)
                    out.append(AlarmView(aid, rec.id, rec.name, a, status, tuple(live.history) if live else ()))
        return out

    def _run(self) -> None:
        while not self._stop.wait(self._tick()):
            try:
                self.step(self.clock())
            except Exception:   # a bug must not silence every alarm
                log.exception("alarm evaluation failed")

    def _tick(self) -> float:
        with self._lock:
            grains = [x.spec.granularity for x in self._live.values()]
        return min(10.0, max(0.25, min(grains) / 2)) if grains else 0.5

    def step(self, now: float) -> None:
        """One tick: sample, evaluate the alarms whose period ended, act."""
        armed = self.host.armed()
        readings: dict[tuple[str, str, float], float | None] = {}
        due: list[tuple[VnfRecord, VnfSpec, _Live, Transition | None]] = []
        with self._lock:
            seen = set()
            for rec, spec in armed:
                for a in spec.alarms:
                    aid = alarm_id(rec.id, a.name)
                    seen.add(aid)
                    live = self._live.get(aid)
                    if live is None or live.spec != a:
                        live = self._live[aid] = _Live(rec.id, a, AlarmStatus(since=now), now + a.granularity)
                    if rec.status != Status.ACTIVE:   # healing, scaling, DEAD: no figures, no verdict
                        live.next_eval = now + a.granularity
                        continue
                    for vdu in rec.vdus:
                        if vdu.name not in a.vdus:
                            continue
                        ident = (a.metric, vdu.key, a.granularity)
                        if ident not in readings:
                            readings[ident] = self.metrics.read(a.metric, Subject(
                                vdu.key, vdu.pid, spec.vdu(vdu.name).mem_bytes), now, a.granularity)
                        if readings[ident] is not None:
                            live.samples.append(Sample(now, readings[ident]))   # type: ignore[arg-type]
                    horizon = now - (a.evaluations + 1) * a.granularity
                    while live.samples and live.samples[0].time < horizon:
                        live.samples.popleft()
                    if now >= live.next_eval:
                        live.next_eval = now + a.granularity
                        live.status, moved = evaluate(a, live.status, live.samples, now)
                        if moved is not None:
                            live.history.append(moved)
                        due.append((rec, spec, live, moved))
            for gone in set(self._live) - seen:
                del self._live[gone]
        self.metrics.forget({v.key for rec, _ in armed for v in rec.vdus})
        for rec, spec, live, moved in due:
            if moved is not None:
                self.host.note(rec.id, f"alarm {live.spec.name}: {moved.old} -> {moved.new} ({moved.reason})")
            self._act(rec, spec, live, moved, now)

    def _act(self, rec: VnfRecord, spec: VnfSpec, live: _Live, moved: Transition | None, now: float) -> None:
        a = live.spec
        todo = due_actions(a, live.status, moved, now, lambda p: self._scaled.get((rec.id, p)),
                           lambda p: spec.policy(p).cooldown)
        for act in todo:
            try:
                self._do(rec, spec, live, act, moved, now)
            except VnfmError as exc:
                self.host.note(rec.id, f"alarm {a.name}: {_label(act)} failed: {exc}")
            except Exception as exc:
                log.exception("alarm %s action %s", a.name, act)
                self.host.note(rec.id, f"alarm {a.name}: {_label(act)} failed: {exc}")

    def _do(self, rec: VnfRecord, spec: VnfSpec, live: _Live, act: ActionSpec, moved: Transition | None,
            now: float) -> None:
        a = live.spec
        if act.kind == "scaling":
            pol = spec.policy(act.target)
            have = min(sum(1 for v in rec.vdus if v.name == t) for t in pol.targets)
            if not scale_allowed(act.direction, have, pol.increment, pol.min, pol.max):
                if moved is not None:
                    self.host.note(rec.id, f"alarm {a.name}: {pol.name} {act.direction} skipped "
                                   f"({have} instances, min {pol.min}, max {pol.max})")
                return
            self._scaled[(rec.id, pol.name)] = now
            self.host.scale(rec.id, pol.name, act.direction)
            self.host.note(rec.id, f"alarm {a.name}: scaled {act.direction} by {pol.name}")
        elif act.kind == "respawn":
            for vdu in a.vdus:
                self.host.heal(rec.id, vdu)
            with self._lock:
                live.samples.clear()   # the old containers' figures say nothing of the new ones
        elif act.kind == "log":
            self.host.note(rec.id, f"alarm {a.name} ({a.policy}) log: {moved.reason if moved else ALARM}")
        elif act.kind == "webhook":
            body = {"alarm_id": alarm_id(rec.id, a.name), "alarm_name": a.name, "vnf_id": rec.id,
                    "vnf_name": rec.name, "previous": moved.old if moved else ALARM, "current": live.status.state,
                    "reason": moved.reason if moved else "", "value": live.status.value, "threshold": a.threshold}
            self.post(act.target, json.dumps(body).encode())
            self.host.note(rec.id, f"alarm {a.name}: webhook {act.target} notified")


def _label(act: ActionSpec) -> str:
    return f"{act.target} {act.direction}" if act.kind == "scaling" else f"{act.kind} {act.target}".strip()


def _post(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:   # noqa: S310 (the VNFD's URL)
        resp.read(1024)
