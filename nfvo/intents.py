"""Intents: what a multi-step NFVO operation is about to do, written before it acts, so a
restart after a crash can finish it or undo it (``nfvo.reconcile`` is the shell that applies
the decision). Pure: values and the decision only.

An intent is stored (kind ``INTENT``, in the NFVO's own store) before the first step and removed
after the last; one still there at start-up means the process died inside the operation. The
decision only looks at what exists now (``Facts``): a finished resource is kept (rolled forward),
anything else the operation made is removed (rolled back). The controller needs no decision: at
start the NFVO hands it the whole document of the stored VNFFGs, so a path with no row goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

KIND = "INTENT"
FORWARD, BACK = "ROLLED_FORWARD", "ROLLED_BACK"
# operation -> the kind of resource it is about
OPERATIONS = {"vnf-create": "VNF", "vnffg-create": "VNFFG", "vnffg-update": "VNFFG", "vnffg-delete": "VNFFG",
              "ns-create": "NS", "ns-delete": "NS"}


@dataclass(frozen=True)
class Intent:
    """``payload``: what rolling back or forward needs (``ns-create``: its ``vnfs`` and
    ``vnffgs`` names and the ``record`` to write; ``vnffg-update``: the new row's ``updated_at``)."""

    id: str
    operation: str
    name: str
    step: str
    created: float
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return OPERATIONS[self.operation]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "operation": self.operation, "name": self.name, "step": self.step,
                "created": self.created, "payload": dict(self.payload)}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Intent:
        return cls(body["id"], body["operation"], body["name"], body.get("step", ""), float(body.get("created", 0.0)),
                   dict(body.get("payload") or {}))


@dataclass(frozen=True)
class Facts:
    """What the stores hold now: VNF name -> status, VNFFG name -> its row's ``updated_at``
    (which update it holds), NS names."""

    vnfs: Mapping[str, str]
    vnffgs: Mapping[str, float]
    nss: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """What to do about one open intent; the shell does the removals, writes ``write_ns``,
    then drops the intent and publishes ``verdict`` with ``reason``."""

    intent: Intent
    verdict: str  # FORWARD | BACK
    reason: str
    terminate_vnfs: tuple[str, ...] = ()
    delete_vnffgs: tuple[str, ...] = ()
    write_ns: Mapping[str, Any] | None = None
    delete_ns: bool = False


def decide(intent: Intent, facts: Facts) -> Decision:
    """Roll forward what is complete, roll back the rest (see the module docstring)."""
    op, name = intent.operation, intent.name
    where = f"interrupted at {intent.step or 'its start'}"
    if op == "vnf-create":
        status = facts.vnfs.get(name)
        if status == "ACTIVE":
            return Decision(intent, FORWARD, f"VNF {name} create {where}: the VNF is ACTIVE, kept")
        if status is None:
            return Decision(intent, BACK, f"VNF {name} create {where}: nothing was made")
        return Decision(intent, BACK, f"VNF {name} create {where}: the VNF is {status}, terminated", (name,))
    if op == "vnffg-create":
        if name in facts.vnffgs:
            return Decision(intent, FORWARD, f"VNFFG {name} create {where}: stored, handed to the controller")
        return Decision(intent, BACK, f"VNFFG {name} create {where}: never stored, its paths removed")
    if op == "vnffg-update":
        if name not in facts.vnffgs:
            return Decision(intent, BACK, f"VNFFG {name} update {where}: the VNFFG is gone")
        if facts.vnffgs[name] == intent.payload.get("updated_at"):
            return Decision(intent, FORWARD, f"VNFFG {name} update {where}: the new spec was stored, handed to the "
                                             "controller")
        return Decision(intent, BACK, f"VNFFG {name} update {where}: the stored spec is handed to the controller again")
    if op == "vnffg-delete":
        if name in facts.vnffgs:
            return Decision(intent, FORWARD, f"VNFFG {name} delete {where}: the row removed, and its paths", (),
                            (name,))
        return Decision(intent, FORWARD, f"VNFFG {name} delete {where}: already gone")
    if op == "ns-create":
        return _ns(intent, facts, where)
    if op == "ns-delete":  # what is gone cannot come back: finish it
        vnfs = tuple(v for v in reversed(intent.payload.get("vnfs", ())) if v in facts.vnfs)
        graphs = tuple(g for g in reversed(intent.payload.get("vnffgs", ())) if g in facts.vnffgs)
        what = ", ".join([*(f"VNFFG {g}" for g in graphs), *(f"VNF {v}" for v in vnfs)]) or "only the row was left"
        return Decision(intent, FORWARD, f"NS {name} delete {where}: finished ({what})", vnfs, graphs,
                        delete_ns=name in facts.nss)
    return Decision(intent, BACK, f"unknown operation {op!r} on {name}: dropped")


def _ns(intent: Intent, facts: Facts, where: str) -> Decision:
    name = intent.name
    vnfs = tuple(str(v) for v in intent.payload.get("vnfs", ()))
    vnffgs = tuple(str(g) for g in intent.payload.get("vnffgs", ()))
    if name in facts.nss:
        return Decision(intent, FORWARD, f"NS {name} create {where}: the NS is stored, kept")
    record = intent.payload.get("record")
    complete = (all(facts.vnfs.get(v) == "ACTIVE" for v in vnfs) and all(g in facts.vnffgs for g in vnffgs))
    if complete and record:
        return Decision(intent, FORWARD, f"NS {name} create {where}: every VNF and VNFFG is there, NS stored",
                        write_ns=record)
    made_vnfs = tuple(v for v in reversed(vnfs) if v in facts.vnfs)
    made_graphs = tuple(g for g in reversed(vnffgs) if g in facts.vnffgs)
    what = ", ".join([*(f"VNFFG {g}" for g in made_graphs), *(f"VNF {v}" for v in made_vnfs)]) or "nothing"
    return Decision(intent, BACK, f"NS {name} create {where}: removed {what}", made_vnfs, made_graphs)


def decide_all(intents: Iterable[Intent], facts: Facts) -> list[Decision]:
    """Oldest first, each against the facts the ones before it leave (an NS create rolled back
    removes the VNFFG whose own create intent, nested in it, comes next)."""
    out = []
    for intent in sorted(intents, key=lambda i: (i.created, i.id)):
        out.append(decide(intent, facts))
        facts = after(facts, out[-1])
    return out


def after(facts: Facts, decision: Decision) -> Facts:
    """The facts once ``decision`` is carried out."""
    nss = facts.nss | ({decision.intent.name} if decision.write_ns is not None else set())
    nss = nss - ({decision.intent.name} if decision.delete_ns else set())
    return Facts({k: v for k, v in facts.vnfs.items() if k not in decision.terminate_vnfs},
                 {k: v for k, v in facts.vnffgs.items() if k not in decision.delete_vnffgs}, frozenset(nss))
