"""Per-path, per-hop figures from records the real decoders made out of independently encoded
datagrams (IPFIX and NetFlow v9 by scapy, sFlow by the spec-built encoder with scapy's NSH)."""

from __future__ import annotations

import struct

import pytest
from scapy.all import Ether, IP, TCP, raw
from scapy.contrib.nsh import NSH
from scapy.layers.netflow import GetNetflowRecordV9, NetflowDataflowsetV9

from dataplane.packet import FiveTuple
from sdn.telemetry import ipfix, netflow9, sflow
from sdn.telemetry.attribution import Attributor, PortMap
from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.figures import Count, Figures, Loss, Observation, Source, Talker, observe
from sdn.telemetry.observation import ObservationPoint, Role, encode
from sdn.telemetry.templates import TemplateCache
from tests.unit.sdn.telemetry import sflow_encode as enc
from tests.unit.sdn.telemetry.chain_doc import MAIL, WEB, WEB_REVERSE, document
from tests.unit.sdn.telemetry.ipfix_encode import hand_message, hand_set, message, template_set, v9_packet

CAT = catalogue_of(document())
ATT = Attributor.of(CAT)
COUNTS = ((1, 8), (2, 8), (138, 4))                             # octets, packets, observationPointId
FLOW = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), *COUNTS)      # + the 5-tuple (classify points see it)


def ipfix_records(point: ObservationPoint | None, rows: list[dict], fields=COUNTS, domain: int | None = None):
    """Data records decoded from IPFIX messages: the template and the rows built by scapy, except
    observationPointId (last in the template), which scapy 2.5-2.8 encodes as 0: packed here."""
    dom, point_id = encode(point) if point is not None else (domain or 1, 0)
    tset = template_set(256, fields)
    make = GetNetflowRecordV9(tset)
    has_point = fields[-1][0] == 138
    body = b"".join(raw(make(**r))[:-4] + struct.pack("!I", point_id) if has_point else raw(make(**r))
                    for r in rows)
    cache = TemplateCache()
    assert ipfix.decode(message(tset, domain=dom), "192.0.2.10", cache, 0.0).drops == ()
    decoded = ipfix.decode(hand_message(hand_set(256, body), domain=dom), "192.0.2.10", cache, 0.0)
    assert decoded.drops == ()
    return decoded.records


def counts(packets: int, size: int = 100) -> dict:
    return {"IN_PKTS": packets, "IN_BYTES": packets * size}


def flow_row(src: str, sport: int, packets: int, dst: str = "10.0.0.5", dport: int = 80, proto: int = 6) -> dict:
    return {"IPV4_SRC_ADDR": src, "IPV4_DST_ADDR": dst, "L4_SRC_PORT": sport, "L4_DST_PORT": dport,
            "PROTOCOL": proto, **counts(packets)}


def feed(figures: Figures, records, at: float) -> None:
    figures.ingest(records, at, ATT)


def probe_web(figures: Figures, at: float, *, entered=(60, 40), fw_in=100, ids_in=95, end=95) -> None:
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.CLASSIFY), [
        flow_row("192.0.2.1", 40000, entered[0]), flow_row("192.0.2.2", 40001, entered[1])], FLOW), at)
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.HOP_IN), [counts(fw_in)]), at)
    feed(figures, ipfix_records(ObservationPoint(WEB, 254, Role.HOP_IN), [counts(ids_in)]), at)
    feed(figures, ipfix_records(ObservationPoint(WEB, 253, Role.END), [counts(end)]), at)


def test_probe_points_give_exact_hops_loss_and_top_talkers():
    figures = Figures()
    probe_web(figures, 100.0)
    snap = figures.snapshot(CAT, 105.0, 10.0)
    web = snap.path(WEB)
    assert (web.vnffg, web.path, web.name) == ("web", "http", "web/http")
    assert web.entered == Count(100, 10000, 2, Source.PROBE) and web.entered.exact
    fw, ids = web.hops
    assert (fw.si, fw.name, ids.si, ids.name) == (255, "fw", 254, "ids")
    assert fw.into == Count(100, 10000, None, Source.PROBE)     # NSH records: no 5-tuple, flows unknown
    assert fw.out.packets == 95 and fw.loss == Loss(5, 0.05, True)
    assert ids.into.packets == 95 and ids.out.packets == 95 and ids.loss == Loss(0, 0.0, True)
    assert web.delivered.packets == 95
    assert web.top == (Talker(FiveTuple(6, "192.0.2.1", "10.0.0.5", 40000, 80), 60, 6000),
                       Talker(FiveTuple(6, "192.0.2.2", "10.0.0.5", 40001, 80), 40, 4000))
    chain = snap.chain("web")
    assert [p.spi for p in chain.paths] == [WEB, WEB_REVERSE]
    assert (chain.packets, chain.bytes, chain.flows, chain.exact) == (100, 10000, 2, True)
    assert chain.top == web.top
    reverse = snap.path(WEB_REVERSE)
    assert reverse.entered is None and reverse.hops[0].loss is None     # never observed: unknown, not zero
    assert snap.chain("mail").paths[0].spi == MAIL and snap.unknown_spis == ()


def test_sliding_windows_follow_the_given_now():
    figures = Figures(granularity=1.0, max_window=60.0)
    probe_web(figures, 0.0)
    probe_web(figures, 30.0, entered=(6, 4), fw_in=10, ids_in=5, end=5)
    assert figures.snapshot(CAT, 35.0, 10.0).path(WEB).entered.packets == 10
    both = figures.snapshot(CAT, 35.0, 60.0).path(WEB)
    assert both.entered.packets == 110 and both.hops[0].loss == Loss(10, 10 / 110, True)
    assert figures.snapshot(CAT, 9.5, 10.0).path(WEB).entered.packets == 100
    assert figures.snapshot(CAT, 10.0, 10.0).path(WEB).entered.packets == 100  # buckets 0..9 ended
    assert figures.snapshot(CAT, 11.0, 10.0).path(WEB).entered.packets == 0    # bucket 0 just left
    assert figures.snapshot(CAT, 0.5, 10.0).path(WEB).entered.packets == 0     # bucket 0 still filling
    later = figures.snapshot(CAT, 200.0, 10.0).path(WEB)
    assert later.entered == Count(0, 0, None, Source.PROBE)     # seen before, silent now: zero
    assert later.hops[0].loss is None                            # nothing went in: no ratio
    figures.expire(200.0)
    assert figures.snapshot(CAT, 35.0, 60.0).path(WEB).entered.packets == 0      # gone past max_window ...
    (total,) = [t for t in figures.totals() if t.role is Role.CLASSIFY]
    assert (total.packets, total.bytes) == (110, 11000)                          # ... the totals stay
    # a record older than everything kept counts in the totals only
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.CLASSIFY), [counts(7)]), 100.0)
    assert figures.snapshot(CAT, 200.0, 10.0).path(WEB).entered.packets == 0


def nsh_frame(spi: int, si: int, sport: int = 40000) -> bytes:
    return raw(Ether() / NSH(spi=spi, si=si, mdtype=1, nextproto=3) / Ether()
               / IP(src="192.0.2.1", dst="10.0.0.5") / TCP(sport=sport, dport=80) / (b"x" * 50))


def sflow_samples(frames: list[bytes], rate: int = 64):
    data = enc.datagram([enc.flow_sample([enc.raw_header(f)], seq=i, rate=rate) for i, f in enumerate(frames)])
    decoded = sflow.decode(data)
    assert decoded.drops == ()
    return decoded.records


def test_sflow_samples_give_estimated_hops_and_loss():
    plain = raw(Ether() / IP(src="192.0.2.1", dst="10.0.0.5") / TCP(sport=40000, dport=80) / (b"x" * 50))
    figures = Figures()
    feed(figures, sflow_samples([plain] * 10 + [nsh_frame(WEB, 254)] * 9 + [nsh_frame(WEB, 253)] * 9), 1.0)
    web = figures.snapshot(CAT, 3.0, 10.0).path(WEB)      # a loss settles a bucket later (see _settled)
    assert web.entered == Count(640, 640 * len(plain), 1, Source.SAMPLES, 10) and not web.entered.exact
    fw, ids = web.hops
    assert fw.into == web.entered and fw.out.packets == 9 * 64       # NSH SI 254 arrives back from fw
    assert fw.loss is not None and (fw.loss.packets, fw.loss.ratio, fw.loss.exact) == (64, 0.1, False)
    assert fw.loss.margin == pytest.approx(1.96 * 0.9 * (1 / 10 + 1 / 9) ** 0.5)   # 19 samples say little
    assert ids.into == fw.out and ids.out.packets == 9 * 64 and ids.loss.packets == 0
    assert web.top == (Talker(FiveTuple(6, "192.0.2.1", "10.0.0.5", 40000, 80), 640, 640 * len(plain)),)


def test_a_point_takes_its_best_source_never_a_sum():
    figures = Figures()
    feed(figures, sflow_samples([nsh_frame(WEB, 254)] * 3), 1.0)                       # out of fw, estimated
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.HOP_OUT), [counts(50)]), 1.0)   # exact
    assert figures.snapshot(CAT, 2.0, 10.0).path(WEB).hops[0].out == Count(50, 5000, None, Source.PROBE)
    feed(figures, sflow_samples([nsh_frame(WEB, 254)]), 20.0)
    assert figures.snapshot(CAT, 21.0, 10.0).path(WEB).hops[0].out.source is Source.SAMPLES
    sampled = ipfix_records(ObservationPoint(WEB, 254, Role.HOP_IN, rate_log2=2), [counts(10)])
    (obs,) = observe(sampled, ATT)
    assert obs == Observation(WEB, 254, Role.HOP_IN, Source.SAMPLED, 40, 4000, samples=10)
    # sFlow and sample() at 1 in 4 both saw the entry: the probe's figure, not their sum
    feed(figures, sflow_samples([raw(Ether() / IP(src="192.0.2.1", dst="10.0.0.5") / TCP(sport=1, dport=80))] * 2), 30.0)
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.CLASSIFY, rate_log2=2), [counts(10)]), 30.0)
    assert figures.snapshot(CAT, 31.0, 5.0).path(WEB).entered == Count(40, 4000, None, Source.SAMPLED, 10)


def test_outside_exporters_are_attributed_by_classifier():
    figures = Figures()
    # softflowd-like NetFlow v9 (no observation id): one TCP/80 flow, one UDP/5050, one nobody claims
    tset = template_set(256, ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8)), set_id=0)
    make = GetNetflowRecordV9(tset)
    rows = [make(**flow_row("192.0.2.1", 1, 7)), make(**flow_row("192.0.2.1", 2, 3, dport=5050, proto=17)),
            make(**flow_row("192.0.2.1", 3, 11, dport=53, proto=17))]
    packet = v9_packet(tset, NetflowDataflowsetV9(templateID=256, records=rows))
    records = netflow9.decode(packet, "198.51.100.7", TemplateCache(), 0.0).records
    assert len(records) == 3
    feed(figures, records, 1.0)
    # an IPFIX exporter with its own domain id and a sampling interval: scaled, estimated
    sampled = ipfix_records(None, [{**flow_row("192.0.2.9", 4, 2), "SAMPLING_INTERVAL": 100}],
                            fields=((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (34, 4)), domain=3)
    feed(figures, sampled, 1.0)
    snap = figures.snapshot(CAT, 2.0, 10.0)
    assert snap.path(WEB).entered == Count(7, 700, 1, Source.FLOWS)        # exact beats estimated
    assert snap.path(MAIL).entered == Count(3, 300, 1, Source.FLOWS)
    assert snap.path(WEB).hops[0].into == snap.path(WEB).entered           # no probe inside: the entry
    assert figures.unmatched() == {Source.FLOWS: (11, 1100)}
    estimated = [t for t in figures.totals() if t.source is Source.SAMPLED]
    assert [(t.spi, t.packets) for t in estimated] == [(WEB, 200)]


def test_unknown_paths_options_records_and_the_series_limit():
    figures = Figures(max_series=2)
    feed(figures, ipfix_records(ObservationPoint(999, 255, Role.CLASSIFY), [counts(1)]), 1.0)
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.CLASSIFY), [counts(1)]), 1.0)
    feed(figures, ipfix_records(ObservationPoint(WEB, 255, Role.HOP_IN), [counts(1)]), 1.0)
    assert figures.snapshot(CAT, 1.0, 10.0).unknown_spis == (999,)
    assert figures.refused == 1
    assert observe(ipfix_records(ObservationPoint(WEB, 255, Role.END), [counts(0)]), ATT) == []   # counts nothing
    with pytest.raises(ValueError, match="granularity"):
        Figures(granularity=0)


def test_sflow_samples_come_in_on_mapped_ports_per_agent_and_tunnel_arrivals_count_once():
    """Two hosts' agents number ports alike: each (agent, ifIndex) is its own port. A frame that
    came in over a tunnel (ifIndex 0 from a mapped agent) was counted where it was sent from:
    the entry on the client's host, not again where the overlay or a VL delivers it."""
    plain = raw(Ether() / IP(src="192.0.2.1", dst="10.0.0.5") / TCP(sport=40000, dport=80) / (b"x" * 50))
    ports = PortMap.of({("172.31.250.1", 3): "client", ("172.31.250.2", 3): "fw-out"})

    def samples(agent: str, inp: int, frame: bytes, n: int):
        data = enc.datagram([enc.flow_sample([enc.raw_header(frame)], seq=i, rate=8, inp=inp) for i in range(n)],
                            agent=agent)
        return sflow.decode(data).records

    figures = Figures()
    figures.ingest(samples("172.31.250.1", 3, plain, 5), 1.0, ATT, ports)          # the client's port: entries
    figures.ingest(samples("172.31.250.2", 0, nsh_frame(WEB, 255), 5), 1.0, ATT, ports)   # over GPE: transit
    figures.ingest(samples("172.31.250.3", 0, plain, 5), 1.0, ATT, ports)   # an agent we do not map: as before
    web = figures.snapshot(CAT, 3.0, 10.0).path(WEB)
    assert web.entered.packets == 2 * 5 * 8
    assert ports.port("172.31.250.2", 3) == "fw-out" and ports.tunnelled("172.31.250.2", 0)
    assert not ports.tunnelled("172.31.250.3", 0) and not ports.tunnelled("172.31.250.1", 3)


def test_an_nsh_record_without_ip_octets_counts_its_layer2_octets():
    """OVS counts no octetDeltaCount for a frame that is no IP packet (NSH into a hop, GPE
    arrivals on a compute host): its layer2OctetDeltaCount is what the record's bytes are."""
    point = ObservationPoint(WEB, 255, Role.HOP_IN)
    dom, point_id = encode(point)
    tset = template_set(256, ((2, 8), (352, 8), (138, 4)))
    cache = TemplateCache()
    assert ipfix.decode(message(tset, domain=dom), "192.0.2.10", cache, 0.0).drops == ()
    body = struct.pack("!QQI", 10, 1440, point_id)
    decoded = ipfix.decode(hand_message(hand_set(256, body), domain=dom), "192.0.2.10", cache, 0.0)
    assert observe(decoded.records, ATT) == [Observation(WEB, 255, Role.HOP_IN, Source.PROBE, 10, 1440)]
