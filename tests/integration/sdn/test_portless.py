"""Classifiers bound to no port, on real OVS with real traffic: a host plugged in after the
document was applied is classified (TCP/80 walks the chain, TCP/2222 goes straight), IPv6 TCP
walks the chain as IPv4 does, an ``eth_dst`` narrows the classifier to one destination, and the
egress restores the ingress port from NSH C1 so NORMAL learns the client where it is."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.sdn.chain_lab import new_dpid, running_controller
from tests.integration.sdn.test_chain import flows_text, http_get, nfv

pytestmark = pytest.mark.integration

WEB, OTHER, SPI = 80, 2222, 41


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


def seen_ports(report: Path) -> dict[tuple[int, int], set[int]]:
    """(SPI, SI) -> TCP ports (either end) of the flows a counter SF saw."""
    time.sleep(1.2)  # the counter writes its report every 0.5 s
    out: dict[tuple[int, int], set[int]] = {}
    if report.exists():
        for f in json.loads(report.read_text()).get("flows", []):
            out.setdefault((int(f["spi"]), int(f["si"])), set()).update({f.get("src_port", 0), f.get("dst_port", 0)})
    return out


def serve(lab, host, port: int, bind: str) -> None:
    lab.track(host.popen([sys.executable, "-m", "http.server", str(port), "--bind", bind],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def add_v6(host, address: str) -> None:
    host.exec(["ip", "-6", "addr", "add", address, "dev", host.iface, "nodad"])


def get(client, url: str, tries: int = 3) -> subprocess.CompletedProcess:
    for _ in range(tries):  # the first SYN may wait for ARP / ND
        body = http_get(client, url)
        if body.returncode == 0:
            return body
        time.sleep(0.5)
    return body


def test_a_host_plugged_in_later_is_classified_and_other_traffic_goes_straight(controller, lab, ovs, tmp_path):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    other = lab.host(bridge, "10.0.0.3/24", mtu=1500)
    cnt = lab.host(bridge, "10.99.0.2/24")
    controller.wait_for_switch(dpid, {server.port, other.port, cnt.port})
    report = tmp_path / "cnt.json"
    lab.sf(cnt, "counter", "--report", str(report))
    add_v6(server, "fd00::2/64")
    for port in (WEB, OTHER):
        serve(lab, server, port, server.ip)
    serve(lab, server, 8080, "fd00::2")
    serve(lab, other, WEB, other.ip)
    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [{"name": "cnt", "instances": [{"switch": "sff1", "port": cnt.port}]}],
        "service_function_paths": [{"name": "web", "spi": SPI, "hops": ["cnt"], "classifiers": [
            {"name": "http", "match": {"tcp_dst": WEB, "eth_dst": server.mac}},  # no in_port: every port
            {"name": "http6", "match": {"tcp_dst": 8080, "ipv6_dst": "fd00::2"}}]}],
    }
    doc_file = tmp_path / "portless.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr
    text = flows_text(ovs, bridge)
    assert "move:OXM_OF_IN_PORT[]->NXOXM_NSH_C1[]" in text and "move:NXOXM_NSH_C1[0..15]->NXM_OF_IN_PORT[]" in text

    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)  # plugged in after the classifier was applied
    add_v6(client, "fd00::1/64")
    controller.wait_for_switch(dpid, {client.port})
    assert flows_text(ovs, bridge) == text, "a new port needs no flow of its own"
    assert client.ping(server.ip, count=2, timeout=2.0)  # ARP and ICMP stay plain L2

    body = get(client, f"http://{server.ip}:{WEB}/")
    assert body.returncode == 0 and "Directory listing" in body.stdout, body.stderr
    assert WEB in seen_ports(report).get((SPI, 255), set()), "TCP/80 from the new host walked the chain"
    # the egress put the client back on its own port: NORMAL learned its MAC there
    fdb = ovs.appctl("fdb/show", bridge)
    assert any(line.split()[:3] == [str(client.ofport), "0", client.mac] for line in fdb.splitlines()), fdb

    body = get(client, f"http://{server.ip}:{OTHER}/")
    assert body.returncode == 0, body.stderr
    assert OTHER not in set().union(*seen_ports(report).values()), "TCP/2222 is not classified"
    # eth_dst narrows: TCP/80 to another host goes straight
    body = get(client, f"http://{other.ip}:{WEB}/")
    assert body.returncode == 0, body.stderr
    flows = json.loads(report.read_text())["flows"]
    assert not [f for f in flows if other.ip in (f.get("src"), f.get("dst"))], flows

    # IPv6 TCP through the chain, ND plain
    body = get(client, "http://[fd00::2]:8080/")
    assert body.returncode == 0 and "Directory listing" in body.stdout, body.stderr
    time.sleep(1.2)
    v6 = [f for f in json.loads(report.read_text())["flows"] if f.get("dst") == "fd00::2" and f["spi"] == SPI]
    assert v6 and v6[0]["dst_port"] == 8080, json.loads(report.read_text())["flows"]


def test_every_new_acl_field_installs_on_real_ovs(controller, lab, ovs, tmp_path):
    """MPLS, ARP and IPv6 ND matches (os-ken's OXM names) as OVS takes and reports them."""
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    cnt = lab.host(bridge, "10.99.0.2/24")
    controller.wait_for_switch(dpid, {cnt.port})
    mac = "02:00:00:00:00:01"
    matches = {
        "mpls": {"mpls_label": 100, "mpls_tc": 3, "mpls_bos": 1},
        "arp": {"arp_op": 1, "arp_spa": "10.0.0.1", "arp_tpa": "10.0.0.0/24", "arp_sha": mac, "arp_tha": mac},
        "ns": {"ipv6_nd_target": "fd00::2", "ipv6_nd_sll": mac},
        "na": {"ipv6_nd_tll": mac},
        "pcp": {"vlan_vid": 10, "vlan_pcp": 5, "ip_proto": 6},
    }
    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [{"name": "cnt", "instances": [{"switch": "sff1", "port": cnt.port}]}],
        "service_function_paths": [{"name": "every", "spi": 42, "hops": ["cnt"], "classifiers": [
            {"name": n, "match": m} for n, m in matches.items()]}],
    }
    doc_file = tmp_path / "fields.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr
    text = flows_text(ovs, bridge)
    for spelled in ("mpls_label=100", "mpls_tc=3", "mpls_bos=1", "arp_op=1", "arp_spa=10.0.0.1",
                    "arp_tpa=10.0.0.0/24", f"arp_sha={mac}", f"arp_tha={mac}", "nd_target=fd00::2",
                    f"nd_sll={mac}", f"nd_tll={mac}", "icmp_type=135", "icmp_type=136", "dl_vlan=10",
                    "dl_vlan_pcp=5"):
        assert spelled in text, (spelled, text)
    again = nfv(controller.grpc_address, "apply", str(doc_file))
    assert again.returncode == 0 and f"{dpid:#x}: 0 changes" in again.stdout, "read back exactly as computed"
