"""Compute hosts as real OVS instances in their own namespaces, joined by a real underlay.

Proves the data-plane ground of multi-host chaining with hand-installed flows (the controller
renders them later): a VL spans hosts in plain VXLAN, NSH crosses hosts in VXLAN-GPE with the
right SPI, decreasing SI and the multi-host context (tshark decodes the underlay), and a rack's
teardown leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from dataplane import netns, nshcontext
from dataplane.hosts import Cluster, HostError, static_neighbour
from dataplane.lab import Host, stop_process, wait_for_line
from dataplane.nsh import ETH_P_NSH, Nsh, build_eth_nsh, parse_eth_nsh
from dataplane.underlay import VXLAN_OFPORT, VXLAN_UDP, gpe_in_match, gpe_out, vl_flows
from tests.integration.capture import tshark

pytestmark = pytest.mark.integration

VNI = 1001
SPI = 0x42


@pytest.fixture(scope="module")
def rack(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three compute hosts for the module (named with the session prefix, so leaks are seen)."""
    prefix = run_prefix + "k"
    cluster = Cluster(3, prefix=prefix, run_root=tmp_path_factory.mktemp("rack"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def iperf_bits(client: Host, server: Host, seconds: float = 1.0) -> float:
    srv = server.popen(["iperf3", "-s", "-1", "-B", server.ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            res = client.exec(["iperf3", "-c", server.ip, "-t", str(seconds), "-J"], check=False, timeout=seconds + 20)
            if res.returncode == 0:
                return float(json.loads(res.stdout)["end"]["sum_received"]["bits_per_second"])
            time.sleep(0.1)
        raise AssertionError(f"iperf3 {client.ns} -> {server.ip} never connected: {res.stdout[-300:]}")
    finally:
        srv.kill()
        srv.wait()


def test_hosts_have_their_own_ovs_in_their_namespace(rack: Cluster) -> None:
    for host in rack.hosts.values():
        ns_inode = os.stat(netns.NETNS_DIR / host.plan.netns).st_ino
        for pid in host.ovs.pids:  # the daemons really run inside the host namespace
            assert os.stat(f"/proc/{pid}/ns/net").st_ino == ns_inode, (host.name, pid)
        assert netns.netns_exists(host.plan.netns)
        assert host.ovsdb().datapath_id("br-int") == host.plan.datapath_id
        assert "172.31.250." in host.ovs.appctl("ovs/route/lookup", rack.plan.peers(host.name)[0].underlay_ip)
    pids = {pid for h in rack.hosts.values() for pid in h.ovs.pids}
    assert len(pids) == 6


def test_a_virtual_link_spans_hosts_in_plain_vxlan(rack: Cluster, tmp_path: Path) -> None:
    c1, c3 = rack["compute1"], rack["compute3"]
    client, server = c1.plug("10.81.0.1/24"), c3.plug("10.81.0.2/24")
    try:
        c1.add_flows(vl_flows(local_ofport=client.ofport, vni=VNI, peer_ip=c3.plan.underlay_ip))
        c3.add_flows(vl_flows(local_ofport=server.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip))
        with rack.rack.capture(tmp_path / "vxlan.pcap", f"udp port {VXLAN_UDP}") as pcap:
            assert client.ping(server.ip, count=3, timeout=2.0)
            assert iperf_bits(client, server) > 10e6
        rows = tshark(pcap, "icmp", "ip.src", "ip.dst", "udp.dstport", "vxlan.vni")
        assert rows, "no ICMP seen in VXLAN on the underlay"
        outer_inner = {tuple(r) for r in rows}
        assert (f"{c1.plan.underlay_ip},{client.ip}", f"{c3.plan.underlay_ip},{server.ip}", str(VXLAN_UDP), str(VNI)) \
            in outer_inner
        assert (f"{c3.plan.underlay_ip},{server.ip}", f"{c1.plan.underlay_ip},{client.ip}", str(VXLAN_UDP), str(VNI)) \
            in outer_inner
    finally:
        for host, ep in ((c1, client), (c3, server)):
            host.ofctl("del-flows", "br-int")
            host.unplug(ep)


def test_nsh_crosses_hosts_in_vxlan_gpe_with_decreasing_si(rack: Cluster, tmp_path: Path) -> None:
    """sf1@compute1 (SI 254) -> GPE -> sf2@compute2, which hands it on with SI 253 -> GPE -> sf3@compute3."""
    c1, c2, c3 = rack["compute1"], rack["compute2"], rack["compute3"]
    sf1, sf2, sf3 = c1.plug("10.82.0.1/24", mtu=1538), c2.plug("10.82.0.2/24", mtu=1538), c3.plug("10.82.0.3/24", mtu=1538)
    context = nshcontext.Context(ingress_host=c1.plan.host_id, ingress_port=sf1.ofport, segment=VNI, flow_hash=5)
    from_host1 = nshcontext.match_text(nshcontext.INGRESS_HOST, c1.plan.host_id)
    inner = bytes(Ether(src="02:aa:00:00:00:01", dst="02:aa:00:00:00:02") / IP(src="10.82.1.1", dst="10.82.1.2")
                  / UDP(sport=4242, dport=9999) / b"payload across hosts")
    try:
        c1.add_flows([f"priority=100,in_port={sf1.ofport},dl_type={ETH_P_NSH:#x},nsh_spi={SPI:#x},nsh_si=254,"
                      f"actions=decap(),{gpe_out(peer_ip=c2.plan.underlay_ip, vni=VNI)}"])
        c2.add_flows([f"priority=100,{gpe_in_match(spi=SPI, si=254)},{from_host1},"
                      f"actions=encap(ethernet),set_field:{sf2.mac}->eth_dst,output:{sf2.ofport}",
                      f"priority=100,in_port={sf2.ofport},dl_type={ETH_P_NSH:#x},nsh_spi={SPI:#x},nsh_si=253,"
                      f"actions=decap(),{gpe_out(peer_ip=c3.plan.underlay_ip, vni=VNI)}"])
        c3.add_flows([f"priority=100,{gpe_in_match(spi=SPI, si=253)},"
                      f"actions=encap(ethernet),set_field:{sf3.mac}->eth_dst,output:{sf3.ofport}"])
        frame = build_eth_nsh("02:00:00:00:00:fe", sf1.mac, Nsh.md1(SPI, 254, context.words()), inner)
        with rack.rack.capture(tmp_path / "gpe.pcap", "udp port 4790") as pcap, \
                netns.packet_socket(sf1.ns, sf1.iface, ethertype=ETH_P_NSH) as out1, \
                netns.packet_socket(sf2.ns, sf2.iface, ethertype=ETH_P_NSH) as in2, \
                netns.packet_socket(sf3.ns, sf3.iface, ethertype=ETH_P_NSH) as in3:
            in2.settimeout(5.0)
            in3.settimeout(5.0)
            out1.send(frame)
            at2 = parse_eth_nsh(in2.recv(65535))
            assert (at2.nsh.spi, at2.nsh.si, at2.dst, at2.payload) == (SPI, 254, sf2.mac, inner)
            assert nshcontext.Context.from_words(at2.nsh.metadata.context) == context  # type: ignore[union-attr]
            in2.send(build_eth_nsh("02:00:00:00:00:fe", sf2.mac, at2.nsh.with_si(253), at2.payload))  # sf2 serves
            at3 = parse_eth_nsh(in3.recv(65535))
            assert (at3.nsh.spi, at3.nsh.si, at3.dst, at3.payload) == (SPI, 253, sf3.mac, inner)
        rows = tshark(pcap, "nsh", "ip.src", "ip.dst", "udp.dstport", "vxlan.next_proto", "vxlan.vni",
                      "nsh.spi", "nsh.si", "nsh.contextheader")
        words = ",".join(f"{w:08x}" for w in context.words())
        ips = {h.name: h.plan.underlay_ip for h in (c1, c2, c3)}
        outer = [[r[0].split(",")[0], r[1].split(",")[0], r[2].split(",")[0], *r[3:7]] for r in rows]
        assert outer == [  # outer IP/UDP, GPE next protocol 4 = NSH, VNI, SPI, SI
            [ips["compute1"], ips["compute2"], "4790", "4", str(VNI), str(SPI), "254"],
            [ips["compute2"], ips["compute3"], "4790", "4", str(VNI), str(SPI), "253"],
        ], rows
        assert all(r[7] == words and r[0].endswith(",10.82.1.1") for r in rows), rows  # C1..C4, then the inner packet
    finally:
        for host, ep in ((c1, sf1), (c2, sf2), (c3, sf3)):
            host.ofctl("del-flows", "br-int")
            host.unplug(ep)


def test_a_path_end_hands_off_into_the_ingress_segment_named_by_the_context(rack: Cluster, tmp_path: Path) -> None:
    """client@compute1 is classified into NSH (C1 = host 1 + port, C2 = its VL's VNI) -> GPE -> the path
    end on compute2 decapsulates and, from C2, hands the packet into that VL in plain VXLAN -> server@compute3.
    Replies take the VL straight back. The path end needs nothing but the context."""
    c1, c2, c3 = rack["compute1"], rack["compute2"], rack["compute3"]
    client, server = c1.plug("10.84.0.1/24"), c3.plug("10.84.0.2/24")
    words = nshcontext.Context(ingress_host=c1.plan.host_id, ingress_port=client.ofport, segment=VNI).words()
    try:
        static_neighbour(client, server)
        static_neighbour(server, client)
        c1.add_flows([f"priority=100,in_port={client.ofport},ip,actions=encap(nsh(md_type=1)),set_field:{SPI:#x}->nsh_spi,"
                      f"set_field:255->nsh_si,set_field:{words[0]:#x}->nsh_c1,set_field:{words[1]:#x}->nsh_c2,"
                      f"{gpe_out(peer_ip=c2.plan.underlay_ip)}",
                      vl_flows(local_ofport=client.ofport, vni=VNI, peer_ip=c3.plan.underlay_ip)[1]])
        c2.add_flows([f"priority=100,{gpe_in_match(spi=SPI, si=255)},"
                      f"{nshcontext.match_text(nshcontext.INGRESS_HOST, c1.plan.host_id)},"
                      f"actions=move:{nshcontext.SEGMENT.subfield}->tun_id[0..23],decap(),"
                      f"set_field:{c3.plan.underlay_ip}->tun_dst,output:{VXLAN_OFPORT}"])
        c3.add_flows(vl_flows(local_ofport=server.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip))
        with rack.rack.capture(tmp_path / "end.pcap", "udp") as pcap:
            assert client.ping(server.ip, count=3, timeout=2.0)
        rows = tshark(pcap, "icmp", "ip.src", "ip.dst", "udp.dstport", "vxlan.vni", "nsh.spi", "icmp.type")
        hops = {(r[0].split(",")[0], r[1].split(",")[0], r[2].split(",")[0], r[3], r[4], r[5]) for r in rows}
        ips = [h.plan.underlay_ip for h in (c1, c2, c3)]
        assert hops == {(ips[0], ips[1], "4790", "0", str(SPI), "8"),      # echo request classified, GPE+NSH
                        (ips[1], ips[2], "4789", str(VNI), "", "8"),      # path end -> VL segment from C2
                        (ips[2], ips[0], "4789", str(VNI), "", "0")}, rows  # echo reply in the VL
    finally:
        for host, ep in ((c1, client), (c3, server)):
            host.unplug(ep)
        for host in (c1, c2, c3):
            host.ofctl("del-flows", "br-int")


@pytest.mark.timeout(120)
def test_tcp_through_a_chain_whose_sfs_sit_on_two_other_hosts(rack: Cluster, tmp_path: Path) -> None:
    """client@compute1 -> classify (SPI 7) -> GPE -> sf1@compute2 (reference forwarder, SI 255 -> 254)
    -> GPE -> sf2@compute3 (SI 253) -> path end -> server@compute3; replies take the VL in plain VXLAN."""
    c1, c2, c3 = rack["compute1"], rack["compute2"], rack["compute3"]
    client, server = c1.plug("10.86.0.1/24"), c3.plug("10.86.0.2/24")
    sf1, sf2 = c2.plug("10.86.1.1/24", mtu=1600), c3.plug("10.86.1.2/24", mtu=1600)
    procs = []
    try:
        static_neighbour(client, server)
        static_neighbour(server, client)
        c1.add_flows([f"priority=100,in_port={client.ofport},ip,actions=encap(nsh(md_type=1)),set_field:7->nsh_spi,"
                      f"set_field:255->nsh_si,move:in_port->{nshcontext.INGRESS_PORT.subfield},"
                      f"{gpe_out(peer_ip=c2.plan.underlay_ip)}",
                      vl_flows(local_ofport=client.ofport, vni=VNI, peer_ip=c3.plan.underlay_ip)[1]])
        c2.add_flows([f"priority=100,{gpe_in_match(spi=7, si=255)},"
                      f"actions=encap(ethernet),set_field:{sf1.mac}->eth_dst,output:{sf1.ofport}",
                      f"priority=100,in_port={sf1.ofport},dl_type={ETH_P_NSH:#x},nsh_spi=7,nsh_si=254,"
                      f"actions=decap(),{gpe_out(peer_ip=c3.plan.underlay_ip)}"])
        c3.add_flows([f"priority=100,{gpe_in_match(spi=7, si=254)},"
                      f"actions=encap(ethernet),set_field:{sf2.mac}->eth_dst,output:{sf2.ofport}",
                      f"priority=100,in_port={sf2.ofport},dl_type={ETH_P_NSH:#x},nsh_spi=7,nsh_si=253,"
                      f"actions=decap(),decap(),output:{server.ofport}",
                      vl_flows(local_ofport=server.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip)[0]])
        for sf in (sf1, sf2):
            proc = sf.popen([sys.executable, "-m", "dataplane.sf", "forwarder", "--iface", sf.iface],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(proc)
            wait_for_line(proc, "ready", 10.0)
        with rack.rack.capture(tmp_path / "chain.pcap", "udp port 4790") as pcap:
            bits = iperf_bits(client, server, seconds=1.0)
        print(f"\nTCP through 2 SFs on compute2 and compute3 from compute1: {bits / 1e6:.0f} Mbit/s")
        assert bits > 5e6
        rows = tshark(pcap, "nsh && tcp.dstport == 5201", "ip.src", "ip.dst", "nsh.spi", "nsh.si")
        hops = {(r[0].split(",")[0], r[1].split(",")[0], r[2], r[3]) for r in rows}
        assert hops == {(c1.plan.underlay_ip, c2.plan.underlay_ip, "7", "255"),
                        (c2.plan.underlay_ip, c3.plan.underlay_ip, "7", "254")}, hops
        assert "n_packets=0," not in c3.ofctl("dump-flows", "br-int", "nsh_spi=7,dl_type=0x894f")
    finally:
        for proc in procs:
            stop_process(proc)
        for host, ep in ((c1, client), (c3, server), (c2, sf1), (c3, sf2)):
            host.unplug(ep)
        for host in (c1, c2, c3):
            host.ofctl("del-flows", "br-int")


def test_a_host_joins_and_leaves_a_running_rack(rack: Cluster) -> None:
    c1 = rack["compute1"]
    c4 = rack.add_host()
    try:
        assert c4.name == "compute4" and c4.running
        assert c4.plan.underlay_ip in c1.ovs.appctl("tnl/neigh/show")
        a, b = c1.plug("10.85.0.1/24"), c4.plug("10.85.0.2/24")
        c1.add_flows(vl_flows(local_ofport=a.ofport, vni=VNI, peer_ip=c4.plan.underlay_ip))
        c4.add_flows(vl_flows(local_ofport=b.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip))
        assert a.ping(b.ip, count=2, timeout=2.0)
        c1.unplug(a)
        c1.ofctl("del-flows", "br-int")
    finally:
        rack.remove_host("compute4")
    assert "compute4" not in rack.hosts and not netns.netns_exists(c4.plan.netns)
    assert not c4.ovs.pids and [h.name for h in rack.plan.hosts] == ["compute1", "compute2", "compute3"]


def test_teardown_leaves_nothing_and_is_idempotent(run_prefix: str, tmp_path: Path) -> None:
    prefix = run_prefix + "t"
    cluster = Cluster(2, prefix=prefix, run_root=tmp_path / "run")
    cluster.start()
    ep = cluster["compute2"].plug("10.83.0.2/24")
    pids = [pid for h in cluster.hosts.values() for pid in h.ovs.pids]
    assert len(pids) == 4 and netns.netns_exists(ep.ns)
    cluster.stop()
    cluster.stop()
    assert not [n for n in netns.list_netns() if n.startswith(prefix)]
    assert not [n for n in netns.list_links() if n.startswith(prefix)]
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
    assert not (tmp_path / "run" / "compute1").exists() and not (tmp_path / "run" / "compute2").exists()
    with pytest.raises(HostError, match="compute9"):
        cluster["compute9"]


def test_a_failed_start_leaves_nothing(run_prefix: str, tmp_path: Path) -> None:
    """The rack namespace is missing, so compute1's uplink cannot be wired: nothing may remain."""
    prefix = run_prefix + "f"
    cluster = Cluster(1, prefix=prefix, run_root=tmp_path / "run")
    with pytest.raises(HostError, match="compute1"):
        cluster["compute1"].start()
    assert not [n for n in netns.list_netns() if n.startswith(prefix)]
    assert not [n for n in netns.list_links() if n.startswith(prefix)]
    assert not cluster["compute1"].ovs.pids
