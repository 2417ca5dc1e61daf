"""The sampled frame an sFlow raw-header record carries, parsed into what chains need.

Ethernet, any 802.1Q/802.1ad tags, an NSH header (RFC 8300: SPI, SI, MD type, MD1 context
C1..C4) and the inner IPv4/IPv6 5-tuple, under NSH (next protocol IPv4, IPv6 or Ethernet) or in
a plain frame. Headers are cut at the agent's header size, so a parse that runs out of bytes
keeps what it got and says ``truncated``; it never raises.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from dataplane.nsh import ETH_HLEN, ETH_P_NSH, MD_TYPE_1, NP_ETHERNET, NP_IPV4, NP_IPV6
from dataplane.packet import ETH_P_IP, ETH_P_IPV6, FiveTuple

VLAN_TPIDS = frozenset((0x8100, 0x88A8, 0x9100))
_PORTS = frozenset((6, 17, 132))           # TCP, UDP, SCTP: ports at the start of the L4 header
_IPV6_EXT = frozenset((0, 43, 60))         # hop-by-hop, routing, destination options
_IPV6_FRAG = 44
_MAX_TAGS = 4
_CONTEXT = struct.Struct("!4I").unpack_from          # NSH MD type 1 context headers C1..C4
_OCTET = tuple(str(i) for i in range(256))           # an IPv4 address by table look-ups: a third of "%d" formatting
_DOT = tuple(f"{i}." for i in range(256))


class Nsh(NamedTuple):
    """The NSH base and service path headers; ``context`` is C1..C4 for MD type 1, else ()."""

    spi: int
    si: int
    md_type: int
    next_protocol: int
    ttl: int
    length: int                    # 4-byte words of the whole NSH header
    context: tuple[int, ...] = ()
    metadata: bytes = b""          # MD type 2 TLVs, raw


class Frame(NamedTuple):
    dst_mac: str = ""
    src_mac: str = ""
    vlans: tuple[int, ...] = ()    # VLAN ids, outermost first
    ethertype: int = 0             # after the tags
    nsh: Nsh | None = None
    flow: FiveTuple | None = None  # innermost IP flow (under NSH if there is one)
    truncated: bool = False


# NamedTuple's __new__ is a Python function; tuple's own, where every field is given (per sample)
_frame: Callable[[tuple[object, ...]], Frame] = partial(tuple.__new__, Frame)
_nsh: Callable[[tuple[object, ...]], Nsh] = partial(tuple.__new__, Nsh)


def _mac(b: bytes) -> str:
    return b.hex(":")


def parse_frame(data: bytes) -> Frame:
    """Parse an Ethernet frame (possibly cut short); never raises."""
    n = len(data)
    if n < ETH_HLEN:
        return Frame(truncated=True)
    dst, src = _mac(data[0:6]), _mac(data[6:12])
    etype, off, vlans = _ethertype(data, 12, n)
    if etype < 0:
        return Frame(dst, src, vlans, 0, truncated=True)
    if etype != ETH_P_NSH:
        flow, cut = _ip(data, off, n, etype)
        return _frame((dst, src, vlans, etype, None, flow, cut))
    if off + 8 > n:
        return Frame(dst, src, vlans, etype, truncated=True)
    b0, b1, b2, np = data[off], data[off + 1], data[off + 2], data[off + 3]
    ttl, length, md_type = (b0 & 0x0F) << 2 | b1 >> 6, b1 & 0x3F, b2 & 0x0F
    spi, si = data[off + 4] << 16 | data[off + 5] << 8 | data[off + 6], data[off + 7]
    end = off + length * 4
    context: tuple[int, ...] = ()
    metadata = b""
    if md_type == MD_TYPE_1 and length >= 6 and off + 24 <= n:
        context = _CONTEXT(data, off + 8)
    elif md_type != MD_TYPE_1 and length > 2:
        metadata = bytes(data[off + 8:min(end, n)])
    nsh = _nsh((spi, si, md_type, np, ttl, length, context, metadata))
    if length < 2 or end > n:
        return Frame(dst, src, vlans, etype, nsh, truncated=True)
    if np == NP_ETHERNET:
        if end + ETH_HLEN > n:
            return Frame(dst, src, vlans, etype, nsh, truncated=True)
        inner, end, _ = _ethertype(data, end + 12, n)
    else:
        inner = ETH_P_IP if np == NP_IPV4 else ETH_P_IPV6 if np == NP_IPV6 else 0
    flow, cut = _ip(data, end, n, inner)
    return _frame((dst, src, vlans, etype, nsh, flow, cut or inner < 0))


def _ethertype(data: bytes, off: int, n: int) -> tuple[int, int, tuple[int, ...]]:
    """(ethertype after any VLAN tags, offset past it, VLAN ids); ethertype -1 if cut short."""
    vlans: list[int] = []
    while off + 2 <= n:
        etype = data[off] << 8 | data[off + 1]
        if etype not in VLAN_TPIDS or len(vlans) == _MAX_TAGS:
            return etype, off + 2, tuple(vlans)
        if off + 4 > n:
            break
        vlans.append((data[off + 2] << 8 | data[off + 3]) & 0x0FFF)
        off += 4
    return -1, off, tuple(vlans)


def _ip(data: bytes, off: int, n: int, etype: int) -> tuple[FiveTuple | None, bool]:
    """(the 5-tuple at ``off``, cut short?); (None, False) when it is not IP at all."""
    if etype == ETH_P_IP:
        if off + 20 > n:
            return None, True
        ihl = (data[off] & 0x0F) * 4
        proto = data[off + 9]
        src = _DOT[data[off + 12]] + _DOT[data[off + 13]] + _DOT[data[off + 14]] + _OCTET[data[off + 15]]
        dst = _DOT[data[off + 16]] + _DOT[data[off + 17]] + _DOT[data[off + 18]] + _OCTET[data[off + 19]]
        first_fragment = (data[off + 6] & 0x1F) | data[off + 7] == 0
        l4 = off + max(ihl, 20)
        if proto in _PORTS and first_fragment:
            if l4 + 4 > n:
                return FiveTuple(proto, src, dst), True
            return FiveTuple(proto, src, dst, data[l4] << 8 | data[l4 + 1], data[l4 + 2] << 8 | data[l4 + 3]), False
        return FiveTuple(proto, src, dst), False
    if etype == ETH_P_IPV6:
        if off + 40 > n:
            return None, True
        src = str(ipaddress.IPv6Address(data[off + 8:off + 24]))
        dst = str(ipaddress.IPv6Address(data[off + 24:off + 40]))
        proto, l4 = data[off + 6], off + 40
        for _ in range(8):                      # bounded walk over extension headers
            if proto in _IPV6_EXT and l4 + 2 <= n:
                proto, l4 = data[l4], l4 + (data[l4 + 1] + 1) * 8
            elif proto == _IPV6_FRAG and l4 + 8 <= n:
                later = (data[l4 + 2] << 8 | data[l4 + 3]) & 0xFFF8
                proto, l4 = data[l4], l4 + 8
                if later:
                    return FiveTuple(proto, src, dst), False
            else:
                break
        if proto in _IPV6_EXT or proto == _IPV6_FRAG:
            return FiveTuple(proto, src, dst), True
        if proto in _PORTS:
            if l4 + 4 > n:
                return FiveTuple(proto, src, dst), True
            return FiveTuple(proto, src, dst, data[l4] << 8 | data[l4 + 1], data[l4 + 2] << 8 | data[l4 + 3]), False
        return FiveTuple(proto, src, dst), False
    return None, False
