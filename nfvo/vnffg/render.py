"""VNFFG + VNF records → the controller's desired-state entries (pure).

Naming in the controller's document: path ``VNFFG/PATH`` (reverse ``VNFFG/PATH/reverse``),
classifier ``VNFFG/PATH/CLASSIFIER``, service function ``VNF:CP`` (a load-balanced hop
``VNF1:CP+VNF3:CP``). A hop's instances are the CP on every VDU instance of every VNF it names,
so a scaled VNF or an abstract hop over several VNFs becomes one load-balanced hop
(the controller hashes connections symmetrically over its instances).

in_port (where classified traffic enters, which the controller requires): the classifier's
``network_src_port_id`` (``VNF``, ``VNF:CP`` or an OVS port name), else the VIM's ingress
port. A symmetric path's reverse classifier swaps every src/dst field and enters at
``network_dst_port_id``, else the VIM's egress port (the server side).

NSH-unaware hops (``sfc_encap: false``) become controller SFs with ``nsh_aware: false``: the
VNF's ingress CP is the SF's ``port``, its egress CP the ``egress_port`` (see ``unaware_cps``),
named ``VNF:IN>OUT``. A symmetric path's reverse passes the VNF backwards through its twin
``VNF:OUT>IN`` (ports swapped), the one case the controller lets two SFs share ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import ClassifierSpec, HopSpec, PathSpec, VnffgSpec
from nfvo.vnffg.spec import LOCATION_FIELDS
from nfvo.vnffg.spi import reverse_key
from vnfm.model import CpRecord, VnfRecord

SWAPS = (("ip_src_prefix", "ip_dst_prefix"), ("source_ip_prefix", "destination_ip_prefix"), ("ip_src", "ip_dst"), ("nw_src", "nw_dst"),
         ("ipv4_src", "ipv4_dst"), ("ipv6_src", "ipv6_dst"), ("eth_src", "eth_dst"), ("dl_src", "dl_dst"),
         ("source_port_range", "destination_port_range"), ("tp_src", "tp_dst"), ("tcp_src", "tcp_dst"),
         ("udp_src", "udp_dst"), ("sctp_src", "sctp_dst"), ("network_src_port_id", "network_dst_port_id"))
_SWAP = {**{a: b for a, b in SWAPS}, **{b: a for a, b in SWAPS}, "tcp_dest": "tcp_src", "udp_dest": "udp_src"}


@dataclass(frozen=True)
class Inventory:
    """What a render looks at: VNF records by name, the VIM's switches and default ports."""

    vnfs: Mapping[str, VnfRecord]
    switches: Mapping[str, int]  # bridge name -> dpid
    ingress_port: str = ""
    egress_port: str = ""


@dataclass(frozen=True)
class SfDef:
    name: str
    instances: tuple[tuple[str, str], ...]  # (switch, port)
    egress: tuple[str, ...] = ()  # NSH-unaware: per instance, the port traffic comes back on
    nsh_aware: bool = True

    def reversed(self) -> SfDef:
        """The twin a symmetric path's reverse passes: ingress and egress swapped."""
        if self.nsh_aware:
            return self
        name = "+".join(f"{vnf}:{cps.partition('>')[2]}>{cps.partition('>')[0]}"
                        for vnf, _, cps in (part.partition(":") for part in self.name.split("+")))
        return SfDef(name, tuple((s, e) for (s, _), e in zip(self.instances, self.egress)),
                     tuple(p for _, p in self.instances), False)

    def document_entry(self) -> dict[str, Any]:
        instances = [{"switch": s, "port": p} for s, p in self.instances]
        if self.nsh_aware:
            return {"name": self.name, "instances": instances}
        for inst, egress in zip(instances, self.egress):
            inst["egress_port"] = egress
        return {"name": self.name, "nsh_aware": False, "instances": instances}


@dataclass(frozen=True)
class RenderedChain:
    vnffg: str
    functions: tuple[SfDef, ...]
    paths: tuple[dict[str, Any], ...]  # service_function_paths entries
    switches: frozenset[str] = field(default=frozenset())
    vnfs: frozenset[str] = field(default=frozenset())  # every VNF it passes through

    @property
    def path_names(self) -> tuple[str, ...]:
        return tuple(p["name"] for p in self.paths)


def swap_match(match: Mapping[str, Any]) -> dict[str, Any]:
    """The reverse direction's match: every src field becomes dst and back."""
    return {_SWAP.get(k, k): v for k, v in match.items()}


def type_matches(vnf_type: str | None, wanted: str) -> bool:
    """``firewall`` matches ``tosca.nodes.nfv.VNF.firewall`` (the last dotted part) or the full type."""
    if not vnf_type:
        return False
    return vnf_type == wanted or vnf_type.rsplit(".", 1)[-1].lower() == wanted.lower()


def hop_vnfs(hop: HopSpec, inv: Inventory, where: str) -> tuple[VnfRecord, ...]:
    if hop.vnf_type:
        found = tuple(v for _, v in sorted(inv.vnfs.items())
                      if type_matches(v.vnf_type, hop.vnf_type) and v.status == "ACTIVE")
        if not found:
            raise FailedPrecondition(f"no ACTIVE VNF of type {hop.vnf_type!r}", where)
        return found
    out = []
    for name in hop.vnfs:
        vnf = inv.vnfs.get(name)
        if vnf is None:
            raise NotFound(f"no VNF {name!r}", where)
        if vnf.status != "ACTIVE":
            raise FailedPrecondition(f"VNF {name} is {vnf.status}, not ACTIVE", where)
        out.append(vnf)
    return tuple(out)


def first_data_cp(vnf: VnfRecord) -> CpRecord | None:
    """The CP chained traffic enters by default: non-management, lowest order (instance 0)."""
    cps = [c for c in vnf.cps if not c.management and c.instance == 0]
    return min(cps, key=lambda c: (c.order, c.name)) if cps else None


def hop_cps(vnf: VnfRecord, cp: str, where: str) -> tuple[CpRecord, ...]:
    """The hop's CP on every VDU instance of ``vnf``."""
    if not cp:
        first = first_data_cp(vnf)
        if first is None:
            raise FailedPrecondition(f"VNF {vnf.name} has no data (non-management) CP", where)
        cp = first.name
    found = tuple(c for c in vnf.cps if c.name == cp)
    if not found:
        names = ", ".join(sorted({c.name for c in vnf.cps}))
        raise InvalidArgument(f"VNF {vnf.name} has no CP {cp!r} (has {names})", where)
    if found[0].management:
        raise InvalidArgument(f"{vnf.name}:{cp} is a management CP", where)
    return found


def unaware_cps(vnf: VnfRecord, hop: HopSpec, where: str) -> tuple[str, str]:
    """Ingress and egress CP of an NSH-unaware hop: as given (a VNFFGD names the VNF twice in
    a row, Tacker's port pair), else ``cp`` (or the first data CP) and the next data CP by
    order, else the same CP (a one-armed SF)."""
    egress = hop.egress_cp
    ingress = hop_cps(vnf, hop.cp, where)[0].name
    if not egress:
        order = next(c.order for c in vnf.cps if c.name == ingress)
        later = [c for c in vnf.cps if not c.management and c.instance == 0 and c.order > order]
        egress = min(later, key=lambda c: (c.order, c.name)).name if later else ingress
    return ingress, hop_cps(vnf, egress, where)[0].name


def render_hop(hop: HopSpec, inv: Inventory, where: str) -> SfDef:
    parts: list[str] = []
    instances: list[tuple[str, str]] = []
    egress: list[str] = []
    for vnf in hop_vnfs(hop, inv, where):
        if hop.sfc_encap:
            cps = hop_cps(vnf, hop.cp, where)
            parts.append(f"{vnf.name}:{cps[0].name}")
            instances.extend((c.bridge, c.ovs_port) for c in sorted(cps, key=lambda c: c.instance))
            continue
        cp_in, cp_out = unaware_cps(vnf, hop, where)
        parts.append(f"{vnf.name}:{cp_in}>{cp_out}")
        outs = {c.instance: c for c in hop_cps(vnf, cp_out, where)}
        for c in sorted(hop_cps(vnf, cp_in, where), key=lambda c: c.instance):
            out = outs.get(c.instance)
            if out is None or out.bridge != c.bridge:
                raise FailedPrecondition(f"{vnf.name}:{cp_out} of VDU instance {c.instance} is not on "
                                         f"switch {c.bridge}", where)
            instances.append((c.bridge, c.ovs_port))
            egress.append(out.ovs_port)
    switches = {s for s, _ in instances}
    if len(switches) > 1:
        raise FailedPrecondition(f"the hop's CPs are on several switches ({', '.join(sorted(switches))})", where)
    return SfDef("+".join(parts), tuple(instances), tuple(egress), hop.sfc_encap)


def resolve_port(ref: str, inv: Inventory, switch: str, where: str) -> str:
    """``VNF`` / ``VNF:CP`` → its OVS port (must be on ``switch``); anything else is a port name."""
    name, _, cp = ref.partition(":")
    vnf = inv.vnfs.get(name)
    if vnf is None:
        if cp:
            raise NotFound(f"no VNF {name!r}", where)
        return ref
    record = hop_cps(vnf, cp, where)[0]
    if record.bridge != switch:
        raise FailedPrecondition(f"{ref} is on switch {record.bridge}, the path is on {switch}", where)
    return record.ovs_port


def _classifier(vnffg: str, path: str, clf: ClassifierSpec, inv: Inventory, switch: str,
                reverse: bool, where: str) -> dict[str, Any]:
    match = clf.match_dict()
    if reverse:
        match = swap_match(match)
    ref = match.get("network_src_port_id") or (inv.egress_port if reverse else inv.ingress_port)
    if not ref:
        side = "network_dst_port_id or the VIM's egress port" if reverse else \
            "network_src_port_id or the VIM's ingress port"
        raise FailedPrecondition(f"the classifier needs to know where traffic enters: set {side}", where)
    in_port = resolve_port(str(ref), inv, switch, f"{where}.in_port")
    name = f"{vnffg}/{path}/{clf.name}" + ("/reverse" if reverse else "")
    return {"name": name, "switch": switch, "in_port": in_port,
            "match": {k: v for k, v in match.items() if k not in LOCATION_FIELDS}}


def render_path(vnffg: str, path: PathSpec, spis: Mapping[str, int], inv: Inventory
                ) -> tuple[list[SfDef], list[dict[str, Any]]]:
    where = f"vnffg[{vnffg}].{path.name}"
    functions = [render_hop(h, inv, f"{where}.hops[{i}]") for i, h in enumerate(path.hops)]
    switches = {inst[0] for f in functions for inst in f.instances}
    if len(switches) > 1:
        raise FailedPrecondition(f"hops span several switches ({', '.join(sorted(switches))}); "
                                 "inter-SFF links are not supported yet", f"{where}.hops")
    (switch,) = switches
    if switch not in inv.switches:
        raise FailedPrecondition(f"bridge {switch} belongs to no registered VIM", f"{where}.hops")
    hops = [f.name for f in functions]
    entries = [{"name": f"{vnffg}/{path.name}", "spi": spis[path.name], "hops": hops,
                "classifiers": [_classifier(vnffg, path.name, c, inv, switch, False, f"{where}.classifiers[{c.name}]")
                                for c in path.classifiers]}]
    if path.symmetrical:
        twins = [f.reversed() for f in functions[::-1]]
        functions += [f for f in twins if not f.nsh_aware]
        entries.append({"name": f"{vnffg}/{path.name}/reverse", "spi": spis[reverse_key(path.name)],
                        "hops": [f.name for f in twins],
                        "classifiers": [_classifier(vnffg, path.name, c, inv, switch, True,
                                                    f"{where}.classifiers[{c.name}]") for c in path.classifiers]})
    return functions, entries


def render_vnffg(name: str, spec: VnffgSpec, spis: Mapping[str, int], inv: Inventory) -> RenderedChain:
    """Raises NotFound / InvalidArgument / FailedPrecondition naming the element."""
    functions: dict[str, SfDef] = {}
    paths: list[dict[str, Any]] = []
    for path in spec.paths:
        fns, entries = render_path(name, path, spis, inv)
        for fn in fns:
            functions[fn.name] = fn
        paths.extend(entries)
    vnfs = frozenset(part.split(":")[0] for fn in functions for part in fn.split("+"))
    return RenderedChain(name, tuple(functions.values()), tuple(paths),
                         frozenset(s for fn in functions.values() for s, _ in fn.instances), vnfs)


def spi_wants(spec: VnffgSpec) -> list[tuple[str, int | None]]:
    """The SPI keys a spec needs: one per path, plus one per reverse path."""
    out: list[tuple[str, int | None]] = []
    for path in spec.paths:
        out.append((path.name, path.path_id))
        if path.symmetrical:
            out.append((reverse_key(path.name), None))
    return out


def merge_functions(chains: Iterable[RenderedChain]) -> dict[str, SfDef]:
    """Every chain's SFs; one port in two differently-grouped SFs cannot be expressed."""
    out: dict[str, SfDef] = {}
    port_owner: dict[tuple[str, str], str] = {}
    for chain in chains:
        for fn in chain.functions:
            if fn.name in out:
                continue
            for inst in fn.instances:
                other = port_owner.get(inst)
                if other is not None:
                    raise FailedPrecondition(f"port {inst[1]} is already hop {other} of another chain; one "
                                             f"CP cannot be in two different load-balanced hops",
                                             f"vnffg[{chain.vnffg}]")
                port_owner[inst] = fn.name
            out[fn.name] = fn
    return out


def build_document(switches: Mapping[str, int], chains: Iterable[RenderedChain]) -> dict[str, Any]:
    """The controller's whole desired state for ``chains``."""
    chains = list(chains)
    functions = merge_functions(chains)
    used = {s for fn in functions.values() for s, _ in fn.instances}
    return {
        "switches": [{"name": s, "dpid": switches[s]} for s in sorted(used)],
        "service_functions": [fn.document_entry() for fn in functions.values()],
        "service_function_paths": [p for chain in chains for p in chain.paths],
    }
