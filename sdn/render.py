"""Desired document + switch ports → the flows each switch should hold (pure).

Per switch: the pipeline's miss flows; per VL tunnel port (``Switch.tunnel_ports``) an ingress
flow to NORMAL; per SF port an ingress admission for NSH frames; per
path one classify flow per (classifier, compiled match), one next-hop flow per hop and one
egress flow. A classifier bound to no port matches without ``in_port``: SF ports never reach
the classify table (see ``sdn.pipeline``), so it takes every other port, present and future.
The classifier copies the packet's ingress port into NSH context C1 (``move in_port -> C1``),
and the egress moves it back before NORMAL: the switch then learns client MACs on the right
port, and replies that bypass the chain find their way. A classifier with a destination
(``Classifier.destination``) writes C1 = (flag, destination number) instead (``dataplane.
nshcontext``), and the egress flow for that C1 outputs straight to the destination's port.

SF instances: when a path has a hop with several instances, its classifier takes a symmetric
L4 hash of the packet (before encapsulation, while the 5-tuple is visible) into C4; each
multi-instance hop's flow puts the SF's balancing id (``balance_id``) in reg2 and goes to the
balance table, which holds the SF's slot table once for every path through it (``sdn.balance``:
even by weight, planned by the controller so that a change moves only the connections it must):
slot ``C4 & (size - 1)`` goes to the instance holding it, one flow per aligned block of slots
(value/mask on C4). A path then costs one flow per hop however many instances it has, and a
scale out or in rewrites only the SF's table, not its paths. Both directions of a connection
hash alike, so a symmetric chain's reverse path meets the same instances. A draining instance
(weight 0) holds no slots but keeps its port flows: what is inside it goes on. An SF whose
instances sit on several switches has the same table on each switch that needs it, remote slots
tunnelled to their instance's SFF (``sdn.spread``).

NSH-unaware SFs (a proxy in the switch): the hop flow strips NSH (``decap(),decap()``) before
the SF's port; what comes back on its egress port is plain, so table 0 sends it to its own
table (reclassify), where the path's own classifier matches (in_port = egress port) wrap it
again with the SI after that hop (and the same instance hash: the 5-tuple is unchanged).
Anything else from a two-armed SF's ports (a bump-in-the-wire) is dropped there, never NORMAL:
it would close an L2 loop, and its own ARP cannot be told from the ARP it bridges. A one-armed
SF's other traffic (its ARP, ND, ICMP) goes to NORMAL: NORMAL never sends a frame back out of
the port it came in by, so one port cannot loop.

An unaware instance with a MAC routes (Tacker's one-armed VNF with IP forwarding on): a router
only accepts frames sent to it, so the hop flow puts the instance's port in reg1, strips NSH and
resubmits to the proxy table, whose flow per such port sets eth_dst to its MAC and outputs (OVS
refuses header rewrites after an NSH decap in the same flow: the inner packet is parsed only
after it). What the SF sends back carries its MAC as source, so re-classification after it
records the SF's own port in C1: the path's end then hands the frame to NORMAL from the port
where that MAC lives, and the switch's MAC table keeps the router on its port. After a two-armed
SF the frame keeps the client's MAC, so C1 gets the classifier's own port again (hence a
classifier on a path through a two-armed SF is bound to one port: ``sdn.document`` refuses a
port-less one).

Probes (a document whose ``probes`` name an IPFIX exporter): the first action of every flow at
an observation point is ``sample()`` with ids saying path, SI and role (``sdn.telemetry.
observation``): classify (before encap, so the record has the 5-tuple), into each hop, back from
an NSH-unaware hop (re-classification), and the path's end (next-hop's end-SI flow). Without
probes the flows are exactly those without them.

Memoisation is explicit: a ``FlowCache`` (one per controller, passed in) keeps the flows of each
(path, resolved ports) and the pipeline-wide parts, so one upserted path costs one path's flows
and equal inputs give the very same objects (diffs then skip unchanged parts by identity). Two
controllers in one process share nothing; a call without a cache computes everything afresh.
Every flow passes ``sdn.pipeline.check_flow`` once, when it is computed, never on reuse.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import partial
from typing import Callable, Hashable, Mapping, TypeVar

from sdn.balance import HASH_BITS, blocks, table_of
from sdn.cookie import Role, make_cookie
from sdn.document import Classifier, DocumentError, ServiceFunction, ServicePath, SfcDocument
from dataplane.nshcontext import destination_c1
from sdn.overlay import crossing_paths, destination_flow
from sdn.overlay import switch_owned as overlay_owned
from sdn.spread import balance_switches_after, port_of, spans_switches
from sdn.openflow import (OFPP_NORMAL, Action, Decap, EncapEthernet, EncapNsh, Flow, GroupEntry, Output, RegMove,
                          SetField, SwitchState, make_match)
from sdn.pipeline import BALANCE, CLASSIFY, EGRESS, INGRESS, NEXT_HOP, PROXY, RECLASSIFY
from sdn.steering import (ETH_NSH, FLOW_HASH, FLOW_HASH_TO_C4, HASH_LINKS, PRIO_ADMIT, PRIO_HOP, PRIO_MISS,
                          PRIO_SF_DROP, PRIO_UNAWARE_MISS, ProbeKey, balance_number, sample_actions, sf_port_flows,
                          slot_flow, unaware_port_state)
from sdn.steering import to_instance as _to_instance
from sdn.steering import checked as _checked
from sdn.steering import nsh_match as _nsh_match
from sdn.telemetry.observation import Role as Point
from sdn.telemetry.observation import switch_tag

__all__ = ["ETH_NSH", "HASH_BITS", "HASH_LINKS", "PRIO_ADMIT", "PRIO_HOP", "PRIO_MISS", "PRIO_SF_DROP",
           "PRIO_UNAWARE_MISS", "ProbeKey", "sf_port_flows", "unaware_port_state"]
# (shared with sdn.overlay through sdn.steering, read from here by older callers)

Owned = dict[str, SwitchState]  # owner ("pipeline", "sf:NAME", "unaware:PORT", "balance:NAME", "path:NAME") -> flows
BalanceEntries = tuple[tuple[int, bool, str, tuple[tuple[int, int], ...]], ...]  # port, unaware, MAC, C4 value/masks
T = TypeVar("T")


class FlowCache:
    """Computed flows by their inputs, least recently used dropped first; thread-safe.

    Owned by one controller and passed to the render functions, so nothing is shared between
    controllers (or tests) through module state. Values are immutable (frozensets, SwitchState).
    """

    def __init__(self, max_entries: int = 65536) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._max = max_entries

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit  # type: ignore[return-value]
        value = compute()  # outside the lock: a path's flows may take a while
        with self._lock:
            value = self._entries.setdefault(key, value)  # type: ignore[assignment]
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def _memo(cache: FlowCache | None, key: Hashable, compute: Callable[[], T]) -> T:
    return compute() if cache is None else cache.get(key, compute)


def compute_switch_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]],
                          cache: FlowCache | None = None) -> dict[int, SwitchState]:
    """The state of every switch in ``doc`` whose ports are known (keyed by dpid).

    Raises DocumentError naming the element when a port the document needs is missing.
    """
    return {dpid: merge(owned) for dpid, owned in compute_owned_states(doc, ports, cache).items()}


def merge(owned: Owned) -> SwitchState:
    flows: set[Flow] = set()
    groups: set[GroupEntry] = set()
    for part in owned.values():
        flows |= part.flows
        groups |= part.groups
    return SwitchState(frozenset(flows), frozenset(groups))


def compute_owned_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]],
                         cache: FlowCache | None = None) -> dict[int, Owned]:
    """Like compute_switch_states, split by owner so a change re-diffs only what it touched.

    With a ``cache``, per-path flows are memoised on (path, resolved ports), so adding one path
    to ten thousand costs one path's computation, not a full re-render.
    """
    return {s.dpid: _switch_owned(doc, s.name, ports[s.dpid], cache) for s in doc.switches if s.dpid in ports}


def update_owned_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]],
                        previous: Mapping[int, Owned], changed: set[str],
                        cache: FlowCache | None = None) -> dict[int, Owned]:
    """compute_owned_states(doc, ports), reusing ``previous``: what it gave for a document with
    the same switches, service functions and probes whose paths differ only in those named ``changed``,
    on the same ports. Switches missing from ``previous`` are computed whole.

    One upserted path then costs that path's flows, not a walk over every path of the document.
    """
    states: dict[int, Owned] = {}
    fresh = [p for p in doc.paths if p.name in changed]  # their new versions, found once
    for switch in doc.switches:
        if switch.dpid not in ports:
            continue
        before = previous.get(switch.dpid)
        if before is None:
            states[switch.dpid] = _switch_owned(doc, switch.name, ports[switch.dpid], cache)
            continue
        owned = dict(before)
        for name in changed:
            owned.pop(f"path:{name}", None)
        held, left = _spread_tables(doc, changed, before)  # where an SF across switches keeps its table follows its paths
        tables = balance_switches_after(doc, switch.name, fresh, held, left)
        for name in held:
            owned.pop(f"balance:{name}", None)
        by_fn = {f.name: f for f in _functions_on(doc, switch.name)}
        probe = probe_key(doc, switch.dpid)
        crossing = crossing_paths(doc, changed)  # paths across SFFs: sdn.overlay renders them
        for path in fresh:
            if path.hops[0] in by_fn and path.name not in crossing:
                owned[f"path:{path.name}"] = _path_state(path, by_fn, ports[switch.dpid], switch.name, probe, cache)
        owned.update(overlay_owned(doc, switch.name, ports[switch.dpid], changed, memo=partial(_memo, cache),
                                   probe=probe, tables=tables))
        _check_balance_ids(doc, owned, switch.name)
        states[switch.dpid] = owned
    return states


def _spread_tables(doc: SfcDocument, changed: set[str], before: Owned) -> tuple[set[str], set[str]]:
    """(SFs across switches whose table ``before`` holds, those whose table a changed path's
    flows in ``before`` went to: sdn.spread.balance_switches_after)."""
    ids = {balance_number(f.name): f.name for f in doc.service_functions if spans_switches(f)}
    held = {name for name in ids.values() if f"balance:{name}" in before}
    left = {ids[a.value] for name in changed if f"path:{name}" in before for f in before[f"path:{name}"].flows
            if f.table == NEXT_HOP for a in f.actions if isinstance(a, SetField) and a.field == "reg2" and a.value in ids}
    return held, left


def probe_key(doc: SfcDocument, dpid: int) -> ProbeKey:
    """What the sample() actions on switch ``dpid`` depend on; None when the document asks for
    no IPFIX probes (flows are then exactly those without probes)."""
    probes = doc.probes
    if probes is None or not probes.samples:
        return None
    return probes.collector_set_base, probes.rate_log2, switch_tag(dpid)


def _functions_on(doc: SfcDocument, switch: str) -> list[ServiceFunction]:
    return [f for f in doc.service_functions if f.instances[0].switch == switch
            and not spans_switches(f)]  # an SF across switches: sdn.spread renders its ports and table


def _switch_owned(doc: SfcDocument, switch: str, port_map: Mapping[str, int], cache: FlowCache | None) -> Owned:
    owned: Owned = {"pipeline": _memo(cache, ("pipeline",), lambda: SwitchState(pipeline_flows()))}
    tunnels = tuple(sorted(port_map[p] for p in doc.switch(switch).tunnel_ports if p in port_map))
    if tunnels:  # one that is not there yet gets its flow when it appears (a port event re-derives)
        owned["tunnels"] = _memo(cache, ("tunnels", tunnels), partial(tunnel_port_state, tunnels))
    functions = _functions_on(doc, switch)
    for fn in functions:
        if fn.nsh_aware:
            sf_ports = tuple(_sf_ports(fn, port_map, switch))
            owned[f"sf:{fn.name}"] = _memo(cache, ("sf", sf_ports), partial(_function_state, sf_ports))
            continue
        # keyed by port: twin SFs (a symmetric chain's reverse) share the same flows
        ingress, egress = _sf_ports(fn, port_map, switch), _sf_ports(fn, port_map, switch, True)
        for inst, inst_in, inst_out in zip(fn.instances, ingress, egress, strict=True):
            one_armed = inst_in == inst_out
            for number in {inst_in, inst_out}:
                mac = inst.mac if number == inst_in else ""
                owned[f"unaware:{number}"] = _memo(cache, ("unaware", number, one_armed, mac),
                                                   partial(unaware_port_state, number, one_armed, mac))
    for fn in functions:
        if len(fn.instances) > 1:
            number, entries = _balance_key(fn, port_map, switch)
            owned[f"balance:{fn.name}"] = _memo(cache, ("balance", number, entries),
                                                partial(_balance_state, number, entries))
    by_fn = {f.name: f for f in functions}
    probe = probe_key(doc, doc.switch(switch).dpid)
    crossing = crossing_paths(doc)  # paths across SFFs: sdn.overlay renders them
    for path in doc.paths:
        if path.hops[0] in by_fn and path.name not in crossing:  # a path on its SFs' switch
            owned[f"path:{path.name}"] = _path_state(path, by_fn, port_map, switch, probe, cache)
    owned.update(overlay_owned(doc, switch, port_map, memo=partial(_memo, cache), probe=probe))
    _check_balance_ids(doc, owned, switch)
    return owned


def _check_balance_ids(doc: SfcDocument, owned: Owned, switch: str) -> None:
    """No two SFs whose tables are on ``switch`` (its own, or across switches: sdn.spread) share a
    balancing id; DocumentError naming the later one."""
    balanced: dict[int, str] = {}
    for fn in doc.service_functions:
        if f"balance:{fn.name}" in owned:
            number = balance_id(fn)
            if balanced.setdefault(number, fn.name) != fn.name:
                raise DocumentError(f"service_functions[{fn.name}].name", f"its balancing id {number:#x} (CRC-32 of "
                                    f"the name) is also {balanced[number]}'s on switch {switch}: rename one")


def _path_state(path: ServicePath, functions: Mapping[str, ServiceFunction], ports: Mapping[str, int],
                switch: str, probe: ProbeKey, cache: FlowCache | None) -> SwitchState:
    key = (*_path_key(path, functions, ports, switch), probe)
    return _memo(cache, ("path", *key), lambda: SwitchState(_path_flows(*key)))


def _function_state(sf_ports: tuple[int, ...]) -> SwitchState:
    return SwitchState(frozenset().union(*(sf_port_flows(p) for p in sf_ports)))


def pipeline_flows() -> frozenset[Flow]:
    cookie = make_cookie(Role.PIPELINE)
    return _checked({
        Flow(INGRESS, PRIO_MISS, (), goto_table=CLASSIFY, cookie=cookie),
        Flow(CLASSIFY, PRIO_MISS, (), (Output(OFPP_NORMAL),), cookie=cookie),
        Flow(RECLASSIFY, PRIO_MISS, (), (), cookie=cookie),
        Flow(NEXT_HOP, PRIO_MISS, (), (), cookie=cookie),
        Flow(BALANCE, PRIO_MISS, (), (), cookie=cookie),
        Flow(EGRESS, PRIO_MISS, (), (), cookie=cookie),
        Flow(PROXY, PRIO_MISS, (), (), cookie=cookie),
    })


def tunnel_port_state(ports: tuple[int, ...]) -> SwitchState:
    """VL tunnel ports (VXLAN to other hosts): what arrives was classified, or not, on the host where
    it entered; classifying it again here (a classifier bound to no port would) would send it
    through the chain twice. Straight to normal L2 delivery."""
    cookie = make_cookie(Role.PIPELINE)
    return SwitchState(_checked(Flow(INGRESS, PRIO_ADMIT, make_match(in_port=p), (Output(OFPP_NORMAL),), cookie=cookie)
                                for p in ports))


def _path_key(path: ServicePath, functions: Mapping[str, ServiceFunction], ports: Mapping[str, int],
              switch: str) -> tuple:
    """(path, its classifiers' in_ports, each hop's instance ports, each unaware hop's egress
    ports and instance MACs): everything its flows depend on. Raises DocumentError naming a
    missing port."""
    where = f"service_function_paths[{path.name}]"
    in_ports = tuple(port_of(ports, c.in_port, f"{where}.classifiers[{c.name}].in_port", switch) if c.in_port else None
                     for c in path.classifiers)
    hop_ports = tuple(tuple(_sf_ports(functions[hop], ports, switch)) for hop in path.hops)
    hop_egress = tuple(None if functions[hop].nsh_aware else tuple(_sf_ports(functions[hop], ports, switch, True))
                       for hop in path.hops)
    hop_macs = tuple(tuple(i.mac for i in functions[hop].instances) for hop in path.hops)
    named = {c.destination: c for c in reversed(path.classifiers) if c.destination is not None}
    dest_ports = tuple(port_of(ports, d.port, f"{where}.classifiers[{named[d].name}].destination.port", switch)
                       for d in path.destinations)
    return path, in_ports, hop_ports, hop_egress, hop_macs, dest_ports


def balance_id(fn: ServiceFunction) -> int:
    """What reg2 holds for the balance table of ``fn`` (sdn.steering.balance_number)."""
    return balance_number(fn.name)


def _balance_key(fn: ServiceFunction, ports: Mapping[str, int], switch: str) -> tuple[int, BalanceEntries]:
    """(id, per instance: its port, whether unaware, its MAC and the (C4 value, mask) pairs of its slots)."""
    table = table_of([i.weight for i in fn.instances], [i.slots for i in fn.instances])
    ingress = _sf_ports(fn, ports, switch)
    entries = tuple((port, not fn.nsh_aware, inst.mac, tuple(blocks(table.slots[i], table.size)))
                    for i, (inst, port) in enumerate(zip(fn.instances, ingress, strict=True)))
    return balance_id(fn), entries


def _balance_state(number: int, entries: BalanceEntries) -> SwitchState:
    """The balance table of one SF: each block of slots to the instance holding it."""
    flows = {slot_flow(number, value, mask, _to_instance(port, unaware, mac))
             for port, unaware, mac, pairs in entries for value, mask in pairs}
    return SwitchState(_checked(flows))


def _path_flows(path: ServicePath, in_ports: tuple[int | None, ...], hop_ports: tuple[tuple[int, ...], ...],
                hop_egress: tuple[tuple[int, ...] | None, ...], hop_macs: tuple[tuple[str, ...], ...],
                dest_ports: tuple[int, ...] = (), probe: ProbeKey = None) -> frozenset[Flow]:
    """``in_ports[i]``: classifier i's port, None for any port; ``hop_egress[i]``: the egress
    port per instance of an NSH-unaware hop, None if aware; ``hop_macs[i]``: each instance's MAC
    if it routes, else ""; ``dest_ports[k]``: the port of the path's destination k
    (``ServicePath.destinations``: C1 names it, host 0, and the end outputs there rather than to
    NORMAL); ``probe``: see probe_key (observation points, first action of each: classify before
    encap, into each hop, back from an unaware hop before encap, path's end)."""
    flows: set[Flow] = set()

    def sample(role: Point, si: int) -> tuple[Action, ...]:
        return sample_actions(probe, path.spi, si, role)

    spread = any(len(ports) > 1 for ports in hop_ports)
    classify_cookie = make_cookie(Role.CLASSIFIER, path.spi)

    def classify(table: int, si: int, c1: Action, match_port: int | None, classifier: Classifier) -> None:
        wrap: tuple[Action, ...] = (EncapNsh(1), SetField("nsh_spi", path.spi), SetField("nsh_si", si), c1)
        if spread:  # hash the 5-tuple while it is still visible, carry the bucket in C4
            wrap = (*FLOW_HASH, *wrap, *FLOW_HASH_TO_C4)
        point = sample(Point.CLASSIFY, 255) if table == CLASSIFY else sample(Point.HOP_OUT, si + 1)
        actions = (*point, *wrap, EncapEthernet())
        port = () if match_port is None else (("in_port", match_port),)
        for match in classifier.matches:
            flows.add(Flow(table, classifier.priority + (table == RECLASSIFY), tuple(sorted(match + port)), actions,
                           goto_table=NEXT_HOP, cookie=classify_cookie))

    for classifier, in_port in zip(path.classifiers, in_ports, strict=True):
        dest = None if classifier.destination is None else \
            SetField("nsh_c1", destination_c1(0, path.destinations.index(classifier.destination)))
        classify(CLASSIFY, 255, dest or RegMove("in_port", "nsh_c1", 32), in_port, classifier)
        for index, egress in enumerate(hop_egress):
            for port, mac in zip(egress or (), hop_macs[index], strict=False):  # back from an unaware hop: wrap again
                if not mac:
                    assert in_port is not None, "sdn.document binds classifiers of two-armed unaware paths to a port"
                classify(RECLASSIFY, 255 - index - 1, dest or SetField("nsh_c1", port if mac else in_port), port,  # type: ignore[arg-type]
                         classifier)
    hop_cookie = make_cookie(Role.HOP, path.spi)
    for index, ports in enumerate(hop_ports):
        si = 255 - index
        unaware = hop_egress[index] is not None
        into = sample(Point.HOP_IN, si)
        if len(ports) == 1:
            flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, si),
                           (*into, *_to_instance(ports[0], unaware, hop_macs[index][0])), cookie=hop_cookie))
            continue
        flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, si),
                       (*into, SetField("reg2", balance_number(path.hops[index]))), goto_table=BALANCE,
                       cookie=hop_cookie))
    flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, path.end_si), sample(Point.END, path.end_si),
                   goto_table=EGRESS, cookie=hop_cookie))
    for number, port in enumerate(dest_ports):  # C1 names a destination: out of its port
        flows.add(destination_flow(path.spi, path.end_si, destination_c1(0, number), port))
    if any(c.destination is None for c in path.classifiers):  # C1 holds the ingress port (16 bits: NXM_OF_IN_PORT)
        flows.add(Flow(EGRESS, PRIO_HOP, _nsh_match(path.spi, path.end_si, nsh_mdtype=1),
                       (RegMove("nsh_c1", "in_port_nxm", 16), Decap(), Decap(), Output(OFPP_NORMAL)),
                       cookie=make_cookie(Role.EGRESS, path.spi)))
    return _checked(flows)


def _sf_ports(fn: ServiceFunction, ports: Mapping[str, int], switch: str, egress: bool = False) -> list[int]:
    """Each instance's port (or, with ``egress``, the port its traffic comes back on)."""
    out = []
    for i, inst in enumerate(fn.instances):
        key = "egress_port" if egress and inst.egress_port else "port"
        out.append(port_of(ports, inst.egress if egress else inst.port,
                           f"service_functions[{fn.name}].instances[{i}].{key}", switch))
    return out
