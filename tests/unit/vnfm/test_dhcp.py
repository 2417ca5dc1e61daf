"""The DHCP agent's pure part (names, dnsmasq configuration, hosts file, leases, DHCPRELEASE) and
the manager's level-triggered DHCP hosts, on the fake VIM."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from vnfm import lifecycle as lc
from vnfm.errors import InvalidRequest
from vnfm.model import Network
from vnfm.vim import dhcp
from vnfm.vim.base import DhcpHost

MGMT = Network("net_mgmt", 100, "10.96.0.0/24")
DATA = Network("net_data", 0xffe, "10.77.0.0/24")
TINY = Network("net_tiny", 102, "10.5.0.0/30")
STATE = Path("/state/dhcp")


def hosts() -> list[DhcpHost]:
    return [DhcpHost("net_mgmt", "FA:16:3E:00:00:03", "10.96.0.3/24", "fw-VDU1"),
            DhcpHost("net_mgmt", "fa:16:3e:00:00:02", "10.96.0.2", "web_VDU1-1"),
            DhcpHost("net_data", "fa:16:3e:00:00:04", "10.77.0.2/24", "fw-VDU1")]


def test_one_server_per_network_with_hosts():
    plan = dhcp.plan_servers("abcdefghi", [MGMT, DATA, TINY], hosts(), STATE)
    assert sorted(plan) == ["064", "ffe"]                 # VLAN 100 and 4094; none for no hosts
    srv = plan["064"]
    assert (srv.namespace, srv.port, srv.address) == ("abcdefghi-dhcp-064", "abcdefghi-d064", "10.96.0.253/24")
    assert len(plan["ffe"].port) <= 15
    assert [(h.mac, h.ip) for h in srv.hosts] == [("fa:16:3e:00:00:02", "10.96.0.2"),
                                                  ("fa:16:3e:00:00:03", "10.96.0.3")]
    assert srv.hosts_text == "fa:16:3e:00:00:02,10.96.0.2,web-vdu1-1\nfa:16:3e:00:00:03,10.96.0.3,fw-vdu1\n"
    assert plan["ffe"].hosts_text == "fa:16:3e:00:00:04,10.77.0.2,fw-vdu1\n"


def test_dnsmasq_hands_static_leases_only_without_gateway_or_dns():
    argv = dhcp.plan_servers("p", [MGMT], hosts()[:2], STATE)["064"].argv
    assert argv[0] == "/usr/sbin/dnsmasq" and "--keep-in-foreground" in argv
    assert "--port=0" in argv                                              # no DNS, no DNS option
    assert "--dhcp-range=set:064,10.96.0.0,static,255.255.255.0,86400s" in argv
    assert "--dhcp-option=tag:064,option:router" in argv                   # empty: no gateway sent
    assert "--dhcp-hostsfile=/state/dhcp/064/hosts" in argv
    assert "--dhcp-leasefile=/state/dhcp/064/leases" in argv
    assert "--dhcp-option=tag:064,option:router,10.96.0.1" in dhcp.dnsmasq_argv(MGMT, STATE, "10.96.0.1")


@pytest.mark.parametrize("bad, match", [
    (DhcpHost("net_x", "fa:16:3e:00:00:09", "10.96.0.9"), "unknown network 'net_x'"),
    (DhcpHost("net_mgmt", "fa:16:3e:00:00:09", "10.1.0.9"), "not in net_mgmt's subnet"),
    (DhcpHost("net_mgmt", "fa:16:3e:00:00:02", "10.96.0.9"), "mac fa:16:3e:00:00:02 is given to two"),
    (DhcpHost("net_mgmt", "fa:16:3e:00:00:09", "10.96.0.2"), "ip 10.96.0.2 is given to two"),
    (DhcpHost("net_mgmt", "fa:16:3e:00:00:09", "10.96.0.253"), "ip 10.96.0.253 is given to two"),
])
def test_bad_hosts_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        dhcp.plan_servers("p", [MGMT, DATA], [*hosts(), bad], STATE)


def test_hostnames_are_dns_labels_dnsmasq_does_not_take_for_lease_times():
    assert dhcp.hostname("VDU_1") == "vdu-1"
    assert dhcp.hostname("12h") == "h-12h"
    assert dhcp.hostname("__") == ""
    assert len(dhcp.hostname("x" * 80)) == 63
    same = [DhcpHost("n", "fa:16:3e:00:00:01", "10.0.0.2", "a"), DhcpHost("n", "fa:16:3e:00:00:02", "10.0.0.3", "A")]
    assert dhcp.hosts_file(same) == "fa:16:3e:00:00:01,10.0.0.2,a\nfa:16:3e:00:00:02,10.0.0.3\n"


def test_leases_of_pairs_no_longer_wanted_are_stale():
    srv = dhcp.plan_servers("p", [MGMT], hosts()[:2], STATE)["064"]
    text = ("1796245825 fa:16:3e:00:00:02 10.96.0.2 web-vdu1-1 01:fa:16:3e:00:00:02\n"
            "1796245825 fa:16:3e:00:00:09 10.96.0.3 old *\n"         # the address moved to a new MAC
            "duid 00:01:00:01\n")
    assert dhcp.stale_leases(text, srv) == [dhcp.Lease("fa:16:3e:00:00:09", "10.96.0.3", "")]
    assert dhcp.kept_leases(text, srv) == ("1796245825 fa:16:3e:00:00:02 10.96.0.2 web-vdu1-1 "
                                           "01:fa:16:3e:00:00:02\nduid 00:01:00:01\n")


def test_release_packet_is_an_rfc2131_dhcprelease():
    pkt = dhcp.release_packet(dhcp.Lease("fa:16:3e:00:00:09", "10.96.0.3", "01:fa:16:3e:00:00:09"),
                              "10.96.0.253", 0x1234)
    op, htype, hlen, _, xid = struct.unpack("!BBBBI", pkt[:8])
    assert (op, htype, hlen, xid) == (1, 1, 6, 0x1234)
    assert socket.inet_ntoa(pkt[12:16]) == "10.96.0.3"                     # ciaddr
    assert pkt[28:34] == bytes.fromhex("fa163e000009")                     # chaddr
    assert pkt[236:240] == b"\x63\x82\x53\x63"
    opts = pkt[240:]
    assert opts[:3] == bytes([53, 1, 7]) and opts[3:9] == bytes([54, 4, 10, 96, 0, 253])
    assert opts[9:11] == bytes([61, 7]) and opts[-1] == 255
    assert 61 not in dhcp.release_packet(dhcp.Lease("fa:16:3e:00:00:09", "10.96.0.3"), "10.96.0.253", 1)[249:250]


def test_the_vim_never_allocates_the_dhcp_servers_address():
    net = Network("n", 100, "10.0.0.0/29")          # hosts .1-.6: gateway .1, DHCP .5, monitor .6
    assert (lc.dhcp_ip(net), lc.probe_ip(net)) == ("10.0.0.5", "10.0.0.6")
    used: set[str] = set()
    for _ in range(3):
        used.add(lc.allocate_ip(net, used, None).split("/")[0])
    assert used == {"10.0.0.2", "10.0.0.3", "10.0.0.4"}
    with pytest.raises(InvalidRequest, match="no free address"):
        lc.allocate_ip(net, used, None)
    with pytest.raises(InvalidRequest, match="10.0.0.5 is already used"):
        lc.allocate_ip(net, set(), "10.0.0.5")
    assert lc.dhcp_ip(TINY) == ""


# -- the manager keeps the VIM's DHCP hosts in step with its records ---------------------------
def test_manager_hands_every_cp_address_and_drops_them_with_the_vnf(mgr, vim, firewall, scaler):
    seen_at_create = []
    create = vim.create_server
    vim.create_server = lambda req: (seen_at_create.append(dict(vim.dhcp)), create(req))[1]
    rec = mgr.instantiate("fw1", firewall)
    want = {cp.vl: (DhcpHost(cp.vl, cp.mac, cp.ip.split("/")[0], "fw1-VDU1"),) for cp in rec.cps}
    assert vim.dhcp == want
    assert seen_at_create == [want]                 # the leases exist before the VDU boots
    s = mgr.instantiate("s1", scaler)
    mgr.scale("s1", "SP1", "out")
    scaled = [h for h in vim.dhcp["net_scale"]]
    assert [h.hostname for h in scaled] == ["s1-VDU1", "s1-VDU1-1"]
    assert {(h.mac, h.ip) for h in scaled} == {(c.mac, c.ip.split("/")[0]) for c in mgr.get("s1").cps}
    mgr.heal("s1", "VDU1", instance=1)
    assert vim.dhcp["net_scale"] == tuple(scaled)
    mgr.scale("s1", "SP1", "in")
    assert [h.hostname for h in vim.dhcp["net_scale"]] == ["s1-VDU1"]
    mgr.terminate("fw1")
    mgr.terminate(s.id)
    assert vim.dhcp == {}


def test_failed_create_takes_its_pending_leases_back(mgr, vim, scaler):
    vim.fail_create = {"*"}
    with pytest.raises(Exception, match="injected"):
        mgr.instantiate("s1", scaler)
    assert vim.dhcp == {}
