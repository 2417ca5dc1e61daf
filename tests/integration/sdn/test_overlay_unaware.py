"""NSH-unaware hops across hosts (issue 13, point 4), on real OVS in three host namespaces: a
symmetric chain rendered by the NFVO (``nfvo.vnffg.render`` + ``build_document``) passes an
NSH-aware SF on compute1, a one-armed Linux router (``sfc_encap: false``, IP forwarding on) on
compute2 and an NSH-aware SF on compute3, client and server both on compute1.

compute2 strips NSH and addresses each frame to the router; what it routes back (its own source
MAC, the server's as destination after its own ARP, which NORMAL carries over the virtual link's
tunnel) is re-classified there. The forward classifier names its destination
(``network_dst_port_id`` = the server), so C1 says so again and the path ends at the server's
port on compute1 (the end SI from compute3 straight there). The reverse knows none (no
``network_src_port_id``): C1 = (compute2, the router's port), so it ends on compute2 and NORMAL
delivers it over the VL tunnel to compute1. Proven by TCP arriving both ways, each aware SF's NSH
counters (SPI, SI), the router's kernel forwarding counter, and the flows' packet counters:
re-classified on compute2 only, the forward path ending on compute1, the reverse on compute2.

A bump in the wire (an L2 bridge, two ports) across hosts, from a controller document: classified
on its own host (C1 then gets the classifier's port back after it), an aware SF on each other
host before and after it, the path ends on the classifier's host.

A router with an instance on compute2 and one on compute3 (sdn.spread), from a controller document:
the SF's slot table on compute1 sends each connection to one instance's host, which proxies and
re-classifies what that instance routes back. The forward path names its destination (the
server's port: it ends on compute1 whichever router served it); the reverse names none, so it
ends on the host of the router that served it (C1), and NORMAL there delivers it over that host's
virtual link tunnel.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane.hosts import Cluster, ComputeHost
from dataplane.lab import Host, stop_process, wait_for_line
from dataplane.ovsdb import PortSpec
from dataplane.underlay import GPE_PORT, INTEGRATION_BRIDGE
from nfvo.model import HopSpec, PathSpec
from nfvo.vnffg.render import Inventory, build_document
from nfvo.vnffg.sffs import vim_switches
from nfvo.vnffg.spec import classifier_spec, parse_match
from sdn.docfile import parse_document
from sdn.document import check_document
from sdn.pipeline import EGRESS, RECLASSIFY
from tests.integration.sdn.overlay_lab import RackController, controller_on_rack
from tests.integration.sdn.test_chain import counters, http_get
from tests.integration.sdn.test_overlay import iperf
from tests.integration.sdn.test_overlay_render import apply, counter_sf, flow_packets, host_info, record

pytestmark = pytest.mark.integration

RACK_IP = "172.31.248.254"
SUBNET = "172.31.248.0/24"  # no other rack's (test_overlay, test_overlay_render, test_hosts, the bench)
IPERF = 5201
TUNNEL, TUNNEL_KEY, TUNNEL_UDP = "vxvu", "78", "4802"  # the VL's VXLAN between compute1 and compute2
TUNNEL3 = "vxvw"  # the same VL between compute1 and compute3 (a star: no L2 loop through compute1's NORMAL)
SPI, REVERSE = 71, 72


@pytest.fixture(scope="module")
def overlay(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RackController]:
    with Cluster(3, prefix=run_prefix + "u", run_root=tmp_path_factory.mktemp("overlay-unaware"),
                 subnet=SUBNET) as cluster, controller_on_rack(cluster, RACK_IP) as running:
        yield running


def forwarded(host: Host) -> int:
    """The namespace's kernel IPv4 forwarding counter (/proc/net/snmp Ip: ForwDatagrams)."""
    rows = [line.split() for line in host.exec(["cat", "/proc/net/snmp"]).stdout.splitlines() if line.startswith("Ip:")]
    return int(dict(zip(rows[0], rows[1], strict=True))["ForwDatagrams"])


def router(host: ComputeHost, ip: str) -> Host:
    """A one-armed Linux router on ``host``: forwards IPv4 back out of its one port, sends no
    ICMP redirects (the client and server share its subnet)."""
    ep = host.plug(ip)
    for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0",
                f"net.ipv4.conf.{ep.iface}.send_redirects=0"):
        ep.exec(["sysctl", "-q", "-w", key])
    return ep


@pytest.mark.timeout(240)
def test_tcp_passes_an_unaware_router_on_another_host_between_aware_sfs_on_two_more(
        overlay: RackController, tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.95.0.1/24"), c1.plug("10.95.0.2/24")
    sf_a, sf_b = c1.plug("10.95.1.1/24", mtu=1600), c3.plug("10.95.1.2/24", mtu=1600)
    r = router(c2, "10.95.0.11/24")
    ofports = vl_tunnel(c1, c2)
    reports = {"a": tmp_path / "a.json", "b": tmp_path / "b.json"}
    procs = []
    try:
        procs = [counter_sf(sf_a, reports["a"]), counter_sf(sf_b, reports["b"])]
        overlay.wait_for_switches({"compute1": {client.port, server.port, sf_a.port, TUNNEL, GPE_PORT},
                                   "compute2": {r.port, TUNNEL, GPE_PORT}, "compute3": {sf_b.port, GPE_PORT}})
        vnfs = {"client": record("client", c1, client), "server": record("server", c1, server),
                "a": record("a", c1, sf_a), "r": record("r", c2, r), "b": record("b", c3, sf_b)}
        inv = Inventory(vnfs, vim_switches([], [host_info(c1, (TUNNEL,)), host_info(c2, (TUNNEL,)), host_info(c3)]))
        web = classifier_spec("web", parse_match(f"network_dst_port_id=server,tcp_dest={IPERF}"))
        hops = (HopSpec(("a",)), HopSpec(("r",), sfc_encap=False), HopSpec(("b",)))
        apply(overlay, inv, "u", PathSpec("p", hops, (web,), True), {"p": SPI, "p~reverse": REVERSE})
        assert r.ping(server.ip, count=2, timeout=2.0) and r.ping(client.ip, count=2, timeout=2.0), \
            "the VL tunnel carries compute2's L2 to compute1"

        before = forwarded(r)
        up = iperf(client, server, 1.0)["end"]["sum_received"]["bits_per_second"]
        down = iperf(client, server, 1.0, "-R")["end"]["sum_received"]["bits_per_second"]
        routed = forwarded(r) - before
        print(f"\nTCP through a@compute1, router r@compute2 (NSH-unaware), b@compute3: {up / 1e6:.0f} Mbit/s up, "
              f"{down / 1e6:.0f} Mbit/s down; r forwarded {routed} datagrams")
        assert up > 1e6 and down > 1e6
        time.sleep(0.6)  # the counters' last report
        seen = {name: counters(path) for name, path in reports.items()}
        assert {k for k, n in seen["a"].items() if n} == {(SPI, 255), (REVERSE, 253)}, seen
        assert {k for k, n in seen["b"].items() if n} == {(SPI, 253), (REVERSE, 255)}, seen
        assert routed > 100, "the router's kernel forwarded the chain's segments both ways"
        again = {h.name: flow_packets(h, RECLASSIFY, f"tp_dst={IPERF}") + flow_packets(h, RECLASSIFY, f"tp_src={IPERF}")
                 for h in (c1, c2, c3)}
        assert again["compute2"] > 100 and again["compute1"] == again["compute3"] == 0, again
        ends = {(h.name, spi): flow_packets(h, EGRESS, f"nsh_spi={spi:#x}") for h in (c1, c2, c3) for spi in (SPI, REVERSE)}
        assert {k for k, n in ends.items() if n} == {("compute1", SPI), ("compute2", REVERSE)}, ends
        assert ends[("compute1", SPI)] > 100 and ends[("compute2", REVERSE)] > 100, ends  # its destination; r's host
        tunnelled = flow_packets(c1, 0, f"in_port={ofports['compute1']} ")
        assert tunnelled > 100, "compute2's NORMAL delivered the reverse over the VL tunnel"
    finally:
        overlay.controller.apply_document(check_document(build_document({}, [])))
        for proc in procs:
            stop_process(proc)
        for host in (c1, c2):
            host.ovsdb().delete_port(INTEGRATION_BRIDGE, TUNNEL)
        for host, ep in ((c1, client), (c1, server), (c1, sf_a), (c2, r), (c3, sf_b)):
            host.unplug(ep)



def vl_tunnel(a: ComputeHost, b: ComputeHost, name: str = TUNNEL) -> dict[str, int]:
    """A virtual link's fixed-key VXLAN between two hosts (as Neutron's br-tun): host -> its ofport."""
    return {here.name: here.ovsdb().ensure_ports(INTEGRATION_BRIDGE, [PortSpec(name, "vxlan", options={
        "remote_ip": peer.plan.underlay_ip, "key": TUNNEL_KEY, "dst_port": TUNNEL_UDP})])[name]
        for here, peer in ((a, b), (b, a))}


@pytest.mark.timeout(240)
def test_http_passes_a_bump_in_the_wire_on_its_classifiers_host_between_sfs_on_two_others(
        overlay: RackController, tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c2.plug("10.96.0.1/24"), c1.plug("10.96.0.2/24")
    sf_a, sf_b = c1.plug("10.96.1.1/24", mtu=1600), c3.plug("10.96.1.2/24", mtu=1600)
    wire = c2.plug("10.96.2.1/24")
    wire_out = c2.plug("10.96.2.2/24", into=wire, iface="eth1")
    vl_tunnel(c1, c2)
    reports = {"a": tmp_path / "a.json", "b": tmp_path / "b.json"}
    procs = []
    try:
        procs = [counter_sf(sf_a, reports["a"]), counter_sf(sf_b, reports["b"])]
        bridge = wire.popen([sys.executable, "-m", "dataplane.sf", "bridge", "--iface", wire.iface, "--egress-iface",
                             wire_out.iface], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(bridge)
        wait_for_line(bridge, "ready", 10.0)
        srv = server.popen([sys.executable, "-m", "http.server", str(IPERF), "--bind", server.ip],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(srv)
        overlay.wait_for_switches({"compute1": {server.port, sf_a.port, TUNNEL, GPE_PORT},
                                   "compute2": {client.port, wire.port, wire_out.port, TUNNEL, GPE_PORT},
                                   "compute3": {sf_b.port, GPE_PORT}})
        switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                     "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT,
                     "tunnel_ports": [TUNNEL] if h is not c3 else []} for h in (c1, c2, c3)]
        document = {
            "switches": switches,
            "service_functions": [
                {"name": "a", "instances": [{"switch": "compute1", "port": sf_a.port}]},
                {"name": "wire", "nsh_aware": False,
                 "instances": [{"switch": "compute2", "port": wire.port, "egress_port": wire_out.port}]},
                {"name": "b", "instances": [{"switch": "compute3", "port": sf_b.port}]}],
            "service_function_paths": [{"name": "web", "spi": 73, "hops": ["a", "wire", "b"], "classifiers": [
                {"name": "http", "switch": "compute2", "in_port": client.port, "match": {"tcp_dst": IPERF}}]}],
        }
        overlay.controller.apply_document(check_document(parse_document(document)))
        assert overlay.controller.settle(15.0)
        assert client.ping(server.ip, count=2, timeout=2.0), "ARP and ICMP bypass the chain, over the VL tunnel"

        deadline = time.monotonic() + 15
        while (body := http_get(client, f"http://{server.ip}:{IPERF}/")).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.3)  # the http.server may still be starting
        assert "Directory listing" in body.stdout, body.stderr
        for _ in range(3):
            assert "Directory listing" in http_get(client, f"http://{server.ip}:{IPERF}/").stdout
        time.sleep(0.6)  # the counters' last report
        seen = {name: counters(path) for name, path in reports.items()}
        assert {k for k, n in seen["a"].items() if n} == {(73, 255)}, seen
        assert {k for k, n in seen["b"].items() if n} == {(73, 253)}, seen
        back = flow_packets(c2, RECLASSIFY, f"in_port={wire_out.ofport},")
        assert back > 0, "what the bump passed on was re-classified on its host"
        ends = {h.name: flow_packets(h, EGRESS, "nsh_spi=0x49") for h in (c1, c2, c3)}
        assert ends["compute2"] > 0 and ends["compute1"] == ends["compute3"] == 0, ends  # the classifier's host
    finally:
        overlay.controller.apply_document(check_document(build_document({}, [])))
        for proc in procs:
            stop_process(proc)
        for host in (c1, c2):
            host.ovsdb().delete_port(INTEGRATION_BRIDGE, TUNNEL)
        for host, ep in ((c2, client), (c1, server), (c1, sf_a), (c3, sf_b), (c2, wire_out), (c2, wire)):
            host.unplug(ep)


@pytest.mark.timeout(240)
def test_tcp_passes_a_router_with_instances_on_two_hosts_ending_at_its_destination_or_where_it_was_served(
        overlay: RackController, tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.97.0.1/24"), c1.plug("10.97.0.2/24")
    r2, r3 = router(c2, "10.97.0.12/24"), router(c3, "10.97.0.13/24")
    vl_tunnel(c1, c2)
    vl_tunnel(c1, c3, TUNNEL3)
    try:
        overlay.wait_for_switches({"compute1": {client.port, server.port, TUNNEL, TUNNEL3, GPE_PORT},
                                   "compute2": {r2.port, TUNNEL, GPE_PORT}, "compute3": {r3.port, TUNNEL3, GPE_PORT}})
        tunnels = {"compute1": [TUNNEL, TUNNEL3], "compute2": [TUNNEL], "compute3": [TUNNEL3]}
        switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                     "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT, "tunnel_ports": tunnels[h.name]}
                    for h in (c1, c2, c3)]
        document = {
            "switches": switches,
            "service_functions": [{"name": "r", "nsh_aware": False, "instances": [
                {"switch": "compute2", "port": r2.port, "mac": r2.mac},
                {"switch": "compute3", "port": r3.port, "mac": r3.mac}]}],
            "service_function_paths": [
                {"name": "up", "spi": 74, "hops": ["r"], "classifiers": [
                    {"name": "to-server", "switch": "compute1", "in_port": client.port, "match": {"tcp_dst": IPERF},
                     "destination": {"port": server.port}}]},
                {"name": "down", "spi": 75, "hops": ["r"], "classifiers": [
                    {"name": "to-client", "switch": "compute1", "in_port": server.port, "match": {"tcp_src": IPERF}}]}],
        }
        overlay.controller.apply_document(check_document(parse_document(document)))
        assert overlay.controller.settle(15.0)
        for r in (r2, r3):
            assert r.ping(server.ip, count=2, timeout=2.0) and r.ping(client.ip, count=2, timeout=2.0), \
                "each router reaches client and server over its host's VL tunnel"

        before = {r.ns: forwarded(r) for r in (r2, r3)}
        up = iperf(client, server, 1.0, "-P", "12")["end"]["sum_received"]["bits_per_second"]
        down = iperf(client, server, 1.0, "-P", "12", "-R")["end"]["sum_received"]["bits_per_second"]
        routed = {r.ns: forwarded(r) - before[r.ns] for r in (r2, r3)}
        print(f"\nTCP through router r@compute2 + r@compute3 (NSH-unaware, one slot table): {up / 1e6:.0f} Mbit/s "
              f"up, {down / 1e6:.0f} Mbit/s down; forwarded {sorted(routed.values())}")
        assert up > 1e6 and down > 1e6
        assert all(n > 50 for n in routed.values()), f"both instances route connections: {routed}"
        again = {h.name: flow_packets(h, RECLASSIFY, f"tp_dst={IPERF}") + flow_packets(h, RECLASSIFY, f"tp_src={IPERF}")
                 for h in (c1, c2, c3)}
        assert again["compute2"] > 50 and again["compute3"] > 50 and again["compute1"] == 0, again
        ends = {(h.name, spi): flow_packets(h, EGRESS, f"nsh_spi={spi:#x}") for h in (c1, c2, c3) for spi in (74, 75)}
        assert {k for k, n in ends.items() if n} == {("compute1", 74), ("compute2", 75), ("compute3", 75)}, ends
    finally:
        overlay.controller.apply_document(check_document(build_document({}, [])))
        for host, name in ((c1, TUNNEL), (c2, TUNNEL), (c1, TUNNEL3), (c3, TUNNEL3)):
            host.ovsdb().delete_port(INTEGRATION_BRIDGE, name)
        for host, ep in ((c1, client), (c1, server), (c2, r2), (c3, r3)):
            host.unplug(ep)
