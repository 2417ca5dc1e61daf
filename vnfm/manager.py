"""The VNF manager: drives VNFs through their lifecycle on a VIM, persists records, monitors.

Imperative shell around ``vnfm.lifecycle`` (pure rules) and ``vnfm.spec``: every operation
checks its input first (nothing is created for a bad request), records the pending state, asks
the VIM, and records the outcome; failures roll back what was made. One lock serialises
operations (monitor-triggered heals included); reads come from an in-memory copy of the store
without the lock, so a chain re-render never waits for a heal that takes seconds.
"""

from __future__ import annotations

import builtins
import ipaddress
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from descriptors import Vnfd, load_vnfd
from vnfm import lifecycle as lc
from vnfm.alarmrunner import AlarmRunner
from vnfm.alarms import AlarmView
from vnfm.errors import AlreadyExists, InvalidRequest, NotFound, VimError, VnfmError
from vnfm.evacuation import EvacuationPlan
from vnfm.evacuator import evacuate, evacuating, fail_host, mark_host_lost, recover_host
from vnfm.faults import crash_point
from vnfm.images import ImageCatalog
from vnfm.metrics import CgroupSource, Metrics, MetricSource, UnavailableSource
from vnfm.model import IpForwarding, Network, VduRecord, VnfEvent, VnfRecord, Status as S
from vnfm.monitor import Monitor, Target, monitor_targets, probe_networks
from vnfm.protocols import Store, StoredVnf
from vnfm.scheduler import place_plans
from vnfm.spec import PlacementSpec, VduSpec, VnfSpec, compile_spec
from vnfm.vim.base import ComputeHostInfo, DhcpHost, PortRequest, ServerRequest, Vim
from vnfm.vim.exitwatch import ExitWatcher, Watched, watched_vdus
from vnfm.vim.firstboot import boot_ok

log = logging.getLogger(__name__)
DEFAULT_POOL = "10.96.0.0/12"


class VnfManager:
    def __init__(self, vim: Vim, store: Store, *, prefix: str,
                 now: Callable[[], float] = time.time, monitor: bool = True,
                 catalog: ImageCatalog | None = None, subnet_pool: str = DEFAULT_POOL,
                 metric_sources: Iterable[MetricSource] = (), watch_exits: bool = True) -> None:
        if prefix != vim.prefix:
            raise ValueError(f"manager prefix {prefix!r} differs from the VIM's {vim.prefix!r}")
        if len(prefix) > lc.max_prefix_len():
            raise ValueError(f"prefix {prefix!r} longer than {lc.max_prefix_len()} characters")
        self.vim, self.prefix, self.now = vim, prefix, now
        self.catalog = catalog or ImageCatalog()
        self.pool = subnet_pool
        self.store = store  # closed by ``close``
        self._lock = threading.RLock()
        self._writes = threading.RLock()   # record writes; an exit is marked under this one only
        self._subs: builtins.list[Callable[[VnfEvent], None]] = []
        self._vnfs: dict[str, StoredVnf] = {v.record.id: v for v in self.store.all()}
        self._nets: dict[str, Network] = self.store.networks()
        self._monitor = Monitor(vim, self._on_verdict) if monitor else None
        # VDU programs (host pids: the local VIM) watched for exit; False: polling only (a baseline)
        self._exits = ExitWatcher(vim.alive, self._on_exit) if monitor and watch_exits else None
        with self._lock:
            self._recover()
        # alarms read VDU figures from cgroups; telemetry plugs chain/hop figures in (metric_sources)
        self._alarms = AlarmRunner(self, Metrics(CgroupSource(), *metric_sources, UnavailableSource()))
        if monitor:
            self._alarms.start()

    # -- queries ---------------------------------------------------------------------------------
    def get(self, name_or_id: str) -> VnfRecord:
        return self._find(name_or_id).record

    def list(self) -> builtins.list[VnfRecord]:
        # dict(...) copies in one step under the GIL: a consistent view without the lock
        return [v.record for v in sorted(dict(self._vnfs).values(),
                                         key=lambda v: (v.record.created_at, v.record.name))]

    def hosts(self) -> tuple[ComputeHostInfo, ...]:
        """The VIM's compute hosts as it sees them now (the NFVO renders chains onto their switches)."""
        return self.vim.hosts()

    def networks(self) -> dict[str, Network]:
        return dict(self._nets)

    def ensure_network(self, name: str, cidr: str | None = None) -> Network:
        """Declare a network (a VL's ``network_name``) up front, e.g. with its own subnet;
        otherwise networks appear on first use with a /24 from the pool."""
        with self._lock:
            if name in self._nets:
                if cidr and self._nets[name].cidr != str(ipaddress.ip_network(cidr, strict=False)):
                    raise InvalidRequest(f"network {name} exists with {self._nets[name].cidr}")
                return self._nets[name]
            try:
                new = lc.plan_networks([name], self._nets, self.pool, {name: cidr} if cidr else {})
            except ValueError as exc:
                raise InvalidRequest(f"network {name}: {exc}") from exc
            self.store.add_networks(list(new.values()))
            self._nets = {**self._nets, **new}
            return new[name]

    def events(self, name_or_id: str | None = None) -> builtins.list[VnfEvent]:
        vnf_id = self._find(name_or_id).record.id if name_or_id else None
        return self.store.events(vnf_id)

    def subscribe(self, callback: Callable[[VnfEvent], None]) -> None:
        self._subs.append(callback)

    def exec(self, name_or_id: str, argv: builtins.list[str], vdu: str | None = None,
             *, instance: int = 0, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        rec = self.get(name_or_id)
        cands = [v for v in rec.vdus if (vdu is None or v.name == vdu) and v.instance == instance]
        if not cands:
            raise NotFound(f"VNF {rec.name} has no VDU {vdu or '(any)'} instance {instance}")
        return self.vim.exec(cands[0].key, argv, timeout=timeout)

    def ip_forwarding(self, name_or_id: str, vdu: str, instance: int = 0) -> IpForwarding:
        """Whether that VDU instance forwards IP now (its guest's sysctls, asked of the VIM)."""
        rec = self.get(name_or_id)
        found = next((v for v in rec.vdus if v.name == vdu and v.instance == instance), None)
        if found is None:
            raise NotFound(f"VNF {rec.name} has no VDU {vdu} instance {instance}")
        return self.vim.ip_forwarding(found.key)

    def console(self, name_or_id: str, vdu: str | None = None, *, instance: int = 0) -> str:
        """The VDU's console log (first boot's user_data output first, then its program's)."""
        rec = self.get(name_or_id)
        cands = [v for v in rec.vdus if (vdu is None or v.name == vdu) and v.instance == instance]
        if not cands:
            raise NotFound(f"VNF {rec.name} has no VDU {vdu or '(any)'} instance {instance}")
        return self.vim.console(cands[0].key)

    # -- alarms (vnfm.alarmrunner) ------------------------------------------------------------------
    def alarms(self, name_or_id: str | None = None) -> builtins.list[AlarmView]:
        """The VNFs' alarms (of one VNF if named): state, last value, history."""
        vnf_id = self._find(name_or_id).record.id if name_or_id else None
        return [a for a in self._alarms.views() if vnf_id in (None, a.vnf_id)]

    def armed(self) -> builtins.list[tuple[VnfRecord, VnfSpec]]:
        """VNFs with alarms (the runner samples only the ACTIVE ones; the others keep their state)."""
        with self._lock:
            return [(v.record, v.spec) for v in self._vnfs.values() if v.spec.alarms]

    def note(self, vnf_id: str, reason: str) -> None:
        """An event on a VNF that changes nothing of it (e.g. an alarm's state change)."""
        with self._lock:
            stored = self._vnfs.get(vnf_id)
            if stored is not None:
                rec = stored.record
                self._emit(VnfEvent(self.now(), rec.id, rec.name, rec.status, rec.status, reason))

    # -- lifecycle -------------------------------------------------------------------------------
    def instantiate(self, name: str, vnfd: Vnfd | str | Path, *, vnfd_name: str | None = None,
                    params: Mapping[str, Any] | str | None = None) -> VnfRecord:
        """Create every VDU instance; returns the ACTIVE record or raises (ERROR recorded for
        VIM failures, with everything rolled back; nothing recorded for a bad request)."""
        if not name or not isinstance(name, str):
            raise InvalidRequest("a VNF needs a name")
        if not isinstance(vnfd, Vnfd):
            vnfd = load_vnfd(vnfd, params)
        spec = compile_spec(vnfd, self.catalog)
        with self._lock:
            if any(v.record.name == name for v in self._vnfs.values()):
                raise AlreadyExists(f"VNF {name!r} exists already")
            new_nets = lc.plan_networks(spec.networks, self._nets, self.pool, dict(spec.cidrs))
            nets = {**self._nets, **new_nets}
            t = self.now()
            vtype = vnfd.vnf_type.node_type if vnfd.vnf_type else None
            rec = VnfRecord(str(uuid.uuid4()), name, vnfd_name or vnfd.name, S.PENDING_CREATE,
                            "", (), t, vtype, lc.allocate_code(v.record.code
                                                               for v in self._vnfs.values()), t)
            plans = self._plan(rec, [(v, i) for v, i in lc.initial_instances(spec)], nets, spec.placement)
            self.store.add_networks(list(new_nets.values()))
            self._nets = nets
            self._put(rec, spec)
            self._emit(VnfEvent(t, rec.id, name, "", S.PENDING_CREATE, "instantiate requested"))
            try:
                vdus = self._create_all(rec, plans)
            except VimError as exc:
                self._set(rec, S.ERROR, f"instantiate failed (rolled back): {exc}")
                raise
            rec = self._set(rec, S.ACTIVE, "instantiated", vdus=tuple(vdus))
            self._sync()
            return rec

    def terminate(self, name_or_id: str) -> None:
        with self._lock:
            rec = self.get(name_or_id)
            lc.require(rec, "terminate", (S.ACTIVE, S.DEAD, S.ERROR))
            rec = self._set(rec, S.PENDING_DELETE, "terminate requested")
            self._sync()
            try:
                for key in sorted({v.key for v in rec.vdus}):
                    self.vim.delete_server(key)
                for key in self._keys_of_code(rec.code):
                    self.vim.delete_server(key)
            except VnfmError as exc:
                self._set(rec, S.ERROR, f"terminate failed: {exc}")
                raise
            _, ev = lc.transition(rec, S.DELETED, "terminated", self.now(),
                                  tuple(c.key for c in rec.cps))
            self.store.delete(rec.id)
            self._vnfs.pop(rec.id, None)
            self._emit(ev)
            self._sync()

    def heal(self, name_or_id: str, vdu: str | None = None, *,
             instance: int | None = None) -> VnfRecord:
        """Recreate the VDU instances (all, or those named) with the same names, MACs, IPs and
        OpenFlow port numbers; the event lists their CPs so chains can be re-rendered."""
        with self._lock:
            rec = self.get(name_or_id)
            lc.require(rec, "heal", (S.ACTIVE, S.DEAD, S.ERROR))
            spec = self._vnfs[rec.id].spec
            if vdu is not None and vdu not in {v.name for v in spec.vdus}:
                raise InvalidRequest(f"VNF {rec.name} has no VDU {vdu!r}")
            return self._heal(rec, vdu, instance, "heal requested")

    def evacuate(self, host: str) -> EvacuationPlan:
        """Rebuild every VDU instance on ``host`` (failed: the VIM reports it down) on the other
        hosts, VNF by VNF (``vnfm.evacuation``); a VNF whose rebuild fails is left in ERROR and
        the others go on. The plan says what moved and what was skipped."""
        return evacuate(self, host)

    def mark_host_lost(self, host: str, why: str) -> int:
        """Every VDU instance on ``host`` dead (the host failed); how many."""
        return mark_host_lost(self, host, why)

    def fail_host(self, host: str, why: str) -> EvacuationPlan:
        """``host`` down whatever it answers (fenced: Masakari), then evacuated."""
        return fail_host(self, host, why)

    def recover_host(self, host: str) -> tuple[str, ...]:
        """``host`` up again, its stale ports purged (returned); nothing moves back."""
        return recover_host(self, host)

    def scale_plan(self, name_or_id: str, policy: str, direction: str) -> builtins.list[tuple[str, int]]:
        """The (VDU, instance) pairs ``scale`` would add or remove now (checks as ``scale``
        does): lets the NFVO steer chains away from instances before they are removed."""
        with self._lock:
            rec = self.get(name_or_id)
            pairs = lc.plan_scale(rec, self._vnfs[rec.id].spec.policy(policy), direction)
            lc.require(rec, f"scale {direction}", (S.ACTIVE,))
            return pairs

    def scale(self, name_or_id: str, policy: str, direction: str) -> VnfRecord:
        with self._lock:
            rec = self.get(name_or_id)
            spec = self._vnfs[rec.id].spec
            pairs = lc.plan_scale(rec, spec.policy(policy), direction)
            lc.require(rec, f"scale {direction}", (S.ACTIVE,))
            if direction == "out":
                plans = self._plan(rec, [(spec.vdu(v), i) for v, i in pairs], self._nets, spec.placement)
                rec = self._set(rec, S.PENDING_SCALE_OUT, f"scale out by {policy}")
                try:
                    made = self._create_all(rec, plans)
                except VimError as exc:
                    self._set(rec, S.ACTIVE, f"scale out failed (rolled back): {exc}")
                    self._sync()   # an exit ignored while PENDING_SCALE_OUT is reported again
                    raise
                vdus = _sorted_vdus([*rec.vdus, *made])
                changed = [c.key for v in made for c in v.cps]
                rec = self._set(rec, S.ACTIVE, f"scaled out by {policy}", changed, vdus=vdus)
            else:
                gone = [v for v in rec.vdus if (v.name, v.instance) in set(pairs)]
                rec = self._set(rec, S.PENDING_SCALE_IN, f"scale in by {policy}")
                self._sync()
                try:
                    for v in gone:
                        self.vim.delete_server(v.key)
                except VnfmError as exc:
                    self._set(rec, S.ERROR, f"scale in failed: {exc}")
                    raise
                vdus = tuple(v for v in rec.vdus if v not in gone)
                changed = [c.key for v in gone for c in v.cps]
                rec = self._set(rec, S.ACTIVE, f"scaled in by {policy}", changed, vdus=vdus)
            self._sync()
            return rec

    def update(self, name_or_id: str, vnfd: Vnfd) -> VnfRecord:
        """Tacker's vnf-update: recreate every VDU instance from ``vnfd`` (new parameters or a
        new version of the descriptor) with the same names, MACs, IPs and OpenFlow ports, so
        chains through the VNF keep their ports. VDUs, CPs and networks must stay the same;
        if the new VDUs fail, the old spec is restored and healed back."""
        spec = compile_spec(vnfd, self.catalog)
        with self._lock:
            rec = self.get(name_or_id)
            lc.require(rec, "update", (S.ACTIVE,))
            old = self._vnfs[rec.id].spec
            problem = lc.update_problem(old, spec)
            if problem:
                raise InvalidRequest(f"VNF {rec.name} cannot be updated in place: {problem}")
            self._put(rec, spec)
            try:
                return self._heal(rec, None, None, "update requested")
            except VnfmError:
                self._put(self.get(rec.id), old)
                try:
                    self._heal(self.get(rec.id), None, None, "update failed: restoring")
                except VnfmError:
                    log.exception("restoring %s after a failed update", rec.name)
                raise

    def close(self) -> None:
        """Stop the watchers and the store; VNFs keep running (a new manager adopts them)."""
        self._alarms.close()
        if self._monitor is not None:
            self._monitor.close()
        if self._exits is not None:
            self._exits.close()
        self.store.close()

    # -- internals -------------------------------------------------------------------------------
    def _find(self, name_or_id: str | None) -> StoredVnf:
        for v in dict(self._vnfs).values():   # lock-free, as ``list``
            if name_or_id in (v.record.id, v.record.name):
                return v
        raise NotFound(f"no VNF {name_or_id!r}")

    def _plan(self, rec: VnfRecord, wanted: Iterable[tuple[VduSpec, int]],
              nets: Mapping[str, Network], placement: Iterable[PlacementSpec],
              keep: Mapping[tuple[str, int], VduRecord] = {}) -> builtins.list[lc.VduPlan]:
        """Names and addresses, then a host for each (the scheduler, all at once, among the VNF's
        other instances ``rec.vdus``; a healed one keeps its host if it can): PlacementError
        before anything is made."""
        ips, macs = lc.used_addresses([v.record for v in self._vnfs.values()])
        plans = [lc.plan_vdu(prefix=self.prefix, rec=rec, spec=s, instance=i, networks=nets,
                             used_ips=ips, used_macs=macs, bridge=self.vim.bridge,
                             keep=keep.get((s.name, i))) for s, i in wanted]
        return place_plans(self.vim.hosts(), plans, tuple(placement), rec.vdus,
                           {k: v.host for k, v in keep.items()})

    def _create_all(self, rec: VnfRecord, plans: builtins.list[lc.VduPlan]) -> builtins.list[VduRecord]:
        """Create servers in order; on failure delete the ones made here and raise VimError."""
        made: builtins.list[VduRecord] = []
        self._sync_dhcp([(rec.name, p.record) for p in plans])   # leases ready before the VDUs boot
        try:
            for plan in plans:
                made.append(self._create(rec, plan))
                crash_point("vnf-create.vdu-created")  # the crash tests' point: a VDU made, the record PENDING
        except Exception as exc:
            for v in made:
                try:
                    self.vim.delete_server(v.key)
                except Exception:
                    log.exception("rollback of %s failed", v.key)
            self._sync_dhcp()
            raise exc if isinstance(exc, VimError) else VimError(str(exc)) from exc
        return made

    def _create(self, rec: VnfRecord, plan: lc.VduPlan) -> VduRecord:
        spec, vdu = plan.spec, plan.record
        data = [c for c in vdu.cps if not c.management] or list(vdu.cps)
        mgmt = [c for c in vdu.cps if c.management] or list(vdu.cps)
        values = {"iface": data[0].iface if data else "", "mgmt_iface": mgmt[0].iface if mgmt
                  else "", "vdu": vdu.name, "instance": str(vdu.instance)}
        req = ServerRequest(
            vdu.key, spec.argv, spec.ready,
            tuple(PortRequest(c.ovs_port, c.iface, c.mac, c.ip, self._nets[c.vl],
                              c.ofport or None, {"nfv-vnf": rec.id, "nfv-cp": c.key})
                  for c in vdu.cps),
            spec.volume_bytes, spec.cpus, spec.mem_bytes, values,
            {"vnf": rec.id, "vnf_name": rec.name, "vdu": vdu.name}, spec.image, spec.rootfs,
            spec.user_data, spec.config, vdu.host or None)
        server = self.vim.create_server(req)
        if not boot_ok(server.boot):   # as with cloud-init: the VM is up, its script was not
            self._emit(VnfEvent(self.now(), rec.id, rec.name, rec.status, rec.status,
                                f"VDU {vdu.name}#{vdu.instance} first boot: {server.boot}"))
        cps = tuple(replace(c, ofport=server.ofports.get(c.ovs_port, 0)) for c in vdu.cps)
        return replace(vdu, pid=server.pid, cps=cps, volume=server.volume, limits=server.limits,
                       namespace=server.namespace, boot=server.boot, host=server.host or vdu.host)

    def _heal(self, rec: VnfRecord, vdu: str | None, instance: int | None,
              why: str, *, only: Collection[tuple[str, int]] | None = None, unpin: Collection[str] = ()) -> VnfRecord:
        """``only``: just these (VDU, instance); ``unpin``: VDUs placed ignoring their zone (evacuation)."""
        spec = self._vnfs[rec.id].spec
        spec = replace(spec, vdus=tuple(replace(s, zone=None) if s.name in unpin else s for s in spec.vdus))
        targets = [v for v in rec.vdus if (vdu is None or v.name == vdu)
                   and (instance is None or v.instance == instance) and (only is None or (v.name, v.instance) in only)]
        rec = self._set(rec, S.PENDING_HEAL, why)
        try:
            if targets:
                for v in targets:
                    self.vim.delete_server(v.key)
                keep = {(v.name, v.instance): v for v in targets}
                others = [v for v in rec.vdus if v not in targets]
                plans = self._plan(replace(rec, vdus=tuple(others)),
                                   [(spec.vdu(v.name), v.instance) for v in targets],
                                   self._nets, spec.placement, keep)
            else:   # nothing left (a rolled-back instantiate): start from the VNFD again
                others = list(rec.vdus)
                plans = self._plan(rec, lc.initial_instances(spec), self._nets, spec.placement)
            made = self._create_all(rec, plans)
        except VnfmError as exc:
            self._set(rec, S.ERROR, f"heal failed: {exc}", vdus=tuple(
                v for v in rec.vdus if v not in targets))
            self._sync()
            raise
        changed = [c.key for v in made for c in v.cps]
        rec = self._set(rec, S.ACTIVE, f"healed: {why}", changed,
                        vdus=_sorted_vdus([*others, *made]))
        self._sync()
        return rec

    def _set(self, rec: VnfRecord, status: str, reason: str, changed: Iterable[str] = (),
             **changes: Any) -> VnfRecord:
        new, ev = lc.transition(rec, status, reason, self.now(), tuple(changed), **changes)
        self._put(new)
        self._emit(ev)
        return new

    def _put(self, rec: VnfRecord, spec: VnfSpec | None = None) -> None:
        with self._writes:
            self.store.put(rec, spec)
            old = self._vnfs.get(rec.id)
            self._vnfs[rec.id] = StoredVnf(rec, spec or old.spec)  # type: ignore[union-attr]

    def _emit(self, ev: VnfEvent) -> None:
        self.store.add_event(ev)
        log.info("VNF %s: %s -> %s (%s)", ev.vnf_name, ev.old, ev.new, ev.reason)
        for cb in list(self._subs):
            try:
                cb(ev)
            except Exception:
                log.exception("event subscriber failed")

    def _keys_of_code(self, code: str) -> builtins.list[str]:
        stem = f"{self.prefix}{code}"
        return sorted(k for k in self.vim.server_keys() if k.startswith(stem))

    def _targets(self) -> set[Target]:
        return monitor_targets(((v.record, v.spec) for v in self._vnfs.values()), self._nets)

    def _sync(self) -> None:
        """Level-triggered: probes and watchers match the records (after every change)."""
        targets = self._targets()
        self.vim.ensure_probes(probe_networks(targets))
        self._sync_dhcp()
        if self._monitor is not None:
            self._monitor.sync(targets)
        if self._exits is not None:
            self._exits.sync(watched_vdus(v.record for v in self._vnfs.values()))

    def _sync_dhcp(self, pending: Iterable[tuple[str, VduRecord]] = ()) -> None:
        """Level-triggered, as Neutron's DHCP agent: a lease for every CP's VIM address (plus
        the ``pending`` VDUs about to boot). A failure is logged: the static addresses stand."""
        vdus = [*((v.record.name, vdu) for v in self._vnfs.values() for vdu in v.record.vdus), *pending]
        hosts = dhcp_hosts(vdus)
        try:
            self.vim.ensure_dhcp(sorted({self._nets[h.network] for h in hosts}, key=lambda n: n.vlan), hosts)
        except VnfmError as exc:
            log.error("DHCP not in step with the records: %s", exc)

    def _on_verdict(self, t: Target, verdict: str, why: str) -> bool:
        """The monitor's verdict on a VDU; False when the VNF is busy (healing, scaling): the
        monitor then says it again at its next failed check, so a hung VDU is not forgotten."""
        with self._lock:
            stored = self._vnfs.get(t.vnf_id)
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
                    self._mark(rec.id, vdu, False, f"monitor: VDU {t.vdu}#{t.instance} answers again")
                return True
            if not vdu.dead:
                rec = self._mark(rec.id, vdu, True, f"monitor: {why}")
            self._act(rec.id, vdu, t.spec.action, why)
            return True

    def _on_exit(self, w: Watched) -> None:
        """The VIM saw a VDU's program exit: mark it dead now (chains drop it at once), then act as
        its monitoring policy says in a thread of its own (a respawn takes seconds). Not under the
        operations' lock (another VNF's heal holds it for seconds): an operation on this VNF that
        writes its older copy over the mark ends in ``_sync``, where the watcher reports anew."""
        with self._writes:
            stored = self._vnfs.get(w.vnf_id)
            if stored is None or stored.record.status not in (S.ACTIVE, S.DEAD):
                return   # being healed, scaled or deleted: what exited is being replaced
            vdu = next((v for v in stored.record.vdus
                        if (v.name, v.instance, v.pid) == (w.vdu, w.instance, w.pid)), None)
            if vdu is None or vdu.dead:
                return
            why = f"VDU {w.vdu}#{w.instance} process exited (pid {w.pid})"
            self._mark(stored.record.id, vdu, True, f"VIM: {why}")
            mon = stored.spec.vdu(w.vdu).monitor
        if mon is not None and mon.action != "log":
            threading.Thread(target=self._act, args=(w.vnf_id, vdu, mon.action, why), daemon=True,
                             name=f"vnfm-act-{w.key}").start()

    def _mark(self, vnf_id: str, vdu: VduRecord, dead: bool, why: str) -> VnfRecord:
        """``vdu`` (not) dead in the VNF's current record; the VNF is DEAD while any of its VDUs
        is, ACTIVE again after."""
        with self._writes:
            rec = self._vnfs[vnf_id].record
            vdus = tuple(replace(v, dead=dead) if (v.name, v.instance, v.pid) == (vdu.name, vdu.instance, vdu.pid)
                         else v for v in rec.vdus)
            if (dead and rec.status == S.ACTIVE) or (not dead and rec.status == S.DEAD and not any(v.dead for v in vdus)):
                return self._set(rec, S.DEAD if dead else S.ACTIVE, why, vdus=vdus)
            new = replace(rec, vdus=vdus, reason=why, updated_at=self.now())   # DEAD stays DEAD: one more instance
            self._put(new)
            self._emit(VnfEvent(self.now(), rec.id, rec.name, rec.status, new.status, why))
            return new

    def _act(self, vnf_id: str, vdu: VduRecord, action: str, why: str) -> None:
        """The monitoring policy's action for a dead ``vdu``, unless it was healed meanwhile."""
        with self._lock:
            stored = self._vnfs.get(vnf_id)
            if stored is None or stored.record.status not in (S.ACTIVE, S.DEAD):
                return
            rec = stored.record
            if not any((v.name, v.instance, v.pid) == (vdu.name, vdu.instance, vdu.pid) for v in rec.vdus):
                return
            if evacuating(self, vdu):
                log.warning("%s: no %s of VDU %s: host %s failed, its evacuation rebuilds it", rec.name, action,
                            vdu.name, vdu.host)
                return
            try:
                if action == "respawn":
                    self._heal(rec, None, None, f"respawn after: {why}")
                elif action == "vdu_autoheal":
                    self._heal(rec, vdu.name, vdu.instance, f"vdu_autoheal after: {why}")
                elif action == "log_and_kill":
                    self.terminate(rec.id)
            except VnfmError:
                log.exception("monitor action %s on %s failed", action, rec.name)

    def _recover(self) -> None:
        """Adopt what a previous manager left: finish or undo interrupted operations, remove
        VIM objects no record owns, restart probes and watchers."""
        for stored in list(self._vnfs.values()):
            rec = stored.record
            if rec.status == S.PENDING_CREATE:
                for key in self._keys_of_code(rec.code):
                    self.vim.delete_server(key)
                self._set(rec, S.ERROR, "manager restarted during instantiate; rolled back",
                          vdus=())
            elif rec.status == S.PENDING_DELETE:
                self._finish_delete(rec)
            elif rec.status in (S.PENDING_HEAL, S.PENDING_SCALE_OUT, S.PENDING_SCALE_IN):
                self._set(rec, S.ERROR, f"manager restarted during {rec.status}; heal it")
        for key in lc.garbage(self.prefix, self.vim.server_keys(),
                              [v.record for v in self._vnfs.values()]):
            log.warning("removing orphaned VIM server %s", key)
            self.vim.delete_server(key)
        self._sync()

    def _finish_delete(self, rec: VnfRecord) -> None:
        for key in self._keys_of_code(rec.code):
            self.vim.delete_server(key)
        _, ev = lc.transition(rec, S.DELETED, "terminated (after restart)", self.now())
        self.store.delete(rec.id)
        self._vnfs.pop(rec.id, None)
        self._emit(ev)


def dhcp_hosts(vdus: Iterable[tuple[str, VduRecord]]) -> builtins.list[DhcpHost]:
    """One DHCP host per addressed CP of (VNF name, VDU instance), named ``vnf-vdu[-instance]``
    (unique per network: VNF names are unique), once each (a healed VDU is also pending)."""
    return sorted({DhcpHost(c.vl, c.mac, c.ip.split("/")[0], f"{vnf}-{vdu.name}" + (f"-{vdu.instance}" if vdu.instance else ""))
                   for vnf, vdu in vdus for c in vdu.cps if c.ip}, key=lambda h: (h.network, h.ip, h.mac))


def _sorted_vdus(vdus: Iterable[VduRecord]) -> tuple[VduRecord, ...]:
    return tuple(sorted(vdus, key=lambda v: (v.key)))
