"""The UDP collector on loopback sockets: records reach the callback, per-exporter statistics,
garbage and a failing consumer are counted and the listener stays up, given sockets are used."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from sdn.telemetry.collector import Collector, Delivery, ListenerSpec, Protocol
from sdn.telemetry.drops import Drop
from sdn.telemetry.sflow import FlowSample
from sdn.telemetry.templates import Limits
from tests.unit.sdn.telemetry import sflow_encode as enc
from tests.unit.sdn.telemetry.ipfix_encode import flow_rows, message, template_set, v9_packet
from tests.unit.sdn.telemetry.test_sflow import nsh_frame


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.got: list[Delivery] = []
        self.fail = fail
        self.cond = threading.Condition()

    def __call__(self, delivery: Delivery) -> None:
        with self.cond:
            self.got.append(delivery)
            self.cond.notify_all()
        if self.fail:
            raise ValueError("consumer refuses")

    def wait(self, n: int, timeout: float = 5.0) -> list[Delivery]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.got) >= n, timeout), self.got
            return list(self.got)


def wait_until(check, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (value := check()):
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met")


def send(addr: tuple[str, int], *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, addr)


def test_three_protocols_deliver_and_count_per_exporter():
    sink = Sink()
    specs = [ListenerSpec(p, port=0, bind="127.0.0.1") for p in Protocol]
    with Collector(specs, sink) as collector:
        addrs = collector.addresses()
        t = template_set()
        send(addrs[Protocol.IPFIX], message(t, flow_rows(t, 4)), b"garbage")
        send(addrs[Protocol.SFLOW], enc.datagram([enc.flow_sample([enc.raw_header(nsh_frame())])]))
        v9t = template_set(set_id=0)
        send(addrs[Protocol.NETFLOW9], v9_packet(v9t, flow_rows(v9t, 2)))
        got = sink.wait(3)
        by = {d.protocol: d for d in got}
        assert len(by[Protocol.IPFIX].records) == 4 and len(by[Protocol.NETFLOW9].records) == 2
        (sample,) = by[Protocol.SFLOW].records
        assert isinstance(sample, FlowSample) and sample.headers[0].frame.nsh.spi == 42
        stats = wait_until(lambda: (lambda s: s if len(s) == 3 else None)(
            {(e.address, e.protocol): e for e in collector.exporters()
             if e.datagrams >= (2 if e.protocol == Protocol.IPFIX else 1)}))
        ipfix = stats[("127.0.0.1", Protocol.IPFIX)]
        assert (ipfix.datagrams, ipfix.records, ipfix.drops[Drop.TRUNCATED]) == (2, 4, 1)
        assert ipfix.last_seen > 0
        assert stats[("127.0.0.1", Protocol.SFLOW)].records == 1
        assert collector.drops()[Drop.TRUNCATED] == 1


def test_a_failing_consumer_is_counted_and_the_listener_stays_up():
    sink = Sink(fail=True)
    with Collector([ListenerSpec(Protocol.SFLOW, port=0, bind="127.0.0.1")], sink) as collector:
        addr = collector.addresses()[Protocol.SFLOW]
        data = enc.datagram([enc.counter_sample([enc.generic_counters(1, 2, 3)])])
        send(addr, data, data)
        sink.wait(2)
        wait_until(lambda: collector.drops()[Drop.CALLBACK_ERROR] == 2)


def test_a_given_socket_is_used_and_left_open():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        sink = Sink()
        with Collector([ListenerSpec(Protocol.SFLOW, sock=sock)], sink) as collector:
            assert collector.addresses()[Protocol.SFLOW] == sock.getsockname()
            send(sock.getsockname(), enc.datagram([enc.counter_sample([enc.generic_counters(1, 2, 3)])]))
            sink.wait(1)
        assert sock.fileno() >= 0
    finally:
        sock.close()


def test_a_port_in_use_names_the_listener_and_leaves_nothing_open():
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        collector = Collector([ListenerSpec(Protocol.SFLOW, port=0, bind="127.0.0.1"),
                               ListenerSpec(Protocol.IPFIX, port=port, bind="127.0.0.1")], Sink())
        with pytest.raises(OSError, match=rf"ipfix collector on 127.0.0.1:{port}"):
            collector.start()
        assert collector.addresses() == {}
    finally:
        taken.close()


def test_held_records_of_a_silent_exporter_are_counted_by_the_sweep():
    sink = Sink()
    clock = [1000.0]
    with Collector([ListenerSpec(Protocol.IPFIX, port=0, bind="127.0.0.1")], sink,
                   limits=Limits(held_age=1.0), clock=lambda: clock[0]) as collector:
        send(collector.addresses()[Protocol.IPFIX], message(flow_rows(template_set(), 2)))
        wait_until(lambda: collector.exporters())
        clock[0] += 5.0
        wait_until(lambda: collector.drops()[Drop.UNKNOWN_TEMPLATE_EXPIRED] == 1)


def test_a_datagram_is_stamped_when_it_arrived_not_when_it_was_read():
    """The listener lets datagrams gather (COALESCE) before it reads them; what it hands on
    carries the kernel's arrival stamp, so rates between exports are not off by the wait."""
    sink = Sink()
    datagram = enc.datagram([enc.counter_sample([enc.generic_counters(1, 2, 3)])])
    with Collector([ListenerSpec(Protocol.SFLOW, port=0, bind="127.0.0.1")], sink) as collector:
        addr = collector.addresses()[Protocol.SFLOW]
        send(addr, datagram)
        sink.wait(1)
        time.sleep(0.03)                       # the listener now waits for more to gather
        sent = time.time()
        send(addr, datagram)
        second = sink.wait(2)[1]
        read = time.time()
    assert read - sent > 0.04, "read after the coalescing wait"
    assert abs(second.received - sent) < 0.02, (second.received - sent, read - sent)
