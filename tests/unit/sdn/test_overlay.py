"""Paths across SFFs (pure): the document's overlay checks, the SFF sequence on the topology, and
the flows each switch gets -- only those of the paths that touch it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dataplane.nshcontext import INGRESS_HOST
from sdn.api.convert import document_message, document_value
from sdn.cookie import Role, make_cookie
from sdn.docfile import parse_document
from sdn.document import DocumentError, SfcDocument, check_document, with_paths
from sdn.ofcodec import canonical_flow, encode_flow_mod
from sdn.openflow import Decap, EncapEthernet, RegMove, SetField
from sdn.overlay import NSH_PACKET_TYPE, crossing_paths, tunnel_to
from sdn.pipeline import BALANCE, CLASSIFY, EGRESS, INGRESS, NEXT_HOP, check_switch_state
from sdn.steering import PRIO_HOP
from sdn.render import FlowCache, compute_owned_states, compute_switch_states, merge, update_owned_states
from sdn.topology import overlay_graph, path_legs, sff_sequence, touched

IPS = {"c1": "172.31.250.1", "c2": "172.31.250.2", "c3": "172.31.250.3"}
PORTS = {1: {"client": 1, "server": 2, "gpe0": 10}, 2: {"a": 3, "a2": 5, "gpe0": 10}, 3: {"b": 4, "gpe0": 10}}


def raw(**extra) -> dict:
    doc = {
        "switches": [{"name": n, "dpid": i + 1, "host_id": i + 1, "tunnel_ip": IPS[n], "gpe_port": "gpe0"}
                     for i, n in enumerate(IPS)],
        "service_functions": [{"name": "a", "instances": [{"switch": "c2", "port": "a"}]},
                              {"name": "b", "instances": [{"switch": "c3", "port": "b"}]}],
        "service_function_paths": [
            {"name": "up", "spi": 41, "hops": ["a", "b"], "classifiers": [
                {"name": "in", "switch": "c1", "in_port": "client", "match": {"tcp_dst": 80}}]},
            {"name": "short", "spi": 43, "hops": ["a"], "classifiers": [
                {"name": "in2", "switch": "c1", "in_port": "server", "match": {"tcp_dst": 81}}]},
        ],
    }
    doc.update(extra)
    return doc


def spis_on(state) -> set[int]:
    return {f.cookie & 0xFFFFFF for f in state.flows} - {0}


def test_the_sff_sequence_goes_through_every_hop_and_ends_where_it_began() -> None:
    doc = parse_document(raw())
    graph = overlay_graph(doc.switches)
    assert sorted(graph.edges) == [("c1", "c2"), ("c1", "c3"), ("c2", "c3")]
    legs = path_legs(graph, "up", ["c1"], [("c2",), ("c3",)])
    assert [(leg.si, leg.route, leg.ingress) for leg in legs] == [
        (255, ("c1", "c2"), ""), (254, ("c2", "c3"), ""), (253, ("c3", "c1"), "c1")]
    assert sff_sequence(legs) == ("c1", "c2", "c3", "c1")
    assert sff_sequence(path_legs(graph, "x", ["c2"], [("c2",), ("c2",)])) == ("c2",)
    assert touched(path_legs(graph, "short", ["c1"], [("c2",)])) == {"c1", "c2"}
    graph.remove_edge("c1", "c3")  # a missing tunnel: the route goes around it
    assert sff_sequence(path_legs(graph, "up", ["c1"], [("c2",), ("c3",)])) == ("c1", "c2", "c3", "c2", "c1")


def test_each_switch_gets_only_the_flows_of_the_paths_that_touch_it() -> None:
    doc = parse_document(raw())
    assert crossing_paths(doc) == {"up", "short"}
    states = compute_switch_states(doc, PORTS)
    for state in states.values():
        check_switch_state(state)
    assert spis_on(states[1]) == {41, 43} and spis_on(states[2]) == {41, 43} and spis_on(states[3]) == {41}
    by_key = {dpid: {(f.table, f.match): f for f in s.flows} for dpid, s in states.items()}
    gpe_in = (INGRESS, (("in_port", 10), ("packet_type", NSH_PACKET_TYPE)))
    assert all(by_key[d][gpe_in].actions == (EncapEthernet(),) and by_key[d][gpe_in].goto_table == NEXT_HOP
               for d in states)
    classify = [f for f in states[1].flows if f.table == CLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert classify and all(SetField("nsh_c1", 1 << 16) in f.actions and RegMove("in_port", "nsh_c1", 16) in f.actions
                            and ("in_port", 1) in f.match for f in classify)  # C1 = host 1 << 16 | ingress port
    nsh = (("eth_type", 0x894F), ("nsh_si", 255), ("nsh_spi", 41))
    assert by_key[1][(NEXT_HOP, nsh)].actions == tunnel_to(IPS["c2"], 10)
    assert by_key[1][(NEXT_HOP, nsh)].actions[0] == Decap()
    assert (NEXT_HOP, nsh) in by_key[2] and by_key[2][(NEXT_HOP, nsh)].actions[-1].port == 3  # to SF a
    hop2 = (("eth_type", 0x894F), ("nsh_si", 254), ("nsh_spi", 41))
    assert by_key[2][(NEXT_HOP, hop2)].actions == tunnel_to(IPS["c3"], 10)
    home = tuple(sorted((*hop2[:1], ("nsh_c1", INGRESS_HOST.match(1)[1:]), ("nsh_mdtype", 1), ("nsh_si", 253),
                         ("nsh_spi", 41))))
    assert by_key[3][(NEXT_HOP, home)].actions == tunnel_to(IPS["c1"], 10)
    assert by_key[1][(NEXT_HOP, home)].goto_table == EGRESS
    assert not [f for f in states[3].flows if f.table == CLASSIFY and f.cookie != make_cookie(Role.PIPELINE)]
    assert {f.table for f in states[1].flows if f.cookie == make_cookie(Role.EGRESS, 41)} == {EGRESS}
    assert not [f for f in states[3].flows if f.cookie == make_cookie(Role.EGRESS, 41)]


def test_a_multi_instance_hop_on_another_host_spreads_there_by_its_slot_table() -> None:
    doc = raw()
    doc["service_functions"][0]["instances"].append({"switch": "c2", "port": "a2"})
    states = compute_switch_states(parse_document(doc), PORTS)
    into_a = [f for f in states[2].flows if f.table == NEXT_HOP and ("nsh_si", 255) in f.match
              and f.cookie == make_cookie(Role.HOP, 41)]
    assert len(into_a) == 1 and into_a[0].goto_table == BALANCE  # one flow per hop: sdn.render's table of a on c2
    assert {f.actions[-1].port for f in states[2].flows if f.table == BALANCE and f.actions} == {3, 5}
    assert not [f for f in states[1].flows if f.table == BALANCE and f.actions]  # c1 only tunnels SI 255 to c2
    classify = [f for f in states[1].flows if f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert classify and all(RegMove("reg0", "nsh_c4", 16) in f.actions for f in classify)


def test_single_switch_paths_render_the_same_with_or_without_overlay_fields() -> None:
    plain = {"switches": [{"name": "s", "dpid": 1}],
             "service_functions": [{"name": "a", "instances": [{"switch": "s", "port": "a"}]}],
             "service_function_paths": [{"name": "p", "spi": 5, "hops": ["a"], "classifiers": [
                 {"name": "c", "in_port": "client", "match": {"tcp_dst": 80}}]}]}
    ports = {1: {"a": 3, "client": 1, "gpe0": 10}}
    before = compute_owned_states(parse_document(plain), ports)
    plain["switches"][0].update(host_id=1, tunnel_ip="172.31.250.1", gpe_port="gpe0")
    after = compute_owned_states(parse_document(plain), ports)[1]
    gpe_in = after.pop("overlay")  # a switch on the overlay takes NSH from its peers, nothing else changes
    assert after == before[1] and [f.match for f in gpe_in.flows] == [(("in_port", 10), ("packet_type", NSH_PACKET_TYPE))]


def test_an_upserted_crossing_path_updates_like_a_full_render() -> None:
    doc = parse_document(raw())
    cache = FlowCache()
    before = compute_owned_states(doc, PORTS, cache)
    changed = replace(doc.paths[1], hops=("a", "b"))
    after = with_paths(doc, [changed], remove=["up"])
    updated = update_owned_states(after, PORTS, before, {"up", "short"}, cache)
    assert updated == compute_owned_states(after, PORTS)
    assert spis_on(merge(updated[3])) == {43}
    again = with_paths(after, [replace(doc.paths[0], name="up2", spi=44)])  # an unchanged crossing path stays
    assert update_owned_states(again, PORTS, updated, {"up2"}, cache) == compute_owned_states(again, PORTS)


def test_the_document_refuses_what_the_overlay_cannot_carry() -> None:
    bare = raw()
    bare["switches"][2] = {"name": "c3", "dpid": 3}
    with pytest.raises(DocumentError) as err:
        parse_document(bare)
    assert err.value.element == "service_function_paths[up].hops[1]" and "not on the overlay" in err.value.message
    half = raw()
    del half["switches"][1]["gpe_port"]
    with pytest.raises(DocumentError, match=r"switches\[c2\].gpe_port"):
        parse_document(half)
    twice = raw()
    twice["switches"][1]["host_id"] = 1
    with pytest.raises(DocumentError, match=r"switches\[c2\].host_id: 1 is also switch c1's"):
        parse_document(twice)
    bad_ip = raw()
    bad_ip["switches"][0]["tunnel_ip"] = "300.1.1.1"
    with pytest.raises(DocumentError, match=r"switches\[c1\].tunnel_ip"):
        parse_document(bad_ip)
    unaware = raw()  # a bump in the wire away from its classifiers: their port is unknown after it
    unaware["service_functions"][1]["nsh_aware"] = False
    with pytest.raises(DocumentError, match=r"hops\[1\]: NSH-unaware SF b does not route \(no mac\).* its switch c3 "
                       r"\(classifier in is on c1\)"):
        parse_document(unaware)


def test_overlay_fields_survive_the_api_and_the_wire() -> None:
    doc = parse_document(raw())
    assert check_document(document_value(document_message(doc))) == doc
    assert isinstance(doc, SfcDocument) and doc.switch("c2").on_overlay
    flows = [f for s in compute_switch_states(doc, PORTS).values() for f in s.flows]
    for flow in flows:
        assert encode_flow_mod(flow)  # packet_type, tun_ipv4_dst, tunnel_id, masked nsh_c1 all encode
    gpe_in = next(f for f in flows if f.table == INGRESS and ("packet_type", NSH_PACKET_TYPE) in f.match)
    assert canonical_flow(gpe_in) == gpe_in


def test_with_probes_each_observation_point_samples_on_the_switch_it_is_on() -> None:
    from sdn.openflow import Sample
    from sdn.telemetry.observation import Role as Point
    from sdn.telemetry.observation import decode

    doc = parse_document(raw(probes={"ipfix_targets": ["127.0.0.1:4739"]}))
    states = compute_switch_states(doc, PORTS)
    points = set()
    for dpid, state in states.items():
        for flow in state.flows:
            for a in flow.actions:
                if isinstance(a, Sample):
                    p = decode(a.obs_domain_id, a.obs_point_id)
                    points.add((dpid, p.spi, p.si, p.role))
                    assert p.switch == dpid
                    assert flow.actions[0] == a
    assert {(d, si, role) for d, spi, si, role in points if spi == 41} == {
        (1, 255, Point.CLASSIFY), (2, 255, Point.HOP_IN), (3, 254, Point.HOP_IN), (1, 253, Point.END)}


def test_instances_of_one_sf_on_two_hosts_share_its_slot_table() -> None:
    """a on c2 and c3: c1 (the previous stop) and both holders get a's table once; each slot goes
    to its instance where it is local, else tunnelled to the other host; what arrives from a peer
    and is not local is dropped (never sent back)."""
    from sdn.render import sf_port_flows
    from sdn.steering import balance_number

    doc = raw()
    doc["service_functions"][0]["instances"].append({"switch": "c3", "port": "a3"})
    ports = {**PORTS, 3: {**PORTS[3], "a3": 6}}
    states = compute_switch_states(parse_document(doc), ports)
    for state in states.values():
        check_switch_state(state)
    number = balance_number("a")

    def table(dpid: int) -> dict[int, tuple]:  # slot (of 16) -> actions, on switch dpid
        flows = sorted((f for f in states[dpid].flows if f.table == BALANCE and dict(f.match).get("reg2") == number
                        and "nsh_c4" in dict(f.match)), key=lambda f: -f.priority)
        return {slot: next(f.actions for f in flows if slot & dict(f.match)["nsh_c4"][1] == dict(f.match)["nsh_c4"][0])
                for slot in range(16)}

    into = {d: [f for f in states[d].flows if f.table == NEXT_HOP and f.cookie == make_cookie(Role.HOP, 41)
                and ("nsh_si", 255) in f.match] for d in (1, 2, 3)}
    assert all(len(fs) == 1 and fs[0].goto_table == BALANCE and fs[0].actions == (SetField("reg2", number),)
               for fs in into.values())  # one flow per path and hop, wherever it runs
    assert table(1) == {s: tunnel_to(IPS["c2"] if s < 8 else IPS["c3"], 10) for s in range(16)}  # fresh: halves
    assert {s: a[-1].port for s, a in table(2).items() if s < 8} == dict.fromkeys(range(8), 3)
    assert {s: a for s, a in table(2).items() if s >= 8} == dict.fromkeys(range(8, 16), tunnel_to(IPS["c3"], 10))
    assert {s: a[-1].port for s, a in table(3).items() if s >= 8} == dict.fromkeys(range(8, 16), 6)
    from_peer = {d: [f for f in states[d].flows if f.table == BALANCE and ("in_port", 10) in f.match] for d in (1, 2, 3)}
    assert all(len(fs) == 1 and fs[0].actions == () and fs[0].priority < PRIO_HOP for fs in from_peer.values())
    hop2 = {d: [f.actions for f in states[d].flows if f.table == NEXT_HOP and f.cookie == make_cookie(Role.HOP, 41)
                and ("nsh_si", 254) in f.match] for d in (2, 3)}
    assert hop2[2] == [tunnel_to(IPS["c3"], 10)] and hop2[3][0][-1].port == 4  # b, from either
    admitted = {d: {f for f in s.flows if f.table == INGRESS and f.cookie == make_cookie(Role.PIPELINE)
                    and f.match and ("in_port", 10) not in f.match} for d, s in states.items()}
    assert admitted[2] == sf_port_flows(3) and admitted[3] == sf_port_flows(4) | sf_port_flows(6)
    off = raw()
    off["switches"][2] = {"name": "c3", "dpid": 3}
    off["service_functions"][0]["instances"].append({"switch": "c3", "port": "a3"})
    with pytest.raises(DocumentError, match=r"instances: .*each be on the overlay .*: c3 is not"):
        parse_document(off)


def test_the_overlay_shares_sdn_renders_constants() -> None:
    """One definition (sdn.steering) serves both: they cannot drift apart."""
    from sdn import overlay, render, steering

    assert (overlay.PRIO_HOP, overlay.PRIO_ADMIT, overlay.ETH_NSH) == \
        (render.PRIO_HOP, render.PRIO_ADMIT, render.ETH_NSH) == (steering.PRIO_HOP, steering.PRIO_ADMIT, steering.ETH_NSH)
    assert (render.HASH_LINKS, render.HASH_BITS, render.PRIO_SF_DROP) == (1 << 16, 16, steering.PRIO_SF_DROP)
    assert overlay.sf_admission_flows((7,)) == render.sf_port_flows(7)


def test_a_missing_port_on_one_host_breaks_only_what_it_holds() -> None:
    """sdn.usable per switch of a path across SFFs: the classifier's port lives on c1, so c2 and c3
    never call it missing; an SF port gone on c3 takes down the path that needs it, not the other."""
    from sdn.usable import usable_on

    doc = check_document(parse_document(raw()))
    names = {1: "c1", 2: "c2", 3: "c3"}
    for dpid in (1, 2, 3):
        assert usable_on(doc, names[dpid], PORTS[dpid]).document is doc
    broken = usable_on(doc, "c3", {"gpe0": 10})
    assert set(broken.down) == {"up"} and "instances[0].port: switch c3 has no port 'b'" in broken.down["up"]
    assert [p.name for p in broken.document.paths] == ["short"] and not broken.degraded
