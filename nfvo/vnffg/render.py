"""VNFFG + VNF records → the controller's desired-state entries (pure).

The result is the controller's own typed values (``sdn.document``). Naming in its document:
path ``VNFFG/PATH`` (reverse ``VNFFG/PATH/reverse``), classifier ``VNFFG/PATH/CLASSIFIER``,
service function ``VNF:CP`` (a load-balanced hop ``VNF1:CP+VNF3:CP``) -- names only. Each hop
becomes a service function in ``nfvo.vnffg.hops`` (its instances, NSH-unaware hops, dead
instances and the failure policy); this module places them on paths and adds the classifiers.

Where classified traffic enters: ``network_src_port_id`` (``VNF``, ``VNF:CP`` or an OVS port
name) binds the classifier to that port, on the switch of the host its CP is on; ``network_id``/
``network_name`` to the ports of that virtual link (every VNF CP on it on any host, the path's
own SF ports excepted: one controller classifier per port, ``NAME@PORT``); with neither it is
bound to no port: the controller classifies what enters by any port that is not a service
function's (nor a VL tunnel port's), hosts plugged in later included -- on the hops' switch, or
on every overlay switch (``NAME@SWITCH``) when the hops' are on the overlay.
``network_dst_port_id`` narrows the forward match to traffic addressed to that CP (``eth_dst`` =
its MAC). A symmetric path's reverse classifier swaps every src/dst field, enters at
``network_dst_port_id`` and, when the source is a VNF CP, is addressed to it; one that would read
exactly like the forward one on the same ports is refused (nothing tells the directions apart).
What a classifier reads of VNFs -- a virtual link's CPs, the CP ``network_src_port_id`` /
``network_dst_port_id`` name (its port, switch and MAC) -- changes when a VNF comes, goes, heals
or moves: ``VnffgManager.uses_vnf`` names the chains to re-render then, as it does for hops.

Across hosts (``nfvo.vnffg.sffs``: the switches are the VIM's hosts'): hops and classifiers may be
on different switches when every switch involved is on the overlay (host id, tunnel IP, GPE
port), else the render is refused naming the switches. An NSH-unaware hop is proxied by the host
of each of its instances (which re-classifies what that instance sends back); a bump in the wire
(no MAC) on one host needs the path's classified ports on that host too, on several a destination
for every classifier (refused naming the hop). The
controller carries NSH between hosts. Where the destination is a VNF CP (``network_dst_port_id``;
for a symmetric path's reverse the source, ``network_src_port_id``) the classifier names it
(``Classifier.destination``: the CP's switch and OVS port) and the path ends there: the last SFF
sends the end SI straight to the destination's host, which strips NSH and outputs to its port. Else
the path ends where it was classified (NSH C1 holds the ingress host and port) or, after a routing
unaware hop, on the host of the instance that served it (C1 = its host and port); NORMAL then delivers, over the VL's
tunnel if the destination is on another host. A destination the overlay cannot reach (a switch off
it, on a path that would then cross) is left out: NORMAL delivers as before.

A path whose hops all left under ``fail-open`` is not rendered; ``RenderedChain.degraded`` says
why the chain is not what its spec asks (the NFVO's DEGRADED).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from descriptors.acl import UNSUPPORTED
from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import ClassifierSpec, PathSpec, VnffgSpec
from nfvo.vnffg.hops import Inventory, SfDef, hop_cps, render_hop  # Inventory, SfDef: callers import them from here
from nfvo.vnffg.sffs import UnawareHop, check_crossing, check_known, with_destination
from nfvo.vnffg.spi import reverse_key
from sdn.document import Classifier, Destination, Probes, ServicePath, SfcDocument, Switch
from vnfm.model import CpRecord, Status


@dataclass(frozen=True)
class RenderedChain:
    vnffg: str
    functions: tuple[SfDef, ...]
    paths: tuple[ServicePath, ...]
    switches: frozenset[str] = field(default=frozenset())
    vnfs: frozenset[str] = field(default=frozenset())  # every VNF it passes through
    degraded: tuple[str, ...] = ()  # why it is not as specified: lost instances, bypassed hops

    @property
    def path_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.paths)


def port_record(ref: str, inv: Inventory, where: str) -> CpRecord | None:
    """``VNF`` / ``VNF:CP`` → its CP (``bridge``: the switch it is on); None for anything else (a port name)."""
    name, _, cp = ref.partition(":")
    vnf = inv.vnfs.get(name)
    if vnf is None:
        if cp:
            raise NotFound(f"no VNF {name!r}", where)
        return None
    return hop_cps(vnf, cp, where)[0]


def resolve_port(ref: str, inv: Inventory, home: str, where: str) -> tuple[str, str]:
    """``VNF`` / ``VNF:CP`` → (its switch, its OVS port); anything else is a port name on ``home``,
    the switch of the path's hops ("" when they are on several: then the port's host is unknown)."""
    record = port_record(ref, inv, where)
    if record is not None:
        return record.bridge, record.ovs_port
    if not home:
        raise InvalidArgument(f"{ref} is no VNF CP, so the host it is on is unknown, and the path's hops are on "
                              "several switches: name a VNF or VNF:CP", where)
    return home, ref


def network_ports(network: str, inv: Inventory, on: tuple[str, ...], sf_ports: frozenset[tuple[str, str]]
                  ) -> tuple[tuple[str, str], ...]:
    """(switch, OVS port) of every ACTIVE VNF's CP on virtual link ``network`` on the switches ``on``
    (``reach``), SF ports excepted (a VNF turning ACTIVE or going away re-renders the chain:
    ``VnffgManager.uses_vnf``)."""
    return tuple(sorted({(c.bridge, c.ovs_port) for v in inv.vnfs.values() if v.status == Status.ACTIVE for c in v.cps
                         if c.vl == network and c.bridge in on and (c.bridge, c.ovs_port) not in sf_ports}))


def reach(inv: Inventory, hop_switches: frozenset[str]) -> tuple[str, ...]:
    """Where a classifier not bound to one port sits (a virtual link's ports, or any port): every
    switch on the overlay when the hops' are (traffic may enter on any host, hosts plugged in later
    included; after an NSH-unaware hop the path is re-classified on its host), else the hops' switch."""
    if all(n in inv.switches and inv.switches[n].on_overlay for n in hop_switches):
        return tuple(sorted(n for n, s in inv.switches.items() if s.on_overlay))
    return tuple(sorted(hop_switches))


def _classifier(vnffg: str, path: str, clf: ClassifierSpec, inv: Inventory, hop_switches: frozenset[str],
                reverse: bool, sf_ports: frozenset[tuple[str, str]], where: str) -> tuple[Classifier, ...]:
    """The controller classifiers for one direction of ``clf`` (several for a virtual link), each
    on the switch of its port."""
    written = dict(clf.match)
    if "tenant_id" in written:
        raise InvalidArgument(UNSUPPORTED["tenant_id"], f"{where}.tenant_id")
    source, target = (clf.egress, clf.ingress) if reverse else (clf.ingress, clf.egress)
    match = clf.parsed.reversed() if reverse else clf.parsed
    name = f"{vnffg}/{path}/{clf.name}" + ("/reverse" if reverse else "")
    destination = None
    if target:
        key = "network_src_port_id" if reverse else "network_dst_port_id"
        record = port_record(target, inv, f"{where}.{key}")  # wherever it is: only its MAC matters
        if record is not None and record.mac:
            if match.eth_dst not in (None, record.mac):
                raise InvalidArgument(f"{target} has MAC {record.mac}, but eth_dst is {match.eth_dst}: no packet "
                                      "is addressed to both", f"{where}.{key}")
            match = replace(match, eth_dst=record.mac)
        elif not reverse and match.eth_dst is None:
            raise InvalidArgument(f"{target} is no VNF CP, so its MAC is unknown and traffic addressed to it cannot "
                                  "be told apart (name a VNF or VNF:CP, or give eth_dst too)", f"{where}.{key}")
        if record is not None and record.bridge and record.ovs_port:
            destination = Destination(record.ovs_port, record.bridge)
    networks = {written[k] for k in ("network_id", "network_name") if k in written}
    if len(networks) > 1:
        raise InvalidArgument("network_id and network_name name different virtual links "
                              f"({', '.join(sorted(map(str, networks)))})", f"{where}.network_name")
    if source:
        home = next(iter(hop_switches)) if len(hop_switches) == 1 else ""
        switch, port = resolve_port(source, inv, home, f"{where}.in_port")
        out: tuple[Classifier, ...] = (Classifier(name, port, match, switch),)
    elif networks:
        out = tuple(Classifier(f"{name}@{port}", port, match, switch) for switch, port in
                    network_ports(str(next(iter(networks))), inv, reach(inv, hop_switches), sf_ports))
    else:  # every port that is not a service function's, on each
        switches = reach(inv, hop_switches)
        out = tuple(Classifier(name if len(switches) == 1 else f"{name}@{switch}", "", match, switch)
                    for switch in switches)
    return with_destination(out, destination, inv.switches, hop_switches, sf_ports)


def _check_directions(forward: tuple[Classifier, ...], backward: tuple[Classifier, ...], where: str) -> None:
    """A symmetric path's two classifiers must not take the same packets on the same port."""
    for f in forward:
        for b in backward:
            if f.match == b.match and f.switch == b.switch and (not f.in_port or not b.in_port or f.in_port == b.in_port):
                raise InvalidArgument("the path is symmetrical, but the classifier reads the same in both directions "
                                      "(no port, address or MAC tells forward from reverse traffic): set "
                                      "network_src_port_id / network_dst_port_id or a source or destination field",
                                      where)


def _unaware_check(port: str, functions: list[SfDef], key: str, where: str) -> None:
    """After an NSH-unaware VNF that does not route (a bump in the wire: frames go on as they
    came) only the classifier's one port says where traffic entered; a routing one (a MAC to
    address frames to) sends them with its own MAC, from its own port."""
    unaware = next((f for f in functions if not f.nsh_aware and any(not i.mac for i in f.instances)), None)
    if unaware is not None and not port:
        raise InvalidArgument(f"the path passes NSH-unaware {unaware.name} as a bump in the wire: after it the port "
                              f"the traffic entered by cannot be told apart, so the classifier needs {key}", where)


def render_path(vnffg: str, path: PathSpec, spis: Mapping[str, int], inv: Inventory, policy: str = ""
                ) -> tuple[list[SfDef], list[ServicePath], list[str]]:
    """The path's SFs and service paths (none when every hop is bypassed), and its degradations."""
    where = f"vnffg[{vnffg}].{path.name}"
    hops = [(i, *render_hop(h, inv, f"{where}.hops[{i}]", policy)) for i, h in enumerate(path.hops)]
    notes = [note for _, _, note in hops if note]
    placed = [(i, f) for i, f, _ in hops if f is not None]
    functions = [f for _, f in placed]
    if not functions:
        return [], [], notes
    switches = frozenset(inst.switch for f in functions for inst in f.instances)
    check_known(switches, inv.switches, f"{where}.hops")

    sf_ports = frozenset((i.switch, p) for f in functions for i in f.instances for p in i.ports)
    forward: list[Classifier] = []
    backward: list[Classifier] = []
    for c in path.classifiers:
        cwhere = f"{where}.classifiers[{c.name}]"
        _unaware_check(c.ingress, functions, "network_src_port_id", cwhere)
        if path.symmetrical:  # the reverse enters at network_dst_port_id
            _unaware_check(c.egress, functions, "network_dst_port_id", cwhere)
        ahead = _classifier(vnffg, path.name, c, inv, switches, False, sf_ports, cwhere)
        forward.extend(ahead)
        if path.symmetrical:
            back = _classifier(vnffg, path.name, c, inv, switches, True, sf_ports, cwhere)
            _check_directions(ahead, back, cwhere)
            backward.extend(back)
    unaware = [UnawareHop(i, f.name, frozenset(inst.switch for inst in f.instances), all(inst.mac for inst in f.instances))
               for i, f in placed if not f.nsh_aware]
    check_crossing(switches, forward + backward, unaware, inv.switches, where)
    paths = [ServicePath(f"{vnffg}/{path.name}", spis[path.name], tuple(f.name for f in functions), tuple(forward))]
    if path.symmetrical:
        twins = [f.reversed() for f in functions[::-1]]
        functions += [f for f in twins if not f.nsh_aware]
        paths.append(ServicePath(f"{vnffg}/{path.name}/reverse", spis[reverse_key(path.name)],
                                 tuple(f.name for f in twins), tuple(backward)))
    return functions, paths, notes


def render_vnffg(name: str, spec: VnffgSpec, spis: Mapping[str, int], inv: Inventory) -> RenderedChain:
    """Raises NotFound / InvalidArgument / FailedPrecondition naming the element."""
    functions: dict[str, SfDef] = {}
    paths: list[ServicePath] = []
    degraded: list[str] = []
    for path in spec.paths:
        fns, rendered, notes = render_path(name, path, spis, inv, spec.failure_policy)
        for fn in fns:
            functions[fn.name] = fn
        paths.extend(rendered)
        degraded.extend(notes)
    return RenderedChain(name, tuple(functions.values()), tuple(paths),
                         frozenset(i.switch for fn in functions.values() for i in fn.instances)
                         | {c.switch for p in paths for c in p.classifiers},
                         frozenset(v for fn in functions.values() for v in fn.vnfs), tuple(dict.fromkeys(degraded)))


@dataclass(frozen=True)
class ForwardingNeed:
    """A VDU instance behind a one-armed NSH-unaware hop: it must forward IP (``families``, 4
    and/or 6, those its path classifies), or the chain carries nothing past it."""

    vnf: str
    vdu: str
    instance: int
    families: frozenset[int]
    where: str


def forwarding_needs(chain: RenderedChain, spec: VnffgSpec, inv: Inventory) -> list[ForwardingNeed]:
    """What must forward IP for ``chain`` to carry traffic: each NSH-unaware VDU instance of a
    one-armed hop (a VDU whose software parses NSH is its own business) on a forward path with
    classifiers (a reverse path passes the same VDUs). The NFVO asks the VNFM for each."""
    functions = {f.name: f for f in chain.functions}
    rendered = {p.name: p for p in chain.paths}
    needs = []
    for path in spec.paths:
        forward = rendered.get(f"{chain.vnffg}/{path.name}")
        if forward is None:  # every hop bypassed (fail-open)
            continue
        families = frozenset(6 if dict(m).get("eth_type") == 0x86DD else 4
                             for c in forward.classifiers for m in c.matches)
        if not families:
            continue
        for j, hop in enumerate(forward.hops):
            fn = functions[hop]
            if not fn.one_armed:
                continue
            for member in fn.members:
                vnf = inv.vnfs[member.vnf]
                vdus = {(v.name, v.instance): v for v in vnf.vdus}
                for cp in sorted((c for c in vnf.cps if c.name == member.cp), key=lambda c: c.instance):
                    vdu = vdus[(cp.vdu, cp.instance)]
                    if not vdu.nsh_aware and not vdu.dead:  # a dead one is not in the hop (or drops: fail-closed)
                        needs.append(ForwardingNeed(vnf.name, cp.vdu, cp.instance, families,
                                                    f"vnffg[{chain.vnffg}].{path.name}.hops[{j}]"))
    return needs


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
                other = port_owner.get((inst.switch, inst.port))
                if other is not None:
                    raise FailedPrecondition(f"port {inst.port} is already hop {other} of another chain; one "
                                             f"CP cannot be in two different load-balanced hops",
                                             f"vnffg[{chain.vnffg}]")
                port_owner[(inst.switch, inst.port)] = fn.name
            out[fn.name] = fn
    return out


def build_document(switches: Mapping[str, Switch], chains: Iterable[RenderedChain], probes: Probes | None = None,
                   ovsdb: Mapping[str, str] | None = None) -> SfcDocument:
    """The controller's whole desired state for ``chains`` (unchecked: ``check_document``).

    Every registered VIM's bridge is in it, chains or not: the controller then gives each its
    pipeline, so VDUs on a virtual link reach each other (and DHCP) before any chain exists, as
    Neutron's agent sets up br-int before any port is chained (the bridges are fail-secure).
    Each is the switch's full entry (``nfvo.vnffg.sffs``: overlay fields and tunnel ports included).
    ``probes`` (sFlow/IPFIX) apply to the bridges with an OVSDB address: their own, else ``ovsdb``'s.
    """
    chains = list(chains)
    functions = merge_functions(chains)
    used = {i.switch for fn in functions.values() for i in fn.instances} | set(switches) \
        | {c.switch for chain in chains for p in chain.paths for c in p.classifiers}
    check_known(used, switches, "switches")  # e.g. a host gone since its chains were rendered
    remotes = ovsdb or {}
    entries = (switches[s] for s in sorted(used))
    return SfcDocument(tuple(s if s.ovsdb or not remotes.get(s.name) else replace(s, ovsdb=remotes[s.name])
                             for s in entries),
                       tuple(fn.function() for fn in functions.values()),
                       tuple(p for chain in chains for p in chain.paths), probes)
