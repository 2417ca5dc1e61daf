"""NFVO values: catalog entries, VIMs, VNFFG specs and records, NS records, events.

Frozen dataclasses with a JSON-friendly ``to_dict``/``from_dict`` pair, because the store keeps
them as JSON documents (one row per resource) and the API converts them to protobuf.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Mapping

from sdn.match import ClassifierMatch

MatchItems = tuple[tuple[str, Any], ...]  # (field, value) pairs, value str or int


class Status(StrEnum):
    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    DELETED = "DELETED"


@dataclass(frozen=True)
class VimRecord:
    """Where VNFs run and which switch their ports land on.

    ``ingress_port``/``egress_port`` are the default classifier in_port for forward and reverse
    paths (Tacker's network_src_port_id / network_dst_port_id when a classifier has none): a
    ``VNF`` / ``VNF:CP`` reference or a raw OVS port name.
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VimRecord:
        return cls(**data)


@dataclass(frozen=True)
class DescriptorRecord:
    """An onboarded VNFD, VNFFGD or NSD: the template text is kept, the model re-derived."""

    id: str
    kind: str  # VNFD | VNFFGD | NSD
    name: str
    description: str
    template: str
    summary: str
    created_at: float
    vnf_type: str = ""  # VNFD: the abstract node type it offers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DescriptorRecord:
        return cls(**data)


@dataclass(frozen=True)
class HopSpec:
    """One service index: a CP of one VNF, or of every running VNF of a type (load-balanced)."""

    vnfs: tuple[str, ...] = ()
    cp: str = ""          # "" = each VNF's first non-management CP (lowest order)
    vnf_type: str = ""    # abstract hop: resolved to running VNFs at every render
    sfc_encap: bool = True
    egress_cp: str = ""   # NSH-unaware hop: where traffic comes back ("" = next data CP by order)

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

    def path(self, name: str) -> PathSpec | None:
        return next((p for p in self.paths if p.name == name), None)


@dataclass(frozen=True)
class VnffgRecord:
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for path, spec in zip(data["spec"]["paths"], self.spec.paths):
            for clf, c in zip(path["classifiers"], spec.classifiers):
                clf["parsed"] = [[k, str(v) if k in ("ip_src", "ip_dst") else v] for k, v in c.parsed.items()]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VnffgRecord:
        import ipaddress

        def match(items):
            return ClassifierMatch(**{k: ipaddress.ip_network(v) if k in ("ip_src", "ip_dst") else
                                      tuple(v) if isinstance(v, list) else v for k, v in items})
        spec = data["spec"]
        paths = tuple(PathSpec(p["name"], tuple(HopSpec(tuple(h["vnfs"]), h["cp"], h["vnf_type"], h["sfc_encap"],
                                                         h.get("egress_cp", ""))
                                                 for h in p["hops"]),
                               tuple(ClassifierSpec(c["name"], tuple((k, v) for k, v in c["match"]), match(c["parsed"]),
                                                    c["ingress"], c["egress"])
                                     for c in p["classifiers"]),
                               p["symmetrical"], p["path_id"]) for p in spec["paths"])
        return cls(data["id"], data["name"], data["status"], data["reason"],
                   VnffgSpec(paths, spec["vnffgd"], tuple((a, b) for a, b in spec["vnf_mapping"]),
                             spec["description"]),
                   tuple((k, v) for k, v in data["spis"]), data["created_at"], data["updated_at"],
                   data["generation"], data["vim"])


@dataclass(frozen=True)
class NsRecord:
    id: str
    name: str
    nsd_name: str
    status: str
    reason: str
    vnfs: tuple[tuple[str, str], ...]  # NSD node -> VNF name
    vnffgs: tuple[str, ...]
    created_at: float
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NsRecord:
        return cls(data["id"], data["name"], data["nsd_name"], data["status"], data["reason"],
                   tuple((a, b) for a, b in data["vnfs"]), tuple(data["vnffgs"]), data["created_at"],
                   data.get("description", ""))


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
