"""Desired vs installed: the smallest set of changes that turns one into the other (pure).

Flows are compared by OpenFlow identity (table, priority, match); a flow whose identity is
installed but whose actions or cookie differ is modified in place (no gap in forwarding).
Only flows carrying our cookie tag (and groups in our id range) are ever considered, so foreign flows survive.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdn.cookie import is_our_group, is_ours
from sdn.flow import Flow, GroupEntry, SwitchState


@dataclass(frozen=True)
class Plan:
    add_flows: tuple[Flow, ...] = ()
    modify_flows: tuple[Flow, ...] = ()
    delete_flows: tuple[Flow, ...] = ()
    add_groups: tuple[GroupEntry, ...] = ()
    modify_groups: tuple[GroupEntry, ...] = ()
    delete_groups: tuple[GroupEntry, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.add_flows or self.modify_flows or self.delete_flows
                    or self.add_groups or self.modify_groups or self.delete_groups)

    @property
    def size(self) -> int:
        return (len(self.add_flows) + len(self.modify_flows) + len(self.delete_flows)
                + len(self.add_groups) + len(self.modify_groups) + len(self.delete_groups))


def plan_changes(installed: SwitchState, desired: SwitchState) -> Plan:
    """Changes that make ``installed`` (our part of it) equal to ``desired``."""
    have = {f.key: f for f in installed.flows if is_ours(f.cookie)}
    want = {f.key: f for f in desired.flows}
    add = tuple(f for k, f in want.items() if k not in have)
    modify = tuple(f for k, f in want.items() if k in have and have[k] != f)
    delete = tuple(f for k, f in have.items() if k not in want)

    have_g = {g.group_id: g for g in installed.groups if is_our_group(g.group_id)}
    want_g = {g.group_id: g for g in desired.groups}
    add_g = tuple(g for k, g in want_g.items() if k not in have_g)
    mod_g = tuple(g for k, g in want_g.items() if k in have_g and have_g[k] != g)
    del_g = tuple(g for k, g in have_g.items() if k not in want_g)
    return Plan(_sorted(add), _sorted(modify), _sorted(delete), add_g, mod_g, del_g)


def apply_plan_to_state(installed: SwitchState, plan: Plan) -> SwitchState:
    """The state a switch holds after ``plan`` succeeded (used to track installed state)."""
    flows = {f.key: f for f in installed.flows}
    for f in plan.delete_flows:
        flows.pop(f.key, None)
    for f in plan.add_flows + plan.modify_flows:
        flows[f.key] = f
    groups = {g.group_id: g for g in installed.groups}
    for g in plan.delete_groups:
        groups.pop(g.group_id, None)
    for g in plan.add_groups + plan.modify_groups:
        groups[g.group_id] = g
    return SwitchState(frozenset(flows.values()), frozenset(groups.values()))


def _sorted(flows: tuple[Flow, ...]) -> tuple[Flow, ...]:
    return tuple(sorted(flows, key=lambda f: (f.table, -f.priority, repr(f.match))))
