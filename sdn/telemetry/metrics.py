"""The figures' shell: a thread-safe sink for the collector and Prometheus text exposition.

:class:`Telemetry` is the ``on_records`` callback of a :class:`~sdn.telemetry.collector.Collector`
(its threads deliver concurrently) and keeps the pure :class:`~sdn.telemetry.figures.Figures`
behind a lock; the catalogue is swapped whole when the document changes. :class:`ChainMetrics`
is a prometheus_client custom collector that reads them at scrape time (no metric objects to
keep in step), and :func:`serve` exposes a registry on an already-bound TCP socket (e.g. one
opened in the host's network namespace) or a unix socket path.

Counters are cumulative per observation point and ``source`` (probe = exact sample() points,
flows = an exporter's flow counters, samples = estimated from sampling): sources report the
same traffic, so sum over anything but ``source``. Gauges per ``window`` come from snapshots.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import HTTPServer, ThreadingHTTPServer
from socketserver import ThreadingMixIn, UnixStreamServer

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import MetricsHandler
from prometheus_client.registry import Collector as PromCollector
from prometheus_client.registry import CollectorRegistry

from sdn.telemetry.attribution import Attributor, PortMap
from sdn.telemetry.catalogue import PathCatalogue
from sdn.telemetry.collector import Collector, Delivery
from sdn.telemetry.figures import Figures, Snapshot, Source, Total
from sdn.telemetry.observation import Role

WINDOWS = (10.0, 60.0)
HOP_LABELS = ["vnffg", "path", "spi", "si", "hop", "direction", "source"]
PATH_LABELS = ["vnffg", "path", "spi", "source"]
WINDOW_LABELS = ["vnffg", "path", "spi", "window"]


class Telemetry:
    """Deliveries in (from the collector's threads), totals and snapshots out."""

    def __init__(self, catalogue: PathCatalogue | None = None, *, figures: Figures | None = None,
                 in_ports: PortMap | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._figures = figures or Figures()
        self._clock = clock
        self._in_ports = in_ports
        self._catalogue = PathCatalogue()
        self._attributor = Attributor()
        self.set_catalogue(catalogue or PathCatalogue())

    def set_catalogue(self, catalogue: PathCatalogue, in_ports: PortMap | None = None) -> None:
        attributor = Attributor.of(catalogue)
        with self._lock:
            self._catalogue, self._attributor = catalogue, attributor
            if in_ports is not None:
                self._in_ports = in_ports

    @property
    def catalogue(self) -> PathCatalogue:
        return self._catalogue

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            self._figures.ingest(delivery.records, delivery.received, self._attributor, self._in_ports)

    def snapshot(self, window: float, now: float | None = None) -> Snapshot:
        when = self._clock() if now is None else now
        with self._lock:
            self._figures.expire(when)
            return self._figures.snapshot(self._catalogue, when, window)

    def totals(self) -> tuple[list[Total], dict[Source, tuple[int, int]], int]:
        """(per-point totals, unmatched (packets, bytes) by source, observations refused)."""
        with self._lock:
            return self._figures.totals(), self._figures.unmatched(), self._figures.refused


def _window_label(seconds: float) -> str:
    return f"{seconds:g}s"


class ChainMetrics(PromCollector):
    """``nfvchain_*`` families from a :class:`Telemetry` and, if given, the collector's counters."""

    def __init__(self, telemetry: Telemetry, collector: Collector | None = None,
                 windows: Sequence[float] = WINDOWS) -> None:
        self.telemetry, self.collector, self.windows = telemetry, collector, tuple(windows)

    def collect(self) -> Iterator[Metric]:
        yield from self._totals()
        yield from self._windowed()
        if self.collector is not None:
            yield from self._collector(self.collector)

    def _totals(self) -> Iterator[Metric]:
        catalogue = self.telemetry.catalogue
        totals, unmatched, refused = self.telemetry.totals()
        hop_p = CounterMetricFamily("nfvchain_hop_packets", "Packets seen at a hop (into / out of its SF)",
                                    labels=HOP_LABELS)
        hop_b = CounterMetricFamily("nfvchain_hop_bytes", "Bytes seen at a hop (into / out of its SF)",
                                    labels=HOP_LABELS)
        path_p = CounterMetricFamily("nfvchain_path_packets", "Packets that entered a path (classified)",
                                     labels=PATH_LABELS)
        path_b = CounterMetricFamily("nfvchain_path_bytes", "Bytes that entered a path", labels=PATH_LABELS)
        end_p = CounterMetricFamily("nfvchain_path_delivered_packets", "Packets that left a path at its end",
                                    labels=PATH_LABELS)
        end_b = CounterMetricFamily("nfvchain_path_delivered_bytes", "Bytes that left a path at its end",
                                    labels=PATH_LABELS)
        for t in totals:
            info = catalogue.get(t.spi)
            vnffg, path = (info.vnffg, info.path) if info else ("", "")
            if t.role in (Role.HOP_IN, Role.HOP_OUT):
                hop = info.hop(t.si) if info else None
                labels = [vnffg, path, str(t.spi), str(t.si), hop.name if hop else "",
                          "in" if t.role is Role.HOP_IN else "out", str(t.source)]
                hop_p.add_metric(labels, t.packets)
                hop_b.add_metric(labels, t.bytes)
            elif t.role is Role.CLASSIFY:
                path_p.add_metric([vnffg, path, str(t.spi), str(t.source)], t.packets)
                path_b.add_metric([vnffg, path, str(t.spi), str(t.source)], t.bytes)
            else:
                end_p.add_metric([vnffg, path, str(t.spi), str(t.source)], t.packets)
                end_b.add_metric([vnffg, path, str(t.spi), str(t.source)], t.bytes)
        yield from (hop_p, hop_b, path_p, path_b, end_p, end_b)
        un_p = CounterMetricFamily("nfvchain_unattributed_packets", "Packets reported that no path claims",
                                   labels=["source"])
        un_b = CounterMetricFamily("nfvchain_unattributed_bytes", "Bytes reported that no path claims",
                                   labels=["source"])
        for source, (packets, octets) in unmatched.items():
            un_p.add_metric([str(source)], packets)
            un_b.add_metric([str(source)], octets)
        yield un_p
        yield un_b
        yield CounterMetricFamily("nfvchain_figures_refused_observations",
                                  "Observations dropped because the figures hold their maximum of points",
                                  value=refused)

    def _windowed(self) -> Iterator[Metric]:
        loss = GaugeMetricFamily("nfvchain_hop_loss_ratio", "Share of the packets into a hop that did not "
                                 "come out of it, over a window", labels=[*HOP_LABELS[:5], "window", "exact"])
        margin = GaugeMetricFamily("nfvchain_hop_loss_margin", "~95% half-width of an estimated hop loss ratio "
                                   "(0 when exact), over a window", labels=[*HOP_LABELS[:5], "window"])
        rate = GaugeMetricFamily("nfvchain_path_packets_per_second", "Packets entering a path per second, "
                                 "over a window", labels=[*WINDOW_LABELS, "exact"])
        flows = GaugeMetricFamily("nfvchain_path_flows", "Distinct 5-tuples entering a path (at least), over a "
                                  "window", labels=[*WINDOW_LABELS, "exact"])
        for window in self.windows:
            snap = self.telemetry.snapshot(window)
            w = _window_label(window)
            for chain in snap.chains:
                for p in chain.paths:
                    base = [p.vnffg, p.path, str(p.spi)]
                    if p.entered is not None:
                        exact = str(p.entered.exact).lower()
                        rate.add_metric([*base, w, exact], p.entered.packets / window)
                        if p.entered.flows is not None:
                            flows.add_metric([*base, w, exact], p.entered.flows)
                    for h in p.hops:
                        if h.loss is not None:
                            loss.add_metric([*base, str(h.si), h.name, w, str(h.loss.exact).lower()], h.loss.ratio)
                            margin.add_metric([*base, str(h.si), h.name, w], h.loss.margin)
        yield from (loss, margin, rate, flows)

    def _collector(self, collector: Collector) -> Iterator[Metric]:
        labels = ["exporter", "protocol"]
        datagrams = CounterMetricFamily("nfvchain_collector_datagrams", "Datagrams received per exporter",
                                        labels=labels)
        records = CounterMetricFamily("nfvchain_collector_records", "Records decoded per exporter", labels=labels)
        seen = GaugeMetricFamily("nfvchain_collector_last_seen_timestamp_seconds",
                                 "When an exporter's last datagram arrived", labels=labels)
        for e in collector.exporters():
            datagrams.add_metric([e.address, str(e.protocol)], e.datagrams)
            records.add_metric([e.address, str(e.protocol)], e.records)
            seen.add_metric([e.address, str(e.protocol)], e.last_seen)
        drops = CounterMetricFamily("nfvchain_collector_drops", "Units dropped between socket and figures, "
                                    "by reason", labels=["reason"])
        for reason, count in collector.drops().by_reason.items():
            drops.add_metric([str(reason)], count)
        yield from (datagrams, records, seen, drops)


def registry(telemetry: Telemetry, collector: Collector | None = None,
             windows: Sequence[float] = WINDOWS) -> CollectorRegistry:
    """A registry of its own (not prometheus_client's global one) holding the chain metrics."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ChainMetrics(telemetry, collector, windows))
    return reg


class _UnixHTTPServer(ThreadingMixIn, UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        request, _ = super().get_request()
        return request, ("unix", 0)        # BaseHTTPRequestHandler wants a (host, port) pair


class MetricsServer:
    """An HTTP server for one registry on its own thread; :meth:`close` stops it and closes
    the socket (a unix socket path it created is removed)."""

    def __init__(self, server: HTTPServer | _UnixHTTPServer, unix_path: str | None) -> None:
        self._server, self._unix_path = server, unix_path
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name="metrics-http")
        self._thread.start()

    @property
    def address(self) -> object:
        return self._server.server_address

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
        if self._unix_path is not None:
            try:
                os.unlink(self._unix_path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(reg: CollectorRegistry, *, sock: socket.socket | None = None, unix_path: str | None = None
          ) -> MetricsServer:
    """Serve ``reg`` on ``sock`` (a bound TCP socket; it is put in listening state and closed
    with the server) or on a new unix socket at ``unix_path`` (a stale socket there is
    replaced; any other file is refused)."""
    if (sock is None) == (unix_path is None):
        raise ValueError("metrics: give exactly one of sock or unix_path")
    handler = MetricsHandler.factory(reg)
    if sock is not None:
        server = ThreadingHTTPServer(sock.getsockname()[:2], handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        server.daemon_threads = True
        sock.listen(16)
        return MetricsServer(server, None)
    assert unix_path is not None
    try:
        if not stat.S_ISSOCK(os.lstat(unix_path).st_mode):
            raise FileExistsError(f"metrics: {unix_path} exists and is not a socket")
        os.unlink(unix_path)
    except FileNotFoundError:
        pass
    unix = _UnixHTTPServer(unix_path, handler)
    return MetricsServer(unix, unix_path)
