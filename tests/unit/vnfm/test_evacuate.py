"""``VnfManager.evacuate`` over a fake VIM's two hosts: the down host's instances move, keeping
their identities, a VDU pinned to it gives its zone up, nothing else moves; an up host is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vnfm import selfheal
from vnfm.errors import VnfmError
from vnfm.model import Status as S

from .test_placement import PINNED, TWO, mgr2, vim2  # noqa: F401 - fixtures


def test_evacuate_moves_the_down_hosts_instances_keeping_names_and_addresses(mgr2, vim2):  # noqa: F811
    pinned = mgr2.instantiate("pinned", PINNED, params={"zone": "compute2"})
    other = mgr2.instantiate("other", PINNED, params={"zone": "compute1"})
    before = pinned.vdus[0]
    assert before.host == "compute2" and other.vdus[0].host == "compute1"
    with pytest.raises(VnfmError, match="compute host compute2 is up"):
        mgr2.evacuate("compute2")
    vim2.host_specs = (TWO[0], replace(TWO[1], up=False, reason="failed by operator"))
    plan = mgr2.evacuate("compute2")
    assert [(e.vnf_name, e.labels, e.unpin) for e in plan.evacuees] == [("pinned", ("VDU1",), ("VDU1",))]
    after = mgr2.get("pinned")
    moved = after.vdus[0]
    assert after.status == S.ACTIVE and moved.host == "compute1" and {c.bridge for c in moved.cps} == {"br-c1"}
    assert (moved.key, [(c.ip, c.mac) for c in moved.cps]) == (before.key, [(c.ip, c.mac) for c in before.cps])
    assert mgr2.get("other").vdus == other.vdus   # untouched
    with pytest.raises(VnfmError, match="no compute host 'compute9'"):
        mgr2.evacuate("compute9")


def test_a_monitor_does_not_act_on_a_vdu_of_a_lost_host_the_evacuation_rebuilds_it(mgr2, vim2):  # noqa: F811
    """Its ping probes fail too (they may be on the failed hub): a respawn racing the evacuation
    healed the VNF under it, which then had nothing to move (``nfv host fail`` said nothing moved)."""
    vim2.failed = {}
    rec = mgr2.instantiate("pinned", PINNED, params={"zone": "compute2"})
    vdu = rec.vdus[0]
    assert mgr2.mark_host_lost("compute2", "drill") == 1
    assert vim2.failed == {"compute2": "drill"} and mgr2.get("pinned").status == S.DEAD
    made = list(vim2.log)
    selfheal.act(mgr2, rec.id, vdu, "respawn", "ping failed")          # the monitor's verdict comes in
    assert vim2.log == made and mgr2.get("pinned").vdus[0].host == "compute2"
    vim2.host_specs = (TWO[0], replace(TWO[1], up=False, reason="drill"))
    plan = mgr2.fail_host("compute2", "drill")
    assert [e.labels for e in plan.evacuees] == [("VDU1",)]
    assert mgr2.get("pinned").vdus[0].host == "compute1"
