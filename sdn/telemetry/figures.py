"""Per-chain, per-path, per-hop figures over sliding windows, from decoded records (pure).

Records become observations at points (SPI, SI, role) of a path, each from a source (probe,
flows, sampled, samples): ``sdn.telemetry.observe``, whose names are re-exported here.

A point's figure in a window comes from the best source that reported it (probe, flows,
sampled, then samples), never from their sum: two feeds of the same traffic are not added (the
stack's sFlow and its sample() at 1 in N both see every classified packet). A point seen
once is zero when its source is silent in a window (OVS exports only flows that moved); one never
seen is unknown (None). Loss of a hop is packets into it minus packets out of it: into = its
hop-in point, else what came out of the hop before (else the path's entry); out = its hop-out
point, else the next hop's hop-in, else the path's end -- both counted by one source where one
saw both sides (an exact probe into a hop against sFlow's estimate out of it would read the
sampling error as loss), and compared as rates over each point's own records (exporters flush
at their own phases, see :func:`_aligned`); an estimate carries its margin. Time is a
parameter: buckets of ``granularity`` seconds indexed by the ``at`` given with each record; a
window is the whole buckets that ended by ``now`` (the one still filling lags behind the
exporters). The class keeps state but does no I/O; it is not thread-safe (the shell locks).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from dataplane.packet import FiveTuple
from sdn.telemetry.attribution import Attributor, PortMap
from sdn.telemetry.catalogue import PathCatalogue, PathInfo
from sdn.telemetry.loss import Loss, margin
from sdn.telemetry.observe import PREFERENCE, Observation, Source, Unmatched, observe, observe_record, observe_sample
from sdn.telemetry.observation import Role

__all__ = [  # records -> observations live in sdn.telemetry.observe
    "PREFERENCE", "ChainFigures", "Count", "Figures", "HopFigures", "Loss", "Observation", "PathFigures", "Snapshot",
    "Source", "Talker", "Total", "Unmatched", "observe", "observe_record", "observe_sample",
]


# ----------------------------------------------------------------- figures (values)

@dataclass(frozen=True, slots=True)
class Count:
    packets: int
    bytes: int
    flows: int | None              # distinct 5-tuples (at least), None when the source has none
    source: Source
    samples: int = 0               # packets actually sampled behind an estimate (0 when exact)

    @property
    def exact(self) -> bool:
        return self.source.exact


@dataclass(frozen=True, slots=True)
class Talker:
    flow: FiveTuple
    packets: int
    bytes: int


@dataclass(frozen=True, slots=True)
class HopFigures:
    si: int
    name: str
    into: Count | None
    out: Count | None
    loss: Loss | None


@dataclass(frozen=True)
class PathFigures:
    spi: int
    name: str
    vnffg: str
    path: str
    entered: Count | None
    delivered: Count | None
    hops: tuple[HopFigures, ...]
    top: tuple[Talker, ...] = ()


@dataclass(frozen=True)
class ChainFigures:
    vnffg: str
    paths: tuple[PathFigures, ...]
    packets: int
    bytes: int
    flows: int | None
    exact: bool
    top: tuple[Talker, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    now: float
    window: float
    chains: tuple[ChainFigures, ...]
    unknown_spis: tuple[int, ...] = ()     # observed, but not in the catalogue

    def chain(self, vnffg: str) -> ChainFigures | None:
        return next((c for c in self.chains if c.vnffg == vnffg), None)

    def path(self, spi: int) -> PathFigures | None:
        return next((p for c in self.chains for p in c.paths if p.spi == spi), None)


@dataclass(frozen=True, slots=True)
class Total:
    """Cumulative counts of one point and source since the figures began (Prometheus counters)."""

    spi: int
    si: int
    role: Role
    source: Source
    packets: int
    bytes: int


# ----------------------------------------------------------------- the accumulator

Key = tuple[int, int, Role, Source]
PointKey = tuple[int, int, Role]


class _Bucket:
    __slots__ = ("packets", "bytes", "samples", "last", "flows")

    def __init__(self) -> None:
        self.packets = self.bytes = self.samples = 0
        self.last = 0.0            # when the latest observation arrived
        self.flows: dict[FiveTuple, list[int]] | None = None


class _Series:
    __slots__ = ("packets", "bytes", "buckets")

    def __init__(self) -> None:
        self.packets = self.bytes = 0
        self.buckets: dict[int, _Bucket] = {}


@dataclass
class _Window:
    packets: int = 0
    bytes: int = 0
    samples: int = 0
    flows: Counter[FiveTuple] = field(default_factory=Counter)    # bytes per flow
    flow_packets: Counter[FiveTuple] = field(default_factory=Counter)
    has_flows: bool = False
    seen: bool = False
    lo: int = 0                    # the window's first and last bucket
    hi: int = -1
    last: dict[int, float] = field(default_factory=dict)   # latest arrival per bucket, window and EDGE before
    span: float = 1.0              # the window's seconds


EDGE = 3    # buckets looked back from a window edge for a point's latest record


class Figures:
    """Observations in, figures out. ``max_window`` bounds what is kept; ``max_flows`` the
    distinct 5-tuples kept per point and bucket (more are counted, not named)."""

    def __init__(self, *, granularity: float = 1.0, max_window: float = 300.0, max_flows: int = 4096,
                 max_series: int = 65536) -> None:
        if granularity <= 0 or max_window < granularity:
            raise ValueError("figures: granularity must be > 0 and max_window >= granularity")
        self.granularity, self.max_window = granularity, max_window
        self.max_flows, self.max_series = max_flows, max_series
        self._series: dict[Key, _Series] = {}
        self._unmatched: dict[Source, list[int]] = {}
        self.refused = 0           # observations dropped because max_series points exist

    def _index(self, at: float) -> int:
        return math.floor(at / self.granularity)

    def add(self, obs: Observation | Unmatched, at: float) -> None:
        self._add(obs, at, self._index(at))

    def _add(self, obs: Observation | Unmatched, at: float, index: int) -> None:
        if isinstance(obs, Unmatched):
            tally = self._unmatched.setdefault(obs.source, [0, 0])
            tally[0] += obs.packets
            tally[1] += obs.bytes
            return
        key = (obs.spi, obs.si, obs.role, obs.source)
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= self.max_series:
                self.refused += 1
                return
            series = self._series[key] = _Series()
        series.packets += obs.packets
        series.bytes += obs.bytes
        bucket = series.buckets.get(index)
        if bucket is None:
            oldest = self._index(at - self.max_window)
            for old in [i for i in series.buckets if i < oldest]:
                del series.buckets[old]
            if index < oldest:
                return                 # older than anything kept: in the totals only
            bucket = series.buckets[index] = _Bucket()
        bucket.packets += obs.packets
        bucket.bytes += obs.bytes
        bucket.samples += obs.samples
        bucket.last = max(bucket.last, at)
        if obs.flow is not None:
            if bucket.flows is None:
                bucket.flows = {}
            counts = bucket.flows.get(obs.flow)
            if counts is not None:
                counts[0] += obs.packets
                counts[1] += obs.bytes
            elif len(bucket.flows) < self.max_flows:
                bucket.flows[obs.flow] = [obs.packets, obs.bytes]

    def ingest(self, records: Iterable[object], at: float, attributor: Attributor,
               in_ports: PortMap | None = None) -> int:
        """Add one delivery's records; returns how many observations they gave."""
        got = observe(records, attributor, in_ports)
        index, add = self._index(at), self._add         # one bucket index per delivery
        for obs in got:
            add(obs, at, index)
        return len(got)

    def expire(self, now: float) -> None:
        """Forget buckets past ``max_window`` (totals stay)."""
        oldest = self._index(now - self.max_window)
        for series in self._series.values():
            for old in [i for i in series.buckets if i < oldest]:
                del series.buckets[old]

    # -- reading ---------------------------------------------------------------------------
    def totals(self) -> list[Total]:
        return [Total(spi, si, role, source, s.packets, s.bytes)
                for (spi, si, role, source), s in sorted(self._series.items(), key=lambda kv: kv[0])]

    def unmatched(self) -> dict[Source, tuple[int, int]]:
        """(packets, bytes) no path claimed, by source, since the figures began."""
        return {s: (p, b) for s, (p, b) in sorted(self._unmatched.items())}

    def _window(self, series: _Series, lo: int, hi: int) -> _Window:
        w = _Window(lo=lo, hi=hi, span=(hi - lo + 1) * self.granularity)
        for index, b in series.buckets.items():
            if lo - EDGE <= index <= hi:
                w.last[index] = b.last
            if lo <= index <= hi:
                w.seen = True
                w.packets += b.packets
                w.bytes += b.bytes
                w.samples += b.samples
                if b.flows is not None:
                    w.has_flows = True
                    for flow, (p, o) in b.flows.items():
                        w.flow_packets[flow] += p
                        w.flows[flow] += o
        return w

    def snapshot(self, catalogue: PathCatalogue, now: float, window: float, *, top: int = 10) -> Snapshot:
        """Figures of the last ``window`` seconds of whole buckets ended by ``now`` for every
        catalogued path: the bucket still filling is left out, as its records are still arriving
        (a rate over it reads low, a loss compares one side's record with the other's not yet
        exported)."""
        hi = self._index(now) - 1
        lo = hi - max(1, round(window / self.granularity)) + 1
        windows: dict[PointKey, dict[Source, _Window]] = {}
        for (spi, si, role, source), series in self._series.items():
            windows.setdefault((spi, si, role), {})[source] = self._window(series, lo, hi)

        def at(spi: int, si: int, role: Role) -> dict[Source, _Window]:
            return windows.get((spi, si, role), {})

        paths = [_path(info, at, top) for info in catalogue.paths.values()]
        by_chain: dict[str, list[PathFigures]] = {}
        for p in sorted(paths, key=lambda p: (p.vnffg, p.path)):
            by_chain.setdefault(p.vnffg, []).append(p)
        chains = tuple(_chain(name, tuple(ps), top) for name, ps in by_chain.items())
        unknown = tuple(sorted({spi for spi, _, _ in windows} - set(catalogue.paths)))
        return Snapshot(now, window, chains, unknown)


_At = Callable[[int, int, Role], "dict[Source, _Window]"]


def _figure(w: _Window, source: Source) -> Count:
    return Count(w.packets, w.bytes, len(w.flows) if w.has_flows else None, source, w.samples)


def _best(found: Mapping[Source, _Window]) -> _Window | None:
    """The preferred source that reported in the window, else the preferred one (silent: zero)."""
    ranked = [found[s] for s in PREFERENCE if s in found]
    return next((w for w in ranked if w.seen), ranked[0]) if ranked else None


def _best_count(found: Mapping[Source, _Window]) -> Count | None:
    w = _best(found)
    return None if w is None else _figure(w, next(s for s, x in found.items() if x is w))


def _path(info: PathInfo, at: _At, top: int) -> PathFigures:
    """A path's figures: each point by its best source; a hop's out is the first of its hop-out,
    the next hop's hop-in and the path's end that a source reported (per source, so the loss can
    compare one source on both sides)."""
    entry = at(info.spi, 255, Role.CLASSIFY)
    entered = _best_count(entry)
    hops: list[HopFigures] = []
    previous_out: Mapping[Source, _Window] = entry
    for hop in info.hops:
        s = hop.si
        into = at(info.spi, s, Role.HOP_IN) or previous_out
        points = [(s, Role.HOP_OUT), (s - 1, Role.HOP_IN)] + ([(s - 1, Role.END)] if s - 1 == info.end_si else [])
        out: dict[Source, _Window] = {}
        for si, role in points:
            for source, w in at(info.spi, si, role).items():
                out.setdefault(source, w)
        hops.append(HopFigures(s, hop.name, _best_count(into), _best_count(out), _loss(into, out)))
        previous_out = out
    end = at(info.spi, info.end_si, Role.END)
    delivered = _best_count(end) if end else _best_count(previous_out)
    best_entry = _best(entry)
    return PathFigures(info.spi, info.name, info.vnffg, info.path, entered, delivered, tuple(hops),
                       _top(best_entry, top) if best_entry is not None else ())


def _loss(into: Mapping[Source, _Window], out: Mapping[Source, _Window]) -> Loss | None:
    """The loss by the preferred source that counted both sides (something went in); else the
    best count of each side, marked inexact."""
    common = next((s for s in PREFERENCE if s in into and s in out and into[s].packets > 0), None)
    if common is not None:
        a, b = _figure(into[common], common), _figure(out[common], common)
    else:
        got_in, got_out = _best_count(into), _best_count(out)
        if got_in is None or got_out is None:
            return None
        a, b = got_in, got_out
    if a.packets <= 0:
        return None
    lost = a.packets - b.packets
    if common is not None and (out_then := _aligned(into[common], out[common])) is not None:
        lost = round(a.packets - out_then)
    return Loss(lost, min(max(lost, 0) / a.packets, 1.0), a.exact and b.exact,
                margin(a.packets, b.packets, None if a.exact else a.samples, None if b.exact else b.samples))


def _aligned(into: _Window, out: _Window) -> float | None:
    """Out's packets over the time into's were counted in, None when a side's records do not
    bound the window. Why: each point's exporter flushes a record every second or so at its own
    phase, so the two points' records of the same packets now and then land on either side of a
    bucket edge, and a window's bare counts differ by a record that is no loss. But a window
    holds exactly the records after each point's latest before it, up to its latest in it: the
    packets between those two flushes. Their rates compare whatever the phases."""

    def latest(w: _Window, upto: int) -> float | None:
        return next((w.last[i] for i in range(upto, upto - EDGE, -1) if i in w.last), None)

    spans = []
    for w in (into, out):
        first, last = latest(w, w.lo - 1), latest(w, w.hi)
        if first is None or last is None or last <= first:
            return None
        spans.append(last - first)
    return out.packets * spans[0] / spans[1]


def _top(w: _Window, n: int) -> tuple[Talker, ...]:
    ranked = sorted(w.flows.items(), key=lambda kv: (-kv[1], -w.flow_packets[kv[0]], repr(kv[0])))[:n]
    return tuple(Talker(flow, w.flow_packets[flow], octets) for flow, octets in ranked)


def _chain(vnffg: str, paths: tuple[PathFigures, ...], top: int) -> ChainFigures:
    entered = [p.entered for p in paths if p.entered is not None]
    flows = [c.flows for c in entered if c.flows is not None]
    merged = Counter[FiveTuple]()
    packets = Counter[FiveTuple]()
    for p in paths:
        for t in p.top:
            merged[t.flow] += t.bytes
            packets[t.flow] += t.packets
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], -packets[kv[0]], repr(kv[0])))[:top]
    return ChainFigures(vnffg, paths, sum(c.packets for c in entered), sum(c.bytes for c in entered),
                        sum(flows) if flows else None, all(c.exact for c in entered),
                        tuple(Talker(f, packets[f], b) for f, b in ranked))
