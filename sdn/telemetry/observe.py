"""Decoded records become observations at points of a path (pure): the figures' input.

Every record becomes an :class:`Observation` at a point (SPI, SI, role) of a path:

- an IPFIX/NetFlow record with one of our observation ids (:mod:`.observation`): that point,
  packets/bytes from ``packetDeltaCount``/``octetDeltaCount`` (``layer2OctetDeltaCount`` for
  a frame OVS counts no IP octets of: NSH, as sFlow counts frames) -- ``probe``, exact (or scaled
  up and ``sampled`` when the action sampled 1 in 2**k);
- an sFlow flow sample whose raw header carries NSH (SPI, SI=s): OVS samples on ingress, so an
  NSH frame arriving at the SFF came back from the SF of hop s+1 (role hop-out; SI 255 means
  an entry from another SFF's classifier); a plain frame is attributed by the classifiers
  (:mod:`.attribution`); counts are samples x sampling rate -- ``samples``, estimated;
- any other flow record (an outside exporter): attributed by the classifiers, its counters
  taken as they are -- ``flows``, exact (scaled, ``sampled``, when it carries a
  ``samplingInterval`` above 1).

:class:`Source` says which; ``sdn.telemetry.figures`` (which re-exports these names) keeps the
best source per point and window.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from dataplane.packet import FiveTuple
from sdn.telemetry.attribution import Attributor, PortMap
from sdn.telemetry.observation import Role, decode
from sdn.telemetry.sflow import FlowSample
from sdn.telemetry.templates import DataRecord


class Source(enum.StrEnum):
    PROBE = "probe"          # our sample() points, every packet: exact
    FLOWS = "flows"          # an exporter's flow counters attributed by classifier: exact
    SAMPLED = "sampled"      # counters of 1 in N packets scaled up: sample() at 1 in 2**k, a samplingInterval
    SAMPLES = "samples"      # sFlow samples: estimated

    @property
    def exact(self) -> bool:
        return self in (Source.PROBE, Source.FLOWS)


PREFERENCE = (Source.PROBE, Source.FLOWS, Source.SAMPLED, Source.SAMPLES)


@dataclass(frozen=True, slots=True)
class Observation:
    spi: int
    si: int
    role: Role
    source: Source
    packets: int
    bytes: int
    flow: FiveTuple | None = None
    samples: int = 0                 # packets actually sampled behind an estimate (0: exact)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """Traffic reported that no path claims (no observation id, no classifier admits it)."""

    source: Source
    packets: int
    bytes: int


# every field observe_record reads, unpacked together (DataRecord.pick: one picker per shape)
_READ = ("packetDeltaCount", "octetDeltaCount", "sourceIPv4Address", "sourceIPv6Address",
         "destinationIPv4Address", "destinationIPv6Address", "protocolIdentifier", "sourceTransportPort",
         "destinationTransportPort", "observationPointId", "samplingInterval", "samplingPacketInterval",
         "layer2OctetDeltaCount")


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def observe_record(record: DataRecord, attributor: Attributor) -> Observation | Unmatched | None:
    """An IPFIX / NetFlow v9 data record's observation; None for options records and records
    that count nothing."""
    if record[3].template.options:
        return None
    # the ~12 fields read here, not OVS's 50, in one unpack
    packets, octets, src4, src6, dst4, dst6, proto, sport, dport, point_id, interval, packet_interval, l2 = \
        record.pick(_READ)
    packets, octets = _count(packets), _count(octets) or _count(l2)
    if not packets and not octets:
        return None
    src, dst = src4 or src6, dst4 or dst6
    flow = None
    if isinstance(src, str) and isinstance(dst, str) and isinstance(proto, int):
        flow = FiveTuple(proto, src, dst, sport if isinstance(sport, int) else 0, dport if isinstance(dport, int) else 0)
    point = decode(record[3].domain_id, point_id) if isinstance(point_id, int) else None
    if point is not None:
        scale = point.scale
        return Observation(point.spi, point.si, point.role, Source.PROBE if point.exact else Source.SAMPLED,
                           round(packets * scale), round(octets * scale), flow, 0 if point.exact else packets)
    interval = interval or packet_interval
    scale = interval if isinstance(interval, int) and interval > 1 else 1
    source = Source.FLOWS if scale == 1 else Source.SAMPLED
    found = attributor.attribute(flow) if flow is not None else None
    if found is None:
        return Unmatched(source, packets * scale, octets * scale)
    return Observation(found.spi, found.si, found.role, source, packets * scale, octets * scale, flow,
                       packets if scale > 1 else 0)


def observe_sample(sample: FlowSample, attributor: Attributor,
                   in_ports: PortMap | None = None) -> list[Observation | Unmatched]:
    """An sFlow flow sample's observations (one per Ethernet raw header); ``in_ports`` maps
    (agent address, input ifIndex) to a switch port name, for attribution by in_port (none for
    a sample that came in over a tunnel: counted where it was sent from)."""
    rate = max(sample.sampling_rate, 1)
    in_port = None
    if in_ports is not None and sample.input.format == 0:
        if in_ports.tunnelled(sample.agent.address, sample.input.value):
            return []
        in_port = in_ports.port(sample.agent.address, sample.input.value)
    out: list[Observation | Unmatched] = []
    for header in sample.headers:
        frame = header.frame
        if frame is None:
            continue
        octets = max(header.frame_length - header.stripped, 0) * rate
        nsh = frame.nsh
        if nsh is not None:
            if nsh.si == 255:
                out.append(Observation(nsh.spi, 255, Role.CLASSIFY, Source.SAMPLES, rate, octets, frame.flow, 1))
            else:
                out.append(Observation(nsh.spi, nsh.si + 1, Role.HOP_OUT, Source.SAMPLES, rate, octets, frame.flow, 1))
            continue
        found = attributor.attribute(frame.flow, in_port) if frame.flow is not None else None
        if found is None:
            out.append(Unmatched(Source.SAMPLES, rate, octets))
        else:
            out.append(Observation(found.spi, found.si, found.role, Source.SAMPLES, rate, octets, frame.flow, 1))
    return out


def observe(records: Iterable[object], attributor: Attributor, in_ports: PortMap | None = None) -> list[Observation | Unmatched]:
    """Observations of one delivery's records (sFlow samples or data records; others skipped)."""
    out: list[Observation | Unmatched] = []
    for r in records:
        if isinstance(r, FlowSample):
            out.extend(observe_sample(r, attributor, in_ports))
        elif isinstance(r, DataRecord):
            got = observe_record(r, attributor)
            if got is not None:
                out.append(got)
    return out
