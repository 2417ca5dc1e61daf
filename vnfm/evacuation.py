"""Masakari's host evacuation: which VNFs' VDUs leave a failed compute host, in what order (pure).

Why a plan of its own: when a host fails, every VDU instance placed there is rebuilt elsewhere
by the VNFM's heal (same names, MACs, IPs: chains and clients keep working), the down host being
refused by the scheduler's ComputeFilter. The plan says which VNFs and instances, and which of
their VDUs give up their ``availability_zone``: every host is its own zone here, so a VDU pinned
to the failed host could go nowhere, and an evacuation exists to keep the service running (as an
operator's ``nova evacuate`` to a named host overrides the zone). VNFs are taken one at a time,
by name (a stable, reportable order); a VNF in the middle of another operation (being created,
scaled, deleted) is not touched: it is named as skipped, with its status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vnfm.model import Status, VnfRecord

# statuses a heal accepts (VnfManager.heal): a VNF in any other one is busy
EVACUABLE = (Status.ACTIVE, Status.DEAD, Status.ERROR)


@dataclass(frozen=True)
class Evacuee:
    """One VNF to rebuild off the failed host: its instances there, and the VDUs to unpin."""

    vnf_id: str
    vnf_name: str
    instances: tuple[tuple[str, int], ...]   # (VDU, instance) on the failed host
    unpin: tuple[str, ...] = ()              # VDUs whose availability_zone is the failed host

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(v if i == 0 else f"{v}#{i}" for v, i in self.instances)


@dataclass(frozen=True)
class EvacuationPlan:
    host: str
    evacuees: tuple[Evacuee, ...]
    skipped: tuple[tuple[str, str], ...] = ()   # (VNF name, why not now)

    @property
    def empty(self) -> bool:
        return not self.evacuees


def plan_evacuation(host: str, vnfs: Sequence[VnfRecord], zones: Mapping[str, Mapping[str, str | None]]) -> EvacuationPlan:
    """The VNFs of ``vnfs`` with VDU instances on ``host``; ``zones``: VNF id -> VDU name -> its
    availability_zone (from the VNF's spec)."""
    evacuees, skipped = [], []
    for rec in sorted(vnfs, key=lambda r: r.name):
        here = tuple(sorted((v.name, v.instance) for v in rec.vdus if v.host == host))
        if not here:
            continue
        if rec.status not in EVACUABLE:
            skipped.append((rec.name, f"status {rec.status}: another operation is under way"))
            continue
        pinned = zones.get(rec.id, {})
        unpin = tuple(sorted({v for v, _ in here if pinned.get(v) == host}))
        evacuees.append(Evacuee(rec.id, rec.name, here, unpin))
    return EvacuationPlan(host, tuple(evacuees), tuple(skipped))


def describe(plan: EvacuationPlan) -> str:
    """One line for the host's events and the CLI: what moves, what could not."""
    moved = "; ".join(f"{e.vnf_name} ({', '.join(e.labels)})" for e in plan.evacuees) or "nothing"
    text = f"evacuating {plan.host}: {moved}"
    if plan.skipped:
        text += "; skipped: " + "; ".join(f"{n} ({why})" for n, why in plan.skipped)
    return text
