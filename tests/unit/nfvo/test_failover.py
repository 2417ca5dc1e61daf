"""Failover, pure and through the NFVO: dead VDU instances leave their hop; a hop with none left
follows the VNFFG's failure policy (fail-closed keeps it, dropping; fail-open renders the path
without it); the chain is DEGRADED with the reason meanwhile and ACTIVE again after a heal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from nfvo.errors import InvalidArgument
from nfvo.model import PathSpec, VnffgSpec
from nfvo.vnffg.render import Inventory, build_document, render_vnffg
from nfvo.vnffg.spec import check_failure_policy, classifier_spec, parse_chain, parse_match
from sdn.document import SfInstance, Switch, check_document
from tests.unit.nfvo.conftest import onboard_demo, sample
from tests.unit.nfvo.test_render import vnf
from vnfm.model import VnfRecord
from vnfm.vim.exitwatch import Watched


def killed(rec: VnfRecord, *instances: int) -> VnfRecord:
    """``rec`` as the VNFM has it after those VDU instances' programs exited."""
    return replace(rec, status="DEAD", vdus=tuple(replace(v, dead=v.instance in instances) for v in rec.vdus))


def inventory(*vnfs: VnfRecord) -> Inventory:
    return Inventory({v.name: v for v in (vnf("client"), vnf("server"), *vnfs)}, {"br": Switch("br", 7)})


def spec(chain: str, policy: str = "fail-closed", *, abstract: bool = False, symmetrical: bool = False) -> VnffgSpec:
    match = "network_src_port_id=client,network_dst_port_id=server,udp_dst=53"
    return VnffgSpec((PathSpec("p", parse_chain(chain, abstract=abstract), (classifier_spec("c", parse_match(match)),),
                               symmetrical),), failure_policy=policy)


SPIS = {"p": 5, "p~reverse": 6}


def test_a_dead_instance_leaves_its_load_balanced_hop():
    inv = inventory(killed(vnf("fw", instances=2), 1), vnf("ids"))
    out = render_vnffg("g", spec("fw,ids"), SPIS, inv)
    fw = next(f for f in out.functions if f.name == "fw:CP2")
    assert fw.instances == (SfInstance("br", "fw0d"),)
    assert out.paths[0].hops == ("fw:CP2", "ids:CP2")
    assert out.degraded == ("hop fw: 1 of 2 instances dead",)
    check_document(build_document(inv.switches, [out]))
    healthy = render_vnffg("g", spec("fw,ids"), SPIS, inventory(vnf("fw", instances=2), vnf("ids")))
    assert healthy.degraded == () and len(next(f for f in healthy.functions if f.name == "fw:CP2").instances) == 2


def test_an_abstract_hop_keeps_the_vnfs_of_its_type_that_live():
    inv = inventory(killed(vnf("ids", vnf_type="x.ids"), 0), vnf("ids2", vnf_type="x.ids"))
    out = render_vnffg("g", spec("ids", abstract=True), SPIS, inv)
    assert out.paths[0].hops == ("ids2:CP2",) and out.vnfs == {"ids2"}
    assert out.degraded == ("hop type:ids: 1 of 2 instances dead",)


def test_fail_closed_keeps_a_hop_with_no_live_instance_so_its_traffic_is_dropped():
    inv = inventory(vnf("fw"), killed(vnf("ids"), 0))
    out = render_vnffg("g", spec("fw,ids"), SPIS, inv)
    assert out == replace(render_vnffg("g", spec("fw,ids"), SPIS, inventory(vnf("fw"), vnf("ids"))),
                          degraded=out.degraded)   # the very flows it had: into the dead port
    assert out.degraded == ("hop ids: every instance dead (VNF ids DEAD), its traffic is dropped (fail-closed)",)


def test_fail_open_renders_the_path_without_the_hop_in_both_directions():
    inv = inventory(killed(vnf("fw"), 0), vnf("ids"))
    out = render_vnffg("g", spec("fw,ids", "fail-open", symmetrical=True), SPIS, inv)
    fwd, rev = out.paths
    assert fwd.hops == ("ids:CP2",) and rev.hops == ("ids:CP2",) and (fwd.spi, rev.spi) == (5, 6)
    assert "fw" not in out.vnfs and "fw:CP2" not in {f.name for f in out.functions}
    assert out.degraded == ("hop fw bypassed (fail-open): VNF fw DEAD",)
    check_document(build_document(inv.switches, [out]))


def test_fail_open_with_every_hop_bypassed_renders_no_path():
    out = render_vnffg("g", spec("fw", "fail-open"), SPIS, inventory(killed(vnf("fw"), 0)))
    assert out.paths == () and out.functions == ()   # unclassified: straight to where it is addressed
    assert out.degraded == ("hop fw bypassed (fail-open): VNF fw DEAD",)


def test_a_dead_vnf_from_before_vdus_said_so_is_dead_as_a_whole():
    inv = inventory(vnf("fw", instances=2, status="DEAD"))
    assert render_vnffg("g", spec("fw", "fail-open"), SPIS, inv).paths == ()


def test_failure_policy_words():
    assert check_failure_policy("") == "fail-closed" and check_failure_policy("Fail-Open") == "fail-open"
    with pytest.raises(InvalidArgument, match="not a failure policy") as err:
        check_failure_policy("fail-sometimes")
    assert err.value.field == "failure_policy"


# ------------------------------------------------------------------------------- through the NFVO
def exit_of(stack, vnf: str, instance: int = 0) -> None:
    """What the VIM's exit watcher reports when that VDU instance's program dies."""
    rec = stack.vnfm.get(vnf)
    vdu = rec.vdu("VDU1", instance)
    stack.vim.kill(vdu.key)
    stack.vnfm._on_exit(Watched(rec.id, vdu.name, vdu.instance, vdu.key, vdu.pid))


def onboard_counter(stack, file: str) -> None:
    onboard_demo(stack.nfvo)   # "log": no respawn of its own, the test heals
    stack.nfvo.catalog.create_descriptor("VNFD", "cnt-log", sample(file).replace("failure: respawn", "failure: log"))
    stack.nfvo.create_vnf("cnt", "cnt-log")


def test_an_exit_drops_the_instance_at_once_and_a_heal_brings_it_back(stack):
    nfvo = stack.nfvo
    onboard_counter(stack, "nsh-counter-scalable.yaml")
    nfvo.scale_vnf("cnt", "SP1", "out")
    nfvo.create_vnffg("a", chain="cnt")
    ports = [c.ovs_port for c in nfvo.get_vnf("cnt").cps if c.name == "CP2"]
    exit_of(stack, "cnt", 1)
    assert nfvo.get_vnf("cnt").status == "DEAD" and nfvo.get_vnf("cnt").vdu("VDU1", 1).dead
    assert [i.port for i in stack.controller.document.function("cnt:CP2").instances] == ports[:1]
    chain = nfvo.vnffgs.get("a")
    assert (chain.status, chain.reason) == ("DEGRADED", "hop cnt: 1 of 2 instances dead")
    exit_of(stack, "cnt", 1)   # reported twice (the watcher re-added it): nothing more happens
    assert nfvo.vnffgs.get("a").generation == chain.generation
    nfvo.vnfm.heal("cnt", "VDU1", instance=1)
    assert [i.port for i in stack.controller.document.function("cnt:CP2").instances] == ports
    healed = nfvo.vnffgs.get("a")
    assert (healed.status, healed.reason) == ("ACTIVE", "") and healed.generation > chain.generation
    assert not nfvo.get_vnf("cnt").vdu("VDU1", 1).dead


@pytest.mark.parametrize("policy", ["fail-closed", "fail-open"])
def test_a_single_instance_hop_follows_the_policy_until_healed(stack, policy):
    nfvo = stack.nfvo
    onboard_counter(stack, "nsh-counter.yaml")
    nfvo.create_vnffg("a", chain="cnt", failure_policy=policy)
    assert nfvo.vnffgs.get("a").spec.failure_policy == policy
    before = stack.controller.document.paths
    exit_of(stack, "cnt")
    chain = nfvo.vnffgs.get("a")
    assert chain.status == "DEGRADED"
    if policy == "fail-open":
        assert stack.controller.document.paths == () and "bypassed (fail-open)" in chain.reason
    else:
        assert stack.controller.document.paths == before and "(fail-closed)" in chain.reason
    nfvo.heal_vnf("cnt")
    assert stack.controller.document.paths == before and nfvo.vnffgs.get("a").status == "ACTIVE"
    flipped = nfvo.update_vnffg("a", failure_policy="fail-open" if policy == "fail-closed" else "fail-closed")
    assert flipped.spec.failure_policy != policy and flipped.status == "ACTIVE"
