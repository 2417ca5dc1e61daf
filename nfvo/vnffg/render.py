"""VNFFG + VNF records → the controller's desired-state entries (pure).

The result is the controller's own typed values (``sdn.document``). Naming in its document:
path ``VNFFG/PATH`` (reverse ``VNFFG/PATH/reverse``), classifier ``VNFFG/PATH/CLASSIFIER``,
service function ``VNF:CP`` (a load-balanced hop ``VNF1:CP+VNF3:CP``) -- names only: what a
hop is made of stays structured in ``SfDef.members``. A hop's instances are the CP on every VDU instance of every VNF it names,
so a scaled VNF or an abstract hop over several VNFs becomes one load-balanced hop
(the controller hashes connections symmetrically over its instances).

Where classified traffic enters: ``network_src_port_id`` (``VNF``, ``VNF:CP`` or an OVS port
name) binds the classifier to that port, on the switch of the host its CP is on; ``network_id``/
``network_name`` to the ports of that virtual link (every VNF CP on it on any host, the path's
own SF ports excepted: one controller classifier per port, ``NAME@PORT``, re-rendered whenever a
VNF comes or goes -- ``VnffgManager.uses_vnf``); with neither it is bound to no port: the
controller classifies what enters by any port that is not a service function's (nor a VL tunnel
port's), hosts plugged in later included -- on the hops' switch, or on every overlay switch
(``NAME@SWITCH``) when the hops' are on the overlay. ``network_dst_port_id`` narrows the
forward match to traffic addressed to that CP (``eth_dst`` = its MAC). A symmetric path's
reverse classifier swaps every src/dst field, enters at ``network_dst_port_id`` and, when the
source is a VNF CP, is addressed to it; one that would read exactly like the forward one on the
same ports is refused (nothing tells the directions apart).

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

NSH-unaware hops become controller SFs with ``nsh_aware: false``: those the VNFFGD says
``sfc_encap: false``, and those it says nothing of whose VNFs' VDUs run software that does not
parse NSH (the image says; ``VduRecord.nsh_aware``). The VNF's ingress CP is the SF's ``port``,
its egress CP the ``egress_port`` (see ``unaware_cps``), named ``VNF:IN>OUT``. A symmetric
path's reverse passes the VNF backwards through its twin ``VNF:OUT>IN`` (ports swapped), the one
case the controller lets two SFs share ports. A one-armed unaware hop (``VNF:CP>CP``, Tacker's
port pair naming one CP) routes what it gets back out of the same port, so its instances carry
their CP's MAC: the switch addresses frames to it (a router drops frames not sent to it). A
two-armed one is taken for a bump-in-the-wire and gets frames as they are (a Linux bridge would
keep frames sent to its own port's MAC for itself).

Dead instances (``VduRecord.dead``: the VIM saw the program exit, or its monitor gave up on it)
are left out of their hop, so a load-balanced hop keeps only the live ones. A hop with none left
follows the VNFFG's failure policy until one is back: ``fail-closed`` (the default) renders it as
before, so its traffic goes on into the dead ports and is dropped; ``fail-open`` renders the path
without it (a path left with no hop is not rendered at all: its traffic is forwarded as if it were
not classified, straight to where it is addressed), as OVN's network functions offer. Either way
``RenderedChain.degraded`` says why the chain is not what its spec asks (the NFVO's DEGRADED).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from descriptors.acl import UNSUPPORTED
from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.model import FAIL_OPEN, ClassifierSpec, HopSpec, PathSpec, VnffgSpec
from nfvo.vnffg.sffs import UnawareHop, check_crossing, check_known, with_destination
from nfvo.vnffg.spi import reverse_key
from sdn.document import Classifier, Destination, Probes, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch
from vnfm.model import CpRecord, Status, VnfRecord


@dataclass(frozen=True)
class Inventory:
    """What a render looks at: VNF records by name and the VIMs' switches (``nfvo.vnffg.sffs``)."""

    vnfs: Mapping[str, VnfRecord]
    switches: Mapping[str, Switch]  # switch name -> the controller's entry for it
    # (VNF, VDU, instance) draining before they go: weight 0, no new connections, ports still
    # admitted so what is inside them goes on (``nfvo.draining``)
    draining: frozenset[tuple[str, str, int]] = frozenset()


@dataclass(frozen=True)
class SfMember:
    """One VNF's part of a hop: the CP traffic enters by and, NSH-unaware, the one it leaves by."""

    vnf: str
    cp: str
    egress_cp: str = ""  # NSH-unaware only

    @property
    def label(self) -> str:
        return f"{self.vnf}:{self.cp}>{self.egress_cp}" if self.egress_cp else f"{self.vnf}:{self.cp}"


@dataclass(frozen=True)
class SfDef:
    """A hop as the controller's service function, with what it is made of."""

    members: tuple[SfMember, ...]
    instances: tuple[SfInstance, ...]
    nsh_aware: bool = True

    @property
    def name(self) -> str:
        return "+".join(m.label for m in self.members)

    @property
    def vnfs(self) -> frozenset[str]:
        return frozenset(m.vnf for m in self.members)

    def reversed(self) -> SfDef:
        """The twin a symmetric path's reverse passes: ingress and egress swapped."""
        if self.nsh_aware:
            return self
        return SfDef(tuple(SfMember(m.vnf, m.egress_cp, m.cp) for m in self.members),
                     tuple(SfInstance(i.switch, i.egress, "" if i.egress == i.port else i.port, i.mac, i.weight)
                           for i in self.instances), False)

    @property
    def one_armed(self) -> bool:
        """NSH-unaware, in and out by one CP: it must route (or proxy) what it gets."""
        return not self.nsh_aware and all(m.cp == m.egress_cp for m in self.members)

    def function(self) -> ServiceFunction:
        return ServiceFunction(self.name, self.instances, self.nsh_aware)


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


def type_matches(vnf_type: str | None, wanted: str) -> bool:
    """``firewall`` matches ``tosca.nodes.nfv.VNF.firewall`` (the last dotted part) or the full type."""
    if not vnf_type:
        return False
    return vnf_type == wanted or vnf_type.rsplit(".", 1)[-1].lower() == wanted.lower()


# A VNF in these states is (still) a hop's: its instances not known dead serve. DEAD: one or
# more of its VDUs died; PENDING_HEAL: being healed (what died is marked dead, the rest serves).
SERVING = (Status.ACTIVE, Status.DEAD, Status.PENDING_HEAL)


def hop_vnfs(hop: HopSpec, inv: Inventory, where: str) -> tuple[VnfRecord, ...]:
    if hop.vnf_type:
        found = tuple(v for _, v in sorted(inv.vnfs.items())
                      if type_matches(v.vnf_type, hop.vnf_type) and v.status in (Status.ACTIVE, Status.DEAD))
        if not found:
            raise FailedPrecondition(f"no ACTIVE VNF of type {hop.vnf_type!r}", where)
        return found
    out = []
    for name in hop.vnfs:
        vnf = inv.vnfs.get(name)
        if vnf is None:
            raise NotFound(f"no VNF {name!r}", where)
        if vnf.status not in SERVING:
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
    a row), else ``cp`` (or the first data CP) both ways: Tacker's port pair for a hop naming
    one CP is ingress = egress (a one-armed SF)."""
    ingress = hop_cps(vnf, hop.cp, where)[0].name
    return ingress, hop_cps(vnf, hop.egress_cp or ingress, where)[0].name


def vnf_nsh_aware(vnf: VnfRecord, cp: str, where: str) -> bool:
    """Whether the software behind ``vnf``'s hop CP parses NSH: every VDU instance holding it."""
    holders = {(c.vdu, c.instance) for c in hop_cps(vnf, cp, where)}
    return all(v.nsh_aware for v in vnf.vdus if (v.name, v.instance) in holders)


def hop_encap(hop: HopSpec, vnfs: tuple[VnfRecord, ...], where: str) -> bool:
    """The VNFFGD's ``sfc_encap`` if it says, else what the hop's VNFs run (all alike)."""
    if hop.sfc_encap is not None:
        return hop.sfc_encap
    aware = {v.name: vnf_nsh_aware(v, hop.cp, where) for v in vnfs}
    if len(set(aware.values())) > 1:
        raise FailedPrecondition("the hop balances over NSH-aware VNFs (" + ", ".join(n for n, a in aware.items() if a)
                                 + ") and NSH-unaware ones (" + ", ".join(n for n, a in aware.items() if not a)
                                 + "); say sfc_encap or split the hop", where)
    return next(iter(aware.values()))


def dead_instances(vnf: VnfRecord) -> set[tuple[str, int]]:
    """(VDU, instance) pairs known dead; a DEAD VNF that names none (a record from before VDUs
    said so) is dead as a whole."""
    dead = {(v.name, v.instance) for v in vnf.vdus if v.dead}
    if not dead and vnf.status == Status.DEAD:
        return {(v.name, v.instance) for v in vnf.vdus}
    return dead


def render_hop(hop: HopSpec, inv: Inventory, where: str, policy: str = "") -> tuple[SfDef | None, str]:
    """The hop's SF over its live instances, and what is wrong with it ("" if nothing): with no
    live instance, all of them (``fail-closed``: traffic dropped in the dead ports) or None
    (``fail-open``: bypass the hop)."""
    vnfs = hop_vnfs(hop, inv, where)
    encap = hop_encap(hop, vnfs, where)
    entries: list[tuple[SfMember, SfInstance, bool]] = []  # (member, instance, live)
    for vnf in vnfs:
        dead = dead_instances(vnf)

        def weight(c: CpRecord, name: str = vnf.name) -> int:
            return 0 if (name, c.vdu, c.instance) in inv.draining else 1

        if encap:
            cps = hop_cps(vnf, hop.cp, where)
            member = SfMember(vnf.name, cps[0].name)
            entries.extend((member, SfInstance(c.bridge, c.ovs_port, weight=weight(c)), (c.vdu, c.instance) not in dead)
                           for c in sorted(cps, key=lambda c: c.instance))
            continue
        cp_in, cp_out = unaware_cps(vnf, hop, where)
        member = SfMember(vnf.name, cp_in, cp_out)
        outs = {c.instance: c for c in hop_cps(vnf, cp_out, where)}
        for c in sorted(hop_cps(vnf, cp_in, where), key=lambda c: c.instance):
            out = outs.get(c.instance)
            if out is None or out.bridge != c.bridge:
                raise FailedPrecondition(f"{vnf.name}:{cp_out} of VDU instance {c.instance} is not on "
                                         f"switch {c.bridge}", where)
            one_armed = out.ovs_port == c.ovs_port  # it routes: frames go to it addressed to its CP's MAC
            entries.append((member, SfInstance(c.bridge, c.ovs_port, "" if one_armed else out.ovs_port,
                                               c.mac.lower() if one_armed else "", weight(c)),
                            (c.vdu, c.instance) not in dead))
    live = [e for e in entries if e[2]]
    lost, label = len(entries) - len(live), hop.label()
    if live and not lost:
        return _sf(entries, encap), ""
    if live:
        return _sf(live, encap), f"hop {label}: {lost} of {len(entries)} instances dead"
    why = ", ".join(f"VNF {v.name} {v.status}" for v in vnfs)
    if policy == FAIL_OPEN:
        return None, f"hop {label} bypassed (fail-open): {why}"
    return _sf(entries, encap), f"hop {label}: every instance dead ({why}), its traffic is dropped (fail-closed)"


def _sf(entries: list[tuple[SfMember, SfInstance, bool]], encap: bool) -> SfDef:
    members = tuple(dict.fromkeys(m for m, _, _ in entries))
    return SfDef(members, tuple(i for _, i, _ in entries), encap)


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
