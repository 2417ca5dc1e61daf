"""Scaling re-renders the chains through a VNF; scaling in drains the leaving instances first, so
no connection is steered to a port that is already gone."""

from __future__ import annotations

import pytest

from tests.unit.nfvo.conftest import onboard_demo, sample
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
