"""The filter scheduler on its own: hosts + requests in, a placement or a PlacementError out."""

from __future__ import annotations

import pytest

from vnfm.scheduler import Placed, PlacementError, PlacementRequest, place
from vnfm.spec import PlacementSpec
from vnfm.vim.base import ComputeHostInfo

GIB = 2**30


def host(name: str, *, mem: int = 8, vcpus: int = 4, disk: int = 100, used_mem: int = 0, up: bool = True,
         reason: str = "") -> ComputeHostInfo:
    return ComputeHostInfo(name, up, vcpus, mem * GIB, disk * GIB, used_mem_bytes=used_mem * GIB, reason=reason)


def req(vdu: str, instance: int = 0, *, mem: float = 1, vcpus: int = 1, disk: int = 0, zone: str | None = None,
        keep: str = "") -> PlacementRequest:
    return PlacementRequest(f"k-{vdu}-{instance}", vdu, instance, vcpus, int(mem * GIB), disk * GIB, zone, keep)


HOSTS = (host("compute1"), host("compute2"), host("compute3"))


def test_spreads_by_free_ram_then_name_charging_each_choice():
    assert place(HOSTS, [req("A"), req("B"), req("C"), req("D")]) == {
        "k-A-0": "compute1", "k-B-0": "compute2", "k-C-0": "compute3", "k-D-0": "compute1"}
    # the roomiest host first: compute2 has 6 GiB free of 8, the others 8
    assert place((host("compute1", used_mem=2), host("compute2")), [req("A", mem=3), req("B", mem=1)]) == {
        "k-A-0": "compute2", "k-B-0": "compute1"}


def test_availability_zone_pins_and_nova_means_any():
    assert place(HOSTS, [req("A", zone="compute2"), req("B", zone="compute2"), req("C", zone="nova")]) == {
        "k-A-0": "compute2", "k-B-0": "compute2", "k-C-0": "compute1"}


def test_unknown_zone_names_the_vdu_every_host_and_the_zones():
    with pytest.raises(PlacementError) as err:
        place(HOSTS[:2], [req("VDU1", zone="compute9")])
    text = str(err.value)
    assert text.startswith("No valid host was found for VDU VDU1: compute1: AvailabilityZoneFilter: "
                           "not in availability zone 'compute9'")
    assert "compute2: AvailabilityZoneFilter" in text
    assert "availability zone 'compute9' is unknown; zones: compute1, compute2, or 'nova' for any host" in text
    assert err.value.vdu == "VDU1" and [h for h, _ in err.value.rejections] == ["compute1", "compute2"]


def test_capacity_filters_with_novas_allocation_ratios():
    # RAM 1.5: an 8 GiB host takes 12 GiB of requests; cpu 16.0: 4 cores take 64 vCPUs; disk 1.0
    assert place((host("compute1"),), [req("A", mem=12)]) == {"k-A-0": "compute1"}
    assert place((host("compute1"),), [req("A", vcpus=64)]) == {"k-A-0": "compute1"}
    with pytest.raises(PlacementError, match=r"VDU B: compute1: RamFilter: needs 1024 MiB RAM, 0 MiB free "
                                             r"\(ram_allocation_ratio 1.5\)"):
        place((host("compute1"),), [req("A", mem=12), req("B", mem=1)])
    with pytest.raises(PlacementError, match=r"CoreFilter: needs 65 vCPUs, 64 free \(cpu_allocation_ratio 16.0\)"):
        place((host("compute1"),), [req("A", vcpus=65)])
    with pytest.raises(PlacementError, match=r"DiskFilter: needs 102400 MiB disk, 51200 MiB free"):
        place((host("compute1", disk=50),), [req("A", disk=100)])


def test_a_down_host_is_filtered_first():
    hosts = (host("compute1", up=False, reason="no heartbeat"), host("compute2", mem=1))
    assert place(hosts, [req("A", mem=1)]) == {"k-A-0": "compute2"}
    with pytest.raises(PlacementError) as err:
        place(hosts, [req("A", mem=4)])
    assert "compute1: ComputeFilter: host is down (no heartbeat); compute2: RamFilter: needs 4096 MiB" in str(err.value)


def test_no_hosts_at_all():
    with pytest.raises(PlacementError, match="VDU A: the VIM reports no compute hosts"):
        place((), [req("A")])


def test_strict_anti_affinity_uses_distinct_hosts_or_fails():
    rule = PlacementSpec("P", "anti-affinity", True, ("VDU1", "VDU2"))
    # compute1 is roomiest for both, but VDU2 may not join VDU1
    hosts = (host("compute1", mem=16), host("compute2"))
    assert place(hosts, [req("VDU1"), req("VDU2")], [rule]) == {"k-VDU1-0": "compute1", "k-VDU2-0": "compute2"}
    with pytest.raises(PlacementError) as err:
        place(hosts[:1], [req("VDU1"), req("VDU2")], [rule])
    assert "VDU VDU2: compute1: ServerGroupAntiAffinityFilter: runs VDU1 of anti-affinity policy P" in str(err.value)


def test_non_strict_anti_affinity_prefers_but_does_not_refuse():
    rule = PlacementSpec("P", "anti-affinity", False, ("VDU1", "VDU2"))
    hosts = (host("compute1", mem=16), host("compute2"))
    assert place(hosts, [req("VDU1"), req("VDU2")], [rule])["k-VDU2-0"] == "compute2"
    assert place(hosts[:1], [req("VDU1"), req("VDU2")], [rule]) == {"k-VDU1-0": "compute1", "k-VDU2-0": "compute1"}


def test_affinity_strict_and_not():
    strict = PlacementSpec("P", "affinity", True, ("VDU1", "VDU2"))
    # spreading would put VDU2 on compute2; affinity keeps it with VDU1
    assert place(HOSTS, [req("VDU1"), req("VDU2"), req("X")], [strict]) == {
        "k-VDU1-0": "compute1", "k-VDU2-0": "compute1", "k-X-0": "compute2"}
    with pytest.raises(PlacementError, match="VDU VDU2: compute1: RamFilter.*compute2: ServerGroupAffinityFilter: "
                                             "affinity policy P keeps its VDUs on compute1"):
        place(HOSTS[:2], [req("VDU1", mem=8), req("VDU2", mem=8)], [strict])
    soft = PlacementSpec("P", "affinity", False, ("VDU1", "VDU2"))
    assert place(HOSTS[:2], [req("VDU1", mem=8), req("VDU2", mem=8)], [soft]) == {
        "k-VDU1-0": "compute1", "k-VDU2-0": "compute2"}
    assert place(HOSTS[:2], [req("VDU1"), req("VDU2")], [soft])["k-VDU2-0"] == "compute1"


def test_scale_out_counts_the_instances_already_placed():
    rule = PlacementSpec("P", "anti-affinity", True, ("VDU1",))
    running = [Placed("VDU1", 0, "compute2"), Placed("VDU1", 1, "compute1")]
    assert place(HOSTS, [req("VDU1", 2)], [rule], running) == {"k-VDU1-2": "compute3"}
    with pytest.raises(PlacementError, match=r"VDU VDU1#3: compute1: ServerGroupAntiAffinityFilter: runs VDU1#1 .*"
                                             r"compute3: ServerGroupAntiAffinityFilter: runs VDU1#2"):
        place(HOSTS, [req("VDU1", 2), req("VDU1", 3)], [rule], running)


def test_a_healed_instance_keeps_its_host_if_it_can():
    assert place(HOSTS, [req("A", keep="compute3")]) == {"k-A-0": "compute3"}
    assert place((host("compute1"), host("compute3", up=False)), [req("A", keep="compute3")]) == {"k-A-0": "compute1"}
