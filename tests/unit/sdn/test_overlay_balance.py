"""An SF whose instances sit on several SFFs balances by its slot table (sdn.spread), as on one
switch: every slot reaches its planned instance from any previous stop in one tunnel, a change of
weights or instances moves only the slots it must, draining instances keep their ports, and the
tables follow the paths (incremental renders agree with whole ones)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sdn.cookie import Role, make_cookie
from sdn.docfile import parse_document
from sdn.document import (DocumentError, Probes, ServiceFunction, SfcDocument, SfInstance, check_document,
                          with_paths)
from sdn.openflow import Output, Sample, SetField
from sdn.pipeline import BALANCE, INGRESS, NEXT_HOP, check_switch_state
from sdn.rebalance import rebalance
from sdn.render import FlowCache, compute_owned_states, compute_switch_states, update_owned_states
from sdn.steering import PRIO_HOP, balance_number
from sdn.topology import overlay_graph, path_legs

IPS = {"c1": "172.31.250.1", "c2": "172.31.250.2", "c3": "172.31.250.3"}
PORTS = {1: {"client": 1, "server": 2, "gpe0": 10}, 2: {"lb": 3, "lb2": 5, "gpe0": 10},
         3: {"lb": 4, "lb3": 6, "gpe0": 10}}
GPE = 10


def document(instances: list[dict], reverse: bool = True) -> SfcDocument:
    """SF lb over ``instances``; a symmetric pair of paths through it, classified on c1."""
    paths = [{"name": "up", "spi": 41, "hops": ["lb"], "classifiers": [
        {"name": "in", "switch": "c1", "in_port": "client", "match": {"tcp_dst": 80}}]}]
    if reverse:
        paths.append({"name": "down", "spi": 42, "hops": ["lb"], "classifiers": [
            {"name": "out", "switch": "c1", "in_port": "server", "match": {"tcp_src": 80}}]})
    return parse_document({
        "switches": [{"name": n, "dpid": i + 1, "host_id": i + 1, "tunnel_ip": IPS[n], "gpe_port": "gpe0"}
                     for i, n in enumerate(IPS)],
        "service_functions": [{"name": "lb", "instances": instances}],
        "service_function_paths": paths})


TWO = [{"switch": "c2", "port": "lb"}, {"switch": "c3", "port": "lb"}]
BY_IP = {ip: i + 1 for i, ip in enumerate(IPS.values())}


def serves(states: dict, slot: int, start: int = 1) -> tuple[int, int]:
    """Where a packet of C4 ``slot`` goes from switch ``start`` (lb's table there): (switch, port),
    following tunnels; a table that would tunnel what came from a peer fails the walk."""
    number, dpid, from_peer = balance_number("lb"), start, False
    for _ in range(3):
        flows = sorted((f for f in states[dpid].flows if f.table == BALANCE and dict(f.match).get("reg2") == number),
                       key=lambda f: -f.priority)
        flow = next(f for f in flows if _hits(f, slot, from_peer))
        out = flow.actions[-1]
        assert isinstance(out, Output), f"slot {slot} dropped on switch {dpid}: {flow}"
        if out.port != GPE:
            return dpid, out.port
        ip = next(a.value for a in flow.actions if isinstance(a, SetField) and a.field == "tun_ipv4_dst")
        dpid, from_peer = BY_IP[str(ip)], True
    raise AssertionError(f"slot {slot} loops")


def _hits(flow, slot: int, from_peer: bool) -> bool:
    match = dict(flow.match)
    if "in_port" in match:
        return from_peer
    value, mask = match["nsh_c4"]
    return slot & mask == value


def planned(doc: SfcDocument) -> dict[int, tuple[str, str]]:
    fn = doc.function("lb")
    return {s: (i.switch, i.port) for i in fn.instances for s in i.slots}


def test_every_slot_reaches_its_planned_instance_from_the_previous_stop_and_from_each_holder() -> None:
    doc = rebalance(document(TWO))
    states = compute_switch_states(doc, PORTS)
    for state in states.values():
        check_switch_state(state)
    size = sum(len(i.slots) for i in doc.function("lb").instances)
    want = {s: ({"c2": 2, "c3": 3}[sw], PORTS[{"c2": 2, "c3": 3}[sw]][port]) for s, (sw, port) in planned(doc).items()}
    for start in (1, 2, 3):
        assert {s: serves(states, s, start) for s in range(size)} == want
    assert {sw for sw, _ in want.values()} == {2, 3}
    # one hop flow per path and switch, the table once per switch for both paths
    for dpid in (1, 2, 3):
        hops = [f for f in states[dpid].flows if f.table == NEXT_HOP and f.cookie in
                (make_cookie(Role.HOP, 41), make_cookie(Role.HOP, 42)) and ("nsh_si", 255) in f.match]
        assert len(hops) == 2 and all(f.goto_table == BALANCE for f in hops)
    per_switch = {d: len([f for f in s.flows if f.table == BALANCE and f.priority > 0]) for d, s in states.items()}
    assert per_switch[1] <= 3 and per_switch[2] <= 3 and per_switch[3] <= 3  # halves: one block each, + the guard


def test_a_new_instance_takes_slots_only_from_the_others_and_weights_and_draining_are_honoured() -> None:
    held = rebalance(document(TWO))
    three = rebalance(document([*TWO, {"switch": "c3", "port": "lb3"}]), held)
    before, after = planned(held), planned(three)
    size = len(after)
    lifted = {s: before[s % len(before)] for s in range(size)}  # the table grew: slot s was s mod the old size
    moved = {s for s in range(size) if after[s] != lifted[s]}
    assert all(after[s] == ("c3", "lb3") for s in moved), "only slots given to the new instance move"
    assert len(moved) == sum(1 for s in range(size) if after[s] == ("c3", "lb3")) >= size // 3 - 1
    states = compute_switch_states(three, PORTS)
    assert {s: serves(states, s) for s in range(size)} == {
        s: ({"c2": 2, "c3": 3}[sw], PORTS[{"c2": 2, "c3": 3}[sw]][port]) for s, (sw, port) in after.items()}

    drained = rebalance(document([{**TWO[0], "weight": 0}, *TWO[1:], {"switch": "c3", "port": "lb3"}]), three)
    now = planned(drained)
    assert ("c2", "lb") not in now.values(), "a draining instance takes no new connections"
    assert all(now[s] == after[s] for s in range(size) if after[s] != ("c2", "lb")), "the others keep theirs"
    states = compute_switch_states(drained, PORTS)
    assert all(serves(states, s)[0] == 3 for s in range(size))
    admitted = {f.match for f in states[2].flows if f.table == INGRESS and ("in_port", 3) in f.match}
    assert admitted, "its port stays admitted: what is inside it still comes out and goes on"
    weighted = rebalance(document([{**TWO[0], "weight": 3}, TWO[1]]))
    share = planned(weighted)
    assert sum(1 for v in share.values() if v[0] == "c2") == 3 * sum(1 for v in share.values() if v[0] == "c3")


def test_the_previous_stop_samples_into_the_hop_and_a_holder_does_not_sample_again() -> None:
    """With probes, HOP_IN is counted once: where the table picks the instance (the previous stop),
    so a holder that is a previous stop too skips the sample for what arrives from a peer."""
    ports = {**PORTS, 2: {**PORTS[2], "client2": 7}}
    doc = document(TWO, reverse=False)
    doc = replace(doc, paths=(replace(doc.paths[0], classifiers=(*doc.paths[0].classifiers, replace(
        doc.paths[0].classifiers[0], name="in2", switch="c2", in_port="client2"))),))
    doc = check_document(replace(doc, probes=Probes(ipfix_targets=("127.0.0.1:4739",))))
    states = compute_switch_states(doc, ports)
    hop = {d: sorted((f for f in states[d].flows if f.table == NEXT_HOP and f.cookie == make_cookie(Role.HOP, 41)
                      and ("nsh_si", 255) in f.match), key=lambda f: f.priority) for d in (1, 2, 3)}
    assert [isinstance(f.actions[0], Sample) for f in hop[1]] == [True]  # c1: a previous stop only
    assert [(f.priority, ("in_port", GPE) in f.match, isinstance(f.actions[0], Sample)) for f in hop[2]] == [
        (PRIO_HOP, False, True), (PRIO_HOP + 1, True, False)]  # c2: both
    assert [isinstance(f.actions[0], Sample) for f in hop[3]] == [False]  # c3: a holder only


def test_tables_follow_the_paths_and_incremental_renders_agree_with_whole_ones() -> None:
    doc = document(TWO)
    c2_only = replace(doc, service_functions=(replace(doc.function("lb"), instances=(
        doc.function("lb").instances[0],)),))
    cache = FlowCache()
    before = compute_owned_states(doc, PORTS, cache)
    assert all("balance:lb" in before[d] for d in (1, 2, 3))
    gone = with_paths(doc, [], remove=["up", "down"])
    owned = compute_owned_states(gone, PORTS)
    assert "balance:lb" not in owned[1] and "balance:lb" in owned[2] and "balance:lb" in owned[3]
    assert update_owned_states(gone, PORTS, before, {"up", "down"}, cache) == owned
    again = update_owned_states(doc, PORTS, owned, {"up", "down"}, cache)
    assert again == before
    one_host = compute_owned_states(check_document(c2_only), PORTS)  # one instance: no table anywhere
    assert not any(k.startswith("balance:") for o in one_host.values() for k in o)


def test_balanced_legs_need_a_direct_tunnel_and_a_clash_of_balancing_ids_is_named(monkeypatch) -> None:
    doc = document(TWO)
    graph = overlay_graph(doc.switches)
    legs = path_legs(graph, "up", ["c1"], [("c2", "c3")])
    assert [(leg.route, leg.balanced) for leg in legs if leg.si == 255] == [(("c1", "c2"), True), (("c1", "c3"), True)]
    graph.remove_edge("c1", "c3")
    with pytest.raises(DocumentError, match=r"hops\[0\]: .*its slot table on c1 tunnels straight to c3"):
        path_legs(graph, "up", ["c1"], [("c2", "c3")])
    lb = doc.function("lb")
    twin = replace(lb, name="twin", instances=tuple(replace(i, port="lb2" if i.switch == "c2" else "lb3")
                                                    for i in lb.instances))
    clash = replace(doc, service_functions=(lb, twin),
                    paths=(*doc.paths, replace(doc.paths[0], name="t", spi=43, hops=("twin",), classifiers=())))
    monkeypatch.setattr("sdn.render.balance_number", lambda name: 7)  # as if CRC-32 gave both names one id
    with pytest.raises(DocumentError, match=r"service_functions\[twin\].name: its balancing id 0x7 .* is also lb's"):
        compute_switch_states(check_document(clash), PORTS)


def test_random_upserts_and_removals_keep_the_tables_where_a_whole_render_puts_them() -> None:
    """Paths through lb (on c2 and c3), some through SF x (on c1) before it, classified on c1 or c2,
    come and go: after every step the incremental render equals the whole one."""
    import random

    rnd = random.Random(5)
    ports = {1: {**PORTS[1], "x": 7, "k": 8}, 2: {**PORTS[2], "k2": 9}, 3: PORTS[3]}
    base = document(TWO, reverse=False)
    x = ServiceFunction("x", (SfInstance("c1", "x"),))
    doc = check_document(replace(base, service_functions=(*base.service_functions, x), paths=()))
    cache = FlowCache()
    owned = compute_owned_states(doc, ports, cache)
    seen = []  # whether c1 (a previous stop only) holds lb's table, step by step
    for step in range(40):
        names = [p.name for p in doc.paths]
        remove = set(rnd.sample(names, min(len(names), rnd.randint(0, 2))))
        upsert = []
        for i in range(rnd.randint(0, 2)):
            name = rnd.choice([f"p{rnd.randrange(6)}", *names])
            if name in remove or any(p.name == name for p in upsert):
                continue
            switch, port = rnd.choice([("c1", "client"), ("c1", "k"), ("c2", "k2")])
            hops = rnd.choice([("lb",), ("x", "lb"), ("x",)])
            upsert.append(replace(base.paths[0], name=name, spi=100 + step * 4 + i, hops=hops, classifiers=(
                replace(base.paths[0].classifiers[0], name=f"{name}-c", switch=switch, in_port=port,
                        match=replace(base.paths[0].classifiers[0].match, dst_port=(1000 + step * 4 + i,) * 2)),)))
        doc = with_paths(doc, upsert, remove=remove)
        owned = update_owned_states(doc, ports, owned, remove | {p.name for p in upsert}, cache)
        assert owned == compute_owned_states(doc, ports), step
        seen.append("balance:lb" in owned[1])
    assert (True, False) in set(zip(seen, seen[1:], strict=False)) and (False, True) in set(zip(seen, seen[1:], strict=False))
