"""Pure inner-packet parsing for service functions: the 5-tuple under an Ethernet+NSH frame.

Two speeds: :func:`flow_key` slices the bytes that identify a flow (cheap, used as a cache key
per packet), :func:`five_tuple` decodes them into a value (on a cache miss only).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from dataplane.nsh import ETH_HLEN, ETH_P_NSH, NP_ETHERNET, NP_IPV4, NP_IPV6

ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q = 0x0800, 0x86DD, 0x8100
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}
PROTO_NUMBERS = {v: k for k, v in PROTO_NAMES.items()}
_PORTS = (6, 17, 132)


@dataclass(frozen=True)
class FiveTuple:
    proto: int
    src: str
    dst: str
    src_port: int = 0
    dst_port: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"proto": PROTO_NAMES.get(self.proto, self.proto), "src": self.src,
                "dst": self.dst, "src_port": self.src_port, "dst_port": self.dst_port}


def nsh_payload(frame: bytes | memoryview | bytearray, n: int | None = None) -> tuple[int, int]:
    """(offset of the NSH payload, next protocol) for an Ethernet+NSH frame, or (-1, 0)."""
    n = len(frame) if n is None else n
    if n < ETH_HLEN + 8 or (frame[12] << 8 | frame[13]) != ETH_P_NSH:
        return -1, 0
    off = ETH_HLEN + (frame[ETH_HLEN + 1] & 0x3F) * 4
    return (off, frame[ETH_HLEN + 3]) if off <= n else (-1, 0)


def _l3(frame: bytes | memoryview | bytearray, off: int, np: int, n: int) -> tuple[int, int]:
    """(offset of the IP header, 4 or 6) under the NSH payload, or (-1, 0)."""
    if np == NP_ETHERNET:
        if off + ETH_HLEN > n:
            return -1, 0
        etype = frame[off + 12] << 8 | frame[off + 13]
        off += ETH_HLEN
        if etype == ETH_P_8021Q and off + 4 <= n:
            etype = frame[off + 2] << 8 | frame[off + 3]
            off += 4
        np = NP_IPV4 if etype == ETH_P_IP else NP_IPV6 if etype == ETH_P_IPV6 else 0
    if np == NP_IPV4 and off + 20 <= n:
        return off, 4
    if np == NP_IPV6 and off + 40 <= n:
        return off, 6
    return -1, 0


def flow_key(frame: bytes | memoryview | bytearray, n: int | None = None) -> bytes | None:
    """Bytes identifying the inner flow (version, proto, addresses, L4 ports), or None."""
    n = len(frame) if n is None else n
    off, np = nsh_payload(frame, n)
    if off < 0:
        return None
    ip, ver = _l3(frame, off, np, n)
    if ver == 4:
        l4 = ip + (frame[ip] & 0x0F) * 4
        proto = frame[ip + 9]
        frag = (frame[ip + 6] & 0x1F) | frame[ip + 7]
        ports = bytes(frame[l4:l4 + 4]) if proto in _PORTS and not frag and l4 + 4 <= n else b""
        return b"\x04" + bytes(frame[ip + 9:ip + 10]) + bytes(frame[ip + 12:ip + 20]) + ports
    if ver == 6:
        proto, l4 = frame[ip + 6], ip + 40
        ports = bytes(frame[l4:l4 + 4]) if proto in _PORTS and l4 + 4 <= n else b""
        return b"\x06" + bytes([proto]) + bytes(frame[ip + 8:ip + 40]) + ports
    return None


def decode_key(key: bytes) -> FiveTuple:
    """The 5-tuple a :func:`flow_key` stands for."""
    if key[0] == 4:
        src, dst, rest = key[2:6], key[6:10], key[10:]
    else:
        src, dst, rest = key[2:18], key[18:34], key[34:]
    sport, dport = struct.unpack("!HH", rest) if len(rest) == 4 else (0, 0)
    return FiveTuple(key[1], str(ipaddress.ip_address(src)), str(ipaddress.ip_address(dst)),
                     sport, dport)


def five_tuple(frame: bytes | memoryview | bytearray, n: int | None = None) -> FiveTuple | None:
    key = flow_key(frame, n)
    return None if key is None else decode_key(key)
