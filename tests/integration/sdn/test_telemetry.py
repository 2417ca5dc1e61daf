"""OVS's own sFlow and IPFIX datagrams decode: a real netdev bridge with its sFlow agent and
IPFIX exporter (set through dataplane.ovsdb) sends to our collector on 127.0.0.1 (ovs-vswitchd
runs in the host's namespace, so that is where it can reach us) while two namespaced hosts
exchange ICMP and one sends NSH frames (Ethernet + NSH MD1 + Ethernet + IPv4/UDP)."""

from __future__ import annotations

import pytest
from scapy.all import UDP, Ether, IP, raw
from scapy.contrib.nsh import NSH

from dataplane import netns
from dataplane.packet import FiveTuple
from sdn.telemetry.collector import Protocol
from sdn.telemetry.sflow import CounterSample, FlowSample, InterfaceCounters
from tests.integration.sdn.probe_lab import Sink, hand_ipfix, hand_sflow, start_collector, wait_until

pytestmark = pytest.mark.integration

PINGS, NSH_FRAMES = 20, 30


def test_ovs_sflow_and_ipfix_decode(lab, ovs, ovsdb, request):
    sink = Sink()
    col, targets = start_collector(request, sink)
    bridge = lab.bridge()
    h1 = lab.host(bridge, "10.77.0.1/24")
    h2 = lab.host(bridge, "10.77.0.2/24")
    ovs.ofctl("add-flow", bridge, "actions=NORMAL")
    hand_sflow(request, ovsdb, bridge, targets[Protocol.SFLOW])
    hand_ipfix(request, ovs, ovsdb, bridge, targets[Protocol.IPFIX], sampling=1, obs_domain_id=7, obs_point_id=9)

    assert h1.ping(h2.ip, count=PINGS, timeout=2.0)
    frame = raw(Ether(src=h1.mac, dst=h2.mac) / NSH(spi=0x4242, si=250, mdtype=1, nextproto=3,
                                                     context_header=bytes(range(16)))
                / Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b")
                / IP(src="10.9.9.1", dst="10.9.9.2") / UDP(sport=4000, dport=5000) / (b"x" * 64))
    sock = netns.packet_socket(h1.ns, h1.iface)
    try:
        for _ in range(NSH_FRAMES):
            sock.send(frame)
    finally:
        sock.close()

    def flow_samples() -> list[FlowSample]:
        return [s for s in sink.records(Protocol.SFLOW) if isinstance(s, FlowSample)]

    def frames_matching(pred):
        return [h.frame for s in flow_samples() for h in s.headers if h.frame is not None and pred(h.frame)]

    icmp = wait_until(lambda: frames_matching(lambda f: f.flow is not None and f.flow.proto == 1
                                              and f.flow.src == h1.ip and f.flow.dst == h2.ip),
                      what="sFlow samples of the pings")
    assert icmp[0].src_mac == h1.mac and icmp[0].nsh is None
    nsh = wait_until(lambda: frames_matching(lambda f: f.nsh is not None), what="sFlow samples of the NSH frames")
    assert (nsh[0].nsh.spi, nsh[0].nsh.si, nsh[0].nsh.md_type) == (0x4242, 250, 1)
    assert nsh[0].nsh.context == (0x00010203, 0x04050607, 0x08090A0B, 0x0C0D0E0F)
    assert nsh[0].flow == FiveTuple(17, "10.9.9.1", "10.9.9.2", 4000, 5000)
    sample = flow_samples()[0]
    assert sample.sampling_rate == 1 and sample.agent.address == "127.0.0.1" and sample.sample_pool >= 1
    counters = wait_until(lambda: [c for s in sink.records(Protocol.SFLOW) if isinstance(s, CounterSample)
                                   for c in s.records if isinstance(c, InterfaceCounters)],
                          what="sFlow counter samples")
    assert any(c.in_ucast_pkts + c.out_ucast_pkts > 0 for c in counters)

    def ipfix_packets(src: str, dst: str, proto: int) -> int:
        return sum(r.get("packetDeltaCount", 0) for r in sink.records(Protocol.IPFIX)
                   if r.get("sourceIPv4Address") == src and r.get("destinationIPv4Address") == dst
                   and r.get("protocolIdentifier") == proto)

    wait_until(lambda: ipfix_packets(h1.ip, h2.ip, 1) >= PINGS, what="IPFIX records counting the pings")
    records = sink.records(Protocol.IPFIX)
    assert {r.domain_id for r in records if not r.template.options} == {7}
    flow = next(r.fields() for r in records if r.get("sourceIPv4Address") == h1.ip)
    assert flow["octetDeltaCount"] > 0 and flow["sourceMacAddress"] == h1.mac
    assert flow["observationPointId"] == 9 and flow["interfaceName"] == h1.port
    stats = [r.fields() for r in records if r.template.options]      # OVS's exporting-process statistics
    assert stats and "exportingProcessId" in stats[0]
    names = {n for r in records for n in r.template.names}
    unknown = sorted(n for n in names if n.startswith(("element", "enterprise")))
    assert not unknown, f"OVS exports elements without names: {unknown}"

    stats = {e.protocol: e for e in col.exporters() if e.address == "127.0.0.1"}
    assert stats[Protocol.SFLOW].records >= 1 and stats[Protocol.IPFIX].records >= 1
    assert col.drops().total == 0, col.drops()
