"""Desired vs installed: the smallest set of changes that turns one into the other (pure).

Flows are compared by OpenFlow identity (table, priority, match); a flow whose identity is
installed but whose actions or cookie differ is modified in place (no gap in forwarding).
Only flows carrying our cookie tag (and groups in our id range) are ever considered, so foreign flows survive.

No module state: what makes ``apply_plan_to_state`` O(changes) (the last state's flows by key)
lives in a ``KeyedFlows`` the caller owns, one per switch it tracks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sdn.cookie import is_our_group, is_ours
from sdn.openflow import Flow, GroupEntry, SwitchState


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
    # Flows on both sides alike (all of them, after a restart) need no keying: set operations
    # reuse the hashes the frozensets hold, which keeps diffing 60,000 flows well under a second.
    same = installed.flows & desired.flows
    inst = installed.flows - same if len(same) < len(installed.flows) else ()
    have = {f.key: f for f in inst if is_ours(f.cookie)}
    want = {f.key: f for f in (desired.flows - same if len(same) < len(desired.flows) else ())}
    add = tuple(f for k, f in want.items() if k not in have)
    modify = tuple(f for k, f in want.items() if k in have and have[k] != f)
    delete = tuple(f for k, f in have.items() if k not in want)

    have_g = {g.group_id: g for g in installed.groups if is_our_group(g.group_id)}
    want_g = {g.group_id: g for g in desired.groups}
    add_g = tuple(g for k, g in want_g.items() if k not in have_g)
    mod_g = tuple(g for k, g in want_g.items() if k in have_g and have_g[k] != g)
    del_g = tuple(g for k, g in have_g.items() if k not in want_g)
    return Plan(_sorted(add), _sorted(modify), _sorted(delete), add_g, mod_g, del_g)


@dataclass
class KeyedFlows:
    """The flows by key of the last state ``apply_plan_to_state`` returned for one switch.

    Owned by whoever tracks that switch's state (one per switch), so nothing is shared between
    switches, controllers or tests. Holds one state: building on an older one keys it afresh.
    """

    state: SwitchState | None = None
    flows: dict[tuple, Flow] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, state: SwitchState) -> dict[tuple, Flow]:
        """``state``'s flows by key, for the caller to change (a fresh dict unless remembered)."""
        with self._lock:
            if self.state is state:
                flows, self.state, self.flows = self.flows, None, {}
                return flows
        return {f.key: f for f in state.flows}

    def remember(self, state: SwitchState, flows: dict[tuple, Flow]) -> SwitchState:
        with self._lock:
            self.state, self.flows = state, flows
        return state


def apply_plan_to_state(installed: SwitchState, plan: Plan, memo: KeyedFlows | None = None) -> SwitchState:
    """The state a switch holds after ``plan`` succeeded (used to track installed state).

    Costs O(changes) when ``installed`` is the last state this function returned with the same
    ``memo``: its flows by key are handed on, and set operations reuse the stored hashes of the
    flows left alone (re-keying and re-hashing tens of thousands of flows made a one-path change
    slow). Without a memo (or for any other state) the flows are keyed afresh: same result."""
    memo = memo if memo is not None else KeyedFlows()
    flows = memo.take(installed)
    if len(flows) != len(installed.flows):  # two flows with one key: only a full replay says which stays
        _replay(flows, plan, [])
        return memo.remember(SwitchState(frozenset(flows.values()), _apply_groups(installed, plan)), flows)
    gone: list[Flow] = []
    _replay(flows, plan, gone)
    written = frozenset(f for f in plan.add_flows + plan.modify_flows if flows[f.key] is f)
    kept = frozenset(installed.flows)  # no copy when it is one already
    kept = kept - frozenset(gone) if gone else kept
    return memo.remember(SwitchState(kept | written, _apply_groups(installed, plan)), flows)


def _replay(flows: dict[tuple, Flow], plan: Plan, gone: list[Flow]) -> None:
    """Apply ``plan`` to flows by key in place; the flows it displaced go to ``gone``."""
    for f in plan.delete_flows:
        old = flows.pop(f.key, None)
        if old is not None:
            gone.append(old)
    for f in plan.add_flows + plan.modify_flows:
        old = flows.get(f.key)
        if old is not None:
            gone.append(old)
        flows[f.key] = f


def _apply_groups(installed: SwitchState, plan: Plan) -> frozenset[GroupEntry]:
    if not (plan.delete_groups or plan.add_groups or plan.modify_groups):
        return frozenset(installed.groups)
    groups = {g.group_id: g for g in installed.groups}
    for g in plan.delete_groups:
        groups.pop(g.group_id, None)
    for g in plan.add_groups + plan.modify_groups:
        groups[g.group_id] = g
    return frozenset(groups.values())


def _sorted(flows: tuple[Flow, ...]) -> tuple[Flow, ...]:
    return tuple(sorted(flows, key=lambda f: (f.table, -f.priority, repr(f.match))))
