"""Per-packet SF logic on crafted frames (scapy builds and re-dissects them)."""

from __future__ import annotations

import pytest
from scapy.contrib.nsh import NSH
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether, Dot1Q

from dataplane.packet import FiveTuple, five_tuple, flow_key
from dataplane.sf.logic import (
    Counter, Firewall, compute_report, forward_in_place, make_forwarder, parse_rule,
)

A, B, OWN = "02:00:00:00:00:0a", "02:00:00:00:00:0b", bytes.fromhex("0200000000ff")


def nsh_frame(inner, spi: int = 7, si: int = 255, nextproto: int = 3) -> bytearray:
    pkt = Ether(src=A, dst=B) / NSH(spi=spi, si=si, nextproto=nextproto,
                                    context_header=bytes(16)) / inner
    buf = bytearray(65536)
    raw = bytes(pkt)
    buf[:len(raw)] = raw
    return buf[:len(raw)] + bytearray(64)  # trailing garbage must be ignored via n


def tcp(dport: int = 80, src: str = "10.0.0.1", dst: str = "10.0.0.2", sport: int = 4321):
    return Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport) / b"data"


def test_forwarder_decrements_si_and_swaps_macs() -> None:
    buf = nsh_frame(tcp())
    n = len(buf) - 64
    before = bytes(buf[:n])
    assert forward_in_place(buf, n)
    out = Ether(bytes(buf[:n]))
    assert (out.src, out.dst, out[NSH].si, out[NSH].spi) == (B, A, 254, 7)
    assert bytes(buf[22:n]) == before[22:n] and buf[n:] == bytearray(64)


def test_forwarder_own_mac_mode() -> None:
    buf = nsh_frame(tcp())
    assert make_forwarder(OWN)(buf, len(buf) - 64)
    out = Ether(bytes(buf))
    assert (out.src, out.dst) == ("02:00:00:00:00:ff", A)


def test_forwarder_drops_non_nsh_short_and_underflow() -> None:
    arp = bytearray(bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP()))
    assert not forward_in_place(arp, len(arp))
    assert not forward_in_place(bytearray(10), 10)
    buf = nsh_frame(tcp(), si=0)
    assert not forward_in_place(buf, len(buf) - 64)
    assert buf[21] == 0
    buf = nsh_frame(tcp(), si=1)
    assert forward_in_place(buf, len(buf) - 64) and buf[21] == 0


@pytest.mark.parametrize("inner,nextproto,expect", [
    (tcp(), 3, FiveTuple(6, "10.0.0.1", "10.0.0.2", 4321, 80)),
    (Ether() / Dot1Q(vlan=5) / IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=1, dport=2), 3,
     FiveTuple(17, "1.2.3.4", "5.6.7.8", 1, 2)),
    (IP(src="1.1.1.1", dst="2.2.2.2") / ICMP(), 1, FiveTuple(1, "1.1.1.1", "2.2.2.2")),
    (IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=5, dport=443), 2,
     FiveTuple(6, "2001:db8::1", "2001:db8::2", 5, 443)),
    (Ether() / IPv6(src="::1", dst="::2") / UDP(sport=9, dport=10), 3,
     FiveTuple(17, "::1", "::2", 9, 10)),
    (IP(src="1.1.1.1", dst="2.2.2.2", frag=10, proto=6) / b"xxxxxxxx", 1,
     FiveTuple(6, "1.1.1.1", "2.2.2.2")),
    (Ether() / ARP(), 3, None),
])
def test_five_tuple(inner, nextproto: int, expect: FiveTuple | None) -> None:
    buf = nsh_frame(inner, nextproto=nextproto)
    assert five_tuple(buf, len(buf) - 64) == expect


def test_five_tuple_of_truncated_or_non_nsh() -> None:
    buf = nsh_frame(tcp())
    assert five_tuple(buf, 30) is None
    assert flow_key(bytes(Ether() / IP()), None) is None


def test_parse_rule() -> None:
    r = parse_rule("proto=tcp,dst_port=23")
    assert r.matches(FiveTuple(6, "1.1.1.1", "2.2.2.2", 1, 23))
    assert not r.matches(FiveTuple(17, "1.1.1.1", "2.2.2.2", 1, 23))
    r = parse_rule("src=10.0.0.0/24, dst_port=1000-2000")
    assert r.matches(FiveTuple(6, "10.0.0.9", "2.2.2.2", 1, 1500))
    assert not r.matches(FiveTuple(6, "10.0.1.9", "2.2.2.2", 1, 1500))
    assert not r.matches(FiveTuple(6, "2001:db8::1", "2.2.2.2", 1, 1500))
    assert parse_rule("proto=132").proto == 132
    for bad in ("", "proto", "colour=red", "dst_port=70000", "src=10.0.0.300/24",
                "proto=tcp,proto=udp", "dst_port=9-1"):
        with pytest.raises((ValueError, KeyError)):
            parse_rule(bad)


def test_firewall_drops_matching_flows_and_caches() -> None:
    fw = Firewall((parse_rule("proto=tcp,dst_port=23"), parse_rule("src=192.168.0.0/16")))
    telnet, web = nsh_frame(tcp(23)), nsh_frame(tcp(80))
    assert not fw(telnet, len(telnet) - 64)
    assert fw(web, len(web) - 64) and web[21] == 254
    assert not fw(nsh_frame(tcp(80, src="192.168.3.3")), len(web) - 64)
    icmp = nsh_frame(IP(src="1.1.1.1", dst="2.2.2.2") / ICMP(), nextproto=1)
    assert fw(icmp, len(icmp) - 64)
    arp = nsh_frame(Ether() / ARP())
    assert fw(arp, len(arp) - 64)  # not IP: not ours to judge, forwarded
    assert fw.dropped == 2 and len(fw._verdicts) == 5
    again = nsh_frame(tcp(23))
    assert not fw(again, len(again) - 64) and fw.dropped == 3


def test_counter_counts_per_spi_si_flow() -> None:
    c = Counter()
    frames = [nsh_frame(tcp(80)), nsh_frame(tcp(80)), nsh_frame(tcp(22)),
              nsh_frame(tcp(80), spi=9, si=200)]
    for f in frames:
        assert c(f, len(f) - 64)
    arp = bytearray(bytes(Ether() / ARP()))
    assert not c(arp, len(arp))
    rep = c.report()
    assert rep["packets"] == 4 and rep["bytes"] == sum(len(f) - 64 for f in frames)
    rows = [(f["spi"], f["si"], f["dst_port"], f["packets"]) for f in rep["flows"]]
    assert rows == [(7, 255, 22, 1), (7, 255, 80, 2), (9, 200, 80, 1)]
    assert rep["flows"][0]["proto"] == "tcp" and rep["flows"][0]["src"] == "10.0.0.1"


def test_counter_report_without_inner_flow() -> None:
    rep = compute_report([(bytes([0, 0, 7, 255]), [3, 300])])
    assert rep["flows"] == [{"spi": 7, "si": 255, "packets": 3, "bytes": 300}]
