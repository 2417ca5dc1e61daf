"""The VNFM's shell around the monitoring policy (Tacker's ``monitoring_policy`` actions): what
the manager does when the monitor (``vnfm.monitor``) or the VIM's exit watcher
(``vnfm.vim.exitwatch``) says a VDU died or answers again.

A dead VDU is marked at once (its VNF DEAD: chains through it drop it), then the policy's action
runs under the manager's operations lock: ``respawn`` heals the whole VNF, ``vdu_autoheal`` that
VDU instance, ``log_and_kill`` terminates the VNF, ``log`` only records. A verdict on a program
already replaced (healed meanwhile: another pid) changes nothing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from vnfm.errors import VnfmError
from vnfm.model import Status as S, VduRecord, VnfEvent, VnfRecord
from vnfm.monitor import Target
from vnfm.vim.exitwatch import Watched

if TYPE_CHECKING:
    from vnfm.manager import VnfManager

log = logging.getLogger(__name__)


def on_verdict(vnfm: VnfManager, t: Target, verdict: str, why: str) -> bool:
    """The monitor's verdict on a VDU; False when the VNF is busy (healing, scaling): the
    monitor then says it again at its next failed check, so a hung VDU is not forgotten."""
    with vnfm._lock:
        stored = vnfm._vnfs.get(t.vnf_id)
        if stored is None:
            return True
        if stored.record.status not in (S.ACTIVE, S.DEAD):
            return False
        rec = stored.record
        vdu = next((v for v in rec.vdus if (v.name, v.instance, v.pid) == (t.vdu, t.instance, t.pid)), None)
        if vdu is None:   # healed meanwhile (a new program): a verdict on the old one
            return True
        if verdict == "recovered":
            if vdu.dead and t.spec.action == "log":
                mark(vnfm, rec.id, vdu, False, f"monitor: VDU {t.vdu}#{t.instance} answers again")
            return True
        if not vdu.dead:
            rec = mark(vnfm, rec.id, vdu, True, f"monitor: {why}")
        act(vnfm, rec.id, vdu, t.spec.action, why)
        return True


def on_exit(vnfm: VnfManager, w: Watched) -> None:
    """The VIM saw a VDU's program exit: mark it dead now (chains drop it at once), then act as
    its monitoring policy says in a thread of its own (a respawn takes seconds). Not under the
    operations' lock (another VNF's heal holds it for seconds): an operation on this VNF that
    writes its older copy over the mark ends in ``_sync``, where the watcher reports anew."""
    with vnfm._writes:
        stored = vnfm._vnfs.get(w.vnf_id)
        if stored is None or stored.record.status not in (S.ACTIVE, S.DEAD):
            return   # being healed, scaled or deleted: what exited is being replaced
        vdu = next((v for v in stored.record.vdus
                    if (v.name, v.instance, v.pid) == (w.vdu, w.instance, w.pid)), None)
        if vdu is None or vdu.dead:
            return
        why = f"VDU {w.vdu}#{w.instance} process exited (pid {w.pid})"
        mark(vnfm, stored.record.id, vdu, True, f"VIM: {why}")
        mon = stored.spec.vdu(w.vdu).monitor
    if mon is not None and mon.action != "log":
        threading.Thread(target=act, args=(vnfm, w.vnf_id, vdu, mon.action, why), daemon=True,
                         name=f"vnfm-act-{w.key}").start()


def mark(vnfm: VnfManager, vnf_id: str, vdu: VduRecord, dead: bool, why: str) -> VnfRecord:
    """``vdu`` (not) dead in the VNF's current record; the VNF is DEAD while any of its VDUs
    is, ACTIVE again after."""
    with vnfm._writes:
        rec = vnfm._vnfs[vnf_id].record
        vdus = tuple(replace(v, dead=dead) if (v.name, v.instance, v.pid) == (vdu.name, vdu.instance, vdu.pid)
                     else v for v in rec.vdus)
        if (dead and rec.status == S.ACTIVE) or (not dead and rec.status == S.DEAD and not any(v.dead for v in vdus)):
            return vnfm._set(rec, S.DEAD if dead else S.ACTIVE, why, vdus=vdus)
        new = replace(rec, vdus=vdus, reason=why, updated_at=vnfm.now())   # DEAD stays DEAD: one more instance
        vnfm._put(new)
        vnfm._emit(VnfEvent(vnfm.now(), rec.id, rec.name, rec.status, new.status, why))
        return new


def act(vnfm: VnfManager, vnf_id: str, vdu: VduRecord, action: str, why: str) -> None:
    """The monitoring policy's action for a dead ``vdu``, unless it was healed meanwhile."""
    with vnfm._lock:
        stored = vnfm._vnfs.get(vnf_id)
        if stored is None or stored.record.status not in (S.ACTIVE, S.DEAD):
            return
        rec = stored.record
        if not any((v.name, v.instance, v.pid) == (vdu.name, vdu.instance, vdu.pid) for v in rec.vdus):
            return
        if evacuating(vnfm, vdu):
            log.warning("%s: no %s of VDU %s: host %s failed, its evacuation rebuilds it", rec.name, action,
                        vdu.name, vdu.host)
            return
        try:
            if action == "respawn":
                vnfm._heal(rec, None, None, f"respawn after: {why}")
            elif action == "vdu_autoheal":
                vnfm._heal(rec, vdu.name, vdu.instance, f"vdu_autoheal after: {why}")
            elif action == "log_and_kill":
                vnfm.terminate(rec.id)
        except VnfmError:
            log.exception("monitor action %s on %s failed", action, rec.name)


def evacuating(vnfm: VnfManager, vdu: VduRecord) -> bool:
    """Whether ``vdu`` is on a failed host (``vnfm.evacuator.mark_host_lost`` on): the evacuation
    rebuilds it, so no monitor acts on it. A ping monitor's respawn (its probes fail too: they may
    be on the failed hub) racing the evacuation healed the VNF under it, which then had nothing to move."""
    return vdu.host in getattr(vnfm.vim, "failed", {})
