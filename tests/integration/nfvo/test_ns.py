"""Network services on real OVS through the ``nfv`` CLI: our demo NSD instantiates its VNFs and
its VNFFG, real HTTP passes the chain (the counter VNF reports the SPI/SI it saw), and ns-delete
removes everything it made; a failed ns-create leaves nothing behind; a Tacker corpus NSD with
its VNFDs onboards and instantiates as written."""

from __future__ import annotations

import pytest

from dataplane import netns
from tests.corpus import TACKER_SAMPLES
from tests.integration.nfvo.nfvcli import (SAMPLES, counter_seen, fails, flows, http_get, namespaces, ok,
                                           onboard_hosts, snapshot, spi_flows, wait_for)

pytestmark = pytest.mark.integration

WEB_PORT = 8080


def onboard_demo_ns(capsys, tmp_path) -> str:
    """The demo NSD and the two VNFDs it imports (grouped and hyphenated spellings alike);
    returns a parameter file for it."""
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'demo-ns-firewall.yaml'} demo-ns-firewall")
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {SAMPLES / 'demo-ns-counter.yaml'} demo-ns-counter")
    nsd = ok(capsys, f"nfv nsd-create --nsd-file {SAMPLES / 'demo-ns-nsd.yaml'} demo-ns -f json")
    assert nsd["name"] == "demo-ns" and "2 VNF" in nsd["summary"], nsd
    params = tmp_path / "ns-param.yaml"
    params.write_text(f"nsd:\n  web_ports: {WEB_PORT}-{WEB_PORT}\n")
    return str(params)


def test_ns_lifecycle_carries_http_and_delete_leaves_nothing(nfvo_stack, ovs, tmp_path, capsys):
    onboard_hosts(capsys, nfvo_stack)
    params = onboard_demo_ns(capsys, tmp_path)
    before = flows(ovs, nfvo_stack.bridge)
    before_ns = namespaces(nfvo_stack)

    ns = ok(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {params} web -f json")
    assert ns["status"] == "ACTIVE", ns
    listed = {n["name"]: n for n in ok(capsys, "nfv ns-list -f json")}
    assert listed["web"]["status"] == "ACTIVE" and listed["web"]["nsd_name"] == "demo-ns"
    shown = ok(capsys, "nfv ns-show web -f json")
    assert shown["vnffgs"] == ["web-web_chain"], shown
    assert ok(capsys, "nfv ns-update web --description 'web tier' -f json")["description"] == "web tier"
    vnfs = {v["name"]: v for v in ok(capsys, "nfv vnf-list -f json")}
    assert vnfs["web-firewall"]["status"] == vnfs["web-counter"]["status"] == "ACTIVE", vnfs
    assert vnfs["web-firewall"]["vnfd_name"] == "demo-ns-firewall"
    chain = ok(capsys, "nfv vnffg-show web-web_chain -f json")
    assert chain["status"] == "ACTIVE", chain
    (path,) = chain["paths"]
    spi, reverse = path["spi"], path["reverse_spi"]
    assert spi and reverse and spi_flows(ovs, nfvo_stack.bridge, spi) and spi_flows(ovs, nfvo_stack.bridge, reverse)
    assert f"tp_dst={WEB_PORT}" in "\n".join(flows(ovs, nfvo_stack.bridge))
    made_ns = namespaces(nfvo_stack) - before_ns
    assert made_ns, "the NS's VNFs run in their own namespaces"

    assert "Directory listing" in http_get(nfvo_stack, capsys, WEB_PORT)
    # forward: client -> firewall (SI 255) -> counter (SI 254); reverse: server -> counter (SI 255)
    seen = wait_for(lambda: (s := counter_seen(nfvo_stack.state_dir)).get((spi, 254)) and s.get((reverse, 255)) and s,
                    "the counter VNF to report both directions of the chain")
    assert seen[(spi, 254)] > 0 and seen[(reverse, 255)] > 0

    # the same NSD again (another web port): its own VNFs, SPIs and classifier; deleting it
    # leaves the first NS's chain as it was
    other = tmp_path / "ns2-param.yaml"
    other.write_text(f"web_ports: {WEB_PORT + 1}-{WEB_PORT + 1}\n")
    assert ok(capsys, f"nfv ns create --nsd-name demo-ns --param-file {other} web2 -f json")["status"] == "ACTIVE"
    assert {c["name"] for c in ok(capsys, "nfv vnffg-classifier-list -f json")} == {"web-web", "web2-web"}
    spi2 = ok(capsys, "nfv vnffg-show web2-web_chain -f json")["paths"][0]["spi"]
    assert spi2 not in (spi, reverse) and spi_flows(ovs, nfvo_stack.bridge, spi2)
    kept = spi_flows(ovs, nfvo_stack.bridge, spi)
    ok(capsys, "nfv ns delete web2")
    assert not spi_flows(ovs, nfvo_stack.bridge, spi2) and spi_flows(ovs, nfvo_stack.bridge, spi) == kept
    fails(capsys, "nfv nsd-delete demo-ns", "in use", "web")
    # the NS owns its parts; another chain through one of its VNFs holds the NS up
    fails(capsys, "nfv vnffg-delete web-web_chain", "belongs to NS web")
    fails(capsys, "nfv vnf-delete web-counter", "belongs to NS web")
    ok(capsys, "nfv vnffg-create --name extra --chain web-counter")
    fails(capsys, "nfv ns-delete web", "web-counter", "VNFFG extra")
    assert ok(capsys, "nfv ns-show web -f json")["status"] == "ACTIVE"
    ok(capsys, "nfv vnffg-delete extra")

    ok(capsys, "nfv ns-delete web")
    assert ok(capsys, "nfv ns-list -f json") == []
    assert {v["name"] for v in ok(capsys, "nfv vnf-list -f json")} == {"client", "server"}
    assert ok(capsys, "nfv vnffg-list -f json") == []
    assert flows(ovs, nfvo_stack.bridge) == before
    assert not spi_flows(ovs, nfvo_stack.bridge, spi) and not spi_flows(ovs, nfvo_stack.bridge, reverse)
    assert namespaces(nfvo_stack) == before_ns and not made_ns & namespaces(nfvo_stack)
    fails(capsys, "nfv ns-show web", "web", "NOT_FOUND")
    ok(capsys, "nfv nsd delete demo-ns")


def test_failed_ns_create_leaves_nothing(nfvo_stack, ovs, tmp_path, capsys):
    """Refused before anything is made (missing input, a CP the re-onboarded VNFD lacks, a name
    clash) and refused after the VNFs ran (another chain holds the same classifier): each exits
    non-zero with one line naming the element, and records, flows and namespaces are unchanged."""
    onboard_hosts(capsys, nfvo_stack)
    params = onboard_demo_ns(capsys, tmp_path)
    wrong = tmp_path / "wrong-param.yaml"
    wrong.write_text("nsd:\n  web_port: 8080\n")
    before = snapshot(capsys, nfvo_stack, ovs)

    fails(capsys, "nfv ns-create --nsd-name demo-ns bad", "web_ports", "--param-file")
    fails(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {wrong} bad", "web_ports")
    fails(capsys, f"nfv ns-create --nsd-name nosuch --param-file {params} bad", "nosuch", "NOT_FOUND")
    fails(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {params} 'bad name'", "bad name")
    # refused after the VNFs ran: another chain already classifies the same traffic from every port
    ok(capsys, "nfv vnffg-create --name blocker --chain client")
    # a hop through the host image (NSH-unaware) must forward IP to carry a chain
    netns.netns_exec(nfvo_stack.vnfm.get("client").vdus[0].namespace, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    ok(capsys, f"nfv vnffg-classifier-create --name taken --chain blocker --match ip_proto=6,tcp_dst={WEB_PORT}")
    blocked = snapshot(capsys, nfvo_stack, ovs)
    fails(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {params} bad", "identical", "taken")
    assert snapshot(capsys, nfvo_stack, ovs) == blocked

    # a VNF of the name the NS would give its firewall exists already
    ok(capsys, "nfv vnf create --vnfd-name host bad-firewall")
    before = snapshot(capsys, nfvo_stack, ovs)
    fails(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {params} bad", "bad-firewall", "ALREADY_EXISTS")
    assert snapshot(capsys, nfvo_stack, ovs) == before

    # the counter VNFD is replaced by one whose data CP is CP3: the NSD's hop through CP2 is stale
    ok(capsys, "nfv vnfd-delete demo-ns-counter")
    renamed = tmp_path / "counter-cp3.yaml"
    renamed.write_text((SAMPLES / "demo-ns-counter.yaml").read_text().replace("CP2", "CP3"))
    ok(capsys, f"nfv vnfd-create --vnfd-file {renamed} demo-ns-counter")
    before = snapshot(capsys, nfvo_stack, ovs)
    fails(capsys, f"nfv ns-create --nsd-name demo-ns --param-file {params} bad", "CP2", "demo-ns-counter")
    assert snapshot(capsys, nfvo_stack, ovs) == before


def test_tacker_vnffg_nsd_onboards_and_instantiates(nfvo_stack, ovs, tmp_path, capsys):
    """Tacker's vnffg-nsd sample with its two VNFDs, as written; only the parameter file names
    our ports (Tacker's names Neutron port UUIDs)."""
    corpus = TACKER_SAMPLES / "vnffg-nsd"
    onboard_hosts(capsys, nfvo_stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {corpus / 'tosca-vnfd1-sample.yaml'} sample-vnfd1")
    ok(capsys, f"nfv vnfd-create --vnfd-file {corpus / 'tosca-vnfd2-sample.yaml'} sample-vnfd2")
    ok(capsys, f"nfv nsd create --nsd-file {corpus / 'tosca-single-vnffg-nsd.yaml'} vnffg-nsd")
    server_ip = nfvo_stack.vnfm.get("server").cp("CP2").ip.split("/")[0]
    params = tmp_path / "ns_param.yaml"
    params.write_text("nsd:\n  vl1_name: net_mgmt\n  vl2_name: net0\n  net_src_port_id: client\n"
                      f"  net_dst_port_id: server\n  ip_dest_prefix: {server_ip}/32\n")
    ns = ok(capsys, f"nfv ns create --nsd-name vnffg-nsd --param-file {params} tk -f json")
    assert ns["status"] == "ACTIVE" and sorted(ns["vnffgs"]) == ["tk-VNFFG1"], ns
    vnfs = {v["name"]: v["status"] for v in ok(capsys, "nfv vnf list -f json")}
    assert vnfs["tk-VNF1"] == vnfs["tk-VNF2"] == "ACTIVE", vnfs
    chain = ok(capsys, "nfv vnffg show tk-VNFFG1 -f json")
    assert chain["status"] == "ACTIVE" and chain["paths"][0]["spi"] == 51, chain
    assert spi_flows(ovs, nfvo_stack.bridge, 51) and f"nw_dst={server_ip}" in "\n".join(flows(ovs, nfvo_stack.bridge))
    ok(capsys, "nfv ns delete tk")
    assert not spi_flows(ovs, nfvo_stack.bridge, 51)
    assert ok(capsys, "nfv ns list -f json") == [] and ok(capsys, "nfv vnffg list -f json") == []
