"""The service layer end to end against the controller logic: the users' seven commands, SPIs,
symmetric chains, abstract types, heal re-rendering, restart, and bad input leaving nothing."""

from __future__ import annotations

import pytest

from nfvo.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tests.unit.nfvo.conftest import TACKER, make_stack, onboard_demo, sample, typed_vnfd


def paths_of(stack):
    return {p.name: p for p in stack.controller.document.paths}


def test_users_seven_commands(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.catalog.create_descriptor("VNFD", "VNFD1", (TACKER / "tosca-vnffg-vnfd1.yaml").read_text())
    nfvo.create_vnf("VNF1", "VNFD1")
    nfvo.catalog.create_descriptor("VNFD", "VNFD2", (TACKER / "tosca-vnffg-vnfd2.yaml").read_text())
    nfvo.create_vnf("VNF2", "VNFD2")
    chain = nfvo.create_vnffg("mychain", chain="VNF2,VNF1", symmetrical=True)
    assert chain.status == "ACTIVE" and chain.generation == stack.controller.generation
    fwd, rev = paths_of(stack)["mychain/path"], paths_of(stack)["mychain/path/reverse"]
    # Tacker's VNFs run cirros (no NSH): one-armed hops through the switch's proxy, addressed to their CP
    assert fwd.hops == ("VNF2:CP22>CP22", "VNF1:CP12>CP12") and rev.hops == fwd.hops[::-1]
    vnf2 = stack.controller.document.function("VNF2:CP22>CP22")
    assert not vnf2.nsh_aware and vnf2.instances[0].mac == nfvo.get_vnf("VNF2").cp("CP22").mac
    assert fwd.spi != rev.spi and dict(chain.spis) == {"path": fwd.spi, "path~reverse": rev.spi}
    nfvo.create_classifier("myclass", "mychain", "tcp_dest=80,ip_proto=6")
    fwd, rev = paths_of(stack)["mychain/path"], paths_of(stack)["mychain/path/reverse"]
    # no network_src_port_id: both directions take every port that is not an SF's (no VIM default)
    assert fwd.classifiers[0].in_port == "" and rev.classifiers[0].in_port == ""
    assert ("tcp_dst", 80) in fwd.classifiers[0].matches[0] and ("tcp_src", 80) in rev.classifiers[0].matches[0]
    assert {dict(m)["eth_type"] for m in fwd.classifiers[0].matches} == {0x0800, 0x86DD}


def test_abstract_types_load_balance_and_follow_new_vnfs(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.catalog.create_descriptor("VNFD", "fwt", typed_vnfd("nsh-firewall.yaml", "tosca.nodes.nfv.VNF.firewall"))
    nfvo.catalog.create_descriptor("VNFD", "natt", typed_vnfd("nsh-counter.yaml", "tosca.nodes.nfv.VNF.nat"))
    with pytest.raises(FailedPrecondition, match="no ACTIVE VNF of type 'firewall'"):
        nfvo.create_vnffg("mychain2", chain="firewall,nat", abstract_types=True)
    assert nfvo.vnffgs.list() == []
    nfvo.create_vnf("fw-a", "fwt")
    nfvo.create_vnf("fw-b", "fwt")
    nfvo.create_vnf("nat-a", "natt")
    nfvo.create_vnffg("mychain2", chain="firewall,nat", abstract_types=True)
    assert paths_of(stack)["mychain2/path"].hops == ("fw-a:CP2+fw-b:CP2", "nat-a:CP2")
    assert len(stack.controller.document.function("fw-a:CP2+fw-b:CP2").instances) == 2
    nfvo.create_vnf("nat-b", "natt")  # a new VNF of the type joins the hop
    assert paths_of(stack)["mychain2/path"].hops == ("fw-a:CP2+fw-b:CP2", "nat-a:CP2+nat-b:CP2")


def test_spis_are_stable_across_update_and_restart(stack, tmp_path):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnf("cnt1", "counter")
    a = nfvo.create_vnffg("a", chain="fw1,cnt1")
    b = nfvo.create_vnffg("b", chain="cnt1", symmetrical=True)
    nfvo.create_classifier("web", "a", "tcp_dst=80")
    updated = nfvo.update_vnffg("a", chain="cnt1,fw1")
    assert updated.spis == a.spis and paths_of(stack)["a/path"].hops == ("cnt1:CP2", "fw1:CP2")
    assert paths_of(stack)["b/path"].spi == dict(b.spis)["path"]
    # restart: a new service on the same store hands the controller the same SPIs
    stack.vnfm.close()
    again = make_stack(tmp_path, store_url=stack.store_url, vim=stack.vim, driver=stack.driver,
                       controller=stack.controller, sdn_address=stack.sdn_address)
    before = stack.controller.generation
    again.nfvo.start()
    assert stack.controller.generation == before + 1
    assert {p.name: p.spi for p in stack.controller.document.paths} == \
        {"a/path": dict(a.spis)["path"], "b/path": dict(b.spis)["path"], "b/path/reverse": dict(b.spis)["path~reverse"]}
    assert again.nfvo.vnffgs.get("a").status == "ACTIVE"
    again.vnfm.close()


def test_requested_spi_and_conflicts(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnffg("a", chain="fw1")
    with pytest.raises(AlreadyExists):
        nfvo.create_vnffg("a", chain="fw1")
    nfvo.create_classifier("web", "a", "tcp_dst=80")
    nfvo.create_vnffg("b", chain="fw1")
    with pytest.raises(AlreadyExists, match="classifier 'web'"):
        nfvo.create_classifier("web", "b", "tcp_dst=81")


@pytest.mark.parametrize("chain,match,error", [
    ("nosuch", None, NotFound),
    ("fw1:CP9", None, InvalidArgument),
    ("fw1:CP1", None, InvalidArgument),          # management CP
    ("fw1,,cnt1", None, InvalidArgument),
    ("fw1,fw1", None, InvalidArgument),
    ("fw1", "tcp_dst=eighty", InvalidArgument),
    ("fw1", "frobnicate=1", InvalidArgument),
    ("fw1", "tcp_dst", InvalidArgument),
    ("fw1", "ip_src=10.0.0.0/33", InvalidArgument),
])
def test_bad_input_stores_nothing(stack, chain, match, error):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnf("cnt1", "counter")
    generation = stack.controller.generation
    if match is None:
        with pytest.raises(error):
            nfvo.create_vnffg("bad", chain=chain)
        assert nfvo.vnffgs.list() == []
    else:
        nfvo.create_vnffg("ok", chain=chain)
        generation = stack.controller.generation
        with pytest.raises(error):
            nfvo.create_classifier("c", "ok", match)
        assert [c.name for _, _, c in nfvo.vnffgs.classifiers()] == []
    assert stack.controller.generation == generation


def test_heal_rerenders_chains_through_the_vnf(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnffg("a", chain="fw1")
    generation = stack.controller.generation
    old_port = nfvo.get_vnf("fw1").cp("CP2").ovs_port
    nfvo.heal_vnf("fw1")
    new_port = nfvo.get_vnf("fw1").cp("CP2").ovs_port
    doc = stack.controller.document
    assert doc.function("fw1:CP2").instances[0].port == new_port
    assert stack.controller.generation > generation or new_port == old_port
    assert nfvo.vnffgs.get("a").status == "ACTIVE"


def test_vnf_in_use_cannot_be_deleted_and_delete_chain_is_hitless(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.create_vnf("fw1", "fw")
    nfvo.create_vnf("cnt1", "counter")
    nfvo.create_vnffg("a", chain="fw1")
    nfvo.create_vnffg("b", chain="cnt1")
    with pytest.raises(FailedPrecondition, match="VNFFG a"):
        nfvo.delete_vnf("fw1")
    before = {p.name: p for p in stack.controller.document.paths}
    nfvo.delete_vnffg("a")
    after = {p.name: p for p in stack.controller.document.paths}
    assert after == {"b/path": before["b/path"]}
    nfvo.delete_vnf("fw1")
    assert "fw1:CP2" not in {f.name for f in stack.controller.document.service_functions}


def test_nsh_unaware_hop_renders_behind_the_switch_proxy(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    for vnfd in ("nsh-firewall", "nsh-counter", "nsh-unaware"):
        nfvo.catalog.create_descriptor("VNFD", vnfd, sample(vnfd + ".yaml"))
        nfvo.create_vnf(vnfd + "-1", vnfd)
    nfvo.catalog.create_descriptor("VNFFGD", "demo", sample("demo-chain-vnffgd.yaml"))
    record = nfvo.create_vnffg("demo", vnffgd="demo")
    assert record.status == "ACTIVE"
    paths = paths_of(stack)
    assert paths["demo/web_path"].hops == ("nsh-firewall-1:CP2", "nsh-counter-1:CP2", "nsh-unaware-1:CP2>CP3")
    assert paths["demo/web_path/reverse"].hops[0] == "nsh-unaware-1:CP3>CP2"
    unaware = stack.controller.document.function("nsh-unaware-1:CP2>CP3")
    cp2, cp3 = nfvo.get_vnf("nsh-unaware-1").cp("CP2"), nfvo.get_vnf("nsh-unaware-1").cp("CP3")
    assert not unaware.nsh_aware
    assert [(i.port, i.egress) for i in unaware.instances] == [(cp2.ovs_port, cp3.ovs_port)]


def test_vnffgd_with_mapping_renders_every_path(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    for vnfd in ("nsh-firewall", "nsh-counter"):
        nfvo.catalog.create_descriptor("VNFD", vnfd, sample(vnfd + ".yaml"))
        nfvo.create_vnf(vnfd + "-1", vnfd)
    text = sample("demo-chain-vnffgd.yaml")
    text = text[:text.index("    web_path:")] + text[text.index("    tcp_path:"):]
    text = text.replace("members: [web_path, tcp_path]", "members: [tcp_path]").replace(
        "constituent_vnfs: [nsh-firewall, nsh-counter, nsh-unaware]", "constituent_vnfs: [nsh-firewall, nsh-counter]")
    text = text.replace("number_of_endpoints: 4", "number_of_endpoints: 2").replace(
        "connection_point: [CP2, CP2, CP2, CP3]", "connection_point: [CP2, CP2]")
    nfvo.catalog.create_descriptor("VNFFGD", "tcp", text)
    with pytest.raises(InvalidArgument, match="nsh-counter-1 is an instance of nsh-counter"):
        nfvo.create_vnffg("g", vnffgd="tcp", vnf_mapping={"nsh-firewall": "nsh-counter-1"})
    record = nfvo.create_vnffg("g", vnffgd="tcp", vnf_mapping={"nsh-firewall": "nsh-firewall-1"})
    assert dict(record.spis) == {"tcp_path": 8}
    path = paths_of(stack)["g/tcp_path"]
    assert path.spi == 8 and path.hops == ("nsh-firewall-1:CP2", "nsh-counter-1:CP2")
    assert [c.name for c in path.classifiers] == ["g/tcp_path/tcp_low", "g/tcp_path/tcp_high"]
