"""Classifier match: Tacker's 34 ``aclType`` fields, checked and normalised.

The SDN renderer compiles these into OpenFlow matches, so values arrive normalised: port
ranges as ``(min, max)``, prefixes as ``ipaddress`` networks, MACs lower-case, ethertypes as
integers. Unresolved inputs stay ``InputRef`` until the parameters are known.

Every field either means what it says on the data plane or is refused here, at onboarding:
``match_conflict`` holds the cross-field rules (ICMPv4 with IPv6 prefixes, vlan_pcp without
vlan_id, L4 ports without TCP/UDP/SCTP...). It speaks the controller's canonical field names
(``ACL_TO_MATCH``) because the controller (``sdn.match.compile_match``) applies the very same
rules to documents that never were a VNFFGD; this package sits below sdn, so the rules live here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping, Union

from descriptors.errors import Collector, Path
from descriptors.inputs import InputRef

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
PortRange = tuple[int, int]

# Integer fields and their inclusive range, exactly as tacker_nfv_defs.yaml constrains them.
INT_RANGES: dict[str, tuple[int, int]] = {
    "vlan_id": (1, 4094), "vlan_pcp": (0, 7), "mpls_label": (16, 1048575), "mpls_tc": (0, 7),
    "ip_dscp": (0, 63), "ip_ecn": (0, 3), "ip_proto": (1, 254), "icmpv4_type": (0, 254),
    "icmpv4_code": (0, 15), "arp_op": (1, 25), "ipv6_flabel": (0, 1048575),
    "icmpv6_type": (0, 255), "icmpv6_code": (0, 7),
}
MAC_FIELDS = ("eth_src", "eth_dst", "arp_sha", "arp_tha", "ipv6_nd_sll", "ipv6_nd_tll")
PREFIX_FIELDS = ("ip_src_prefix", "ip_dst_prefix", "ipv6_src", "ipv6_dst", "arp_spa", "arp_tpa")
ADDRESS_FIELDS = ("ipv6_nd_target",)
PORT_FIELDS = ("destination_port_range", "source_port_range")
ID_FIELDS = ("network_src_port_id", "network_dst_port_id", "network_id", "network_name", "tenant_id")
# Fields that say where traffic enters (or whose it is), not what it looks like: the NFVO turns
# them into in_ports / eth_dst; tenancy does not exist yet, so tenant_id is refused.
LOCATION_FIELDS = ID_FIELDS
UNSUPPORTED = {"tenant_id": "not supported: nfvchain has no tenants yet, so it could not narrow anything"}
ETHERTYPES = {"ipv4": 0x0800, "ipv6": 0x86DD, "arp": 0x0806, "mpls": 0x8847, "vlan": 0x8100}
L4_PROTOCOLS = (6, 17, 132)  # TCP, UDP, SCTP: the only ones with ports

# aclType name -> the canonical match field it fills (sdn.match.ClassifierMatch); every field
# that is not a location field reaches the data plane
ACL_TO_MATCH = {"eth_type": "eth_type", "eth_src": "eth_src", "eth_dst": "eth_dst", "vlan_id": "vlan_vid",
                "vlan_pcp": "vlan_pcp", "mpls_label": "mpls_label", "mpls_tc": "mpls_tc", "ip_dscp": "ip_dscp",
                "ip_ecn": "ip_ecn", "ip_src_prefix": "ip_src", "ip_dst_prefix": "ip_dst", "ipv6_src": "ip_src",
                "ipv6_dst": "ip_dst", "ip_proto": "ip_proto", "source_port_range": "src_port",
                "destination_port_range": "dst_port", "icmpv4_type": "icmpv4_type", "icmpv4_code": "icmpv4_code",
                "arp_op": "arp_op", "arp_spa": "arp_spa", "arp_tpa": "arp_tpa", "arp_sha": "arp_sha",
                "arp_tha": "arp_tha", "ipv6_flabel": "ipv6_flabel", "icmpv6_type": "icmpv6_type",
                "icmpv6_code": "icmpv6_code", "ipv6_nd_target": "ipv6_nd_target", "ipv6_nd_sll": "ipv6_nd_sll",
                "ipv6_nd_tll": "ipv6_nd_tll"}

_MAC = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")


@dataclass(frozen=True)
class AclMatch:
    """One classifier's match; ``None`` means "any". Field names are Tacker's aclType."""

    eth_type: int | InputRef | None = None
    eth_src: str | InputRef | None = None
    eth_dst: str | InputRef | None = None
    vlan_id: int | InputRef | None = None
    vlan_pcp: int | InputRef | None = None
    mpls_label: int | InputRef | None = None
    mpls_tc: int | InputRef | None = None
    ip_dscp: int | InputRef | None = None
    ip_ecn: int | InputRef | None = None
    ip_src_prefix: Network | InputRef | None = None
    ip_dst_prefix: Network | InputRef | None = None
    ip_proto: int | InputRef | None = None
    destination_port_range: PortRange | InputRef | None = None
    source_port_range: PortRange | InputRef | None = None
    network_src_port_id: str | InputRef | None = None
    network_dst_port_id: str | InputRef | None = None
    network_id: str | InputRef | None = None
    network_name: str | InputRef | None = None
    tenant_id: str | InputRef | None = None
    icmpv4_type: int | InputRef | None = None
    icmpv4_code: int | InputRef | None = None
    arp_op: int | InputRef | None = None
    arp_spa: Network | InputRef | None = None
    arp_tpa: Network | InputRef | None = None
    arp_sha: str | InputRef | None = None
    arp_tha: str | InputRef | None = None
    ipv6_src: Network | InputRef | None = None
    ipv6_dst: Network | InputRef | None = None
    ipv6_flabel: int | InputRef | None = None
    icmpv6_type: int | InputRef | None = None
    icmpv6_code: int | InputRef | None = None
    ipv6_nd_target: ipaddress.IPv6Address | InputRef | None = None
    ipv6_nd_sll: str | InputRef | None = None
    ipv6_nd_tll: str | InputRef | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields that are set (not "any")."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def reversed(self) -> AclMatch:
        """The other direction of the same traffic (what a symmetrical path's reverse admits)."""
        return replace(self, **{a: getattr(self, b) for pair in REVERSED_PAIRS for a, b in (pair, pair[::-1])})


REVERSED_PAIRS = (("eth_src", "eth_dst"), ("ip_src_prefix", "ip_dst_prefix"), ("ipv6_src", "ipv6_dst"),
                  ("source_port_range", "destination_port_range"), ("network_src_port_id", "network_dst_port_id"),
                  ("arp_spa", "arp_tpa"), ("arp_sha", "arp_tha"))
ACL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AclMatch))
assert len(ACL_FIELDS) == 34
assert set(ACL_FIELDS) == set(ACL_TO_MATCH) | set(LOCATION_FIELDS)


def parse_port_range(value: Any) -> PortRange:
    """``80``, ``"80"``, ``"80-1024"`` or ``"80:1024"`` → ``(min, max)``; raises ``ValueError``
    otherwise. The one port-range parser: descriptors, the CLI and controller documents use it."""
    if isinstance(value, bool):
        raise ValueError(f"port range must be 'N' or 'MIN-MAX', got {value!r}")
    if isinstance(value, int):
        low = high = value
    elif isinstance(value, str):
        text = value.strip()
        parts = text.split(":") if ":" in text and "-" not in text else text.split("-")
        if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"port range must be 'N' or 'MIN-MAX', got {value!r}")
        low, high = int(parts[0]), int(parts[-1])
    else:
        raise ValueError(f"port range must be 'N' or 'MIN-MAX', got {value!r}")
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise ValueError(f"ports must be within 0-65535, got {value!r}")
    if low > high:
        raise ValueError(f"port range {value!r} has min above max")
    return (low, high)


def parse_prefix(value: Any) -> Network:
    if not isinstance(value, str):
        raise ValueError(f"expected an address or CIDR prefix, got {value!r}")
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"invalid CIDR {value!r}") from None


def parse_mac(value: Any) -> str:
    """``AA:BB:..`` or ``aa-bb-..`` → lower-case, colon-separated; raises ``ValueError``."""
    if not isinstance(value, str) or not _MAC.match(value.strip()):
        raise ValueError(f"expected a MAC address, got {value!r}")
    return value.strip().lower().replace("-", ":")


def parse_ethertype(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lower() in ETHERTYPES:
        return ETHERTYPES[value.strip().lower()]
    elif isinstance(value, str):
        try:
            number = int(value.strip(), 0)
        except ValueError:
            raise ValueError(f"eth_type must be a number or IPv4/IPv6/ARP, got {value!r}") from None
    else:
        raise ValueError(f"eth_type must be a number or IPv4/IPv6/ARP, got {value!r}")
    if not 0x0600 <= number <= 0xFFFF:
        raise ValueError(f"eth_type {value!r} is not an ethertype (0x0600-0xffff)")
    return number


def _parse_field(name: str, value: Any) -> Any:
    if name in INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"expected an integer, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"expected an integer, got {value!r}") from None
        low, high = INT_RANGES[name]
        if not low <= number <= high:
            raise ValueError(f"{number} is out of range {low}-{high}")
        return number
    if name in PORT_FIELDS:
        return parse_port_range(value)
    if name in PREFIX_FIELDS:
        net = parse_prefix(value)
        if name.startswith("ipv6_") and net.version != 6:
            raise ValueError(f"expected an IPv6 prefix, got {value!r}")
        if name.startswith("arp_") and net.version != 4:
            raise ValueError(f"expected an IPv4 address, got {value!r}")
        return net
    if name in ADDRESS_FIELDS:
        try:
            return ipaddress.IPv6Address(str(value))
        except ValueError:
            raise ValueError(f"expected an IPv6 address, got {value!r}") from None
    if name in MAC_FIELDS:
        return parse_mac(value)
    if name == "eth_type":
        return parse_ethertype(value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


def build_acl(raw: Any, col: Collector, node: str, path: Path) -> AclMatch | None:
    """Check one aclType mapping; report each bad field, return the match if all were good."""
    if not isinstance(raw, Mapping):
        col.add(node, "classifier", f"classifier must be a mapping of ACL fields, got {raw!r}", path)
        return None
    values: dict[str, Any] = {}
    ok = True
    for key, value in raw.items():
        where = (*path, key)
        if key not in ACL_FIELDS:
            col.add(node, str(key), f"unknown ACL field {key!r} (Tacker's aclType has "
                    f"{len(ACL_FIELDS)} fields)", where)
            ok = False
            continue
        if value is None:
            continue
        if isinstance(value, InputRef):
            values[key] = value
            continue
        try:
            values[key] = _parse_field(key, value)
        except ValueError as exc:
            col.add(node, str(key), str(exc), where)
            ok = False
    if not ok:
        return None
    canonical: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in values.items():
        if key in UNSUPPORTED:
            col.add(node, key, UNSUPPORTED[key], (*path, key))
            ok = False
            continue
        target = ACL_TO_MATCH.get(key)
        if target is None or isinstance(value, InputRef):
            continue
        if target in canonical:
            col.add(node, key, f"given twice (also as {spelled[target]})", (*path, key))
            ok = False
            continue
        canonical[target], spelled[target] = value, key
    conflict = match_conflict(canonical) if ok else None
    if conflict is not None:
        name = spelled.get(conflict[0], conflict[0])
        message = conflict[1]
        words = {**_ACL_WORDS, **spelled}
        message = re.sub(r"\b(" + "|".join(words) + r")\b", lambda m: words[m.group(1)], message)
        col.add(node, name, message, (*path, name))
        ok = False
    return AclMatch(**values) if ok else None


# ----------------------------------------------------------------- cross-field rules (canonical names)

_ACL_WORDS = {"vlan_vid": "vlan_id", "src_port": "source_port_range", "dst_port": "destination_port_range",
              "ip_src": "ip_src_prefix", "ip_dst": "ip_dst_prefix"}  # canonical -> aclType, in messages

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_MPLS, ETH_MPLS_MC = 0x0800, 0x86DD, 0x0806, 0x8847, 0x8848
ND_FIELDS = ("ipv6_nd_target", "ipv6_nd_sll", "ipv6_nd_tll")
ICMPV4_FIELDS = ("icmpv4_type", "icmpv4_code")
ICMPV6_FIELDS = ("icmpv6_type", "icmpv6_code", *ND_FIELDS)
L4_FIELDS = ("src_port", "dst_port")
IP_FIELDS = ("ip_src", "ip_dst", "ip_proto", "ip_dscp", "ip_ecn", "ipv6_flabel", *L4_FIELDS, *ICMPV4_FIELDS,
             *ICMPV6_FIELDS)
ARP_FIELDS = ("arp_op", "arp_spa", "arp_tpa", "arp_sha", "arp_tha")
MPLS_FIELDS = ("mpls_label", "mpls_tc", "mpls_bos")
KIND_ETHERTYPES = {"IP": (ETH_IPV4, ETH_IPV6), "ARP": (ETH_ARP,), "MPLS": (ETH_MPLS, ETH_MPLS_MC)}
ND_SOLICIT, ND_ADVERT = 135, 136


def ip_family(field: str, value: Any) -> int | None:
    """4 or 6 if ``field=value`` exists only in IPv4 or only in IPv6 traffic, else None."""
    if field in ("ip_src", "ip_dst"):
        return value.version
    if field in ICMPV4_FIELDS or (field == "ip_proto" and value == 1) or (field == "eth_type" and value == ETH_IPV4):
        return 4
    if field in ICMPV6_FIELDS or field == "ipv6_flabel" or (field == "ip_proto" and value == 58) \
            or (field == "eth_type" and value == ETH_IPV6):
        return 6
    return None


def match_kind(values: Mapping[str, Any]) -> str | None:
    """"IP", "ARP" or "MPLS": which payload the fields (or eth_type) look into; None for L2 only."""
    for kind, names in (("IP", IP_FIELDS), ("ARP", ARP_FIELDS), ("MPLS", MPLS_FIELDS)):
        if any(values.get(n) is not None for n in names):
            return kind
    eth = values.get("eth_type")
    return next((kind for kind, types in KIND_ETHERTYPES.items() if eth in types), None)


def match_conflict(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, why) for the first field that contradicts another, or None: a match that cannot
    select any packet (or not the packets it says) is refused, never compiled into something else.

    ``values``: canonical field names (``ACL_TO_MATCH``'s values) to checked values.
    """
    present = [k for k, v in values.items() if v is not None]
    if "vlan_pcp" in present and "vlan_vid" not in present:
        return "vlan_pcp", "needs vlan_id: a priority is carried only in a VLAN tag"
    kinds = [(kind, next(k for k in present if k in names)) for kind, names in
             (("IP", IP_FIELDS), ("ARP", ARP_FIELDS), ("MPLS", MPLS_FIELDS)) if any(k in names for k in present)]
    if len(kinds) > 1:
        (kind1, f1), (kind2, f2) = kinds[:2]
        return f2, f"is an {kind2} field, but {f1} is an {kind1} field: no packet has both"
    eth = values.get("eth_type")
    if kinds and eth is not None and eth not in KIND_ETHERTYPES[kinds[0][0]]:
        return kinds[0][1], f"is an {kinds[0][0]} field, but eth_type is 0x{eth:04x}"
    families: dict[int, str] = {}
    for key in present:
        family = ip_family(key, values[key])
        if family is None:
            continue
        other = families.get(10 - family)  # 4 <-> 6
        if other is not None:
            what = f"{values[key]} is" if key in ("ip_proto", "eth_type") else "is"
            return key, f"{what} IPv{family} only, but {other} is IPv{10 - family}"
        families.setdefault(family, f"{key}={values[key]}" if key in ("ip_proto", "eth_type") else key)
    proto = values.get("ip_proto")
    icmp = next((k for k in present if k in ICMPV4_FIELDS + ICMPV6_FIELDS), None)
    if icmp is not None and proto is not None and proto != (1 if icmp in ICMPV4_FIELDS else 58):
        return icmp, f"needs ip_proto {1 if icmp in ICMPV4_FIELDS else 58}, but ip_proto is {proto}"
    l4 = next((k for k in present if k in L4_FIELDS), None)
    if l4 is not None and icmp is not None:
        return l4, f"L4 ports need TCP, UDP or SCTP, but {icmp} is ICMP"
    if l4 is not None and proto is not None and proto not in L4_PROTOCOLS:
        return l4, f"L4 ports need ip_proto TCP, UDP or SCTP (6, 17, 132), not {proto}"
    nd = [k for k in present if k in ND_FIELDS]
    if nd:
        kind = values.get("icmpv6_type")
        if "ipv6_nd_sll" in nd and "ipv6_nd_tll" in nd:
            return "ipv6_nd_tll", "a neighbor solicitation carries ipv6_nd_sll, an advertisement ipv6_nd_tll: not both"
        wanted = {"ipv6_nd_sll": (ND_SOLICIT,), "ipv6_nd_tll": (ND_ADVERT,)}
        for key in nd:
            allowed = wanted.get(key, (ND_SOLICIT, ND_ADVERT))
            if kind is not None and kind not in allowed:
                return key, (f"is a neighbor discovery field: it needs icmpv6_type "
                             f"{' or '.join(map(str, allowed))}, not {kind}")
    return None
