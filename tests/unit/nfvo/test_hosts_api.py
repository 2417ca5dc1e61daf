"""``ListHosts``/``GetHost`` and ``nfv host list|show`` over the fake VIM's one compute host."""

from __future__ import annotations

import json

import grpc
import pytest

from nfvo.api.server import connect, serve
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.cli.main import main
from tests.unit.nfvo.test_api import code_of, onboard


@pytest.fixture
def api(stack):
    server, port = serve(stack.nfvo, "127.0.0.1:0")
    yield connect(f"127.0.0.1:{port}"), f"127.0.0.1:{port}"
    server.stop(None)


def test_hosts_name_their_vdus_and_capacity(api, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    stub, address = api
    onboard(stub)   # VNFs client and server, one VDU each
    (host,) = stub.ListHosts(pb.ListRequest()).hosts
    assert (host.name, host.state, host.zone, host.vcpus, host.used_vcpus) == ("compute1", "up", "compute1", 64, 2)
    assert sorted(host.vdus) == ["client/VDU1", "server/VDU1"]
    assert stub.GetHost(pb.GetRequest(name="compute1")) == host
    code, details = code_of(stub.GetHost, pb.GetRequest(name="compute9"))
    assert code == grpc.StatusCode.NOT_FOUND and "no compute host 'compute9' (hosts: compute1)" in details
    assert main(["host", "list", "--nfvo", address, "-f", "json"]) == 0
    assert [h["name"] for h in json.loads(capsys.readouterr().out)] == ["compute1"]
    assert main(["host", "list", "--nfvo", address]) == 0
    table = capsys.readouterr().out
    assert "compute1" in table and "2/64" in table and "client/VDU1" in table
    assert main(["host-show", "compute1", "--nfvo", address, "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["vdus"] == list(host.vdus)


def test_a_single_bridge_stack_refuses_adding_and_removing_hosts(api, capsys):
    stub, address = api
    code, details = code_of(stub.AddHost, pb.AddHostRequest(name="compute2"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "single bridge (nfv up --hosts 1)" in details
    assert "nfv up --hosts 2" in details
    code, details = code_of(stub.RemoveHost, pb.RemoveHostRequest())
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "name the compute host to remove" in details
    assert main(["host", "remove", "compute1", "--nfvo", address]) != 0
    assert "no rack of compute hosts" in capsys.readouterr().err
