"""Hops through VNFs whose software does not parse NSH (Tacker's cirros routers): whether a hop
is NSH-aware comes from the VNF's images unless the VNFFGD says ``sfc_encap``; a hop naming one
CP is one-armed (ingress = egress), addressed to that CP's MAC; a chain through a VDU that
neither parses NSH nor forwards IP is refused, naming the hop and the VNF."""

from __future__ import annotations

from dataclasses import replace

import pytest

from descriptors import load_vnfd
from descriptors.vnffgd import ForwardingPath, PathHop
from nfvo.errors import FailedPrecondition
from nfvo.model import HopSpec, PathSpec, VnffgSpec
from nfvo.vnffg.render import ForwardingNeed, Inventory, build_document, forwarding_needs, render_vnffg
from nfvo.vnffg.spec import classifier_spec, parse_chain, parse_match, spec_from_paths
from sdn.document import SfInstance, Switch, check_document
from tests.unit.nfvo.conftest import SAMPLES, TACKER, onboard_demo
from vnfm.codec import from_json, to_json
from vnfm.images import ImageCatalog
from vnfm.model import CpRecord, VduRecord, VnfRecord, Status
from vnfm.spec import compile_spec


def vnf(name: str, *, aware: bool, instances: int = 1, vnf_type: str | None = None) -> VnfRecord:
    vdus = tuple(VduRecord("VDU1", i, f"ns-{name}{i}", "img", None, (
        CpRecord("CP1", "VDU1", i, "mgmt", 0, True, "eth0", f"FA:16:3E:00:0{i}:01", "", f"{name}{i}m", 1, "br"),
        CpRecord("CP2", "VDU1", i, "net0", 1, False, "eth1", f"FA:16:3E:00:0{i}:02", "", f"{name}{i}d", 2, "br"),
        CpRecord("CP3", "VDU1", i, "net1", 2, False, "eth2", f"FA:16:3E:00:0{i}:03", "", f"{name}{i}o", 3, "br")),
        None, nsh_aware=aware) for i in range(instances))
    return VnfRecord(f"id-{name}", name, "vnfd", Status.ACTIVE, "", vdus, 0.0, vnf_type)


INV = Inventory({v.name: v for v in (vnf("client", aware=False), vnf("server", aware=False),
                                      vnf("r1", aware=False, instances=2, vnf_type="x.router"),
                                      vnf("r2", aware=False), vnf("nsh", aware=True, vnf_type="x.router"))},
                {"br": Switch("br", 7)})


def spec(*hops: HopSpec, symmetrical: bool = False, match: str = "tcp_dst=80", ingress: str = "") -> VnffgSpec:
    classifiers = (replace(classifier_spec("web", parse_match(match)), ingress=ingress),) if match else ()
    return VnffgSpec((PathSpec("p", hops, classifiers, symmetrical),))


def test_unsaid_sfc_encap_follows_the_image_and_one_cp_is_both_ways():
    out = render_vnffg("g", spec(*parse_chain("r2,nsh")), {"p": 5}, INV)
    assert out.paths[0].hops == ("r2:CP2>CP2", "nsh:CP2")
    r2 = next(f for f in out.functions if f.name == "r2:CP2>CP2")
    assert not r2.nsh_aware and r2.one_armed
    assert r2.instances == (SfInstance("br", "r20d", "", "fa:16:3e:00:00:02"),), "addressed to its CP's MAC"
    check_document(build_document(INV.switches, [out]))


def test_a_scaled_routers_instances_carry_their_own_macs():
    out = render_vnffg("g", spec(HopSpec(("r1",))), {"p": 5}, INV)
    assert out.functions[0].instances == (SfInstance("br", "r10d", "", "fa:16:3e:00:00:02"),
                                          SfInstance("br", "r11d", "", "fa:16:3e:00:01:02"))


def test_sfc_encap_said_overrides_the_image():
    out = render_vnffg("g", spec(HopSpec(("r2",), sfc_encap=True), HopSpec(("nsh",), sfc_encap=False)), {"p": 5}, INV)
    assert out.paths[0].hops == ("r2:CP2", "nsh:CP2>CP2")
    assert [f.nsh_aware for f in out.functions] == [True, False]


def test_two_cps_named_make_a_bump_in_the_wire_sent_frames_as_they_are():
    out = render_vnffg("g", spec(HopSpec(("r2",), "CP2", egress_cp="CP3"), ingress="client"), {"p": 5}, INV)
    (fn,) = out.functions
    assert fn.name == "r2:CP2>CP3" and not fn.one_armed and fn.instances == (SfInstance("br", "r20d", "r20o"),)


def test_a_symmetric_chain_passes_each_router_through_the_same_port_both_ways():
    out = render_vnffg("g", spec(*parse_chain("r2,r1"), symmetrical=True), {"p": 5, "p~reverse": 6}, INV)
    fwd, rev = out.paths
    assert fwd.hops == ("r2:CP2>CP2", "r1:CP2>CP2") and rev.hops == fwd.hops[::-1]
    assert len(out.functions) == 2, "a one-armed SF is its own twin"
    check_document(build_document(INV.switches, [out]))


def test_a_hop_balancing_over_aware_and_unaware_vnfs_is_refused():
    with pytest.raises(FailedPrecondition, match=r"NSH-aware VNFs \(nsh\) and NSH-unaware ones \(r1\)") as err:
        render_vnffg("g", spec(HopSpec(vnf_type="router")), {"p": 5}, INV)
    assert err.value.field == "vnffg[g].p.hops[0]"
    render_vnffg("g", spec(HopSpec(vnf_type="router", sfc_encap=True)), {"p": 5}, INV)  # said: fine


def test_vnffgd_hops_without_sfc_encap_leave_it_to_the_image():
    fp = ForwardingPath("fp", "FP.TackerV2", None, False, "nsh", (), (PathHop("VNFD2", "CP2"), PathHop("VNFD1", "CP2")))
    hops = spec_from_paths([fp], {"VNFD1": "nsh", "VNFD2": "r2"}, "g").paths[0].hops
    assert [h.sfc_encap for h in hops] == [None, None]
    assert render_vnffg("g", spec(*hops), {"p": 5}, INV).paths[0].hops == ("r2:CP2>CP2", "nsh:CP2")


def test_forwarding_needs_name_each_unaware_vdu_behind_a_one_armed_hop():
    # a bump in the wire (client, two CPs named) needs no forwarding; it binds the classifier to a port
    chain = spec(*parse_chain("r1,nsh,r2"), HopSpec(("client",), "CP2", egress_cp="CP3"), ingress="server")
    out = render_vnffg("g", chain, {"p": 5}, INV)
    both = frozenset({4, 6})  # tcp_dst=80 names no IP version: IPv4 and IPv6
    assert forwarding_needs(out, chain, INV) == [
        ForwardingNeed("r1", "VDU1", 0, both, "vnffg[g].p.hops[0]"),
        ForwardingNeed("r1", "VDU1", 1, both, "vnffg[g].p.hops[0]"),
        ForwardingNeed("r2", "VDU1", 0, both, "vnffg[g].p.hops[2]")]
    v6 = spec(HopSpec(("r2",)), match="ip_dst_prefix=2001:db8::/64")
    assert forwarding_needs(render_vnffg("g", v6, {"p": 5}, INV), v6, INV)[0].families == frozenset({6})
    forced = spec(HopSpec(("nsh",), sfc_encap=False))  # its software parses NSH: its own business
    assert forwarding_needs(render_vnffg("g", forced, {"p": 5}, INV), forced, INV) == []
    bare = spec(HopSpec(("r2",)), match="")  # no classifier yet: nothing to carry
    assert forwarding_needs(render_vnffg("g", bare, {"p": 5}, INV), bare, INV) == []


def test_images_say_whether_their_software_parses_nsh():
    catalog = ImageCatalog()
    for path, aware in ((TACKER / "tosca-vnffg-vnfd1.yaml", False), (SAMPLES / "nsh-counter.yaml", True),
                        (SAMPLES / "host.yaml", False)):
        assert compile_spec(load_vnfd(path), catalog).vdus[0].nsh_aware is aware, path


def test_tacker_routers_chain_when_they_forward_and_are_refused_when_not(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    for n in ("1", "2"):
        nfvo.catalog.create_descriptor("VNFD", f"VNFD{n}", (TACKER / f"tosca-vnffg-vnfd{n}.yaml").read_text())
        nfvo.create_vnf(f"VNF{n}", f"VNFD{n}")
    assert {v.nsh_aware for n in ("1", "2") for v in nfvo.get_vnf(f"VNF{n}").vdus} == {False}
    vnf1 = nfvo.get_vnf("VNF1").vdus[0].key
    stack.vim.set_forwarding(vnf1, ipv4=False, ipv6=False)
    nfvo.create_vnffg("mychain", chain="VNF2,VNF1", symmetrical=True)  # no classifier: nothing to forward yet
    generation = stack.controller.generation
    with pytest.raises(FailedPrecondition) as err:
        nfvo.create_classifier("myclass", "mychain", "tcp_dest=80,ip_proto=6")
    assert str(err.value.message) == ("VNF1 is not NSH-aware and does not forward IP (net.ipv4.ip_forward=0, "
                                      "net.ipv6.conf.all.forwarding=0)")
    assert err.value.field == "vnffg[mychain].path.hops[1]"
    assert nfvo.vnffgs.classifiers() == [] and stack.controller.generation == generation, "nothing changed"
    stack.vim.set_forwarding(vnf1, ipv4=True)  # IPv4 only, as Tacker's user_data does: IPv6 is dropped there
    chain = nfvo.create_classifier("myclass", "mychain", "tcp_dest=80,ip_proto=6")
    assert chain.status == "ACTIVE"
    # a re-render (heal, restart) finding it off again marks the chain ERROR with the reason
    stack.vim.set_forwarding(vnf1, ipv4=False)
    nfvo.vnffgs.rerender(["mychain"], "restart")
    record = nfvo.vnffgs.get("mychain")
    assert record.status == "ERROR" and "VNF1 is not NSH-aware and does not forward IP" in record.reason


def test_old_vdu_rows_stay_nsh_aware():
    row = to_json(INV.vnfs["r2"].vdus[0])
    del row["nsh_aware"]
    assert from_json(VduRecord, row) == replace(INV.vnfs["r2"].vdus[0], nsh_aware=True)
