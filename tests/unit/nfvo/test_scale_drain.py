"""Scaling re-renders the chains through a VNF; scaling in drains the leaving instances first, so
no connection is steered to a port that is already gone."""

from __future__ import annotations

import pytest

from tests.unit.nfvo.conftest import onboard_demo, sample, typed_vnfd
from vnfm.errors import InvalidRequest


def test_scale_out_spreads_and_scale_in_drains_before_removing(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.catalog.create_descriptor("VNFD", "scalable", sample("nsh-counter-scalable.yaml"))
    nfvo.create_vnf("cnt", "scalable")
    nfvo.create_vnffg("a", chain="cnt")
    nfvo.scale_vnf("cnt", "SP1", "out")
    ports = [c.ovs_port for c in nfvo.get_vnf("cnt").cps if c.name == "CP2"]
    assert [i.port for i in stack.controller.document.function("cnt:CP2").instances] == ports
    generation = nfvo.vnffgs.get("a").generation

    seen_at_delete: list[list[str]] = []
    delete = stack.vim.delete_server

    def spy(key: str) -> None:
        seen_at_delete.append([i.port for i in stack.controller.document.function("cnt:CP2").instances])
        delete(key)
    stack.vim.delete_server = spy
    nfvo.scale_vnf("cnt", "SP1", "in")
    assert seen_at_delete == [ports[:1]]  # the controller had moved off instance 1 before it went
    assert [i.port for i in stack.controller.document.function("cnt:CP2").instances] == ports[:1]
    chain = nfvo.vnffgs.get("a")
    assert chain.status == "ACTIVE" and chain.generation > generation
    with pytest.raises(InvalidRequest, match="min_instances"):
        nfvo.scale_vnf("cnt", "SP1", "in")
    assert nfvo.vnffgs.get("a").status == "ACTIVE"


def lb_hops(stack) -> tuple[str, ...]:
    return next(p.hops for p in stack.controller.document.paths if p.name == "lb/path")


def test_terminating_a_vnf_of_an_abstract_hop_drains_it_first(stack):
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.catalog.create_descriptor("VNFD", "fwt", typed_vnfd("nsh-firewall.yaml", "tosca.nodes.nfv.VNF.firewall"))
    nfvo.create_vnf("fw-a", "fwt")
    nfvo.create_vnf("fw-b", "fwt")
    nfvo.create_vnffg("lb", chain="firewall", abstract_types=True)
    assert lb_hops(stack) == ("fw-a:CP2+fw-b:CP2",)

    hops_at_delete: list[tuple[str, ...]] = []
    delete = stack.vim.delete_server

    def spy(key: str) -> None:
        hops_at_delete.append(lb_hops(stack))
        delete(key)
    stack.vim.delete_server = spy
    nfvo.delete_vnf("fw-b")
    assert hops_at_delete == [("fw-a:CP2",)], "the chain had left fw-b before its VDU went"
    assert nfvo.vnffgs.get("lb").status == "ACTIVE"
    assert [v.name for v in nfvo.list_vnfs() if v.name.startswith("fw-")] == ["fw-a"]


def test_scale_in_drains_with_weight_zero_and_ports_kept_then_drops_them(stack):
    """The first re-render gives the leaving instance weight 0 and no slots (its connections go
    to the one that stays; its port is still an instance, so still admitted); only after the
    grace does a second re-render drop it. Slots of the staying instance never move."""
    nfvo = stack.nfvo
    onboard_demo(nfvo)
    nfvo.catalog.create_descriptor("VNFD", "scalable", sample("nsh-counter-scalable.yaml"))
    nfvo.create_vnf("cnt", "scalable")
    nfvo.create_vnffg("a", chain="cnt")
    nfvo.scale_vnf("cnt", "SP1", "out")
    before = stack.controller.document.function("cnt:CP2").instances
    assert [i.weight for i in before] == [1, 1] and all(i.slots for i in before)
    applied: list[tuple] = []
    apply = stack.controller.apply_document

    def spy(doc):
        result = apply(doc)
        applied.append(tuple((i.port, i.weight, i.slots) for i in stack.controller.document.function("cnt:CP2").instances))
        return result
    stack.controller.apply_document = spy
    nfvo.scale_vnf("cnt", "SP1", "in")
    (stay, leave), (alone,) = applied[0], applied[1]  # then the VNFM's scale event renders once more
    assert stay == (before[0].port, 1, tuple(range(16))) and leave == (before[1].port, 0, ())
    assert alone[0] == before[0].port
