"""VL tunnel ports (``Switch.tunnel_ports``): what arrives over a virtual link from another host was
classified where it entered, so ingress hands it to NORMAL and no classifier (a port-less one
least of all) takes it again; the document refuses to steer or classify on one (pure)."""

from __future__ import annotations

import pytest

from sdn.api.convert import document_message, document_value
from sdn.docfile import document_dict, parse_document
from sdn.document import DocumentError, check_document
from sdn.openflow import OFPP_NORMAL, Output
from sdn.pipeline import CLASSIFY, INGRESS, check_switch_state
from sdn.render import compute_switch_states

IPS = {"c1": "172.31.250.1", "c2": "172.31.250.2"}
PORTS = {1: {"client": 1, "vxl-c2": 7, "gpe0": 10}, 2: {"a": 3, "vxl-c1": 8, "gpe0": 10}}


def raw(classifier: dict, tunnels: dict[str, list[str]] | None = None) -> dict:
    tunnels = {"c1": ["vxl-c2", "vxl-later"], "c2": ["vxl-c1"]} if tunnels is None else tunnels
    return {
        "switches": [{"name": n, "dpid": i + 1, "host_id": i + 1, "tunnel_ip": IPS[n], "gpe_port": "gpe0",
                      "tunnel_ports": tunnels.get(n, [])} for i, n in enumerate(IPS)],
        "service_functions": [{"name": "a", "instances": [{"switch": "c2", "port": "a"}]}],
        "service_function_paths": [{"name": "up", "spi": 41, "hops": ["a"], "classifiers": [
            {"name": "web", "switch": "c1", **classifier, "match": {"tcp_dst": 80}}]}],
    }


def test_tunnel_ports_go_to_normal_before_any_classifier() -> None:
    doc = parse_document(raw({}))  # bound to no port: takes every port of c1 that is not an SF's ...
    states = compute_switch_states(doc, PORTS)
    for dpid, port in ((1, 7), (2, 8)):
        state = check_switch_state(states[dpid])
        (flow,) = [f for f in state.flows if f.table == INGRESS and dict(f.match).get("in_port") == port]
        assert flow.actions == (Output(OFPP_NORMAL),) and flow.goto_table is None  # ... but never a tunnel's
        assert flow.priority > min(f.priority for f in state.flows if f.table == INGRESS)  # above the miss
    assert any(f.table == CLASSIFY and "in_port" not in dict(f.match) for f in states[1].flows)
    # a tunnel port not there yet gets no flow (its port event re-derives); without tunnels, none
    assert not any(dict(f.match).get("in_port") == 7 and f.table == INGRESS
                   for f in compute_switch_states(parse_document(raw({}, {})), PORTS)[1].flows)


def test_tunnel_ports_travel_through_every_codec() -> None:
    doc = parse_document(raw({}))
    assert doc.switch("c1").tunnel_ports == ("vxl-c2", "vxl-later")
    assert document_value(document_message(doc)) == doc
    assert parse_document(document_dict(doc)) == doc


@pytest.mark.parametrize(("change", "element"), [
    (lambda d: d["service_function_paths"][0]["classifiers"][0].update(in_port="vxl-c2"),
     "service_function_paths[up].classifiers[web].in_port"),
    (lambda d: d["service_functions"][0]["instances"][0].update(port="vxl-c1"), "service_functions[a].instances[0]"),
    (lambda d: d["switches"][0].update(tunnel_ports=["vxl-c2", "vxl-c2"]), "switches[c1].tunnel_ports[1]"),
    (lambda d: d["switches"][0].update(tunnel_ports=["gpe0"]), "switches[c1].tunnel_ports[0]"),
])
def test_a_tunnel_port_is_never_classified_or_steered(change, element: str) -> None:
    data = raw({})
    change(data)
    with pytest.raises(DocumentError) as err:
        check_document(parse_document(data))
    assert err.value.element == element
