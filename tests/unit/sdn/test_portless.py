"""Classifiers bound to no port (pure): one flow per compiled match with no in_port, the ingress
port carried in C1 by a move, SF ports never classified by them, and the document refusing what
would be ambiguous."""

from __future__ import annotations

import pytest

from sdn.docfile import load_document
from sdn.document import DocumentError
from sdn.openflow import OFPP_NORMAL, RegMove
from sdn.pipeline import CLASSIFY, EGRESS
from sdn.render import compute_switch_states
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp, udp

PORTS = {1: {"server": 2, "fw0": 3, "brA": 4, "brB": 5, "c1": 6}}
DOC = """
switches: [{name: s1, dpid: 1}]
service_functions:
  - {name: fw, instances: [{switch: s1, port: fw0}]}
  - {name: br, nsh_aware: false, instances: [{switch: s1, port: brA, egress_port: brB}]}
service_function_paths:
  - {name: web, spi: 7, hops: [fw], classifiers: [{name: http, match: {tcp_dst: 80}}]}
  - {name: bump, spi: 8, hops: [br], classifiers: [{name: dns, in_port: c1, match: {udp_dst: 53}}]}
"""


def state():
    return compute_switch_states(load_document(DOC), PORTS)[1]


def test_flows_name_no_port_and_move_the_ingress_port_into_c1():
    classify = [f for f in state().flows if f.table == CLASSIFY and f.cookie >> 52 == 0x5FC and f.goto_table]
    web = [f for f in classify if "tcp_dst" in dict(f.match)]
    assert len(web) == 2 and all("in_port" not in dict(f.match) for f in web)  # TCP over IPv4 and IPv6
    assert {dict(f.match)["eth_type"] for f in web} == {0x0800, 0x86DD}
    assert all(RegMove("in_port", "nsh_c1", 32) in f.actions for f in web)
    (egress,) = [f for f in state().flows if f.table == EGRESS and dict(f.match).get("nsh_spi") == 7]
    assert egress.actions[0] == RegMove("nsh_c1", "in_port_nxm", 16) and egress.actions[-1].port == OFPP_NORMAL


@pytest.mark.parametrize("port", [1, 6, 99])  # any port the document never heard of, too
def test_any_port_but_sf_ports_is_classified_and_restored_at_the_end(port):
    seen: list = []
    finals = run_chain(FakeSwitch(state()), port, tcp(dport=80), {3}, seen)
    assert [(p, n.spi, n.si) for p, n in seen] == [(3, 7, 255)]
    assert [(d.port, d.packet.nsh, d.in_port) for d in finals] == [(OFPP_NORMAL, None, port)]
    finals = run_chain(FakeSwitch(state()), port, tcp(dport=2222), {3})
    assert [(d.port, d.packet.nsh) for d in finals] == [(OFPP_NORMAL, None)]  # other traffic: plain L2


@pytest.mark.parametrize("port", [3, 4, 5])
def test_what_an_sf_sends_is_never_taken_by_a_port_less_classifier(port):
    switch = FakeSwitch(state())
    assert switch.receive(port, tcp(dport=80)) == []  # aware: non-NSH dropped; unaware: reclassify misses
    assert switch.receive(5, udp(dport=53)) != []  # the bump's own path still re-classifies its return


def test_port_less_on_a_path_through_an_unaware_sf_is_refused():
    bad = DOC.replace("{name: dns, in_port: c1, match", "{name: dns, match")
    with pytest.raises(DocumentError, match="NSH-unaware SF br") as err:
        load_document(bad)
    assert err.value.element == "service_function_paths[bump].classifiers[dns].in_port"


def test_an_identical_match_on_one_port_and_on_every_port_is_refused_at_one_priority():
    twin = DOC + "  - {name: twin, spi: 9, hops: [fw], classifiers: [{name: h2, in_port: c1, match: {tcp_dst: 80}}]}\n"
    with pytest.raises(DocumentError, match="identical to classifier web/http at the same priority") as err:
        load_document(twin)
    assert err.value.element == "service_function_paths[twin].classifiers[h2].match"
    load_document(twin.replace("{name: h2, in_port: c1, match: {tcp_dst: 80}}", "{name: h2, in_port: c1, priority: 200, "
                               "match: {tcp_dst: 80}}"))  # the port's classifier first: well defined
