"""The NFVO gRPC API in-process: round trips, one status code per error kind, watch, health,
reflection, oversized requests, and the generated code's freshness."""

from __future__ import annotations

import filecmp
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from nfvo.api.generate import generate
from nfvo.api.server import connect, serve
from nfvo.api.v1 import nfvo_pb2 as pb
from tests.unit.nfvo.conftest import BRIDGE, DPID, TACKER, sample

S = grpc.StatusCode


@pytest.fixture
def api(stack):
    server, port = serve(stack.nfvo, "127.0.0.1:0")
    yield connect(f"127.0.0.1:{port}"), stack, f"127.0.0.1:{port}"
    server.stop(None)


def code_of(call, *args) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call(*args)
    return err.value.code(), err.value.details()


def onboard(stub) -> None:
    stub.CreateVim(pb.CreateVimRequest(name="local", bridge=BRIDGE, dpid=DPID, ingress_port="client",
                                       egress_port="server"))
    stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="host", template=sample("host.yaml")))
    for name in ("client", "server"):
        stub.CreateVnf(pb.CreateVnfRequest(name=name, vnfd_name="host"))


def test_chain_round_trip(api):
    stub, stack, _ = api
    onboard(stub)
    stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name="VNFD1",
                                                     template=(TACKER / "tosca-vnffg-vnfd1.yaml").read_text()))
    vnf = stub.CreateVnf(pb.CreateVnfRequest(name="VNF1", vnfd_name="VNFD1"))
    assert vnf.status == "ACTIVE" and {c.name for d in vnf.vdus for c in d.cps} == {"CP11", "CP12", "CP13"}
    chain = stub.CreateVnffg(pb.CreateVnffgRequest(name="mychain", chain="VNF1:CP13", symmetrical=True))
    assert chain.status == "ACTIVE" and chain.paths[0].hops == ["VNF1:CP13"] and chain.paths[0].reverse_spi
    clf = stub.CreateClassifier(pb.CreateClassifierRequest(name="myclass", chain="mychain",
                                                           match="tcp_dest=80,ip_proto=6"))
    assert clf.match == {"tcp_dest": "80", "ip_proto": "6"} and clf.vnffg == "mychain"
    assert [v.name for v in stub.ListVnffgs(pb.ListRequest()).vnffgs] == ["mychain"]
    assert stub.GetVnffg(pb.GetRequest(name=chain.id)).paths[0].classifiers == ["myclass"]
    stub.UpdateClassifier(pb.UpdateClassifierRequest(name="myclass", match="udp_dst=53"))
    assert stub.GetClassifier(pb.GetRequest(name="myclass")).match == {"udp_dst": "53"}
    stub.DeleteClassifier(pb.GetRequest(name="myclass"))
    stub.DeleteVnffg(pb.GetRequest(name="mychain"))
    assert stack.controller.document.paths == ()


def test_status_codes(api):
    stub, stack, _ = api
    onboard(stub)
    cases = [
        (stub.GetVnffg, pb.GetRequest(name="nope"), S.NOT_FOUND, "nope"),
        (stub.GetVnf, pb.GetRequest(name="nope"), S.NOT_FOUND, "nope"),
        (stub.CreateVnf, pb.CreateVnfRequest(name="client", vnfd_name="host"), S.ALREADY_EXISTS, "client"),
        (stub.CreateVnf, pb.CreateVnfRequest(name="x", vnfd_name="nope"), S.NOT_FOUND, "VNFD"),
        (stub.CreateVnffg, pb.CreateVnffgRequest(name="c", chain="client,,server"), S.INVALID_ARGUMENT, "chain"),
        (stub.CreateVnffg, pb.CreateVnffgRequest(name="bad name!", chain="client"), S.INVALID_ARGUMENT, "name"),
        (stub.CreateDescriptor, pb.CreateDescriptorRequest(kind="VNFD", name="d", template="a: [1"),
         S.INVALID_ARGUMENT, "YAML"),
        (stub.CreateDescriptor, pb.CreateDescriptorRequest(kind="XYZ", name="d", template="a: 1"),
         S.INVALID_ARGUMENT, "kind"),
        (stub.CreateDescriptor, pb.CreateDescriptorRequest(
            kind="VNFD", name="d", template=sample("nsh-firewall.yaml").replace("order: 1", "order: -1")),
         S.INVALID_ARGUMENT, "CP2.order"),
        (stub.DeleteDescriptor, pb.GetRequest(kind="VNFD", name="host"), S.FAILED_PRECONDITION, "in use"),
        (stub.CreateVnf, pb.CreateVnfRequest(name="y", vnfd_name="host", params_yaml="[1, 2]"),
         S.INVALID_ARGUMENT, "mapping"),
    ]
    for call, request, code, text in cases:
        got, details = code_of(call, request)
        assert (got, text in details) == (code, True), (request, details)
    assert [v.name for v in stub.ListVnfs(pb.ListRequest()).vnfs] == ["client", "server"]
    assert [d.name for d in stub.ListDescriptors(pb.ListRequest(kind="VNFD")).descriptors] == ["host"]
    big = "x" * (5 * 1024 * 1024)
    assert code_of(stub.CreateDescriptor, pb.CreateDescriptorRequest(kind="VNFD", name="big", template=big))[0] \
        == S.RESOURCE_EXHAUSTED
    assert code_of(stub.CreateDescriptor, pb.CreateDescriptorRequest(
        kind="VNFD", name="big", template="#" * (2 * 1024 * 1024)))[0] == S.INVALID_ARGUMENT


def test_bad_match_names_the_field_and_stores_nothing(api):
    stub, stack, _ = api
    onboard(stub)
    stub.CreateVnffg(pb.CreateVnffgRequest(name="c", chain="server"))
    code, details = code_of(stub.CreateClassifier, pb.CreateClassifierRequest(name="k", chain="c", match="tcp_dst=x"))
    assert code == S.INVALID_ARGUMENT and "match.tcp_dst" in details
    assert stub.ListClassifiers(pb.ListRequest()).classifiers == []


def test_watch_streams_lifecycle_events(api):
    stub, stack, _ = api
    onboard(stub)
    events = []
    stream = stub.Watch(pb.WatchRequest(kinds=["VNFFG"]))
    ready = threading.Event()

    def read():
        ready.set()
        for event in stream:
            events.append(event)
            if event.new == "DELETED":
                return

    reader = threading.Thread(target=read)
    reader.start()
    ready.wait()
    import time
    time.sleep(0.2)
    stub.CreateVnffg(pb.CreateVnffgRequest(name="c", chain="server"))
    stub.DeleteVnffg(pb.GetRequest(name="c"))
    reader.join(5)
    stream.cancel()
    assert [(e.name, e.new) for e in events] == [("c", "ACTIVE"), ("c", "DELETED")]


def test_health_and_reflection(api):
    _, _, address = api
    channel = grpc.insecure_channel(address)
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="nfvchain.nfvo.v1.Nfvo"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert "nfvchain.nfvo.v1.Nfvo" in names


def test_generated_code_is_fresh(tmp_path: Path):
    generate(tmp_path)
    root = Path(__file__).resolve().parents[3]
    for name in ("nfvo_pb2.py", "nfvo_pb2_grpc.py"):
        assert filecmp.cmp(tmp_path / "nfvo/api/v1" / name, root / "nfvo/api/v1" / name, shallow=False), \
            f"{name} is stale: run python -m nfvo.api.generate"
