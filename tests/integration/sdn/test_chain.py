"""Real traffic through real OVS: classified TCP/UDP walks the SFs in order, wrapped in NSH.

Client, server and SFs live in namespaces on one netdev bridge driven by our controller; the
document goes in through the `nfv sfc apply` CLI, the proof comes out of the SFs' own reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.sdn.chain_lab import new_dpid, running_controller

pytestmark = pytest.mark.integration

HTTP_PORT, BYPASS_PORT, BLOCKED_PORT, UDP_PORT, IPERF_PORT = 8080, 9090, 2323, 5353, 5201


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


def nfv(address: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller", address, *args],
                          capture_output=True, text=True, timeout=60)


def counters(report: Path) -> dict[tuple[int, int], int]:
    """(SPI, SI) -> packets, from a counter SF's JSON report."""
    deadline = time.monotonic() + 5
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    data = json.loads(report.read_text())
    out: dict[tuple[int, int], int] = {}
    for entry in data.get("flows", data.get("entries", [])):
        key = (int(entry["spi"]), int(entry["si"]))
        out[key] = out.get(key, 0) + int(entry["packets"])
    return out


def flows_text(ovs, bridge: str) -> str:
    return ovs.ofctl("dump-flows", bridge, "--no-stats")


def http_get(client, url: str, timeout: float = 5.0) -> subprocess.CompletedProcess:
    code = f"import urllib.request,sys; sys.stdout.write(urllib.request.urlopen({url!r}, timeout={timeout}).read().decode())"
    return client.exec([sys.executable, "-c", code], check=False, timeout=timeout + 10)


def test_chain_end_to_end(controller, lab, ovs, tmp_path):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    fw = lab.host(bridge, "10.99.0.1/24")
    c1 = lab.host(bridge, "10.99.0.2/24")
    c2 = lab.host(bridge, "10.99.0.3/24")
    fwd = lab.host(bridge, "10.99.0.4/24")
    controller.wait_for_switch(dpid, {h.port for h in (client, server, fw, c1, c2, fwd)})

    r1, r2 = tmp_path / "c1.json", tmp_path / "c2.json"
    lab.sf(fw, "firewall", "--drop", f"proto=tcp,dst_port={BLOCKED_PORT}")
    lab.sf(c1, "counter", "--report", str(r1))
    lab.sf(c2, "counter", "--report", str(r2))
    lab.sf(fwd, "forwarder")
    web_server = lab.track(server.popen([sys.executable, "-m", "http.server", str(HTTP_PORT), "--bind", server.ip],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    other_server = lab.track(server.popen([sys.executable, "-m", "http.server", str(BYPASS_PORT), "--bind", server.ip],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    blocked_server = lab.track(server.popen([sys.executable, "-m", "http.server", str(BLOCKED_PORT), "--bind", server.ip],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [{"name": n, "instances": [{"switch": "sff1", "port": h.port}]}
                              for n, h in (("fw", fw), ("c1", c1), ("c2", c2), ("fwd", fwd))],
        "service_function_paths": [
            {"name": "web", "spi": 7, "hops": ["fw", "c1", "c2"], "classifiers": [
                {"name": "http", "in_port": client.port, "match": {"tcp_dst": HTTP_PORT}},
                {"name": "blocked", "in_port": client.port, "match": {"tcp_dst": BLOCKED_PORT}},
                {"name": "bulk", "in_port": client.port, "match": {"tcp_dst": IPERF_PORT}}]},
            {"name": "dns", "spi": 8, "hops": ["fwd", "c1"], "classifiers": [
                {"name": "udp", "in_port": client.port, "match": {"udp_dst": UDP_PORT, "nw_dst": "10.0.0.0/24"}}]},
        ],
    }
    doc_file = tmp_path / "chain.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr
    assert "acknowledged" in applied.stdout

    text = flows_text(ovs, bridge)
    assert "encap(nsh(md_type=1))" in text and "decap(),decap()" in text

    # plain connectivity (ARP/ICMP bypass the chain) and classified TCP through fw -> c1 -> c2
    assert client.ping(server.ip, count=3, timeout=2.0)
    time.sleep(0.5)
    body = http_get(client, f"http://{server.ip}:{HTTP_PORT}/")
    assert body.returncode == 0 and "Directory listing" in body.stdout, body.stderr
    # bulk TCP with full-size frames through three SFs (NSH adds 38 bytes: SF ports need MTU >= 1538)
    iperf_server = lab.track(server.popen(["iperf3", "-s", "-1", "-B", server.ip, "-p", str(IPERF_PORT)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.3)
    bulk = client.exec(["iperf3", "-c", server.ip, "-p", str(IPERF_PORT), "-t", "1", "-J"], check=False, timeout=30)
    mbits = json.loads(bulk.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
    assert mbits > 20, f"bulk TCP through the chain stalled: {mbits:.1f} Mbit/s"
    iperf_server.wait(timeout=10)
    # UDP through fwd -> c1
    receiver = server.popen([sys.executable, "-c",
                             "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
                             f"s.bind(('{server.ip}',{UDP_PORT})); s.settimeout(10); "
                             "d=s.recvfrom(2048)[0]; sys.stdout.write(d.decode())"],
                            stdout=subprocess.PIPE, text=True)
    lab.track(receiver)
    time.sleep(0.3)
    for _ in range(5):
        client.exec([sys.executable, "-c", "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); "
                     f"s.sendto(b'hello-nsh',('{server.ip}',{UDP_PORT}))"])
    out, _ = receiver.communicate(timeout=15)
    assert out == "hello-nsh"

    # bypass: another port is not classified and never reaches an SF
    before = counters(r1) if r1.exists() else {}
    body = http_get(client, f"http://{server.ip}:{BYPASS_PORT}/")
    assert body.returncode == 0
    # firewall drops classified TCP to the blocked port
    blocked = http_get(client, f"http://{server.ip}:{BLOCKED_PORT}/", timeout=2.0)
    assert blocked.returncode != 0

    time.sleep(1.2)  # counters write their report every 0.5 s
    seen1, seen2 = counters(r1), counters(r2)
    assert seen1.get((7, 254), 0) > 0, seen1       # c1 is hop 2 of web
    assert seen2.get((7, 253), 0) > 0, seen2       # c2 is hop 3 of web
    assert seen1.get((8, 254), 0) >= 1, seen1      # c1 is hop 2 of dns (after fwd)
    assert set(seen1) <= {(7, 254), (8, 254)} and set(seen2) <= {(7, 253)}
    # c2 sees what c1 passed on (bulk TCP may lose a little in an SF's socket buffer under load)
    assert 0.9 * seen1[(7, 254)] <= seen2[(7, 253)] <= seen1[(7, 254)]
    del before

    # the same document again changes nothing
    again = nfv(controller.grpc_address, "apply", str(doc_file))
    assert again.returncode == 0 and f"{dpid:#x}: 0 changes" in again.stdout

    # bad input: a port the switch lacks; error names the element, flows stay as they were
    table_before = flows_text(ovs, bridge)
    bad = dict(document, service_functions=document["service_functions"] + [
        {"name": "ghost", "instances": [{"switch": "sff1", "port": "nope0"}]}])
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump(bad))
    refused = nfv(controller.grpc_address, "apply", str(bad_file))
    assert refused.returncode == 1
    assert "service_functions[ghost].instances[0].port" in refused.stderr and "nope0" in refused.stderr
    assert flows_text(ovs, bridge) == table_before
    dup = dict(document, service_function_paths=document["service_function_paths"] + [
        {"name": "again", "spi": 7, "hops": ["fw"]}])
    bad_file.write_text(yaml.safe_dump(dup))
    refused = nfv(controller.grpc_address, "apply", str(bad_file))
    assert refused.returncode == 1 and "service_function_paths[again].spi: SPI 7 is already used" in refused.stderr
    bad_file.write_text("switches: [ {name: sff1\n")
    refused = nfv(controller.grpc_address, "apply", str(bad_file))
    assert refused.returncode == 1 and "not valid YAML/JSON at line" in refused.stderr
    assert flows_text(ovs, bridge) == table_before

    # a removed path leaves no flow behind
    document["service_function_paths"] = document["service_function_paths"][1:]
    doc_file.write_text(yaml.safe_dump(document))
    assert nfv(controller.grpc_address, "apply", str(doc_file)).returncode == 0
    text = flows_text(ovs, bridge)
    assert "nsh_spi=0x7" not in text and "set_field:0x7->nsh_spi" not in text
    assert "nsh_spi=0x8" in text

    shown = nfv(controller.grpc_address, "show", "-f", "json")
    assert shown.returncode == 0
    state = json.loads(shown.stdout)
    assert [p["name"] for p in state["paths"]] == ["dns"]

    # an empty document takes every flow of ours away, and nothing else
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    assert nfv(controller.grpc_address, "apply", str(empty)).returncode == 0
    left = ovs.ofctl("dump-flows", bridge, "cookie=0x5fc0000000000000/0xfff0000000000000").splitlines()
    assert [line for line in left if "cookie=" in line] == []
    for proc in (web_server, other_server, blocked_server):
        proc.terminate()


def test_sf_instances_share_connections_and_read_back_exactly(controller, lab, ovs, tmp_path):
    from sdn.render import compute_switch_states
    from sdn.sync import plan_changes

    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    instances = [lab.host(bridge, f"10.99.0.{i + 1}/24") for i in range(2)]
    controller.wait_for_switch(dpid, {h.port for h in (client, server, *instances)})
    reports = [tmp_path / f"i{i}.json" for i in range(2)]
    for host, report in zip(instances, reports, strict=True):
        lab.sf(host, "counter", "--report", str(report))
    lab.track(server.popen([sys.executable, "-m", "http.server", str(HTTP_PORT), "--bind", server.ip],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [{"name": "cnt", "instances": [{"switch": "sff1", "port": h.port} for h in instances]}],
        "service_function_paths": [{"name": "web", "spi": 21, "hops": ["cnt"], "classifiers": [
            {"name": "http", "in_port": client.port, "match": {"tcp_dst": HTTP_PORT}}]}],
    }
    doc_file = tmp_path / "lb.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr
    assert "multipath(symmetric_l3l4+udp" in flows_text(ovs, bridge)

    code = ("import urllib.request\nfor _ in range(16): urllib.request.urlopen(%r, timeout=5).read()"
            % f"http://{server.ip}:{HTTP_PORT}/")
    assert client.exec([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
    time.sleep(1.2)
    per_instance = []
    for report in reports:
        flows = json.loads(report.read_text())["flows"]
        assert all((f["spi"], f["si"]) == (21, 255) for f in flows)
        per_instance.append({(f["src_port"], f["dst_port"]) for f in flows})
    assert per_instance[0] and per_instance[1], f"both instances take connections: {per_instance}"
    assert not per_instance[0] & per_instance[1], "a connection stays on one instance"

    # what the switch reports back decodes to exactly what we computed: nothing to change
    installed = controller.driver.read_state(dpid)
    ports = {dpid: controller.driver.switches()[dpid].ports}
    from sdn.docfile import parse_document
    desired = compute_switch_states(parse_document(document), ports)[dpid]
    assert plan_changes(installed, desired).empty
