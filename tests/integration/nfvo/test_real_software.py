"""Real software as VNFs, on the ``host`` image: the nftables firewall sample as a one-armed,
NSH-unaware hop (its user_data turns on forwarding and loads a ruleset that drops TCP/23), in
front of the nginx sample. Through the chain TCP/80 reaches nginx and TCP/23 does not, and the
firewall's own nftables counter says it dropped it; the same through the gRPC API as a client
of the NFVO would do it (the CLI is one such client)."""

from __future__ import annotations

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, ok, run, wait_for

pytestmark = pytest.mark.integration


def _net0_ip(vnf: dict) -> str:
    return next(c["ip"] for d in vnf["vdus"] for c in d["cps"] if c["vl"] == "net0").split("/")[0]


def test_nftables_firewall_passes_http_and_stops_telnet_in_front_of_nginx(nfvo_stack, capsys):
    ok(capsys, f"nfv vim register local --bridge {nfvo_stack.bridge} --dpid {nfvo_stack.dpid:#x}")
    for name, sample in (("HOST", "cirros-host.yaml"), ("FW", "nftables-firewall.yaml"), ("WEB", "nginx-web.yaml")):
        ok(capsys, f"nfv vnf descriptor create --vnfd-file {SAMPLES / sample} {name}")
    for vnf, vnfd in (("fw", "FW"), ("nginx", "WEB"), ("client", "HOST")):
        assert ok(capsys, f"nfv vnf create --vnfd-name {vnfd} {vnf} -f json")["status"] == "ACTIVE"
    fw_log = ok(capsys, "nfv vnf log fw")
    assert "telnet_dropped" in fw_log, fw_log  # the user_data's `nft list ruleset`
    web = _net0_ip(ok(capsys, "nfv vnf show nginx -f json"))
    ok(capsys, "nfv vnffg-create --name guarded --chain fw --symmetrical True")
    ok(capsys, f"nfv vnffg-classifier-create --name to-web --chain guarded --match ip_proto=6,ip_dst_prefix={web}/32")
    assert ok(capsys, "nfv vnffg show guarded -f json")["status"] == "ACTIVE"

    def http() -> str | None:
        ran = run(capsys, f"nfv vnf exec client -- timeout 5 wget -q -O - http://{web}/")
        return ran.out if ran.rc == 0 and "hello from nginx" in ran.out else None

    assert "hello from nginx" in wait_for(http, "HTTP from client to nginx through the firewall", timeout=30, every=0.5)
    forwarded = ok(capsys, "nfv vnf exec fw -- cat /proc/net/snmp").splitlines()
    ip = dict(zip(forwarded[0].split(), forwarded[1].split(), strict=False))
    assert int(ip["ForwDatagrams"]) > 0, "HTTP was routed by the firewall VNF"

    telnet = run(capsys, f"nfv vnf exec client -- sh -c 'echo x | nc -w 2 {web} 23 2>&1; echo rc=$?'")
    assert "rc=1" in telnet.out and "refused" not in telnet.out.lower(), telnet  # dropped: no answer at all
    counter = ok(capsys, "nfv vnf exec fw -- nft list counter inet firewall telnet_dropped")
    assert "packets 0 " not in counter and "packets" in counter, counter
    # without the chain, nginx's host answers TCP/23 at once with a reset (nothing listens there)
    ok(capsys, "nfv vnffg-classifier-delete to-web")
    refused = run(capsys, f"nfv vnf exec client -- sh -c 'echo x | nc -w 2 {web} 23 2>&1; echo rc=$?'")
    assert "refused" in refused.out.lower(), refused
