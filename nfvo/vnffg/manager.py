"""VNFFG and classifier lifecycle: spec → SPIs → render → controller → ACTIVE.

All changes are serialised (one lock): render and check first (bad input raises before anything
is stored), then the controller, then the store. ``wait=False`` stores PENDING_* and pushes in the
background; the record turns ACTIVE or ERROR and a watch event says so. A VNFFG is ACTIVE only
once the controller returned, i.e. every switch acknowledged the generation that contains it,
and every hop has all its instances live; a chain that runs but not as specified (a hop lost
instances, or is bypassed or dropping under its failure policy) is DEGRADED with the reason, and
turns ACTIVE again at the re-render that finds them back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping

from nfvo.catalog import Catalog
from nfvo.chains import ChainEngine
from nfvo.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NfvoError, NotFound
from nfvo.events import EventBus
from nfvo.model import ClassifierSpec, Event, PathSpec, VnffgRecord, VnffgSpec
from nfvo.protocols import Store, Vnfm
from nfvo.reconcile import Journal, OpenIntent
from nfvo.vnffg.hops import type_matches
from nfvo.vnffg.render import Inventory, RenderedChain, forwarding_needs, render_vnffg, spi_wants
from nfvo.vnffg.spec import check_name
from nfvo.vnffg.spi import allocate_spis
from nfvo.vnffg.status import chain_status, watched
from sdn.document import Switch
from sdn.pathstatus import PathStatus
from vnfm.errors import VnfmError
from vnfm.model import Status, cp_key

log = logging.getLogger(__name__)
KIND = "VNFFG"


def _spawn(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, daemon=True).start()


@dataclass(frozen=True)
class VnffgIndex:
    """Every stored VNFFG, plus who holds which classifier name and SPI: what a change is
    checked against, without walking (and decoding) every record per request. A value:
    a change makes a new index (dict copies, C speed), so API threads read one version lock-free.
    """

    records: dict[str, VnffgRecord]  # id -> record, in store order
    ids: dict[str, str]  # name -> id
    classifiers: dict[str, tuple[str, str]]  # classifier name -> (VNFFG id, path name)
    spis: dict[int, str]  # SPI -> owner, as allocate_spis reports it

    @classmethod
    def of(cls, records: Iterable[VnffgRecord]) -> VnffgIndex:
        index = cls({}, {}, {}, {})
        for record in records:
            index._add(record)
        return index

    @cached_property
    def ordered(self) -> tuple[VnffgRecord, ...]:
        return tuple(sorted(self.records.values(), key=lambda r: r.created_at))

    def find(self, name_or_id: str) -> VnffgRecord | None:
        record = self.records.get(name_or_id)
        if record is None and name_or_id in self.ids:
            record = self.records[self.ids[name_or_id]]
        return record

    def owner_of_classifier(self, name: str) -> VnffgRecord | None:
        where = self.classifiers.get(name)
        return self.records[where[0]] if where else None

    def classifier(self, name: str) -> tuple[VnffgRecord, PathSpec, ClassifierSpec] | None:
        where = self.classifiers.get(name)
        if where is None:
            return None
        record = self.records[where[0]]
        path = next(p for p in record.spec.paths if p.name == where[1])
        return record, path, next(c for c in path.classifiers if c.name == name)

    def spis_but(self, name: str) -> dict[int, str]:
        """SPI -> owner of every VNFFG's paths except ``name``'s."""
        taken = dict(self.spis)
        record = self.find(name)
        for key, spi in record.spis if record is not None and record.name == name else ():
            if taken.get(spi) == _spi_owner(name, key):
                del taken[spi]
        return taken

    def put(self, record: VnffgRecord) -> VnffgIndex:
        """A new index with ``record`` added or replacing the one with its id."""
        new = self._copy()
        new._remove(record.id)
        new._add(record)
        return new

    def drop(self, id: str) -> VnffgIndex:
        new = self._copy()
        new._remove(id)
        return new

    def _copy(self) -> VnffgIndex:
        return VnffgIndex(dict(self.records), dict(self.ids), dict(self.classifiers), dict(self.spis))

    def _add(self, record: VnffgRecord) -> None:  # only on an index not yet handed out
        self.records[record.id] = record
        self.ids[record.name] = record.id
        for path in record.spec.paths:
            for clf in path.classifiers:
                self.classifiers.setdefault(clf.name, (record.id, path.name))
        for key, spi in record.spis:
            self.spis.setdefault(spi, _spi_owner(record.name, key))

    def _remove(self, id: str) -> None:  # only on an index not yet handed out
        old = self.records.get(id)
        if old is None:
            return
        del self.records[id]
        if self.ids.get(old.name) == id:
            del self.ids[old.name]
        for path in old.spec.paths:
            for clf in path.classifiers:
                if self.classifiers.get(clf.name, ("",))[0] == id:
                    del self.classifiers[clf.name]
        for key, spi in old.spis:
            if self.spis.get(spi) == _spi_owner(old.name, key):
                del self.spis[spi]


def _spi_owner(vnffg: str, key: str) -> str:
    return f"VNFFG {vnffg} path {key}"


class VnffgManager:
    def __init__(self, store: Store, catalog: Catalog, vnfm: Vnfm, engine: ChainEngine, bus: EventBus, *,
                 now: Callable[[], float] = time.time, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 spawn: Callable[[Callable[[], None]], None] = _spawn, journal: Journal | None = None):
        self._store, self._catalog, self._vnfm, self._engine, self._bus = store, catalog, vnfm, engine, bus
        self._now, self._new_id, self._spawn = now, new_id, spawn
        self._journal = journal or Journal(store, now, new_id)  # intents: what a restart finishes or undoes
        self.lock = threading.RLock()  # serialises changes; reads go to the current index, lock-free
        self._view: VnffgIndex | None = None  # built from the store on first use

    # ----------------------------------------------------------------- queries
    def get(self, name_or_id: str) -> VnffgRecord:
        record = self._index().find(name_or_id)
        if record is None:
            raise NotFound(f"no VNFFG {name_or_id!r}")
        return record

    def list(self) -> list[VnffgRecord]:
        return list(self._index().ordered)

    def _index(self) -> VnffgIndex:
        view = self._view
        if view is None:
            with self.lock:
                if self._view is None:
                    self._view = VnffgIndex.of(VnffgRecord.from_dict(b) for b in self._store.list(KIND))
                view = self._view
        return view

    def _save(self, record: VnffgRecord, *, new: bool = False) -> None:
        """Store (which may refuse), then index; every VNFFG write goes through here or
        ``delete`` (this process is the store's one writer), so the index stays the store's."""
        view = self._index()
        if new:
            self._store.insert(KIND, record.id, record.name, record.to_dict())
        else:
            self._store.update(KIND, record.id, record.to_dict())
        self._view = view.put(record)

    def inventory(self) -> Inventory:
        draining = getattr(self._vnfm, "draining_instances", None)  # a DrainingVnfm says which
        return Inventory({v.name: v for v in self._vnfm.list()}, self.switches(),
                         draining() if draining is not None else frozenset())

    def switches(self) -> dict[str, Switch]:
        """The SFFs chains render onto, from the VIMs' hosts (a VNFM without ``hosts()`` -- a test's
        fake -- has only its VIM records' bridges)."""
        hosts = getattr(self._vnfm, "hosts", None)
        return self._catalog.switches(hosts() if hosts is not None else ())

    def classifiers(self) -> list[tuple[VnffgRecord, PathSpec, ClassifierSpec]]:
        return [(r, p, c) for r in self.list() for p in r.spec.paths for c in p.classifiers]

    def classifier(self, name: str) -> tuple[VnffgRecord, PathSpec, ClassifierSpec]:
        found = self._index().classifier(name)
        if found is None:
            raise NotFound(f"no classifier {name!r}")
        return found

    # ----------------------------------------------------------------- changes
    def create(self, name: str, spec: VnffgSpec, *, wait: bool = True) -> VnffgRecord:
        check_name(name, "name")
        with self.lock:
            if self._index().find(name) is not None:
                raise AlreadyExists(f"VNFFG {name!r} already exists")
            self._check_classifier_names(name, spec)
            spis, rendered, switches = self._plan(name, spec, {})
            now = self._now()
            record = VnffgRecord(self._new_id(), name, Status.PENDING_CREATE, "", spec,
                                 tuple(spis.items()), now, now)
            intent = self._journal.begin("vnffg-create", name)
            return self._commit(record, rendered, switches, intent, None, wait)

    def update(self, name_or_id: str, change: Callable[[VnffgSpec], VnffgSpec], *, wait: bool = True) -> VnffgRecord:
        """Re-render with a changed spec; SPIs of paths that remain are kept, so live traffic on
        unchanged paths keeps its SPI and other chains are untouched."""
        with self.lock:
            old = self.get(name_or_id)
            spec = change(old.spec)
            self._check_classifier_names(old.name, spec)
            spis, rendered, switches = self._plan(old.name, spec, dict(old.spis))
            record = replace(old, spec=spec, spis=tuple(spis.items()), status=Status.PENDING_UPDATE, reason="",
                             updated_at=self._now())
            intent = self._journal.begin("vnffg-update", old.name, updated_at=record.updated_at)
            return self._commit(record, rendered, switches, intent, old, wait)

    def delete(self, name_or_id: str) -> VnffgRecord:
        with self.lock:
            record = self.get(name_or_id)
            with self._journal.intent("vnffg-delete", record.name) as intent:
                self._engine.commit(record.name, None, self.switches())
                intent.step("committed")
                view = self._index()
                self._store.delete(KIND, record.id)
                self._view = view.drop(record.id)
            self._emit(record, record.status, Status.DELETED)
            return record

    def _plan(self, name: str, spec: VnffgSpec, previous: Mapping[str, int]
              ) -> tuple[dict[str, int], RenderedChain, Mapping[str, Switch]]:
        """SPIs, the rendered chain and the switches it was rendered on (what the commit sends)."""
        if not spec.paths:
            raise InvalidArgument("a VNFFG needs at least one forwarding path", "paths")
        taken = self._index().spis_but(name)
        spis = allocate_spis(spi_wants(spec), previous, taken, f"vnffg[{name}].")
        inv = self.inventory()
        return spis, self._forwarding_checked(render_vnffg(name, spec, spis, inv), spec, inv), inv.switches

    def _forwarding_checked(self, chain: RenderedChain, spec: VnffgSpec, inv: Inventory) -> RenderedChain:
        """``chain``, if every NSH-unaware VDU behind a one-armed hop forwards IP now; else
        FailedPrecondition naming the hop and the VNF. A VDU that neither parses NSH nor
        forwards would take the chain's packets and drop them: refused, not reported ACTIVE. One
        that forwards only IPv4 of a classifier that takes IPv4 and IPv6 (``ip_proto=6`` alone)
        carries the IPv4 part; the IPv6 part is dropped there (fail-closed), with a warning."""
        for need in forwarding_needs(chain, spec, inv):
            try:
                has = self._vnfm.ip_forwarding(need.vnf, need.vdu, need.instance)
            except VnfmError as exc:
                raise FailedPrecondition(f"cannot tell whether VNF {need.vnf} forwards IP: {exc}", need.where) from None
            off = [sysctl for family, sysctl, on in ((4, "net.ipv4.ip_forward", has.ipv4),
                                                     (6, "net.ipv6.conf.all.forwarding", has.ipv6))
                   if family in need.families and not on]
            if off and len(off) < len(need.families):  # e.g. Tacker's cirros samples turn on IPv4 only
                log.warning("%s: %s forwards only some of the IP versions the classifiers take (%s): that "
                            "traffic is dropped at the hop (fail-closed)", need.where, need.vnf,
                            ", ".join(f"{s}=0" for s in off))
            elif off:
                vdu = f" on {cp_key(need.vdu, need.instance)}" if need.instance else ""
                raise FailedPrecondition(f"{need.vnf} is not NSH-aware and does not forward IP "
                                         f"({', '.join(f'{s}=0' for s in off)}{vdu})", need.where)
        return chain

    def _check_classifier_names(self, name: str, spec: VnffgSpec) -> None:
        mine: set[str] = set()
        for path in spec.paths:
            for clf in path.classifiers:
                check_name(clf.name, f"vnffg[{name}].{path.name}.classifiers")
                if clf.name in mine:
                    raise AlreadyExists(f"classifier {clf.name!r} appears twice", f"vnffg[{name}]")
                mine.add(clf.name)
        index = self._index()
        for clf in (c for p in spec.paths for c in p.classifiers):
            owner = index.owner_of_classifier(clf.name)
            if owner is not None and owner.name != name:
                raise AlreadyExists(f"classifier {clf.name!r} already belongs to VNFFG {owner.name}")

    def _commit(self, record: VnffgRecord, rendered: RenderedChain, switches: Mapping[str, Switch],
                intent: OpenIntent, old: VnffgRecord | None, wait: bool) -> VnffgRecord:
        """Create (``old`` None) or update ``old``: ``wait``, the controller, then the store (the
        record as the controller has it); else stored PENDING_* and pushed in the background."""
        new, was = old is None, old.status if old is not None else ""
        if wait:
            with intent.closing():
                generation = self._engine.commit(record.name, rendered, switches)
                intent.step("committed")
                record = self._live(record, rendered, generation)
                self._save(record, new=new)
                intent.step("stored")
            self._emit(record, was, record.status)
            return record
        try:
            self._save(record, new=new)
            intent.step("pending")
        except Exception:  # refused: nothing stored; a crash leaves the intent to the next start
            intent.close()
            raise
        self._emit(record, was, record.status)
        self._spawn(lambda: self._push(record, rendered, switches, intent))
        return record

    def _push(self, record: VnffgRecord, rendered: RenderedChain, switches: Mapping[str, Switch],
              intent: OpenIntent) -> None:
        """The background half of ``wait=False``: whatever goes wrong, the record leaves PENDING
        (ERROR with the reason), and the intent is closed."""
        with self.lock, intent.closing():
            try:
                generation = self._engine.commit(record.name, rendered, switches)
                intent.step("committed")
                done = self._live(record, rendered, generation)
            except Exception as exc:  # noqa: BLE001 - not only NfvoError: nothing stays PENDING
                log.warning("VNFFG %s: background push failed: %s", record.name, exc)
                done = replace(record, status=Status.ERROR, reason=str(exc) or type(exc).__name__)
            if self._index().find(record.id) is not None:
                self._save(done)
                intent.step("stored")
                self._emit(done, record.status, done.status)

    # ----------------------------------------------------------------- classifiers
    def add_classifier(self, chain: str, clf: ClassifierSpec, path: str = "", *, wait: bool = True) -> VnffgRecord:
        def change(spec: VnffgSpec) -> VnffgSpec:
            target = _pick_path(spec, path, chain)
            return replace(spec, paths=tuple(replace(p, classifiers=p.classifiers + (clf,)) if p is target else p
                                             for p in spec.paths))
        with self.lock:
            if self._index().classifier(clf.name) is not None:
                raise AlreadyExists(f"classifier {clf.name!r} already exists")
            return self.update(chain, change, wait=wait)

    def change_classifier(self, name: str, new: ClassifierSpec | None, *, wait: bool = True) -> VnffgRecord:
        """Replace (``new``) or remove (None) a classifier; its chain is re-rendered."""
        with self.lock:
            record, _, _ = self.classifier(name)

            def change(spec: VnffgSpec) -> VnffgSpec:
                return replace(spec, paths=tuple(
                    replace(p, classifiers=tuple(c for c in (new if c.name == name else c for c in p.classifiers)
                                                 if c is not None)) for p in spec.paths))
            return self.update(record.name, change, wait=wait)

    # ----------------------------------------------------------------- re-rendering
    def uses_vnf(self, vnf_name: str, vnf_type: str | None) -> list[str]:
        """VNFFGs whose render depends on the VNF: a hop through it (or its type), a classifier
        bound to a virtual link it has a CP on (its ports join or leave the classifier), or one
        naming it as where traffic enters or goes (network_src/dst_port_id: the classifier's port
        and switch, its destination and eth_dst are that CP's, which a heal, evacuation or scale
        may move to another host)."""
        try:
            networks = {c.vl for c in self._vnfm.get(vnf_name).cps}
        except LookupError:  # gone already (vnfm's NotFound)
            networks = set()
        out = []
        for record in self.list():
            for path in record.spec.paths:
                if any(vnf_name in h.vnfs or (h.vnf_type and type_matches(vnf_type, h.vnf_type))
                       for h in path.hops) or any(_network(c) in networks or vnf_name in _endpoints(c)
                                                  for c in path.classifiers):
                    out.append(record.name)
                    break
        return out

    def rerender(self, names: list[str], reason: str) -> None:
        """Re-render ``names`` against the VNFs as they are now and resync the controller
        (a heal or scale changed ports; an abstract hop gained or lost a VNF)."""
        with self.lock:
            inv = self.inventory()
            chains = dict(self._engine.chains)
            records = {r.name: r for r in self.list()}
            failed: dict[str, str] = {}
            for name in names:
                record = records.get(name)
                if record is None:
                    continue
                try:
                    chains[name] = self._forwarding_checked(render_vnffg(name, record.spec, dict(record.spis), inv),
                                                            record.spec, inv)
                except NfvoError as exc:
                    failed[name] = str(exc)
                    chains.pop(name, None)
            try:
                generation = self._engine.resync(chains, inv.switches)
            except NfvoError as exc:
                failed.update({n: str(exc) for n in names if n not in failed})
                generation = 0
            paths = self._paths([p for n in names if n in chains and n not in failed for p in chains[n].path_names])
            for name in names:
                record = records.get(name)
                if record is None:
                    continue
                if name in failed:
                    new = replace(record, status=Status.ERROR, reason=f"{reason}: {failed[name]}")
                else:
                    new = live(record, chains[name], generation, paths)
                new = replace(new, updated_at=self._now())
                self._save(new)
                self._emit(new, record.status, new.status, f"{reason}: {new.reason}" if new.reason else reason)

    def _live(self, record: VnffgRecord, chain: RenderedChain, generation: int) -> VnffgRecord:
        return live(record, chain, generation, self._paths(chain.path_names))

    def _paths(self, names: Iterable[str]) -> Mapping[str, PathStatus]:
        """The controller's status of these paths, right after a change (nothing if it cannot
        say: the status watch catches up)."""
        names = list(names)
        if not names:
            return {}
        try:
            return self._engine.path_status(names)
        except NfvoError as exc:
            log.warning("no path status from the controller: %s", exc)
            return {}

    def refresh_status(self) -> None:
        """Bring every watched VNFFG's status to what the controller says of its paths now
        (nfvo.vnffg.status); a change is stored and announced. Raises Unavailable while the
        controller cannot be reached (statuses are then left as they are)."""
        with self.lock:  # no change is half-way: the paths are those the controller was handed
            chains = self._engine.chains
            records = [r for r in self.list() if r.name in chains and watched(r.status, r.reason)]
            if not records:
                return
            paths = self._engine.path_status([p for r in records for p in chains[r.name].path_names])
            for record in records:
                status, reason = chain_status(chains[record.name], paths)
                if (status, reason) != (record.status, record.reason):
                    new = replace(record, status=status, reason=reason, updated_at=self._now())
                    self._save(new)
                    self._emit(new, record.status, new.status)

    def restore(self) -> None:
        """At start-up: render every stored VNFFG (SPIs as stored) and hand the controller the
        whole state; chains that cannot render turn ERROR."""
        self.rerender([r.name for r in self.list()], "restart")

    def _emit(self, record: VnffgRecord, old: str, new: str, reason: str = "") -> None:
        self._bus.publish(Event(self._now(), KIND, record.id, record.name, str(old), str(new),
                                reason or record.reason))


def live(record: VnffgRecord, chain: RenderedChain, generation: int,
         paths: Mapping[str, PathStatus] | None = None) -> VnffgRecord:
    """``record`` as the controller now has it: ACTIVE, or DEGRADED / ERROR saying why (the
    render's reasons, and with ``paths`` what the controller says of them: nfvo.vnffg.status)."""
    status, reason = chain_status(chain, paths or {})
    return replace(record, status=status, reason=reason, generation=generation)


def _network(clf: ClassifierSpec) -> str | None:
    """The virtual link a classifier is bound to (network_id / network_name), if any."""
    written = dict(clf.match)
    name = written.get("network_name", written.get("network_id"))
    return None if name is None else str(name)


def _endpoints(clf: ClassifierSpec) -> set[str]:
    """The VNFs a classifier's network_src_port_id / network_dst_port_id name (``VNF`` or ``VNF:CP``;
    an OVS port name is no VNF's, so it never matches one)."""
    return {ref.partition(":")[0] for ref in (clf.ingress, clf.egress) if ref}


def _pick_path(spec: VnffgSpec, path: str, chain: str) -> PathSpec:
    if path:
        found = spec.path(path)
        if found is None:
            raise NotFound(f"VNFFG {chain} has no path {path!r} ({', '.join(p.name for p in spec.paths)})", "path")
        return found
    if len(spec.paths) > 1:
        raise FailedPrecondition(f"VNFFG {chain} has {len(spec.paths)} paths; name one with --path", "path")
    return spec.paths[0]


def chain_spec(hops: Any, symmetrical: bool, classifiers: tuple[ClassifierSpec, ...] = (),
               description: str = "", path: str = "path") -> VnffgSpec:
    """``vnffg-create --chain``: one path (named ``path``) through ``hops``."""
    return VnffgSpec((PathSpec(path, tuple(hops), classifiers, symmetrical),), description=description)
