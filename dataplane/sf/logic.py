"""Pure per-packet logic of the reference service functions (no sockets, no clock).

Every handler edits a received Ethernet+NSH frame in place inside a preallocated buffer and
answers "send it back" (True) or "drop" (False). The forwarder touches three bytes and swaps
MACs; firewall and counter additionally slice a flow key and cache per-flow work.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dataplane.nsh import SI_OFFSET, SPI_OFFSET
from dataplane.packet import PROTO_NUMBERS, FiveTuple, decode_key, flow_key

Handler = Callable[[bytearray, int], bool]
IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def forward_in_place(buf: bytearray, n: int, own_mac: bytes | None = None) -> bool:
    """Decrement SI and turn the frame around. Drops non-NSH frames (OVS floods broadcasts to
    SF ports) and frames whose SI would underflow."""
    if n < SI_OFFSET + 1 or buf[12] != 0x89 or buf[13] != 0x4F:
        return False
    si = buf[SI_OFFSET]
    if si == 0:
        return False
    buf[SI_OFFSET] = si - 1
    if own_mac is None:
        buf[0:12] = buf[6:12] + buf[0:6]
    else:
        buf[0:6] = buf[6:12]
        buf[6:12] = own_mac
    return True


def make_forwarder(own_mac: bytes | None = None) -> Handler:
    if own_mac is None:
        return forward_in_place
    return lambda buf, n: forward_in_place(buf, n, own_mac)


# -- firewall --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A drop rule; unset fields match anything. Ports are inclusive ranges."""

    proto: int | None = None
    src: IpNet | None = None
    dst: IpNet | None = None
    src_port: tuple[int, int] | None = None
    dst_port: tuple[int, int] | None = None

    def matches(self, ft: FiveTuple) -> bool:
        return ((self.proto is None or ft.proto == self.proto)
                and (self.src is None or _in(ft.src, self.src))
                and (self.dst is None or _in(ft.dst, self.dst))
                and (self.src_port is None
                     or self.src_port[0] <= ft.src_port <= self.src_port[1])
                and (self.dst_port is None
                     or self.dst_port[0] <= ft.dst_port <= self.dst_port[1]))


def _in(addr: str, net: IpNet) -> bool:
    ip = ipaddress.ip_address(addr)
    return ip.version == net.version and ip in net


def _port_range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    rng = (int(lo), int(hi or lo))
    if not 0 <= rng[0] <= rng[1] <= 65535:
        raise ValueError(f"bad port range {text!r}")
    return rng


def parse_rule(text: str) -> Rule:
    """``'proto=tcp,dst_port=23'``, ``'src=10.0.0.0/24'``, ``'dst_port=1000-2000'``..."""
    fields: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ValueError(f"rule item {item!r} is not key=value")
        if key in fields:
            raise ValueError(f"rule {text!r} repeats {key!r}")
        if key == "proto":
            fields[key] = PROTO_NUMBERS[value] if value in PROTO_NUMBERS else int(value)
        elif key in ("src", "dst"):
            fields[key] = ipaddress.ip_network(value, strict=False)
        elif key in ("src_port", "dst_port"):
            fields[key] = _port_range(value)
        else:
            raise ValueError(f"unknown rule field {key!r} (proto, src, dst, src_port, dst_port)")
    if not fields:
        raise ValueError("empty rule")
    return Rule(**fields)


@dataclass
class Firewall:
    """Drops inner flows matching any rule; the verdict is cached per flow key."""

    rules: tuple[Rule, ...]
    own_mac: bytes | None = None
    dropped: int = 0
    _verdicts: dict[bytes | None, bool] = field(default_factory=dict)

    def allow(self, key: bytes | None) -> bool:
        verdict = self._verdicts.get(key)
        if verdict is None:
            ft = None if key is None else decode_key(key)
            verdict = ft is None or not any(r.matches(ft) for r in self.rules)
            if len(self._verdicts) > 65536:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def __call__(self, buf: bytearray, n: int) -> bool:
        if n < SI_OFFSET + 1 or buf[12] != 0x89 or buf[13] != 0x4F:
            return False
        if not self.allow(flow_key(buf, n)):
            self.dropped += 1
            return False
        return forward_in_place(buf, n, self.own_mac)


# -- counter ---------------------------------------------------------------------------------
@dataclass
class Counter:
    """Packets/bytes per (SPI, SI as received, inner flow); forwards everything it counts."""

    own_mac: bytes | None = None
    counts: dict[bytes, list[int]] = field(default_factory=dict)

    def __call__(self, buf: bytearray, n: int) -> bool:
        if n < SI_OFFSET + 1 or buf[12] != 0x89 or buf[13] != 0x4F:
            return False
        key = bytes(buf[SPI_OFFSET:SI_OFFSET + 1]) + (flow_key(buf, n) or b"")
        entry = self.counts.get(key)
        if entry is None:
            self.counts[key] = [1, n]
        else:
            entry[0] += 1
            entry[1] += n
        return forward_in_place(buf, n, self.own_mac)

    def report(self) -> dict[str, Any]:
        return compute_report(self.counts.items())


def compute_report(items: Iterable[tuple[bytes, list[int]]]) -> dict[str, Any]:
    """JSON-ready summary: one row per (spi, si, flow) plus totals."""
    flows: list[dict[str, Any]] = []
    for key, (pkts, nbytes) in items:
        spi, si = int.from_bytes(key[:3], "big"), key[3]
        inner = decode_key(key[4:]).as_dict() if len(key) > 4 else {}
        flows.append({"spi": spi, "si": si, **inner, "packets": pkts, "bytes": nbytes})
    flows.sort(key=lambda f: (f["spi"], -f["si"], str(f.get("src")), str(f.get("dst")),
                              f.get("src_port", 0), f.get("dst_port", 0)))
    return {"flows": flows, "packets": sum(f["packets"] for f in flows),
            "bytes": sum(f["bytes"] for f in flows)}
