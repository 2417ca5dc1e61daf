"""Tacker's ``vnffg-classifier-create --match tcp_dest=80,ip_proto=6`` with no source port, on
the real stack: no VIM default port is needed, a VNF started after the classifier is covered,
``network_dst_port_id`` narrows to one destination, and refused classifiers (tenant_id,
contradictions, a symmetrical chain that cannot tell its directions apart) name the element and
leave nothing behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, counter_seen, fails, http_get, ok, run, snapshot, wait_for
from vnfm.vim.local import server_files

pytestmark = pytest.mark.integration


def fetch(capsys, ip: str, port: int) -> bool:
    code = f"import urllib.request; urllib.request.urlopen('http://{ip}:{port}/', timeout=3).read()"
    return run(capsys, f"nfv vnf exec client -- {sys.executable} -c \"{code}\"").rc == 0


def test_classifier_without_source_port_chains_a_client_started_later(nfvo_stack, ovs, capsys):
    stack = nfvo_stack
    ok(capsys, f"nfv vim register local --bridge {stack.bridge} --dpid {stack.dpid:#x}")  # no default ports
    for name, file in (("host", "host.yaml"), ("firewall", "nsh-firewall.yaml"), ("counter", "nsh-counter.yaml")):
        ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / file} {name}")
    for name, vnfd in (("server", "host"), ("other", "host"), ("fw", "firewall"), ("cnt", "counter")):
        ok(capsys, f"nfv vnf create --vnfd-name {vnfd} {name}")
    ok(capsys, "nfv vnffg-create --name mychain --chain fw,cnt")
    ok(capsys, "nfv vnffg-classifier-create --name myclass --chain mychain --match tcp_dest=80,ip_proto=6")
    ok(capsys, "nfv vnffg-classifier-create --name toserver --chain mychain "
       "--match network_dst_port_id=server,tcp_dest=8080,ip_proto=6")
    spi = stack.nfvo.vnffgs.get("mychain").spi("path")
    ok(capsys, "nfv vnf create --vnfd-name host client")  # after the classifier: no re-render needed

    assert "Directory listing" in http_get(stack, capsys, 80)
    wait_for(lambda: counter_seen(stack.state_dir).get((spi, 254)), "TCP/80 at the counter (SI 254)")
    before = counter_seen(stack.state_dir).get((spi, 254), 0)

    # network_dst_port_id: TCP/8080 to the server is chained, to another host it is not
    other = stack.vnfm.get("other")
    other_ip = other.cp("CP2").ip.split("/")[0]
    web = netns.run_in_netns(other.vdus[0].namespace, [sys.executable, "-m", "http.server", "8080", "--bind",
                                                       other_ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: fetch(capsys, other_ip, 8080), "HTTP to the other host", timeout=20, every=0.3)
    finally:
        web.terminate()
        web.wait(5)
    assert "Directory listing" in http_get(stack, capsys, 8080)
    wait_for(lambda: counter_seen(stack.state_dir).get((spi, 254), 0) > before, "TCP/8080 to the server chained")
    flows = [f for f in _reports(stack) if f["spi"] == spi]
    assert {f.get("dst") for f in flows} | {f.get("src") for f in flows} >= {stack.vnfm.get("server").cp("CP2")
                                                                              .ip.split("/")[0]}
    assert other_ip not in {f.get("dst") for f in flows} | {f.get("src") for f in flows}, flows


def _reports(stack) -> list[dict]:
    import json
    out: list[dict] = []
    for report in server_files(stack.state_dir, "counter.json"):
        out.extend(json.loads(report.read_text()).get("flows", []))
    return out


@pytest.mark.parametrize("line, needles", [
    ("--chain mychain --match tenant_id=t1,tcp_dst=81", ("match.tenant_id", "no tenants")),
    ("--chain mychain --match icmpv4_type=8,ipv6_src=fd00::/64", ("ipv6_src", "icmpv4_type")),
    ("--chain mychain --match vlan_pcp=3,tcp_dst=82", ("vlan_pcp", "vlan_id")),
    ("--chain mychain --match ip_proto=1,tcp_dst=83", ("tcp_dst", "ip_proto is 1")),
    ("--chain mychain --match ip_proto=47,destination_port_range=80-90", ("destination_port_range", "TCP, UDP or SCTP")),
    ("--chain sym --match ip_proto=17", ("classifiers[bad]", "reads the same in both directions")),
])
def test_refused_classifiers_name_the_element_and_change_nothing(nfvo_stack, ovs, capsys, line, needles):
    stack = nfvo_stack
    ok(capsys, f"nfv vim register local --bridge {stack.bridge} --dpid {stack.dpid:#x}")
    for name, file in (("firewall", "nsh-firewall.yaml"), ("counter", "nsh-counter.yaml")):
        ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / file} {name}")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnffg-create --name mychain --chain fw,cnt")
    ok(capsys, "nfv vnffg-create --name sym --chain fw,cnt --symmetrical True")
    before = snapshot(capsys, stack, ovs)
    fails(capsys, f"nfv vnffg-classifier-create --name bad {line}", *needles)
    assert snapshot(capsys, stack, ovs) == before
