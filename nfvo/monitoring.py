"""The stack's telemetry adapter (imperative shell): collectors, figures and metrics endpoints.

Exporters outside the stack (a switch, ``softflowd`` on a host) must reach the collectors from
the host, but the all-in-one lives in a private network namespace: a socket keeps the namespace
it was created in, so :func:`open_host_sockets` runs *before* the stack enters its namespace
(UDP on the standard ports, the metrics HTTP socket on 127.0.0.1). A port already taken (another
stack, another collector) falls back to an ephemeral one, shown in ``nfv status``, unless the
configuration says ``strict``. Inside the namespace :class:`StackMonitor` adds listeners on
127.0.0.1 for the stack's own OVS, feeds every record to one :class:`Telemetry`, follows the
controller's document (``on_document``) and implements the NFVO's ``TelemetryPort``.

sFlow samples say the port a frame came in on by its ifIndex; :class:`PortIndex` keeps the map
(agent address, ifIndex) -> port name from each switch's OVSDB (``Interface.ifindex``), so a
plain frame is attributed by the port it arrived on (an NSH-unaware hop's way back is its
hop-out, not a second entry; a sample that came in over a tunnel, ifIndex 0, is no observation:
``sdn.telemetry.attribution.PortMap``). A switch's agent address is ``probes.agent_of(switch)``: the
document's ``sflow_agent``, or with ``sflow_agent_tunnel_ip`` (several compute hosts, whose
ifIndexes overlap) each switch's own underlay address; it must be an IP (OVS picks one itself
otherwise, and that switch's map stays empty). Re-read on every document and every few
seconds: a respawned VDU's port comes back under its name with a new ifIndex.

On ``nfv up --hosts N`` the switches are the compute hosts' OVS, each in its own namespace,
reaching the stack's only over the rack's management network: the listeners inside then bind
the stack's management address (``internal_bind``) instead of 127.0.0.1, and ``exporters``
names the switch each exporter address is (its agent / tunnel IP).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dataplane.ovsdb import Ovsdb, OvsdbError
from nfvo.telemetry import Component, StackStatus
from vnfm.metrics import CHAIN_METRICS, Subject
from sdn.document import SFLOW_SAMPLING, SfcDocument, Switch
from sdn.telemetry.attribution import PortMap
from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.collector import (DEFAULT_PORTS, Collector, ExporterStats, ListenerSpec, Protocol,
                                     open_socket)
from sdn.telemetry.figures import Snapshot
from sdn.telemetry.metrics import MetricsServer, Telemetry, registry, serve

log = logging.getLogger(__name__)
DEFAULT_METRICS = "127.0.0.1:9464"
SFLOW_AGENT = "127.0.0.1"      # the stack's own OVS: its sFlow agent address, so ifIndexes can be mapped
PORT_REFRESH = 5.0             # seconds between re-reads of the switches' ifIndexes
ENV = {"sflow_port": "NFV_SFLOW_PORT", "ipfix_port": "NFV_IPFIX_PORT", "netflow_port": "NFV_NETFLOW_PORT",
       "metrics": "NFV_METRICS_ADDRESS", "sampling": "NFV_SFLOW_SAMPLING", "bind": "NFV_COLLECTOR_BIND",
       "ipfix_sampling": "NFV_IPFIX_SAMPLING"}


class MonitorError(Exception):
    """A collector or metrics socket could not be opened (names it and the address)."""


@dataclass(frozen=True)
class MonitorConfig:
    """Where the host-side collectors and metrics listen; port 0 = ephemeral; metrics "" = none."""

    sflow_port: int = DEFAULT_PORTS[Protocol.SFLOW]
    ipfix_port: int = DEFAULT_PORTS[Protocol.IPFIX]
    netflow_port: int = DEFAULT_PORTS[Protocol.NETFLOW9]
    bind: str = "0.0.0.0"
    metrics: str = DEFAULT_METRICS
    # the stack's own OVS: sFlow 1 in N, OVS's own default (its sFlow table's ``sampling``);
    # 1 in 64 costs ~3% of a chain's forwarding CPU (collector 0.42 CPU-s per GB), 1 in 400 ~1%
    # (bench/bench_probe_overhead.py)
    sampling: int = SFLOW_SAMPLING
    # IPFIX sample() on the chain's flows: 1 in N (a power of two; 1 = every packet, exact figures,
    # but sampling every packet costs a userspace datapath ~60% of a chain's throughput, 1 in 256
    # stays within the noise)
    ipfix_sampling: int = 256
    polling: int = 10
    strict: bool = False          # a taken port fails the start instead of falling back

    @property
    def ipfix_probability(self) -> int:
        """OVS's sample() probability (in 65535) for 1 in ``ipfix_sampling``."""
        n = self.ipfix_sampling
        if n < 1 or n & (n - 1) or n > 32768:
            raise MonitorError(f"--ipfix-sampling {n}: must be a power of two from 1 to 32768")
        return 65535 >> (n.bit_length() - 1)

    @property
    def ports(self) -> dict[Protocol, int]:
        return {Protocol.SFLOW: self.sflow_port, Protocol.IPFIX: self.ipfix_port,
                Protocol.NETFLOW9: self.netflow_port}

    @staticmethod
    def from_env(env: Mapping[str, str], **given: object) -> MonitorConfig:
        """Options given (not None) win over ``NFV_*`` environment variables, which win over defaults."""
        values: dict[str, object] = {}
        for key, var in ENV.items():
            if given.get(key) is not None:
                values[key] = given[key]
            elif env.get(var):
                values[key] = env[var] if key in ("metrics", "bind") else int(env[var])
        if given.get("strict") is not None:
            values["strict"] = given["strict"]
        return MonitorConfig(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Listening:
    protocol: Protocol
    requested: int
    address: tuple[str, int]

    @property
    def fell_back(self) -> bool:
        return self.requested != 0 and self.address[1] != self.requested


@dataclass
class HostSockets:
    """Sockets opened in the host's namespace, handed to the collector and the metrics server."""

    udp: dict[Protocol, tuple[socket.socket, Listening]] = field(default_factory=dict)
    metrics: socket.socket | None = None
    metrics_requested: str = ""

    def close(self) -> None:
        for sock, _ in self.udp.values():
            sock.close()
        self.udp.clear()
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None


def _udp(bind: str, port: int) -> socket.socket:
    """No SO_REUSEADDR: on Linux it would let a second stack share (and steal from) the port."""
    return open_socket(bind, port, reuse_address=False)


def _split(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise MonitorError(f"metrics address {address!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def _tcp(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(16)              # at once: a second stack's bind then fails and falls back
    except OSError:
        sock.close()
        raise
    return sock


def _open(what: str, opener: Callable[[int], socket.socket], port: int, strict: bool, where: str) -> socket.socket:
    try:
        return opener(port)
    except OSError as exc:
        if strict or port == 0:
            raise MonitorError(f"{what} on {where}:{port}: {exc.strerror}") from None
        log.warning("%s: port %d is taken (%s); using an ephemeral port", what, port, exc.strerror)
    try:
        return opener(0)
    except OSError as exc:
        raise MonitorError(f"{what} on {where}: {exc.strerror}") from None


def open_host_sockets(config: MonitorConfig) -> HostSockets:
    """Every host-side socket of the config, or none (an error names the one that failed)."""
    host = HostSockets(metrics_requested=config.metrics)
    try:
        for protocol, port in config.ports.items():
            sock = _open(f"{protocol} collector", lambda p: _udp(config.bind, p), port, config.strict, config.bind)
            host.udp[protocol] = (sock, Listening(protocol, port, sock.getsockname()[:2]))
        if config.metrics:
            mhost, mport = _split(config.metrics)
            host.metrics = _open("metrics endpoint", lambda p: _tcp(mhost, p), mport, config.strict, mhost)
    except BaseException:
        host.close()
        raise
    return host


InPorts = dict[tuple[str, int], str]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _agent_switches(document: SfcDocument) -> list[tuple[str, Switch]]:
    """(agent IP, switch) for the switches of ``document`` with an OVSDB address whose sFlow agent
    (``Probes.agent_of``) is an IP: the only ones whose samples can be tied to their ports."""
    probes = document.probes
    if probes is None:
        return []
    return [(agent, switch) for switch in document.switches
            if switch.ovsdb and _is_ip(agent := probes.agent_of(switch))]


def agents_of(document: SfcDocument) -> dict[str, str]:
    """sFlow agent IP -> the switch reporting under it (the first, when switches share one OVS) (pure)."""
    out: dict[str, str] = {}
    for agent, switch in _agent_switches(document):
        out.setdefault(agent, switch.name)
    return out


def in_ports_of(document: SfcDocument, read: Callable[[str, int], Mapping[str, int]]) -> InPorts:
    """(sFlow agent, ifIndex) -> port name for every switch with an agent IP (``_agent_switches``);
    ``read(remote, dpid)`` gives a switch's port name -> ifIndex. Switches sharing one agent
    address (one OVS) share its ifIndex space."""
    out: InPorts = {}
    for agent, switch in _agent_switches(document):
        out.update({(agent, index): name for name, index in read(switch.ovsdb, switch.dpid).items()})
    return out


class PortIndex:
    """Keeps ``on_change(in_ports)`` told the switches' ifIndexes of the latest document (a
    thread of its own: OVSDB I/O stays off the NFVO's request paths and the collector's)."""

    def __init__(self, on_change: Callable[[InPorts], None], every: float = PORT_REFRESH) -> None:
        self._on_change, self._every = on_change, every
        self._document: SfcDocument | None = None
        self._wake, self._stop = threading.Event(), threading.Event()
        self._dbs: dict[str, Ovsdb] = {}            # this thread's only
        self._last: InPorts | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="telemetry-ports")
        self._thread.start()

    def submit(self, document: SfcDocument) -> None:
        self._document = document
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(self._every)
                self._wake.clear()
                document = self._document
                if document is None or self._stop.is_set():
                    continue
                found = in_ports_of(document, self._read)
                if found != self._last:
                    self._last = found
                    self._on_change(found)
        finally:
            for db in self._dbs.values():
                db.close()

    def _read(self, remote: str, dpid: int) -> Mapping[str, int]:
        try:
            db = self._dbs.get(remote) or self._dbs.setdefault(remote, Ovsdb(remote, timeout=5.0))
            return db.ifindexes(db.bridge_of(dpid))
        except (OvsdbError, OSError) as exc:
            log.warning("telemetry: ifIndexes of switch %#x via %s: %s", dpid, remote, exc)
            stale = self._dbs.pop(remote, None)
            if stale is not None:
                stale.close()
            return {}


class StackMonitor:
    """Collector + figures + metrics endpoints of one stack; the NFVO's ``TelemetryPort``."""

    def __init__(self, host: HostSockets, state_dir: Path, *,
                 components: Callable[[], Sequence[Component]] = tuple, internal_bind: str = "127.0.0.1") -> None:
        self._host, self._state_dir, self._components = host, state_dir, components
        self._internal_bind = internal_bind   # where the stack's switches reach the collector
        self.telemetry = Telemetry()
        self.document: SfcDocument | None = None   # the controller's, as last applied (on_document)
        self._internal: dict[Protocol, socket.socket] = {}
        self._collector: Collector | None = None
        self._servers: list[MetricsServer] = []
        self._ports = PortIndex(self._on_ports)
        self._catalogue_lock = threading.Lock()
        self.metrics_url = ""
        self.metrics_unix = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Listeners on ``internal_bind`` (this namespace) beside the host-side ones, then the
        metrics endpoints; on failure everything opened here is closed again."""
        try:
            for protocol in Protocol:
                try:
                    self._internal[protocol] = _udp(self._internal_bind, 0)
                except OSError as exc:
                    raise MonitorError(f"{protocol} collector on {self._internal_bind} inside the stack: "
                                       f"{exc.strerror}") from None
            specs = [ListenerSpec(p, sock=s) for p, (s, _) in self._host.udp.items()]
            specs += [ListenerSpec(p, sock=s) for p, s in self._internal.items()]
            self._collector = Collector(specs, self.telemetry)
            self._collector.start()
            self._ports.start()
            reg = registry(self.telemetry, self._collector)
            if self._host.metrics is not None:
                server = serve(reg, sock=self._host.metrics)
                self._host.metrics = None            # the server owns and closes it now
                self._servers.append(server)
                mhost, mport = server.address[:2]  # type: ignore[index]
                self.metrics_url = f"http://{f'[{mhost}]' if ':' in mhost else mhost}:{mport}/metrics"
            unix = str(self._state_dir / "metrics.sock")
            self._servers.append(serve(reg, unix_path=unix))
            self.metrics_unix = unix
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._ports.close()
        for server in reversed(self._servers):
            server.close()
        self._servers.clear()
        if self._collector is not None:
            self._collector.stop()
            self._collector = None
        for sock in self._internal.values():
            sock.close()
        self._internal.clear()
        self._host.close()

    # -- what the stack wires --------------------------------------------------------------------
    @property
    def internal_targets(self) -> dict[Protocol, str]:
        """"address:port" per protocol: where the stack's switches export (127.0.0.1 for its own
        OVS, the management address for compute hosts')."""
        return {p: f"{self._internal_bind}:{s.getsockname()[1]}" for p, s in self._internal.items()}

    @property
    def host_listening(self) -> list[Listening]:
        return [listening for _, listening in self._host.udp.values()]

    def on_document(self, document: SfcDocument) -> None:
        """The ``ChainEngine`` hook: figures name chains and hops after the controller's document."""
        with self._catalogue_lock:   # never a port map's update with an older catalogue
            self.document = document
            self.telemetry.set_catalogue(catalogue_of(document))
        self._ports.submit(document)

    def _on_ports(self, in_ports: InPorts) -> None:
        with self._catalogue_lock:
            self.telemetry.set_catalogue(self.telemetry.catalogue, PortMap.of(in_ports))

    # -- TelemetryPort ---------------------------------------------------------------------------
    def snapshot(self, window: float) -> Snapshot:
        return self.telemetry.snapshot(window)

    def exporters(self) -> Sequence[ExporterStats]:
        """What the collectors heard, each exporter named by the switch its address is the agent of."""
        if self._collector is None:
            return []
        switches = agents_of(self.document) if self.document is not None else {}
        return [replace(e, switch=switches.get(e.address, "")) for e in self._collector.exporters()]

    def status(self) -> StackStatus:
        up = self._collector is not None
        parts = list(self._components())
        for listening in self.host_listening:
            host, port = listening.address
            detail = f"port {listening.requested} was taken; fell back to {port}" if listening.fell_back else ""
            parts.append(Component(f"collector-{listening.protocol}", "up" if up else "down",
                                   (f"udp:{host}:{port}", f"udp:{self.internal_targets.get(listening.protocol, '')}"),
                                   detail or f"host side, and {self._internal_bind} inside the stack for its switches"))
        requested = self._host.metrics_requested
        fell_back = bool(self.metrics_url and requested and not self.metrics_url.endswith(f":{_split(requested)[1]}/metrics"))
        parts.append(Component("metrics", "up" if self._servers else "down",
                               tuple(a for a in (self.metrics_url, f"unix:{self.metrics_unix}" if self.metrics_unix
                                                 else "") if a),
                               f"{requested} was taken" if fell_back else "Prometheus text exposition"))
        return StackStatus(tuple(parts), self.metrics_url)


MAX_LOSS_MARGIN = 0.05     # an estimated loss ratio this uncertain (~95%) is no sample for hop.loss


class ChainMetrics:
    """Chain and hop figures for VNFD alarms (a ``vnfm.metrics.MetricSource``): the subject VDU is
    a hop wherever one of its ports (named from its VIM key) is an SF instance's port in the
    controller's document. ``chain.packets_rate``: packets per second entering the paths through
    it; ``hop.loss``: the worst loss ratio at its hops (into the hop vs out of it, one source on
    both sides). Both over the alarm's own ``window`` (its granularity, Aodh's period), None (no
    sample) while it is in no chain or nothing was observed -- and for a loss estimated from
    sampling with a margin above ``MAX_LOSS_MARGIN``: a handful of samples says nothing of 5%
    loss, so a short period needs exact probes (``--ipfix-sampling 1``) and a long one averages."""

    metrics = CHAIN_METRICS

    def __init__(self, monitor: StackMonitor, *, max_margin: float = MAX_LOSS_MARGIN) -> None:
        self._monitor, self.max_margin = monitor, max_margin

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        document = self._monitor.document
        if document is None:
            return None
        names = {fn.name for fn in document.service_functions for i in fn.instances
                 if i.port.startswith(subject.key) or (i.egress_port or "").startswith(subject.key)}
        if not names:
            return None
        snap = self._monitor.snapshot(window)
        return chain_metric(metric, snap, names, self.max_margin)


def chain_metric(metric: str, snap: Snapshot, hops_named: set[str], max_margin: float = MAX_LOSS_MARGIN
                 ) -> float | None:
    """``metric`` of the hops named in ``snap`` (pure): see :class:`ChainMetrics`."""
    hops = [(p, h) for c in snap.chains for p in c.paths for h in p.hops if h.name in hops_named]
    if metric == "hop.loss":
        ratios = [h.loss.ratio for _, h in hops if h.loss is not None and h.loss.margin <= max_margin]
        return max(ratios) if ratios else None
    entered = {p.spi: p.entered.packets for p, _ in hops if p.entered is not None}
    return sum(entered.values()) / snap.window if entered else None
