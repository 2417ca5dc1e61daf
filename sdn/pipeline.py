"""The OpenFlow pipeline, declared as data, and the check every computed flow must pass.

Table roles follow OpenDaylight SFC's transport-ingress / path-mapper / next-hop / egress split:
ingress admits by port role, classify wraps matching traffic in NSH, next-hop steers by
(SPI, SI), egress unwraps at the end of a path and hands the packet to normal L2 delivery.

Service function ports never reach classify: NSH-aware SF ports are dispatched to next-hop (or
dropped) in ingress, NSH-unaware SF ports go to their own table, reclassify. So a classifier
bound to no port takes every other port -- those that exist now and those created later --
without the controller listing them, and it can never catch what an SF sends back. Nor what
arrives over a virtual link's tunnel from another host: ingress sends it to NORMAL, it was
classified (or not) on the host where it entered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdn.openflow import Action, Flow, Group, Output, Resubmit, SwitchState

INGRESS, CLASSIFY, RECLASSIFY, NEXT_HOP, EGRESS = 0, 10, 15, 20, 30
PROXY = 25  # to an NSH-unaware SF that routes, after NSH is off (see sdn.render)
BALANCE = 22  # a hop of several instances: its slot table, once per SF (see sdn.balance)


@dataclass(frozen=True)
class Table:
    table_id: int
    name: str
    purpose: str
    goto: frozenset[int]  # tables a flow here may continue in (goto_table or resubmit)
    match_fields: frozenset[str]  # the only fields a flow here may match on


NSH_FIELDS = frozenset({"eth_type", "nsh_mdtype", "nsh_spi", "nsh_si", "nsh_c1", "nsh_c2", "nsh_c3", "nsh_c4"})
# what sdn.match.compile_match can emit for a classifier (its canonical os-ken names), plus the port it
# is bound to: classify never matches on anything a classifier cannot say (NSH fields, registers, ...)
CLASSIFIER_FIELDS = frozenset({
    "eth_type", "eth_src", "eth_dst", "vlan_vid", "vlan_pcp", "mpls_label", "mpls_tc", "mpls_bos",
    "ipv4_src", "ipv4_dst", "ipv6_src", "ipv6_dst", "ip_proto", "ip_dscp", "ip_ecn", "ipv6_flabel",
    "tcp_src", "tcp_dst", "udp_src", "udp_dst", "sctp_src", "sctp_dst",
    "icmpv4_type", "icmpv4_code", "icmpv6_type", "icmpv6_code",
    "arp_op", "arp_spa", "arp_tpa", "arp_sha", "arp_tha", "ipv6_nd_target", "ipv6_nd_sll", "ipv6_nd_tll",
})

PIPELINE: dict[int, Table] = {
    t.table_id: t
    for t in (
        Table(INGRESS, "ingress", "admit by port role: NSH-aware SF ports carry NSH only, NSH-unaware SF ports "
              "go to reclassify, VL tunnel ports (classified on their own host) NORMAL, every other port to classify",
              frozenset({CLASSIFY, RECLASSIFY, NEXT_HOP}), frozenset({"in_port", "eth_type", "packet_type"})),
        Table(CLASSIFY, "classify", "ACL match on one port or on any port that is not an SF's -> encap NSH "
              "(SPI, SI=255, C1 = in_port); miss: NORMAL",
              frozenset({NEXT_HOP}), CLASSIFIER_FIELDS | {"in_port"}),
        Table(RECLASSIFY, "reclassify", "what an NSH-unaware SF sends back: the path's own ACL match on its "
              "egress port -> encap again (SI after that hop, C1 = the classifier's port); miss: drop",
              frozenset({NEXT_HOP}), CLASSIFIER_FIELDS | {"in_port"}),
        Table(NEXT_HOP, "next-hop", "(SPI, SI) -> the SF port (NSH stripped for unaware SFs; to proxy for those "
              "that route), or the SF in reg2 -> balance if it has several instances; path end -> egress",
              frozenset({EGRESS, PROXY, BALANCE}), NSH_FIELDS | {"in_port"}),
        Table(BALANCE, "balance", "the SF in reg2, the slot in C4 -> the instance holding it (as next-hop "
              "sends to one), or the SFF of another host holding it; what arrived from the GPE port is never "
              "sent on (tables updated out of step would loop it); miss: drop",
              frozenset({PROXY}), frozenset({"reg2", "eth_type", "nsh_mdtype", "nsh_c4", "in_port"})),
        Table(PROXY, "proxy", "NSH stripped, the SF instance in reg1 -> address the frame to its MAC, output; "
              "miss: drop", frozenset(), frozenset({"reg1"})),
        Table(EGRESS, "egress", "restore the ingress port from C1, decap outer Ethernet and NSH, NORMAL",
              frozenset(), NSH_FIELDS),
    )
}


class PipelineError(ValueError):
    """A computed flow breaks the pipeline's declared shape (a bug in the flow computation)."""


def check_flow(flow: Flow) -> Flow:
    """``flow`` itself if it fits its table's declaration; PipelineError naming the breach if not."""
    table = PIPELINE.get(flow.table)
    if table is None:
        raise PipelineError(f"flow in undeclared table {flow.table}: {flow}")
    if flow.goto_table is not None and flow.goto_table not in table.goto:
        raise PipelineError(f"table {table.name} may not go to table {flow.goto_table}: {flow}")
    extra = {k for k, _ in flow.match} - table.match_fields
    if extra:
        raise PipelineError(f"table {table.name} does not match on {sorted(extra)}: {flow}")
    for action in flow.actions:
        if isinstance(action, Resubmit) and action.table not in table.goto:
            raise PipelineError(f"table {table.name} may not resubmit to {action.table}: {flow}")
        if isinstance(action, (Output, Group)) and flow.goto_table is not None:
            raise PipelineError(f"flow both outputs and continues the pipeline: {flow}")
    return flow


def check_switch_state(state: SwitchState) -> SwitchState:
    """``state`` itself if every flow in it (the pipeline-wide ones included) passes check_flow,
    no two of its flows share OpenFlow's identity (table, priority, match), and every group a flow
    or bucket names is in it; PipelineError naming the first breach if not.
    """
    by_key: dict[tuple, Flow] = {}
    group_ids = {g.group_id for g in state.groups}
    for flow in state.flows:
        check_flow(flow)
        other = by_key.setdefault(flow.key, flow)
        if other is not flow:
            raise PipelineError(f"two flows with one key (table, priority, match), a switch keeps only one: "
                                f"{other} and {flow}")
        _check_groups_named(flow.actions, group_ids, f"{flow}")
    for group in state.groups:
        for bucket in group.buckets:
            _check_groups_named(bucket.actions, group_ids, f"group {group.group_id}")
    return state


def _check_groups_named(actions: tuple[Action, ...], group_ids: set[int], where: str) -> None:
    for action in actions:
        if isinstance(action, Group) and action.group_id not in group_ids:
            raise PipelineError(f"{where} sends to group {action.group_id}, which the switch state lacks")
