"""The SFF topology: switches on the overlay as nodes, their tunnels as edges (pure, networkx).

Why a graph and not "send to the next hop's host": the SFF sequence of a path is a route on the
topology (RFC 7665: SFFs forward to each other over the overlay), so a link that is missing or
a per-link choice later (NSH over plain Ethernet between adjacent SFFs) changes the route here
and nowhere else. Today every pair of switches on the overlay (host id, tunnel IP and GPE port
set, see ``sdn.document.Switch.on_overlay``) shares a VXLAN-GPE tunnel: a full mesh, so a
leg is one tunnel and no SFF forwards in transit.

A path's *stops* are the switches where something happens, in SI order: the classifier's
switch, each hop's SFF, and at the end the classifier's destination's switch when it names one
(C1 says which: ``sdn.overlay``), else the classifier's switch again (the path ends where it
began: there NSH C1's ingress port is local, and NORMAL delivers as on one switch) -- or, after an
NSH-unaware hop that routes, the switch of the instance that served it (re-classified there, C1
names its host and port), so a path may end on several switches.

A hop whose instances sit on several switches has a leg from each previous stop to each of
them: which one a packet takes is its SF's slot table's choice (``sdn.overlay``: C4's slot ->
the switch holding it), not a leg's, so those legs are marked ``balanced`` and must be one
tunnel (the previous stop's table sends straight to the instance's SFF).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Sequence

import networkx as nx

from sdn.document import DocumentError, Switch

GPE = "gpe"


@dataclass(frozen=True)
class Leg:
    """NSH with SI ``si`` goes from switch ``src`` to switch ``dst`` along ``route`` (both ends
    included; ``(src,)`` if it stays on one switch). ``ingress`` is set on the path's end legs (to
    the switch it ends on: a classifier's, its destination's or a routing unaware instance's),
    which match C1's host id; ``balanced`` on the legs into a hop whose instances sit on several
    switches: the SF's slot table at ``src`` picks the leg (no flow of the path's own)."""

    si: int
    route: tuple[str, ...]
    ingress: str = ""
    balanced: bool = False

    @property
    def src(self) -> str:
        return self.route[0]

    @property
    def dst(self) -> str:
        return self.route[-1]


def overlay_graph(switches: Iterable[Switch]) -> nx.Graph:
    """Switches on the overlay, one GPE edge between each pair (a full mesh of flow-based tunnels)."""
    graph = nx.Graph()
    nodes = [s for s in switches if s.on_overlay]
    for s in nodes:
        graph.add_node(s.name, host_id=s.host_id, tunnel_ip=s.tunnel_ip)
    for a, b in combinations(nodes, 2):
        graph.add_edge(a.name, b.name, kind=GPE)
    return graph


def route(graph: nx.Graph, src: str, dst: str, element: str) -> tuple[str, ...]:
    """The switches from ``src`` to ``dst`` (both included), fewest tunnels first; DocumentError
    naming ``element`` when the topology has no way."""
    if src == dst:
        return (src,)
    try:
        return tuple(nx.shortest_path(graph, src, dst))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        raise DocumentError(element, f"no overlay route from switch {src} to {dst}") from None


def path_legs(graph: nx.Graph, path_name: str, ingress: Sequence[str], hops: Sequence[Sequence[str]],
              ends: Sequence[str] = ()) -> tuple[Leg, ...]:
    """Every leg of one path: SI 255 from each ingress switch to the first hop's SFF(s), SI 255-i
    from each SFF of hop i-1 to each of hop i, the end SI from each SFF of the last hop to each
    switch the path ends on (``ends``, default the ingress switches; a routing NSH-unaware hop moves
    it: ``sdn.overlay.end_switches``). ``hops[i]``: the switch of each instance of hop i; a hop on
    several switches gets ``balanced`` legs, one tunnel each (DocumentError naming the hop if the
    topology has none between two of its stops: a slot table tunnels straight to the SFF)."""
    where = f"service_function_paths[{path_name}]"
    legs: list[Leg] = []
    sources = tuple(dict.fromkeys(ingress))
    for i, switches in enumerate(hops):
        element = f"{where}.hops[{i}]"
        targets = tuple(dict.fromkeys(switches))
        for src in sources:
            for dst in targets:
                way = route(graph, src, dst, element)
                if len(targets) > 1 and len(way) > 2:
                    raise DocumentError(element, f"its instances sit on several switches, so its slot table on {src} "
                                        f"tunnels straight to {dst}, but the overlay has no tunnel between them")
                legs.append(Leg(255 - i, way, balanced=len(targets) > 1))
        sources = targets
    end_si = 255 - len(hops)
    legs += [Leg(end_si, route(graph, src, i, f"{where}.classifiers"), ingress=i)
             for src in sources for i in dict.fromkeys(ends or ingress)]
    return tuple(legs)


def sff_sequence(legs: Sequence[Leg]) -> tuple[str, ...]:
    """The switches a packet visits in order (consecutive repeats folded), for legs of one ingress
    and hops on one switch each (with more, the legs are alternatives, not a sequence)."""
    seq: list[str] = []
    for leg in legs:
        for node in leg.route:
            if not seq or seq[-1] != node:
                seq.append(node)
    return tuple(seq)


def touched(legs: Iterable[Leg]) -> frozenset[str]:
    """Every switch that holds flows of the path: its stops and the SFFs in transit between them."""
    return frozenset(node for leg in legs for node in leg.route)
