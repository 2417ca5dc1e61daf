"""Paths across SFFs: the flows each switch holds for the paths that cross to other hosts (pure).

A path whose classifiers and hops are not all on one switch is carried between SFFs in
VXLAN-GPE with next protocol NSH (RFC 8300 over draft-ietf-nvo3-vxlan-gpe), one flow-based
``ptap`` GPE port per switch (../shared/notes/vxlan-gpe-nsh.md). ``sdn.topology`` gives the
path's legs (which switch hands SI *s* to which); here each switch gets only the flows of the
legs and stops it takes part in:

- classify (a classifier's switch): as on one switch, but C1 = ingress host id << 16 | ingress
  port (``dataplane.nshcontext``: ``set_field`` of the host bits, then ``move in_port`` into
  bits 0..15), and C4 the flow hash when a hop has several instances; C2 (the ingress
  VL's segment) stays 0 until the document names segments (virtual links across hosts);
- a hop on this switch: the same next-hop flow as ``sdn.render`` (to its instance, or to its
  SF's slot table in the balance table: ``sdn.render``'s when the instances share this switch);
- a leg leaving this switch: next-hop (SPI, SI) -> ``decap()`` (Ethernet off: a ptap port sends
  bare NSH, GPE next protocol 4), ``tun_dst`` = the next SFF's tunnel IP, output the GPE port;
- the end, for a classifier with a destination (``Classifier.destination``): C1 names it (flag,
  its host, its number in the path: ``dataplane.nshcontext``), so the last SFF sends the end SI
  straight to the destination's host (a masked match on C1's host id, or no leg when it is the
  same host), whose egress flow for exactly that C1 strips NSH and outputs to the port: no NORMAL,
  no trip through the classifier's host and the virtual link's tunnel;
- the end otherwise: where C1 says it began (its port is local there, and NORMAL delivers as
  on one switch; after a routing unaware hop, that hop's host: below), so the last SFF sends the
  end SI back to the classifier's host, chosen by the same match on C1's host id; there the
  egress flow is today's (C1[0..15] -> in_port, decap twice, NORMAL): NORMAL delivers, over the
  virtual link's tunnel when the destination is on another host, and that host does not classify
  what arrives on its tunnel ports (``Switch.tunnel_ports``: ingress sends it to NORMAL);
- per switch once: NSH arriving on the GPE port (``packet_type=(1,0x894f)``) gets an Ethernet
  header back (``encap(ethernet)``) and continues in next-hop like NSH from an SF.

NSH-unaware hops: the unaware SF's own switch is its proxy, as on one switch (``sdn.render``:
the hop flow strips NSH, through the proxy table to a router's MAC; the SF's ports go to the
reclassify table), and it re-classifies what the SF sends back there with every classifier's
matches (in_port = the SF's egress port), wrapping it with the next SI; the leg to the next hop's
SFF follows as for an aware hop. C1 is written afresh (``dataplane.nshcontext``): the classifier's
destination if it has one (the path then ends there, as above, whichever instance served it);
else after a router, (this host, its port), so the path's end legs go to each router instance's
switch (``end_switches``: a set per classifier; the end legs' C1 host match picks the one that
served it) and NORMAL there hands the frame on from the router's port; after a bump in the wire,
(this host, the classifier's port), which ``sdn.document`` allows only with the classifiers on the
bump's switch -- so a bump whose instances sit on several switches needs a destination.

IPFIX observation points (a document with probes) are sdn.render's: classify, into each hop, back
from an unaware hop (re-classification), the path's end; each tagged with the switch it is on.

Instances of one SF on several switches (``sdn.spread``): the classifier writes the same 16-bit
symmetric hash into C4 as on one switch, and the SF's slot table of ``sdn.balance`` (weights,
draining, minimal moves) picks the instance: each previous stop and each switch holding instances
has the table once for every path (local slots to the instance, the others tunnelled to the SFF
holding them), and the path's flow there is one per hop (reg2 = the SF's balancing id, to the
balance table). The hop-in observation point is then on the previous stop (where the table picks
the instance): arrivals from a peer for a local slot are not sampled again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Hashable, Iterable, Mapping

from dataplane.nshcontext import INGRESS_HOST, INGRESS_PORT, destination_c1
from sdn.cookie import Role, make_cookie
from sdn.document import Classifier, ServiceFunction, ServicePath, SfcDocument
from sdn.openflow import (OFPP_NORMAL, Action, Decap, EncapEthernet, EncapNsh, Flow, Output, RegMove, SetField,
                          SwitchState, make_match)
from sdn.pipeline import BALANCE, CLASSIFY, EGRESS, INGRESS, NEXT_HOP, RECLASSIFY, check_flow
from sdn.telemetry.observation import Role as Point
from sdn.spread import Memo, balance_switches, port_of, sf_admission_flows, spans_switches, spread_owned, tunnel_to
from sdn.steering import (ETH_NSH, FLOW_HASH, FLOW_HASH_TO_C4, PRIO_ADMIT, PRIO_HOP, ProbeKey, balance_number,
                          checked, nsh_match, sample_actions, to_instance)
from sdn.topology import Leg, overlay_graph, path_legs

__all__ = ["sf_admission_flows", "spans_switches", "tunnel_to"]  # sdn.spread's, read from here by older callers
NSH_PACKET_TYPE = (1 << 16) | ETH_NSH  # OXM packet_type (ns 1 = ethertype, 0x894f): bare NSH from a ptap port
Unaware = tuple[tuple[tuple[int, str] | None, ...] | None, ...]  # per hop: None (aware), else per instance (egress, MAC)


@dataclass(frozen=True)
class Endpoint:
    """What the overlay knows of a switch: its host id (C1) and tunnel IP (tun_dst towards it)."""

    host_id: int
    tunnel_ip: str


def crossing_paths(doc: SfcDocument, names: Iterable[str] | None = None) -> frozenset[str]:
    """Names of the (checked) paths, of ``names`` if given, whose classifiers and hops are not all
    on one switch."""
    if not any(s.on_overlay for s in doc.switches):
        return frozenset()  # one switch per path by construction: cheap for big single-host documents
    sffs = {f.name: frozenset(i.switch for i in f.instances) for f in doc.service_functions}
    wanted = None if names is None else set(names)
    return frozenset(p.name for p in doc.paths if (wanted is None or p.name in wanted)
                     and len(frozenset().union(*(sffs[h] for h in p.hops)) | {c.switch for c in p.classifiers}
                             | {d.switch for d in p.destinations}) > 1)


def _direct(key: Hashable, compute: Callable[[], SwitchState]) -> SwitchState:
    return compute()


def switch_owned(doc: SfcDocument, switch: str, ports: Mapping[str, int], names: Iterable[str] | None = None,
                 memo: Memo = _direct, probe: ProbeKey = None, tables: Mapping[str, frozenset[str]] | None = None
                 ) -> dict[str, SwitchState]:
    """The overlay's owners on ``switch``: "overlay" (GPE ingress: a switch on the overlay always
    takes NSH from its peers), those of SFs across switches (``sdn.spread``; their tables where
    ``tables`` says, default ``balance_switches``, which walks every path) and "path:NAME" for
    each crossing path (of ``names``, default all) that touches it. Empty for a switch not on the
    overlay. ``probe``: sdn.render.probe_key."""
    sw = doc.switch(switch)
    if not sw.on_overlay:
        return {}
    crossing = crossing_paths(doc, names)
    gpe = port_of(ports, sw.gpe_port, f"switches[{switch}].gpe_port", switch)
    owned = {"overlay": memo(("overlay", gpe), lambda: SwitchState(gpe_ingress_flows(gpe)))}
    owned.update(spread_owned(doc, switch, ports, gpe, memo, balance_switches(doc) if tables is None else tables))
    graph = overlay_graph(doc.switches)
    endpoints = {s.name: Endpoint(s.host_id, s.tunnel_ip) for s in doc.switches if s.on_overlay}
    by_fn = {f.name: f for f in doc.service_functions}
    # paths with the same SFFs share their legs (the route search), whether they touch this switch, its peers
    routes: dict[tuple, tuple[tuple[Leg, ...], bool, tuple[tuple[str, Endpoint], ...]]] = {}
    for path in doc.paths:
        if path.name not in crossing:
            continue
        hop_switches = tuple(tuple(i.switch for i in by_fn[h].instances) for h in path.hops)
        spread = any(len(by_fn[h].instances) > 1 for h in path.hops)
        ingress = tuple(c.switch for c in path.classifiers) or (hop_switches[0][0],)
        ends = end_switches(path, by_fn, ingress)
        stops = (ingress, hop_switches, tuple(dict.fromkeys(e for each in ends for e in each)))
        shape = routes.get(stops)
        if shape is None:
            found = path_legs(graph, path.name, *stops)
            nodes = {n for leg in found for n in leg.route}
            shape = routes[stops] = (found, switch in nodes, tuple(sorted((n, endpoints[n]) for n in nodes)))
        legs, here, near = shape
        if not here:
            continue
        where = f"service_function_paths[{path.name}]"
        in_ports = tuple(port_of(ports, c.in_port, f"{where}.classifiers[{c.name}].in_port", switch)
                         if c.in_port and c.switch == switch else None for c in path.classifiers)
        hop_ports = tuple(tuple(port_of(ports, inst.port, f"service_functions[{h}].instances[{j}].port", switch)
                                if inst.switch == switch else None for j, inst in enumerate(by_fn[h].instances))
                          for h in path.hops)
        unaware = tuple(None if by_fn[h].nsh_aware else tuple(
            (port_of(ports, inst.egress, f"service_functions[{h}].instances[{j}].{'egress_port' if inst.egress_port else 'port'}",
                     switch), inst.mac) if inst.switch == switch else None for j, inst in enumerate(by_fn[h].instances))
            for h in path.hops)
        ends_here = _ends_here(path, switch, ends, ports, where)
        key = ("overlay-path", path, switch, legs, in_ports, hop_ports, unaware, near, gpe, spread, probe, ends_here)
        owned[f"path:{path.name}"] = memo(key, partial(_path_state, path, switch, legs, in_ports, hop_ports, unaware, near,
                                                       gpe, spread, probe, ends_here))
    return owned


def end_switches(path: ServicePath, by_fn: Mapping[str, ServiceFunction], ingress: tuple[str, ...]
                 ) -> tuple[tuple[str, ...], ...]:
    """Where the path may end, per classifier (``ingress``: their switches; no classifier: one
    entry): a classifier's destination's switch if it has one (C1 names it), else where C1 says
    it entered, i.e. the classifier's switch, unless its last NSH-unaware hop routes (a MAC):
    re-classified after it with C1 = the serving instance's host and port, it ends on whichever
    switch of that SF's instances served it (C1's host id tells the end legs which)."""
    last = next((by_fn[h] for h in reversed(path.hops) if not by_fn[h].nsh_aware), None)
    routers = tuple(dict.fromkeys(i.switch for i in last.instances)) \
        if last is not None and all(i.mac for i in last.instances) else ()
    if not path.classifiers:
        return (routers or ingress,)
    return tuple((c.destination.switch,) if c.destination is not None else routers or (end,)
                 for c, end in zip(path.classifiers, ingress, strict=True))


@dataclass(frozen=True)
class EndsHere:
    """What a path's end on one switch outputs to: ``normal`` whether a classifier without a
    destination ends here (C1's port -> in_port, NORMAL), ``ports`` per destination of the path
    (``ServicePath.destinations``, C1 numbers them) its port number if it is on this switch."""

    normal: bool
    ports: tuple[int | None, ...] = ()


def _ends_here(path: ServicePath, switch: str, ends: tuple[tuple[str, ...], ...], ports: Mapping[str, int],
               where: str) -> EndsHere:
    named = {c.destination: c for c in reversed(path.classifiers) if c.destination is not None}  # the first names it
    plain = (switch in ends[0]) if not path.classifiers else any(  # (no classifier: the first hop's switch)
        switch in e and c.destination is None for c, e in zip(path.classifiers, ends, strict=True))
    return EndsHere(plain,
                    tuple(port_of(ports, d.port, f"{where}.classifiers[{named[d].name}].destination.port", switch)
                          if d.switch == switch else None for d in path.destinations))


def classified_c1(path: ServicePath, classifier: Classifier, endpoints: Mapping[str, Endpoint]) -> int | None:
    """C1 for ``classifier``'s traffic when it has a destination (flag, its host, its number:
    ``dataplane.nshcontext.destination_c1``), else None (C1 says where it entered)."""
    dest = classifier.destination
    if dest is None:
        return None
    return destination_c1(endpoints[dest.switch].host_id, path.destinations.index(dest))


def _path_state(path: ServicePath, switch: str, legs: tuple[Leg, ...], in_ports: tuple[int | None, ...],
                hop_ports: tuple[tuple[int | None, ...], ...], unaware: Unaware, near: tuple[tuple[str, Endpoint], ...],
                gpe: int, spread: bool, probe: ProbeKey, ends_here: EndsHere) -> SwitchState:
    return SwitchState(path_flows(path, switch, legs, in_ports, hop_ports, dict(near), gpe, spread, probe, unaware,
                                  ends_here))


def gpe_ingress_flows(gpe_port: int) -> frozenset[Flow]:
    """NSH from another SFF: bare (packet_type (1,0x894f)); an Ethernet header makes it look like
    NSH from an SF port, so next-hop steers it alike."""
    return frozenset({check_flow(Flow(INGRESS, PRIO_ADMIT, make_match(in_port=gpe_port, packet_type=NSH_PACKET_TYPE),
                                      (EncapEthernet(),), goto_table=NEXT_HOP, cookie=make_cookie(Role.PIPELINE)))})


def path_flows(path: ServicePath, switch: str, legs: tuple[Leg, ...], in_ports: tuple[int | None, ...],
               hop_ports: tuple[tuple[int | None, ...], ...], endpoints: Mapping[str, Endpoint], gpe_port: int,
               spread: bool, probe: ProbeKey = None, unaware: Unaware = (), ends_here: EndsHere | None = None
               ) -> frozenset[Flow]:
    """``path``'s flows on ``switch``: ``in_ports[i]`` classifier i's port here (None: any port, or
    not here), ``hop_ports[i][j]`` the port of hop i's instance j if it is on this switch (else None);
    ``unaware[i]`` None for an NSH-aware hop i, else per instance its (egress port, MAC) if here
    (() : every hop aware); ``probe`` as sdn.render's: sample() first at classify, into each hop,
    back from an unaware hop, and the path's end; ``ends_here`` what the end outputs to here
    (default: NORMAL wherever an end leg arrives, as for classifiers without destinations)."""
    flows: set[Flow] = set()
    unaware = unaware or (None,) * len(hop_ports)

    def sample(role: Point, si: int) -> tuple[Action, ...]:
        return sample_actions(probe, path.spi, si, role)

    spi, here = path.spi, endpoints[switch]
    hop_cookie = make_cookie(Role.HOP, spi)
    entered: tuple[Action, ...] = (SetField("nsh_c1", INGRESS_HOST.place(here.host_id)),
                                   RegMove("in_port", "nsh_c1", INGRESS_PORT.nbits, dst_ofs=INGRESS_PORT.ofs))

    def wrap(c1: tuple[Action, ...]) -> tuple[Action, ...]:
        actions = (EncapNsh(1), SetField("nsh_spi", spi), SetField("nsh_si", 255), *c1)
        if spread:  # hash the 5-tuple while it is visible, carry the bucket in C4 (as sdn.render)
            return (*FLOW_HASH, *actions, *FLOW_HASH_TO_C4)
        return actions
    for classifier, in_port in zip(path.classifiers, in_ports, strict=True):
        if classifier.switch != switch:
            continue
        port = () if in_port is None else (("in_port", in_port),)
        c1 = classified_c1(path, classifier, endpoints)
        classify = (*sample(Point.CLASSIFY, 255), *wrap(entered if c1 is None else (SetField("nsh_c1", c1),)),
                    EncapEthernet())
        for match in classifier.matches:
            flows.add(Flow(CLASSIFY, classifier.priority, tuple(sorted(match + port)), classify,
                           goto_table=NEXT_HOP, cookie=make_cookie(Role.CLASSIFIER, spi)))
    for index, ports in enumerate(hop_ports):
        si, proxied = 255 - index, unaware[index]
        macs = ("",) * len(ports) if proxied is None else tuple(p[1] if p else "" for p in proxied)
        if len(ports) == 1 and ports[0] is not None:
            flows.add(Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, si),
                           (*sample(Point.HOP_IN, si), *to_instance(ports[0], proxied is not None, macs[0])),
                           cookie=hop_cookie))
        elif len(ports) > 1:
            flows |= _balanced_hop(spi, si, path.hops[index], switch, legs, ports, gpe_port,
                                   sample(Point.HOP_IN, si), probe is not None)
        for back in proxied or ():  # what an unaware instance here sends back: re-classified here, wrapped with SI - 1
            if back is not None:
                flows |= _reclassify_flows(path, index, back, in_ports, here.host_id, spread,
                                           sample(Point.HOP_OUT, si), switch, endpoints)
    for leg in legs:
        if leg.balanced:  # the SF's slot table tunnels (sdn.spread)
            continue
        extra: dict[str, object] = {}
        if leg.ingress:
            extra = {"nsh_mdtype": 1, "nsh_c1": INGRESS_HOST.match(endpoints[leg.ingress].host_id)[1:]}
        for k, node in enumerate(leg.route[:-1]):
            if node == switch:
                peer = endpoints[leg.route[k + 1]].tunnel_ip
                flows.add(Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, leg.si, **extra), tunnel_to(peer, gpe_port), cookie=hop_cookie))
        if leg.ingress and leg.dst == switch:  # the end: back where the path began, or at a destination
            flows.add(Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, leg.si, **extra), sample(Point.END, leg.si), goto_table=EGRESS,
                           cookie=hop_cookie))
            if ends_here is None or ends_here.normal:
                flows.add(Flow(EGRESS, PRIO_HOP, nsh_match(spi, leg.si, nsh_mdtype=1),
                               (RegMove("nsh_c1", "in_port_nxm", INGRESS_PORT.nbits), Decap(), Decap(), Output(OFPP_NORMAL)),
                               cookie=make_cookie(Role.EGRESS, spi)))
    for number, out in enumerate(() if ends_here is None else ends_here.ports):
        if out is not None:  # a destination here: exactly its C1 word, NSH off, out of its port
            flows.add(destination_flow(spi, path.end_si, destination_c1(here.host_id, number), out))
    return checked(flows)


def destination_flow(spi: int, end_si: int, c1: int, port: int) -> Flow:
    """The path's end for one destination: C1 names it (flag, host, number), NSH off, out of its
    port; above the NORMAL end of the classifiers without a destination."""
    return Flow(EGRESS, PRIO_HOP + 1, nsh_match(spi, end_si, nsh_mdtype=1, nsh_c1=c1), (Decap(), Decap(), Output(port)),
                cookie=make_cookie(Role.EGRESS, spi))


def _reclassify_flows(path: ServicePath, index: int, back: tuple[int, str], in_ports: tuple[int | None, ...],
                      host_id: int, spread: bool, point: tuple[Action, ...], switch: str,
                      endpoints: Mapping[str, Endpoint]) -> set[Flow]:
    """Frames back from instance ``back`` (its egress port, its MAC if it routes) of unaware hop
    ``index``, taken by the path's classifiers' matches (any classifier's, wherever it sits) and
    wrapped with the next SI here. C1: the classifier's destination if it has one; else a router's
    frames carry its MAC, so the path ends on this host, from the router's port (C1 = this host,
    that port); after a bump in the wire C1 is the classifier's own (this host, its port:
    ``sdn.document`` keeps such a path's classifiers here)."""
    port, mac = back
    flows: set[Flow] = set()
    for classifier, in_port in zip(path.classifiers, in_ports, strict=True):
        to = classified_c1(path, classifier, endpoints)
        if to is not None:
            c1 = to
        elif mac:
            c1 = INGRESS_HOST.place(host_id) | INGRESS_PORT.place(port)
        else:
            assert in_port is not None and classifier.switch == switch, "sdn.document: a bump's classifiers sit on its switch"
            c1 = INGRESS_HOST.place(host_id) | INGRESS_PORT.place(in_port)
        wrap: tuple[Action, ...] = (EncapNsh(1), SetField("nsh_spi", path.spi), SetField("nsh_si", 255 - index - 1),
                                    SetField("nsh_c1", c1))
        if spread:  # the 5-tuple is unchanged: the same bucket as at the classifier
            wrap = (*FLOW_HASH, *wrap, *FLOW_HASH_TO_C4)
        for match in classifier.matches:
            flows.add(Flow(RECLASSIFY, classifier.priority + 1, tuple(sorted(match + (("in_port", port),))),
                           (*point, *wrap, EncapEthernet()), goto_table=NEXT_HOP,
                           cookie=make_cookie(Role.CLASSIFIER, path.spi)))
    return flows


def _balanced_hop(spi: int, si: int, hop: str, switch: str, legs: tuple[Leg, ...], ports: tuple[int | None, ...],
                  gpe_port: int, into: tuple[Action, ...], probed: bool) -> set[Flow]:
    """A hop of several instances: to its SF's slot table (reg2 = its balancing id). Instances on
    one switch: there, sampled into the hop (``sdn.render``'s table). On several (balanced legs):
    on each previous stop, sampled there (its table picks the instance and its SFF), and on each
    switch holding instances for what arrives from a peer (sampled already: with probes, a flow of
    its own above the previous stop's)."""
    to_table = (SetField("reg2", balance_number(hop)),)
    cookie = make_cookie(Role.HOP, spi)
    mine = [leg for leg in legs if leg.balanced and leg.si == si and not leg.ingress]
    if not mine:
        if all(p is None for p in ports):
            return set()
        return {Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, si), (*into, *to_table), goto_table=BALANCE, cookie=cookie)}
    flows = set()
    sources, holders = {leg.src for leg in mine}, {leg.dst for leg in mine}
    if switch in sources:
        flows.add(Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, si), (*into, *to_table), goto_table=BALANCE, cookie=cookie))
    if switch in holders and switch not in sources:
        flows.add(Flow(NEXT_HOP, PRIO_HOP, nsh_match(spi, si), to_table, goto_table=BALANCE, cookie=cookie))
    elif switch in holders and probed:
        flows.add(Flow(NEXT_HOP, PRIO_HOP + 1, nsh_match(spi, si, in_port=gpe_port), to_table, goto_table=BALANCE,
                       cookie=cookie))
    return flows

