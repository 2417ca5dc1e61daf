"""Telemetry values -> their gRPC messages (figures, exporters, the stack's status)."""

from __future__ import annotations

from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.model import VnffgRecord
from nfvo.telemetry import StackStatus
from sdn.telemetry.collector import ExporterStats
from sdn.telemetry.figures import ChainFigures, Count, HopFigures, PathFigures, Talker

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


def _count(c: Count | None) -> pb.TrafficCount | None:
    if c is None:
        return None
    return pb.TrafficCount(packets=max(c.packets, 0), bytes=max(c.bytes, 0), flows=c.flows, source=str(c.source),
                           exact=c.exact)


def _talker(t: Talker) -> pb.Talker:
    f = t.flow
    proto = PROTO_NAMES.get(f.proto, str(f.proto))
    return pb.Talker(flow=f"{proto} {f.src}:{f.src_port} > {f.dst}:{f.dst_port}", packets=t.packets, bytes=t.bytes)


def _hop(h: HopFigures) -> pb.HopStats:
    loss = pb.HopLoss(packets=h.loss.packets, ratio=h.loss.ratio, exact=h.loss.exact,
                      margin=h.loss.margin) if h.loss else None
    return pb.HopStats(si=h.si, name=h.name, into=_count(h.into), out=_count(h.out), loss=loss)


def _path(p: PathFigures) -> pb.PathStats:
    return pb.PathStats(spi=p.spi, name=p.name, path=p.path, entered=_count(p.entered), delivered=_count(p.delivered),
                        hops=[_hop(h) for h in p.hops], top=[_talker(t) for t in p.top])


def vnffg_stats(record: VnffgRecord, figures: ChainFigures, now: float, window: float) -> pb.VnffgStats:
    return pb.VnffgStats(name=record.name, id=record.id, time=now, window=window, packets=figures.packets,
                         bytes=figures.bytes, flows=figures.flows, exact=figures.exact,
                         paths=[_path(p) for p in figures.paths], top=[_talker(t) for t in figures.top])


def exporter(e: ExporterStats) -> pb.Exporter:
    return pb.Exporter(address=e.address, protocol=str(e.protocol), datagrams=e.datagrams, records=e.records,
                       drops=e.drops.total, drops_by_reason={str(k): v for k, v in e.drops.by_reason.items()},
                       last_seen=e.last_seen, switch=e.switch)


def status(s: StackStatus) -> pb.StackStatus:
    return pb.StackStatus(components=[pb.Component(name=c.name, state=c.state, addresses=list(c.addresses),
                                                   detail=c.detail, pid=c.pid, started=c.started, restarts=c.restarts)
                                      for c in s.components],
                          metrics_url=s.metrics_url)
