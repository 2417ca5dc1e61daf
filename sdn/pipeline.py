"""The OpenFlow pipeline, declared as data, and the check every computed flow must pass.

Table roles follow OpenDaylight SFC's transport-ingress / path-mapper / next-hop / egress split:
ingress admits by port role, classify wraps matching traffic in NSH, next-hop steers by
(SPI, SI), egress unwraps at the end of a path and hands the packet to normal L2 delivery.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdn.openflow import Flow, Group, Output, Resubmit

INGRESS, CLASSIFY, NEXT_HOP, EGRESS = 0, 10, 20, 30


@dataclass(frozen=True)
class Table:
    table_id: int
    name: str
    purpose: str
    goto: frozenset[int]
    match_fields: frozenset[str] | None  # None: any field


NSH_FIELDS = frozenset({"eth_type", "nsh_mdtype", "nsh_spi", "nsh_si", "nsh_c1", "nsh_c2", "nsh_c3", "nsh_c4"})

PIPELINE: dict[int, Table] = {
    t.table_id: t
    for t in (
        Table(INGRESS, "ingress", "admit by port role: NSH-aware SF ports carry NSH only, others go to classify",
              frozenset({CLASSIFY, NEXT_HOP}), frozenset({"in_port", "eth_type"})),
        Table(CLASSIFY, "classify", "ACL match on client ports -> encap NSH (SPI, SI=255), on NSH-unaware "
              "SF egress ports -> encap again (SI after that hop), else drop; miss: NORMAL",
              frozenset({NEXT_HOP}), None),
        Table(NEXT_HOP, "next-hop", "(SPI, SI) -> the SF port (NSH stripped for unaware SFs); path end -> egress",
              frozenset({EGRESS}), NSH_FIELDS),
        Table(EGRESS, "egress", "decap outer Ethernet and NSH, restore the ingress port, NORMAL",
              frozenset(), NSH_FIELDS),
    )
}


class PipelineError(ValueError):
    """A computed flow breaks the pipeline's declared shape (a bug in the flow computation)."""


def check_flow(flow: Flow) -> Flow:
    table = PIPELINE.get(flow.table)
    if table is None:
        raise PipelineError(f"flow in undeclared table {flow.table}: {flow}")
    if flow.goto_table is not None and flow.goto_table not in table.goto:
        raise PipelineError(f"table {table.name} may not go to table {flow.goto_table}: {flow}")
    if table.match_fields is not None:
        extra = {k for k, _ in flow.match} - table.match_fields
        if extra:
            raise PipelineError(f"table {table.name} does not match on {sorted(extra)}: {flow}")
    for action in flow.actions:
        if isinstance(action, Resubmit) and action.table not in table.goto:
            raise PipelineError(f"table {table.name} may not resubmit to {action.table}: {flow}")
        if isinstance(action, (Output, Group)) and flow.goto_table is not None:
            raise PipelineError(f"flow both outputs and continues the pipeline: {flow}")
    return flow
