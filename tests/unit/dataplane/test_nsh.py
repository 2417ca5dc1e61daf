"""NSH codec, checked against scapy's independent NSH dissector (scapy.contrib.nsh)."""

from __future__ import annotations

import pytest
from scapy.contrib.nsh import NSH, NSHTLV
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from dataplane.nsh import (
    ETH_P_NSH, NP_ETHERNET, NP_IPV4, SI_OFFSET, BaseHeader, Md1, Md2, Nsh, NshError, Tlv,
    build_eth_nsh, parse_eth_nsh, parse_nsh,
)

INNER = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(
    src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=80) / b"hello")


@pytest.mark.parametrize("spi,si,ctx,ttl", [
    (0, 0, (0, 0, 0, 0), 0), (7, 255, (1, 2, 3, 4), 63), ((1 << 24) - 1, 128,
                                                           (0xFFFFFFFF, 0, 0xDEADBEEF, 9), 17)])
def test_md1_matches_scapy_both_ways(spi: int, si: int, ctx: tuple[int, int, int, int],
                                     ttl: int) -> None:
    ours = Nsh.md1(spi, si, ctx, ttl=ttl)
    frame = build_eth_nsh("02:00:00:00:00:0b", "02:00:00:00:00:0a", ours, INNER)
    pkt = Ether(frame)
    assert pkt.type == ETH_P_NSH
    n = pkt[NSH]
    assert (n.ver, n.oam, n.ttl, n.length, n.mdtype, n.nextproto) == (0, 0, ttl, 6, 1, 3)
    assert (n.spi, n.si) == (spi, si)
    assert n.context_header == b"".join(c.to_bytes(4, "big") for c in ctx)
    assert bytes(n.payload) == INNER
    # and scapy-built bytes parse back to the same value
    theirs = bytes(Ether(dst="02:00:00:00:00:0b", src="02:00:00:00:00:0a") / NSH(
        spi=spi, si=si, ttl=ttl, nextproto=3,
        context_header=b"".join(c.to_bytes(4, "big") for c in ctx)) / INNER)
    assert theirs == frame
    parsed = parse_eth_nsh(theirs)
    assert parsed.nsh == ours and parsed.payload == INNER
    assert (parsed.dst, parsed.src) == ("02:00:00:00:00:0b", "02:00:00:00:00:0a")
    assert theirs[SI_OFFSET] == si


def test_md2_matches_scapy() -> None:
    tlvs = (Tlv(0x0101, 3, b"\x00\x00\x00\x2a"), Tlv(0xFFFF, 0x7F, bytes(range(8))))
    ours = Nsh.md2(99, 200, tlvs, next_proto=NP_IPV4)
    raw = ours.to_bytes()
    n = NSH(raw + b"\x45")
    assert (n.mdtype, n.length, n.spi, n.si, n.nextproto) == (2, 2 + 2 + 3, 99, 200, 1)
    assert [(t.class_, t.type, t.length, t.metadata) for t in n.vlch] == [
        (0x0101, 3, 4, [0x2A]), (0xFFFF, 0x7F, 8, [0x00010203, 0x04050607])]
    theirs = bytes(NSH(mdtype=2, nextproto=1, spi=99, si=200, vlch=[
        NSHTLV(class_=0x0101, type=3, metadata=[0x2A]),
        NSHTLV(class_=0xFFFF, type=0x7F, metadata=[0x00010203, 0x04050607])]))
    assert theirs == raw
    assert parse_nsh(theirs) == (ours, len(raw))


def test_md2_tlv_padding_and_empty() -> None:
    ours = Nsh.md2(1, 1, (Tlv(5, 6, b"abc"), Tlv(7, 8)))
    raw = ours.to_bytes()
    assert len(raw) == 8 + 8 + 4 and ours.base.length == 5
    assert raw[8:16] == b"\x00\x05\x06\x03abc\x00"
    assert parse_nsh(raw)[0] == ours
    empty = Nsh.md2(1, 1)
    assert parse_nsh(empty.to_bytes()) == (empty, 8)


def test_base_header_bits() -> None:
    b = BaseHeader(ttl=0x3F, length=0x3F, md_type=0xF, next_proto=0xFF, oam=True, version=3)
    assert b.to_bytes() == b"\xef\xff\x0f\xff"
    assert BaseHeader.parse(b.to_bytes()) == b
    n = NSH(Nsh.md1(1).to_bytes())
    assert n.unused1 == 0 and n.unused2 == 0


@pytest.mark.parametrize("raw,msg", [
    (b"\x00\x06", "truncated NSH base"),
    (b"\x40\x06\x01\x03" + bytes(20), "version"),
    (b"\x00\x01\x01\x03" + bytes(20), "shorter than the fixed"),
    (b"\x00\x06\x01\x03" + bytes(10), "truncated NSH: length"),
    (b"\x00\x05\x01\x03" + bytes(20), "MD type 1 needs length 6"),
    (b"\x00\x03\x03\x03" + bytes(8), "unsupported MD type 3"),
    (b"\x00\x03\x02\x03" + bytes(4) + b"\x00\x01\x02\x08", "claims 8 bytes"),
])
def test_malformed_input_is_a_clear_error(raw: bytes, msg: str) -> None:
    with pytest.raises(NshError, match=msg):
        parse_nsh(raw)


def test_values_are_range_checked() -> None:
    with pytest.raises(NshError, match="spi"):
        Nsh.md1(1 << 24)
    with pytest.raises(NshError, match="si"):
        Nsh.md1(1, 256)
    with pytest.raises(NshError, match="4 context"):
        Md1((1, 2))  # type: ignore[arg-type]
    with pytest.raises(NshError, match="tlv length"):
        Tlv(1, 1, bytes(128))
    with pytest.raises(NshError, match="not NSH"):
        parse_eth_nsh(INNER)


def test_with_si_keeps_everything_else() -> None:
    a = Nsh.md1(5, 255, (1, 2, 3, 4), next_proto=NP_ETHERNET, ttl=10)
    b = a.with_si(254)
    assert (b.spi, b.si, b.metadata, b.ttl) == (5, 254, a.metadata, 10)
    assert isinstance(Md2().to_bytes(), bytes)
