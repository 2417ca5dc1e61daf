"""Telemetry through the NFVO: the catalogue follows every applied document, the stats/exporter/
status RPCs over a port (real figures behind it), the host-side sockets' fallback, the CLI view."""

from __future__ import annotations

import io
import socket

import grpc
import pytest
from rich.console import Console

from nfvo.api.server import connect, serve
from nfvo.api.stats import vnffg_stats
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.client import to_dict
from nfvo.cli.telemetry import stats_view
from nfvo.monitoring import MonitorConfig, MonitorError, open_host_sockets
from nfvo.telemetry import Component, StackStatus
from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.collector import ExporterStats, Protocol
from sdn.telemetry.drops import Drop, DropCounts
from sdn.telemetry.figures import ChainFigures, Count, Figures, HopFigures, Observation, PathFigures, Source
from sdn.telemetry.loss import Loss
from sdn.telemetry.metrics import Telemetry
from sdn.telemetry.observation import Role
from tests.unit.nfvo.test_api import TACKER, onboard

S = grpc.StatusCode
NOW = 1000.0


class Port:
    """The all-in-one's adapter without sockets: real figures, fixed exporters and status."""

    def __init__(self) -> None:
        self.figures = Figures()
        self.telemetry = Telemetry(figures=self.figures, clock=lambda: NOW)
        self.documents = []

    def on_document(self, document) -> None:
        self.documents.append(document)
        self.telemetry.set_catalogue(catalogue_of(document))

    def snapshot(self, window):
        return self.telemetry.snapshot(window)

    def exporters(self):
        return [ExporterStats("10.0.0.9", Protocol.NETFLOW9, 3, 7, DropCounts.of({Drop.TRUNCATED: 1}), NOW,
                              switch="compute2")]

    def status(self):
        return StackStatus((Component("nfvo", "up", ("unix:/x",), pid=4321, started=1700000000.5, restarts=2),),
                           "http://127.0.0.1:1/metrics")


@pytest.fixture
def api(stack):
    server, port = serve(stack.nfvo, "127.0.0.1:0")
    yield connect(f"127.0.0.1:{port}"), stack
    server.stop(None)


def _chain(stub) -> pb.Vnffg:
    onboard(stub)
    stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="VNFD1",
                                                     template=(TACKER / "tosca-vnffg-vnfd1.yaml").read_text()))
    stub.CreateVnf(pb.CreateVnfRequest(name="VNF1", vnfd_name="VNFD1"))
    chain = stub.CreateVnffg(pb.CreateVnffgRequest(name="mychain", chain="VNF1:CP13", symmetrical=True))
    stub.CreateClassifier(pb.CreateClassifierRequest(name="myclass", chain="mychain", match="tcp_dest=80,ip_proto=6"))
    return chain


def test_without_telemetry_the_rpcs_say_so(api):
    stub, _ = api
    for call, request in ((stub.GetVnffgStats, pb.VnffgStatsRequest(name="x")), (stub.ListExporters, pb.ListRequest()),
                          (stub.GetStatus, pb.StatusRequest())):
        with pytest.raises(grpc.RpcError) as err:
            call(request)
        assert err.value.code() == S.FAILED_PRECONDITION and "telemetry" in err.value.details()


def test_stats_follow_the_document_and_reach_the_api(api):
    stub, stack = api
    port = Port()
    stack.nfvo.attach_telemetry(port, port.on_document)
    chain = _chain(stub)
    spi = chain.paths[0].spi
    # the classifier went out as a path upsert (fast path): the hook saw it too
    assert [c.name for p in port.documents[-1].paths for c in p.classifiers if p.spi == spi] == \
        ["mychain/path/myclass"]
    info = port.telemetry.catalogue.get(spi)
    assert info is not None and (info.vnffg, info.path) == ("mychain", chain.paths[0].name)
    for role, si, packets in ((Role.CLASSIFY, 255, 10), (Role.HOP_IN, 255, 10), (Role.HOP_OUT, 255, 8)):
        port.figures.add(Observation(spi, si, role, Source.PROBE, packets, packets * 100), NOW - 2)

    stats = stub.GetVnffgStats(pb.VnffgStatsRequest(name="mychain", window=10))
    assert (stats.name, stats.window, stats.packets, stats.exact) == ("mychain", 10, 10, True)
    path = next(p for p in stats.paths if p.spi == spi)
    hop = path.hops[0]
    assert (hop.si, hop.into.packets, hop.out.packets, hop.out.source) == (255, 10, 8, "probe")
    assert (hop.loss.packets, round(hop.loss.ratio, 2), hop.loss.exact) == (2, 0.2, True)
    assert path.entered.packets == 10 and path.delivered.packets == 8   # the one hop's out, no end point seen

    stream = stub.WatchVnffgStats(pb.VnffgStatsRequest(name=chain.id, window=10, interval=0.1))
    first, second = next(stream), next(stream)
    stream.cancel()
    assert first.packets == second.packets == 10

    with pytest.raises(grpc.RpcError) as err:
        stub.GetVnffgStats(pb.VnffgStatsRequest(name="nochain"))
    assert err.value.code() == S.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub.GetVnffgStats(pb.VnffgStatsRequest(name="mychain", window=301))
    assert err.value.code() == S.INVALID_ARGUMENT and "window" in err.value.details()

    exporters = stub.ListExporters(pb.ListRequest()).exporters
    assert [(e.address, e.protocol, e.records, e.drops, dict(e.drops_by_reason), e.switch) for e in exporters] == \
        [("10.0.0.9", "netflow9", 7, 1, {"truncated": 1}, "compute2")]
    status = stub.GetStatus(pb.StatusRequest())
    assert status.metrics_url.endswith("/metrics") and status.components[0].addresses == ["unix:/x"]
    nfvo = status.components[0]   # a supervised process: pid, start and restarts over the API too
    assert (nfvo.pid, nfvo.started, nfvo.restarts) == (4321, 1700000000.5, 2)

    out = io.StringIO()
    Console(file=out, width=200).print(stats_view(to_dict(stats)))
    text = out.getvalue()
    assert "VNFFG mychain: 10 packets" in text and "2 (20.0%)" in text and "probe" in text

    stub.DeleteVnffg(pb.GetRequest(name="mychain"))
    assert port.telemetry.catalogue.get(spi) is None


def test_a_taken_port_falls_back_unless_strict():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = MonitorConfig(sflow_port=port, ipfix_port=0, netflow_port=0, bind="127.0.0.1", metrics="127.0.0.1:0")
        host = open_host_sockets(config)
        try:
            listening = {p: lst for p, (_, lst) in host.udp.items()}
            assert listening[Protocol.SFLOW].fell_back and listening[Protocol.SFLOW].address[1] != port
            assert not listening[Protocol.IPFIX].fell_back and host.metrics is not None
        finally:
            host.close()
        with pytest.raises(MonitorError, match=rf"sflow collector on 127.0.0.1:{port}"):
            open_host_sockets(MonitorConfig(sflow_port=port, bind="127.0.0.1", metrics="", strict=True))


def test_options_win_over_the_environment():
    env = {"NFV_SFLOW_PORT": "7000", "NFV_IPFIX_PORT": "7001", "NFV_METRICS_ADDRESS": "127.0.0.1:9999"}
    config = MonitorConfig.from_env(env, sflow_port=6000, ipfix_port=None)
    assert (config.sflow_port, config.ipfix_port, config.netflow_port, config.metrics) == \
        (6000, 7001, 2055, "127.0.0.1:9999")


def test_an_estimated_hop_loss_carries_its_margin_to_the_api_and_the_cli():
    """The loss ratio's ~95% half-width (what ``nfvchain_hop_loss_margin`` exports) in the stats
    message, the JSON form and the table."""
    into, out = Count(6400, 640000, None, Source.SAMPLES, 100), Count(6080, 608000, None, Source.SAMPLES, 95)
    hop = HopFigures(255, "fw", into, out, Loss(320, 0.05, False, 0.0279))
    path = PathFigures(7, "web/p", "web", "p", into, out, (hop,))
    record = type("Record", (), {"name": "web", "id": "id-1"})()
    message = vnffg_stats(record, ChainFigures("web", (path,), 6400, 640000, None, False), NOW, 10.0)
    data = to_dict(message)
    assert data["paths"][0]["hops"][0]["loss"]["margin"] == pytest.approx(0.0279)
    text = io.StringIO()
    Console(file=text, width=200).print(stats_view(data))
    assert "~320 (5.0% ±2.8%)" in text.getvalue()
