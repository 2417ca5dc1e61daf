"""NSH-unaware hops on paths across SFFs (pure): the unaware hop's switch proxies it and
re-classifies what it sends back there, with C1 saying where the path ends; the document refuses
what the proxy cannot do across hosts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dataplane.nshcontext import INGRESS_HOST, destination_c1
from sdn.cookie import Role, make_cookie
from sdn.docfile import parse_document
from sdn.document import DocumentError, Probes, check_document, with_paths
from sdn.openflow import OFPP_NORMAL, Decap, DecNshTtl, Output, RegMove, Resubmit, Sample, SetField
from sdn.overlay import crossing_paths, tunnel_to
from sdn.pipeline import BALANCE, EGRESS, INGRESS, NEXT_HOP, PROXY, RECLASSIFY, check_switch_state
from sdn.render import FlowCache, compute_owned_states, compute_switch_states, update_owned_states
from sdn.telemetry.observation import Role as Point
from sdn.telemetry.observation import decode

IPS = {"c1": "172.31.250.1", "c2": "172.31.250.2", "c3": "172.31.250.3"}
PORTS = {1: {"client": 1, "server": 2, "a": 3, "gpe0": 10}, 2: {"r": 4, "r2": 6, "gpe0": 10, "in2": 7},
         3: {"b": 5, "gpe0": 10}}
R_MAC = "02:00:00:00:00:04"


def raw(router: dict | None = None, classifier: dict | None = None) -> dict:
    """a (aware) on c1, r (unaware; a router unless told) on c2, b (aware) on c3; classified on c1."""
    return {
        "switches": [{"name": n, "dpid": i + 1, "host_id": i + 1, "tunnel_ip": IPS[n], "gpe_port": "gpe0"}
                     for i, n in enumerate(IPS)],
        "service_functions": [
            {"name": "a", "instances": [{"switch": "c1", "port": "a"}]},
            router or {"name": "r", "nsh_aware": False, "instances": [{"switch": "c2", "port": "r", "mac": R_MAC}]},
            {"name": "b", "instances": [{"switch": "c3", "port": "b"}]}],
        "service_function_paths": [{"name": "up", "spi": 41, "hops": ["a", "r", "b"], "classifiers": [
            classifier or {"name": "in", "switch": "c1", "in_port": "client", "match": {"tcp_dst": 80}}]}],
    }


def nsh(si: int, **extra) -> tuple:
    return tuple(sorted({"eth_type": 0x894F, "nsh_spi": 41, "nsh_si": si, **extra}.items()))


def by_key(state) -> dict:
    return {(f.table, f.match): f for f in state.flows}


def test_a_router_on_another_host_is_proxied_there_and_the_path_ends_on_its_host() -> None:
    doc = parse_document(raw())
    assert crossing_paths(doc) == {"up"}
    states = compute_switch_states(doc, PORTS)
    for state in states.values():
        check_switch_state(state)
    c1, c2, c3 = (by_key(states[d]) for d in (1, 2, 3))
    assert c1[(NEXT_HOP, nsh(254))].actions == tunnel_to(IPS["c2"], 10)  # after a: to r's host
    # into r on c2: NSH off, addressed to its MAC through the proxy table
    assert c2[(NEXT_HOP, nsh(254))].actions == (DecNshTtl(), SetField("reg1", 4), Decap(), Decap(), Resubmit(PROXY))
    assert c2[(PROXY, (("reg1", 4),))].actions == (SetField("eth_dst", R_MAC), Output(4))
    assert c2[(INGRESS, (("in_port", 4),))].goto_table == RECLASSIFY
    # back from r: the classifier's match, re-wrapped with SI 253, C1 = (c2's host, r's port)
    back = [f for f in states[2].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert len(back) == 2 and all(dict(f.match)["in_port"] == 4 and ("tcp_dst", 80) in f.match for f in back)  # IPv4, 6
    assert all(SetField("nsh_si", 253) in f.actions and f.goto_table == NEXT_HOP for f in back)
    assert all(SetField("nsh_c1", INGRESS_HOST.place(2) | 4) in f.actions for f in back)
    assert c2[(NEXT_HOP, nsh(253))].actions == tunnel_to(IPS["c3"], 10)
    # the end SI goes back to c2 (C1's host), where the egress hands it to NORMAL from r's port
    home = nsh(252, nsh_c1=INGRESS_HOST.match(2)[1:], nsh_mdtype=1)
    assert c3[(NEXT_HOP, home)].actions == tunnel_to(IPS["c2"], 10)
    assert c2[(NEXT_HOP, home)].goto_table == EGRESS
    assert c2[(EGRESS, nsh(252, nsh_mdtype=1))].actions == (RegMove("nsh_c1", "in_port_nxm", 16), Decap(), Decap(),
                                                           Output(OFPP_NORMAL))
    assert not [f for f in states[1].flows if f.cookie == make_cookie(Role.EGRESS, 41)], "not back to the classifier"
    assert not [f for f in states[3].flows if f.table == RECLASSIFY and f.cookie != make_cookie(Role.PIPELINE)]


def test_a_port_less_classifier_on_every_host_is_re_classified_on_the_routers_host() -> None:
    portless = [{"name": f"in@{n}", "switch": n, "match": {"tcp_dst": 80}} for n in IPS]
    doc = raw()
    doc["service_function_paths"][0]["classifiers"] = portless
    states = compute_switch_states(parse_document(doc), PORTS)
    back = [f for f in states[2].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert len(back) == 2 and all(SetField("nsh_c1", INGRESS_HOST.place(2) | 4) in f.actions for f in back)  # one each
    ends = [f for s in states.values() for f in s.flows if f.cookie == make_cookie(Role.EGRESS, 41)]
    assert len(ends) == 1 and ends[0] in states[2].flows


def test_a_bump_in_the_wire_across_hosts_keeps_its_classifiers_port() -> None:
    bump = {"name": "r", "nsh_aware": False, "instances": [{"switch": "c2", "port": "r", "egress_port": "r2"}]}
    doc = raw(bump, {"name": "in", "switch": "c2", "in_port": "in2", "match": {"tcp_dst": 80}})
    states = compute_switch_states(parse_document(doc), PORTS)
    c2 = by_key(states[2])
    assert c2[(NEXT_HOP, nsh(254))].actions == (DecNshTtl(), Decap(), Decap(), Output(4))
    back = [f for f in states[2].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert back and {dict(f.match)["in_port"] for f in back} == {6}
    assert all(SetField("nsh_c1", INGRESS_HOST.place(2) | 7) in f.actions for f in back)  # the classifier's port on c2
    assert (EGRESS, nsh(252, nsh_mdtype=1)) in c2


def test_the_document_refuses_an_unaware_hop_the_proxy_cannot_carry_across_hosts() -> None:
    bump = {"name": "r", "nsh_aware": False, "instances": [{"switch": "c2", "port": "r", "egress_port": "r2"}]}
    with pytest.raises(DocumentError) as err:
        parse_document(raw(bump))
    assert err.value.element == "service_function_paths[up].hops[1]"
    assert "does not route (no mac)" in err.value.message and "classifier in is on c1" in err.value.message
    spread = {"name": "r", "nsh_aware": False, "instances": [{"switch": "c2", "port": "r", "egress_port": "r2"},
                                                             {"switch": "c3", "port": "r3", "egress_port": "r4"}]}
    with pytest.raises(DocumentError) as err:  # a bump on two hosts: only a destination says where it ends
        parse_document(raw(spread))
    assert err.value.element == "service_function_paths[up].hops[1]"
    assert "does not route (no mac) and has instances on several switches (c2, c3)" in err.value.message
    assert "give classifier in a destination (network_dst_port_id) or keep" in err.value.message
    named = {"name": "in", "switch": "c1", "in_port": "client", "match": {"tcp_dst": 80},
             "destination": {"port": "server"}}
    doc = parse_document(raw(spread, named))  # with one it ends there, whichever instance served it
    ports = {**PORTS, 3: {**PORTS[3], "r3": 8, "r4": 9}}
    states = compute_switch_states(doc, ports)
    c1_word = destination_c1(1, 0)
    back = {d: {a for f in states[d].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)
                for a in f.actions if isinstance(a, SetField) and a.field == "nsh_c1"} for d in (2, 3)}
    assert back == {2: {SetField("nsh_c1", c1_word)}, 3: {SetField("nsh_c1", c1_word)}}
    ends = {d for d, s in states.items() for f in s.flows if f.cookie == make_cookie(Role.EGRESS, 41)}
    assert ends == {1}


def test_a_router_on_two_hosts_is_proxied_by_each_and_the_path_ends_where_it_was_served() -> None:
    """r has an instance on c2 and one on c3: r's slot table on c1 (after a) tunnels each slot to
    its instance's SFF, which proxies it and re-classifies what it routes back with C1 = (its own
    host, its port); the end SI (after b on c3) goes to whichever host C1 names, where NORMAL
    delivers from the router's port."""
    from sdn.steering import balance_number

    r3_mac = "02:00:00:00:00:05"
    spread = {"name": "r", "nsh_aware": False, "instances": [{"switch": "c2", "port": "r", "mac": R_MAC},
                                                             {"switch": "c3", "port": "r3", "mac": r3_mac}]}
    ports = {**PORTS, 3: {**PORTS[3], "r3": 8}}
    doc = parse_document(raw(spread))
    states = compute_switch_states(doc, ports)
    for state in states.values():
        check_switch_state(state)
    c1, c2, c3 = (by_key(states[d]) for d in (1, 2, 3))
    number = balance_number("r")
    assert c1[(NEXT_HOP, nsh(254))].actions == (SetField("reg2", number),)  # after a: r's table picks the host
    assert c1[(NEXT_HOP, nsh(254))].goto_table == BALANCE

    def table(dpid: int) -> set[tuple]:
        return {f.actions for f in states[dpid].flows if f.table == BALANCE and dict(f.match).get("reg2") == number
                and f.actions}
    assert table(1) == {tunnel_to(IPS["c2"], 10), tunnel_to(IPS["c3"], 10)}
    proxy = {2: (DecNshTtl(), SetField("reg1", 4), Decap(), Decap(), Resubmit(PROXY)),
             3: (DecNshTtl(), SetField("reg1", 8), Decap(), Decap(), Resubmit(PROXY))}
    assert table(2) == {proxy[2], tunnel_to(IPS["c3"], 10)} and table(3) == {proxy[3], tunnel_to(IPS["c2"], 10)}
    assert c2[(PROXY, (("reg1", 4),))].actions == (SetField("eth_dst", R_MAC), Output(4))
    assert c3[(PROXY, (("reg1", 8),))].actions == (SetField("eth_dst", r3_mac), Output(8))
    assert c3[(INGRESS, (("in_port", 8),))].goto_table == RECLASSIFY
    for dpid, port in ((2, 4), (3, 8)):
        back = [f for f in states[dpid].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
        assert back and all(SetField("nsh_c1", INGRESS_HOST.place(dpid) | port) in f.actions
                            and SetField("nsh_si", 253) in f.actions and ("in_port", port) in f.match for f in back)
    assert c2[(NEXT_HOP, nsh(253))].actions == tunnel_to(IPS["c3"], 10)  # to b
    to_c2 = nsh(252, nsh_c1=INGRESS_HOST.match(2)[1:], nsh_mdtype=1)
    at_c3 = nsh(252, nsh_c1=INGRESS_HOST.match(3)[1:], nsh_mdtype=1)
    assert c3[(NEXT_HOP, to_c2)].actions == tunnel_to(IPS["c2"], 10) and c3[(NEXT_HOP, at_c3)].goto_table == EGRESS
    assert c2[(NEXT_HOP, to_c2)].goto_table == EGRESS
    ends = {d for d, s in states.items() for f in s.flows if f.cookie == make_cookie(Role.EGRESS, 41)}
    assert ends == {2, 3}, "the end is on each router's host, never back on the classifier's"
    cache = FlowCache()
    before = compute_owned_states(doc, ports, cache)
    one = with_paths(doc, [], remove=["up"])  # r's tables leave c1 with the last path handing r's SI on there
    assert "balance:r" in before[1] and "balance:r" not in compute_owned_states(one, ports)[1]
    assert update_owned_states(one, ports, before, {"up"}, cache) == compute_owned_states(one, ports)
    back_again = update_owned_states(doc, ports, update_owned_states(one, ports, before, {"up"}, cache), {"up"}, cache)
    assert back_again == before


def test_probes_sample_what_comes_back_from_the_unaware_hop_on_its_switch() -> None:
    doc = replace(parse_document(raw()), probes=Probes(ipfix_targets=("127.0.0.1:4739",), collector_set_base=10,
                                                       probability=65535))
    states = compute_switch_states(check_document(doc), PORTS)
    back = [f for f in states[2].flows if f.table == RECLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    first = {decode(f.actions[0].obs_domain_id, f.actions[0].obs_point_id) for f in back
             if isinstance(f.actions[0], Sample)}
    assert {(p.role, p.spi, p.si) for p in first if p} == {(Point.HOP_OUT, 41, 254)}
    into = next(f for f in states[2].flows if f.table == NEXT_HOP and f.match == nsh(254))
    assert isinstance(into.actions[0], Sample)


def test_an_upserted_unaware_crossing_path_updates_like_a_full_render() -> None:
    doc = parse_document(raw())
    cache = FlowCache()
    before = compute_owned_states(doc, PORTS, cache)
    changed = with_paths(doc, [replace(doc.paths[0], hops=("r", "b"))])
    assert update_owned_states(changed, PORTS, before, {"up"}, cache) == compute_owned_states(changed, PORTS)


def test_a_symmetric_pair_passes_the_router_both_ways_and_both_end_on_its_host() -> None:
    doc = raw()
    doc["service_function_paths"].append({"name": "up/reverse", "spi": 42, "hops": ["b", "r", "a"], "classifiers": [
        {"name": "back", "switch": "c1", "in_port": "server", "match": {"tcp_src": 80}}]})
    states = compute_switch_states(parse_document(doc), PORTS)
    ends = {d: {spi for spi in (41, 42) for f in s.flows if f.cookie == make_cookie(Role.EGRESS, spi)}
            for d, s in states.items()}
    assert ends == {1: set(), 2: {41, 42}, 3: set()}
    back = {(f.cookie & 0xFFFFFF, dict(f.match).get("tcp_dst", dict(f.match).get("tcp_src"))) for f in states[2].flows
            if f.table == RECLASSIFY and f.cookie >> 24 and f.cookie != make_cookie(Role.PIPELINE)}
    assert back == {(41, 80), (42, 80)}
