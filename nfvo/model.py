"""NFVO values: catalog entries, VIMs, VNFFG specs and records, NS records, events.

Frozen dataclasses; the records the store keeps (one JSON document per resource) code to and
from JSON through the one record codec (``vnfm.codec``), by ``to_dict``/``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

from sdn.match import ClassifierMatch
from vnfm.codec import from_json, to_json
from vnfm.model import Status  # noqa: F401 - the one status vocabulary, also nfvo's

MatchItems = tuple[tuple[str, Any], ...]  # (field, value) pairs, value str or int
# What a hop with no live instance does until one is back (OVN's network functions offer both).
FAIL_CLOSED = "fail-closed"  # its traffic is dropped
FAIL_OPEN = "fail-open"      # the path skips the hop
FAILURE_POLICIES = (FAIL_CLOSED, FAIL_OPEN)
R = TypeVar("R", bound="StoredRecord")


class StoredRecord:
    """A record the store keeps, coded by ``vnfm.codec`` (JSON of its fields, tuples as lists)."""

    def to_dict(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        return from_json(cls, data)


@dataclass(frozen=True)
class VimRecord(StoredRecord):
    """Where VNFs run and which switch their ports land on.

    ``ingress_port``/``egress_port`` are kept readable for stored records and old clients but
    unused: a classifier without network_src_port_id takes every port that is not a service
    function's (see ``nfvo.vnffg.render``), so no VIM-wide default port exists any more.
    """

    id: str
    name: str
    type: str
    bridge: str
    dpid: int
    is_default: bool = False
    ingress_port: str = ""
    egress_port: str = ""
    description: str = ""
    created_at: float = 0.0


@dataclass(frozen=True)
class DescriptorRecord(StoredRecord):
    """An onboarded VNFD, VNFFGD or NSD: the template text is kept, the model re-derived."""

    id: str
    kind: str  # VNFD | VNFFGD | NSD
    name: str
    description: str
    template: str
    summary: str
    created_at: float
    vnf_type: str = ""  # VNFD: the abstract node type it offers


@dataclass(frozen=True)
class HopSpec:
    """One service index: a CP of one VNF, or of every running VNF of a type (load-balanced).

    ``sfc_encap``: the VNFFGD's word on whether the hop's VNFs get NSH; None (not said, e.g.
    ``--chain``) = whether their VDUs' images are NSH-aware, at every render.
    """

    vnfs: tuple[str, ...] = ()
    cp: str = ""          # "" = each VNF's first non-management CP (lowest order)
    vnf_type: str = ""    # abstract hop: resolved to running VNFs at every render
    sfc_encap: bool | None = None
    egress_cp: str = ""   # NSH-unaware hop: where traffic comes back ("" = cp: one-armed, Tacker's port pair)

    def label(self) -> str:
        target = f"type:{self.vnf_type}" if self.vnf_type else "+".join(self.vnfs)
        cps = f"{self.cp}>{self.egress_cp}" if self.egress_cp else self.cp
        return f"{target}:{cps}" if cps else target


@dataclass(frozen=True)
class ClassifierSpec:
    """A classifier as parsed at the API boundary (``nfvo.vnffg.spec.classifier_spec``).

    ``parsed`` is the typed match the controller gets; ``ingress``/``egress`` are Tacker's
    network_src_port_id / network_dst_port_id (where forward / reverse traffic enters: ``VNF``,
    ``VNF:CP`` or an OVS port; "" = the VIM's default); ``match`` is what the operator wrote,
    shown back as given (as Tacker does).
    """

    name: str
    match: MatchItems
    parsed: ClassifierMatch
    ingress: str = ""
    egress: str = ""


@dataclass(frozen=True)
class PathSpec:
    """A forwarding path (NFP): hops in order, classifiers admitting traffic, symmetry."""

    name: str
    hops: tuple[HopSpec, ...]
    classifiers: tuple[ClassifierSpec, ...] = ()
    symmetrical: bool = False
    path_id: int | None = None  # requested SPI (the VNFFGD's ``id``)


@dataclass(frozen=True)
class VnffgSpec:
    paths: tuple[PathSpec, ...]
    vnffgd: str = ""
    vnf_mapping: tuple[tuple[str, str], ...] = ()  # VNFD name -> VNF name
    description: str = ""
    failure_policy: str = FAIL_CLOSED  # a FAILURE_POLICIES word

    def path(self, name: str) -> PathSpec | None:
        return next((p for p in self.paths if p.name == name), None)


@dataclass(frozen=True)
class VnffgRecord(StoredRecord):
    id: str
    name: str
    status: str
    reason: str
    spec: VnffgSpec
    spis: tuple[tuple[str, int], ...]  # path name (reverse: "PATH~reverse") -> SPI
    created_at: float
    updated_at: float = 0.0
    generation: int = 0  # the controller generation that made it ACTIVE
    vim: str = ""

    def spi(self, key: str) -> int | None:
        return dict(self.spis).get(key)


@dataclass(frozen=True)
class NsRecord(StoredRecord):
    id: str
    name: str
    nsd_name: str
    status: str
    reason: str
    vnfs: tuple[tuple[str, str], ...]  # NSD node -> VNF name
    vnffgs: tuple[str, ...]
    created_at: float
    description: str = ""


@dataclass(frozen=True)
class Event:
    """A lifecycle change of any resource, for the API's watch stream."""

    time: float
    kind: str      # VNF | VNFFG | NS | VNFD | VNFFGD | NSD | VIM
    id: str
    name: str
    old: str
    new: str
    reason: str = ""
    details: tuple[str, ...] = field(default=())
