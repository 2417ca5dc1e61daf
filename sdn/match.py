"""Classifier matches: a typed value, parsed once from operator spellings, compiled to OpenFlow (pure).

``ClassifierMatch`` is what a classifier admits, with typed values (prefixes as ``ipaddress``
networks, port ranges as ``(low, high)``, MACs lower-case): the NFVO builds it straight from a
VNFFGD's ACL or a ``--match`` string, the controller's API carries it field by field, and
``compile_match`` turns it into OpenFlow 1.3 match fields — adding the prerequisites OpenFlow
demands (``tcp_dst`` needs ``ip_proto=6`` needs ``eth_type``) and splitting L4 port ranges into
the fewest value/mask pairs, so one classifier may become several flow matches.

``parse_match`` accepts OpenFlow/os-ken names, ovs-ofctl spellings and Tacker / networking-sfc
ACL names for the same field; its errors name the field as the operator spelled it.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import dataclass, fields, replace
from typing import Iterable, Mapping, Union

from descriptors.acl import (ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_MPLS, ICMPV4_FIELDS, ICMPV6_FIELDS, ND_ADVERT, ND_SOLICIT,
                             ip_family, match_conflict, match_kind, parse_ethertype, parse_mac, parse_port_range,
                             parse_prefix)
from sdn.openflow import MatchValue

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
PortRange = tuple[int, int]


class MatchError(ValueError):
    """A match field or value that cannot be compiled; ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ClassifierMatch:
    """What a classifier admits; ``None`` is "any". Field names are the canonical ones below."""

    eth_type: int | None = None
    eth_src: str | None = None
    eth_dst: str | None = None
    vlan_vid: int | None = None
    vlan_pcp: int | None = None
    mpls_label: int | None = None
    mpls_tc: int | None = None
    mpls_bos: int | None = None
    ip_src: Network | None = None
    ip_dst: Network | None = None
    ip_proto: int | None = None
    ip_dscp: int | None = None
    ip_ecn: int | None = None
    ipv6_flabel: int | None = None
    src_port: PortRange | None = None  # TCP/UDP/SCTP, by ip_proto (TCP when unset)
    dst_port: PortRange | None = None
    icmpv4_type: int | None = None
    icmpv4_code: int | None = None
    icmpv6_type: int | None = None
    icmpv6_code: int | None = None
    arp_op: int | None = None
    arp_spa: ipaddress.IPv4Network | None = None
    arp_tpa: ipaddress.IPv4Network | None = None
    arp_sha: str | None = None
    arp_tha: str | None = None
    ipv6_nd_target: ipaddress.IPv6Address | None = None
    ipv6_nd_sll: str | None = None
    ipv6_nd_tll: str | None = None

    def reversed(self) -> ClassifierMatch:
        """The other direction of the same traffic: every source becomes destination and back."""
        return replace(self, eth_src=self.eth_dst, eth_dst=self.eth_src, ip_src=self.ip_dst, ip_dst=self.ip_src,
                       src_port=self.dst_port, dst_port=self.src_port, arp_spa=self.arp_tpa, arp_tpa=self.arp_spa,
                       arp_sha=self.arp_tha, arp_tha=self.arp_sha)

    def items(self) -> tuple[tuple[str, object], ...]:
        """The fields that are set, in declaration order."""
        return tuple((f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None)


MATCH_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ClassifierMatch))
INT_BITS = {"eth_type": 16, "vlan_vid": 12, "vlan_pcp": 3, "mpls_label": 20, "mpls_tc": 3, "mpls_bos": 1,
            "ip_proto": 8, "ip_dscp": 6, "ip_ecn": 2, "ipv6_flabel": 20, "icmpv4_type": 8, "icmpv4_code": 8,
            "icmpv6_type": 8, "icmpv6_code": 8, "arp_op": 16}
MAC_KEYS = ("eth_src", "eth_dst", "arp_sha", "arp_tha", "ipv6_nd_sll", "ipv6_nd_tll")

ALIASES: dict[str, str] = {
    **{name: name for name in MATCH_FIELDS},
    "dl_type": "eth_type", "dl_src": "eth_src", "dl_dst": "eth_dst",
    "dl_vlan": "vlan_vid", "vlan_id": "vlan_vid", "dl_vlan_pcp": "vlan_pcp",
    "nw_src": "ip_src", "nw_dst": "ip_dst",
    "ip_src_prefix": "ip_src", "ip_dst_prefix": "ip_dst",  # Tacker
    "source_ip_prefix": "ip_src", "destination_ip_prefix": "ip_dst",  # networking-sfc
    "ipv4_src": "ip_src", "ipv4_dst": "ip_dst", "ipv6_src": "ip_src", "ipv6_dst": "ip_dst",
    "nw_proto": "ip_proto", "protocol": "ip_proto",
    "tp_src": "src_port", "tp_dst": "dst_port", "tcp_src": "src_port", "tcp_dst": "dst_port",
    "tcp_dest": "dst_port", "udp_src": "src_port", "udp_dst": "dst_port", "udp_dest": "dst_port",
    "source_port_range": "src_port", "destination_port_range": "dst_port",
    "sctp_src": "src_port", "sctp_dst": "dst_port",
    "nw_tos": "ip_dscp_tos", "dscp": "ip_dscp", "nw_ecn": "ip_ecn",
    "icmp_type": "icmpv4_type", "icmp_code": "icmpv4_code", "ipv6_label": "ipv6_flabel",
    "mpls_bos": "mpls_bos", "nd_target": "ipv6_nd_target", "nd_sll": "ipv6_nd_sll", "nd_tll": "ipv6_nd_tll",
}
PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17, "sctp": 132, "icmpv6": 58}
L4_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}


def port_range_masks(low: int, high: int) -> list[tuple[int, int]]:
    """The fewest (value, mask) pairs covering [low, high] of a 16-bit port."""
    out: list[tuple[int, int]] = []
    while low <= high:
        size = low & -low if low else 1 << 16
        while size > high - low + 1:
            size >>= 1
        out.append((low, 0xFFFF & ~(size - 1)))
        low += size
    return out


# ----------------------------------------------------------------- operator spellings -> value

def parse_match(raw: Mapping[str, object]) -> ClassifierMatch:
    """Operator spellings (``tcp_dest: 80``, ``nw_src: 10.0.0.0/24``...) → a checked match.

    A port spelled ``tcp_``/``udp_``/``sctp_`` names its protocol (``udp_dst=53,ip_proto=6``
    is refused rather than compiled into TCP port 53). Errors name the field as spelled.
    """
    try:
        match = _parse(raw)
        compile_match(match)  # cross-field checks, while the spellings are known
        return match
    except MatchError as exc:
        spelled = {ALIASES.get(str(n), str(n)): str(n) for n in raw}
        implied = next((str(n) for n in raw if str(n).split("_", 1)[0] in L4_NAMES.values()), None)
        if implied is not None:  # tcp_dst=80 says ip_proto=6 itself
            spelled.setdefault("ip_proto", implied)
        words = {k: v for k, v in spelled.items() if k != v}
        message = re.sub(r"\b(" + "|".join(words) + r")\b", lambda m: words[m.group(1)], exc.message) \
            if words else exc.message
        raise MatchError(spelled.get(exc.field, exc.field), message) from None


def _parse(raw: Mapping[str, object]) -> ClassifierMatch:
    values: dict[str, object] = {}
    seen: dict[str, str] = {}
    for name, value in raw.items():
        key = str(name)
        canonical = ALIASES.get(key)
        if canonical is None:
            raise MatchError(key, "unknown match field")
        target = "ip_dscp" if canonical == "ip_dscp_tos" else canonical
        if target in seen:
            raise MatchError(key, f"given twice (also as another spelling of {target})")
        seen[target] = key
        values[target] = _parse_value(key, canonical, value)
    implied = {key: PROTO_NAMES[key.split("_", 1)[0]] for key in map(str, raw)
               if ALIASES.get(key) in ("src_port", "dst_port") and key.split("_", 1)[0] in L4_NAMES.values()}
    if len(set(implied.values())) > 1:
        raise MatchError(sorted(implied)[0], f"mixes {' and '.join(sorted(implied))} ports")
    proto = values.get("ip_proto")
    for key, wanted in implied.items():
        if proto is not None and proto != wanted:
            raise MatchError(key, f"is a {L4_NAMES[wanted]} port but ip_proto is {proto}")
        values["ip_proto"] = wanted
    return ClassifierMatch(**values)  # type: ignore[arg-type]


def _parse_value(key: str, canonical: str, value: object) -> object:
    try:
        if canonical in ("ip_src", "ip_dst"):
            return parse_prefix(value)
        if canonical in ("arp_spa", "arp_tpa"):
            net = parse_prefix(value)
            if net.version != 4:
                raise ValueError(f"expected an IPv4 address or prefix, got {value!r}")
            return net
        if canonical == "ipv6_nd_target":
            return ipaddress.IPv6Address(str(value).strip())
        if canonical in ("src_port", "dst_port"):
            return parse_port_range(value)
        if canonical in MAC_KEYS:
            return parse_mac(value)
        if canonical == "eth_type" and isinstance(value, str) and not value.strip()[:1].isdigit():
            return parse_ethertype(value)
    except ValueError as exc:
        raise MatchError(key, str(exc)) from None
    if canonical == "ip_proto" and isinstance(value, str) and not value.strip().isdigit():
        proto = PROTO_NAMES.get(value.strip().lower())
        if proto is None:
            raise MatchError(key, f"unknown protocol {value!r}")
        return proto
    if canonical == "ip_dscp_tos":
        return _int(key, value, 8) >> 2
    if canonical == "vlan_vid":
        return _int(key, value, 12)
    return _int(key, value, INT_BITS[canonical])


def _int(field: str, value: object, bits: int) -> int:
    if isinstance(value, bool):
        raise MatchError(field, f"expected an integer, got {value!r}")
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise MatchError(field, f"expected an integer, got {value!r}") from None
    if not 0 <= number < (1 << bits):
        raise MatchError(field, f"{number} does not fit in {bits} bits")
    return number


# ----------------------------------------------------------------- value -> OpenFlow matches

def compile_match(match: ClassifierMatch) -> list[tuple[tuple[str, MatchValue], ...]]:
    """One or more canonical os-ken match tuples (ORed) for ``match``; errors name the field.

    Prerequisites OpenFlow demands are added (``tcp_dst`` needs ``ip_proto`` needs ``eth_type``);
    where they are not implied, every reading is compiled: ``ip_proto=6`` alone is TCP over IPv4
    and over IPv6, ``ipv6_nd_target`` alone a neighbor solicitation and an advertisement.
    """
    for name, bits in INT_BITS.items():
        value = getattr(match, name)
        if value is not None and not 0 <= value < (1 << bits):
            raise MatchError(name, f"{value} does not fit in {bits} bits")
    values = dict(match.items())
    conflict = match_conflict(values)
    if conflict is not None:
        raise MatchError(*conflict)
    base: dict[str, MatchValue] = {}
    for key in ("eth_src", "eth_dst", "vlan_pcp"):
        if key in values:
            base[key] = values[key]  # type: ignore[assignment]
    if match.vlan_vid is not None:
        base["vlan_vid"] = 0x1000 | match.vlan_vid  # OFPVID_PRESENT: a tag with this id
    if match.eth_type is not None:
        base["eth_type"] = match.eth_type
    kind = match_kind(values)
    if kind == "ARP":
        base["eth_type"] = ETH_ARP
        for key in ("arp_op", "arp_sha", "arp_tha"):
            if key in values:
                base[key] = values[key]  # type: ignore[assignment]
        for key in ("arp_spa", "arp_tpa"):
            if key in values:
                base[key] = _address(values[key])  # type: ignore[arg-type]
        return [tuple(sorted(base.items()))]
    if kind == "MPLS":
        base.setdefault("eth_type", ETH_MPLS)
        for key in ("mpls_label", "mpls_tc", "mpls_bos"):
            if key in values:
                base[key] = values[key]  # type: ignore[assignment]
        return [tuple(sorted(base.items()))]
    if kind != "IP":
        return [tuple(sorted(base.items()))]
    families = sorted({f for k, v in values.items() if (f := ip_family(k, v)) is not None}) or [4, 6]
    out: list[tuple[tuple[str, MatchValue], ...]] = []
    for family in families:
        for ip in _ip_options(match, family):
            out.extend(tuple(sorted({**base, **ip, **dict(ports)}.items())) for ports in _port_options(match))
    return out


def _address(net: Network) -> MatchValue:
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else \
        (str(net.network_address), str(net.netmask))


def _ip_options(match: ClassifierMatch, family: int) -> list[dict[str, MatchValue]]:
    """The IPv``family`` parts of ``match`` (several for an ND field without icmpv6_type)."""
    ip: dict[str, MatchValue] = {"eth_type": ETH_IPV4 if family == 4 else ETH_IPV6}
    prefix = "ipv4" if family == 4 else "ipv6"
    for key in ("ip_src", "ip_dst"):
        net = getattr(match, key)
        if net is not None:
            ip[f"{prefix}_{key[3:]}"] = _address(net)
    for key in ("ip_dscp", "ip_ecn", "ipv6_flabel", *ICMPV4_FIELDS, "icmpv6_type", "icmpv6_code"):
        if getattr(match, key) is not None:
            ip[key] = getattr(match, key)
    icmp = any(getattr(match, k) is not None for k in ICMPV4_FIELDS + ICMPV6_FIELDS)
    proto = match.ip_proto or ((1 if family == 4 else 58) if icmp else None)
    if proto is None and (match.src_port is not None or match.dst_port is not None):
        proto = 6
    if proto is not None:
        ip["ip_proto"] = proto
    nd = {k: getattr(match, k) for k in ("ipv6_nd_target", "ipv6_nd_sll", "ipv6_nd_tll")
          if getattr(match, k) is not None}
    if not nd:
        return [ip]
    ip.update({k: str(v) for k, v in nd.items()})
    if match.icmpv6_type is not None:
        return [ip]
    kinds = [ND_SOLICIT] if "ipv6_nd_sll" in nd else [ND_ADVERT] if "ipv6_nd_tll" in nd else [ND_SOLICIT, ND_ADVERT]
    return [{**ip, "icmpv6_type": k} for k in kinds]


def _port_options(match: ClassifierMatch) -> list[tuple[tuple[str, MatchValue], ...]]:
    """Every combination of value/mask pairs covering the L4 port ranges (one, unconstrained)."""
    l4 = L4_NAMES.get(match.ip_proto or 6)
    options: list[list[tuple[str, MatchValue]]] = []
    for key in ("src_port", "dst_port"):
        span = getattr(match, key)
        if span is None:
            continue
        low, high = span
        if not (0 <= low <= high <= 65535):
            raise MatchError(key, f"port range {low}-{high} is not within 0-65535 or runs backwards")
        if (low, high) == (0, 65535):
            continue  # the whole range: no constraint beyond the protocol
        options.append([(f"{l4}_{key[:3]}", v if m == 0xFFFF else (v, m)) for v, m in port_range_masks(low, high)])
    return [tuple(combo) for combo in itertools.product(*options)] if options else [()]


def describe(match: Iterable[tuple[str, MatchValue]]) -> str:
    return ",".join(f"{k}={v[0]}/{v[1]}" if isinstance(v, tuple) else f"{k}={v}" for k, v in match)
