from __future__ import annotations

import pytest

from vnfm.errors import AlreadyExists, InvalidRequest, NotFound, VimError
from vnfm.manager import VnfManager
from vnfm.sqlstore import VnfSqlStore
from vnfm.model import Status as S
from vnfm.monitor import monitor_targets

from .conftest import Clock


def test_instantiate_records_everything(mgr, vim, firewall):
    events = []
    mgr.subscribe(events.append)
    rec = mgr.instantiate("fw1", firewall, vnfd_name="nsh-firewall")
    assert rec.status == S.ACTIVE and rec.vnfd_name == "nsh-firewall"
    (vdu,) = rec.vdus
    assert vdu.pid and vdu.namespace == vdu.key and vdu.key.startswith("fk")
    cp1, cp2 = rec.cp("CP1"), rec.cp("CP2")
    assert (cp1.iface, cp2.iface) == ("eth0", "eth1")
    assert cp1.mac != cp2.mac and cp1.ip.endswith("/24") and cp1.ofport > 0
    assert cp1.vlan != cp2.vlan and cp1.bridge == vim.bridge
    assert [(e.old, e.new) for e in events] == [("", S.PENDING_CREATE),
                                                (S.PENDING_CREATE, S.ACTIVE)]
    assert mgr.get(rec.id) == mgr.get("fw1") == rec and mgr.list() == [rec]
    assert {n.name for n in vim.probes} == {"net_mgmt"}   # ping watches the management CP
    assert mgr.exec("fw1", ["true"]).returncode == 0


def test_bad_requests_leave_state_unchanged(mgr, vim, firewall, scaler):
    from dataclasses import replace
    mgr.instantiate("fw1", firewall)
    before = (mgr.list(), set(vim.servers))
    with pytest.raises(AlreadyExists):
        mgr.instantiate("fw1", firewall)
    with pytest.raises(InvalidRequest, match="unknown image"):
        mgr.instantiate("fw2", replace(firewall, vdus=(replace(firewall.vdus[0], image="zz"),)))
    with pytest.raises(NotFound):
        mgr.terminate("nope")
    with pytest.raises(InvalidRequest, match="no scaling policy"):
        mgr.scale("fw1", "SP9", "out")
    assert (mgr.list(), set(vim.servers)) == before
    mgr.terminate("fw1")
    with pytest.raises(NotFound):
        mgr.terminate("fw1")
    assert mgr.list() == [] and vim.servers == {}


def test_failed_instantiate_rolls_back(mgr, vim, scaler):
    from dataclasses import replace
    two = replace(scaler, scaling_policies=(replace(scaler.scaling_policies[0],
                                                    default_instances=2),))
    vim.fail_create = {"fk00001"}   # the second instance fails
    with pytest.raises(VimError, match="injected"):
        mgr.instantiate("s1", two)
    rec = mgr.get("s1")
    assert rec.status == S.ERROR and "rolled back" in rec.reason and rec.vdus == ()
    assert vim.servers == {}
    mgr.terminate("s1")
    assert mgr.list() == []


def test_scale_out_in_and_limits(mgr, vim, scaler):
    events = []
    mgr.subscribe(events.append)
    mgr.instantiate("s1", scaler)
    rec = mgr.scale("s1", "SP1", "out")
    assert [v.instance for v in rec.vdus] == [0, 1] and events[-1].changed_cps == ("CP1#1",)
    rec = mgr.scale("s1", "SP1", "out")
    with pytest.raises(InvalidRequest, match="exceed max_instances 3"):
        mgr.scale("s1", "SP1", "out")
    assert mgr.get("s1") == rec and len(vim.servers) == 3
    rec = mgr.scale("s1", "SP1", "in")
    assert [v.instance for v in rec.vdus] == [0, 1] and events[-1].changed_cps == ("CP1#2",)
    mgr.scale("s1", "SP1", "in")
    with pytest.raises(InvalidRequest, match="below min_instances 1"):
        mgr.scale("s1", "SP1", "in")
    with pytest.raises(InvalidRequest, match="direction"):
        mgr.scale("s1", "SP1", "sideways")


def test_heal_keeps_identities(mgr, vim, firewall):
    events = []
    mgr.subscribe(events.append)
    rec = mgr.instantiate("fw1", firewall)
    healed = mgr.heal("fw1")
    assert healed.status == S.ACTIVE
    assert [(c.name, c.mac, c.ip, c.ofport, c.ovs_port) for c in healed.cps] == \
        [(c.name, c.mac, c.ip, c.ofport, c.ovs_port) for c in rec.cps]
    assert [(e.old, e.new) for e in events[-2:]] == [(S.ACTIVE, S.PENDING_HEAL),
                                                    (S.PENDING_HEAL, S.ACTIVE)]
    assert events[-1].changed_cps == ("CP1", "CP2")


def test_monitor_verdicts_drive_actions(mgr, vim, firewall):
    rec = mgr.instantiate("fw1", firewall)
    (t,) = monitor_targets([(rec, mgr._vnfs[rec.id].spec)], mgr.networks())
    vim.kill(t.key)
    mgr._on_verdict(t, "failed", "process gone")
    evs = [(e.old, e.new) for e in mgr.events("fw1")]
    assert (S.ACTIVE, S.DEAD) in evs and evs[-1] == (S.PENDING_HEAL, S.ACTIVE)
    assert vim.alive(t.key)


def test_restart_adopts_and_collects_garbage(vim, store_url, firewall):
    m1 = VnfManager(vim, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    rec = m1.instantiate("fw1", firewall)
    m1.close()
    vim.servers["fkzzz00"] = vim.servers[rec.vdus[0].key]   # an orphan no record owns
    m2 = VnfManager(vim, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    assert m2.get("fw1") == rec
    assert set(vim.servers) == {rec.vdus[0].key}
    m2.terminate("fw1")
    m2.close()


def test_interrupted_instantiate_is_undone(vim, store_url, scaler):
    m1 = VnfManager(vim, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    rec = m1.instantiate("s1", scaler)
    # simulate a crash mid-instantiate: the record says PENDING_CREATE
    from dataclasses import replace
    m1.store.put(replace(rec, status=S.PENDING_CREATE, vdus=()))
    m1.close()
    m2 = VnfManager(vim, VnfSqlStore(store_url, "fk"), prefix="fk", now=Clock(), monitor=False)
    assert m2.get("s1").status == S.ERROR and vim.servers == {}
    m2.close()


@pytest.mark.parametrize("action", ["log", "log_and_kill"])
def test_log_actions(mgr, vim, firewall, action):
    from dataclasses import replace
    mon = firewall.vdus[0].monitoring
    vnfd = replace(firewall, vdus=(replace(firewall.vdus[0], monitoring=replace(
        mon, actions={"failure": action})),))
    rec = mgr.instantiate("fw1", vnfd)
    (t,) = monitor_targets([(rec, mgr._vnfs[rec.id].spec)], mgr.networks())
    mgr._on_verdict(t, "failed", "no answer")
    if action == "log":
        assert mgr.get("fw1").status == S.DEAD
        mgr._on_verdict(t, "recovered", "")
        assert mgr.get("fw1").status == S.ACTIVE
    else:
        assert mgr.list() == [] and vim.servers == {}


def test_ensure_network(mgr):
    net = mgr.ensure_network("n1", "192.168.5.0/24")
    assert net.cidr == "192.168.5.0/24" and mgr.ensure_network("n1") == net
    with pytest.raises(InvalidRequest):
        mgr.ensure_network("n1", "10.0.0.0/24")
    with pytest.raises(InvalidRequest):
        mgr.ensure_network("n2", "not-a-cidr")
