"""Desired document + switch ports → the flows and groups each switch should hold (pure).

Per switch: the pipeline's miss flows; per SF port an ingress admission for NSH frames; per
path one classify flow per (classifier, compiled match), one next-hop flow per hop and one
egress flow per distinct ingress port. The classifier records the ingress port in NSH context
C1 so the egress can restore it before NORMAL: the switch then learns client MACs on the right
port, and replies that bypass the chain find their way.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Mapping

from sdn.cookie import Role, make_cookie, make_group_id
from sdn.document import DocumentError, ServiceFunction, ServicePath, SfcDocument
from sdn.flow import (OFPP_NORMAL, Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group,
                      GroupEntry, Output, SetField, SwitchState, make_match)
from sdn.pipeline import CLASSIFY, EGRESS, INGRESS, NEXT_HOP, check_flow

ETH_NSH = 0x894F
PRIO_MISS, PRIO_ADMIT, PRIO_SF_DROP, PRIO_HOP = 0, 100, 90, 100


Owned = dict[str, SwitchState]  # owner ("pipeline", "sf:NAME", "path:NAME") -> its flows/groups


def compute_switch_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]]) -> dict[int, SwitchState]:
    """The state of every switch in ``doc`` whose ports are known (keyed by dpid).

    Raises DocumentError naming the element when a port the document needs is missing.
    """
    return {dpid: merge(owned) for dpid, owned in compute_owned_states(doc, ports).items()}


def merge(owned: Owned) -> SwitchState:
    flows: set[Flow] = set()
    groups: set[GroupEntry] = set()
    for part in owned.values():
        flows |= part.flows
        groups |= part.groups
    return SwitchState(frozenset(flows), frozenset(groups))


def compute_owned_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]]) -> dict[int, Owned]:
    """Like compute_switch_states, split by owner so a change re-diffs only what it touched.

    Per-path flows are memoised on (path, resolved ports), so adding one path to ten thousand
    costs one path's computation, not a full re-render.
    """
    states: dict[int, Owned] = {}
    group_ids = allocate_group_ids(doc)
    for switch in doc.switches:
        if switch.dpid not in ports:
            continue
        port_map = ports[switch.dpid]
        owned: Owned = {"pipeline": SwitchState(pipeline_flows())}
        functions = [f for f in doc.service_functions if f.instances[0].switch == switch.name]
        for fn in functions:
            owned[f"sf:{fn.name}"] = _function_state(tuple(_sf_ports(fn, port_map, switch.name)),
                                                     group_ids.get(fn.name))
        by_fn = {f.name: f for f in functions}
        for path in doc.paths:
            if path.hops[0] in by_fn:  # a path lives on the switch of its SFs (checked in document)
                owned[f"path:{path.name}"] = SwitchState(path_flows(path, by_fn, port_map, group_ids, switch.name))
        states[switch.dpid] = owned
    return states


@lru_cache(maxsize=4096)
def _function_state(sf_ports: tuple[int, ...], group_id: int | None) -> SwitchState:
    flows: frozenset[Flow] = frozenset().union(*(sf_port_flows(p) for p in sf_ports))
    groups = frozenset()
    if len(sf_ports) > 1 and group_id is not None:
        groups = frozenset({GroupEntry(group_id, "select", tuple(Bucket((Output(p),), weight=1) for p in sf_ports))})
    return SwitchState(flows, groups)


@lru_cache(maxsize=1)
def pipeline_flows() -> frozenset[Flow]:
    cookie = make_cookie(Role.PIPELINE)
    return frozenset({
        Flow(INGRESS, PRIO_MISS, (), goto_table=CLASSIFY, cookie=cookie),
        Flow(CLASSIFY, PRIO_MISS, (), (Output(OFPP_NORMAL),), cookie=cookie),
        Flow(NEXT_HOP, PRIO_MISS, (), (), cookie=cookie),
        Flow(EGRESS, PRIO_MISS, (), (), cookie=cookie),
    })


@lru_cache(maxsize=4096)
def sf_port_flows(port: int) -> frozenset[Flow]:
    """An SF port carries NSH frames back from its SF; anything else from it is dropped."""
    cookie = make_cookie(Role.PIPELINE)
    return frozenset({
        Flow(INGRESS, PRIO_ADMIT, make_match(in_port=port, eth_type=ETH_NSH), goto_table=NEXT_HOP, cookie=cookie),
        Flow(INGRESS, PRIO_SF_DROP, make_match(in_port=port), (), cookie=cookie),
    })


def path_flows(path: ServicePath, functions: Mapping[str, ServiceFunction], ports: Mapping[str, int],
               group_ids: Mapping[str, int], switch: str) -> frozenset[Flow]:
    """Resolve the path's ports (errors name the element), then build its flows (memoised)."""
    where = f"service_function_paths[{path.name}]"
    in_ports = tuple(_port(ports, c.in_port, f"{where}.classifiers[{c.name}].in_port", switch)
                     for c in path.classifiers)
    deliveries = []
    for hop in path.hops:
        fn = functions[hop]
        sf_ports = _sf_ports(fn, ports, switch)
        deliveries.append(Output(sf_ports[0]) if len(sf_ports) == 1 else Group(group_ids[fn.name]))
    return _path_flows(path, in_ports, tuple(deliveries))


@lru_cache(maxsize=65536)
def _path_flows(path: ServicePath, in_ports: tuple[int, ...], deliveries: tuple[Output | Group, ...]) -> frozenset[Flow]:
    flows: set[Flow] = set()
    for classifier, in_port in zip(path.classifiers, in_ports):
        actions = (EncapNsh(1), SetField("nsh_spi", path.spi), SetField("nsh_si", 255),
                   SetField("nsh_c1", in_port), EncapEthernet())
        for match in classifier.matches:
            flows.add(Flow(CLASSIFY, classifier.priority, tuple(sorted(match + (("in_port", in_port),))),
                           actions, goto_table=NEXT_HOP, cookie=make_cookie(Role.CLASSIFIER, path.spi)))
    hop_cookie = make_cookie(Role.HOP, path.spi)
    for index, deliver in enumerate(deliveries):
        flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, 255 - index), (DecNshTtl(), deliver),
                       cookie=hop_cookie))
    flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, path.end_si), goto_table=EGRESS, cookie=hop_cookie))
    egress_cookie = make_cookie(Role.EGRESS, path.spi)
    for in_port in sorted(set(in_ports)):
        flows.add(Flow(EGRESS, PRIO_HOP, _nsh_match(path.spi, path.end_si, nsh_mdtype=1, nsh_c1=in_port),
                       (Decap(), Decap(), SetField("in_port", in_port), Output(OFPP_NORMAL)),
                       cookie=egress_cookie))
    return frozenset(check_flow(f) for f in flows)


def allocate_group_ids(doc: SfcDocument) -> dict[str, int]:
    """A stable group id per multi-instance SF, from its name (probing past collisions)."""
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for fn in sorted((f for f in doc.service_functions if len(f.instances) > 1), key=lambda f: f.name):
        index = zlib.crc32(fn.name.encode()) & 0xFFFFFF
        while make_group_id(index) in taken:
            index = (index + 1) & 0xFFFFFF
        ids[fn.name] = make_group_id(index)
        taken.add(ids[fn.name])
    return ids


def _nsh_match(spi: int, si: int, **extra: int):
    return make_match(eth_type=ETH_NSH, nsh_spi=spi, nsh_si=si, **extra)


def _sf_ports(fn: ServiceFunction, ports: Mapping[str, int], switch: str) -> list[int]:
    return [_port(ports, inst.port, f"service_functions[{fn.name}].instances[{i}].port", switch)
            for i, inst in enumerate(fn.instances)]


def _port(ports: Mapping[str, int], name: str, element: str, switch: str) -> int:
    number = ports.get(name)
    if number is None:
        raise DocumentError(element, f"switch {switch} has no port {name!r}")
    return number
