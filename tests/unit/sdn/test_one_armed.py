"""One-armed NSH-unaware SFs that route (Tacker's cirros VNFs with IP forwarding on), on the fake
switch: frames go to them addressed to their MAC, what they route back out of the same port is
re-classified, their own traffic reaches NORMAL, and the path's end hands frames to NORMAL from
the router's port (where its source MAC lives)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sdn.api.convert import document_message, document_value
from sdn.docfile import document_dict, load_document, parse_document
from sdn.document import DocumentError
from sdn.openflow import OFPP_NORMAL, Decap, DecNshTtl, Output, Resubmit, SetField, SwitchState
from sdn.pipeline import NEXT_HOP, PROXY, RECLASSIFY
from sdn.render import PRIO_UNAWARE_MISS, compute_switch_states
from tests.unit.sdn.fake_switch import FakeSwitch, Packet, tcp

MAC = {"r1": "02:00:00:00:00:01", "r2": "02:00:00:00:00:02", "r3": "02:00:00:00:00:03"}
CLIENT_MAC, SERVER_MAC = "02:00:00:00:0c:01", "02:00:00:00:0c:02"
PORTS = {1: {"client": 1, "server": 2, "r1p": 3, "r2p": 4, "r3p": 5}}
ROUTERS = {3: "r1", 4: "r2", 5: "r3"}
DOC = f"""
switches: [{{name: s1, dpid: 1}}]
service_functions:
  - {{name: r1, nsh_aware: false, instances: [{{switch: s1, port: r1p, mac: "{MAC['r1']}"}}]}}
  - {{name: r2, nsh_aware: false, instances: [{{switch: s1, port: r2p, mac: "{MAC['r2']}"}}]}}
service_function_paths:
  - name: web
    spi: 7
    hops: [r2, r1]
    classifiers: [{{name: http, in_port: client, match: {{tcp_dst: 80}}}}]
  - name: web-back
    spi: 8
    hops: [r1, r2]
    classifiers: [{{name: reply, in_port: server, match: {{tcp_src: 80}}}}]
"""


def state(doc: str = DOC) -> SwitchState:
    return compute_switch_states(load_document(doc), PORTS)[1]


def with_macs(packet: Packet, src: str, dst: str) -> Packet:
    return replace(packet, fields=tuple(sorted({**dict(packet.fields), "eth_src": src, "eth_dst": dst}.items())))


def walk(st: SwitchState, in_port: int, packet: Packet, next_mac: str):
    """Inject; each router accepts only frames to its MAC and routes them back out of its port
    to ``next_mac`` (its ARP answer for the destination). Returns (router, NSH there) and the
    frames handed to NORMAL."""
    switch, seen, finals = FakeSwitch(st), [], []
    pending = [(in_port, packet)]
    while pending:
        port, pkt = pending.pop(0)
        for d in switch.receive(port, pkt):
            if d.port in ROUTERS:
                name = ROUTERS[d.port]
                assert dict(d.packet.fields)["eth_dst"] == MAC[name], "a router drops frames not sent to it"
                seen.append((name, d.packet.nsh))
                pending.append((d.port, with_macs(d.packet, MAC[name], next_mac)))
            else:
                finals.append(d)
        assert len(seen) < 10, "loop"
    return seen, finals


def last_c1(st: SwitchState) -> dict[int, set[int]]:
    """Per SPI, the ingress port C1 carries to the path's end (the egress restores it from C1):
    what re-classification after the last hop (SI 253 on these two-hop paths) writes there."""
    out: dict[int, set[int]] = {}
    for f in st.flows:
        if f.table == RECLASSIFY and f.match:
            sets = {a.field: a.value for a in f.actions if isinstance(a, SetField)}
            if sets.get("nsh_si") == 253:
                out.setdefault(int(sets["nsh_spi"]), set()).add(int(sets["nsh_c1"]))  # type: ignore[arg-type]
    return out


def test_forward_visits_r2_then_r1_as_plain_frames_addressed_to_each():
    seen, finals = walk(state(), 1, with_macs(tcp(dport=80), CLIENT_MAC, SERVER_MAC), SERVER_MAC)
    assert seen == [("r2", None), ("r1", None)]
    (out,) = finals
    assert out.port == OFPP_NORMAL and out.packet.nsh is None
    assert out.in_port == PORTS[1]["r1p"], "NORMAL learns the router's MAC on the router's port"
    assert dict(out.packet.fields)["eth_src"] == MAC["r1"] and dict(out.packet.fields)["eth_dst"] == SERVER_MAC


def test_replies_visit_r1_then_r2_told_apart_by_the_reverse_classifier():
    reply = with_macs(tcp(src="10.0.0.2", dst="10.0.0.1", sport=80, dport=40000), SERVER_MAC, CLIENT_MAC)
    seen, finals = walk(state(), 2, reply, CLIENT_MAC)
    assert seen == [("r1", None), ("r2", None)]
    assert [(d.port, d.in_port) for d in finals] == [(OFPP_NORMAL, PORTS[1]["r2p"])]


def test_unclassified_traffic_bypasses_the_routers():
    seen, finals = walk(state(), 1, with_macs(tcp(dport=2222), CLIENT_MAC, SERVER_MAC), SERVER_MAC)
    assert seen == [] and [(d.port, d.in_port) for d in finals] == [(OFPP_NORMAL, 1)]


def test_a_one_armed_routers_own_traffic_goes_to_normal():
    switch = FakeSwitch(state())
    arp = Packet((("eth_type", 0x0806), ("eth_src", MAC["r1"]), ("eth_dst", "ff:ff:ff:ff:ff:ff")))
    assert [(d.port, d.in_port) for d in switch.receive(3, arp)] == [(OFPP_NORMAL, 3)]
    own = with_macs(tcp(src="10.0.0.3", dport=22), MAC["r1"], SERVER_MAC)
    assert [(d.port, d.in_port) for d in switch.receive(3, own)] == [(OFPP_NORMAL, 3)]
    normal = {dict(f.match)["in_port"] for f in state().flows
              if f.table == RECLASSIFY and f.priority == PRIO_UNAWARE_MISS and f.actions == (Output(OFPP_NORMAL),)}
    assert normal == {3, 4}


def test_hop_strips_nsh_and_addresses_the_router_and_the_end_restores_its_port():
    st = state()
    (to_r2,) = [f for f in st.flows if f.table == NEXT_HOP and dict(f.match).get("nsh_spi") == 7
                and dict(f.match)["nsh_si"] == 255]
    assert to_r2.actions == (DecNshTtl(), SetField("reg1", 4), Decap(), Decap(), Resubmit(PROXY))
    proxy = {dict(f.match)["reg1"]: f.actions for f in st.flows if f.table == PROXY and f.match}
    assert proxy == {3: (SetField("eth_dst", MAC["r1"]), Output(3)), 4: (SetField("eth_dst", MAC["r2"]), Output(4))}
    assert last_c1(st) == {7: {3}, 8: {4}}, "web ends from r1's port, web-back from r2's"


def test_without_a_mac_an_unaware_sf_gets_frames_as_they_are():
    st = state(DOC.replace(f', mac: "{MAC["r2"]}"', ""))
    (to_r2,) = [f for f in st.flows if Output(4) in f.actions and dict(f.match)["nsh_spi"] == 7]
    assert to_r2.actions == (DecNshTtl(), Decap(), Decap(), Output(4))
    assert {dict(f.match)["reg1"] for f in st.flows if f.table == PROXY and f.match} == {3}
    assert last_c1(st) == {7: {3}, 8: {2}}, "web ends from r1's port, web-back (last hop r2, no MAC) from the server's"


def test_each_instance_of_a_balanced_router_hop_is_addressed_by_its_own_mac():
    doc = DOC.replace(f'[{{switch: s1, port: r1p, mac: "{MAC["r1"]}"}}]',
                      f'[{{switch: s1, port: r1p, mac: "{MAC["r1"]}"}}, {{switch: s1, port: r3p, mac: "{MAC["r3"]}"}}]')
    st = state(doc)
    proxy = {dict(f.match)["reg1"]: f.actions for f in st.flows if f.table == PROXY and f.match}
    for port, name in ((3, "r1"), (5, "r3")):
        assert proxy[port] == (SetField("eth_dst", MAC[name]), Output(port))
    reached = set()
    for sport in range(40000, 40016):
        seen, finals = walk(st, 1, with_macs(tcp(sport=sport), CLIENT_MAC, SERVER_MAC), SERVER_MAC)
        assert seen[0][0] == "r2" and finals[0].in_port == {"r1": 3, "r3": 5}[seen[1][0]]
        reached.add(seen[1][0])
    assert reached == {"r1", "r3"}


def test_the_mac_survives_the_file_form_and_protobuf():
    doc = load_document(DOC.replace(MAC["r1"], MAC["r1"].upper()))
    assert doc.function("r1").instances[0].mac == MAC["r1"]
    assert parse_document(document_dict(doc)) == doc
    assert document_dict(doc)["service_functions"][0]["instances"] == [{"switch": "s1", "port": "r1p", "mac": MAC["r1"]}]
    assert document_value(document_message(doc)) == doc


@pytest.mark.parametrize("old, new, element, text", [
    (f'mac: "{MAC["r1"]}"', 'mac: "02:00:00:00:01"', "service_functions[r1].instances[0].mac", "expected a MAC"),
    (f'mac: "{MAC["r1"]}"', "mac: 12:34:56:00:00:01", "service_functions[r1].instances[0].mac", "quoted"),
    ("{name: r1, nsh_aware: false,", "{name: r1,", "service_functions[r1].instances[0].mac", "only NSH-unaware"),
    ("service_function_paths:", f'  - {{name: r1b, nsh_aware: false, instances: [{{switch: s1, port: r1p, mac: "{MAC["r3"]}"}}]}}'
     "\nservice_function_paths:", "service_functions[r1b].instances[0].port", "the same mac"),
])
def test_bad_macs_name_the_element(old, new, element, text):
    with pytest.raises(DocumentError) as err:
        load_document(DOC.replace(old, new))
    assert err.value.element == element and text in str(err.value), str(err.value)


def test_a_mac_of_the_wrong_length_in_protobuf_names_the_element():
    msg = document_message(load_document(DOC))
    msg.service_functions[0].instances[0].mac = b"\x02\x00"
    with pytest.raises(DocumentError) as err:
        document_value(msg)
    assert err.value.element == "service_functions[r1].instances[0].mac"
