"""The controller's O(change) paths give exactly what a whole recomputation gives: path upserts
reuse the other paths' flows (only while ports are unchanged), the in-memory switch applies
plans incrementally."""

from __future__ import annotations

import random

from sdn.docfile import load_document, parse_paths
from sdn.driver import SwitchInfo
from sdn.openflow import Flow, Output, SwitchState
from sdn.render import compute_owned_states, compute_switch_states, update_owned_states
from sdn.controller import SfcController
from sdn.sync import KeyedFlows, Plan, apply_plan_to_state, plan_changes
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import DOC, PORTS


def _path(rnd: random.Random, name: str, spi: int) -> dict:
    hops = rnd.sample(["fw", "ids", "nat"], rnd.randint(1, 3))
    classifiers = [{"name": f"{name}-{i}", "in_port": rnd.choice(["client", "server"]),
                    "match": {"tcp_dst": 1000 + spi * 10 + i}} for i in range(rnd.randint(0, 2))]
    return {"name": name, "spi": spi, "hops": hops, "classifiers": classifiers}


def test_random_upserts_and_removals_match_a_whole_recomputation():
    rnd = random.Random(7)
    driver = FakeDriver()
    controller = SfcController(driver)
    driver.connect(1, PORTS[1])
    controller.apply_document(load_document(DOC))
    for step in range(60):
        names = [p.name for p in controller.document.paths]
        remove = rnd.sample(names, min(len(names), rnd.randint(0, 2)))
        upsert = [_path(rnd, rnd.choice([f"p{rnd.randrange(8)}", *names]), 100 + step * 4 + i)
                  for i in range(rnd.randint(0, 2))]
        upsert = list({p["name"]: p for p in upsert if p["name"] not in remove}.values())
        controller.upsert_paths(parse_paths(upsert), remove)
        doc = controller.document
        assert driver.tables[1] == compute_switch_states(doc, PORTS)[1], step
        assert {d: t.owned for d, t in controller._targets().items()} == compute_owned_states(doc, PORTS)
    controller.stop()


def test_renumbered_ports_are_picked_up_by_the_next_upsert():
    driver = FakeDriver()
    controller = SfcController(driver)
    driver.connect(1, PORTS[1])
    controller.apply_document(load_document(DOC))
    moved = {**PORTS[1], "fw0": 13, "ids0": 14}
    driver.infos[1] = SwitchInfo(1, moved)  # no port event yet: the upsert itself must notice
    controller.upsert_paths(parse_paths([{"name": "ssh", "spi": 11, "hops": ["nat"], "classifiers": []}]))
    assert driver.tables[1] == compute_switch_states(controller.document, {1: moved})[1]
    controller.stop()


def test_update_owned_states_computes_switches_it_has_no_previous_for():
    doc = load_document(DOC)
    assert update_owned_states(doc, PORTS, {}, {"web"}) == compute_owned_states(doc, PORTS)


def _replayed(installed: SwitchState, plan: Plan) -> SwitchState:
    """The plain definition: last write per OpenFlow identity wins."""
    flows = {f.key: f for f in installed.flows}
    for f in plan.delete_flows:
        flows.pop(f.key, None)
    for f in plan.add_flows + plan.modify_flows:
        flows[f.key] = f
    return SwitchState(frozenset(flows.values()), installed.groups)


def test_incremental_apply_plan_to_state_matches_replaying_by_key():
    rnd = random.Random(3)

    def flow() -> Flow:
        return Flow(rnd.randrange(3), rnd.randrange(3), (("in_port", rnd.randrange(5)),), (Output(rnd.randrange(3)),))

    memo = KeyedFlows()  # the O(changes) path, one switch's memo
    fast = slow = SwitchState()
    history = [(fast, slow)]
    for step in range(3000):
        if rnd.random() < 0.05:  # a plan applied to an older state again (branching off)
            fast, slow = rnd.choice(history)
        if rnd.random() < 0.5:  # arbitrary plans: adds over existing keys, modifies, deletes of unknown flows
            plan = Plan(*(tuple(flow() for _ in range(rnd.randrange(4))) for _ in range(3)))
        else:
            wanted = {f.key: f for f in (flow() for _ in range(rnd.randrange(12)))}
            plan = plan_changes(fast, SwitchState(frozenset(wanted.values())))
        if rnd.random() < 0.05:  # a state it has not seen before (e.g. read back from a switch)
            fast = SwitchState(frozenset(fast.flows))
        fast, slow = apply_plan_to_state(fast, plan, memo), _replayed(slow, plan)
        assert fast == slow, step
        history.append((fast, slow))
