"""A classifier narrowed to a virtual link (``network_name``), with real traffic: it takes traffic
entering from the ports of that link, hosts created after it included, and nothing from other
links. The hop is Tacker's cirros VNF (a one-armed router on net0); its own forwarding counter
says whether it carried the traffic."""

from __future__ import annotations

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, ok, run, wait_for

pytestmark = pytest.mark.integration

TACKER = SAMPLES / "tacker"


def _forwarded(capsys, vnf: str) -> int:
    lines = [x.split() for x in ok(capsys, f"nfv vnf exec {vnf} -- cat /proc/net/snmp").splitlines()
             if x.startswith("Ip:")]
    return int(dict(zip(lines[0], lines[1], strict=False))["ForwDatagrams"])


def test_network_name_classifier_takes_that_links_ports_later_ones_included(nfvo_stack, capsys):
    ok(capsys, f"nfv vim register local --bridge {nfvo_stack.bridge} --dpid {nfvo_stack.dpid:#x}")
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {TACKER / 'tosca-vnffg-vnfd2.yaml'} VNFD2")
    ok(capsys, f"nfv vnf descriptor create --vnfd-file {SAMPLES / 'cirros-host.yaml'} HOST")
    ok(capsys, "nfv vnf create --vnfd-name VNFD2 VNF2")
    ok(capsys, "nfv vnf create --vnfd-name HOST server")
    ok(capsys, "nfv vnffg-create --name viarouter --chain VNF2")
    ok(capsys, "nfv vnffg-classifier-create --name fromnet0 --chain viarouter "
               "--match network_name=net0,tcp_dest=80,ip_proto=6")
    ok(capsys, "nfv vnf create --vnfd-name HOST client")  # a port on net0 made after the classifier
    chain = ok(capsys, "nfv vnffg show viarouter -f json")
    assert chain["status"] == "ACTIVE", chain
    server = ok(capsys, "nfv vnf show server -f json")
    ip = next(c["ip"] for d in server["vdus"] for c in d["cps"] if c["vl"] == "net0").split("/")[0]

    def fetch() -> str | None:
        ran = run(capsys, f"nfv vnf exec client -- timeout 5 wget -q -O - http://{ip}/")
        return ran.out if ran.rc == 0 and "hello from" in ran.out else None

    wait_for(fetch, "HTTP from the client on net0", timeout=30, every=0.5)
    before = _forwarded(capsys, "VNF2")
    assert fetch()
    assert _forwarded(capsys, "VNF2") > before, "traffic entering from net0 is chained through VNF2"

    ok(capsys, "nfv vnffg-classifier-update fromnet0 --match network_name=net1,tcp_dest=80,ip_proto=6")
    assert ok(capsys, "nfv vnffg show viarouter -f json")["status"] == "ACTIVE"
    before = _forwarded(capsys, "VNF2")
    assert wait_for(fetch, "HTTP from the client, now unclassified", timeout=20, every=0.5)
    assert _forwarded(capsys, "VNF2") == before, "a classifier on net1 takes nothing entering from net0"
