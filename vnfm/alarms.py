"""Alarms that act, in the spirit of Aodh (pure): compiled alarm specs and their evaluator.

An evaluation looks at the last ``evaluations`` periods of ``granularity`` seconds ending at
``now``; each period's samples (every selected VDU instance's, so a scaling group is judged as a
whole, as Aodh's aggregation across a server group) are reduced by ``aggregation``. Too few
periods with data -> ``insufficient data``; all periods breach -> ``alarm``; none breach -> ``ok``;
a mix keeps the state (from ``insufficient data`` the newest period decides), so a state changes
only when ``evaluations`` consecutive periods agree.

Actions run when the state enters ``alarm``; a scaling action also repeats while the alarm stays
on, once the scaling policy's ``cooldown`` has passed since that policy last scaled (Heat's
``repeat_actions`` with a cooldown), and never past min/max. Time is always a parameter.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from descriptors import Vnfd

OK, ALARM, INSUFFICIENT = "ok", "alarm", "insufficient data"
_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda v, t: v > t, "ge": lambda v, t: v >= t, "lt": lambda v, t: v < t,
    "le": lambda v, t: v <= t, "eq": lambda v, t: v == t, "ne": lambda v, t: v != t}
_AGG: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean, "min": min, "max": max, "sum": sum, "count": lambda xs: float(len(xs)),
    "last": lambda xs: xs[-1], "median": statistics.median}


@dataclass(frozen=True)
class ActionSpec:
    kind: str            # scaling | respawn | log | webhook
    target: str = ""     # scaling policy or webhook URL
    direction: str = ""  # out | in


@dataclass(frozen=True)
class AlarmSpec:
    """One Tacker alarm trigger as the VNFM runs it (stored with the VNF's spec)."""

    name: str            # the trigger's name
    policy: str          # the Alarming policy it belongs to
    metric: str
    operator: str
    threshold: float
    granularity: float
    evaluations: int
    aggregation: str
    group: str           # the trigger's ``metadata`` (a metering.server_group or VDU name)
    vdus: tuple[str, ...]
    actions: tuple[ActionSpec, ...]

    def breaches(self, value: float) -> bool:
        return _OPS[self.operator](value, self.threshold)

    def describe(self) -> str:
        return (f"{self.aggregation}({self.metric}) {self.operator} {self.threshold:g} over "
                f"{self.evaluations} x {self.granularity:g}s")


@dataclass(frozen=True)
class Sample:
    time: float
    value: float


@dataclass(frozen=True)
class AlarmStatus:
    state: str = INSUFFICIENT
    since: float = 0.0
    value: float | None = None   # the newest period's aggregate
    evaluated: float | None = None


@dataclass(frozen=True)
class Transition:
    time: float
    old: str
    new: str
    value: float | None
    reason: str


@dataclass(frozen=True)
class AlarmView:
    """An alarm as the API shows it: its VNF, spec, status and the transitions kept."""

    id: str
    vnf_id: str
    vnf_name: str
    spec: AlarmSpec
    status: AlarmStatus
    history: tuple[Transition, ...]


def alarm_id(vnf_id: str, trigger: str) -> str:
    """Stable across manager restarts: derived from the VNF and the trigger."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nfvchain:alarm:{vnf_id}:{trigger}"))


def compile_alarms(vnfd: Vnfd, problems: list[str]) -> tuple[AlarmSpec, ...]:
    """The VNFD's alarm triggers as specs; problems (naming policy and trigger) appended."""
    out = []
    for pol in vnfd.alarm_policies:
        for trig in pol.triggers:
            where = f"alarm policy {pol.name} trigger {trig.name}"
            if trig.parsed is None or not isinstance(trig.metric, str) or not isinstance(trig.metadata, (str, type(None))):
                problems.append(f"{where}: condition, metric or metadata not resolved (an input?)")
                continue
            if not trig.vdus or not trig.resolved:
                problems.append(f"{where}: selects no VDU or has no action")
                continue
            c = trig.parsed
            out.append(AlarmSpec(trig.name, pol.name, trig.metric, c.operator, c.threshold, c.granularity,
                                 c.evaluations, c.aggregation, trig.metadata or "", trig.vdus,
                                 tuple(ActionSpec(a.kind, a.target, a.direction) for a in trig.resolved)))
    return tuple(out)


def period_values(spec: AlarmSpec, samples: Iterable[Sample], now: float) -> list[float | None]:
    """The aggregate of each of the last ``evaluations`` periods, oldest first (None: no data)."""
    buckets: list[list[float]] = [[] for _ in range(spec.evaluations)]
    start = now - spec.evaluations * spec.granularity
    for s in samples:
        if start <= s.time < now:
            buckets[min(int((s.time - start) // spec.granularity), spec.evaluations - 1)].append(s.value)
        elif s.time == now and buckets:
            buckets[-1].append(s.value)
    return [_AGG[spec.aggregation](b) if b else None for b in buckets]


def evaluate(spec: AlarmSpec, status: AlarmStatus, samples: Iterable[Sample],
             now: float) -> tuple[AlarmStatus, Transition | None]:
    values = period_values(spec, samples, now)
    newest = next((v for v in reversed(values) if v is not None), None)
    if any(v is None for v in values):
        new, why = INSUFFICIENT, f"{sum(v is not None for v in values)} of {spec.evaluations} periods have data"
    else:
        verdicts = [spec.breaches(v) for v in values if v is not None]
        shown = ", ".join(f"{v:.3g}" for v in values if v is not None)
        if all(verdicts):
            new, why = ALARM, f"{spec.describe()}: {shown}"
        elif not any(verdicts):
            new, why = OK, f"not {spec.describe()}: {shown}"
        else:
            new = status.state if status.state != INSUFFICIENT else (ALARM if verdicts[-1] else OK)
            why = f"periods disagree ({shown})"
    if new == status.state:
        return replace(status, value=newest, evaluated=now), None
    return (AlarmStatus(new, now, newest, now),
            Transition(now, status.state, new, newest, why))


def due_actions(spec: AlarmSpec, status: AlarmStatus, transition: Transition | None, now: float,
                last_scaled: Callable[[str], float | None], cooldown: Callable[[str], float]
                ) -> list[ActionSpec]:
    """What to do after an evaluation: everything on entering ``alarm``; scaling again while the
    alarm stays on, once its policy's cooldown has passed (min/max are the caller's: they need
    the instance count)."""
    if status.state != ALARM:
        return []
    entering = transition is not None and transition.new == ALARM
    out = []
    for a in spec.actions:
        if a.kind == "scaling":
            last = last_scaled(a.target)
            if last is None or now - last >= cooldown(a.target):
                out.append(a)
        elif entering:
            out.append(a)
    return out


def scale_allowed(direction: str, have: int, increment: int, low: int, high: int) -> bool:
    return have + increment <= high if direction == "out" else have - increment >= low
