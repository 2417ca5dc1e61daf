"""One broken thing breaks one thing, and status is the truth, with real OVS and real traffic.

Two chains on one bridge. When one chain's SF port is deleted, that chain is reported DOWN with
the port named (GetPathStatus), the other still carries HTTP and still takes a classifier change
(checked with traffic); when the port is added back, the broken chain returns by itself. A flow
the switch refuses (a table full under OVS's ``overflow_policy=refuse``) takes out only its path.
A switch that disconnects takes its paths DOWN (their flows keep forwarding: fail_mode secure)
and the controller's gRPC health NOT_SERVING while no switch is connected; both come back alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from dataplane import netns
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sdn.api.server import SERVICE_NAME, connect, open_channel
from sdn.api.v1 import sfc_pb2
from sdn.docfile import parse_document, parse_paths
from sdn.driver import ApplyError
from sdn.pipeline import NEXT_HOP
from tests.integration.sdn.chain_lab import new_dpid, running_controller

pytestmark = pytest.mark.integration
PORT_A, PORT_A2, PORT_B = 8080, 8081, 9090


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


def http_get(client, url: str, timeout: float = 3.0) -> bool:
    code = f"import urllib.request; urllib.request.urlopen({url!r}, timeout={timeout}).read()"
    return client.exec([sys.executable, "-c", code], check=False, timeout=timeout + 10).returncode == 0


def packets(report: Path, spi: int) -> int:
    """Packets a counter SF saw on path ``spi`` (its JSON report, rewritten every 0.5 s)."""
    time.sleep(1.2)
    if not report.exists():
        return 0
    data = json.loads(report.read_text())
    return sum(int(e["packets"]) for e in data.get("flows", data.get("entries", [])) if int(e["spi"]) == spi)


def path_status(address: str) -> dict[str, tuple[int, str]]:
    reply = connect(address).GetPathStatus(sfc_pb2.GetPathStatusRequest(), timeout=5)
    return {p.name: (p.condition, p.reason) for p in reply.paths}


def health(address: str) -> int:
    stub = health_pb2_grpc.HealthStub(open_channel(address))
    return stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5).status


def wait_for(what: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.1)
    return what()


def chain_path(name: str, spi: int, hop: str, client_port: str, tcp_dst: int) -> dict:
    return {"name": name, "spi": spi, "hops": [hop],
            "classifiers": [{"name": f"{name}-http", "in_port": client_port, "match": {"tcp_dst": tcp_dst}}]}


@pytest.fixture
def two_chains(controller, lab, tmp_path):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    sfa, sfb = lab.host(bridge, "10.99.0.1/24"), lab.host(bridge, "10.99.0.2/24")
    controller.wait_for_switch(dpid, {h.port for h in (client, server, sfa, sfb)})
    reports = {"a": tmp_path / "a.json", "b": tmp_path / "b.json"}
    lab.sf(sfa, "counter", "--report", str(reports["a"]))
    lab.sf(sfb, "counter", "--report", str(reports["b"]))
    for port in (PORT_A, PORT_A2, PORT_B):
        lab.track(server.popen([sys.executable, "-m", "http.server", str(port), "--bind", server.ip],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    doc = parse_document({
        "switches": [{"name": "sff", "dpid": dpid}],
        "service_functions": [{"name": "sfa", "instances": [{"switch": "sff", "port": sfa.port}]},
                              {"name": "sfb", "instances": [{"switch": "sff", "port": sfb.port}]}],
        "service_function_paths": [chain_path("a", 10, "sfa", client.port, PORT_A),
                                   chain_path("b", 20, "sfb", client.port, PORT_B)]})
    controller.controller.apply_document(doc)
    assert client.ping(server.ip, count=2, timeout=2.0)
    yield bridge, client, server, sfb, reports
    controller.controller.apply_document(parse_document({"switches": [{"name": "sff", "dpid": dpid}]}))


def test_a_deleted_sf_port_takes_out_its_chain_only(controller, lab, two_chains):
    bridge, client, server, sfb, reports = two_chains
    url = f"http://{server.ip}:%d/"
    assert http_get(client, url % PORT_A) and http_get(client, url % PORT_B)
    assert packets(reports["a"], 10) > 0 and packets(reports["b"], 20) > 0
    assert path_status(controller.grpc_address) == {"a": (sfc_pb2.PATH_ACTIVE, ""), "b": (sfc_pb2.PATH_ACTIVE, "")}

    lab.db.delete_port(bridge, sfb.port)  # chain b's SF port is gone
    assert wait_for(lambda: path_status(controller.grpc_address)["b"][0] == sfc_pb2.PATH_DOWN)
    condition, reason = path_status(controller.grpc_address)["b"]
    assert f"service_functions[sfb].instances[0].port: switch sff has no port '{sfb.port}'" == reason
    assert path_status(controller.grpc_address)["a"] == (sfc_pb2.PATH_ACTIVE, "")
    a_before = packets(reports["a"], 10)
    assert http_get(client, url % PORT_A), "chain a stopped carrying traffic"
    assert packets(reports["a"], 10) > a_before
    assert "nsh_spi=20" not in lab.ovs.ofctl("dump-flows", bridge, "--no-stats"), "chain b's flows left behind"
    assert not http_get(client, url % PORT_B, timeout=1.5), "chain b's traffic bypassed its SF (must fail closed)"

    # chain a still takes a change: its classifier moves to another port, proven by traffic
    (moved,) = parse_paths([chain_path("a", 10, "sfa", client.port, PORT_A2)])
    controller.controller.upsert_paths([moved])
    a_before = packets(reports["a"], 10)
    assert http_get(client, url % PORT_A2) and packets(reports["a"], 10) > a_before
    a_before = packets(reports["a"], 10)
    assert http_get(client, url % PORT_A) and packets(reports["a"], 10) == a_before, "old classifier still in force"

    # the port comes back (another OpenFlow port number, maybe): chain b returns by itself
    lab.db.ensure_port(bridge, sfb.port, mtu_request=netns.NSH_MTU)
    assert wait_for(lambda: path_status(controller.grpc_address)["b"] == (sfc_pb2.PATH_ACTIVE, ""))
    b_before = packets(reports["b"], 20)
    assert http_get(client, url % PORT_B) and packets(reports["b"], 20) > b_before


def test_a_refused_flow_takes_out_its_path_only(controller, lab, two_chains):
    bridge, client, server, _, reports = two_chains
    url = f"http://{server.ip}:%d/"
    # the next-hop table is full (OVS refuses rather than evicts): room for what is there now
    held = len([line for line in lab.ovs.ofctl("dump-flows", bridge, f"table={NEXT_HOP}").splitlines()
                if "table=" in line])
    lab.ovs.vsctl("--", "--id=@ft", "create", "Flow_Table", f"flow_limit={held}", "overflow_policy=refuse",
                  "--", "set", "Bridge", bridge, f"flow_tables:{NEXT_HOP}=@ft")
    (c,) = parse_paths([chain_path("c", 30, "sfa", client.port, PORT_A2)])
    with pytest.raises(ApplyError, match="TABLE_FULL"):
        controller.controller.upsert_paths([c])  # the change that does not fit fails, nothing else
    assert {p.name for p in controller.controller.document.paths} == {"a", "b"}
    assert http_get(client, url % PORT_A) and http_get(client, url % PORT_B)

    # the switch loses every flow and reconnects: everything is sent again into room for less
    lab.ovs.vsctl("set", "Flow_Table", lab.ovs.vsctl("get", "Bridge", bridge, f"flow_tables:{NEXT_HOP}").strip(),
                  f"flow_limit={held - 1}")
    lab.ovs.ofctl("del-flows", bridge)
    lab.ovs.vsctl("del-controller", bridge)
    lab.ovs.vsctl("set-controller", bridge, f"tcp:127.0.0.1:{controller.openflow_port}")
    assert wait_for(lambda: sorted(s[0] for s in path_status(controller.grpc_address).values())
                    == [sfc_pb2.PATH_ACTIVE, sfc_pb2.PATH_DOWN], timeout=20)
    states = path_status(controller.grpc_address)
    (down,) = [name for name, (cond, _) in states.items() if cond == sfc_pb2.PATH_DOWN]
    (up,) = [name for name, (cond, _) in states.items() if cond == sfc_pb2.PATH_ACTIVE]
    assert "TABLE_FULL" in states[down][1] and f"table={NEXT_HOP}" in states[down][1], states[down]
    port, spi = {"a": (PORT_A, 10), "b": (PORT_B, 20)}[up]
    before = packets(reports[up], spi)
    assert http_get(client, url % port) and packets(reports[up], spi) > before, f"chain {up} carries nothing"
    # room again: the refused path is retried (back-off) and returns by itself
    lab.ovs.vsctl("clear", "Bridge", bridge, "flow_tables")
    assert wait_for(lambda: {s[0] for s in path_status(controller.grpc_address).values()} == {sfc_pb2.PATH_ACTIVE},
                    timeout=20)


def test_a_disconnected_switch_takes_its_paths_down_and_health_follows(controller, lab, two_chains):
    bridge, client, server, _, _ = two_chains
    url = f"http://{server.ip}:%d/"
    others = set(controller.driver.switches()) - {int(lab.ovs.vsctl("get", "Bridge", bridge, "datapath_id")
                                                       .strip().strip('"'), 16)}
    assert health(controller.grpc_address) == health_pb2.HealthCheckResponse.SERVING
    assert http_get(client, url % PORT_A)
    lab.ovs.vsctl("set-controller", bridge, "tcp:127.0.0.1:1")  # the switch loses its controller
    assert wait_for(lambda: {s[0] for s in path_status(controller.grpc_address).values()} == {sfc_pb2.PATH_DOWN})
    assert all("is not connected" in reason for _, reason in path_status(controller.grpc_address).values())
    if not others:  # the module's controller has no other switch: nothing it could acknowledge
        assert wait_for(lambda: health(controller.grpc_address) == health_pb2.HealthCheckResponse.NOT_SERVING)
    assert http_get(client, url % PORT_A), "the data plane stopped with the controller connection"
    lab.ovs.vsctl("set-controller", bridge, f"tcp:127.0.0.1:{controller.openflow_port}")
    assert wait_for(lambda: {s[0] for s in path_status(controller.grpc_address).values()} == {sfc_pb2.PATH_ACTIVE})
    assert health(controller.grpc_address) == health_pb2.HealthCheckResponse.SERVING
