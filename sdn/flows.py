"""Desired document + switch ports → the flows and groups each switch should hold (pure).

Per switch: the pipeline's miss flows; per SF port an ingress admission for NSH frames; per
path one classify flow per (classifier, compiled match), one next-hop flow per hop and one
egress flow per distinct ingress port. The classifier records the ingress port in NSH context
C1 so the egress can restore it before NORMAL: the switch then learns client MACs on the right
port, and replies that bypass the chain find their way.
"""

from __future__ import annotations

import zlib
from typing import Mapping

from sdn.cookie import Role, make_cookie, make_group_id
from sdn.document import DocumentError, ServiceFunction, ServicePath, SfcDocument
from sdn.flow import (OFPP_NORMAL, Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group,
                      GroupEntry, Output, SetField, SwitchState, make_match)
from sdn.pipeline import CLASSIFY, EGRESS, INGRESS, NEXT_HOP, check_flow

ETH_NSH = 0x894F
PRIO_MISS, PRIO_ADMIT, PRIO_SF_DROP, PRIO_HOP = 0, 100, 90, 100


def compute_switch_states(doc: SfcDocument, ports: Mapping[int, Mapping[str, int]]) -> dict[int, SwitchState]:
    """The state of every switch in ``doc`` whose ports are known (keyed by dpid).

    Raises DocumentError naming the element when a port the document needs is missing.
    """
    states: dict[int, SwitchState] = {}
    group_ids = allocate_group_ids(doc)
    for switch in doc.switches:
        if switch.dpid not in ports:
            continue
        port_map = ports[switch.dpid]
        flows: set[Flow] = set(pipeline_flows())
        groups: set[GroupEntry] = set()
        functions = [f for f in doc.service_functions if f.instances[0].switch == switch.name]
        for fn in functions:
            sf_ports = _sf_ports(fn, port_map, switch.name)
            for port in sf_ports:
                flows |= sf_port_flows(port)
            if len(sf_ports) > 1:
                groups.add(GroupEntry(group_ids[fn.name], "select",
                                      tuple(Bucket((Output(p),), weight=1) for p in sf_ports)))
        by_fn = {f.name: f for f in functions}
        for path in doc.paths:
            if path.hops[0] in by_fn:  # a path lives on the switch of its SFs (checked in document)
                flows |= path_flows(path, by_fn, port_map, group_ids, switch.name)
        states[switch.dpid] = SwitchState(frozenset(check_flow(f) for f in flows), frozenset(groups))
    return states


def pipeline_flows() -> frozenset[Flow]:
    cookie = make_cookie(Role.PIPELINE)
    return frozenset({
        Flow(INGRESS, PRIO_MISS, (), goto_table=CLASSIFY, cookie=cookie),
        Flow(CLASSIFY, PRIO_MISS, (), (Output(OFPP_NORMAL),), cookie=cookie),
        Flow(NEXT_HOP, PRIO_MISS, (), (), cookie=cookie),
        Flow(EGRESS, PRIO_MISS, (), (), cookie=cookie),
    })


def sf_port_flows(port: int) -> frozenset[Flow]:
    """An SF port carries NSH frames back from its SF; anything else from it is dropped."""
    cookie = make_cookie(Role.PIPELINE)
    return frozenset({
        Flow(INGRESS, PRIO_ADMIT, make_match(in_port=port, eth_type=ETH_NSH), goto_table=NEXT_HOP, cookie=cookie),
        Flow(INGRESS, PRIO_SF_DROP, make_match(in_port=port), (), cookie=cookie),
    })


def path_flows(path: ServicePath, functions: Mapping[str, ServiceFunction], ports: Mapping[str, int],
               group_ids: Mapping[str, int], switch: str) -> set[Flow]:
    where = f"service_function_paths[{path.name}]"
    flows: set[Flow] = set()
    ingress_ports: set[int] = set()
    for classifier in path.classifiers:
        in_port = _port(ports, classifier.in_port, f"{where}.classifiers[{classifier.name}].in_port", switch)
        ingress_ports.add(in_port)
        actions = (EncapNsh(1), SetField("nsh_spi", path.spi), SetField("nsh_si", 255),
                   SetField("nsh_c1", in_port), EncapEthernet())
        for match in classifier.matches:
            flows.add(Flow(CLASSIFY, classifier.priority, tuple(sorted(match + (("in_port", in_port),))),
                           actions, goto_table=NEXT_HOP, cookie=make_cookie(Role.CLASSIFIER, path.spi)))
    hop_cookie = make_cookie(Role.HOP, path.spi)
    for index, hop in enumerate(path.hops):
        fn = functions[hop]
        sf_ports = _sf_ports(fn, ports, switch)
        deliver = Output(sf_ports[0]) if len(sf_ports) == 1 else Group(group_ids[fn.name])
        flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, 255 - index), (DecNshTtl(), deliver),
                       cookie=hop_cookie))
    flows.add(Flow(NEXT_HOP, PRIO_HOP, _nsh_match(path.spi, path.end_si), goto_table=EGRESS, cookie=hop_cookie))
    egress_cookie = make_cookie(Role.EGRESS, path.spi)
    for in_port in ingress_ports:
        flows.add(Flow(EGRESS, PRIO_HOP, _nsh_match(path.spi, path.end_si, nsh_mdtype=1, nsh_c1=in_port),
                       (Decap(), Decap(), SetField("in_port", in_port), Output(OFPP_NORMAL)),
                       cookie=egress_cookie))
    return flows


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
