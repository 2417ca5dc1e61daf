"""A chain through a VNF whose image does not parse NSH (``host``: a plain namespace), with the
local VIM on real OVS: refused while the VDU does not forward IP (the VIM reads its sysctls in
its namespace), nothing changed; once ``net.ipv4.ip_forward=1`` it is ACTIVE and HTTP from the
client reaches the server routed through it (one-armed, TTL one lower)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, fails, ok, onboard_hosts, snapshot, wait_for
from tests.integration.sdn.test_chain import http_get
from tests.integration.sdn.test_one_armed import TTL, counted, install_counters, seen
from vnfm.model import IpForwarding

pytestmark = pytest.mark.integration

HTTP = 80


class InNs:
    """What ``install_counters``/``counted`` need of a host: its namespace and ``exec``."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def exec(self, argv, **kwargs):
        return netns.netns_exec(self.ns, argv, **kwargs)


def test_unaware_vnf_that_does_not_forward_is_refused_then_routes(nfvo_stack, lab, ovs, capsys, tmp_path):
    onboard_hosts(capsys, nfvo_stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'host.yaml'} router")
    ok(capsys, "nfv vnf create --vnfd-name router R1")
    r1 = ok(capsys, "nfv vnf show R1 -f json")["vdus"][0]["namespace"]
    assert nfvo_stack.vnfm.get("R1").vdus[0].nsh_aware is False, "the host image does not parse NSH"
    assert nfvo_stack.vnfm.ip_forwarding("R1", "VDU1") == IpForwarding(False, False), "a new namespace's default"

    ok(capsys, "nfv vnffg-create --name web --chain R1 --symmetrical True")  # no classifier: nothing to forward
    before = snapshot(capsys, nfvo_stack, ovs)
    fails(capsys, f"nfv vnffg-classifier-create --name http --chain web --match tcp_dst={HTTP},ip_proto=6",
          "R1 is not NSH-aware and does not forward IP (net.ipv4.ip_forward=0", "vnffg[web].path.hops[0]")
    assert snapshot(capsys, nfvo_stack, ovs) == before, "a refused request changes nothing"

    netns.netns_exec(r1, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    assert nfvo_stack.vnfm.ip_forwarding("R1", "VDU1") == IpForwarding(True, False)
    ok(capsys, f"nfv vnffg-classifier-create --name http --chain web --match tcp_dst={HTTP},ip_proto=6")
    assert ok(capsys, "nfv vnffg show web -f json")["status"] == "ACTIVE"

    client, server = (nfvo_stack.vnfm.get(n) for n in ("client", "server"))
    server_ip = server.cp("CP2").ip.split("/")[0]
    for ns in (r1, server.vdus[0].namespace):
        install_counters(InNs(ns), tmp_path)
    lab.track(netns.run_in_netns(server.vdus[0].namespace, [sys.executable, "-m", "http.server", str(HTTP),
                                                             "--bind", server_ip],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    client_host = InNs(client.vdus[0].namespace)
    body = wait_for(lambda: (r := http_get(client_host, f"http://{server_ip}:{HTTP}/")).returncode == 0 and r,
                    "HTTP from client to server through R1", timeout=20, every=0.3)
    assert "Directory listing" in body.stdout
    time.sleep(0.2)
    at_r1, at_server = counted(InNs(r1)), counted(InNs(server.vdus[0].namespace))
    assert seen(at_r1, "dport", HTTP) == {TTL} and seen(at_r1, "sport", HTTP) == {TTL}, at_r1  # both ways via R1
    assert seen(at_server, "dport", HTTP) == {TTL - 1}, at_server  # routed once
