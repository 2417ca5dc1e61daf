"""Classifier match: Tacker's 34 ``aclType`` fields, checked and normalised.

The SDN renderer compiles these into OpenFlow matches, so values arrive normalised: port
ranges as ``(min, max)``, prefixes as ``ipaddress`` networks, MACs lower-case, ethertypes as
integers. Unresolved inputs stay ``InputRef`` until the parameters are known.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, fields
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
ETHERTYPES = {"ipv4": 0x0800, "ipv6": 0x86DD, "arp": 0x0806, "mpls": 0x8847, "vlan": 0x8100}
L4_PROTOCOLS = (6, 17, 132)  # TCP, UDP, SCTP: the only ones with ports

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


ACL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AclMatch))
assert len(ACL_FIELDS) == 34


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
    proto = values.get("ip_proto")
    for port_field in PORT_FIELDS:
        if port_field in values and isinstance(proto, int) and proto not in L4_PROTOCOLS:
            col.add(node, port_field, f"ports need ip_proto TCP, UDP or SCTP, not {proto}", (*path, port_field))
            ok = False
    return AclMatch(**values) if ok else None
