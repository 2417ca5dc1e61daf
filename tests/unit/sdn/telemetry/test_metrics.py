"""Prometheus exposition of the figures and the collector's counters, read back with
prometheus_client's own parser, served over a TCP socket and a unix socket."""

from __future__ import annotations

import http.client
import os
import socket
import time

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.collector import Collector, Delivery, ListenerSpec, Protocol
from sdn.telemetry.metrics import Telemetry, registry, serve
from sdn.telemetry.observation import ObservationPoint, Role
from tests.unit.sdn.telemetry import sflow_encode as enc
from tests.unit.sdn.telemetry.chain_doc import WEB, document
from tests.unit.sdn.telemetry.test_figures import counts, ipfix_records, nsh_frame, sflow_samples

NOW = 1_000.0


def fed() -> Telemetry:
    tel = Telemetry(catalogue_of(document()), clock=lambda: NOW)
    for point, packets in ((ObservationPoint(WEB, 255, Role.CLASSIFY), 100), (ObservationPoint(WEB, 255, Role.HOP_IN), 100),
                           (ObservationPoint(WEB, 254, Role.HOP_IN), 80), (ObservationPoint(WEB, 253, Role.END), 80)):
        tel(Delivery(Protocol.IPFIX, "192.0.2.10", NOW - 2, ipfix_records(point, [counts(packets)])))
    return tel


def samples(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(found: list, **labels) -> float:
    (hit,) = [s.value for s in found if all(s.labels.get(k) == v for k, v in labels.items())]
    return hit


def test_exposition_parses_and_carries_the_figures():
    text = generate_latest(registry(fed())).decode()
    got = samples(text)
    hop = got["nfvchain_hop_packets"]
    assert value(hop, vnffg="web", path="http", spi=str(WEB), si="255", hop="fw", direction="in",
                 source="probe") == 100
    assert value(hop, si="254", hop="ids", direction="in") == 80
    assert value(got["nfvchain_hop_bytes"], si="254") == 8000
    assert value(got["nfvchain_path_packets"], vnffg="web", path="http", source="probe") == 100
    assert value(got["nfvchain_path_delivered_packets"], path="http") == 80
    loss = got["nfvchain_hop_loss_ratio"]
    assert value(loss, hop="fw", window="10s", exact="true") == pytest.approx(0.2)
    assert value(loss, hop="ids", window="60s") == 0.0
    assert value(got["nfvchain_path_packets_per_second"], path="http", window="10s") == pytest.approx(10.0)
    assert "nfvchain_hop_packets_total{" in text       # counters keep the _total suffix in the text


def test_collector_counters_per_exporter_and_drops_by_reason():
    tel = Telemetry(catalogue_of(document()))
    col = Collector([ListenerSpec(Protocol.SFLOW, port=0, bind="127.0.0.1")], tel)
    col.start()
    try:
        port = col.addresses()[Protocol.SFLOW][1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            tx.sendto(enc.datagram([enc.flow_sample([enc.raw_header(nsh_frame(WEB, 254))], rate=32)]), ("127.0.0.1", port))
            tx.sendto(b"\x00\x00\x00\x04junk", ("127.0.0.1", port))
        deadline = time.monotonic() + 10
        while sum(e.datagrams for e in col.exporters()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = samples(generate_latest(registry(tel, col)).decode())
    finally:
        col.stop()
    assert value(got["nfvchain_collector_datagrams"], exporter="127.0.0.1", protocol="sflow") == 2
    assert value(got["nfvchain_collector_records"], exporter="127.0.0.1", protocol="sflow") == 1
    assert value(got["nfvchain_collector_drops"], reason="bad_version") == 1
    assert value(got["nfvchain_hop_packets"], hop="fw", direction="out", source="samples") == 32


def test_estimated_sources_are_marked():
    tel = Telemetry(catalogue_of(document()), clock=lambda: NOW)
    tel(Delivery(Protocol.SFLOW, "192.0.2.1", NOW - 2, sflow_samples([nsh_frame(WEB, 255)] * 2 + [nsh_frame(WEB, 254)])))
    got = samples(generate_latest(registry(tel)).decode())
    assert value(got["nfvchain_path_packets"], path="http", source="samples") == 128
    assert value(got["nfvchain_hop_loss_ratio"], hop="fw", window="10s", exact="false") == pytest.approx(0.5)
    assert value(got["nfvchain_hop_loss_margin"], hop="fw", window="10s") == 1.0     # 2 samples vs 1 say nothing


def test_serve_on_a_bound_socket_and_on_a_unix_socket(tmp_path):
    reg = registry(fed())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    with serve(reg, sock=sock) as server:
        host, port = server.address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/plain")
        assert value(samples(body)["nfvchain_hop_packets"], hop="fw") == 100
    assert sock.fileno() == -1                                    # closed with the server
    path = str(tmp_path / "metrics.sock")
    with serve(reg, unix_path=path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(5)
            c.connect(path)
            c.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := c.recv(65536):
                data += chunk
        head, _, body = data.decode().partition("\r\n\r\n")
        assert head.startswith("HTTP/1.0 200") and "nfvchain_hop_packets_total" in body
    assert not os.path.exists(path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a socket"):
        serve(reg, unix_path=str(tmp_path / "file"))
    with pytest.raises(ValueError, match="exactly one"):
        serve(reg)
