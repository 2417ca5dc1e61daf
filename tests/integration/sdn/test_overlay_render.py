"""The NFVO's render drives the overlay (issue 13, point 4): chains whose VNFs sit on three compute
hosts, rendered by ``nfvo.vnffg.render`` from VNF records and the VIM's hosts, built into a document
(``build_document``) and handed to the real controller, carry TCP through every SF in order.

The records describe the lab's endpoints as a multi-host VIM would (each CP's ``bridge`` = the
switch of its host, each host a ``ComputeHostInfo`` with its overlay), so what is proven is the
NFVO's own document. A second test adds a virtual link's tunnel between two hosts (a fixed-key
VXLAN port, as Neutron's br-tun would) and shows a classifier bound to no port classifies traffic
where it entered, never again when it arrives over the tunnel on the server's host.
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
from nfvo.model import PathSpec, VnffgSpec
from nfvo.vnffg.render import Inventory, build_document, render_vnffg
from nfvo.vnffg.sffs import vim_switches
from nfvo.vnffg.spec import classifier_spec, parse_chain, parse_match
from sdn.document import check_document
from tests.integration.sdn.overlay_lab import RackController, controller_on_rack
from tests.integration.sdn.test_chain import counters
from tests.integration.sdn.test_overlay import iperf
from vnfm.model import CpRecord, VduRecord, VnfRecord
from vnfm.vim.base import ComputeHostInfo

pytestmark = pytest.mark.integration

RACK_IP = "172.31.253.254"
SUBNET = "172.31.253.0/24"  # neither test_overlay.py's nor test_hosts.py's: the racks may coexist
IPERF = 5201
TUNNEL, TUNNEL_KEY, TUNNEL_UDP = "vxvl", "77", "4801"  # a VL's VXLAN between two hosts (not vx0's 4789)


@pytest.fixture(scope="module")
def overlay(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RackController]:
    with Cluster(3, prefix=run_prefix + "n", run_root=tmp_path_factory.mktemp("overlay-render"),
                 subnet=SUBNET) as cluster, controller_on_rack(cluster, RACK_IP) as running:
        yield running


def host_info(host: ComputeHost, tunnel_ports: tuple[str, ...] = ()) -> ComputeHostInfo:
    """The host as a multi-host VIM reports it: its switch is its name, on the overlay."""
    p = host.plan
    return ComputeHostInfo(p.name, True, 2, 1 << 30, 1 << 30, switch=p.name, bridge=INTEGRATION_BRIDGE,
                           dpid=p.datapath_id, host_id=p.host_id, underlay_ip=p.underlay_ip, gpe_port=GPE_PORT,
                           tunnel_ports=tunnel_ports)


def record(name: str, host: ComputeHost, ep: Host) -> VnfRecord:
    """A one-VDU VNF whose data CP is the lab endpoint ``ep`` on ``host``."""
    cp = CpRecord("CP1", "VDU1", 0, "net0", 0, False, ep.iface, ep.mac, ep.cidr, ep.port, ep.ofport, host.name)
    return VnfRecord(f"id-{name}", name, "vnfd", "ACTIVE", "", (VduRecord("VDU1", 0, ep.ns, "img", None, (cp,), None),),
                     0.0, None)


def counter_sf(sf: Host, report: Path) -> subprocess.Popen:
    proc = sf.popen([sys.executable, "-m", "dataplane.sf", "counter", "--iface", sf.iface, "--report", str(report),
                     "--interval", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_line(proc, "ready", 10.0)
    return proc


def apply(overlay: RackController, inv: Inventory, name: str, path: PathSpec, spis: dict[str, int]) -> None:
    """Render the VNFFG as the NFVO does, and give the controller the NFVO's document."""
    chain = render_vnffg(name, VnffgSpec((path,)), spis, inv)
    document = check_document(build_document(inv.switches, [chain]))
    overlay.controller.apply_document(document)
    assert overlay.controller.settle(15.0)


def flow_packets(host: ComputeHost, table: int, needle: str) -> int:
    """Packets of the flows in ``table`` whose text has ``needle``."""
    total = 0
    for line in host.ofctl("dump-flows", INTEGRATION_BRIDGE, f"table={table}").splitlines():
        if needle in line and "n_packets=" in line:
            total += int(line.split("n_packets=")[1].split(",")[0])
    return total


@pytest.mark.timeout(240)
def test_the_nfvo_render_carries_tcp_through_sfs_on_three_hosts(overlay: RackController, tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.93.0.1/24"), c1.plug("10.93.0.2/24")
    sf_a, sf_b = c2.plug("10.93.1.1/24", mtu=1600), c3.plug("10.93.1.2/24", mtu=1600)
    reports = {"a": tmp_path / "a.json", "b": tmp_path / "b.json"}
    procs = []
    try:
        procs = [counter_sf(sf_a, reports["a"]), counter_sf(sf_b, reports["b"])]
        overlay.wait_for_switches({"compute1": {client.port, server.port, GPE_PORT},
                                   "compute2": {sf_a.port, GPE_PORT}, "compute3": {sf_b.port, GPE_PORT}})
        vnfs = {"client": record("client", c1, client), "server": record("server", c1, server),
                "a": record("a", c2, sf_a), "b": record("b", c3, sf_b)}
        inv = Inventory(vnfs, vim_switches([], [host_info(h) for h in (c1, c2, c3)]))
        web = classifier_spec("web", parse_match(f"network_src_port_id=client,network_dst_port_id=server,"
                                                 f"tcp_dest={IPERF}"))
        apply(overlay, inv, "g", PathSpec("p", parse_chain("a,b"), (web,), True), {"p": 51, "p~reverse": 52})

        up = iperf(client, server, 1.0)["end"]["sum_received"]["bits_per_second"]
        down = iperf(client, server, 1.0, "-R")["end"]["sum_received"]["bits_per_second"]
        print(f"\nTCP through the NFVO's chain a@compute2, b@compute3 from compute1: {up / 1e6:.0f} Mbit/s up, "
              f"{down / 1e6:.0f} Mbit/s down")
        assert up > 5e6 and down > 5e6
        time.sleep(0.6)  # the counters' last report
        seen = {name: counters(path) for name, path in reports.items()}
        assert {k for k, n in seen["a"].items() if n} == {(51, 255), (52, 254)}, seen
        assert {k for k, n in seen["b"].items() if n} == {(51, 254), (52, 255)}, seen
    finally:
        overlay.controller.apply_document(check_document(build_document({}, [])))
        for proc in procs:
            stop_process(proc)
        for host, ep in ((c1, client), (c1, server), (c2, sf_a), (c3, sf_b)):
            host.unplug(ep)


@pytest.mark.timeout(240)
def test_traffic_arriving_on_a_vl_tunnel_is_not_classified_again(overlay: RackController, tmp_path: Path) -> None:
    """Client on compute1, server on compute2, joined by a VL tunnel; SF ``a`` on compute3; the
    classifier is bound to no port, so it sits on every host. Forward traffic is classified on
    compute1, passes ``a`` and, back on compute1, NORMAL sends it over the tunnel: on compute2 it
    goes to NORMAL, not to compute2's classifier, so ``a`` sees each segment once."""
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.94.0.1/24"), c2.plug("10.94.0.2/24")
    sf_a = c3.plug("10.94.1.1/24", mtu=1600)
    ofports = {here.name: here.ovsdb().ensure_ports(INTEGRATION_BRIDGE, [PortSpec(TUNNEL, "vxlan", options={
        "remote_ip": peer.plan.underlay_ip, "key": TUNNEL_KEY, "dst_port": TUNNEL_UDP})])[TUNNEL]
        for here, peer in ((c1, c2), (c2, c1))}
    report = tmp_path / "a.json"
    procs = []
    try:
        procs = [counter_sf(sf_a, report)]
        overlay.wait_for_switches({"compute1": {client.port, TUNNEL, GPE_PORT}, "compute2": {server.port, TUNNEL},
                                   "compute3": {sf_a.port, GPE_PORT}})
        vnfs = {"client": record("client", c1, client), "server": record("server", c2, server),
                "a": record("a", c3, sf_a)}
        inv = Inventory(vnfs, vim_switches([], [host_info(c1, (TUNNEL,)), host_info(c2, (TUNNEL,)), host_info(c3)]))
        web = classifier_spec("web", parse_match(f"tcp_dest={IPERF}"))  # bound to no port: on every host
        apply(overlay, inv, "t", PathSpec("p", parse_chain("a"), (web,)), {"p": 61})
        assert client.ping(server.ip, count=2, timeout=2.0), "the VL tunnel carries L2 between the hosts"

        result = iperf(client, server, 1.0)
        assert result["end"]["sum_received"]["bits_per_second"] > 5e6
        time.sleep(0.6)
        classified = {h.name: flow_packets(h, 10, f"tp_dst={IPERF}") for h in (c1, c2, c3)}
        tunnelled = flow_packets(c2, 0, f"in_port={ofports['compute2']} ")
        assert classified["compute1"] > 100 and classified["compute2"] == 0, classified
        assert tunnelled > 100, (tunnelled, classified)  # the server's side came over the tunnel, to NORMAL
        seen = counters(report)
        assert set(k for k, n in seen.items() if n) == {(61, 255)}, seen
        assert seen[(61, 255)] <= classified["compute1"], "no segment passed the SF twice"
    finally:
        overlay.controller.apply_document(check_document(build_document({}, [])))
        for proc in procs:
            stop_process(proc)
        for host in (c1, c2):
            host.ovsdb().delete_port(INTEGRATION_BRIDGE, TUNNEL)
        for host, ep in ((c1, client), (c2, server), (c3, sf_a)):
            host.unplug(ep)
