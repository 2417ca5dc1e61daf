"""The slot-table planner: even by weight, minimal moves, any number of instances, symmetric."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from sdn.balance import MAX_SLOTS, Table, blocks, check_table, plan, table_of, table_size
from sdn.controller import SfcController
from sdn.docfile import load_document
from sdn.document import Classifier, DocumentError, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch, check_document
from sdn.match import ClassifierMatch
from sdn.pipeline import BALANCE, NEXT_HOP
from sdn.rebalance import rebalance
from sdn.render import compute_switch_states
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp
from tests.unit.sdn.test_flows import DOC, PORTS


def shares(table: Table) -> dict:
    return {k: len(v) for k, v in table.slots.items()}


def assert_table(table: Table) -> None:
    assert not check_table(list(table.slots.values())), table


def moved(before: Table, after: Table) -> dict[tuple, int]:
    """(from, to) -> slots (of the larger table) that changed instance."""
    size = max(before.size, after.size)
    out: dict[tuple, int] = {}
    for s in range(size):
        a, b = before.owner(s % before.size), after.owner(s % after.size)
        if a != b:
            out[(a, b)] = out.get((a, b), 0) + 1
    return out


@pytest.mark.parametrize("n", [2, 3, 5, 16, 17, 40, 100])
def test_any_number_of_instances_share_evenly(n):
    table = plan([(f"i{k}", 1) for k in range(n)])
    assert_table(table)
    counts = shares(table).values()
    assert min(counts) >= 1 and max(counts) - min(counts) <= 1, shares(table)
    assert table.size >= 8 * n or table.size == MAX_SLOTS


def test_three_instances_are_within_one_slot_not_6_5_5_of_16():
    assert sorted(shares(plan([("a", 1), ("b", 1), ("c", 1)])).values()) == [10, 11, 11]


def test_weights_share_proportionally_and_zero_takes_none():
    table = plan([("a", 1), ("b", 3), ("c", 0)])
    assert shares(table) == {"a": table.size // 4, "b": 3 * table.size // 4, "c": 0}
    assert_table(table)


def test_every_weight_zero_still_forwards():
    assert sorted(shares(plan([("a", 0), ("b", 0)])).values()) == [8, 8]


def test_scale_out_moves_only_to_the_new_instance_and_keeps_the_rest():
    two = plan([("a", 1), ("b", 1)])
    three = plan([("a", 1), ("b", 1), ("c", 1)], two)
    assert set(moved(two, three)) <= {("a", "c"), ("b", "c")}
    assert sorted(shares(three).values()) == [10, 11, 11]


def test_scale_in_and_drain_move_only_the_leaving_instance():
    three = plan([("a", 1), ("b", 1), ("c", 1)], plan([("a", 1), ("b", 1)]))
    for after in (plan([("a", 1), ("b", 1)], three), plan([("a", 1), ("b", 1), ("c", 0)], three)):
        assert set(moved(three, after)) <= {("c", "a"), ("c", "b")}, moved(three, after)
        assert shares(after)["a"] == shares(after)["b"] == after.size // 2


def test_random_changes_move_the_minimum_and_stay_even():
    rng = random.Random(7)
    alive = ["i0", "i1"]
    table = plan([(k, 1) for k in alive])
    nxt = 2
    for _ in range(200):
        if len(alive) < 3 or (rng.random() < 0.5 and len(alive) < 30):
            alive.append(f"i{nxt}")
            nxt += 1
        else:
            alive.remove(rng.choice(alive))
        before = table
        table = plan([(k, 1) for k in alive], before)
        assert_table(table)
        counts = shares(table)
        assert max(counts.values()) - min(counts.values()) <= 1
        for (a, b), _count in moved(before, table).items():
            assert a not in alive or b not in before.slots, f"{a} -> {b}: both stay"


def test_the_table_grows_without_moves_and_never_shrinks():
    small = plan([(k, 1) for k in "ab"])
    big = plan([(k, 1) for k in "abcde"], small)
    assert big.size == 64 and set(moved(small, big)) <= {(x, y) for x in "ab" for y in "cde"}
    assert plan([(k, 1) for k in "ab"], big).size == 64
    assert table_size([1, 1], 0) == 16


def test_blocks_match_exactly_the_slots():
    rng = random.Random(3)
    for _ in range(100):
        size = 1 << rng.randint(1, 8)
        slots = sorted(rng.sample(range(size), rng.randint(0, size)))
        pairs = blocks(slots, size)
        assert sorted(s for s in range(size) if any(s & m == v for v, m in pairs)) == slots
    assert blocks(list(range(8)), 16) == [(0, 8)]  # a contiguous aligned run: one flow
    assert len(blocks(list(range(11)), 32)) == 3


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        plan([("a", 1), ("a", 1)])


def doc(*functions: ServiceFunction) -> SfcDocument:
    return check_document(SfcDocument((Switch("s", 1),), functions))


def sf(name: str, ports: str, weights: str = "", aware: bool = True, swap: bool = False) -> ServiceFunction:
    weight = [int(w) for w in weights] if weights else [1] * len(ports)
    return ServiceFunction(name, tuple(
        SfInstance("s", f"{p}2" if swap else f"{p}1", "" if aware else (f"{p}1" if swap else f"{p}2"), weight=w)
        for p, w in zip(ports, weight, strict=True)), aware)


def owners(fn: ServiceFunction) -> dict[int, str]:
    return {s: i.port[0] for i in fn.instances for s in i.slots}


def test_rebalance_keeps_staying_instances_across_documents():
    one = rebalance(doc(sf("fw", "ab")))
    two = rebalance(doc(sf("fw", "abc")), one)
    before, after = owners(one.function("fw")), owners(two.function("fw"))
    size = len(after)
    assert all(after[s] in (before[s % len(before)], "c") for s in range(size))
    drained = rebalance(doc(sf("fw", "abc", "110")), two)
    assert not drained.function("fw").instances[2].slots and all(
        owners(drained.function("fw"))[s] == o for s, o in after.items() if o != "c")


def test_rebalance_gives_a_twin_the_same_table_even_when_it_is_new():
    held = rebalance(doc(sf("u", "ab", aware=False)))
    grown = rebalance(doc(sf("u", "abc", aware=False), sf("u~rev", "abc", aware=False, swap=True)), held)
    fwd, rev = grown.function("u"), grown.function("u~rev")
    assert [i.slots for i in fwd.instances] == [i.slots for i in rev.instances]
    assert check_document(grown) == grown


def test_rebalance_leaves_single_instances_alone_and_scales_from_one():
    one = rebalance(doc(sf("fw", "a")))
    assert one.function("fw").instances[0].slots == ()
    two = rebalance(doc(sf("fw", "ab")), one)
    assert sorted(len(i.slots) for i in two.function("fw").instances) == [8, 8]


def test_seventeen_instances_all_take_connections_on_a_fake_switch_and_drained_one_none():
    n = 17
    ports = {"client": 1, "server": 2, **{f"x{k}": 10 + k for k in range(n)}}
    fn = ServiceFunction("x", tuple(SfInstance("s", f"x{k}", weight=0 if k == 3 else 1) for k in range(n)))
    path = ServicePath("p", 7, ("x",), (Classifier("c", "client", ClassifierMatch(ip_proto=6)),))
    document = rebalance(check_document(SfcDocument((Switch("s", 1),), (fn,), (path,))))
    state = compute_switch_states(document, {1: ports})[1]
    assert len([f for f in state.flows if f.table == NEXT_HOP and dict(f.match).get("nsh_spi") == 7]) == 2, \
        "the path costs one flow for its hop (and one for its end) however many instances it has"
    assert 17 <= len([f for f in state.flows if f.table == BALANCE]) <= 256
    reached: Counter = Counter()
    sf_ports = set(range(10, 10 + n))
    for sport in range(20000, 22000):
        seen: list = []
        run_chain(FakeSwitch(state), 1, tcp(sport=sport), sf_ports, seen)
        reached[seen[0][0]] += 1
    assert set(reached) == sf_ports - {13}, "every instance but the draining one takes connections"
    assert max(reached.values()) < 2.0 * min(reached.values()), reached


@pytest.mark.parametrize("instances, element, message", [
    ([SfInstance("s", "a", weight=-1), SfInstance("s", "b")], "instances[0].weight", "0..1000"),
    ([SfInstance("s", "a", slots=(0, 1)), SfInstance("s", "b", slots=(1, 2))], "instances", "each slot to one"),
    ([SfInstance("s", "a", slots=(0, 1, 2))], "instances", "power of two"),
])
def test_document_refuses_bad_weights_and_slot_tables(instances, element, message):
    with pytest.raises(DocumentError, match=message) as info:
        doc(ServiceFunction("fw", tuple(instances)))
    assert info.value.element == f"service_functions[fw].{element}"


def test_weights_share_a_document_and_planning_again_changes_nothing():
    planned = rebalance(doc(sf("fw", "ab", "12")))
    slots = [i.slots for i in planned.function("fw").instances]
    assert abs(len(slots[1]) - 2 * len(slots[0])) <= 2 and not check_table(slots)  # 11 and 21 of 32
    assert rebalance(planned, planned) == planned, "a document planned again on itself changes nothing"


def test_the_controller_plans_from_what_it_holds_and_keeps_it_across_a_restart(tmp_path):
    """Scale ids from 2 to 3 instances through the controller: ids0/ids1 keep their slots but
    those the new one takes; a controller restarted from its state file plans the same."""
    def ids(n: int) -> SfcDocument:
        return load_document(DOC.replace("[{switch: s1, port: ids0}]", "[" + ", ".join(
            f"{{switch: s1, port: ids{k}}}" for k in range(n)) + "]"))

    ports = {1: {**PORTS[1], "ids2": 7}}
    driver, state = FakeDriver(), tmp_path / "state.pb"
    first = SfcController(driver, state_file=state)
    driver.connect(1, ports[1])
    first.apply_document(ids(2))
    two = {i.port: i.slots for i in first.document.function("ids").instances}
    first.apply_document(ids(3))
    three = {i.port: i.slots for i in first.document.function("ids").instances}
    assert all(set(three[p]) <= {s % 16 + k for k in (0, 16) for s in two[p]} for p in ("ids0", "ids1"))
    assert len(three["ids2"]) == 10 and driver.tables[1] == compute_switch_states(first.document, ports)[1]
    first.stop()
    driver.callbacks.clear()
    second = SfcController(driver, state_file=state)
    driver.connect(1, ports[1], keep=True)
    applied = len(driver.applied)
    second.apply_document(ids(3))  # the NFVO pushes its document again, without slots
    assert {i.port: i.slots for i in second.document.function("ids").instances} == three
    assert len(driver.applied) == applied, "nothing to change"
    second.stop()


def test_an_abstract_hop_renamed_when_a_vnf_goes_keeps_the_staying_instances():
    held = rebalance(doc(sf("a+b+c", "abc")))
    after = rebalance(doc(sf("a+b", "ab")), held)
    before, now = owners(held.function("a+b+c")), owners(after.function("a+b"))
    assert all(now[s] == o for s, o in before.items() if o != "c")


def test_an_instance_left_out_gives_up_only_its_slots():
    """A missing port (sdn.usable) leaves an instance out of its SF's table for a while: the
    instances that stay keep their slots, only the left-out one's are shared among them."""
    table = plan([("a", 1), ("b", 1), ("c", 1)])
    kept = [table.slots["a"], table.slots["c"]]
    partial = table_of([1, 1], kept)
    assert partial.size == table.size and not check_table(list(partial.slots.values()))
    for i, held in enumerate(kept):
        assert set(held) <= set(partial.slots[i])
    assert abs(len(partial.slots[0]) - len(partial.slots[1])) <= 1
