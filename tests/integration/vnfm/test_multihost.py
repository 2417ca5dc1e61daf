"""The local VIM over a rack of three compute hosts (each a namespace with its own OVS).

A server lands on the host its request names, its port's host end in that host's namespace and
on that host's br-int; a VL is one L2 segment across the hosts (VXLAN with the VL's segment id,
a star around compute1), so servers on different hosts ping and talk TCP as if on one switch,
and a VDU on compute3 gets its DHCP lease from the server on compute1. Deleting leaves nothing in
any host. The controller's miss rule (NORMAL) is installed by hand: no controller runs here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.hosts import Cluster
from dataplane.underlay import VXLAN_UDP, vl_flows
from vnfm.errors import VimError
from vnfm.model import Network
from vnfm.vim.base import DhcpHost, PortRequest, ServerRequest
from vnfm.vim.local import LocalVim
from vnfm.vim.sites import UNDERLAY_MTU, segment_id, site_of

pytestmark = pytest.mark.integration

NET = Network("net_x", 0x2A, "10.79.0.0/24")
ECHO = ("import socket,sys\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', 7007)); s.listen()\n"
        "print('listening', flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept(); data = b''\n"
        "    while (chunk := c.recv(65536)): data += chunk\n"
        "    c.sendall(data[::-1]); c.close()\n")
CLIENT = ("import socket,sys\n"
          "c=socket.create_connection((sys.argv[1], 7007), timeout=5); c.sendall(b'x' * 3000 + b'end')\n"
          "c.shutdown(socket.SHUT_WR); data=b''\n"
          "while (chunk := c.recv(65536)): data += chunk\n"
          "print(len(data), data[:3].decode())\n")


@pytest.fixture(scope="module")
def rack(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(3, prefix=run_prefix + "m", run_root=tmp_path_factory.mktemp("vimrack"), mtu=UNDERLAY_MTU)
    cluster.start()
    try:
        for host in cluster.hosts.values():
            host.add_flows(["priority=0,actions=NORMAL"])   # the controller's miss rule
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def vim(rack: Cluster, run_prefix: str, tmp_path: Path) -> Iterator[LocalVim]:
    sites = [site_of(h.plan, h.ovsdb(), ovsdb=f"unix:{h.ovs.db_sock}", underlay_mtu=rack.plan.mtu)
             for h in rack.hosts.values()]
    vim = LocalVim.on_hosts(sites, run_prefix + "w", tmp_path / "vim")
    try:
        yield vim
    finally:
        for key in sorted(vim.server_keys()):
            vim.delete_server(key)
        vim.ensure_dhcp([], [])
        vim.ensure_probes([])
        vim.close()


def server(vim: LocalVim, n: int, host: str | None, *, argv: tuple[str, ...] | None = None, ip: str = "") -> str:
    key = f"{vim.prefix}s{n:02d}00"
    mac = f"fa:16:3e:00:01:{n:02x}"
    vim.create_server(ServerRequest(key, argv, "listening" if argv else None,
                                    (PortRequest(f"{key}0", "eth0", mac, ip or f"10.79.0.{n}/24", NET),),
                                    values={"vdu": f"VDU{n}"}, host=host))
    return key


def ping(vim: LocalVim, key: str, ip: str) -> bool:
    for _ in range(3):
        res = vim.exec(key, [sys.executable, "-m", "dataplane.ping", ip, "-c", "1", "-W", "1"])
        if res.returncode == 0:
            return True
    return False


def test_servers_on_three_hosts_share_one_segment(vim: LocalVim, rack: Cluster, tmp_path: Path) -> None:
    hub = server(vim, 1, "compute1")
    a = server(vim, 2, "compute2")
    b = server(vim, 3, "compute3", argv=(sys.executable, "-u", "-c", ECHO))
    # each port's host end is in its host's namespace, on that host's br-int, not in ours
    for key, host in ((hub, "compute1"), (a, "compute2"), (b, "compute3")):
        ns = rack[host].plan.netns
        assert f"{key}0" in netns.list_links(netns=ns) and f"{key}0" not in netns.list_links()
        assert f"{key}0" in {p.name for p in rack[host].ovsdb().list_ports("br-int")}
    pcap = tmp_path / "underlay.pcap"
    with rack.rack.capture(pcap, f"udp dst port {VXLAN_UDP}"):
        assert ping(vim, a, "10.79.0.3")            # spoke to spoke, through the hub
        assert ping(vim, hub, "10.79.0.2") and ping(vim, b, "10.79.0.1")
        res = vim.exec(b, [sys.executable, "-c", CLIENT, "10.79.0.2"])  # no server on a: refused
        assert res.returncode != 0
        res = vim.exec(a, [sys.executable, "-c", CLIENT, "10.79.0.3"])
        assert res.stdout.split() == ["3003", "dne"], res
    out = subprocess.run(["tshark", "-r", str(pcap), "-d", f"udp.port=={VXLAN_UDP},vxlan", "-T", "fields",
                          "-e", "vxlan.vni"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() and set(out.split()) == {str(segment_id(NET))}, out[:200]
    vim.ensure_probes([NET])   # the monitor sits on compute1: it reaches a VDU on compute3 over the segment
    assert vim.probe("ping", NET, "10.79.0.3", timeout=2.0)
    info = {h.name: h for h in vim.hosts()}
    assert [h.servers for h in vim.hosts()] == [(hub,), (a,), (b,)]
    for name, h in info.items():
        plan = rack[name].plan
        assert (h.up, h.switch, h.bridge, h.dpid, h.host_id, h.underlay_ip, h.gpe_port, h.netns, h.uplink) == (
            True, name, "br-int", plan.datapath_id, plan.host_id, plan.underlay_ip, "gpe0", plan.netns, plan.uplink)
        assert h.used_vcpus == 1 and h.ovsdb == f"unix:{rack[name].ovs.db_sock}"
    assert info["compute1"].tunnel_ports == ("vl02ah2", "vl02ah3", "vx0")
    assert info["compute2"].tunnel_ports == info["compute3"].tunnel_ports == ("vl02ah1", "vx0")


def test_dhcp_lease_from_another_host(vim: LocalVim) -> None:
    key = server(vim, 4, "compute3", ip="")
    mac = "fa:16:3e:00:01:04"
    vim.ensure_dhcp([NET], [DhcpHost(NET.name, mac, "10.79.0.44", "vdu4")])
    t0 = time.monotonic()
    res = vim.exec(key, ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "5", "-T", "1", "-s", "/bin/true"],
                   timeout=30)
    assert res.returncode == 0, res
    assert "10.79.0.44" in res.stdout + res.stderr, res
    assert time.monotonic() - t0 < 10


def test_delete_leaves_nothing_on_any_host(vim: LocalVim, rack: Cluster) -> None:
    keys = [server(vim, 5, "compute2"), server(vim, 6, "compute3")]
    with pytest.raises(VimError, match="no compute host 'compute9'"):
        server(vim, 7, "compute9")
    for key in keys:
        vim.delete_server(key)
    assert not vim.server_keys()
    for host in rack.hosts.values():
        assert not [x for x in netns.list_links(netns=host.plan.netns) if x.startswith(vim.prefix)]
        assert not [p.name for p in host.ovsdb().list_ports("br-int") if p.name.startswith(vim.prefix)]
    assert not [n for n in netns.list_netns() if n.startswith(vim.prefix)]
    assert all(not h.servers and h.used_vcpus == 0 for h in vim.hosts())
    # the last server took the VLs' tunnel ports with it; only the flow-based vx0 stays
    assert all(h.tunnel_ports == ("vx0",) for h in vim.hosts()), vim.hosts()


def test_flow_based_vx0_keeps_working_beside_the_segment_ports(vim: LocalVim, rack: Cluster) -> None:
    """Fixed key+remote ports and the flow-based ``vx0`` share UDP 4789: OVS gives what arrives
    with a segment's VNI to its port and anything else to ``vx0``, so hand-wired VNIs still pass."""
    server(vim, 8, "compute2")        # the segment ports exist now
    server(vim, 9, "compute3")
    c2, c3 = rack["compute2"], rack["compute3"]
    a, b = c2.plug("10.80.0.1/24"), c3.plug("10.80.0.2/24")
    try:
        c2.add_flows(vl_flows(local_ofport=a.ofport, vni=5005, peer_ip=c3.plan.underlay_ip, priority=300))
        c3.add_flows(vl_flows(local_ofport=b.ofport, vni=5005, peer_ip=c2.plan.underlay_ip, priority=300))
        assert a.ping(b.ip, count=3, check=False)
        assert ping(vim, f"{vim.prefix}s0800", "10.79.0.9")     # and the segment beside it
    finally:
        for host, ep in ((c2, a), (c3, b)):
            host.ofctl("del-flows", "br-int", f"in_port={ep.ofport}")
            host.ofctl("del-flows", "br-int", "tun_id=5005")
            host.unplug(ep)
