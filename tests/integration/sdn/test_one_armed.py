"""One-armed NSH-unaware SFs that route, on real OVS with real traffic: two namespaces that are
plain Linux routers (net.ipv4.ip_forward=1, one port each, on the client's and server's subnet)
carry TCP/80 as a symmetric chain, VNF2 then VNF1 forward and VNF1 then VNF2 back.

The switch strips NSH and addresses each frame to the router's MAC; the router routes it back
out of the same port (TTL-1, its own source MAC, the server's as destination after its own ARP,
which reaches NORMAL) and the switch re-classifies it onto the next hop. The order shows in the
TTLs each router's nftables counters see and in the TTL at the server and the client; TCP/2222
between the same hosts is not chained (TTL unchanged, no router sees it).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import yaml

from tests.integration.sdn.chain_lab import new_dpid, running_controller
from tests.integration.sdn.test_chain import http_get, nfv

pytestmark = pytest.mark.integration

HTTP, OTHER = 80, 2222
TTL = 64  # Linux's default on client and server

COUNTERS = f"""
table ip chaintest {{
  chain pre {{
    type filter hook prerouting priority -300; policy accept;
    tcp dport {HTTP} ip ttl {TTL} counter
    tcp dport {HTTP} ip ttl {TTL - 1} counter
    tcp dport {HTTP} ip ttl {TTL - 2} counter
    tcp sport {HTTP} ip ttl {TTL} counter
    tcp sport {HTTP} ip ttl {TTL - 1} counter
    tcp sport {HTTP} ip ttl {TTL - 2} counter
    tcp dport {OTHER} ip ttl {TTL} counter
    tcp sport {OTHER} ip ttl {TTL} counter
  }}
}}
"""


@pytest.fixture(scope="module")
def controller():
    with running_controller() as running:
        yield running


def install_counters(host, tmp_path) -> None:
    rules = tmp_path / f"{host.ns}.nft"
    rules.write_text(COUNTERS)
    host.exec(["nft", "-f", str(rules)])


def counted(host) -> dict[tuple[str, int, int], int]:
    """(dport|sport, port, ttl) -> packets seen arriving in ``host``'s namespace."""
    text = host.exec(["nft", "list", "chain", "ip", "chaintest", "pre"]).stdout
    return {(d, int(p), int(t)): int(n) for d, p, t, n in
            re.findall(r"tcp (dport|sport) (\d+) ip ttl (\d+) counter packets (\d+)", text)}


def seen(counts: dict[tuple[str, int, int], int], direction: str, port: int) -> set[int]:
    return {ttl for (d, p, ttl), n in counts.items() if d == direction and p == port and n}


def test_symmetric_chain_through_two_one_armed_routers(controller, lab, ovs, tmp_path):
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
    vnf1 = lab.host(bridge, "10.0.0.11/24", mtu=1500)
    vnf2 = lab.host(bridge, "10.0.0.12/24", mtu=1500)
    controller.wait_for_switch(dpid, {client.port, server.port, vnf1.port, vnf2.port})
    for host in (vnf1, vnf2):
        host.exec(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    for host in (client, server, vnf1, vnf2):
        install_counters(host, tmp_path)
    for port in (HTTP, OTHER):
        lab.track(server.popen([sys.executable, "-m", "http.server", str(port), "--bind", server.ip],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def router(name: str, host) -> dict:
        return {"name": name, "nsh_aware": False, "instances": [{"switch": "sff1", "port": host.port, "mac": host.mac}]}

    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [router("VNF1", vnf1), router("VNF2", vnf2)],
        "service_function_paths": [
            {"name": "web", "spi": 41, "hops": ["VNF2", "VNF1"], "classifiers": [
                {"name": "http", "in_port": client.port, "match": {"tcp_dst": HTTP}}]},
            {"name": "web/reverse", "spi": 42, "hops": ["VNF1", "VNF2"], "classifiers": [
                {"name": "http/reverse", "in_port": server.port, "match": {"tcp_src": HTTP}}]},
        ],
    }
    doc_file = tmp_path / "routers.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr

    deadline = time.monotonic() + 15
    while not (body := http_get(client, f"http://{server.ip}:{HTTP}/")).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.3)  # the http.server may still be starting
    assert "Directory listing" in body.stdout, body.stderr
    for _ in range(3):
        assert "Directory listing" in http_get(client, f"http://{server.ip}:{HTTP}/").stdout
        assert "Directory listing" in http_get(client, f"http://{server.ip}:{OTHER}/").stdout

    at = {name: counted(host) for name, host in (("client", client), ("server", server), ("VNF1", vnf1),
                                                 ("VNF2", vnf2))}
    # forward: VNF2 gets the client's TTL, VNF1 one less, the server two less
    assert seen(at["VNF2"], "dport", HTTP) == {TTL} and seen(at["VNF1"], "dport", HTTP) == {TTL - 1}, at
    assert seen(at["server"], "dport", HTTP) == {TTL - 2}, at
    # replies: VNF1 first (the server's TTL), then VNF2, the client two less
    assert seen(at["VNF1"], "sport", HTTP) == {TTL} and seen(at["VNF2"], "sport", HTTP) == {TTL - 1}, at
    assert seen(at["client"], "sport", HTTP) == {TTL - 2}, at
    # TCP/2222 is not chained: straight from client to server and back, no router sees it
    assert seen(at["server"], "dport", OTHER) == {TTL} and seen(at["client"], "sport", OTHER) == {TTL}, at
    assert not seen(at["VNF1"], "dport", OTHER) | seen(at["VNF2"], "dport", OTHER), at
    for name in ("VNF1", "VNF2"):  # the kernel forwarded them (not a packet socket reflecting frames)
        snmp = (vnf1 if name == "VNF1" else vnf2).exec(["cat", "/proc/net/snmp"]).stdout.splitlines()
        keys, values = [line.split() for line in snmp if line.startswith("Ip:")][:2]
        assert int(dict(zip(keys, values, strict=True))["ForwDatagrams"]) > 0, name
    # the routers resolved the server and client themselves (their ARP went through NORMAL), and
    # the switch learned each router's MAC on its own port, not on the ingress port the chain restores
    neigh = vnf1.exec(["ip", "neigh", "show", server.ip]).stdout
    assert server.mac in neigh.lower(), neigh
    fdb = ovs.appctl("fdb/show", bridge)
    for host in (vnf1, vnf2, client, server):
        (line,) = [ln for ln in fdb.splitlines() if host.mac in ln.lower()]
        assert int(line.split()[0]) == host.ofport, (host.mac, fdb)
    flows = ovs.ofctl("dump-flows", bridge, "--no-stats")
    assert f"set_field:{vnf1.mac}->eth_dst,output:" in flows.lower(), flows


def _forwarded6(host) -> int:
    """The namespace's IPv6 forwarding counter (/proc/net/snmp6 Ip6OutForwDatagrams)."""
    rows = dict(line.split() for line in host.exec(["cat", "/proc/net/snmp6"]).stdout.splitlines() if line.strip())
    return int(rows["Ip6OutForwDatagrams"])


def test_ipv6_tcp_through_two_one_armed_routers(controller, lab, tmp_path):
    """The same chain for IPv6: a match naming no IP version (tcp_dst=80) takes IPv6 too, the
    routers resolve neighbours by ND through NORMAL and route (hop limit - 1); TCP/2222 goes
    straight."""
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{controller.openflow_port}")
    hosts = {name: lab.host(bridge, f"10.0.1.{n}/24", mtu=1500)
             for n, name in ((1, "client"), (2, "server"), (11, "VNF1"), (12, "VNF2"))}
    controller.wait_for_switch(dpid, {h.port for h in hosts.values()})
    six = {"client": "fd00:66::1", "server": "fd00:66::2", "VNF1": "fd00:66::11", "VNF2": "fd00:66::12"}
    for name, host in hosts.items():
        host.exec(["ip", "-6", "addr", "add", f"{six[name]}/64", "dev", host.iface, "nodad"])
    for name in ("VNF1", "VNF2"):
        hosts[name].exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
    server, client = hosts["server"], hosts["client"]
    for port in (HTTP, OTHER):
        lab.track(server.popen([sys.executable, "-m", "http.server", str(port), "--bind", six["server"]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def router(name: str) -> dict:
        host = hosts[name]
        return {"name": name, "nsh_aware": False, "instances": [{"switch": "sff1", "port": host.port, "mac": host.mac}]}

    document = {
        "switches": [{"name": "sff1", "dpid": dpid}],
        "service_functions": [router("VNF1"), router("VNF2")],
        "service_function_paths": [
            {"name": "web6", "spi": 61, "hops": ["VNF2", "VNF1"], "classifiers": [
                {"name": "http6", "match": {"tcp_dst": HTTP}}]},
            {"name": "web6/reverse", "spi": 62, "hops": ["VNF1", "VNF2"], "classifiers": [
                {"name": "http6/reverse", "match": {"tcp_src": HTTP}}]},
        ],
    }
    doc_file = tmp_path / "routers6.yaml"
    doc_file.write_text(yaml.safe_dump(document))
    applied = nfv(controller.grpc_address, "apply", str(doc_file))
    assert applied.returncode == 0, applied.stderr

    url = f"http://[{six['server']}]:{HTTP}/"
    deadline = time.monotonic() + 15
    while not (body := http_get(client, url)).returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.3)  # the http.server may still be starting, ND may still be resolving
    assert "Directory listing" in body.stdout, body.stderr
    before = {name: _forwarded6(hosts[name]) for name in ("VNF1", "VNF2")}
    assert "Directory listing" in http_get(client, url).stdout
    after = {name: _forwarded6(hosts[name]) for name in ("VNF1", "VNF2")}
    assert all(after[n] > before[n] for n in after), (before, after)  # both routers forwarded IPv6
    assert "Directory listing" in http_get(client, f"http://[{six['server']}]:{OTHER}/").stdout
    assert {name: _forwarded6(hosts[name]) for name in ("VNF1", "VNF2")} == after, "TCP/2222 is not chained"
