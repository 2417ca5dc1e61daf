"""DHCP on every VL for real: dnsmasq on tagged OVS ports, busybox udhcpc in the VDUs' namespaces.

The VIM's allocation stays the truth: a VDU port that asks gets exactly its CP's address, an
unknown MAC gets nothing; scaling adds a lease without restarting the server, an address moved
to a new MAC is handed to it, the last VNF of a network takes its server away.
"""

from __future__ import annotations

import os
import time

import pytest

from dataplane import netns
from descriptors import load_vnfd
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim import process
from vnfm.vim.dhcp import INNER_IF

from .conftest import vnfd_text
from .test_local_vim import ping

pytestmark = pytest.mark.integration

SCRIPT = """#!/bin/sh
# udhcpc's event script: on a lease, say what was offered and configure it (as ifup would)
if [ "$1" = bound ]; then
  echo "lease ip=$ip mask=$mask router=$router dns=$dns hostname=$hostname server=$serverid"
  ip addr add "$ip/$mask" dev "$interface"
fi
exit 0
"""


@pytest.fixture
def script() -> str:
    """The event script's text: udhcpc runs it inside the VDU (a container: the host's /tmp is
    not there), so ``udhcpc`` writes it into the VDU's own /run first."""
    return SCRIPT


def udhcpc(manager, name: str, script: str, *, iface: str = "eth1", instance: int = 0,
           flush: bool = True) -> dict[str, str]:
    """Drop the port's static address, then ask DHCP for one; the offer's fields ({} if none)."""
    if flush:
        manager.exec(name, ["ip", "addr", "flush", "dev", iface], instance=instance)
    res = manager.exec(name, ["sh", "-c", 'printf "%s" "$1" > /run/udhcpc.script && chmod +x /run/udhcpc.script && '
                              f'busybox udhcpc -i {iface} -n -q -t 3 -T 1 -s /run/udhcpc.script', "sh", script],
                       instance=instance, timeout=20)
    line = next((x for x in res.stdout.splitlines() if x.startswith("lease ")), "")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def addresses(manager, name: str, iface: str = "eth1", instance: int = 0) -> list[str]:
    out = manager.exec(name, ["ip", "-o", "-4", "addr", "show", "dev", iface], instance=instance).stdout
    return [line.split()[3] for line in out.splitlines()]


def dhcp_names(vim_prefix: str) -> dict[str, list[str]]:
    return {"namespaces": [n for n in netns.list_netns() if n.startswith(f"{vim_prefix}-dhcp")],
            "links": [n for n in netns.list_links() if n.startswith(f"{vim_prefix}-d")]}


def test_vdu_port_gets_exactly_its_vim_address(manager, vim_env, script):
    vim, _ = vim_env
    manager.ensure_network("net_data", "10.78.0.0/24")
    a = manager.instantiate("a", load_vnfd(vnfd_text()))
    b = manager.instantiate("b", load_vnfd(vnfd_text()))
    cp = b.cp("CP2")
    t0 = time.monotonic()
    offer = udhcpc(manager, "b", script)
    took = time.monotonic() - t0
    assert offer == {"ip": cp.ip.split("/")[0], "mask": "24", "router": "", "dns": "",
                     "hostname": "b-vdu1", "server": "10.78.0.253"}, offer
    assert addresses(manager, "b") == [cp.ip]
    assert ping(manager, "b", a.cp("CP2").ip) and ping(manager, "a", cp.ip)
    assert took < 3, took
    assert set(vim.dhcp.servers()) == {"net_mgmt", "net_data"}
    # the management port too, by its own network's server
    assert udhcpc(manager, "a", script, iface="eth0")["ip"] == a.cp("CP1").ip.split("/")[0]
    # a MAC the VIM did not allocate gets nothing
    manager.exec("a", ["ip", "link", "set", "eth1", "address", "fa:16:3e:99:99:99"])
    assert udhcpc(manager, "a", script) == {}
    assert addresses(manager, "a") == []


def test_scale_out_adds_a_lease_without_restarting_dnsmasq(manager, vim_env, script):
    vim, _ = vim_env
    manager.instantiate("s", load_vnfd(vnfd_text(scaling=True)))
    assert udhcpc(manager, "s", script)["ip"] == manager.get("s").cp("CP2").ip.split("/")[0]
    pids = vim.dhcp.servers()
    out = manager.scale("s", "SP1", "out")
    new = out.cp("CP2", 1)
    assert udhcpc(manager, "s", script, instance=1)["ip"] == new.ip.split("/")[0]
    assert addresses(manager, "s", instance=1) == [new.ip]
    assert vim.dhcp.servers() == pids                      # same dnsmasq processes: SIGHUP only
    manager.scale("s", "SP1", "in")
    assert vim.dhcp.servers() == pids


def test_an_address_moved_to_a_new_mac_is_handed_to_it(manager, vim_env, script):
    vim, _ = vim_env
    manager.instantiate("keep", load_vnfd(vnfd_text()))    # holds the networks' servers
    old = manager.instantiate("old", load_vnfd(vnfd_text()))
    assert udhcpc(manager, "old", script)                  # dnsmasq now has a lease for old's MAC
    pids = vim.dhcp.servers()
    manager.terminate("old")
    new = manager.instantiate("new", load_vnfd(vnfd_text()))
    assert new.cp("CP2").ip == old.cp("CP2").ip and new.cp("CP2").mac != old.cp("CP2").mac
    assert udhcpc(manager, "new", script)["ip"] == new.cp("CP2").ip.split("/")[0]
    assert vim.dhcp.servers() == pids


def test_last_vnf_of_a_network_takes_its_server_away(manager, vim_env, vim_prefix, ovsdb, script):
    vim, _ = vim_env
    manager.instantiate("a", load_vnfd(vnfd_text()))
    manager.instantiate("o", load_vnfd(vnfd_text(data_net="net_other")))
    servers = vim.dhcp.servers()
    assert set(servers) == {"net_mgmt", "net_data", "net_other"}
    other = manager.networks()["net_other"]
    port = f"{vim_prefix}-d{other.vlan:03x}"
    assert port in {p.name for p in ovsdb.list_ports(vim.bridge)}
    manager.terminate("o")
    assert set(vim.dhcp.servers()) == {"net_mgmt", "net_data"}
    assert process.start_time(servers["net_other"]) is None
    assert port not in {p.name for p in ovsdb.list_ports(vim.bridge)}
    assert not netns.link_exists(port) and not netns.netns_exists(f"{vim_prefix}-dhcp-{other.vlan:03x}")
    manager.terminate("a")
    assert vim.dhcp.servers() == {} and all(process.start_time(p) is None for p in servers.values())
    assert dhcp_names(vim_prefix) == {"namespaces": [], "links": []}
    assert not vim.dhcp.state_dir.exists()
    assert not [p.name for p in ovsdb.list_ports(vim.bridge)] and vim.server_keys() == set()


def test_restarted_manager_adopts_or_restarts_servers(vim_env, vim_prefix, script):
    vim, url = vim_env
    m1 = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, monitor=False)
    m1.instantiate("a", load_vnfd(vnfd_text()))
    pids = vim.dhcp.servers()
    m1.close()
    assert vim.server_keys() == {v.key for v in m1.get("a").vdus}     # no DHCP name taken for a server
    m2 = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, monitor=False)
    try:
        assert vim.dhcp.servers() == pids                 # found again by (pid, start time)
        os.kill(pids["net_data"], 9)
        netns.delete_link(f"{vim_prefix}-d{m2.networks()['net_mgmt'].vlan:03x}")   # a cut port
        m2.close()
        m2 = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, monitor=False)
        again = vim.dhcp.servers()
        assert set(again) == set(pids) and all(again[n] != pids[n] for n in pids)
        assert INNER_IF in netns.list_links(netns=f"{vim_prefix}-dhcp-{m2.networks()['net_mgmt'].vlan:03x}")
        rec = m2.get("a")
        assert udhcpc(m2, "a", script)["ip"] == rec.cp("CP2").ip.split("/")[0]
        assert udhcpc(m2, "a", script, iface="eth0")["ip"] == rec.cp("CP1").ip.split("/")[0]
        m2.terminate("a")
        assert dhcp_names(vim_prefix) == {"namespaces": [], "links": []}
    finally:
        m2.close()


def test_a_dead_server_is_restarted_by_the_supervisor(manager, vim_env, script):
    vim, _ = vim_env
    rec = manager.instantiate("a", load_vnfd(vnfd_text()))
    pids = vim.dhcp.servers()
    os.kill(pids["net_data"], 9)
    t0 = time.monotonic()
    while vim.dhcp.servers().get("net_data") in (None, pids["net_data"]):
        assert time.monotonic() - t0 < 5, "dnsmasq was not restarted"
        time.sleep(0.05)
    took = time.monotonic() - t0
    assert vim.dhcp.servers()["net_mgmt"] == pids["net_mgmt"]
    assert udhcpc(manager, "a", script)["ip"] == rec.cp("CP2").ip.split("/")[0]
    assert took < 2.5, took
    manager.terminate("a")
    deadline = time.monotonic() + 3
    while vim.dhcp.supervising and time.monotonic() < deadline:   # nothing left to supervise
        time.sleep(0.05)
    assert not vim.dhcp.supervising
