"""The NFVO's telemetry port: what the service asks of the stack's collectors and figures.

The service stays free of sockets and threads: an adapter (``nfvo.monitoring.StackMonitor`` in
the all-in-one) implements :class:`TelemetryPort`; the values it returns are the figures'
own frozen values (``sdn.telemetry.figures``) plus the stack's components for ``nfv status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from sdn.telemetry.collector import ExporterStats
from sdn.telemetry.figures import Snapshot


@dataclass(frozen=True)
class Component:
    """One part of the running stack, with the addresses a user needs to reach it; a supervised
    process (``nfvo.supervisor``) also has its pid, start time (epoch seconds) and restarts."""

    name: str                       # nfvo, controller, ovsdb-server, ovs-vswitchd, ovs, collector-sflow, metrics...
    state: str                      # up | down | degraded | starting | restarting | stopped
    addresses: tuple[str, ...] = ()
    detail: str = ""
    pid: int = 0
    started: float = 0.0
    restarts: int = 0


@dataclass(frozen=True)
class StackStatus:
    components: tuple[Component, ...]
    metrics_url: str = ""


class TelemetryPort(Protocol):
    def snapshot(self, window: float) -> Snapshot:
        """Per-chain figures over the last ``window`` seconds."""
    def exporters(self) -> Sequence[ExporterStats]: ...
    def status(self) -> StackStatus: ...
