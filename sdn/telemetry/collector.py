"""UDP collectors (the I/O shell around the pure decoders): one thread per listener.

Each listener reads datagrams, decodes them with its protocol's decoder and its own template
cache (so listeners share no mutable state), hands the records to the callback and keeps
per-exporter statistics. Everything lost on the way is counted by reason: decoder drops, the
kernel's socket overflows (SO_RXQ_OVFL) and datagrams whose records the callback refused.
A listener may be given an already-open socket (e.g. one opened in another network namespace);
the collector closes only the sockets it opened itself.
"""

from __future__ import annotations

import enum
import logging
import os
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sdn.telemetry import ipfix, netflow9, sflow
from sdn.telemetry.drops import Decoded, Drop, DropCounts
from sdn.telemetry.templates import Limits, TemplateCache

log = logging.getLogger(__name__)

SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)     # Linux: ancillary count of datagrams the kernel dropped
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: ancillary arrival time (CLOCK_REALTIME, ns)
_TIMESPEC = struct.Struct("=qq")
RCVBUF = 4 << 20
MAX_DATAGRAM = 65535
EXPIRE_EVERY = 1.0                                    # seconds between template-cache sweeps
# A wake costs a listener more than decoding a datagram: Python comes back to cold caches on a
# machine whose cores the datapath keeps busy (measured: an sFlow datagram of 6 samples every 5 ms
# costs 84 us/record, the same in bursts of 10 costs 38; under a 450 Mbit/s chain, letting 100 ms
# gather rather than 20 took the collector from 0.65 to 0.42 CPU-s per GB carried). After a wake
# that found fewer than BATCH datagrams the listener lets COALESCE seconds' worth gather first:
# the figures count in 1 s buckets, and 100 ms of datagrams fit the 4 MiB receive buffer at
# any rate a light drain implies (a heavy one never waits).
BATCH, COALESCE = 64, 0.1
OTHER_EXPORTERS = "*"                                 # stats bucket once max_exporters are tracked


class Protocol(enum.StrEnum):
    SFLOW = "sflow"
    IPFIX = "ipfix"
    NETFLOW9 = "netflow9"


DEFAULT_PORTS = {Protocol.SFLOW: 6343, Protocol.IPFIX: 4739, Protocol.NETFLOW9: 2055}


@dataclass(frozen=True)
class ListenerSpec:
    """Where one protocol listens; ``port`` None takes the standard one, 0 an ephemeral one.
    With ``sock`` given, ``bind``/``port`` are ignored and the socket stays the caller's."""

    protocol: Protocol
    port: int | None = None
    bind: str = "0.0.0.0"
    sock: socket.socket | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Delivery:
    """The records one datagram gave (sFlow samples or IPFIX/NetFlow v9 data records)."""

    protocol: Protocol
    exporter: str
    received: float
    records: tuple[object, ...]


@dataclass(frozen=True)
class ExporterStats:
    address: str
    protocol: Protocol
    datagrams: int
    records: int
    drops: DropCounts
    last_seen: float
    switch: str = ""              # the switch this address is the exporter of, where known (the stack says)


def open_socket(bind: str, port: int, *, reuse_address: bool = True) -> socket.socket:
    """A UDP socket bound to (bind, port) with a large receive buffer. ``reuse_address`` False:
    no SO_REUSEADDR, which on Linux would let a second process share (and steal from) the port."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((bind, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Exporter:
    __slots__ = ("datagrams", "records", "drops", "last_seen")

    def __init__(self) -> None:
        self.datagrams = self.records = 0
        self.drops: Counter[Drop] = Counter()
        self.last_seen = 0.0


class _Listener:
    def __init__(self, spec: ListenerSpec, sock: socket.socket, owned: bool, limits: Limits | None) -> None:
        self.spec, self.sock, self.owned = spec, sock, owned
        self.cache = TemplateCache(limits)
        self.overflow_seen = 0
        self.thread: threading.Thread | None = None

    def decode(self, data: bytes, exporter: str, now: float) -> Decoded[object]:
        protocol = self.spec.protocol
        if protocol is Protocol.SFLOW:
            return sflow.decode(data)
        if protocol is Protocol.IPFIX:
            return ipfix.decode(data, exporter, self.cache, now)
        return netflow9.decode(data, exporter, self.cache, now)


class Collector:
    """UDP listeners on threads, handing each datagram's records to ``on_records``."""

    def __init__(self, listeners: Sequence[ListenerSpec], on_records: Callable[[Delivery], None], *,
                 limits: Limits | None = None, max_exporters: int = 4096,
                 clock: Callable[[], float] = time.time) -> None:
        self._specs = tuple(listeners)
        self._on_records, self._limits, self._clock = on_records, limits, clock
        self._max_exporters = max_exporters
        self._listeners: list[_Listener] = []
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, Protocol], _Exporter] = {}
        self._lost: Counter[Drop] = Counter()          # drops no exporter can be blamed for
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open (or adopt) every listener's socket, then start the threads; on failure nothing
        stays open."""
        if self._listeners:
            raise RuntimeError("collector already started")
        try:
            for spec in self._specs:
                if spec.sock is not None:
                    sock, owned = spec.sock, False
                else:
                    port = DEFAULT_PORTS[spec.protocol] if spec.port is None else spec.port
                    try:
                        sock, owned = open_socket(spec.bind, port), True
                    except OSError as exc:
                        raise OSError(exc.errno, f"{spec.protocol} collector on {spec.bind}:{port}: "
                                                 f"{exc.strerror}") from exc
                try:
                    sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
                except OSError:
                    log.warning("%s collector: kernel drop counting (SO_RXQ_OVFL) unavailable", spec.protocol)
                if self._clock is time.time:   # the kernel's stamps are time.time's clock; an injected one rules
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                    except OSError:
                        log.warning("%s collector: arrival stamps (SO_TIMESTAMPNS) unavailable", spec.protocol)
                sock.setblocking(False)
                self._listeners.append(_Listener(spec, sock, owned, self._limits))
            self._wake_r, self._wake_w = os.pipe()
        except BaseException:
            self._close()
            raise
        self._stop.clear()
        for listener in self._listeners:
            listener.thread = threading.Thread(target=self._run, args=(listener,), daemon=True,
                                               name=f"collector-{listener.spec.protocol}")
            listener.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        for listener in self._listeners:
            if listener.thread is not None:
                listener.thread.join(timeout=5)
        self._close()

    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close(self) -> None:
        for listener in self._listeners:
            if listener.owned:
                listener.sock.close()
        self._listeners = []
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # -- what it has seen ----------------------------------------------------------------------
    def addresses(self) -> dict[Protocol, tuple[str, int]]:
        """Where each listener is bound (the real port when 0 was asked for)."""
        return {lst.spec.protocol: lst.sock.getsockname()[:2] for lst in self._listeners}

    def exporters(self) -> list[ExporterStats]:
        with self._lock:
            return sorted((ExporterStats(addr, proto, s.datagrams, s.records, DropCounts.of(s.drops), s.last_seen)
                           for (addr, proto), s in self._stats.items()), key=lambda e: (e.address, e.protocol))

    def drops(self) -> DropCounts:
        """Every drop, the exporters' and the collector's own (socket overflow)."""
        with self._lock:
            total = Counter(self._lost)
            for s in self._stats.values():
                total.update(s.drops)
        return DropCounts.of(total)

    # -- the loop --------------------------------------------------------------------------------
    def _run(self, listener: _Listener) -> None:
        sel = selectors.DefaultSelector()
        sel.register(listener.sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        anc = socket.CMSG_SPACE(4) + socket.CMSG_SPACE(_TIMESPEC.size)
        next_expire = self._clock() + EXPIRE_EVERY
        try:
            while not self._stop.is_set():
                sel.select(timeout=EXPIRE_EVERY)
                drained = 0
                while not self._stop.is_set():
                    try:
                        data, ancdata, _flags, addr = listener.sock.recvmsg(MAX_DATAGRAM, anc)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        log.error("%s collector: receive failed: %s", listener.spec.protocol, exc)
                        return
                    drained += 1
                    self._datagram(listener, data, _host(addr[0]), self._ancillary(listener, ancdata))
                if 0 < drained < BATCH:
                    self._stop.wait(COALESCE)
                now = self._clock()
                if now >= next_expire:
                    next_expire = now + EXPIRE_EVERY
                    expired = listener.cache.expire(now)
                    if expired:
                        with self._lock:
                            for exporter, drop in expired:
                                self._exporter(exporter, listener.spec.protocol).drops[drop] += 1
        finally:
            sel.close()

    def _ancillary(self, listener: _Listener, ancdata: list[tuple[int, int, bytes]]) -> float | None:
        """Count what the kernel dropped before this datagram (SO_RXQ_OVFL); return its arrival
        time (SO_TIMESTAMPNS), None without one. The listener lets datagrams gather before it
        reads them (COALESCE): the time it reads one is not the time it came, and rates between
        exports (``sdn.telemetry.loss``) need the latter."""
        arrived = None
        for level, kind, value in ancdata:
            if level != socket.SOL_SOCKET:
                continue
            if kind == SO_RXQ_OVFL and len(value) >= 4:
                total = struct.unpack("=I", value[:4])[0]
                lost, listener.overflow_seen = (total - listener.overflow_seen) & 0xFFFFFFFF, total
                if lost:
                    with self._lock:
                        self._lost[Drop.SOCKET_OVERFLOW] += lost
            elif kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                arrived = seconds + nanoseconds / 1e9
        return arrived

    def _datagram(self, listener: _Listener, data: bytes, exporter: str, arrived: float | None = None) -> None:
        now = self._clock() if arrived is None else arrived
        decoded = listener.decode(data, exporter, now)
        drops = list(decoded.drops)
        if decoded.records:
            try:
                self._on_records(Delivery(listener.spec.protocol, exporter, now, decoded.records))
            except Exception:
                log.exception("%s collector: records from %s refused by the consumer", listener.spec.protocol, exporter)
                drops.append(Drop.CALLBACK_ERROR)
        with self._lock:
            stats = self._exporter(exporter, listener.spec.protocol)
            stats.datagrams += 1
            stats.records += len(decoded.records)
            stats.last_seen = now
            if drops:
                stats.drops.update(drops)

    def _exporter(self, address: str, protocol: Protocol) -> _Exporter:
        key = (address, protocol)
        stats = self._stats.get(key)
        if stats is None:
            if len(self._stats) >= self._max_exporters:
                key = (OTHER_EXPORTERS, protocol)
            stats = self._stats.setdefault(key, _Exporter())
        return stats


def _host(address: str) -> str:
    """An IPv4 exporter seen on a dual-stack socket is still its IPv4 address."""
    return address[7:] if address.startswith("::ffff:") and "." in address else address
