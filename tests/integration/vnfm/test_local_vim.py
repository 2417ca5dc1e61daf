"""The local VIM for real: namespaces, veths, tagged OVS ports, processes, volumes, monitoring."""

from __future__ import annotations

import os
import sys
import time

import pytest
from pyroute2 import IPRoute

from dataplane import netns
from descriptors import load_vnfd
from vnfm.errors import InvalidRequest, NotFound, VimError
from vnfm.images import ImageCatalog
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.model import Status as S
from vnfm.vim import process

from .conftest import vnfd_text

pytestmark = pytest.mark.integration


def ping(manager, name, ip, **kw) -> bool:
    res = manager.exec(name, [sys.executable, "-m", "dataplane.ping", ip.split("/")[0],
                              "-c", "1", "-W", "1"], **kw)
    return res.returncode == 0


def test_instantiate_hosts_talk_over_their_vl(manager, ovs, ovsdb):
    manager.ensure_network("net_data", "10.77.0.0/24")
    manager.ensure_network("net_other", "10.77.0.0/24")   # same subnet, another segment
    b = manager.instantiate("b", load_vnfd(vnfd_text()))
    a = manager.instantiate("a", load_vnfd(vnfd_text()), vnfd_name="host")
    c = manager.instantiate("c", load_vnfd(vnfd_text(data_net="net_other")))
    assert a.status == S.ACTIVE and a.vnfd_name == "host"
    cp = a.cp("CP2")
    assert (b.cp("CP2").ip, cp.ip, c.cp("CP2").ip) == ("10.77.0.2/24", "10.77.0.3/24",
                                                         "10.77.0.2/24")
    ports = {p.name: p for p in ovsdb.list_ports(cp.bridge)}
    assert ports[cp.ovs_port].ofport == cp.ofport
    assert ovs.vsctl("get", "Port", cp.ovs_port, "tag").strip() == str(cp.vlan)
    vdu = a.vdus[0]
    assert netns.netns_exists(vdu.namespace)
    assert cp.iface in netns.list_links(netns=vdu.namespace)
    assert not netns.get_tx_checksum(cp.iface, netns=vdu.namespace)
    with IPRoute(netns=vdu.namespace, flags=0) as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=cp.iface)[0])[0]
        assert link.get_attr("IFLA_ADDRESS") == cp.mac
    assert vdu.limits.startswith("cpus=1 mem=61MiB")   # enforced or says why not
    assert ping(manager, "a", b.cp("CP2").ip) and ping(manager, "b", a.cp("CP1").ip)
    # c's data CP is in the same subnet but on another VL (VLAN): no L2 path to a
    assert c.cp("CP2").vlan != cp.vlan
    assert not ping(manager, "c", cp.ip)


def test_http_ping_monitor_respawns(vim_env, vim_prefix):
    vim, url = vim_env
    cat = ImageCatalog().with_image("web", ["{python}", "-m", "http.server", "8000"])
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, catalog=cat)
    try:
        text = vnfd_text(image="web", action="respawn").replace(
            "name: ping", "name: http_ping").replace("timeout: 1}", "timeout: 1, port: 8000, "
                                                     "monitoring_delay: 2}").replace(
            "monitoring_delay: 0, ", "")
        rec = m.instantiate("w", load_vnfd(text))
        net = m.networks()["net_mgmt"]
        deadline = time.monotonic() + 5
        while not vim.probe("http_ping", net, rec.cp("CP1").ip, port=8000, timeout=0.5):
            assert time.monotonic() < deadline, "http server never answered"
            time.sleep(0.1)
        os.kill(rec.vdus[0].pid, 9)
        deadline = time.monotonic() + 10
        while m.get("w").vdus[0].pid == rec.vdus[0].pid or m.get("w").status != S.ACTIVE:
            assert time.monotonic() < deadline, m.get("w")
            time.sleep(0.05)
        assert [e.new for e in m.events("w")][-3:] == [S.DEAD, S.PENDING_HEAL, S.ACTIVE]
        m.terminate("w")
    finally:
        m.close()


def test_sf_image_volume_and_terminate(manager, vim_env, tmp_path):
    vim, _ = vim_env
    rec = manager.instantiate("fw", load_vnfd(vnfd_text(image="nsh-firewall", storage=True)))
    vdu = rec.vdus[0]
    assert vdu.pid and process.start_time(vdu.pid) is not None
    assert vdu.volume and os.path.getsize(vdu.volume) == 8 * 10**6
    assert os.stat(vdu.volume).st_blocks == 0          # sparse
    env = open(f"/proc/{vdu.pid}/environ", "rb").read().split(b"\0")
    assert f"NFV_VOLUME={vdu.volume}".encode() in env
    manager.terminate("fw")
    assert process.start_time(vdu.pid) is None
    assert not os.path.exists(vdu.volume) and not netns.netns_exists(vdu.namespace)
    assert vim.server_keys() == set()
    with pytest.raises(NotFound):
        manager.terminate("fw")


def test_failed_instantiate_rolls_back(vim_env, vim_prefix):
    vim, url = vim_env
    cat = ImageCatalog().with_image("broken", ["/bin/false"], ready="ready")
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix, catalog=cat)
    try:
        with pytest.raises(VimError, match="exited"):
            m.instantiate("x", load_vnfd(vnfd_text(image="broken")))
        assert m.get("x").status == S.ERROR and vim.server_keys() == set()
        with pytest.raises(InvalidRequest, match="unknown image"):
            m.instantiate("y", load_vnfd(vnfd_text(image="nope")))
        m.terminate("x")
    finally:
        m.close()


@pytest.mark.parametrize("action", ["respawn", "vdu_autoheal"])
def test_kill_process_heals_with_same_identities(manager, action):
    events = []
    manager.subscribe(events.append)
    rec = manager.instantiate("fw", load_vnfd(vnfd_text(image="nsh-forwarder", action=action)))
    os.kill(rec.vdus[0].pid, 9)
    t0 = time.monotonic()
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not any(e.new == S.ACTIVE and e.old == S.PENDING_HEAL
                                                  for e in events):
        time.sleep(0.05)
    healed = manager.get("fw")
    assert healed.status == S.ACTIVE, healed.reason
    took = time.monotonic() - t0
    assert took < 6, took
    assert [e.new for e in events[2:5]] == [S.DEAD, S.PENDING_HEAL, S.ACTIVE]
    assert events[4].changed_cps == ("CP1", "CP2")
    assert healed.vdus[0].pid != rec.vdus[0].pid
    assert [(c.mac, c.ip, c.ofport, c.ovs_port) for c in healed.cps] == \
        [(c.mac, c.ip, c.ofport, c.ovs_port) for c in rec.cps]


def test_cut_port_goes_dead_then_heals(manager, ovsdb):
    rec = manager.instantiate("h", load_vnfd(vnfd_text(action="vdu_autoheal")))
    mgmt = rec.cp("CP1")
    netns.delete_link(mgmt.ovs_port)           # cut: the veth (and its peer) disappear
    events = []
    manager.subscribe(events.append)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e.old == S.PENDING_HEAL for e in events):
        time.sleep(0.05)
    assert [e.new for e in events[:3]] == [S.DEAD, S.PENDING_HEAL, S.ACTIVE], events
    healed = manager.get("h")
    assert healed.cp("CP1") == mgmt
    assert netns.link_exists(mgmt.ovs_port)


def test_scale_out_and_in(manager):
    rec = manager.instantiate("s", load_vnfd(vnfd_text(scaling=True)))
    out = manager.scale("s", "SP1", "out")
    assert [v.instance for v in out.vdus] == [0, 1]
    new = out.vdu("VDU1", 1)
    assert netns.netns_exists(new.namespace) and new.cps[1].ip != rec.cps[1].ip
    assert ping(manager, "s", rec.cp("CP2").ip, instance=1)
    with pytest.raises(InvalidRequest, match="max_instances"):
        manager.scale("s", "SP1", "out")
    back = manager.scale("s", "SP1", "in")
    assert back.vdus == rec.vdus and not netns.netns_exists(new.namespace)


def test_restart_adopts_vnfs_and_removes_orphans(vim_env, vim_prefix):
    vim, url = vim_env
    m1 = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix)
    rec = m1.instantiate("fw", load_vnfd(vnfd_text(image="nsh-counter", action="respawn")))
    m1.close()
    orphan = f"{vim_prefix}zzz00"
    netns.create_veth(orphan, "eth0", orphan + "0")
    assert orphan in vim.server_keys()
    m2 = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix)
    try:
        assert m2.get("fw") == rec
        assert process.start_time(rec.vdus[0].pid) is not None   # kept running meanwhile
        assert not netns.netns_exists(orphan) and orphan not in vim.server_keys()
        time.sleep(1.5)     # the new watcher finds it healthy: no heal
        assert m2.get("fw").status == S.ACTIVE and m2.get("fw").vdus == rec.vdus
        m2.terminate("fw")
    finally:
        m2.close()
