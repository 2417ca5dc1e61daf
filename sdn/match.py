"""Classifier matches: operator spellings → canonical OpenFlow 1.3 match fields (pure).

Accepts OpenFlow/os-ken names, ovs-ofctl spellings and Tacker ACL names for the same field,
adds the prerequisites OpenFlow demands (``tcp_dst`` needs ``ip_proto=6`` needs ``eth_type``),
and compiles L4 port ranges into the fewest value/mask pairs, so one classifier may become
several flow matches.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from typing import Iterable, Mapping

from sdn.openflow import MatchValue


class MatchError(ValueError):
    """A match field or value that cannot be compiled; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


ALIASES: dict[str, str] = {
    "dl_type": "eth_type", "dl_src": "eth_src", "dl_dst": "eth_dst",
    "dl_vlan": "vlan_vid", "vlan_id": "vlan_vid", "vlan_pcp": "vlan_pcp",
    "ip_src": "ip_src", "ip_dst": "ip_dst", "nw_src": "ip_src", "nw_dst": "ip_dst",
    "ip_src_prefix": "ip_src", "ip_dst_prefix": "ip_dst",  # Tacker
    "source_ip_prefix": "ip_src", "destination_ip_prefix": "ip_dst",  # networking-sfc
    "ipv4_src": "ip_src", "ipv4_dst": "ip_dst", "ipv6_src": "ip_src", "ipv6_dst": "ip_dst",
    "nw_proto": "ip_proto", "protocol": "ip_proto",
    "tp_src": "src_port", "tp_dst": "dst_port", "tcp_src": "src_port", "tcp_dst": "dst_port",
    "tcp_dest": "dst_port", "udp_src": "src_port", "udp_dst": "dst_port", "udp_dest": "dst_port",
    "source_port_range": "src_port", "destination_port_range": "dst_port",
    "sctp_src": "src_port", "sctp_dst": "dst_port",
    "nw_tos": "ip_dscp_tos", "dscp": "ip_dscp", "ip_dscp": "ip_dscp", "ip_ecn": "ip_ecn",
    "eth_type": "eth_type", "eth_src": "eth_src", "eth_dst": "eth_dst", "ip_proto": "ip_proto",
    "icmpv4_type": "icmpv4_type", "icmpv4_code": "icmpv4_code",
    "icmpv6_type": "icmpv6_type", "icmpv6_code": "icmpv6_code",
    "ipv6_flabel": "ipv6_flabel", "vlan_vid": "vlan_vid",
}
PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17, "sctp": 132, "icmpv6": 58}
L4_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


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


def parse_port_range(field: str, value: object) -> tuple[int, int]:
    if isinstance(value, bool):
        raise MatchError(field, f"expected a port or range, got {value!r}")
    if isinstance(value, int):
        low = high = value
    else:
        text = str(value).strip()
        parts = text.split("-") if "-" in text else text.split(":") if ":" in text else [text, text]
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise MatchError(field, f"malformed port range {value!r} (want N or N-M)")
        low, high = int(parts[0]), int(parts[1])
    if not (0 <= low <= 65535 and 0 <= high <= 65535):
        raise MatchError(field, f"port out of range 0-65535 in {value!r}")
    if low > high:
        raise MatchError(field, f"port range {value!r} runs backwards")
    return low, high


def _int(field: str, value: object, bits: int) -> int:
    if isinstance(value, bool):
        raise MatchError(field, f"expected an integer, got {value!r}")
    try:
        number = int(value, 0) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise MatchError(field, f"expected an integer, got {value!r}") from None
    if not 0 <= number < (1 << bits):
        raise MatchError(field, f"{number} does not fit in {bits} bits")
    return number


def _network(field: str, value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise MatchError(field, f"invalid IP address or CIDR {value!r}") from None


def _mac(field: str, value: object) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise MatchError(field, f"invalid MAC address {value!r}")
    return value.lower()


def compile_match(raw: Mapping[str, object]) -> list[tuple[tuple[str, MatchValue], ...]]:
    """Compile one classifier's match into one or more canonical os-ken match tuples.

    Errors name the field as the operator spelled it.
    """
    try:
        return _compile(raw)
    except MatchError as exc:
        spelled = {ALIASES.get(str(n), str(n)): str(n) for n in raw}
        if exc.field in spelled and exc.field not in raw:
            raise MatchError(spelled[exc.field], str(exc).split(": ", 1)[1]) from None
        raise


def _compile(raw: Mapping[str, object]) -> list[tuple[tuple[str, MatchValue], ...]]:
    fields: dict[str, object] = {}
    for name, value in raw.items():
        canonical = ALIASES.get(str(name))
        if canonical is None:
            raise MatchError(str(name), "unknown match field")
        if canonical in fields:
            raise MatchError(str(name), f"given twice (also as another spelling of {canonical})")
        fields[canonical] = value

    base: dict[str, MatchValue] = {}
    family: int | None = None
    for key in ("ip_src", "ip_dst"):
        if key in fields:
            net = _network(key, fields[key])
            version = net.version
            if family is not None and family != version:
                raise MatchError(key, "mixes IPv4 and IPv6 addresses")
            family = version
            prefix = "ipv4" if version == 4 else "ipv6"
            name = f"{prefix}_{key[3:]}"
            if net.prefixlen == net.max_prefixlen:
                base[name] = str(net.network_address)
            else:
                base[name] = (str(net.network_address), str(net.netmask))
    if "eth_type" in fields:
        eth_type = _int("eth_type", fields["eth_type"], 16)
        if family is not None and eth_type != (ETH_IPV4 if family == 4 else ETH_IPV6):
            raise MatchError("eth_type", f"0x{eth_type:04x} contradicts the IPv{family} addresses")
        base["eth_type"] = eth_type
    for key in ("eth_src", "eth_dst"):
        if key in fields:
            base[key] = _mac(key, fields[key])
    if "vlan_vid" in fields:
        base["vlan_vid"] = 0x1000 | _int("vlan_vid", fields["vlan_vid"], 12)
    if "vlan_pcp" in fields:
        base["vlan_pcp"] = _int("vlan_pcp", fields["vlan_pcp"], 3)

    proto: int | None = None
    if "ip_proto" in fields:
        value = fields["ip_proto"]
        proto = PROTO_NAMES.get(value.lower()) if isinstance(value, str) and not value.isdigit() else None
        if proto is None:
            if isinstance(value, str) and not value.strip().isdigit():
                raise MatchError("ip_proto", f"unknown protocol {value!r}")
            proto = _int("ip_proto", value, 8)
        base["ip_proto"] = proto
    if "ip_dscp" in fields:
        base["ip_dscp"] = _int("ip_dscp", fields["ip_dscp"], 6)
    if "ip_dscp_tos" in fields:
        base["ip_dscp"] = _int("nw_tos", fields["ip_dscp_tos"], 8) >> 2
    if "ip_ecn" in fields:
        base["ip_ecn"] = _int("ip_ecn", fields["ip_ecn"], 2)
    if "ipv6_flabel" in fields:
        family = family or 6
        base["ipv6_flabel"] = _int("ipv6_flabel", fields["ipv6_flabel"], 20)
    for key in ("icmpv4_type", "icmpv4_code"):
        if key in fields:
            base[key] = _int(key, fields[key], 8)
            proto = proto or 1
            base.setdefault("ip_proto", 1)
    for key in ("icmpv6_type", "icmpv6_code"):
        if key in fields:
            base[key] = _int(key, fields[key], 8)
            family = 6
            base.setdefault("ip_proto", 58)

    needs_ip = any(k in base for k in ("ip_proto", "ip_dscp", "ip_ecn")) or family is not None
    needs_l4 = "src_port" in fields or "dst_port" in fields
    # a port spelled tcp_/udp_/sctp_ names its protocol: never compile udp_dst into a TCP match
    implied = {str(n): PROTO_NAMES[str(n).split("_", 1)[0]] for n in raw
               if ALIASES.get(str(n)) in ("src_port", "dst_port") and str(n).split("_", 1)[0] in L4_NAMES.values()}
    if len(set(implied.values())) > 1:
        raise MatchError(sorted(implied)[0], f"mixes {' and '.join(sorted(implied))} ports")
    for spelled, wanted in implied.items():
        if proto is not None and proto != wanted:
            raise MatchError(spelled, f"is a {L4_NAMES[wanted]} port but ip_proto is {proto}")
    if needs_l4 and proto is None:
        proto = next(iter(implied.values()), 6)
        base["ip_proto"] = proto
        needs_ip = True
    if needs_ip and "eth_type" not in base:
        base["eth_type"] = ETH_IPV6 if family == 6 else ETH_IPV4
    if needs_l4 and proto not in L4_NAMES:
        raise MatchError("ip_proto", f"L4 ports need tcp, udp or sctp, not protocol {proto}")

    port_options: list[list[tuple[str, MatchValue]]] = []
    for key in ("src_port", "dst_port"):
        if key in fields:
            low, high = parse_port_range(_spelling(raw, key), fields[key])
            name = f"{L4_NAMES[proto]}_{key[:3]}"  # type: ignore[index]
            if (low, high) == (0, 65535):
                continue  # the whole range: no constraint beyond the protocol
            port_options.append([(name, v if m == 0xFFFF else (v, m)) for v, m in port_range_masks(low, high)])
    matches = []
    for combo in itertools.product(*port_options) if port_options else [()]:
        merged = dict(base)
        merged.update(combo)
        matches.append(tuple(sorted(merged.items())))
    return matches


def _spelling(raw: Mapping[str, object], canonical: str) -> str:
    for name in raw:
        if ALIASES.get(str(name)) == canonical:
            return str(name)
    return canonical


def describe(match: Iterable[tuple[str, MatchValue]]) -> str:
    return ",".join(f"{k}={v[0]}/{v[1]}" if isinstance(v, tuple) else f"{k}={v}" for k, v in match)
