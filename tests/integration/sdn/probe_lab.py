"""What the telemetry tests share: a collector on 127.0.0.1 whose deliveries a test reads, and
the bridge's sFlow agent / IPFIX exporter set by hand through OVSDB (removed after the test).

Why 127.0.0.1: the session's ovs-vswitchd runs in the host's namespace, so that is where it can
reach a collector of the test process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sdn.telemetry.collector import Collector, Delivery, ListenerSpec, Protocol
from sdn.telemetry.observation import collector_set_ids


class Sink:
    """Every delivery, kept for the test to read (the collector's threads call it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.got: list[Delivery] = []

    def __call__(self, delivery: Delivery) -> None:
        with self.lock:
            self.got.append(delivery)

    def records(self, protocol: Protocol) -> list:
        with self.lock:
            return [r for d in self.got if d.protocol == protocol for r in d.records]


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (value := check()):
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def start_collector(request, on_records: Callable[[Delivery], None],
                    protocols: tuple[Protocol, ...] = (Protocol.SFLOW, Protocol.IPFIX)
                    ) -> tuple[Collector, dict[Protocol, str]]:
    """A started collector (stopped after the test) and its "127.0.0.1:port" per protocol."""
    col = Collector([ListenerSpec(p, port=0, bind="127.0.0.1") for p in protocols], on_records)
    col.start()
    request.addfinalizer(col.stop)
    return col, {p: f"127.0.0.1:{port}" for p, (_, port) in col.addresses().items()}


def hand_sflow(request, ovsdb, bridge: str, target: str, *, sampling: int = 1, polling: int = 1,
               agent: str = "127.0.0.1") -> None:
    """The bridge's sFlow agent at ``target`` (every packet by default; raw headers of 128 B)."""
    request.addfinalizer(lambda: ovsdb.set_sflow(bridge, None))
    ovsdb.set_sflow(bridge, [target], sampling=sampling, polling=polling, header=128, agent=agent)


def hand_ipfix(request, ovs, ovsdb, bridge: str, target: str, *, sampling: int | None = None,
               obs_domain_id: int | None = None, obs_point_id: int | None = None,
               collector_set_base: int | None = None) -> None:
    """IPFIX to ``target``: per bridge (``sampling`` 1 in N), and/or flow-based: one
    Flow_Sample_Collector_Set per observation role from ``collector_set_base`` for sample()
    actions (OVS sends one exporter's templates for one domain only, hence a set per role)."""
    request.addfinalizer(lambda: ovsdb.set_ipfix(bridge, None))
    ovsdb.set_ipfix(bridge, [target], sampling=sampling, obs_domain_id=obs_domain_id, obs_point_id=obs_point_id,
                    cache_active_timeout=1, collector_set_id=collector_set_base)
    if collector_set_base is None:
        return
    row = ovs.vsctl("--bare", "--columns=ipfix", "find", "Flow_Sample_Collector_Set", f"id={collector_set_base}").strip()
    for set_id in collector_set_ids(collector_set_base).values():
        if set_id != collector_set_base:
            ovs.vsctl("--", "--id=@br", "get", "Bridge", bridge, "--", "create", "Flow_Sample_Collector_Set",
                      f"id={set_id}", "bridge=@br", f"ipfix={row}")
