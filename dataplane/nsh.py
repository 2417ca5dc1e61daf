"""Pure NSH (RFC 8300) codec: base header, service path header, MD type 1 and MD type 2.

Wire layout (all big endian)::

    |Ver|O|U|    TTL    |   Length  |U|U|U|U|MD Type| Next Protocol |   base header
    |          Service Path Identifier (24)         | Service Index |   service path header
    |                  context headers (MD1: 16 bytes, MD2: TLVs)   |

Length counts 4-byte words of the whole NSH header (6 for MD type 1). Values are frozen
dataclasses; ``parse_*`` raise :class:`NshError` with the reason on malformed input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ETH_P_NSH = 0x894F
ETH_HLEN = 14
NP_IPV4, NP_IPV6, NP_ETHERNET, NP_NSH, NP_MPLS = 1, 2, 3, 4, 5
MD_TYPE_1, MD_TYPE_2 = 1, 2
MD1_LEN = 24                       # bytes: base 4 + path 4 + 16 context
SI_OFFSET = ETH_HLEN + 7           # SI byte of an untagged Ethernet+NSH frame
SPI_OFFSET = ETH_HLEN + 4
DEFAULT_TTL = 63
MAX_SPI = (1 << 24) - 1


class NshError(ValueError):
    """Malformed NSH bytes or out-of-range field values."""


@dataclass(frozen=True)
class BaseHeader:
    """The first NSH word. ``length`` is in 4-byte words and covers the whole NSH header."""

    ttl: int = DEFAULT_TTL
    length: int = 6
    md_type: int = MD_TYPE_1
    next_proto: int = NP_ETHERNET
    oam: bool = False
    version: int = 0

    def __post_init__(self) -> None:
        _check("version", self.version, 0, 3)
        _check("ttl", self.ttl, 0, 63)
        _check("length", self.length, 0, 63)
        _check("md_type", self.md_type, 0, 15)
        _check("next_proto", self.next_proto, 0, 255)

    def to_bytes(self) -> bytes:
        word = (self.version << 30 | int(self.oam) << 29 | self.ttl << 22 | self.length << 16
                | self.md_type << 8 | self.next_proto)
        return struct.pack("!I", word)

    @classmethod
    def parse(cls, data: bytes | memoryview) -> "BaseHeader":
        if len(data) < 4:
            raise NshError(f"truncated NSH base header: {len(data)} bytes")
        (word,) = struct.unpack_from("!I", data)
        return cls(version=word >> 30, oam=bool(word >> 29 & 1), ttl=word >> 22 & 0x3F,
                   length=word >> 16 & 0x3F, md_type=word >> 8 & 0xF, next_proto=word & 0xFF)


@dataclass(frozen=True)
class ServicePath:
    """SPI (24 bit) and SI (8 bit)."""

    spi: int
    si: int = 255

    def __post_init__(self) -> None:
        _check("spi", self.spi, 0, MAX_SPI)
        _check("si", self.si, 0, 255)

    def to_bytes(self) -> bytes:
        return struct.pack("!I", self.spi << 8 | self.si)

    @classmethod
    def parse(cls, data: bytes | memoryview) -> "ServicePath":
        if len(data) < 4:
            raise NshError(f"truncated service path header: {len(data)} bytes")
        (word,) = struct.unpack_from("!I", data)
        return cls(spi=word >> 8, si=word & 0xFF)


@dataclass(frozen=True)
class Md1:
    """MD type 1: four fixed 32-bit context words (C1..C4)."""

    context: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        if len(self.context) != 4:
            raise NshError(f"MD type 1 needs 4 context words, got {len(self.context)}")
        for i, c in enumerate(self.context, 1):
            _check(f"c{i}", c, 0, 0xFFFFFFFF)

    def to_bytes(self) -> bytes:
        return struct.pack("!4I", *self.context)


@dataclass(frozen=True)
class Tlv:
    """One MD type 2 context header; ``value`` is padded to 4 bytes on the wire."""

    md_class: int
    type: int
    value: bytes = b""

    def __post_init__(self) -> None:
        _check("md_class", self.md_class, 0, 0xFFFF)
        _check("type", self.type, 0, 255)
        _check("tlv length", len(self.value), 0, 127)

    def to_bytes(self) -> bytes:
        pad = -len(self.value) % 4
        return (struct.pack("!HBB", self.md_class, self.type, len(self.value)) + self.value
                + b"\0" * pad)


@dataclass(frozen=True)
class Md2:
    """MD type 2: variable-length TLVs."""

    tlvs: tuple[Tlv, ...] = ()

    def to_bytes(self) -> bytes:
        return b"".join(t.to_bytes() for t in self.tlvs)

    @classmethod
    def parse(cls, data: bytes | memoryview) -> "Md2":
        tlvs, off = [], 0
        while off < len(data):
            if len(data) - off < 4:
                raise NshError(f"truncated MD2 TLV header at context offset {off}")
            md_class, typ, ln = struct.unpack_from("!HBB", data, off)
            ln &= 0x7F
            end = off + 4 + ln
            if end > len(data):
                raise NshError(f"MD2 TLV at offset {off} claims {ln} bytes, "
                               f"{len(data) - off - 4} left")
            tlvs.append(Tlv(md_class, typ, bytes(data[off + 4:end])))
            off = end + (-ln % 4)
        return cls(tuple(tlvs))


@dataclass(frozen=True)
class Nsh:
    """A whole NSH header. ``base.length`` and ``base.md_type`` follow from ``metadata``."""

    path: ServicePath
    metadata: Md1 | Md2 = field(default_factory=Md1)
    ttl: int = DEFAULT_TTL
    next_proto: int = NP_ETHERNET
    oam: bool = False

    @classmethod
    def md1(cls, spi: int, si: int = 255, context: tuple[int, int, int, int] = (0, 0, 0, 0),
            *, next_proto: int = NP_ETHERNET, ttl: int = DEFAULT_TTL) -> "Nsh":
        return cls(ServicePath(spi, si), Md1(tuple(context)),  # type: ignore[arg-type]
                   ttl=ttl, next_proto=next_proto)

    @classmethod
    def md2(cls, spi: int, si: int = 255, tlvs: tuple[Tlv, ...] = (), *,
            next_proto: int = NP_ETHERNET, ttl: int = DEFAULT_TTL) -> "Nsh":
        return cls(ServicePath(spi, si), Md2(tuple(tlvs)), ttl=ttl, next_proto=next_proto)

    @property
    def spi(self) -> int:
        return self.path.spi

    @property
    def si(self) -> int:
        return self.path.si

    @property
    def base(self) -> BaseHeader:
        md = self.metadata.to_bytes()
        if len(md) % 4 or 8 + len(md) > 63 * 4:
            raise NshError(f"context headers of {len(md)} bytes do not fit NSH")
        md_type = MD_TYPE_1 if isinstance(self.metadata, Md1) else MD_TYPE_2
        return BaseHeader(ttl=self.ttl, length=(8 + len(md)) // 4, md_type=md_type,
                          next_proto=self.next_proto, oam=self.oam)

    def to_bytes(self) -> bytes:
        return self.base.to_bytes() + self.path.to_bytes() + self.metadata.to_bytes()

    def with_si(self, si: int) -> "Nsh":
        return Nsh(ServicePath(self.spi, si), self.metadata, self.ttl, self.next_proto, self.oam)


def parse_nsh(data: bytes | memoryview) -> tuple[Nsh, int]:
    """Parse NSH at the start of ``data``; returns the header and its length in bytes."""
    base = BaseHeader.parse(data)
    if base.version != 0:
        raise NshError(f"unsupported NSH version {base.version}")
    size = base.length * 4
    if size < 8:
        raise NshError(f"NSH length {base.length} words is shorter than the fixed header")
    if len(data) < size:
        raise NshError(f"truncated NSH: length says {size} bytes, have {len(data)}")
    path = ServicePath.parse(memoryview(data)[4:8])
    ctx = memoryview(data)[8:size]
    metadata: Md1 | Md2
    if base.md_type == MD_TYPE_1:
        if size != MD1_LEN:
            raise NshError(f"MD type 1 needs length 6, got {base.length}")
        c1, c2, c3, c4 = struct.unpack("!4I", ctx)
        metadata = Md1((c1, c2, c3, c4))
    elif base.md_type == MD_TYPE_2:
        metadata = Md2.parse(ctx)
    else:
        raise NshError(f"unsupported MD type {base.md_type}")
    return Nsh(path, metadata, ttl=base.ttl, next_proto=base.next_proto, oam=base.oam), size


# -- Ethernet framing ------------------------------------------------------------------------
def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise NshError(f"MAC must be 6 bytes, got {len(mac)}")
        return mac
    parts = mac.split(":")
    if len(parts) != 6:
        raise NshError(f"bad MAC {mac!r}")
    return bytes(int(p, 16) for p in parts)


def mac_str(mac: bytes | memoryview) -> str:
    return ":".join(f"{b:02x}" for b in bytes(mac))


@dataclass(frozen=True)
class EthNshFrame:
    """Outer Ethernet (dst, src) + NSH + the encapsulated payload."""

    dst: str
    src: str
    nsh: Nsh
    payload: bytes


def build_eth_nsh(dst: str | bytes, src: str | bytes, nsh: Nsh, payload: bytes) -> bytes:
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ETH_P_NSH) + nsh.to_bytes() + payload


def parse_eth_nsh(frame: bytes | memoryview) -> EthNshFrame:
    if len(frame) < ETH_HLEN:
        raise NshError(f"truncated Ethernet frame: {len(frame)} bytes")
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype != ETH_P_NSH:
        raise NshError(f"not NSH: ethertype 0x{ethertype:04x}")
    nsh, size = parse_nsh(memoryview(frame)[ETH_HLEN:])
    return EthNshFrame(mac_str(frame[0:6]), mac_str(frame[6:12]), nsh,
                       bytes(frame[ETH_HLEN + size:]))


def _check(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise NshError(f"{name}={value} out of range {lo}..{hi}")
