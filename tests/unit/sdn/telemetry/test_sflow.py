"""sFlow v5: datagrams from the spec-built encoder, raw headers built by scapy (NSH layer)."""

from __future__ import annotations

import pytest
from scapy.all import UDP, Dot1Q, Ether, IP, IPv6, TCP, raw
from scapy.contrib.nsh import NSH

from dataplane.packet import FiveTuple
from sdn.telemetry import sflow
from sdn.telemetry.drops import Drop
from sdn.telemetry.frames import parse_frame
from tests.unit.sdn.telemetry import sflow_encode as enc

MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def nsh_frame(spi: int = 42, si: int = 254, inner=None, **nsh) -> bytes:
    inner = inner if inner is not None else IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80)
    return raw(Ether(**MACS) / NSH(spi=spi, si=si, mdtype=1, nextproto=3, **nsh) / Ether(**MACS) / inner)


def test_flow_sample_with_an_nsh_header_gives_spi_si_context_and_the_inner_5_tuple():
    frame = nsh_frame(context_header=bytes.fromhex("00000001000000020000000300000004"))
    data = enc.datagram([enc.flow_sample([enc.raw_header(frame)], seq=7, rate=64, pool=6400, drops=2, inp=3, out=5)],
                        agent="192.0.2.9", sub_agent=1, seq=11, uptime=12345)
    decoded = sflow.decode(data)
    assert decoded.drops == ()
    (sample,) = decoded.records
    assert isinstance(sample, sflow.FlowSample)
    assert sample.agent == sflow.Agent("192.0.2.9", 1, 11, 12345)
    assert (sample.sequence, sample.sampling_rate, sample.sample_pool, sample.drops) == (7, 64, 6400, 2)
    assert sample.input == sflow.Interface(0, 3) and sample.output == sflow.Interface(0, 5)
    (header,) = sample.headers
    assert header.frame_length == len(frame) + 4 and header.stripped == 4 and header.header == frame
    f = header.frame
    assert f is not None and f.ethertype == 0x894F and f.src_mac == MACS["src"]
    assert f.nsh is not None
    assert (f.nsh.spi, f.nsh.si, f.nsh.md_type, f.nsh.next_protocol, f.nsh.ttl) == (42, 254, 1, 3, 63)
    assert f.nsh.context == (1, 2, 3, 4)
    assert f.flow == FiveTuple(6, "10.0.0.1", "10.0.0.2", 1234, 80)
    assert not f.truncated


def test_expanded_flow_sample_and_ipv6_agent():
    frame = raw(Ether(**MACS) / Dot1Q(vlan=100) / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=53, dport=5353))
    data = enc.datagram([enc.flow_sample_expanded([enc.raw_header(frame)], source=(0, 70000), inp=(0, 70001), out=(2, 3))],
                        agent="2001:db8::99")
    (sample,) = sflow.decode(data).records
    assert isinstance(sample, sflow.FlowSample) and sample.expanded
    assert sample.agent.address == "2001:db8::99"
    assert (sample.source_type, sample.source_index) == (0, 70000)
    assert sample.input == sflow.Interface(0, 70001) and sample.output == sflow.Interface(sflow.IF_MULTIPLE, 3)
    f = sample.headers[0].frame
    assert f is not None and f.nsh is None and f.vlans == (100,)
    assert f.flow == FiveTuple(17, "2001:db8::1", "2001:db8::2", 53, 5353)


def test_nsh_with_ipv4_next_protocol_and_a_header_cut_short():
    frame = raw(Ether(**MACS) / NSH(spi=7, si=3, mdtype=1, nextproto=1) / IP(src="10.1.0.1", dst="10.1.0.2")
                / TCP(sport=1, dport=2))
    f = parse_frame(frame)
    assert f.nsh is not None and f.nsh.next_protocol == 1
    assert f.flow == FiveTuple(6, "10.1.0.1", "10.1.0.2", 1, 2)
    cut = parse_frame(frame[:14 + 24 + 20])            # IP header, no ports
    assert cut.truncated and cut.flow == FiveTuple(6, "10.1.0.1", "10.1.0.2")
    assert parse_frame(frame[:20]).truncated and parse_frame(frame[:20]).nsh is None


def test_plain_ipv4_frame_and_non_ip_frame():
    f = parse_frame(raw(Ether(**MACS) / IP(src="1.1.1.1", dst="2.2.2.2") / UDP(sport=9, dport=10)))
    assert f.nsh is None and f.flow == FiveTuple(17, "1.1.1.1", "2.2.2.2", 9, 10)
    arp = parse_frame(raw(Ether(**MACS, type=0x0806) / (b"\0" * 28)))
    assert arp.ethertype == 0x0806 and arp.flow is None and not arp.truncated


def test_counter_samples_compact_and_expanded():
    data = enc.datagram([enc.counter_sample([enc.generic_counters(3, 1000, 2000)], seq=4),
                         enc.counter_sample([enc.generic_counters(4, 5, 6), enc.record(2, b"\0" * 52)], expanded=True,
                                            source=(0, 4))])
    decoded = sflow.decode(data)
    assert decoded.drops == ()
    a, b = decoded.records
    assert isinstance(a, sflow.CounterSample) and isinstance(b, sflow.CounterSample) and b.expanded
    ca = a.records[0]
    assert isinstance(ca, sflow.InterfaceCounters)
    assert (ca.if_index, ca.if_speed, ca.in_octets, ca.out_octets, ca.in_ucast_pkts) == (3, 10_000_000_000, 1000, 2000, 10)
    assert isinstance(b.records[1], sflow.OpaqueRecord) and b.records[1].format == 2


def test_unknown_flow_records_and_enterprise_samples_are_kept_or_skipped_not_dropped():
    data = enc.datagram([enc.flow_sample([enc.record(1001, b"\0" * 16), enc.raw_header(nsh_frame())]),
                         enc.record(5, b"\0" * 8, enterprise=4413)])
    decoded = sflow.decode(data)
    assert decoded.drops == ()
    (sample,) = decoded.records
    assert isinstance(sample, sflow.FlowSample)
    assert isinstance(sample.records[0], sflow.OpaqueRecord) and len(sample.headers) == 1


@pytest.mark.parametrize(("data", "reason"), [
    (b"\0\0\0\5", Drop.TRUNCATED),
    (enc.datagram([], version=4), Drop.BAD_VERSION),
    (b"\0\0\0\5\0\0\0\7" + b"\0" * 40, Drop.BAD_ADDRESS_TYPE),
    (enc.datagram([])[:-3], Drop.TRUNCATED),
])
def test_a_lying_datagram_is_dropped_with_its_reason(data, reason):
    assert sflow.decode(data).drops == (reason,) and sflow.decode(data).records == ()


def test_a_lying_sample_is_dropped_and_its_neighbours_kept():
    good = enc.flow_sample([enc.raw_header(nsh_frame())])
    bad = enc.record(1, b"\0" * 28 + b"\0\0\0\x09")                  # says 9 records, has none
    decoded = sflow.decode(enc.datagram([good, bad, good]))
    assert len(decoded.records) == 2 and decoded.drops == (Drop.BAD_SAMPLE,)
    short = enc.datagram([good, good])
    decoded = sflow.decode(short[:-10])                                  # second sample cut
    assert len(decoded.records) == 1 and decoded.drops == (Drop.TRUNCATED,)
