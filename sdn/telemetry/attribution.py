"""Flows without NSH or an observation id, attributed to paths by their classifiers (pure).

A physical switch, ``softflowd`` or ``pmacct`` on a host, or an sFlow sample of a plain frame
reports a 5-tuple and nothing about chains; the classifiers say which path such traffic enters.
Fields honoured: ``eth_type`` (by the address family), ``ip_src``/``ip_dst`` networks,
``ip_proto``, ``src_port``/``dst_port`` ranges (TCP when ports are set without a protocol, as
the classifier compiles them). Any other field a classifier sets (MACs, VLAN, DSCP, ICMP type,
flow label...) is not in a 5-tuple and is not checked: such a classifier may claim more than
it admits, which :attr:`Attributor.unchecked` lists so the caller can say so. OVS picks the
highest priority; among equal priorities the first in document order wins here.

With the port the frame came in on (``in_port``, e.g. from an sFlow agent's ifIndex mapped by
the caller), a match on an NSH-unaware hop's egress port is that hop's way back (role hop-out,
as OVS re-classifies there), and otherwise a path's entry only on its classifier's in_port (a
port-less classifier admits any port); without it every match is an entry. Why it matters: an
unaware hop gives the traffic back plain, with the 5-tuple it entered with, so without the port
every packet would count twice at the entry, and traffic of the same 5-tuple on a port the
classifier does not admit would count as entered. :class:`PortMap` is that port knowledge for
sFlow: (agent, ifIndex) -> port name per agent whose switch's ports are known.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dataplane.packet import FiveTuple
from sdn.match import ClassifierMatch
from sdn.telemetry.catalogue import PathCatalogue
from sdn.telemetry.observation import Role

HONOURED = frozenset(("eth_type", "ip_src", "ip_dst", "ip_proto", "src_port", "dst_port"))
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
_L4 = frozenset((6, 17, 132))
MEMO = 65536                       # (flow, in_port) answers an Attributor remembers (then starts over)


@dataclass(frozen=True, slots=True)
class Attribution:
    spi: int
    si: int
    role: Role
    classifier: str


@dataclass(frozen=True, slots=True)
class _Rule:
    spi: int
    classifier: str
    priority: int
    in_port: str
    match: ClassifierMatch
    back: tuple[tuple[str, int], ...]     # (egress port, hop SI) of the path's NSH-unaware hops


@dataclass(frozen=True)
class PortMap:
    """(sFlow agent address, ifIndex) -> switch port name, for the ``agents`` whose ports are known.

    A known agent's sample on ifIndex 0 (sFlow's "interface not known") came in on a port without
    a kernel device: on our switches a tunnel -- VXLAN-GPE from another SFF, a virtual link's
    VXLAN from another host. What arrives there was counted on the host that sent it (where it
    came back from its SF, or was classified), so it is ``tunnelled``: no observation again."""

    ports: Mapping[tuple[str, int], str] = field(default_factory=lambda: MappingProxyType({}))
    agents: frozenset[str] = frozenset()

    @staticmethod
    def of(ports: Mapping[tuple[str, int], str]) -> PortMap:
        return PortMap(MappingProxyType(dict(ports)), frozenset(agent for agent, _ in ports))

    def port(self, agent: str, ifindex: int) -> str | None:
        return self.ports.get((agent, ifindex))

    def tunnelled(self, agent: str, ifindex: int) -> bool:
        return ifindex == 0 and agent in self.agents


@functools.lru_cache(maxsize=8192)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parsed once per address: a collector sees the same few thousand again and again."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def matches(match: ClassifierMatch, flow: FiveTuple) -> bool:
    """Does ``flow`` satisfy the honoured fields of ``match``?"""
    src, dst = _address(flow.src), _address(flow.dst)
    if src is None or dst is None:
        return False
    if match.eth_type is not None and match.eth_type != (ETH_IPV4 if src.version == 4 else ETH_IPV6):
        return False
    for net, addr in ((match.ip_src, src), (match.ip_dst, dst)):
        if net is not None and (net.version != addr.version or addr not in net):
            return False
    proto = match.ip_proto
    if proto is None and (match.src_port is not None or match.dst_port is not None):
        proto = 6
    if proto is not None and flow.proto != proto:
        return False
    for span, port in ((match.src_port, flow.src_port), (match.dst_port, flow.dst_port)):
        if span is not None and not (flow.proto in _L4 and span[0] <= port <= span[1]):
            return False
    return True


@dataclass(frozen=True)
class Attributor:
    """The catalogue's classifiers, highest priority first.

    Its answers are remembered per (5-tuple, in_port): a collector hears the same flows again
    and again (each IPFIX export, each sFlow sample of a long flow) and matching walks every
    rule. The classifiers changing makes a new Attributor (:meth:`of`), so a remembered answer
    never outlives the rules it came from."""

    rules: tuple[_Rule, ...] = ()
    unchecked: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (classifier, fields not checked)
    _memo: dict[tuple[FiveTuple, str | None], Attribution | None] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False)

    @staticmethod
    def of(catalogue: PathCatalogue) -> Attributor:
        rules: list[_Rule] = []
        unchecked: list[tuple[str, tuple[str, ...]]] = []
        for path in catalogue.paths.values():
            back = tuple((port, hop.si) for hop in path.hops if not hop.nsh_aware for port in hop.egress_ports)
            for c in path.classifiers:
                rules.append(_Rule(path.spi, c.name, c.priority, c.in_port, c.match, back))
                extra = tuple(name for name, _ in c.match.items() if name not in HONOURED)
                if extra:
                    unchecked.append((c.name, extra))
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        return Attributor(tuple(rules[i] for i in order), tuple(unchecked))

    def attribute(self, flow: FiveTuple, in_port: str | None = None) -> Attribution | None:
        """The path (and point) ``flow`` belongs to, or None if no classifier admits it."""
        memo = self._memo
        key = (flow, in_port)
        try:
            return memo[key]
        except KeyError:
            pass
        found = self._match(flow, in_port)
        if len(memo) >= MEMO:
            memo.clear()
        memo[key] = found
        return found

    def _match(self, flow: FiveTuple, in_port: str | None) -> Attribution | None:
        for rule in self.rules:
            back = None if in_port is None else next((si for p, si in rule.back if p == in_port), None)
            if back is None and in_port is not None and rule.in_port and in_port != rule.in_port:
                continue
            if not matches(rule.match, flow):
                continue
            if back is None:
                return Attribution(rule.spi, 255, Role.CLASSIFY, rule.classifier)
            return Attribution(rule.spi, back, Role.HOP_OUT, rule.classifier)
        return None
