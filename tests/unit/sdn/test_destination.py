"""A classifier's destination (pure): the document's checks, the end leg straight to the
destination's switch with its egress flow out of the port (no NORMAL), C1 naming it, the same on
one switch, and the value through the YAML file, the gRPC messages and the state codec."""

from __future__ import annotations

from copy import deepcopy

import pytest

from dataplane.nshcontext import INGRESS_HOST, destination_c1
from sdn.api.convert import document_message, document_value
from sdn.cookie import Role, make_cookie
from sdn.docfile import document_dict, parse_document
from sdn.document import Destination, DocumentError, check_document
from sdn.openflow import OFPP_NORMAL, Decap, Output, RegMove, SetField
from sdn.overlay import crossing_paths, tunnel_to
from sdn.pipeline import CLASSIFY, EGRESS, NEXT_HOP, check_switch_state
from sdn.render import compute_switch_states
from sdn.statecodec import decode_document, encode_document
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp
from tests.unit.sdn.test_overlay import IPS, raw

PORTS = {1: {"client": 1, "server": 2, "gpe0": 10}, 2: {"a": 3, "a2": 5, "gpe0": 10},
         3: {"b": 4, "web": 6, "gpe0": 10}}


def with_destination(path: int, destination: dict, **classifier) -> dict:
    doc = deepcopy(raw())
    doc["service_function_paths"][path]["classifiers"][0].update(destination=destination, **classifier)
    return doc


def flows_of(state, role: Role, spi: int) -> list:
    return [f for f in state.flows if f.cookie == make_cookie(role, spi)]


def test_the_path_ends_on_the_destination_switch_out_of_its_port() -> None:
    """up: classified on c1, a on c2, b on c3, the destination on c3: the end SI stays on c3 (no
    leg back to c1), whose egress flow for C1 = (flag, host 3, destination 0) outputs to port web."""
    doc = parse_document(with_destination(0, {"switch": "c3", "port": "web"}))
    assert doc.paths[0].classifiers[0].destination == Destination("web", "c3")
    states = compute_switch_states(doc, PORTS)
    for state in states.values():
        check_switch_state(state)
    c1 = destination_c1(3, 0)
    assert c1 == 1 << 28 | 3 << 16
    (classify, *_) = [f for f in states[1].flows if f.table == CLASSIFY and f.cookie == make_cookie(Role.CLASSIFIER, 41)]
    assert SetField("nsh_c1", c1) in classify.actions and not any(isinstance(a, RegMove) for a in classify.actions
                                                                  if getattr(a, "dst", "") == "nsh_c1")
    assert not flows_of(states[1], Role.EGRESS, 41)  # nothing comes back to the classifier's host
    assert not [f for f in states[3].flows if f.table == NEXT_HOP and ("nsh_si", 253) in f.match
                and f.actions[-1:] == tunnel_to(IPS["c1"], 10)[-1:]]
    (egress,) = flows_of(states[3], Role.EGRESS, 41)
    assert ("nsh_c1", c1) in egress.match and egress.actions == (Decap(), Decap(), Output(6))
    end = [f for f in states[3].flows if f.table == NEXT_HOP and ("nsh_si", 253) in f.match]
    assert [f.goto_table for f in end] == [EGRESS]


def test_the_last_sff_sends_the_end_si_straight_to_the_destination_host() -> None:
    """short: classified on c1, a on c2, the destination on c3: the end SI goes c2 -> c3 (matched by
    C1's host bits = 3), never back to c1, and the path now crosses c3 too."""
    doc = parse_document(with_destination(1, {"switch": "c3", "port": "web"}))
    assert crossing_paths(doc) == {"up", "short"}
    states = compute_switch_states(doc, PORTS)
    to_c3 = [f for f in states[2].flows if f.table == NEXT_HOP and ("nsh_si", 254) in f.match
             and f.cookie == make_cookie(Role.HOP, 43)]
    assert [(dict(f.match)["nsh_c1"], f.actions) for f in to_c3] == [(INGRESS_HOST.match(3)[1:], tunnel_to(IPS["c3"], 10))]
    assert not flows_of(states[1], Role.EGRESS, 43) and [f.actions[-1] for f in flows_of(states[3], Role.EGRESS, 43)] \
        == [Output(6)]


def test_classifiers_with_and_without_a_destination_share_a_path() -> None:
    """The one without a destination still ends NORMAL (C1 = its port -> in_port), below the
    destination's exact C1 match; both on c1 here."""
    doc = with_destination(0, {"port": "server"})  # the destination's switch defaults to the classifier's
    doc["service_function_paths"][0]["classifiers"].append(
        {"name": "other", "switch": "c1", "in_port": "server", "match": {"tcp_dst": 8080}})
    checked = parse_document(doc)
    assert checked.paths[0].classifiers[0].destination == Destination("server", "c1")
    egress = sorted(flows_of(compute_switch_states(checked, PORTS)[1], Role.EGRESS, 41), key=lambda f: f.priority)
    assert [f.actions[-1] for f in egress] == [Output(OFPP_NORMAL), Output(2)]
    assert egress[1].priority > egress[0].priority and ("nsh_c1", destination_c1(1, 0)) in egress[1].match


def test_on_one_switch_the_end_outputs_to_the_destination_port() -> None:
    doc = {"switches": [{"name": "s", "dpid": 1}],
           "service_functions": [{"name": "a", "instances": [{"switch": "s", "port": "a"}]}],
           "service_function_paths": [{"name": "p", "spi": 5, "hops": ["a"], "classifiers": [
               {"name": "c", "in_port": "client", "match": {"tcp_dst": 80}, "destination": {"port": "server"}}]}]}
    ports = {"a": 3, "client": 1, "server": 2}
    state = compute_switch_states(parse_document(doc), {1: ports})[1]
    check_switch_state(state)
    (egress,) = flows_of(state, Role.EGRESS, 5)
    assert egress.actions == (Decap(), Decap(), Output(2)) and ("nsh_c1", 1 << 28) in egress.match
    finals = run_chain(FakeSwitch(state), 1, tcp(dport=80), {3}, [])
    assert [d.port for d in finals] == [2]
    missing = {"a": 3, "client": 1}
    with pytest.raises(DocumentError) as err:
        compute_switch_states(parse_document(doc), {1: missing})
    assert err.value.element == "service_function_paths[p].classifiers[c].destination.port"


@pytest.mark.parametrize(("destination", "element", "message"), [
    ({"switch": "c9", "port": "web"}, "destination.switch", "unknown switch 'c9'"),
    ({"switch": "c3", "port": ""}, "destination.port", "must be a port name"),
    ({"switch": "c3", "port": "b"}, "destination.port", "service function's or tunnel port"),
    ({"switch": "c3", "port": "gpe0"}, "destination.port", "service function's or tunnel port"),
    ({"switch": "c1", "port": "client"}, "destination.port", "the classifier's in_port"),
])
def test_a_bad_destination_is_refused_naming_it(destination: dict, element: str, message: str) -> None:
    with pytest.raises(DocumentError) as err:
        parse_document(with_destination(0, destination))
    assert err.value.element == f"service_function_paths[up].classifiers[in].{element}" and message in err.value.message


def test_a_destination_off_the_overlay_is_refused_when_the_path_crosses() -> None:
    doc = with_destination(1, {"switch": "lone", "port": "web"})
    doc["switches"].append({"name": "lone", "dpid": 9})
    with pytest.raises(DocumentError) as err:
        parse_document(doc)
    assert err.value.element == "service_function_paths[short].classifiers[in2].destination.switch"
    assert "not a switch on the overlay" in err.value.message


def test_identical_classifiers_after_a_router_need_the_same_destination() -> None:
    doc = deepcopy(raw())
    doc["service_functions"].append({"name": "r", "nsh_aware": False,
                                     "instances": [{"switch": "c1", "port": "r", "mac": "02:00:00:00:00:01"}]})
    doc["service_function_paths"] = [{"name": "via", "spi": 9, "hops": ["r"], "classifiers": [
        {"name": "x", "switch": "c1", "in_port": "client", "match": {"tcp_dst": 80}, "destination": {"port": "server"}},
        {"name": "y", "switch": "c1", "in_port": "server", "match": {"tcp_dst": 80}}]}]
    with pytest.raises(DocumentError) as err:
        parse_document(doc)
    assert err.value.element == "service_function_paths[via].classifiers[y].match" and "another destination" in str(err.value)


def test_the_destination_survives_the_file_the_api_and_the_state_codec() -> None:
    doc = parse_document(with_destination(1, {"switch": "c3", "port": "web"}))
    assert parse_document(document_dict(doc)) == doc
    assert check_document(document_value(document_message(doc))) == doc
    assert decode_document(encode_document(doc)) == doc
    plain = parse_document(raw())
    assert check_document(document_value(document_message(plain))) == plain
    assert all(c.destination is None for p in document_value(document_message(plain)).paths for c in p.classifiers)


def test_a_crossing_path_without_classifiers_still_renders() -> None:
    """(what vnffg-create makes before its first classifier): no destination, no end flows needed."""
    doc = deepcopy(raw())
    doc["service_function_paths"][0]["classifiers"] = []
    states = compute_switch_states(parse_document(doc), PORTS)
    assert not [f for f in states[1].flows if f.cookie == make_cookie(Role.CLASSIFIER, 41)]
