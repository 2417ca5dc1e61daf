"""Tacker's ``tosca.policies.tacker.Alarming`` triggers: parsed and checked once, here.

Why in the descriptor layer: onboarding loads a VNFD without compiling it, and a bad alarm
(an unknown operator, a metadata that selects no VDU, an action that names nothing) must be
refused there, naming the policy and the field. The VNFM compiles the result (``vnfm.alarms``).

Scaling direction, as Tacker's VNF alarm monitor decides it: an action naming a scaling policy
becomes ``<policy>-out`` for ``gt``/``ge`` and ``<policy>-in`` for ``lt``/``le``; an explicit
``SP1-out``/``SP1-in`` says it outright. An ``http(s)://`` action (or ``{webhook: URL}``) is a
webhook, as Aodh's alarm actions are URLs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from descriptors.common import freeze
from descriptors.inputs import InputRef

OPERATORS = ("gt", "ge", "lt", "le", "eq", "ne")
AGGREGATIONS = ("mean", "min", "max", "sum", "count", "last", "median")
METRICS = ("cpu_util", "memory_util", "memory.usage", "chain.packets_rate", "hop.loss")
ALARM_ACTIONS = ("respawn", "log", "vdu_autoheal")
SERVER_GROUP = "metering.server_group"


@dataclass(frozen=True)
class AlarmCondition:
    operator: str        # gt | ge | lt | le | eq | ne
    threshold: float
    granularity: float   # seconds: the aggregation period
    evaluations: int     # periods that must agree before the state changes
    aggregation: str     # mean | min | max | sum | count | last | median
    resource_type: str = "instance"


@dataclass(frozen=True)
class AlarmAction:
    kind: str            # scaling | respawn | log | webhook
    target: str = ""     # the scaling policy, or the webhook's URL
    direction: str = ""  # out | in (scaling)


@dataclass(frozen=True)
class AlarmTrigger:
    name: str
    metric: str | InputRef | None
    event_type: Mapping[str, Any]
    condition: Mapping[str, Any]
    metadata: str | InputRef | None
    actions: tuple[str, ...]
    parsed: AlarmCondition | None = None       # None while an input is unresolved (or invalid)
    vdus: tuple[str, ...] = ()                 # the VDUs ``metadata`` selects
    resolved: tuple[AlarmAction, ...] = ()


@dataclass(frozen=True)
class AlarmPolicy:
    name: str
    triggers: tuple[AlarmTrigger, ...]


Report = Callable[[str, str], None]   # (field, message)


def parse_trigger(name: str, raw: Mapping[str, Any], groups: Mapping[str, str],
                  scaling: frozenset[str], report: Report) -> AlarmTrigger:
    """One trigger; ``groups`` maps VDU -> its ``metering.server_group`` (else its own name)."""
    action = raw.get("action", raw.get("actions"))
    items = action if isinstance(action, list) else [action] if action else []
    metric = raw.get("metric", raw.get("metrics"))
    metadata = raw.get("metadata")
    given = raw.get("condition")
    cond: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if not isinstance(given, Mapping):
        report(f"triggers.{name}.condition", "an alarm trigger needs a condition (threshold, comparison_operator...)")
    if not items:
        report(f"triggers.{name}.action", "an alarm trigger needs an action")
    if metric is not None and not isinstance(metric, InputRef) and str(metric) not in METRICS:
        report(f"triggers.{name}.metric", f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    elif metric is None:
        report(f"triggers.{name}.metric", "an alarm trigger needs a metric, e.g. cpu_util")
    parsed = _condition(name, cond, report)
    vdus: tuple[str, ...] = ()
    if metadata is None:
        vdus = tuple(sorted(groups))   # Tacker: no metadata watches the whole VNF
    elif not isinstance(metadata, InputRef):
        vdus = tuple(sorted(v for v, g in groups.items() if g == str(metadata))) or \
            ((str(metadata),) if str(metadata) in groups else ())
        if not vdus:
            report(f"triggers.{name}.metadata", f"{metadata!r} selects no VDU (no VDU has "
                   f"{SERVER_GROUP}: {metadata} nor that name)")
    op = cond.get("comparison_operator")
    direction = "out" if op in ("gt", "ge") else "in" if op in ("lt", "le") else "" if op in ("eq", "ne") else "?"
    resolved = []
    for item in items:
        got = _action(item, direction, scaling)
        if isinstance(got, str):
            report(f"triggers.{name}.action", got)
        else:
            resolved.append(got)
    keep = lambda v: v if v is None or isinstance(v, InputRef) else str(v)  # noqa: E731
    event_type = raw.get("event_type")
    return AlarmTrigger(name, keep(metric), freeze(dict(event_type) if isinstance(event_type, Mapping) else {}),
                        freeze(dict(cond)), keep(metadata), tuple(_action_text(i) for i in items), parsed, vdus,
                        tuple(resolved))


def _action_text(item: Any) -> str:
    if isinstance(item, Mapping) and "webhook" in item:
        return str(item["webhook"])
    return str(item)


def _action(item: Any, direction: str, scaling: frozenset[str]) -> AlarmAction | str:
    """The action, or why it is not one."""
    text = _action_text(item)
    if text.startswith(("http://", "https://")):
        return AlarmAction("webhook", text)
    if text in ALARM_ACTIONS:
        return AlarmAction("log" if text == "log" else "respawn", "" if text != "vdu_autoheal" else text)
    policy, _, explicit = text.rpartition("-")
    if policy in scaling and explicit in ("out", "in"):
        return AlarmAction("scaling", policy, explicit)
    if text in scaling:
        if direction == "?":   # the operator is an input or wrong (reported as such)
            return AlarmAction("scaling", text, "")
        if not direction:
            return (f"{text!r}: with comparison_operator eq/ne the scaling direction is unclear; "
                    f"write {text}-out or {text}-in")
        return AlarmAction("scaling", text, direction)
    return (f"{text!r} is neither a scaling policy of this VNFD ({', '.join(sorted(scaling)) or 'none'}) nor "
            f"one of {', '.join(ALARM_ACTIONS)} nor a webhook URL")


def _condition(name: str, cond: Mapping[str, Any], report: Report) -> AlarmCondition | None:
    if any(isinstance(v, InputRef) for v in cond.values()):
        return None   # checked again once inputs are resolved
    ok = True

    def number(key: str, default: float | None, *, integer: bool = False, least: float = 0.0) -> float:
        nonlocal ok
        value = cond.get(key, default)
        if value is None:
            report(f"triggers.{name}.condition.{key}", "is required")
            ok = False
            return 0.0
        try:
            if isinstance(value, bool):
                raise ValueError
            got = float(value) if not integer else int(value)
        except (TypeError, ValueError):
            report(f"triggers.{name}.condition.{key}", f"expected a number, got {value!r}")
            ok = False
            return 0.0
        if got < least or (integer and got != float(value)):
            report(f"triggers.{name}.condition.{key}", f"must be {'an integer ' if integer else ''}>= {least:g}, "
                   f"got {value!r}")
            ok = False
        return got

    threshold = number("threshold", None, least=float("-inf"))
    granularity = number("granularity", 300, least=0.1)
    evaluations = int(number("evaluations", 1, integer=True, least=1))
    operator = str(cond.get("comparison_operator", ""))
    if operator not in OPERATORS:
        report(f"triggers.{name}.condition.comparison_operator",
               f"{cond.get('comparison_operator')!r} is not one of {', '.join(OPERATORS)}")
        ok = False
    aggregation = str(cond.get("aggregation_method", "mean"))
    if aggregation not in AGGREGATIONS:
        report(f"triggers.{name}.condition.aggregation_method",
               f"{aggregation!r} is not one of {', '.join(AGGREGATIONS)}")
        ok = False
    if not ok:
        return None
    return AlarmCondition(operator, threshold, granularity, evaluations, aggregation,
                          str(cond.get("resource_type", "instance")))


def server_groups(vdus: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """VDU -> its ``metadata: {metering.server_group: G}`` (else the VDU's own name)."""
    out = {}
    for name, props in vdus.items():
        meta = props.get("metadata")
        group = meta.get(SERVER_GROUP) if isinstance(meta, Mapping) else None
        out[name] = str(group) if group is not None and not isinstance(group, InputRef) else name
    return out
