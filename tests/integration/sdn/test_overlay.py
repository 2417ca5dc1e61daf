"""Paths across SFFs, rendered by the real controller onto three compute hosts (issue 13, point 4).

Each host (``dataplane.hosts.Cluster``) runs its own OVS in its own namespace; the controller
listens on the rack (the underlay, like a management address on the top-of-rack segment), every
br-int connects to it there. The document names each switch's host id, tunnel IP and GPE port;
client and server sit on compute1, SF ``a`` on compute2 and SF ``b`` on compute3. A symmetric
chain carries TCP both ways through every SF in order; the underlay capture, decoded by tshark,
shows VXLAN-GPE (next protocol NSH) hop by hop with the path's SPI and decreasing SI, and each
SF's own counter says which (SPI, SI) it served.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dataplane.hosts import Cluster
from dataplane.lab import Host, stop_process, wait_for_line
from dataplane.underlay import GPE_PORT
from sdn.docfile import parse_document
from sdn.render import compute_switch_states
from sdn.sync import plan_changes
from tests.integration.capture import tshark
from tests.integration.sdn.overlay_lab import RackController, controller_on_rack
from tests.integration.sdn.test_chain import counters, nfv

pytestmark = pytest.mark.integration

RACK_IP = "172.31.251.254"
SUBNET = "172.31.251.0/24"  # not test_hosts.py's: both racks may exist in one session
FWD, REV = 41, 42
IPERF = 5201


@pytest.fixture(scope="module")
def overlay(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RackController]:
    with Cluster(3, prefix=run_prefix + "o", run_root=tmp_path_factory.mktemp("overlay"), subnet=SUBNET) as cluster, \
            controller_on_rack(cluster, RACK_IP) as running:
        yield running


def document(c: Cluster, client: Host, server: Host, sf_a: Host, sf_b: Host) -> dict:
    switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                 "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT} for h in c.hosts.values()]
    return {
        "switches": switches,
        "service_functions": [{"name": "a", "instances": [{"switch": "compute2", "port": sf_a.port}]},
                              {"name": "b", "instances": [{"switch": "compute3", "port": sf_b.port}]}],
        "service_function_paths": [
            {"name": "up", "spi": FWD, "hops": ["a", "b"], "classifiers": [
                {"name": "to-server", "switch": "compute1", "in_port": client.port, "match": {"tcp_dst": IPERF}}]},
            {"name": "down", "spi": REV, "hops": ["b", "a"], "classifiers": [
                {"name": "to-client", "switch": "compute1", "in_port": server.port, "match": {"tcp_src": IPERF}}]},
        ],
    }


def iperf(client: Host, server: Host, seconds: float, *args: str) -> dict:
    srv = server.popen(["iperf3", "-s", "-1", "-B", server.ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            res = client.exec(["iperf3", "-c", server.ip, "-t", str(seconds), "-J", *args], check=False,
                              timeout=seconds + 30)
            if res.returncode == 0:
                return json.loads(res.stdout)
            time.sleep(0.2)
        raise AssertionError(f"iperf3 {client.ns} -> {server.ip} never connected: {res.stdout[-300:]}")
    finally:
        srv.kill()
        srv.wait()


@pytest.mark.timeout(240)
def test_a_symmetric_chain_across_three_hosts_carries_tcp_through_every_sf_in_order(overlay: RackController,
                                                                                     tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.91.0.1/24"), c1.plug("10.91.0.2/24")
    sf_a, sf_b = c2.plug("10.91.1.1/24", mtu=1600), c3.plug("10.91.1.2/24", mtu=1600)
    reports = {"a": tmp_path / "a.json", "b": tmp_path / "b.json"}
    procs = []
    try:
        for sf, name in ((sf_a, "a"), (sf_b, "b")):
            proc = sf.popen([sys.executable, "-m", "dataplane.sf", "counter", "--iface", sf.iface,
                             "--report", str(reports[name]), "--interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(proc)
            wait_for_line(proc, "ready", 10.0)
        overlay.wait_for_switches({"compute1": {client.port, server.port, GPE_PORT},
                                   "compute2": {sf_a.port, GPE_PORT}, "compute3": {sf_b.port, GPE_PORT}})
        doc_file = tmp_path / "overlay.yaml"
        doc_file.write_text(yaml.safe_dump(document(c, client, server, sf_a, sf_b)))
        applied = nfv(overlay.grpc_address, "apply", str(doc_file))
        assert applied.returncode == 0, applied.stderr
        assert overlay.controller.settle(15.0)

        # what each switch reports back decodes to exactly what we computed (packet_type, tun_dst included)
        desired = compute_switch_states(parse_document(yaml.safe_load(doc_file.read_text())),
                                        {d: i.ports for d, i in overlay.driver.switches().items()})
        for host in (c1, c2, c3):
            dpid = host.plan.datapath_id
            assert plan_changes(overlay.driver.read_state(dpid), desired[dpid]).empty, host.name
        # each switch holds only what its part of the paths needs
        c2_flows = c2.ofctl("dump-flows", "br-int", "--no-stats")
        assert f"nsh_spi={FWD:#x},nsh_si=255" in c2_flows and f"nsh_spi={REV:#x},nsh_si=254" in c2_flows
        assert "tcp" not in c2_flows, "no classifier on an SFF without one"
        c3_flows = c3.ofctl("dump-flows", "br-int", "--no-stats")
        assert f"set_field:{c1.plan.underlay_ip}->tun_dst" in c3_flows  # the forward end goes home

        with c.rack.capture(tmp_path / "overlay.pcap", "udp port 4790") as pcap:
            result = iperf(client, server, 1.0)
            reverse = iperf(client, server, 1.0, "-R")
        up = result["end"]["sum_received"]["bits_per_second"]
        down = reverse["end"]["sum_received"]["bits_per_second"]
        print(f"\nTCP through a@compute2, b@compute3 from compute1 and back: {up / 1e6:.0f} Mbit/s up, "
              f"{down / 1e6:.0f} Mbit/s down (-R)")
        assert up > 5e6 and down > 5e6
        time.sleep(0.6)  # the counters' last report
        seen = {name: counters(path) for name, path in reports.items()}
        assert {k for k, n in seen["a"].items() if n} == {(FWD, 255), (REV, 254)}, seen
        assert {k for k, n in seen["b"].items() if n} == {(FWD, 254), (REV, 255)}, seen

        rows = tshark(pcap, "nsh && tcp", "ip.src", "ip.dst", "udp.dstport", "vxlan.next_proto", "nsh.spi",
                      "nsh.si", "nsh.contextheader")
        ips = {h.plan.underlay_ip: h.name for h in (c1, c2, c3)}
        hops = {(ips[r[0].split(",")[0]], ips[r[1].split(",")[0]], r[2].split(",")[0], r[3], int(r[4]), int(r[5]))
                for r in rows}
        assert hops == {
            ("compute1", "compute2", "4790", "4", FWD, 255), ("compute2", "compute3", "4790", "4", FWD, 254),
            ("compute3", "compute1", "4790", "4", FWD, 253),
            ("compute1", "compute3", "4790", "4", REV, 255), ("compute3", "compute2", "4790", "4", REV, 254),
            ("compute2", "compute1", "4790", "4", REV, 253),
        }, hops
        c1_words = {r[6].split(",")[0] for r in rows}  # C1 = ingress host 1 << 16 | the classifier's port
        home = c1.plan.host_id << 16
        assert c1_words == {f"{home | client.ofport:08x}", f"{home | server.ofport:08x}"}, c1_words
    finally:
        for proc in procs:
            stop_process(proc)
        for host, ep in ((c1, client), (c1, server), (c2, sf_a), (c3, sf_b)):
            host.unplug(ep)


@pytest.mark.timeout(240)
def test_instances_of_one_sf_on_two_hosts_share_connections_both_ways(overlay: RackController, tmp_path: Path) -> None:
    """SF ``lb`` has an instance on compute2 and one on compute3: the classifier's flow hash sends
    each connection to one of them, its replies (the reverse path) to the same one."""
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.92.0.1/24"), c1.plug("10.92.0.2/24")
    lb2, lb3 = c2.plug("10.92.1.1/24", mtu=1600), c3.plug("10.92.1.2/24", mtu=1600)
    reports = [tmp_path / "lb2.json", tmp_path / "lb3.json"]
    procs = []
    try:
        for sf, report in zip((lb2, lb3), reports, strict=True):
            proc = sf.popen([sys.executable, "-m", "dataplane.sf", "counter", "--iface", sf.iface,
                             "--report", str(report), "--interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(proc)
            wait_for_line(proc, "ready", 10.0)
        overlay.wait_for_switches({"compute1": {client.port, server.port}, "compute2": {lb2.port},
                                   "compute3": {lb3.port}})
        switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                     "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT} for h in c.hosts.values()]
        doc = parse_document({
            "switches": switches,
            "service_functions": [{"name": "lb", "instances": [{"switch": "compute2", "port": lb2.port},
                                                                {"switch": "compute3", "port": lb3.port}]}],
            "service_function_paths": [
                {"name": "up", "spi": FWD, "hops": ["lb"], "classifiers": [
                    {"name": "to-server", "switch": "compute1", "in_port": client.port, "match": {"tcp_dst": IPERF}}]},
                {"name": "down", "spi": REV, "hops": ["lb"], "classifiers": [
                    {"name": "to-client", "switch": "compute1", "in_port": server.port, "match": {"tcp_src": IPERF}}]},
            ]})
        overlay.controller.apply_document(doc)
        assert overlay.controller.settle(15.0)
        result = iperf(client, server, 1.0, "-P", "8")
        assert result["end"]["sum_received"]["bits_per_second"] > 5e6
        time.sleep(0.6)
        per_instance = []
        for report in reports:
            flows = json.loads(report.read_text())["flows"]
            assert {(f["spi"], f["si"]) for f in flows} <= {(FWD, 255), (REV, 255)}, flows
            per_instance.append({tuple(sorted((f["src_port"], f["dst_port"]))) for f in flows})
        assert per_instance[0] and per_instance[1], f"both instances take connections: {per_instance}"
        assert not per_instance[0] & per_instance[1], "a connection stays on one instance, both ways"
    finally:
        overlay.controller.apply_document(parse_document({"switches": []}))
        for proc in procs:
            stop_process(proc)
        for host, ep in ((c1, client), (c1, server), (c2, lb2), (c3, lb3)):
            host.unplug(ep)
