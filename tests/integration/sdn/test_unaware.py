"""An NSH-unaware SF in a chain on real OVS: the switch strips NSH before it and re-classifies
what it sends back, so HTTP works through counter -> bridge (plain L2, two ports) -> counter2,
both ways (the reverse path passes the bridge backwards), with the right SPI/SI at each counter.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import yaml

from dataplane import netns
from tests.integration.sdn.chain_lab import new_dpid, running_controller
from tests.integration.sdn.test_chain import counters, flows_text, http_get, nfv

pytestmark = pytest.mark.integration

HTTP_PORT = 8080


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


def second_port(lab, request, host, iface: str = "eth1") -> tuple[str, int]:
    """Another veth of ``host``'s namespace on its bridge (removed again after the test)."""
    port = host.ns + "q"
    netns.create_veth(host.ns, iface, port, mtu=host.mtu)
    request.addfinalizer(lambda: netns.delete_link(port))
    request.addfinalizer(lambda: lab.db.delete_port(host.bridge, port))
    return port, lab.db.ensure_port(host.bridge, port, mtu_request=host.mtu)


def packets(ovs, bridge: str, spec: str) -> int:
    return sum(int(n) for n in re.findall(r"n_packets=(\d+)", ovs.ofctl("dump-flows", bridge, spec)))


def test_http_through_an_nsh_unaware_bump_in_the_wire(controller, lab, ovs, tmp_path, request):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    c1 = lab.host(bridge, "10.99.0.2/24")
    c2 = lab.host(bridge, "10.99.0.3/24")
    bump = lab.host(bridge, "10.98.0.1/24")
    bump_out, bump_out_ofport = second_port(lab, request, bump)
    controller.wait_for_switch(dpid, {client.port, server.port, c1.port, c2.port, bump.port, bump_out})

    r1, r2 = tmp_path / "c1.json", tmp_path / "c2.json"
    lab.sf(c1, "counter", "--report", str(r1))
    lab.sf(c2, "counter", "--report", str(r2))
    bridge_sf = lab.sf(bump, "bridge", "--egress-iface", "eth1")
    lab.track(server.popen([sys.executable, "-m", "http.server", str(HTTP_PORT), "--bind", server.ip],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [
            {"name": "c1", "instances": [{"switch": "sff1", "port": c1.port}]},
            {"name": "c2", "instances": [{"switch": "sff1", "port": c2.port}]},
            {"name": "bump", "nsh_aware": False,
             "instances": [{"switch": "sff1", "port": bump.port, "egress_port": bump_out}]},
            {"name": "bump~reverse", "nsh_aware": False,
             "instances": [{"switch": "sff1", "port": bump_out, "egress_port": bump.port}]},
        ],
        "service_function_paths": [
            {"name": "web", "spi": 31, "hops": ["c1", "bump", "c2"], "classifiers": [
                {"name": "http", "in_port": client.port, "match": {"tcp_dst": HTTP_PORT}}]},
            {"name": "web-back", "spi": 32, "hops": ["c2", "bump~reverse", "c1"], "classifiers": [
                {"name": "reply", "in_port": server.port, "match": {"tcp_src": HTTP_PORT}}]},
        ],
    }
    doc_file = tmp_path / "unaware.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr

    # ARP/ICMP bypass the chain; the broadcasts NORMAL floods into the bump come back out of its
    # other port and are dropped in classify instead of looping
    assert client.ping(server.ip, count=3, timeout=2.0)
    time.sleep(0.5)
    for _ in range(3):
        body = http_get(client, f"http://{server.ip}:{HTTP_PORT}/")
        assert body.returncode == 0 and "Directory listing" in body.stdout, body.stderr

    time.sleep(1.2)  # counters write their report every 0.5 s
    seen1, seen2 = counters(r1), counters(r2)
    assert seen1.get((31, 255), 0) > 0 and seen2.get((31, 253), 0) > 0, (seen1, seen2)  # forward
    assert seen2.get((32, 255), 0) > 0 and seen1.get((32, 253), 0) > 0, (seen1, seen2)  # replies
    assert set(seen1) == {(31, 255), (32, 253)} and set(seen2) == {(31, 253), (32, 255)}
    # the bump got plain frames: what came back on each of its ports was re-classified (table 15)
    assert packets(ovs, bridge, f"table=15,in_port={bump_out_ofport},tcp,tp_dst={HTTP_PORT}") > 0
    assert packets(ovs, bridge, f"table=15,in_port={bump.ofport},tcp,tp_src={HTTP_PORT}") > 0
    assert "decap(),decap(),output" in flows_text(ovs, bridge)

    # the same document again changes nothing; an empty one removes every flow of ours
    again = nfv(controller.grpc_address, "apply", str(doc_file))
    assert again.returncode == 0 and f"{dpid:#x}: 0 changes" in again.stdout
    bridge_sf.terminate()
    assert bridge_sf.wait(timeout=10) == 0
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    assert nfv(controller.grpc_address, "apply", str(empty)).returncode == 0
    left = ovs.ofctl("dump-flows", bridge, "cookie=0x5fc0000000000000/0xfff0000000000000").splitlines()
    assert [line for line in left if "cookie=" in line] == []
