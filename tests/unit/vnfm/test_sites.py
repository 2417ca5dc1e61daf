"""The VL segments between compute hosts as values: a loop-free star, VNI = VLAN, MTU checked."""

from __future__ import annotations

import pytest

from vnfm.model import Network
from vnfm.vim.sites import HostSite, check_mtu, is_segment_port, segment_ports

NETS = [Network("a", 0x2A, "10.0.0.0/24"), Network("b", 7, "10.0.1.0/24"), Network("a", 0x2A, "10.0.0.0/24")]


def site(i: int, mtu: int = 1700) -> HostSite:
    return HostSite(f"compute{i}", None, "br-int", f"nsc{i}", host_id=i, underlay_ip=f"172.31.250.{i}",  # type: ignore[arg-type]
                    underlay_mtu=mtu)


def test_a_star_around_the_first_host_one_port_per_network_and_peer() -> None:
    ports = segment_ports([site(1), site(2), site(3)], NETS, "nfx")
    assert [p.name for p in ports["compute1"]] == ["vl007h2", "vl007h3", "vl02ah2", "vl02ah3"]
    assert [p.name for p in ports["compute2"]] == [p.name for p in ports["compute3"]] == ["vl007h1", "vl02ah1"]
    p = ports["compute3"][1]
    assert (p.port_type, p.tag, dict(p.options or {})) == (
        "vxlan", 0x2A, {"remote_ip": "172.31.250.1", "key": "42", "dst_port": "4789"})
    assert p.external_ids["nfv-owner"] == "nfx" and p.external_ids["nfv-peer"] == "compute1"
    assert all(is_segment_port(x.name) for x in ports["compute1"]) and not is_segment_port("vx0")


def test_one_host_needs_no_segment_ports() -> None:
    assert segment_ports([site(1)], NETS, "nfx") == {"compute1": ()}


def test_an_underlay_too_small_for_the_vl_mtu_is_refused() -> None:
    check_mtu([site(1), site(2)], 1600)
    with pytest.raises(ValueError, match=r"compute2: underlay MTU 1600 .* \(needs 1650\)"):
        check_mtu([site(1), site(2, 1600)], 1600)


def test_a_joining_host_gets_the_star_legs_and_a_leaving_ones_are_found_by_peer() -> None:
    from dataplane.ovsdb import PortInfo
    from vnfm.vim.sites import ports_to

    legs = segment_ports([site(1), site(4)], NETS, "nfx")    # what join() ensures for a fourth host
    assert [p.name for p in legs["compute1"]] == ["vl007h4", "vl02ah4"]
    assert [p.name for p in legs["compute4"]] == ["vl007h1", "vl02ah1"]
    ports = [PortInfo(p.name, "vxlan", 5, "", None, dict(p.external_ids or {}))
             for p in segment_ports([site(1), site(2), site(3)], NETS, "nfx")["compute1"]]
    ports.append(PortInfo("vx0", "vxlan", 11, "", None, {"nfv-peer": "compute3"}))
    assert ports_to(ports, "compute3") == ["vl007h3", "vl02ah3"]
