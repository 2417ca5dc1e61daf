"""VNFFGD model (graphs, forwarding paths, hops, classifiers) and its builder.

Unlike Tacker, which rendered only the first forwarding path of a graph, every member path is
kept. Graph checks that need the VNFDs (a hop's capability is a CP of its forwarder) run when
the caller passes the onboarded VNFDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from descriptors.acl import AclMatch, build_acl
from descriptors.common import (FP_TACKER, FP_TACKER_V2, VNFFG_GROUP, TypeIndex, as_list, as_map,
                                node_templates, opt_bool, opt_int, opt_str)
from descriptors.errors import Collector
from descriptors.inputs import InputDef, InputRef
from descriptors.vnfd import Vnfd

MAX_SF_HOPS = 255  # NSH SI starts at 255 and a packet with SI 0 must be dropped (RFC 8300)
CORRELATIONS = ("mpls", "nsh")


@dataclass(frozen=True)
class PathHop:
    """One hop: the VNF (by VNFD name) that forwards, and which of its CPs carries traffic."""

    forwarder: str
    capability: str
    sfc_encap: bool | None = None  # None: not said (the VNF's software decides)


@dataclass(frozen=True)
class Classifier:
    name: str
    match: AclMatch


@dataclass(frozen=True)
class ForwardingPath:
    name: str
    style: str  # "FP.Tacker" (bare criteria) or "FP.TackerV2" (named classifiers)
    path_id: int | InputRef | None
    symmetrical: bool
    correlation: str
    classifiers: tuple[Classifier, ...]
    hops: tuple[PathHop, ...]
    description: str | InputRef | None = None

    @property
    def forwarders(self) -> tuple[str, ...]:
        """Forwarders in order with consecutive repeats merged: one per service index."""
        out: list[str] = []
        for hop in self.hops:
            if not out or out[-1] != hop.forwarder:
                out.append(hop.forwarder)
        return tuple(out)


@dataclass(frozen=True)
class ForwardingGraph:
    """A ``tosca.groups.nfv.VNFFG`` group and its member paths, in member order."""

    name: str
    description: str | InputRef | None
    vendor: str | InputRef | None
    version: str | None
    number_of_endpoints: int | InputRef | None
    dependent_virtual_links: tuple[str, ...]
    connection_points: tuple[str, ...]
    constituent_vnfs: tuple[str, ...]
    paths: tuple[ForwardingPath, ...]


@dataclass(frozen=True)
class Vnffgd:
    name: str
    description: str | InputRef | None
    inputs: tuple[InputDef, ...]
    graphs: tuple[ForwardingGraph, ...]
    unresolved_inputs: frozenset[str] = frozenset()

    kind = "VNFFGD"

    @property
    def paths(self) -> tuple[ForwardingPath, ...]:
        return tuple(p for g in self.graphs for p in g.paths)

    def summary(self) -> str:
        return graphs_summary(self.graphs)


def graphs_summary(graphs: tuple[ForwardingGraph, ...]) -> str:
    paths = [p for g in graphs for p in g.paths]
    classifiers = sum(len(p.classifiers) for p in paths)
    return f"{len(graphs)} VNFFG, {len(paths)} path, {classifiers} classifier"


def _check_direction(name: str, clf: Classifier, props: Mapping[str, Any], hops: tuple[PathHop, ...],
                     col: Collector, path: tuple) -> None:
    """What the classifier's port fields must say for its path: after an NSH-unaware hop only the
    one port traffic entered by tells where it came from (and the reverse enters at the
    destination port); a symmetrical path must tell its two directions apart."""
    symmetrical = props.get("symmetrical") is True
    # a bump in the wire (an NSH-unaware VNF named twice in a row: in by one CP, out by another)
    # sends frames on as they came; a one-armed unaware VNF routes them (its own MAC as source)
    unaware = next((a.forwarder for a, b in zip(hops, hops[1:], strict=False) if a.forwarder == b.forwarder
                    and a.sfc_encap is False), None)
    ports: tuple[tuple[str, Any], ...] = (("network_src_port_id", clf.match.network_src_port_id),)
    if symmetrical:
        ports += (("network_dst_port_id", clf.match.network_dst_port_id),)
    for key, value in ports:
        if unaware is not None and value is None:
            col.add(name, f"policy.criteria[{clf.name}]", f"the path passes NSH-unaware {unaware} as a bump in the "
                    f"wire: after it the port the traffic entered by cannot be told apart, so the classifier needs "
                    f"{key}", path)
            return
    if symmetrical and clf.match.reversed() == clf.match:
        col.add(name, f"policy.criteria[{clf.name}]", "the path is symmetrical, but the classifier reads the same in "
                "both directions (no port, address or MAC tells forward from reverse traffic)", path)


def _classifiers(name: str, style: str, props: Mapping[str, Any], col: Collector,
                 hops: tuple[PathHop, ...] = ()) -> tuple[Classifier, ...]:
    path = col.node_path(name, "properties", "policy")
    policy = props.get("policy")
    if policy is None:
        if style == "FP.Tacker":
            col.add(name, "policy", "FP.Tacker requires a classification policy", col.node_path(name))
        return ()
    if not isinstance(policy, Mapping):
        col.add(name, "policy", "policy must be a mapping with type and criteria", path)
        return ()
    if policy.get("type", "ACL") != "ACL":
        col.add(name, "policy.type", f"only ACL policies exist, got {policy.get('type')!r}", (*path, "type"))
    criteria = policy.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        col.add(name, "policy.criteria", "criteria must be a non-empty list", (*path, "criteria"))
        return ()
    out, names = [], set()
    for index, item in enumerate(criteria):
        where = (*path, "criteria", index)
        if style == "FP.TackerV2":
            item = as_map(item)
            cname, raw = item.get("name"), item.get("classifier")
            if not isinstance(cname, str) or not cname:
                col.add(name, f"policy.criteria[{index}].name", "a TackerV2 classifier needs a name", where)
                continue
            where = (*where, "classifier")
        else:
            cname, raw = f"{name}-{index}", item
        if cname in names:
            col.add(name, f"policy.criteria[{index}].name", f"duplicate classifier {cname!r}", where)
            continue
        names.add(cname)
        match = build_acl(raw, col, name, where)
        if match is not None:
            out.append(Classifier(cname, match))
    for clf in out:
        _check_direction(name, clf, props, hops, col, path)
    seen: dict[AclMatch, str] = {}
    for clf in out:
        if clf.match in seen:
            col.add(name, "policy.criteria", f"classifier {clf.name!r} duplicates the match of "
                    f"{seen[clf.match]!r}", path)
        seen.setdefault(clf.match, clf.name)
    return tuple(out)


def _hops(name: str, props: Mapping[str, Any], col: Collector) -> tuple[PathHop, ...]:
    path = col.node_path(name, "properties", "path")
    raw = props.get("path")
    if not isinstance(raw, list) or not raw:
        col.add(name, "path", "a forwarding path needs a non-empty list of hops", path)
        return ()
    hops = []
    for index, hop in enumerate(raw):
        hop = as_map(hop)
        fwd, cap = hop.get("forwarder"), hop.get("capability")
        if not isinstance(fwd, str) or not isinstance(cap, str):
            col.add(name, f"path[{index}]", "a hop needs forwarder and capability names", (*path, index))
            continue
        encap = opt_bool(hop.get("sfc_encap"), col, name, f"path[{index}].sfc_encap",
                         (*path, index, "sfc_encap"))
        hops.append(PathHop(fwd, cap, encap if isinstance(encap, bool) else None))
    runs: list[str] = []
    for index, hop in enumerate(hops):
        if runs and runs[-1] == hop.forwarder:
            continue
        if hop.forwarder in runs:
            col.add(name, f"path[{index}]", f"forwarder {hop.forwarder!r} appears again after other "
                    "hops: a path may not loop back to a VNF", (*path, index))
        runs.append(hop.forwarder)
    if len(runs) > MAX_SF_HOPS:
        col.add(name, "path", f"{len(runs)} service function hops underflow the NSH service index "
                f"(at most {MAX_SF_HOPS})", path)
    return tuple(hops)


def _path(name: str, tpl: Mapping[str, Any], style: str, col: Collector) -> ForwardingPath:
    props = as_map(tpl.get("properties"))
    ppath = col.node_path(name, "properties")
    path_id = opt_int(props.get("id"), col, name, "id", (*ppath, "id"))
    if isinstance(path_id, int) and not 0 < path_id < 2 ** 24:
        col.add(name, "id", f"path id {path_id} is not a 24-bit SPI (1..16777215)", (*ppath, "id"))
    correlation = props.get("correlation", "mpls")
    if correlation not in CORRELATIONS:
        col.add(name, "correlation", f"must be mpls or nsh, got {correlation!r}", (*ppath, "correlation"))
    symmetrical = opt_bool(props.get("symmetrical", False), col, name, "symmetrical", (*ppath, "symmetrical"))
    hops = _hops(name, props, col)
    return ForwardingPath(name, style, path_id, symmetrical is True, str(correlation),
                          _classifiers(name, style, props, col, hops), hops, opt_str(tpl.get("description")))


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def build_graphs(topo: Mapping[str, Any], types: TypeIndex, col: Collector,
                 vnfds: Mapping[str, Vnfd] | None) -> tuple[ForwardingGraph, ...]:
    """All VNFFG groups of a VNFFGD or NSD, with every check that does not need an instance."""
    paths: dict[str, ForwardingPath] = {}
    for name, tpl in node_templates(topo):
        ntype = tpl.get("type")
        if types.derives(ntype, FP_TACKER_V2):
            paths[name] = _path(name, tpl, "FP.TackerV2", col)
        elif types.derives(ntype, FP_TACKER):
            paths[name] = _path(name, tpl, "FP.Tacker", col)
    graphs, used = [], set()
    gpath = ("topology_template", "groups")
    for gname, group in as_map(topo.get("groups")).items():
        group = as_map(group)
        if not types.derives(group.get("type"), VNFFG_GROUP):
            continue
        gname = str(gname)
        props = as_map(group.get("properties"))
        where = (*gpath, gname, "properties")
        members = []
        for member in as_list(group.get("members")):
            if not isinstance(member, str) or member not in paths:
                col.add(gname, "members", f"{member!r} is not a forwarding path", (*gpath, gname, "members"))
            elif member in used:
                col.add(gname, "members", f"{member!r} already belongs to another VNFFG", (*gpath, gname, "members"))
            else:
                used.add(member)
                members.append(paths[member])
        if not members:
            col.add(gname, "members", "a VNFFG needs at least one forwarding path", (*gpath, gname))
        vnfs = _names(props.get("constituent_vnfs"))
        cps = _names(props.get("connection_point"))
        endpoints = opt_int(props.get("number_of_endpoints"), col, gname, "number_of_endpoints",
                            (*where, "number_of_endpoints"))
        if isinstance(endpoints, int) and endpoints != len(cps):
            col.add(gname, "number_of_endpoints", f"says {endpoints} but connection_point lists "
                    f"{len(cps)}", (*where, "number_of_endpoints"))
        for fp in members:
            for index, hop in enumerate(fp.hops):
                hop_path = col.node_path(fp.name, "properties", "path", index)
                if hop.forwarder not in vnfs:
                    col.add(fp.name, f"path[{index}].forwarder", f"{hop.forwarder!r} is not in "
                            f"constituent_vnfs of {gname} ({', '.join(vnfs) or 'empty'})", hop_path)
                elif vnfds is not None:
                    vnfd = vnfds.get(hop.forwarder)
                    if vnfd is None:
                        col.add(fp.name, f"path[{index}].forwarder",
                                f"{hop.forwarder!r} names no onboarded VNFD", hop_path)
                    elif vnfd.cp(hop.capability) is None:
                        col.add(fp.name, f"path[{index}].capability", f"{hop.capability!r} is not a CP "
                                f"of VNFD {hop.forwarder!r} ({', '.join(c.name for c in vnfd.cps)})", hop_path)
        version = props.get("version")
        graphs.append(ForwardingGraph(gname, opt_str(group.get("description")), opt_str(props.get("vendor")),
                                      None if version is None else str(version), endpoints,
                                      _names(props.get("dependent_virtual_link")), cps, vnfs, tuple(members)))
    for name in paths:
        if name not in used:
            col.add(name, None, "forwarding path belongs to no VNFFG group", col.node_path(name))
    ids: dict[Any, str] = {}
    for fp in paths.values():
        if isinstance(fp.path_id, int):
            other = ids.setdefault(fp.path_id, fp.name)
            if other != fp.name:
                col.add(fp.name, "id", f"path id {fp.path_id} already used by {other}",
                        col.node_path(fp.name, "properties", "id"))
    seen: dict[AclMatch, str] = {}
    for fp in paths.values():
        for clf in fp.classifiers:
            other = seen.setdefault(clf.match, fp.name)
            if other != fp.name:
                col.add(fp.name, "policy.criteria", f"classifier {clf.name!r} has the same match as a "
                        f"classifier of {other}: a packet could enter either path",
                        col.node_path(fp.name, "properties", "policy"))
    return tuple(graphs)


def build_vnffgd(name: str, data: Mapping[str, Any], topo: Mapping[str, Any], inputs: tuple[InputDef, ...],
                 unresolved: frozenset[str], types: TypeIndex, col: Collector,
                 vnfds: Mapping[str, Vnfd] | None) -> Vnffgd:
    graphs = build_graphs(topo, types, col, vnfds)
    if not graphs:
        col.add(None, "groups", "a VNFFGD needs a tosca.groups.nfv.VNFFG group", ("topology_template",))
    return Vnffgd(name, opt_str(data.get("description")), inputs, graphs, unresolved)
