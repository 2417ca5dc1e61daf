"""The manager places VDUs over a fake VIM's several hosts: recorded, honoured, nothing left on failure."""

from __future__ import annotations

import pytest

from descriptors import load_vnfd
from tests.corpus import TACKER_SAMPLES
from vnfm.manager import VnfManager
from vnfm.model import Status as S
from vnfm.scheduler import PlacementError
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim.base import ComputeHostInfo
from vnfm.vim.fake import FakeVim

from .conftest import SCALE_VNFD, Clock

GIB = 2**30
TWO = (ComputeHostInfo("compute1", True, 4, 8 * GIB, 100 * GIB, switch="br-c1"),
       ComputeHostInfo("compute2", True, 4, 8 * GIB, 100 * GIB, switch="br-c2"))
PINNED = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {template_name: pinned}
topology_template:
  inputs:
    zone: {type: string, default: nova}
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties: {image: host, flavor: m1.tiny, availability_zone: {get_input: zone}}
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      requirements: [{virtualLink: {node: VL1}}, {virtualBinding: {node: VDU1}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {network_name: net_pin, vendor: nfvchain}
"""
ANTI_SCALE = SCALE_VNFD + """
    - AA:
        type: tosca.policies.tacker.Placement
        properties: {policy: anti-affinity, strict: true}
        targets: [VDU1]
"""


@pytest.fixture
def vim2() -> FakeVim:
    return FakeVim(prefix="fk", host_specs=TWO)


@pytest.fixture
def mgr2(vim2: FakeVim, store_url: str):
    m = VnfManager(vim2, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    yield m
    m.close()


def test_instances_spread_and_the_host_is_recorded_honoured_and_stored(mgr2, vim2, store_url, scaler):
    from dataclasses import replace
    three = replace(scaler, scaling_policies=(replace(scaler.scaling_policies[0], default_instances=3),))
    rec = mgr2.instantiate("s1", three)
    assert [(v.instance, v.host) for v in rec.vdus] == [(0, "compute1"), (1, "compute2"), (2, "compute1")]
    for v in rec.vdus:
        assert vim2.servers[v.key].req.host == v.host == vim2.servers[v.key].server.host
        assert {c.bridge for c in v.cps} == {"br-c1" if v.host == "compute1" else "br-c2"}
    store = VnfSqlStore(store_url, "fk")
    assert [v.host for v in store.all()[0].record.vdus] == ["compute1", "compute2", "compute1"]
    store.close()


def test_availability_zone_from_an_input_pins_the_vdu(mgr2):
    assert mgr2.instantiate("p1", PINNED, params={"zone": "compute2"}).vdus[0].host == "compute2"
    assert mgr2.instantiate("p2", PINNED).vdus[0].host == "compute1"   # nova: any (the roomiest)


def test_no_valid_host_fails_before_anything_is_made(mgr2, vim2, store_url):
    nets = mgr2.networks()
    with pytest.raises(PlacementError) as err:
        mgr2.instantiate("p9", PINNED, params={"zone": "compute9"})
    assert str(err.value).startswith("No valid host was found for VDU VDU1: compute1: AvailabilityZoneFilter: "
                                     "not in availability zone 'compute9'")
    assert "zones: compute1, compute2" in str(err.value)
    assert vim2.log == [] and vim2.servers == {} and vim2.dhcp == {}
    assert mgr2.list() == [] and mgr2.networks() == nets and mgr2.events() == []
    store = VnfSqlStore(store_url, "fk")
    assert store.all() == [] and store.networks() == {}
    store.close()


def test_the_corpus_anti_affinity_sample_lands_on_two_hosts(mgr2):
    vnfd = load_vnfd(TACKER_SAMPLES / "vnfd/tosca-placement-policy-anti-affinity.yaml")
    rec = mgr2.instantiate("aa", vnfd)
    assert {v.name: v.host for v in rec.vdus} == {"VDU1": "compute1", "VDU2": "compute2"}


def test_the_corpus_anti_affinity_sample_on_one_host_fails_naming_vdu2(mgr, vim):
    vnfd = load_vnfd(TACKER_SAMPLES / "vnfd/tosca-placement-policy-anti-affinity.yaml")
    with pytest.raises(PlacementError, match="VDU VDU2: compute1: ServerGroupAntiAffinityFilter: runs VDU1 of "
                                             "anti-affinity policy my_compute_placement_policy"):
        mgr.instantiate("aa", vnfd)
    assert vim.log == [] and mgr.list() == []


def test_scale_out_keeps_anti_affinity_and_a_refused_one_changes_nothing(mgr2, vim2):
    rec = mgr2.instantiate("s1", ANTI_SCALE)
    rec = mgr2.scale("s1", "SP1", "out")
    assert sorted(v.host for v in rec.vdus) == ["compute1", "compute2"]
    log = list(vim2.log)
    with pytest.raises(PlacementError, match=r"VDU VDU1#2: compute1: ServerGroupAntiAffinityFilter: runs VDU1 .*"
                                             r"compute2: ServerGroupAntiAffinityFilter: runs VDU1#1"):
        mgr2.scale("s1", "SP1", "out")
    assert vim2.log == log and mgr2.get("s1") == rec and rec.status == S.ACTIVE


def test_heal_keeps_the_host_and_moves_off_one_that_cannot_take_it(mgr2, vim2, scaler):
    from dataclasses import replace
    two = replace(scaler, scaling_policies=(replace(scaler.scaling_policies[0], default_instances=2),))
    mgr2.instantiate("s1", two)
    # compute1 would win a fresh choice (same free RAM, first by name): the instance stays on compute2
    assert mgr2.heal("s1", "VDU1", instance=1).vdu("VDU1", 1).host == "compute2"
    vim2.host_specs = (TWO[0], replace(TWO[1], up=False, reason="maintenance"))
    healed = mgr2.heal("s1", "VDU1", instance=1).vdu("VDU1", 1)
    assert healed.host == "compute1" and {c.bridge for c in healed.cps} == {"br-c1"}


def test_the_spec_carries_zone_disk_and_policies_and_refuses_an_unknown_policy():
    from vnfm.errors import InvalidRequest
    from vnfm.images import ImageCatalog
    from vnfm.spec import PlacementSpec, compile_spec
    spec = compile_spec(load_vnfd(TACKER_SAMPLES / "vnfd/tosca-placement-policy-anti-affinity.yaml"), ImageCatalog())
    assert [(v.zone, v.cpus, v.mem_bytes, v.disk_bytes) for v in spec.vdus] == [("nova", 2, 512 * 10**6, 10**9)] * 2
    assert spec.placement == (PlacementSpec("my_compute_placement_policy", "anti-affinity", True, ("VDU1", "VDU2")),)
    from dataclasses import replace
    from descriptors import DescriptorError
    with pytest.raises(DescriptorError, match='"colocate" of property "policy" is not valid'):
        load_vnfd(ANTI_SCALE.replace("policy: anti-affinity", "policy: colocate"))
    vnfd = load_vnfd(ANTI_SCALE)   # a VNFD built in code is checked again
    bad = replace(vnfd, placement_policies=(replace(vnfd.placement_policies[0], policy="colocate"),))
    with pytest.raises(InvalidRequest, match="placement policy AA: policy must be affinity or anti-affinity"):
        compile_spec(bad, ImageCatalog())
