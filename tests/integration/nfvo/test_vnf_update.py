"""``nfv vnf update --param-file`` on a VNF in a live chain: its VDU is recreated running other
software (forwarder → counter) on the same ports, and the chain carries traffic through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, counter_seen, flows, http_get, ok, onboard_hosts, wait_for

pytestmark = pytest.mark.integration
WEB_PORT = 8081


def sf_vnfd(tmp: Path) -> Path:
    """The counter sample with its image a get_input, so an update can change what runs."""
    text = (SAMPLES / "nsh-counter.yaml").read_text()
    text = text.replace("topology_template:\n", "topology_template:\n  inputs:\n    image:\n      type: string\n"
                        "      default: nsh-forwarder\n", 1).replace("image: nsh-counter", "image: { get_input: image }")
    path = tmp / "sf.yaml"
    path.write_text(text)
    return path


def test_vnf_update_swaps_the_sf_software_and_the_chain_keeps_working(nfvo_stack, ovs, tmp_path, capsys):
    onboard_hosts(capsys, nfvo_stack)
    forwarder, counter = tmp_path / "forwarder.yaml", tmp_path / "counter.yaml"
    forwarder.write_text("image: nsh-forwarder\n")
    counter.write_text("image: nsh-counter\n")
    ok(capsys, f"nfv vnfd-create --vnfd-file {sf_vnfd(tmp_path)} sf")
    before = ok(capsys, f"nfv vnf create --vnfd-name sf --param-file {forwarder} sf1 -f json")
    assert before["vdus"][0]["image"] == "nsh-forwarder"
    ok(capsys, "nfv vnffg-create --name web --chain sf1 --symmetrical True")
    ok(capsys, f"nfv vnffg-classifier-create --name http --chain web --match tcp_dst={WEB_PORT},ip_proto=6")
    spi = ok(capsys, "nfv vnffg-show web -f json")["paths"][0]["spi"]
    assert "Directory listing" in http_get(nfvo_stack, capsys, WEB_PORT)
    assert not counter_seen(nfvo_stack.state_dir), "a forwarder writes no counter report"
    chain_flows = flows(ovs, nfvo_stack.bridge)

    after = ok(capsys, f"nfv vnf update sf1 --param-file {counter} -f json")
    assert after["status"] == "ACTIVE" and after["vdus"][0]["image"] == "nsh-counter"
    assert after["vdus"][0]["pid"] != before["vdus"][0]["pid"], "the VDU was recreated"
    assert [(c["mac"], c["ip"], c["ovs_port"], c["ofport"]) for c in after["vdus"][0]["cps"]] == \
        [(c["mac"], c["ip"], c["ovs_port"], c["ofport"]) for c in before["vdus"][0]["cps"]]
    wait_for(lambda: ok(capsys, "nfv vnffg-show web -f json")["status"] == "ACTIVE", "the chain ACTIVE again")
    assert flows(ovs, nfvo_stack.bridge) == chain_flows, "same ports: the chain's flows did not change"
    assert "Directory listing" in http_get(nfvo_stack, capsys, WEB_PORT)
    seen = wait_for(lambda: counter_seen(nfvo_stack.state_dir).get((spi, 255)),
                    "the updated VNF (now a counter) to report the chain's SPI")
    assert seen > 0
