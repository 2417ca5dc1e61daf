"""Tacker's own VNFFG scenario, as a new user would try it: the six commands of Tacker's VNFFG
guide in that order, Tacker's sample VNFDs unmodified (cirros VMs whose user_data turns them into
IP forwarders), then a client and a server on net0 created afterwards.

Proof by captures inside the VNFs (tcpdump in each VNF's namespace, decoded by scapy): the hops
are NSH-unaware routers, so the IP TTL on arrival tells the order. Forward packets reach VNF2
with the client's TTL and VNF1 one lower; replies reach VNF1 with the server's TTL and VNF2 one
lower. TCP/2222 between the same hosts is not chained: neither VNF sees it.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, ok, run, wait_for

pytestmark = pytest.mark.integration

TACKER = SAMPLES / "tacker"
HTTP, OTHER = 80, 2222


class Capture:
    """tcpdump inside a VNF's namespace, inbound only, written to a pcap file."""

    def __init__(self, namespace: str, iface: str, path: Path) -> None:
        self.path = path
        self.proc = netns.run_in_netns(namespace, ["tcpdump", "-n", "-U", "-Q", "in", "-i", iface, "-w", str(path),
                                                   f"tcp port {HTTP} or tcp port {OTHER}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: path.exists(), f"tcpdump in {namespace}", timeout=10)
        time.sleep(0.3)

    def packets(self) -> list:
        from scapy.all import IP, TCP, rdpcap

        self.proc.terminate()
        self.proc.wait(5)
        return [(p[IP].ttl, p[TCP].sport, p[TCP].dport) for p in rdpcap(str(self.path)) if IP in p and TCP in p]


def _diagnostics(capsys, stack, ovs, vnfs: dict) -> str:
    """What a failed run needs to be understood: flows with counters, each VDU's addresses,
    routes, forwarding and first-boot console."""
    out = [ovs.ofctl("dump-flows", stack.bridge)]
    for name in vnfs:
        for cmd in ("ip -4 addr", "ip route", "cat /proc/sys/net/ipv4/ip_forward", "cat /proc/net/snmp"):
            out.append(f"--- {name}: {cmd}\n{run(capsys, f'nfv vnf exec {name} -- {cmd}').out}")
        out.append(f"--- {name}: console\n{run(capsys, f'nfv vnf log {name}').out[-1500:]}")
    return "\n".join(out)


def _data_cp(vnf: dict, network: str) -> dict:
    return next(c for d in vnf["vdus"] for c in d["cps"] if c["vl"] == network)


def test_tacker_vnffg_guide_carries_tcp80_through_vnf2_then_vnf1(nfvo_stack, ovs, capsys, tmp_path):
    # the VIM, registered as the all-in-one does (no client/server port defaults)
    ok(capsys, f"nfv vim register local --bridge {nfvo_stack.bridge} --dpid {nfvo_stack.dpid:#x}")
    # the six commands of Tacker's VNFFG guide, in that order
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {TACKER / 'tosca-vnffg-vnfd1.yaml'} VNFD1")
    ok(capsys, "nfv vnf create --vnfd-name VNFD1 VNF1")
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {TACKER / 'tosca-vnffg-vnfd2.yaml'} VNFD2")
    ok(capsys, "nfv vnf create --vnfd-name VNFD2 VNF2")
    ok(capsys, "nfv vnffg-create --name mychain --chain VNF2,VNF1 --symmetrical True")
    ok(capsys, "nfv vnffg-classifier-create --name myclass --chain mychain --match tcp_dest=80,ip_proto=6")
    # then two plain hosts on net0
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {SAMPLES / 'cirros-host.yaml'} HOST")
    ok(capsys, "nfv vnf create --vnfd-name HOST client")
    ok(capsys, "nfv vnf create --vnfd-name HOST server")
    chain = ok(capsys, "nfv vnffg show mychain -f json")
    assert chain["status"] == "ACTIVE", chain

    vnfs = {name: ok(capsys, f"nfv vnf show {name} -f json") for name in ("VNF1", "VNF2", "client", "server")}
    server_ip = _data_cp(vnfs["server"], "net0")["ip"].split("/")[0]
    caps = {name: Capture(vnfs[name]["vdus"][0]["namespace"], _data_cp(vnfs[name], "net0")["iface"],
                          tmp_path / f"{name}.pcap") for name in ("VNF1", "VNF2")}

    def fetch(port: int) -> str | None:
        cmd = f"timeout 5 wget -q -O - http://{server_ip}:{port}/" if port == HTTP else f"echo x | nc -w 3 {server_ip} {port}"
        ran = run(capsys, f"nfv vnf exec client -- sh -c '{cmd}'")
        return ran.out if ran.rc == 0 and "from" in ran.out else None

    try:
        page = wait_for(lambda: fetch(HTTP), "HTTP from client to server through the chain", timeout=30, every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_diagnostics(capsys, nfvo_stack, ovs, vnfs)}") from None
    assert "hello from" in page
    assert "2222 from" in wait_for(lambda: fetch(OTHER), "TCP/2222 from client to server", timeout=20, every=0.5)
    time.sleep(0.5)
    seen = {name: cap.packets() for name, cap in caps.items()}

    def ttls(name: str, dport: int | None = None, sport: int | None = None) -> set[int]:
        return {ttl for ttl, s, d in seen[name] if (dport is None or d == dport) and (sport is None or s == sport)}

    # forward (to port 80): VNF2 first (the client's TTL), then VNF1 (one lower)
    fwd2, fwd1 = ttls("VNF2", dport=HTTP), ttls("VNF1", dport=HTTP)
    assert fwd2 and fwd1, seen
    assert {t - 1 for t in fwd2} == fwd1, (fwd2, fwd1)
    # replies (from port 80): VNF1 first (the server's TTL), then VNF2 (one lower)
    rev1, rev2 = ttls("VNF1", sport=HTTP), ttls("VNF2", sport=HTTP)
    assert rev1 and rev2, seen
    assert {t - 1 for t in rev1} == rev2, (rev1, rev2)
    # TCP/2222 is not classified: it goes straight, neither VNF sees it
    assert not ttls("VNF1", dport=OTHER) | ttls("VNF2", dport=OTHER) | ttls("VNF1", sport=OTHER) | \
        ttls("VNF2", sport=OTHER), seen


def test_the_same_scenario_through_the_grpc_api(nfvo_stack):
    """The six steps as gRPC calls (what any client of the NFVO does), then the hosts; each VNF's
    own forwarding counter proves it routed the classified traffic, and only that."""
    from nfvo.api.server import connect
    from nfvo.api.v1 import nfvo_pb2 as pb

    stub = connect(nfvo_stack.address)
    stub.CreateVim(pb.CreateVimRequest(name="local", bridge=nfvo_stack.bridge, dpid=nfvo_stack.dpid, is_default=True))
    for name, path in (("VNFD1", TACKER / "tosca-vnffg-vnfd1.yaml"), ("VNFD2", TACKER / "tosca-vnffg-vnfd2.yaml"),
                       ("HOST", SAMPLES / "cirros-host.yaml")):
        stub.CreateDescriptor(pb.CreateDescriptorRequest(kind="VNFD", name=name, template=path.read_text()))
    for vnf, vnfd in (("VNF1", "VNFD1"), ("VNF2", "VNFD2")):
        assert stub.CreateVnf(pb.CreateVnfRequest(name=vnf, vnfd_name=vnfd), timeout=120).status == "ACTIVE"
    stub.CreateVnffg(pb.CreateVnffgRequest(name="mychain", chain="VNF2,VNF1", symmetrical=True), timeout=60)
    stub.CreateClassifier(pb.CreateClassifierRequest(name="myclass", chain="mychain", match="tcp_dest=80,ip_proto=6"),
                          timeout=60)
    for vnf in ("client", "server"):
        stub.CreateVnf(pb.CreateVnfRequest(name=vnf, vnfd_name="HOST"), timeout=120)
    assert stub.GetVnffg(pb.GetRequest(name="mychain")).status == "ACTIVE"
    server = stub.GetVnf(pb.GetRequest(name="server"))
    ip = next(c.ip for d in server.vdus for c in d.cps if c.vl == "net0").split("/")[0]

    def sh(vnf: str, script: str) -> str:
        return stub.ExecVnf(pb.ExecVnfRequest(name=vnf, argv=["sh", "-c", script], timeout=30), timeout=40).stdout

    def forwarded() -> dict[str, int]:
        out = {}
        for vnf in ("VNF1", "VNF2"):
            ip_lines = [line.split() for line in sh(vnf, "cat /proc/net/snmp").splitlines() if line.startswith("Ip:")]
            out[vnf] = int(dict(zip(ip_lines[0], ip_lines[1], strict=False))["ForwDatagrams"])
        return out

    wait_for(lambda: "hello from" in sh("client", f"timeout 5 wget -q -O - http://{ip}/"), "HTTP through the chain",
             timeout=30, every=0.5)
    before = forwarded()
    assert "hello from" in sh("client", f"timeout 5 wget -q -O - http://{ip}/")
    after = forwarded()
    assert after["VNF1"] > before["VNF1"] and after["VNF2"] > before["VNF2"], (before, after)
    assert "2222 from" in sh("client", f"echo x | nc -w 3 {ip} 2222")
    assert forwarded() == after, "TCP/2222 is not chained: neither VNF routed it"
