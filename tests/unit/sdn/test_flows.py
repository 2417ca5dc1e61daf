"""Behaviour of the computed flows on a fake NSH-aware switch, and sync invariants."""

from __future__ import annotations

import pytest

from sdn.docfile import load_document
from sdn.document import DocumentError
from sdn.openflow import OFPP_NORMAL, Multipath, Output, SwitchState
from sdn.render import compute_switch_states
from sdn.pipeline import BALANCE, CLASSIFY, NEXT_HOP, PIPELINE, RECLASSIFY, check_flow, check_switch_state
from sdn.sync import apply_plan_to_state, plan_changes
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp, udp

PORTS = {1: {"client": 1, "server": 2, "fw0": 3, "ids0": 4, "ids1": 5, "nat0": 6}}
DOC = """
switches: [{name: s1, dpid: 1}]
service_functions:
  - {name: fw, instances: [{switch: s1, port: fw0}]}
  - {name: ids, instances: [{switch: s1, port: ids0}]}
  - {name: nat, instances: [{switch: s1, port: nat0}]}
service_function_paths:
  - name: web
    spi: 7
    hops: [fw, ids, nat]
    classifiers: [{name: http, in_port: client, match: {tcp_dst: 80}}]
  - name: dns
    spi: 9
    hops: [ids]
    classifiers: [{name: dns, in_port: client, match: {udp_dst: 53, nw_src: 10.0.0.0/24}}]
"""
SF_PORTS = {3, 4, 5, 6}


def state(doc: str = DOC, ports=PORTS) -> SwitchState:
    return compute_switch_states(load_document(doc), ports)[1]


def test_http_walks_fw_ids_nat_in_order_and_leaves_unwrapped():
    seen: list = []
    finals = run_chain(FakeSwitch(state()), 1, tcp(dport=80), SF_PORTS, seen)
    assert [(port, nsh.spi, nsh.si) for port, nsh in seen] == [(3, 7, 255), (4, 7, 254), (6, 7, 253)]
    assert len(finals) == 1
    assert finals[0].port == OFPP_NORMAL and finals[0].packet.nsh is None
    assert finals[0].in_port == 1, "egress restores the client port before NORMAL"
    assert dict(finals[0].packet.fields)["tcp_dst"] == 80


def test_unclassified_traffic_bypasses_the_chain_untouched():
    seen: list = []
    finals = run_chain(FakeSwitch(state()), 1, tcp(dport=22), SF_PORTS, seen)
    assert seen == []
    assert [(d.port, d.packet.nsh, d.in_port) for d in finals] == [(OFPP_NORMAL, None, 1)]


def test_second_path_with_prefix_and_udp():
    seen: list = []
    run_chain(FakeSwitch(state()), 1, udp(src="10.0.0.9", dport=53), SF_PORTS, seen)
    assert [(p, n.spi, n.si) for p, n in seen] == [(4, 9, 255)]
    seen.clear()
    run_chain(FakeSwitch(state()), 1, udp(src="10.0.1.9", dport=53), SF_PORTS, seen)
    assert seen == []


def test_classifier_only_on_its_ingress_port():
    seen: list = []
    run_chain(FakeSwitch(state()), 2, tcp(dport=80), SF_PORTS, seen)
    assert seen == []


def test_sf_port_drops_non_nsh_frames():
    assert FakeSwitch(state()).receive(3, tcp()) == []


def test_unknown_spi_si_from_sf_is_dropped():
    from dataclasses import replace
    from tests.unit.sdn.fake_switch import Nsh
    packet = replace(tcp(), nsh=Nsh(spi=99, si=200))
    assert FakeSwitch(state()).receive(3, packet) == []


def test_multi_instance_hop_spreads_connections_and_keeps_both_directions_together():
    doc = DOC.replace("[{switch: s1, port: ids0}]", "[{switch: s1, port: ids0}, {switch: s1, port: ids1}]")
    doc = doc.replace("match: {tcp_dst: 80}}]", "match: {tcp_dst: 80}}, {name: back, in_port: server, match: {tcp_src: 80}}]")
    st = state(doc)
    assert not st.groups
    reached = set()
    for sport in range(40000, 40040):
        seen: list = []
        run_chain(FakeSwitch(st), 1, tcp(sport=sport), SF_PORTS, seen)
        assert [n.si for _, n in seen] == [255, 254, 253]
        back: list = []
        run_chain(FakeSwitch(st), 2, tcp(src="10.0.0.2", dst="10.0.0.1", sport=80, dport=sport), SF_PORTS, back)
        assert back[1][0] == seen[1][0], "the reply direction meets the same ids instance"
        reached.add(seen[1][0])
    assert reached == {4, 5}


EVERY_FIELD_PORTS = {1: {"client": 1, "server": 2, "fw0": 3, "fw1": 4, "brA": 5, "brB": 6, "brA2": 7, "brB2": 8,
                         "ids0": 9}}
EVERY_FIELD_DOC = """
switches: [{name: s1, dpid: 1}]
service_functions:
  - {name: fw, instances: [{switch: s1, port: fw0, slots: [0, 1, 2, 3, 4, 5]},
                           {switch: s1, port: fw1, weight: 2, slots: [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}]}
  - name: br
    nsh_aware: false
    instances: [{switch: s1, port: brA, egress_port: brB}, {switch: s1, port: brA2, egress_port: brB2}]
  - {name: ids, instances: [{switch: s1, port: ids0}]}
service_function_paths:
  - name: every-field
    spi: 11
    hops: [fw, br, ids]
    classifiers:
      - {name: v4-tcp, in_port: client, match: {eth_src: "02:00:00:00:00:01", eth_dst: "02:00:00:00:00:02",
         vlan_vid: 10, vlan_pcp: 3, ip_src: 10.0.0.0/24, ip_dst: 10.0.1.1, ip_dscp: 10, ip_ecn: 1,
         tcp_src: 1024-2047, tcp_dst: 80}}
      - {name: v6-udp, in_port: client, match: {ipv6_src: "2001:db8::/64", ipv6_dst: "2001:db8:1::1",
         ipv6_flabel: 5, udp_src: 53, udp_dst: 5353}}
      - {name: sctp, in_port: client, match: {eth_type: 0x0800, sctp_src: 36412, sctp_dst: 36413}}
      - {name: icmp4, in_port: client, match: {icmpv4_type: 8, icmpv4_code: 0}}
      - {name: icmp6, in_port: client, match: {icmpv6_type: 128, icmpv6_code: 0}}
      - {name: gre, in_port: server, match: {ip_proto: 47}}
      - {name: mpls, in_port: client, match: {mpls_label: 100, mpls_tc: 1, mpls_bos: 1}}
      - {name: arp, in_port: client, match: {arp_op: 1, arp_spa: 10.0.0.1, arp_tpa: 10.0.0.0/24,
         arp_sha: "02:00:00:00:00:01", arp_tha: "00:00:00:00:00:00"}}
      - {name: nd-ns, in_port: server, match: {ipv6_nd_target: "2001:db8::1", ipv6_nd_sll: "02:00:00:00:00:02"}}
      - {name: nd-na, in_port: server, match: {ipv6_nd_tll: "02:00:00:00:00:02"}}
  - name: from-anywhere
    spi: 12
    hops: [ids]
    classifiers:
      - {name: vxlan, match: {udp_dst: 4789}}
"""


def test_every_flow_fits_the_declared_pipeline():
    st = compute_switch_states(load_document(EVERY_FIELD_DOC), EVERY_FIELD_PORTS)[1]
    assert check_switch_state(st) is st  # every flow, the pipeline-wide ones included
    for flow in st.flows:
        assert check_flow(flow) is flow
    classify_fields = {k for f in st.flows if f.table == CLASSIFY for k, _ in f.match}
    assert classify_fields == PIPELINE[CLASSIFY].match_fields, "the document uses every classifier field"
    assert {f.table for f in st.flows} == set(PIPELINE), "every table holds flows"
    assert any(f.table == CLASSIFY and f.priority == 0 for f in st.flows), "the pipeline-wide miss flows are in"
    assert any(isinstance(a, Multipath) for f in st.flows for a in f.actions), "multi-instance hops spread"
    reclassified = {dict(f.match)["in_port"] for f in st.flows if f.table == RECLASSIFY and f.goto_table is not None}
    assert {6, 8} <= reclassified, "what returns from both unaware instances is classified again"
    assert {o.port for f in st.flows if f.table in (NEXT_HOP, BALANCE) for o in f.actions if isinstance(o, Output)} == {
        3, 4, 5, 7, 9}, "every instance of every hop is reached"


def test_missing_port_names_the_element():
    with pytest.raises(DocumentError) as err:
        compute_switch_states(load_document(DOC), {1: {"client": 1, "fw0": 3, "ids0": 4}})
    assert "nat0" in str(err.value) and "service_functions[nat]" in str(err.value)


def test_applying_twice_changes_nothing():
    desired = state()
    installed = apply_plan_to_state(SwitchState(), plan_changes(SwitchState(), desired))
    assert installed == desired
    assert plan_changes(installed, desired).empty


def test_a_b_a_restores_the_same_flows():
    a = state()
    b = state(DOC.replace("hops: [fw, ids, nat]", "hops: [nat, fw]").replace("tcp_dst: 80", "tcp_dst: 8080"))
    installed = apply_plan_to_state(SwitchState(), plan_changes(SwitchState(), a))
    installed = apply_plan_to_state(installed, plan_changes(installed, b))
    assert installed == b
    installed = apply_plan_to_state(installed, plan_changes(installed, a))
    assert installed == a


def test_update_leaves_unrelated_paths_untouched_and_removal_leaves_nothing():
    a = state()
    without_web = DOC.split("  - name: web")[0] + "  - name: dns" + DOC.split("  - name: dns")[1]
    b = state(without_web)
    plan = plan_changes(a, b)
    assert plan.add_flows == () and plan.modify_flows == ()
    assert all((f.cookie & 0xFFFFFF) in (7, 0) for f in plan.delete_flows)
    assert not any((f.cookie & 0xFFFFFF) == 7 for f in b.flows)


def test_foreign_flows_are_never_touched():
    from sdn.openflow import Flow
    foreign = Flow(0, 5, (("in_port", 9),), (), cookie=0x1234)
    plan = plan_changes(SwitchState(frozenset({foreign})), state())
    assert foreign not in plan.delete_flows
