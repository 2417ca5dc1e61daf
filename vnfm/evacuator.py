"""The VNFM's shell around ``vnfm.evacuation``: rebuild a failed host's VDUs on the other hosts.

Each evacuee goes through the manager's heal (under its operations lock, one VNF at a time):
its instances on the failed host are deleted (container, processes, namespace, host-side veth
ends; the ports on the host's bridge too, unless its OVS does not answer: the VIM's
``purge_host`` takes those when the host is back) and placed again by the scheduler, whose
ComputeFilter refuses the down host, with the same names, MACs and IPs. The heal's events name
the CPs made again, so the NFVO re-renders every chain through them. From ``mark_host_lost`` on,
the host is failed in the VIM and no monitor acts on a VDU there
(``vnfm.selfheal.evacuating``): a respawn
racing the evacuation left it nothing to move.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from vnfm.errors import VnfmError
from vnfm.evacuation import EvacuationPlan, describe, plan_evacuation
from vnfm.model import Status
from vnfm.selfheal import mark

if TYPE_CHECKING:
    from vnfm.manager import VnfManager

log = logging.getLogger(__name__)


def evacuate(vnfm: VnfManager, host: str) -> EvacuationPlan:
    """Rebuild ``host``'s VDU instances elsewhere; VnfmError if the host is not down (evacuating
    onto itself would move nothing) or unknown. A VNF that fails is left in ERROR, logged, and
    the next one goes on; the plan is returned as made."""
    hosts = {h.name: h for h in vnfm.hosts()}
    if host not in hosts:
        raise VnfmError(f"no compute host {host!r} (hosts: {', '.join(hosts) or 'none'})")
    if hosts[host].up:
        raise VnfmError(f"compute host {host} is up: only a down host is evacuated (nfv host fail {host})")
    with vnfm._lock:
        stored = dict(vnfm._vnfs)
        plan = plan_evacuation(host, [s.record for s in stored.values()],
                               {i: {v.name: v.zone for v in s.spec.vdus} for i, s in stored.items()})
        log.warning("%s", describe(plan))
        for e in plan.evacuees:
            rec = vnfm._vnfs[e.vnf_id].record
            if rec.status not in (Status.ACTIVE, Status.DEAD, Status.ERROR) or not any(
                    (v.name, v.instance) in e.instances and v.host == host for v in rec.vdus):
                continue   # an empty selection would heal the whole VNF from its VNFD
            try:
                vnfm._heal(rec, None, None, f"evacuated from failed host {host}", only=set(e.instances),
                           unpin=set(e.unpin))
            except VnfmError:
                log.exception("evacuating VNF %s from %s failed", e.vnf_name, host)
    return plan


def mark_host_lost(vnfm: VnfManager, host: str, why: str) -> int:
    """``host`` failed in the VIM (down for the scheduler) and every VDU instance on it dead (its
    VNF DEAD: chains through it turn DEGRADED, or follow their failure policy) until the
    evacuation rebuilds it (``vnfm.selfheal.evacuating``); returns how many."""
    _failed(vnfm, host).setdefault(host, why)
    lost = 0
    with vnfm._writes:
        for stored in list(vnfm._vnfs.values()):
            for v in stored.record.vdus:
                if v.host == host and not v.dead:
                    mark(vnfm, stored.record.id, v, True, f"compute host {host} failed: {why}")
                    lost += 1
    return lost


def fail_host(vnfm: VnfManager, host: str, why: str) -> EvacuationPlan:
    """Mark ``host`` failed in the VIM (down whatever its OVS answers: fenced; a hub hands its role
    on first, so the evacuees' VLs and DHCP are there for them) and evacuate it."""
    failed = _failed(vnfm, host)
    fail_site = getattr(vnfm.vim, "fail_site", None)
    if fail_site is not None:   # VimError (a VnfmError) if no host is up to take the hub's role
        fail_site(host, why)
    else:
        failed[host] = why
    return evacuate(vnfm, host)


def recover_host(vnfm: VnfManager, host: str) -> tuple[str, ...]:
    """``host`` takes VDUs again; what the evacuation left on its bridge goes (names returned).
    Nothing moves back (Nova's behaviour)."""
    failed = _failed(vnfm, host)
    with vnfm._lock:
        purged = vnfm.vim.purge_host(host)   # type: ignore[attr-defined]
        failed.pop(host, None)
    return purged


def _failed(vnfm: VnfManager, host: str) -> dict[str, str]:
    failed = getattr(vnfm.vim, "failed", None)
    if failed is None:
        raise VnfmError(f"this VIM cannot fail or recover compute host {host}")
    if host not in {h.name for h in vnfm.hosts()}:
        raise VnfmError(f"no compute host {host!r}")
    return failed
