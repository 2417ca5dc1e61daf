"""The names of ``nfv up --hosts N`` follow from the stack's prefix (so ``nfv down`` finds them
after a crash), the management address is off the hosts' range, and "up" means every daemon."""

from __future__ import annotations

from nfvo.computehosts import host_ovsdb, management_ip, management_links, openflow_address, plan
from nfvo.supervision import ORDER, ComponentState, stack_up


def test_every_name_starts_with_the_stack_prefix() -> None:
    rack = plan("nf1a2b", 3)
    names = [rack.rack_netns, *management_links(rack)]
    names += [n for h in rack.hosts for n in (h.netns, h.uplink, h.rack_port)]
    assert all(n.startswith("nf1a2b") and len(n) <= 15 for n in names), names
    assert [h.name for h in rack.hosts] == ["compute1", "compute2", "compute3"]
    assert rack.mtu >= 1600 + 74     # a VL frame of the VIM's NSH MTU fits GPE+NSH and VXLAN


def test_management_address_is_outside_the_hosts_range() -> None:
    rack = plan("nfv", 250)
    assert management_ip(rack) == "172.31.250.254"
    assert management_ip(rack) not in {h.underlay_ip for h in rack.hosts}
    assert openflow_address(rack) == "172.31.250.254:6653"
    assert host_ovsdb("/run/nfvchain", "compute2") == "unix:/run/nfvchain/hosts/compute2/ovs/db.sock"


def test_stack_up_needs_every_component_up() -> None:
    one = [ComponentState(n, "up") for n in ORDER]
    assert stack_up(one)
    many = [ComponentState(f"compute{i}/{d}", "up") for i in (1, 2) for d in ("ovsdb-server", "ovs-vswitchd")]
    many += [ComponentState("controller", "up"), ComponentState("nfvo", "up")]
    assert stack_up(many)
    many[2] = ComponentState("compute2/ovsdb-server", "restarting")
    assert not stack_up(many)
    assert not stack_up([ComponentState("controller", "up"), ComponentState("nfvo", "up")])
