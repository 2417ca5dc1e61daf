"""The rack plan: names and addresses follow from prefix and count, and fit the kernel's limits."""

from __future__ import annotations

import pytest

from dataplane import underlay as ul


def test_plan_names_addresses_and_macs() -> None:
    plan = ul.plan_underlay("nfab12", 3)
    assert [h.name for h in plan.hosts] == ["compute1", "compute2", "compute3"]
    h2 = plan.host("compute2")
    assert (h2.host_id, h2.netns, h2.uplink, h2.rack_port) == (2, "nfab12c2", "nfab12u2", "nfab12r2")
    assert h2.underlay_cidr == "172.31.250.2/24"
    assert h2.phy_mac == "02:00:ac:1f:fa:02"
    assert h2.datapath_id == 0x00C0000000000002
    assert plan.rack_netns == "nfab12rk"
    assert [p.name for p in plan.peers("compute2")] == ["compute1", "compute3"]
    assert plan.by_ip()["172.31.250.3"].name == "compute3"
    assert all(len(n) <= 15 for h in plan.hosts for n in (h.netns, h.uplink, h.rack_port))


def test_unique_names_per_prefix() -> None:
    a, b = ul.plan_underlay("nf0001", 2), ul.plan_underlay("nf0002", 2)
    names = {n for p in (a, b) for h in p.hosts for n in (h.netns, h.uplink, h.rack_port)}
    assert len(names) == 12


@pytest.mark.parametrize(("args", "kwargs", "says"), [
    (("nf-x", 2), {}, "prefix"),
    (("nfab12", 0), {}, "host count"),
    (("nfab12", 3), {"subnet": "10.0.0.0/25"}, "no room"),
    (("nfab1234", 2), {}, "prefix"),
    (("nfab12", 2), {"subnet": "10.0.0.0/33"}, "subnet"),
    (("nfab12", 2), {"mtu": 1500}, "MTU 1500"),
])
def test_bad_plans_are_refused_by_name(args: tuple[str, int], kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(ul.PlanError, match=says):
        ul.plan_underlay(*args, **kwargs)  # type: ignore[arg-type]


def test_unknown_host_is_named() -> None:
    with pytest.raises(ul.PlanError, match="compute9"):
        ul.plan_underlay("nfab12", 2).host("compute9")


def test_hand_wired_flows() -> None:
    out, back = ul.vl_flows(local_ofport=3, vni=100, peer_ip="172.31.250.2")
    assert "in_port=3" in out and "set_field:100->tun_id" in out and f"output:{ul.VXLAN_OFPORT}" in out
    assert back.endswith("in_port=11,tun_id=100,actions=output:3")
    assert ul.gpe_in_match(spi=0x40, si=254) == "in_port=10,packet_type=(1,0x894f),nsh_spi=0x40,nsh_si=254"
    assert ul.gpe_out(peer_ip="172.31.250.1", vni=7).endswith("output:10")


def test_hosts_are_added_after_the_highest_and_removed_by_name() -> None:
    plan = ul.plan_underlay("nfab12", 3).without_host("compute2")
    assert [h.name for h in plan.hosts] == ["compute1", "compute3"]
    grown = plan.with_host()
    assert [h.name for h in grown.hosts] == ["compute1", "compute3", "compute4"]
    assert grown.host("compute4").underlay_ip == "172.31.250.4" and grown.host("compute4").netns == "nfab12c4"
    assert grown.hosts[:2] == plan.hosts
    with pytest.raises(ul.PlanError, match="compute2"):
        plan.without_host("compute2")


def test_an_added_host_takes_the_next_number_and_a_name_of_its_own() -> None:
    plan = ul.plan_underlay("nfab12", 2)
    named = plan.with_host("edge-1")
    edge = named.host("edge-1")
    assert (edge.host_id, edge.netns, edge.uplink, edge.underlay_ip) == (3, "nfab12c3", "nfab12u3", "172.31.250.3")
    assert plan.with_host("compute3").hosts == plan.with_host().hosts
    for bad, says in (("compute7", "own numbers, and the new host is number 3"), ("compute2", "exists already"),
                      ("Bad_Name", "lowercase letters"), ("x", "2..32"), ("edge-", "not ending with '-'"),
                      ("1edge", "starting with a letter")):
        with pytest.raises(ul.PlanError, match=says):
            plan.with_host(bad)


def test_an_inventory_gives_back_the_same_plan() -> None:
    plan = ul.plan_underlay("nfab12", 3).without_host("compute2").with_host("edge1")
    assert plan.inventory == (("compute1", 1), ("compute3", 3), ("edge1", 4))
    assert ul.plan_inventory("nfab12", plan.inventory) == plan
    for bad, says in (((), "at least one host"), ((("a1", 1), ("a1", 2)), "repeats"), ((("a1", 1), ("b1", 1)), "repeats"),
                      ((("a1", 0),), "id 0 must be 1..250"), ((("A", 1),), "lowercase")):
        with pytest.raises(ul.PlanError, match=says):
            ul.plan_inventory("nfab12", bad)
