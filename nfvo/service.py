"""The NFVO service layer (no gRPC here): catalog, VNFs through the VNFM, VNFFGs, NSs, events.

The API servicer is a thin translation of this class; tests drive it directly with a fake
VNFM and the real controller logic behind an in-memory switch driver.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from descriptors import Vnffgd, load_nsd
from nfvo.catalog import Catalog
from nfvo.chains import ChainEngine, DocumentHook
from nfvo.draining import DRAIN_GRACE, DrainingVnfm
from nfvo.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NfvoError, NotFound
from nfvo.events import EventBus
from nfvo.model import Event, NsRecord, VimRecord, VnffgRecord, VnffgSpec
from nfvo.nsplan import bind_links, plan_ns
from nfvo.protocols import SdnPort, Store, Vnfm
from nfvo.reconcile import Journal, reconcile
from nfvo.telemetry import StackStatus, TelemetryPort
from nfvo.vnffg.manager import VnffgManager, chain_spec
from nfvo.vnffg.spec import (check_failure_policy, check_name, classifier_spec, match_items, parse_chain, parse_match,
                             spec_from_vnffgd)
from sdn.telemetry.collector import ExporterStats
from sdn.telemetry.figures import ChainFigures
from vnfm.alarms import AlarmView
from vnfm.images import ImageRecord
from vnfm.imagestore import ImageRegistry
from vnfm.faults import crash_point
from vnfm.model import Status, VnfEvent, VnfRecord

log = logging.getLogger(__name__)
RERENDER_FROM = (Status.PENDING_HEAL, Status.PENDING_SCALE_OUT, Status.PENDING_SCALE_IN, Status.PENDING_CREATE,
                 Status.DEAD, Status.ERROR)


class NfvoService:
    def __init__(self, store: Store, vnfm: Vnfm, sdn: SdnPort, *, now: Callable[[], float] = time.time,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 spawn: Callable[[Callable[[], None]], None] | None = None, images: ImageRegistry | None = None):
        self.store, self.vnfm, self._now, self._new_id = store, vnfm, now, new_id
        self._images = images
        self.bus = EventBus()
        self.catalog = Catalog(store, now=now, new_id=new_id)
        self.engine = ChainEngine(sdn)
        self.journal = Journal(store, now, new_id)
        extra = {"spawn": spawn} if spawn else {}
        self._chain_vnfm = DrainingVnfm(vnfm)  # chains drain VDU instances about to go, then omit them
        self._drain_grace = DRAIN_GRACE
        self.vnffgs = VnffgManager(store, self.catalog, self._chain_vnfm, self.engine, self.bus, now=now,
                                   new_id=new_id, journal=self.journal, **extra)
        self._spawn = self.vnffgs._spawn
        self._telemetry: TelemetryPort | None = None
        vnfm.subscribe(self._on_vnf_event)

    def start(self) -> None:
        """Finish or undo what a crash interrupted (``nfvo.reconcile``), then hand the controller
        the stored state as a whole document: a path no VNFFG row holds goes, a PENDING record
        is rendered and turns ACTIVE, DEGRADED or ERROR (SPIs stay what they were)."""
        reconcile(self.journal, self.vnfm, self.vnffgs, self.bus, self._now)
        self.vnffgs.restore()

    # ----------------------------------------------------------------- VIMs
    def register_vim(self, name: str, **fields: Any) -> VimRecord:
        """Register a VIM and hand its bridge to the controller at once, so VDUs on a virtual link
        reach each other (and DHCP) before any chain exists (``build_document``)."""
        record = self.catalog.register_vim(name, **fields)
        self.vnffgs.rerender([], f"VIM {name} registered")
        return record

    def delete_vim(self, name_or_id: str) -> VimRecord:
        record = self.catalog.delete_vim(name_or_id)
        self.vnffgs.rerender([], f"VIM {record.name} deleted")
        return record

    # ----------------------------------------------------------------- VNFs
    def create_vnf(self, name: str, vnfd_name: str, params: Mapping[str, Any] | None = None,
                   vim: str = "") -> VnfRecord:
        check_name(name, "name")
        self.catalog.vim(vim or None)
        record, vnfd = self.catalog.vnfd(vnfd_name, params)
        with self.journal.intent("vnf-create", name):  # the VNFM undoes its half; the intent, the VNF
            vnf = self.vnfm.instantiate(name, vnfd, vnfd_name=record.name)
            crash_point("vnf-create.instantiated")
        return vnf

    def update_vnf(self, name_or_id: str, params: Mapping[str, Any] | None) -> VnfRecord:
        """New get_input values: the VDUs are recreated with them (ports kept, so chains
        through the VNF are re-rendered unchanged)."""
        if not params:
            raise InvalidArgument("give the new parameters (--param-file)", "params")
        vnf = self.vnfm.get(name_or_id)
        _, vnfd = self.catalog.vnfd(vnf.vnfd_name, params)
        return self.vnfm.update(vnf.id, vnfd)

    def get_vnf(self, name_or_id: str) -> VnfRecord:
        return self.vnfm.get(name_or_id)

    def list_vnfs(self) -> list[VnfRecord]:
        return list(self.vnfm.list())

    def delete_vnf(self, name_or_id: str) -> VnfRecord:
        vnf = self.vnfm.get(name_or_id)
        owner = next((ns.name for ns in self.list_ns() if vnf.name in dict(ns.vnfs).values()), None)
        if owner:  # before the hop check: the NS's own chain runs through it, and the NS is the fix
            raise FailedPrecondition(f"VNF {vnf.name} belongs to NS {owner}; delete the NS")
        users = self.vnffgs.uses_vnf(vnf.name, vnf.vnf_type)
        direct = [u for u in users if any(vnf.name in h.vnfs for p in self.vnffgs.get(u).spec.paths for h in p.hops)]
        if direct:
            raise FailedPrecondition(f"VNF {vnf.name} is a hop of VNFFG {', '.join(direct)}; delete or update that first")
        named = [f"{u} (classifier {c.name}: {field})" for u in users for p in self.vnffgs.get(u).spec.paths
                 for c in p.classifiers for field, ref in (("network_src_port_id", c.ingress), ("network_dst_port_id", c.egress))
                 if ref and ref.partition(":")[0] == vnf.name]
        if named:  # its traffic enters or leaves there: the chain would end at a port that is gone
            raise FailedPrecondition(f"VNF {vnf.name} is where traffic of VNFFG {', '.join(dict.fromkeys(named))} "
                                     "enters or goes; delete or update that first")
        if users:  # abstract hops lose a VNF: move its connections to the others first (hitless)
            try:
                with self._chain_vnfm.draining(vnf.id, [(v.name, v.instance) for v in vnf.vdus]) as gone:
                    self._drain(users, gone, f"VNF {vnf.name} terminating")
                    self.vnfm.terminate(vnf.id)
            except Exception:  # it may still be there: render what is
                _quietly(lambda: self.vnffgs.rerender(users, f"VNF {vnf.name} terminate failed"))
                raise
            return vnf
        self._forget_functions([vnf.name])
        self.vnfm.terminate(vnf.id)
        return vnf

    def heal_vnf(self, name_or_id: str, vdu: str | None = None) -> Any:
        return self.vnfm.heal(name_or_id, vdu)

    def scale_vnf(self, name_or_id: str, policy: str, direction: str) -> Any:
        """Scale out: the VNFM adds instances, then its event re-renders the chains through the VNF.
        Scale in: the chains are first re-rendered without the instances that will go (their
        connections move to the others, hitless), then the VNFM removes them."""
        if direction not in ("out", "in"):
            raise InvalidArgument(f"scaling direction must be out or in, got {direction!r}", "direction")
        if direction == "out":
            return self.vnfm.scale(name_or_id, policy, direction)
        vnf = self.vnfm.get(name_or_id)
        leaving = self.vnfm.scale_plan(vnf.id, policy, direction)  # refuses past min_instances
        users = self.vnffgs.uses_vnf(vnf.name, vnf.vnf_type)
        if not users:
            return self.vnfm.scale(vnf.id, policy, direction)
        gone = ", ".join(f"{vdu}#{i}" for vdu, i in leaving)
        try:
            with self._chain_vnfm.draining(vnf.id, leaving) as left:
                self._drain(users, left, f"VNF {vnf.name} scaling in: {gone}")
                return self.vnfm.scale(vnf.id, policy, direction)
        except Exception:  # the instances may still be there: render what is
            _quietly(lambda: self.vnffgs.rerender(users, f"VNF {vnf.name} scale in failed"))
            raise

    def _drain(self, users: list[str], gone: Callable[[], None], what: str) -> None:
        """Re-render ``users`` with the leaving instances draining (their connections move to
        the others, their ports stay admitted), wait until what is inside them is out, then
        re-render without them: no packet is lost to a port that stopped being admitted."""
        self.vnffgs.rerender(users, f"{what}: draining")
        time.sleep(self._drain_grace)
        gone()
        self.vnffgs.rerender(users, f"{what}: drained")

    def exec_vnf(self, name_or_id: str, argv: Sequence[str], vdu: str | None = None):
        if not argv:
            raise InvalidArgument("no command given", "argv")
        return self.vnfm.exec(name_or_id, list(argv), vdu)

    def vnf_log(self, name_or_id: str, vdu: str | None = None, instance: int = 0) -> tuple[str, str]:
        """(VDU name, its console log); the first VDU when none is named."""
        vnf = self.vnfm.get(name_or_id)
        name = vdu or (vnf.vdus[0].name if vnf.vdus else "")
        return name, self.vnfm.console(vnf.id, name or None, instance=instance)

    # -- alarms: the VNFs' Tacker Alarming triggers, evaluated by the VNFM (vnfm.alarmrunner) --
    def list_alarms(self, vnf: str | None = None) -> list[AlarmView]:
        return list(self.vnfm.alarms(vnf or None))

    def get_alarm(self, name_or_id: str) -> AlarmView:
        """By alarm id, by trigger name if only one VNF has it, or as VNF/TRIGGER."""
        alarms = self.vnfm.alarms(None)
        vnf, _, trigger = name_or_id.rpartition("/")
        found = [a for a in alarms if a.id == name_or_id] or [
            a for a in alarms if a.spec.name == trigger and (not vnf or vnf in (a.vnf_name, a.vnf_id))]
        if not found:
            raise NotFound(f"no alarm {name_or_id!r}", "alarm")
        if len(found) > 1:
            raise InvalidArgument(f"{name_or_id!r} is a trigger of VNFs {', '.join(sorted(a.vnf_name for a in found))}:"
                                  " say VNF/TRIGGER or the alarm id", "alarm")
        return found[0]

    def _on_vnf_event(self, event: VnfEvent) -> None:
        self.bus.publish(Event(event.time, "VNF", event.vnf_id, event.vnf_name, event.old, event.new,
                               event.reason, tuple(event.changed_cps)))
        # DEAD (a VDU died, at once from the VIM's exit watcher): hops drop it, or follow the chain's
        # failure policy; ACTIVE again: they take it back
        if event.new != Status.DEAD and (event.new != Status.ACTIVE or (event.old not in RERENDER_FROM
                                                                        and not event.changed_cps)):
            return

        def rerender() -> None:
            try:
                vnf = self.vnfm.get(event.vnf_id)
            except Exception:  # noqa: BLE001 - gone again; nothing to re-render
                return
            users = self.vnffgs.uses_vnf(vnf.name, vnf.vnf_type)
            if event.old == Status.PENDING_CREATE:  # only abstract hops can gain a new VNF
                users = [u for u in users if vnf.name not in _explicit_vnfs(self.vnffgs.get(u))]
            if users:
                self.vnffgs.rerender(users, f"VNF {vnf.name} {event.old} -> {event.new}")
        self._spawn(rerender)

    # ----------------------------------------------------------------- images
    @property
    def images(self) -> ImageRegistry:
        if self._images is None:
            raise FailedPrecondition("this NFVO has no image registry (images are served by `nfv up`'s stack)")
        return self._images

    def create_image(self, name: str, chunks: Iterable[bytes], properties: Mapping[str, str] | None = None,
                     disk_format: str = "") -> ImageRecord:
        """A root filesystem tarball streamed in ``chunks``; active, or nothing kept."""
        return self.images.create(name, chunks, properties, disk_format)

    def list_images(self) -> list[ImageRecord]:
        return self.images.list()

    def get_image(self, name_or_id: str) -> ImageRecord:
        return self.images.get(name_or_id)

    def delete_image(self, name_or_id: str) -> ImageRecord:
        """Refused for built-in images and while a VDU of any VNF names it."""
        return self.images.delete(name_or_id)

    # ----------------------------------------------------------------- VNFFGs
    def create_vnffg(self, name: str, *, chain: str = "", abstract_types: bool = False, symmetrical: bool = False,
                     vnffgd: str = "", vnf_mapping: Mapping[str, str] | None = None,
                     params: Mapping[str, Any] | None = None, description: str = "",
                     failure_policy: str = "", wait: bool = True) -> VnffgRecord:
        check_name(name, "name")
        policy = check_failure_policy(failure_policy)
        if bool(chain) == bool(vnffgd):
            raise InvalidArgument("give either a chain (--chain) or a VNFFGD (--vnffgd-name)", "chain")
        if chain:
            spec = chain_spec(parse_chain(chain, abstract=abstract_types), symmetrical, description=description)
        else:
            model = self.catalog.vnffgd(vnffgd, params)
            spec = spec_from_vnffgd(model, self._mapping(model, vnf_mapping or {}))
            if symmetrical:
                spec = replace(spec, paths=tuple(replace(p, symmetrical=True) for p in spec.paths))
            spec = replace(spec, description=description or spec.description)
        return self.vnffgs.create(name, replace(spec, failure_policy=policy), wait=wait)

    def _mapping(self, model: Vnffgd, given: Mapping[str, str]) -> dict[str, str]:
        """Tacker's rule: forwarders not in ``--vnf-mapping`` use a running VNF of that VNFD."""
        forwarders = {h.forwarder for p in model.paths for h in p.hops}
        unknown = set(given) - forwarders
        if unknown:
            raise InvalidArgument(f"{sorted(unknown)[0]!r} is not a forwarder of VNFFGD {model.name} "
                                  f"({', '.join(sorted(forwarders))})", "vnf_mapping")
        out = dict(given)
        vnfs = self.vnfm.list()
        for vnfd_name, vnf_name in given.items():
            vnf = next((v for v in vnfs if v.name == vnf_name or v.id == vnf_name), None)
            if vnf is None:
                raise NotFound(f"no VNF {vnf_name!r}", f"vnf_mapping.{vnfd_name}")
            if vnf.vnfd_name != vnfd_name:
                raise InvalidArgument(f"VNF {vnf.name} is an instance of {vnf.vnfd_name}, not {vnfd_name}",
                                      f"vnf_mapping.{vnfd_name}")
            out[vnfd_name] = vnf.name
        for forwarder in sorted(forwarders - set(out)):
            vnf = next((v for v in sorted(vnfs, key=lambda v: v.name)
                        if v.vnfd_name == forwarder and v.status == Status.ACTIVE), None)
            if vnf is None:
                raise FailedPrecondition(f"no ACTIVE VNF of VNFD {forwarder!r} to map", f"vnf_mapping.{forwarder}")
            out[forwarder] = vnf.name
        return out

    def update_vnffg(self, name_or_id: str, *, chain: str = "", abstract_types: bool = False,
                     symmetrical: bool | None = None, vnf_mapping: Mapping[str, str] | None = None,
                     description: str | None = None, failure_policy: str | None = None,
                     wait: bool = True) -> VnffgRecord:
        record = self.vnffgs.get(name_or_id)
        policy = None if failure_policy is None else check_failure_policy(failure_policy)

        def change(spec: VnffgSpec) -> VnffgSpec:
            paths = spec.paths
            if chain:
                if len(paths) != 1:
                    raise FailedPrecondition(f"VNFFG {record.name} has {len(paths)} paths; --chain replaces one")
                paths = (replace(paths[0], hops=parse_chain(chain, abstract=abstract_types)),)
            if vnf_mapping:
                if not spec.vnffgd:
                    raise InvalidArgument("--vnf-mapping applies to VNFFGs made from a VNFFGD", "vnf_mapping")
                model = self.catalog.vnffgd(spec.vnffgd)
                mapping = self._mapping(model, {**dict(spec.vnf_mapping), **vnf_mapping})
                fresh = spec_from_vnffgd(model, mapping)
                paths = tuple(replace(p, classifiers=old.classifiers) for p, old in zip(fresh.paths, paths, strict=False))
                spec = replace(spec, vnf_mapping=fresh.vnf_mapping)
            if symmetrical is not None:
                paths = tuple(replace(p, symmetrical=symmetrical) for p in paths)
            return replace(spec, paths=paths, description=spec.description if description is None else description,
                           failure_policy=spec.failure_policy if policy is None else policy)
        return self.vnffgs.update(record.id, change, wait=wait)

    def delete_vnffg(self, name_or_id: str) -> VnffgRecord:
        record = self.vnffgs.get(name_or_id)
        owner = next((ns.name for ns in self.list_ns() if record.name in ns.vnffgs), None)
        if owner:
            raise FailedPrecondition(f"VNFFG {record.name} belongs to NS {owner}; delete the NS")
        return self.vnffgs.delete(record.id)

    def create_classifier(self, name: str, chain: str, match: Any, *, path: str = "",
                          wait: bool = True) -> VnffgRecord:
        check_name(name, "name")
        items = parse_match(match) if isinstance(match, str) else match_items(match)
        return self.vnffgs.add_classifier(chain, classifier_spec(name, items), path, wait=wait)

    def update_classifier(self, name: str, match: str, *, wait: bool = True) -> VnffgRecord:
        """A new match for classifier ``name``; errors name it ``classifiers[VNFFG/PATH/NAME]``."""
        record, path, _ = self.vnffgs.classifier(name)
        field = f"classifiers[{record.name}/{path.name}/{name}].match"
        return self.vnffgs.change_classifier(name, classifier_spec(name, parse_match(match, field), field), wait=wait)

    # ----------------------------------------------------------------- NSs
    def list_ns(self) -> list[NsRecord]:
        return sorted((NsRecord.from_dict(b) for b in self.store.list("NS")), key=lambda r: r.created_at)

    def get_ns(self, name_or_id: str) -> NsRecord:
        body = self.store.get("NS", name_or_id)
        if body is None:
            raise NotFound(f"no NS {name_or_id!r}")
        return NsRecord.from_dict(body)

    def create_ns(self, name: str, nsd_name: str, params: Mapping[str, Any] | None = None,
                  description: str = "") -> NsRecord:
        """Every constituent VNF (named ``NS-NODE``), then every VNFFG of the NSD (``NS-GRAPH``,
        its classifiers ``NS-CLASSIFIER``, so one NSD can be instantiated many times).

        Everything that can be checked without running VNFs (name clashes, missing inputs, the
        VNFFG specs) is checked first; on a later failure what was made is removed again and the
        error raised, so a failed create leaves no VNF, VNFFG, flow or NS row behind."""
        check_name(name, "name")
        if self.store.get("NS", name) is not None:
            raise AlreadyExists(f"NS {name!r} already exists")
        nsd_record = self.catalog.descriptor("NSD", nsd_name)
        # checked again against the VNFDs as they are now (one may have been re-onboarded since)
        nsd = load_nsd(nsd_record.template, params, vnfds=self.catalog.vnfds(), name=nsd_record.name,
                       file=f"NSD {nsd_record.name}")
        plan = plan_ns(name, nsd, nsd_record.name, {v.name for v in self.vnfm.list()},
                       lambda vnffg: self.store.get("VNFFG", vnffg) is not None)
        record = NsRecord(self._new_id(), name, nsd_record.name, Status.ACTIVE, "", plan.vnfs,
                          tuple(g for g, _ in plan.graphs), self._now(), description)
        self.bus.publish(Event(self._now(), "NS", "", name, "", Status.PENDING_CREATE))
        made_vnfs: list[str] = []  # also one a failed instantiate left in ERROR
        made_vnffgs: list[str] = []
        # a crash inside leaves the intent: the next start removes what was made (nfvo.reconcile)
        with self.journal.intent("ns-create", name, vnfs=[v for _, v in plan.vnfs], vnffgs=list(record.vnffgs),
                                 record=record.to_dict()) as intent:
            try:
                for member, (_, vnf_name) in zip(nsd.vnfs, plan.vnfs, strict=True):
                    made_vnfs.append(vnf_name)
                    try:
                        self.catalog.vim(None)
                        vnfd_record, vnfd = self.catalog.vnfd(member.vnfd)
                        self.vnfm.instantiate(vnf_name, bind_links(vnfd, member, nsd), vnfd_name=vnfd_record.name)
                    except AlreadyExists:
                        made_vnfs.pop()  # someone else's, made meanwhile
                        raise
                    intent.step("vnf")
                for vnffg, spec in plan.graphs:
                    self.vnffgs.create(vnffg, spec)
                    made_vnffgs.append(vnffg)
                    intent.step("vnffg")
                self.store.insert("NS", record.id, name, record.to_dict())
                intent.step("stored")
            except Exception as exc:
                log.warning("NS %s: create failed, removing what was made: %s", name, exc)
                self._undo_ns(made_vnfs, made_vnffgs)
                self.bus.publish(Event(self._now(), "NS", "", name, Status.PENDING_CREATE, Status.ERROR, str(exc)))
                raise
        self.bus.publish(Event(self._now(), "NS", record.id, name, Status.PENDING_CREATE, record.status))
        return record

    def _undo_ns(self, made_vnfs: list[str], made_vnffgs: list[str]) -> None:
        existing = {v.name for v in self.vnfm.list()}
        for undo in [*(lambda g=g: self.vnffgs.delete(g) for g in reversed(made_vnffgs)),
                     lambda: self._forget_functions(made_vnfs),
                     *(lambda v=v: self.vnfm.terminate(v) for v in reversed(made_vnfs) if v in existing)]:
            _quietly(undo)

    def update_ns(self, name_or_id: str, description: str) -> NsRecord:
        record = replace(self.get_ns(name_or_id), description=description)
        self.store.update("NS", record.id, record.to_dict())
        return record

    def delete_ns(self, name_or_id: str) -> NsRecord:
        """Its VNFFGs, then its VNFs (the controller drops their service functions first, so it
        never points at ports that are gone), then the row; refused while another VNFFG names
        one of its VNFs as a hop."""
        record = self.get_ns(name_or_id)
        mine = [vnf for _, vnf in record.vnfs]
        for other in self.vnffgs.list():
            if other.name not in record.vnffgs and _explicit_vnfs(other) & set(mine):
                used = sorted(_explicit_vnfs(other) & set(mine))[0]
                raise FailedPrecondition(f"VNF {used} of NS {record.name} is a hop of VNFFG {other.name}; "
                                         "delete or update that first")
        # a crash inside leaves the intent: the next start finishes the delete (nfvo.reconcile)
        with self.journal.intent("ns-delete", record.name, vnfs=mine, vnffgs=list(record.vnffgs)) as intent:
            errors = []
            for vnffg in record.vnffgs:
                try:
                    self.vnffgs.delete(vnffg)
                    intent.step("vnffg")
                except NotFound:
                    pass
                except Exception as exc:  # noqa: BLE001 - keep going; report at the end
                    errors.append(f"{vnffg}: {exc}")
            try:
                self._forget_functions(mine)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"controller: {exc}")
            users: set[str] = set()
            for vnf in mine:
                try:
                    got = self.vnfm.get(vnf)
                    users.update(self.vnffgs.uses_vnf(got.name, got.vnf_type))
                    self.vnfm.terminate(got.id)
                    intent.step("vnf")
                except Exception as exc:  # noqa: BLE001 - keep going; report at the end
                    if "not found" not in str(exc).lower() and type(exc).__name__ != "NotFound":
                        errors.append(f"{vnf}: {exc}")
            if users:  # abstract hops of other VNFFGs lost an instance
                self.vnffgs.rerender(sorted(users), f"NS {record.name} deleted")
            if errors:
                self.store.update("NS", record.id, replace(record, status=Status.ERROR, reason="; ".join(errors)).to_dict())
                raise NfvoError(f"NS {record.name} partly deleted: {'; '.join(errors)}")
            self.store.delete("NS", record.id)
        self.bus.publish(Event(self._now(), "NS", record.id, record.name, record.status, Status.DELETED))
        return record

    def _forget_functions(self, vnfs: Sequence[str]) -> None:
        """Resync the controller without service functions of ``vnfs`` that no chain uses now."""
        if self.engine.serves_any(vnfs):
            self.vnffgs.rerender([], f"VNFs {', '.join(vnfs)} going away")

    # ----------------------------------------------------------------- telemetry (issue 11)
    def attach_telemetry(self, telemetry: TelemetryPort, on_document: DocumentHook | None = None) -> None:
        """Figures and exporters come from ``telemetry``; ``on_document`` follows every applied
        controller document (the figures' catalogue). Call before :meth:`start`."""
        self._telemetry = telemetry
        self.engine.on_document = on_document

    def _need_telemetry(self) -> TelemetryPort:
        if self._telemetry is None:
            raise FailedPrecondition("this NFVO has no telemetry (collectors are part of the all-in-one stack)")
        return self._telemetry

    def vnffg_stats(self, name_or_id: str, window: float = 10.0) -> tuple[VnffgRecord, ChainFigures, float]:
        """(record, its figures over ``window`` seconds, when); a chain no figure knows yet has none."""
        if not 0 < window <= 300:
            raise InvalidArgument(f"window must be in (0, 300] seconds, got {window:g}", "window")
        telemetry = self._need_telemetry()
        record = self.vnffgs.get(name_or_id)
        snap = telemetry.snapshot(window)
        figures = snap.chain(record.name) or ChainFigures(record.name, (), 0, 0, None, True)
        return record, figures, snap.now

    def exporters(self) -> list[ExporterStats]:
        return list(self._need_telemetry().exporters())

    def stack_status(self) -> StackStatus:
        return self._need_telemetry().status()

    # ----------------------------------------------------------------- descriptors in use
    def delete_descriptor(self, kind: str, name_or_id: str):
        record = self.catalog.descriptor(kind, name_or_id)
        if kind == "VNFD":
            users = [v.name for v in self.vnfm.list() if v.vnfd_name == record.name]
            if users:
                raise FailedPrecondition(f"VNFD {record.name} is in use by VNF {', '.join(users)}")
        if kind == "VNFFGD":
            users = [r.name for r in self.vnffgs.list() if r.spec.vnffgd == record.name]
            if users:
                raise FailedPrecondition(f"VNFFGD {record.name} is in use by VNFFG {', '.join(users)}")
        if kind == "NSD":
            users = [r.name for r in self.list_ns() if r.nsd_name == record.name]
            if users:
                raise FailedPrecondition(f"NSD {record.name} is in use by NS {', '.join(users)}")
        return self.catalog.delete_descriptor(kind, record.id)


def _explicit_vnfs(record: VnffgRecord) -> set[str]:
    return {v for p in record.spec.paths for h in p.hops for v in h.vnfs}


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - best-effort rollback; the original error is what matters
        log.exception("rollback step failed")
