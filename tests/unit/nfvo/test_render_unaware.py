"""NSH-unaware hops (Tacker's ``sfc_encap: false``) render into proxied controller SFs instead of
being refused; the rendered document walks on the fake switch."""

from __future__ import annotations

import pytest

from descriptors.vnffgd import ForwardingPath, PathHop
from nfvo.errors import InvalidArgument
from nfvo.model import HopSpec, PathSpec, VnffgSpec
from nfvo.vnffg.render import build_document, render_vnffg
from nfvo.vnffg.spec import classifier_spec, parse_match, spec_from_paths
from sdn.document import ServiceFunction, SfInstance, check_document
from sdn.render import compute_switch_states
from tests.unit.nfvo.test_render import INV, mac
from tests.unit.sdn.fake_switch import FakeSwitch, run_chain, tcp


def unaware_spec(cp: str = "", egress_cp: str = "", *, symmetrical: bool = False) -> VnffgSpec:
    hops = (HopSpec(("ids",)), HopSpec(("fw",), cp, "", False, egress_cp))
    ends = "network_src_port_id=client,network_dst_port_id=server,"  # after an unaware hop, one port each way
    return VnffgSpec((PathSpec("p", hops, (classifier_spec("web", parse_match(ends + "tcp_dest=80")),), symmetrical),))


def test_unaware_hop_renders_its_ingress_and_egress_cp():
    out = render_vnffg("g", unaware_spec("CP2", "CP3"), {"p": 5}, INV)
    assert out.paths[0].hops == ("ids:CP2", "fw:CP2>CP3")
    doc = build_document(INV.switches, [out])
    fw = doc.function("fw:CP2>CP3")
    assert fw == ServiceFunction("fw:CP2>CP3", (SfInstance("br", "fw0d", "fw0o"), SfInstance("br", "fw1d", "fw1o")),
                                 nsh_aware=False)
    assert not check_document(doc).function("fw:CP2>CP3").nsh_aware


def test_symmetric_path_passes_the_unaware_vnf_backwards_and_walks_both_ways():
    out = render_vnffg("g", unaware_spec("CP2", "CP3", symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    fwd, rev = out.paths
    assert rev.hops == ("fw:CP3>CP2", "ids:CP2")
    twin = next(f for f in out.functions if f.name == "fw:CP3>CP2")
    assert twin.instances == (SfInstance("br", "fw0o", "fw0d"), SfInstance("br", "fw1o", "fw1d"))
    doc = check_document(build_document(INV.switches, [out]))  # twins may share ports
    names = ["client0d", "server0d", "ids0d", "fw0d", "fw0o", "fw1d", "fw1o"]
    ports = {n: i + 1 for i, n in enumerate(names)}
    switch = FakeSwitch(compute_switch_states(doc, {7: ports})[7])
    bump = {ports["fw0d"]: ports["fw0o"], ports["fw0o"]: ports["fw0d"],
            ports["fw1d"]: ports["fw1o"], ports["fw1o"]: ports["fw1d"]}
    seen: list = []
    finals = run_chain(switch, ports["client0d"], tcp(dport=80, eth_dst=mac("server0d")), {ports["ids0d"]}, seen,
                       plain=bump)
    assert [(p, n and (n.spi, n.si)) for p, n in seen][0] == (ports["ids0d"], (5, 255))
    assert seen[1][0] in (ports["fw0d"], ports["fw1d"]) and seen[1][1] is None
    assert [d.port for d in finals] == [ports["server0d"]]  # the path ends at its destination, out of its port
    seen_back: list = []
    finals = run_chain(switch, ports["server0d"], tcp(src="10.0.0.2", dst="10.0.0.1", sport=80, dport=40000,
                                                      eth_dst=mac("client0d")), {ports["ids0d"]}, seen_back, plain=bump)
    assert seen_back[0][0] == bump[seen[1][0]] and seen_back[0][1] is None, "same fw instance, backwards"
    assert (seen_back[1][0], seen_back[1][1].spi, seen_back[1][1].si) == (ports["ids0d"], 6, 254)
    assert [d.port for d in finals] == [ports["client0d"]]


def test_one_armed_unaware_vnf_reuses_its_only_cp_both_ways():
    out = render_vnffg("g", unaware_spec("CP3", symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    assert out.paths[0].hops[1] == out.paths[1].hops[0] == "fw:CP3>CP3"
    check_document(build_document(INV.switches, [out]))


def test_vnffgd_names_ingress_then_egress_cp_as_consecutive_hops():
    fp = ForwardingPath("fp", "FP.TackerV2", None, False, "nsh", (), (
        PathHop("VNFD-ids", "CP2"), PathHop("VNFD-fw", "CP3", False), PathHop("VNFD-fw", "CP2", False)))
    spec = spec_from_paths([fp], {"VNFD-ids": "ids", "VNFD-fw": "fw"}, "g")
    assert spec.paths[0].hops[1] == HopSpec(("fw",), "CP3", "", False, "CP2")
    out = render_vnffg("g", spec, {"fp": 3}, INV)
    assert out.paths[0].hops == ("ids:CP2", "fw:CP3>CP2")
    aware = ForwardingPath("fp", "FP.TackerV2", None, False, "nsh", (), (
        PathHop("VNFD-fw", "CP2", True), PathHop("VNFD-fw", "CP3")))
    assert spec_from_paths([aware], {"VNFD-fw": "fw"}, "g").paths[0].hops == (HopSpec(("fw",), "CP2", "", True),)
    unsaid = ForwardingPath("fp", "FP.TackerV2", None, False, "nsh", (), (
        PathHop("VNFD-fw", "CP2"), PathHop("VNFD-fw", "CP3")))  # the VNF's image decides at render
    assert spec_from_paths([unsaid], {"VNFD-fw": "fw"}, "g").paths[0].hops == (HopSpec(("fw",), "CP2", "", None, "CP3"),)


def test_unaware_hop_with_an_unknown_cp_names_the_hop():
    with pytest.raises(InvalidArgument, match="no CP 'CP9'") as err:
        render_vnffg("g", unaware_spec("CP2", "CP9"), {"p": 5}, INV)
    assert err.value.field == "vnffg[g].p.hops[1]"
