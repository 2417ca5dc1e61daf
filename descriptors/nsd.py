"""NSD model: constituent VNFs through abstract VNF types, VLs, and embedded VNFFGs.

An NSD ``imports`` onboarded VNFDs by name (Tacker's convention); each VNFD contributes the
abstract node type its ``substitution_mappings`` declares, which NSD node templates use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from descriptors.common import VL, TypeIndex, as_map, freeze, node_templates, opt_str, requirement_targets
from descriptors.errors import Collector
from descriptors.inputs import InputDef, InputRef
from descriptors.vnfd import VirtualLink, Vnfd
from descriptors.vnffgd import ForwardingGraph, build_graphs, graphs_summary


@dataclass(frozen=True)
class ConstituentVnf:
    """A VNF node of the NSD: which VNFD it instantiates and which NSD VLs it attaches."""

    node: str
    vnfd: str
    node_type: str
    virtual_links: Mapping[str, str]  # requirement name (e.g. virtualLink1) → NSD VL node


@dataclass(frozen=True)
class Nsd:
    name: str
    description: str | InputRef | None
    imports: tuple[str, ...]
    inputs: tuple[InputDef, ...]
    vnfs: tuple[ConstituentVnf, ...]
    vls: tuple[VirtualLink, ...]
    graphs: tuple[ForwardingGraph, ...]
    unresolved_inputs: frozenset[str] = frozenset()

    kind = "NSD"

    def summary(self) -> str:
        text = f"{len(self.vnfs)} VNF ({', '.join(v.vnfd for v in self.vnfs)}), {len(self.vls)} VL"
        return text + (f", {graphs_summary(self.graphs)}" if self.graphs else "")


def vnfd_imports(data: Mapping[str, Any]) -> list[str]:
    """Import entries naming onboarded VNFDs (not TOSCA type files)."""
    out = []
    for entry in data.get("imports") or []:
        if isinstance(entry, str) and not entry.endswith((".yaml", ".yml")):
            out.append(entry)
    return out


def build_nsd(name: str, data: Mapping[str, Any], topo: Mapping[str, Any], inputs: tuple[InputDef, ...],
              unresolved: frozenset[str], types: TypeIndex, col: Collector,
              vnfds: Mapping[str, Vnfd]) -> Nsd:
    imports = vnfd_imports(data)
    by_type: dict[str, str] = {}
    for vnfd_name in imports:
        vnfd = vnfds.get(vnfd_name)
        if vnfd is not None and vnfd.vnf_type is not None:
            by_type[vnfd.vnf_type.node_type] = vnfd_name
    vls = {n for n, t in node_templates(topo) if types.derives(t.get("type"), VL)}
    vnfs, vl_models = [], []
    for node, tpl in node_templates(topo):
        ntype = tpl.get("type")
        if node in vls:
            props = as_map(tpl.get("properties"))
            vl_models.append(VirtualLink(node, opt_str(props.get("network_name")),
                                         opt_str(props.get("vendor")), freeze(dict(props))))
            continue
        if ntype not in by_type:
            continue
        vnfd = vnfds[by_type[ntype]]
        assert vnfd.vnf_type is not None
        reqs = requirement_targets(tpl)
        links = {}
        for req, target in reqs.items():
            where = col.node_path(node, "requirements")
            if req not in vnfd.vnf_type.requirements:
                col.add(node, req, f"VNFD {vnfd.name!r} maps no requirement {req!r} "
                        f"(has {', '.join(vnfd.vnf_type.requirements) or 'none'})", where)
            elif target not in vls:
                col.add(node, req, f"{target!r} is not a VL of this NSD", where)
            else:
                links[req] = target
        for req in vnfd.vnf_type.required:
            if req not in reqs:
                col.add(node, req, f"required virtual link {req!r} of VNFD {vnfd.name!r} is not connected",
                        col.node_path(node))
        vnfs.append(ConstituentVnf(node, by_type[ntype], str(ntype), freeze(links)))
    if not vnfs:
        col.add(None, "node_templates", "an NSD needs at least one VNF of an imported VNFD type",
                ("topology_template", "node_templates"))
    graphs = build_graphs(topo, types, col, {k: vnfds[k] for k in imports if k in vnfds})
    for graph in graphs:
        for vnf in graph.constituent_vnfs:
            if vnf not in imports:
                col.add(graph.name, "constituent_vnfs", f"{vnf!r} is not a VNFD imported by this NSD",
                        ("topology_template", "groups", graph.name))
    return Nsd(name, opt_str(data.get("description")), tuple(imports), inputs, tuple(vnfs),
               tuple(vl_models), graphs, unresolved)
