"""NSH-unaware SFs behind the switch's proxy, on the fake switch: strip NSH before the SF,
re-classify what comes back on its egress port, refuse what cannot be told apart."""

from __future__ import annotations

import pytest

from sdn.docfile import document_dict, load_document, parse_document, parse_paths
from sdn.document import DocumentError, with_paths
from sdn.openflow import OFPP_NORMAL, Decap, DecNshTtl, Output, SwitchState
from sdn.render import compute_switch_states
from sdn.pipeline import INGRESS, RECLASSIFY
from sdn.sync import apply_plan_to_state, plan_changes
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp, udp

PORTS = {1: {"client": 1, "server": 2, "c1p": 3, "brA": 4, "brB": 5, "c2p": 6, "brA2": 7, "brB2": 8, "other": 9}}
AWARE = {3, 6}
BUMP = {4: 5, 5: 4, 7: 8, 8: 7}  # a bump-in-the-wire: in on one port, out of the other
DOC = """
switches: [{name: s1, dpid: 1}]
service_functions:
  - {name: c1, instances: [{switch: s1, port: c1p}]}
  - {name: br, nsh_aware: false, instances: [{switch: s1, port: brA, egress_port: brB}]}
  - {name: br~reverse, nsh_aware: false, instances: [{switch: s1, port: brB, egress_port: brA}]}
  - {name: c2, instances: [{switch: s1, port: c2p}]}
service_function_paths:
  - name: web
    spi: 7
    hops: [c1, br, c2]
    classifiers: [{name: http, in_port: client, match: {tcp_dst: 80}}]
  - name: back
    spi: 8
    hops: [c2, br~reverse, c1]
    classifiers: [{name: reply, in_port: server, match: {tcp_src: 80}}]
"""


def state(doc: str = DOC) -> SwitchState:
    return compute_switch_states(load_document(doc), PORTS)[1]


def walk(st: SwitchState, in_port: int, packet):
    seen: list = []
    finals = run_chain(FakeSwitch(st), in_port, packet, AWARE, seen, plain=BUMP)
    return [(port, (nsh.spi, nsh.si) if nsh else None) for port, nsh in seen], finals


def test_tcp_walks_aware_unaware_aware_and_leaves_unwrapped_at_the_client_port():
    seen, finals = walk(state(), 1, tcp(dport=80))
    assert seen == [(3, (7, 255)), (4, None), (6, (7, 253))], "the unaware SF gets a plain frame"
    assert [(d.port, d.packet.nsh, d.in_port) for d in finals] == [(OFPP_NORMAL, None, 1)]
    assert dict(finals[0].packet.fields)["tcp_dst"] == 80


def test_the_reverse_path_passes_the_twin_backwards():
    seen, finals = walk(state(), 2, tcp(src="10.0.0.2", dst="10.0.0.1", sport=80, dport=40000))
    assert seen == [(6, (8, 255)), (5, None), (3, (8, 253))]
    assert [(d.port, d.packet.nsh, d.in_port) for d in finals] == [(OFPP_NORMAL, None, 2)]


def test_hop_strips_nsh_and_unaware_ports_get_no_nsh_admission():
    st = state()
    (hop,) = [f for f in st.flows if Output(4) in f.actions]
    assert hop.actions == (DecNshTtl(), Decap(), Decap(), Output(4))
    admitted = [f for f in st.flows if f.table == INGRESS and dict(f.match).get("in_port") in BUMP]
    assert admitted and all(f.goto_table == RECLASSIFY and "eth_type" not in dict(f.match) for f in admitted)


def test_frames_an_unaware_sf_emits_on_its_own_are_dropped_not_switched():
    switch = FakeSwitch(state())
    for port in (4, 5):
        assert switch.receive(port, tcp(dport=22)) == []
        assert switch.receive(port, udp()) == []
    sent = {dict(f.match)["in_port"] for f in state().flows if f.table == INGRESS and f.goto_table == RECLASSIFY}
    assert sent == {4, 5}  # never to classify, where a classifier bound to no port would take them
    assert any(f.table == RECLASSIFY and f.match == () and f.actions == () for f in state().flows)  # miss: drop


def test_unaware_last_hop_ends_the_path():
    doc = DOC.replace("hops: [c1, br, c2]", "hops: [c1, br]")
    seen, finals = walk(state(doc), 1, tcp(dport=80))
    assert seen == [(3, (7, 255)), (4, None)]
    assert [(d.port, d.packet.nsh, d.in_port) for d in finals] == [(OFPP_NORMAL, None, 1)]


def test_instances_of_an_unaware_hop_keep_both_directions_of_a_connection_together():
    doc = DOC.replace("[{switch: s1, port: brA, egress_port: brB}]",
                      "[{switch: s1, port: brA, egress_port: brB}, {switch: s1, port: brA2, egress_port: brB2}]")
    doc = doc.replace("[{switch: s1, port: brB, egress_port: brA}]",
                      "[{switch: s1, port: brB, egress_port: brA}, {switch: s1, port: brB2, egress_port: brA2}]")
    st = state(doc)
    reached = set()
    for sport in range(40000, 40032):
        seen, finals = walk(st, 1, tcp(sport=sport))
        assert seen[0] == (3, (7, 255)) and seen[1][1] is None and seen[2] == (6, (7, 253))
        assert finals[0].in_port == 1
        back, _ = walk(st, 2, tcp(src="10.0.0.2", dst="10.0.0.1", sport=80, dport=sport))
        assert BUMP[back[1][0]] == seen[1][0], "the reply crosses the same instance"
        reached.add(seen[1][0])
    assert reached == {4, 7}


def test_applying_twice_changes_nothing_and_a_b_a_restores():
    a = state()
    b = state(DOC.replace("nsh_aware: false, instances: [{switch: s1, port: brA, egress_port: brB}]",
                          "instances: [{switch: s1, port: brA}]")
              .replace("  - {name: br~reverse, nsh_aware: false, instances: [{switch: s1, port: brB, egress_port: brA}]}\n", "")
              .replace("hops: [c2, br~reverse, c1]", "hops: [c2, c1]"))
    installed = apply_plan_to_state(SwitchState(), plan_changes(SwitchState(), a))
    assert installed == a and plan_changes(installed, a).empty
    installed = apply_plan_to_state(installed, plan_changes(installed, b))
    assert installed == b
    installed = apply_plan_to_state(installed, plan_changes(installed, a))
    assert installed == a


def test_document_round_trips_and_aware_entries_keep_their_form():
    doc = load_document(DOC)
    assert parse_document(document_dict(doc)) == doc
    functions = document_dict(doc)["service_functions"]
    assert functions[0] == {"name": "c1", "instances": [{"switch": "s1", "port": "c1p"}]}
    assert functions[1] == {"name": "br", "nsh_aware": False,
                            "instances": [{"switch": "s1", "port": "brA", "egress_port": "brB"}]}


@pytest.mark.parametrize("mutation, element, text", [
    (("{name: c1, instances: [{switch: s1, port: c1p}]}", "{name: c1, instances: [{switch: s1, port: brA}]}"),
     "service_functions[br].instances[0].port", "already used by c1"),
    (("{switch: s1, port: brB, egress_port: brA}", "{switch: s1, port: brA, egress_port: brB}"),
     "service_functions[br~reverse].instances[0].port", "swapped"),
    (("{switch: s1, port: c1p}", "{switch: s1, port: c1p, egress_port: x}"),
     "service_functions[c1].instances[0].egress_port", "only NSH-unaware"),
    (("{name: br, nsh_aware: false,", "{name: br, nsh_aware: 'false',"), "service_functions[br].nsh_aware", "true or false"),
    (("in_port: server", "in_port: brA"), "service_function_paths[back].classifiers[reply].in_port",
     "service function port"),
    (("match: {tcp_dst: 80}}]", "match: {tcp_dst: 80}}, {name: h2, in_port: other, match: {tp_dst: 80}}]"),
     "service_function_paths[web].classifiers[h2].match", "ingress port cannot be told apart"),
])
def test_errors_name_the_element(mutation, element, text):
    with pytest.raises(DocumentError) as err:
        load_document(DOC.replace(*mutation))
    assert err.value.element == element and text in str(err.value), str(err.value)


def test_two_paths_may_not_reclassify_identically_on_one_egress_port():
    doc = DOC + """  - name: web2
    spi: 9
    hops: [br]
    classifiers: [{name: h2, in_port: other, match: {tcp_dst: 80}}]
"""
    with pytest.raises(DocumentError) as err:
        load_document(doc)
    assert err.value.element == "service_function_paths[web2].classifiers[h2].match"
    assert "re-classified identically for classifier web/http" in str(err.value)
    # the same check holds for a path upserted into a running document
    with pytest.raises(DocumentError, match="re-classified identically"):
        with_paths(load_document(DOC), parse_paths([{"name": "web2", "spi": 9, "hops": ["br"], "classifiers": [
            {"name": "h2", "in_port": "other", "match": {"tcp_dst": 80}}]}]))
    # a different match (or priority) on the same egress port is fine
    load_document(doc.replace("{name: h2, in_port: other, match: {tcp_dst: 80}}",
                              "{name: h2, in_port: other, match: {tcp_dst: 81}}"))


def test_a_path_may_not_pass_one_unaware_port_twice():
    doc = DOC.replace("hops: [c1, br, c2]", "hops: [br, c1, br]")
    with pytest.raises(DocumentError) as err:
        load_document(doc)
    assert err.value.element == "service_function_paths[web].hops[2]"


def test_missing_egress_port_names_the_element():
    ports = {1: {k: v for k, v in PORTS[1].items() if k != "brB"}}
    with pytest.raises(DocumentError) as err:
        compute_switch_states(load_document(DOC), ports)
    assert "service_functions[br].instances[0].egress_port" in str(err.value) and "brB" in str(err.value)
