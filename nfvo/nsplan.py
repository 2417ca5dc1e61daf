"""What an NS create will make, checked before anything is made (pure: values in, values out).

``plan_ns`` names every constituent VNF ``NS-NODE`` and every VNFFG ``NS-GRAPH`` (its classifiers
``NS-CLASSIFIER``), so one NSD can be instantiated many times, and refuses names already taken;
``bind_links`` is the VNFD as an NS member runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Collection

from descriptors import Nsd, Vnfd
from descriptors.nsd import ConstituentVnf
from nfvo.errors import AlreadyExists, InvalidArgument
from nfvo.model import VnffgSpec
from nfvo.vnffg.spec import check_name, spec_from_paths


@dataclass(frozen=True)
class NsPlan:
    vnfs: tuple[tuple[str, str], ...]  # (NSD node, VNF name), in NSD order
    graphs: tuple[tuple[str, VnffgSpec], ...]  # (VNFFG name, spec)


def plan_ns(name: str, nsd: Nsd, nsd_name: str, vnfs_taken: Collection[str],
            vnffg_taken: Callable[[str], bool]) -> NsPlan:
    if nsd.unresolved_inputs:
        missing = ", ".join(sorted(nsd.unresolved_inputs))
        raise InvalidArgument(f"NSD {nsd_name} needs a value for input {missing} (--param-file)", f"ns[{name}].params")
    vnfs = tuple((member.node, f"{name}-{member.node}") for member in nsd.vnfs)
    mapping: dict[str, str] = {}
    for member, (_, vnf_name) in zip(nsd.vnfs, vnfs, strict=True):
        check_name(vnf_name, f"ns[{name}].vnfs[{member.node}]")
        mapping.setdefault(member.vnfd, vnf_name)
    taken = [vnf for _, vnf in vnfs if vnf in vnfs_taken]
    if taken:
        raise AlreadyExists(f"VNF {taken[0]!r} already exists", f"ns[{name}].vnfs")
    graphs = []
    for graph in nsd.graphs:
        vnffg = f"{name}-{graph.name}"
        check_name(vnffg, f"ns[{name}].vnffgs[{graph.name}]")
        if vnffg_taken(vnffg):
            raise AlreadyExists(f"VNFFG {vnffg!r} already exists", f"ns[{name}].vnffgs")
        description = graph.description if isinstance(graph.description, str) else ""  # inputs resolved above
        spec = spec_from_paths(graph.paths, mapping, f"ns[{name}].{graph.name}", description)
        spec = replace(spec, paths=tuple(replace(p, classifiers=tuple(replace(c, name=f"{name}-{c.name}")
                                                                      for c in p.classifiers))
                                         for p in spec.paths))
        graphs.append((vnffg, spec))
    return NsPlan(vnfs, tuple(graphs))


def bind_links(vnfd: Vnfd, member: ConstituentVnf, nsd: Nsd) -> Vnfd:
    """The VNFD as this NS member runs it: each CP a requirement of its node type maps (Tacker's
    ``substitution_mappings``) joins the NSD virtual link the NSD node connects it to."""
    if not member.virtual_links or vnfd.vnf_type is None:
        return vnfd
    nsd_vls = {vl.name: vl for vl in nsd.vls}
    vls, cps = {vl.name: vl for vl in vnfd.vls}, {cp.name: cp for cp in vnfd.cps}
    for req, target in member.virtual_links.items():
        cp_name = vnfd.vnf_type.requirements[req][0]
        link = nsd_vls[target]
        name = target if target not in vls or vls[target].network_name == link.network_name else f"nsd.{target}"
        vls[name] = replace(link, name=name)
        cps[cp_name] = replace(cps[cp_name], virtual_link=name)
    return replace(vnfd, vls=tuple(vls.values()), cps=tuple(cps[c.name] for c in vnfd.cps))
