"""The gRPC API in-process against the in-memory driver: status codes and round trips."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import grpc
import pytest

from sdn.api.generate import generate
from sdn.api.server import connect, serve
from sdn.api.v1 import sfc_pb2
from sdn.controller import SfcController
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import DOC, PORTS


@pytest.fixture
def api():
    driver = FakeDriver()
    driver.connect(1, PORTS[1])
    server, port = serve(SfcController(driver), "127.0.0.1:0")
    yield connect(f"127.0.0.1:{port}"), driver
    server.stop(None)


def test_apply_and_show(api):
    stub, driver = api
    reply = stub.ApplyDocument(sfc_pb2.ApplyDocumentRequest(document=DOC, source="doc.yaml"))
    assert reply.generation == 1 and reply.switches[0].changes > 0
    state = stub.GetState(sfc_pb2.GetStateRequest())
    assert [p.name for p in state.paths] == ["web", "dns"]
    assert state.switches[0].connected and state.switches[0].generation == 1


def test_bad_document_is_invalid_argument_naming_the_element(api):
    stub, _ = api
    with pytest.raises(grpc.RpcError) as err:
        stub.ApplyDocument(sfc_pb2.ApplyDocumentRequest(document=DOC.replace("spi: 9", "spi: 7")))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "service_function_paths[dns].spi" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        stub.UpsertPaths(sfc_pb2.UpsertPathsRequest(paths_json="{not json"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_refusal_is_aborted(api):
    stub, driver = api
    driver.refuse.add(1)
    with pytest.raises(grpc.RpcError) as err:
        stub.ApplyDocument(sfc_pb2.ApplyDocumentRequest(document=DOC))
    assert err.value.code() == grpc.StatusCode.ABORTED


def test_upsert(api):
    stub, _ = api
    stub.ApplyDocument(sfc_pb2.ApplyDocumentRequest(document=DOC))
    path = {"name": "ssh", "spi": 11, "hops": ["fw"], "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}
    reply = stub.UpsertPaths(sfc_pb2.UpsertPathsRequest(paths_json=json.dumps([path]), remove=["dns"]))
    assert reply.generation == 2
    assert [p.name for p in stub.GetState(sfc_pb2.GetStateRequest()).paths] == ["web", "ssh"]


def test_generated_code_is_fresh(tmp_path: Path):
    generate(tmp_path)
    root = Path(__file__).resolve().parents[3]
    for name in ("sfc_pb2.py", "sfc_pb2_grpc.py"):
        assert filecmp.cmp(tmp_path / "sdn/api/v1" / name, root / "sdn/api/v1" / name, shallow=False), \
            f"{name} is stale: run python -m sdn.api.generate"
