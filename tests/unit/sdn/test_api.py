"""The gRPC API in-process against the in-memory driver: status codes and round trips."""

from __future__ import annotations

import filecmp
import time
from pathlib import Path

import grpc
import pytest

from sdn.api.convert import document_message, document_value, path_message
from sdn.api.generate import generate
from sdn.api.server import connect, open_channel, serve
from sdn.api.v1 import sfc_pb2
from sdn.controller import SfcController
from sdn.docfile import load_document, parse_paths
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import DOC, PORTS


@pytest.fixture
def api():
    driver = FakeDriver()
    driver.connect(1, PORTS[1])
    controller = SfcController(driver)
    server, port = serve(controller, "127.0.0.1:0")
    stub = connect(f"127.0.0.1:{port}")
    stub.address = f"127.0.0.1:{port}"
    yield stub, driver
    server.stop(None)
    controller.stop()


def typed(text: str) -> sfc_pb2.ApplyDocumentRequest:
    return sfc_pb2.ApplyDocumentRequest(document=document_message(load_document(text)))


def test_apply_and_show(api):
    stub, driver = api
    reply = stub.ApplyDocument(typed(DOC))
    assert reply.generation == 1 and reply.switches[0].changes > 0
    state = stub.GetState(sfc_pb2.GetStateRequest())
    assert [p.name for p in state.paths] == ["web", "dns"]
    assert state.switches[0].connected and state.switches[0].generation == 1


def test_bad_document_is_invalid_argument_naming_the_element(api):
    stub, _ = api
    duplicate_spi = typed(DOC)
    duplicate_spi.document.service_function_paths[1].spi = 7  # the CLI would have refused it
    with pytest.raises(grpc.RpcError) as err:
        stub.ApplyDocument(duplicate_spi)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "service_function_paths[dns].spi" in err.value.details()
    bad_prefix = typed(DOC)
    bad_prefix.document.service_function_paths[0].classifiers[0].match.ip_src.address = b"\x0a\x00\x00"
    with pytest.raises(grpc.RpcError) as err:
        stub.ApplyDocument(bad_prefix)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "service_function_paths[web].classifiers[http].match.ip_src" in err.value.details()
    for method in ("ApplyDocument", "UpsertPaths"):  # bytes that are no message at all
        call = open_channel(stub.address).unary_unary(f"/nfvchain.sdn.v1.SfcController/{method}")
        with pytest.raises(grpc.RpcError) as err:
            call(b"\xff\xff\xff", timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_refusal_is_aborted(api):
    stub, driver = api
    driver.refuse.add(1)
    with pytest.raises(grpc.RpcError) as err:
        stub.ApplyDocument(typed(DOC))
    assert err.value.code() == grpc.StatusCode.ABORTED


def test_upsert(api):
    stub, _ = api
    stub.ApplyDocument(typed(DOC))
    path = {"name": "ssh", "spi": 11, "hops": ["fw"],
            "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}
    paths = [path_message(p) for p in parse_paths([path])]
    reply = stub.UpsertPaths(sfc_pb2.UpsertPathsRequest(paths=paths, remove=["dns"]))
    assert reply.generation == 2
    assert [p.name for p in stub.GetState(sfc_pb2.GetStateRequest()).paths] == ["web", "ssh"]


def test_generated_code_is_fresh(tmp_path: Path):
    generate(tmp_path)
    root = Path(__file__).resolve().parents[3]
    for name in ("sfc_pb2.py", "sfc_pb2_grpc.py"):
        assert filecmp.cmp(tmp_path / "sdn/api/v1" / name, root / "sdn/api/v1" / name, shallow=False), \
            f"{name} is stale: run python -m sdn.api.generate"


def test_every_field_survives_the_wire_and_the_state_file(tmp_path: Path):
    """Typed values → protobuf → typed values (what the API and the state file carry) change nothing,
    and the file form ``nfv sfc show -f yaml`` prints parses back to the same document."""
    from sdn.docfile import document_dict, parse_document
    from sdn.state import load_state, save_state
    from tests.unit.sdn.test_flows import EVERY_FIELD_DOC

    doc = load_document(EVERY_FIELD_DOC)
    assert document_value(document_message(doc)) == doc
    save_state(tmp_path / "state.pb", doc, 7)
    assert load_state(tmp_path / "state.pb") == (doc, 7)
    assert parse_document(document_dict(doc)) == doc


def test_path_status_and_health_over_the_api(api, capsys, monkeypatch):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from nfvo.cli.main import main
    from sdn.api.server import SERVICE_NAME

    stub, driver = api
    stub.ApplyDocument(typed(DOC))
    health = health_pb2_grpc.HealthStub(open_channel(stub.address))
    check = health_pb2.HealthCheckRequest(service=SERVICE_NAME)
    assert health.Check(check).status == health_pb2.HealthCheckResponse.SERVING
    driver.connect(1, {k: v for k, v in PORTS[1].items() if k != "nat0"}, keep=True)  # nat's port goes
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got = {p.name: p for p in stub.GetPathStatus(sfc_pb2.GetPathStatusRequest()).paths}
        if got["web"].condition == sfc_pb2.PATH_DOWN:
            break
        time.sleep(0.05)
    assert got["web"].reason == "service_functions[nat].instances[0].port: switch s1 has no port 'nat0'"
    assert got["dns"].condition == sfc_pb2.PATH_ACTIVE and got["dns"].switch == "s1"
    (only,) = stub.GetPathStatus(sfc_pb2.GetPathStatusRequest(names=["dns"])).paths
    assert only.name == "dns"
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["sfc", "--controller", stub.address, "show"]) == 0
    table = capsys.readouterr().out
    assert "DOWN" in table and "has no port 'nat0'" in table and "ACTIVE" in table
    driver.disconnect(1)
    deadline = time.monotonic() + 5
    while health.Check(check).status != health_pb2.HealthCheckResponse.NOT_SERVING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert health.Check(check).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    driver.connect(1, PORTS[1], keep=True)
    assert health.Check(check).status == health_pb2.HealthCheckResponse.SERVING


def test_disconnect_switch_over_the_api(api):
    from nfvo.sdnclient import GrpcSdn

    stub, driver = api
    sdn = GrpcSdn(stub.address)
    assert sdn.connected() == {1}
    assert sdn.disconnect(1) is True and sdn.connected() == set()
    assert stub.DisconnectSwitch(sfc_pb2.DisconnectSwitchRequest(dpid=1)).was_connected is False
