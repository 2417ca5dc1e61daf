"""The pipeline contract (sdn.pipeline) refuses every kind of flow that breaks it."""

from __future__ import annotations

import pytest

from sdn.docfile import load_document
from sdn.match import ALIASES, compile_match, parse_match
from sdn.openflow import (OFPP_NORMAL, Bucket, EncapNsh, Flow, Group, GroupEntry, Output, Resubmit, SetField,
                          SwitchState, make_match)
from sdn.pipeline import (CLASSIFIER_FIELDS, CLASSIFY, EGRESS, INGRESS, NEXT_HOP, PIPELINE, PipelineError, check_flow,
                          check_switch_state)
from sdn.render import compute_switch_states
from tests.unit.sdn.test_flows import EVERY_FIELD_DOC, EVERY_FIELD_PORTS

ENCAP = (EncapNsh(1), SetField("nsh_spi", 7), SetField("nsh_si", 255))


def computed() -> SwitchState:
    return compute_switch_states(load_document(EVERY_FIELD_DOC), EVERY_FIELD_PORTS)[1]


def with_flow(flow: Flow) -> SwitchState:
    st = computed()
    return SwitchState(st.flows | {flow}, st.groups)


def sample(alias: str) -> dict[str, object]:
    """A valid match using ``alias`` (with what it cannot stand without)."""
    canonical = ALIASES[alias]
    if canonical in ("ip_src", "ip_dst"):
        return {alias: "2001:db8::/64" if alias.startswith("ipv6") else "10.0.0.0/24"}
    if canonical in ("arp_spa", "arp_tpa"):
        return {alias: "10.0.0.0/24"}
    if canonical in ("eth_src", "eth_dst", "arp_sha", "arp_tha", "ipv6_nd_sll", "ipv6_nd_tll"):
        return {alias: "02:00:00:00:00:01"}
    if canonical == "ipv6_nd_target":
        return {alias: "2001:db8::1"}
    if canonical == "vlan_pcp":
        return {alias: 3, "vlan_vid": 10}
    return {alias: {"eth_type": 0x0800, "ip_proto": "tcp", "src_port": 80, "dst_port": "1000-1999",
                    "ip_dscp_tos": 32, "mpls_label": 16}.get(canonical, 1)}


def test_every_table_declares_its_match_fields():
    for table in PIPELINE.values():
        assert isinstance(table.match_fields, frozenset) and table.match_fields, table.name
    assert PIPELINE[CLASSIFY].match_fields == CLASSIFIER_FIELDS | {"in_port"}


def test_classify_allows_exactly_what_compile_match_emits():
    emitted = {field for alias in ALIASES for match in compile_match(parse_match(sample(alias))) for field, _ in match}
    assert emitted == CLASSIFIER_FIELDS


def test_the_computed_state_passes():
    st = computed()
    assert check_switch_state(st) is st


@pytest.mark.parametrize("flow, says", [
    (Flow(5, 10, make_match(in_port=1), (Output(2),)), "undeclared table 5"),
    (Flow(40, 0, ()), "undeclared table 40"),
], ids=["between-tables", "after-egress"])
def test_a_flow_in_an_undeclared_table_is_refused(flow, says):
    with pytest.raises(PipelineError, match=says):
        check_flow(flow)
    with pytest.raises(PipelineError, match=says):
        check_switch_state(with_flow(flow))


@pytest.mark.parametrize("field, value", [
    ("nsh_spi", 7), ("nsh_c1", 1), ("reg0", 3), ("metadata", 1), ("tcp_flags", 2), ("ipv6_exthdr", 1),
    ("tun_id", 5),
])
def test_classify_refuses_a_field_no_classifier_can_give(field, value):
    flow = Flow(CLASSIFY, 1000, make_match(in_port=1, tcp_dst=80, **{field: value}), ENCAP, goto_table=NEXT_HOP)
    with pytest.raises(PipelineError, match=f"classify does not match on \\['{field}'\\]"):
        check_flow(flow)
    with pytest.raises(PipelineError, match="classify does not match on"):
        check_switch_state(with_flow(flow))


@pytest.mark.parametrize("table, field", [
    (INGRESS, "tcp_dst"), (NEXT_HOP, "reg2"), (NEXT_HOP, "ipv4_src"), (EGRESS, "in_port"),
])
def test_other_tables_refuse_fields_they_do_not_declare(table, field):
    with pytest.raises(PipelineError, match="does not match on"):
        check_flow(Flow(table, 10, make_match(**{field: 1}), ()))


@pytest.mark.parametrize("flow", [
    Flow(INGRESS, 10, make_match(in_port=1), goto_table=EGRESS),
    Flow(CLASSIFY, 10, make_match(in_port=1), ENCAP, goto_table=EGRESS),
    Flow(CLASSIFY, 10, make_match(in_port=1), goto_table=INGRESS),
    Flow(NEXT_HOP, 10, make_match(nsh_spi=7, nsh_si=255), goto_table=CLASSIFY),
    Flow(EGRESS, 10, make_match(nsh_spi=7, nsh_si=253), goto_table=NEXT_HOP),
    Flow(EGRESS, 10, make_match(nsh_spi=7, nsh_si=253), goto_table=99),
], ids=["ingress-egress", "classify-egress", "classify-back", "next-hop-back", "egress-back", "egress-nowhere"])
def test_a_goto_the_table_does_not_allow_is_refused(flow):
    with pytest.raises(PipelineError, match="may not go to table"):
        check_flow(flow)
    with pytest.raises(PipelineError, match="may not go to table"):
        check_switch_state(with_flow(flow))


def test_a_resubmit_the_table_does_not_allow_is_refused():
    with pytest.raises(PipelineError, match="may not resubmit to 0"):
        check_flow(Flow(NEXT_HOP, 10, make_match(nsh_spi=7, nsh_si=255), (Resubmit(INGRESS),)))
    assert check_flow(ok := Flow(NEXT_HOP, 10, make_match(nsh_spi=7, nsh_si=254), (Resubmit(EGRESS),))) is ok


@pytest.mark.parametrize("action", [Output(3), Output(OFPP_NORMAL), Group(1)], ids=["port", "normal", "group"])
def test_output_and_goto_in_one_flow_is_refused(action):
    flow = Flow(CLASSIFY, 1000, make_match(in_port=1, tcp_dst=80), (*ENCAP, action), goto_table=NEXT_HOP)
    with pytest.raises(PipelineError, match="both outputs and continues"):
        check_flow(flow)
    state = with_flow(flow)
    state = SwitchState(state.flows, state.groups | {GroupEntry(1, "select", (Bucket((Output(3),)),))})
    with pytest.raises(PipelineError, match="both outputs and continues"):
        check_switch_state(state)


def test_a_broken_pipeline_wide_flow_fails_the_state():
    """The miss flows are part of the state: a bad one is caught though no path made it."""
    st = computed()
    miss = next(f for f in st.flows if f.table == EGRESS and f.priority == 0)
    broken = Flow(EGRESS, 0, (), goto_table=CLASSIFY, cookie=miss.cookie)
    with pytest.raises(PipelineError, match="egress may not go to table 10"):
        check_switch_state(SwitchState((st.flows - {miss}) | {broken}, st.groups))


def test_two_flows_with_one_key_fail_the_state():
    st = computed()
    flow = next(f for f in st.flows if f.table == CLASSIFY and f.goto_table is not None)
    twin = Flow(flow.table, flow.priority, flow.match, (Output(OFPP_NORMAL),), cookie=flow.cookie)
    with pytest.raises(PipelineError, match="two flows with one key"):
        check_switch_state(SwitchState(st.flows | {twin}, st.groups))


def test_a_group_the_state_lacks_fails_it():
    flow = Flow(NEXT_HOP, 10, make_match(nsh_spi=7, nsh_si=255), (Group(4),))
    assert check_flow(flow) is flow
    with pytest.raises(PipelineError, match="group 4, which the switch state lacks"):
        check_switch_state(with_flow(flow))
    bucket_to_nowhere = GroupEntry(4, "select", (Bucket((Group(5),)),))
    with pytest.raises(PipelineError, match="group 4 sends to group 5"):
        check_switch_state(SwitchState(frozenset({flow}), frozenset({bucket_to_nowhere})))
    fine = SwitchState(frozenset({flow}), frozenset({GroupEntry(4, "select", (Bucket((Output(3),)),))}))
    assert check_switch_state(fine) is fine
