"""Host failure's pure parts and the NFVO's detector over fakes: a down host is no SFF, a host
failed by the operator is never restarted, one silent past the grace period is failed once."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from nfvo.computehosts import fence, fenced_hosts, unfence
from nfvo.hostops import HostOps
from nfvo.model import VimRecord
from nfvo.supervision import STATUS_FILE, ComponentState, failed_by_operator, status_document
from nfvo.vnffg.sffs import vim_switches
from tests.unit.nfvo.test_render_hosts import host


def test_a_down_host_leaves_the_switches_chains_render_onto() -> None:
    vims = [VimRecord("id", "local", "local", "br-int", 0xC0)]
    hosts = [host(1), replace(host(2), up=False, reason="failed by operator"), host(3)]
    assert set(vim_switches(vims, hosts)) == {"compute1", "compute3"}   # br-int stays covered by the others


def test_failed_by_operator_is_never_due_for_a_restart(tmp_path: Path) -> None:
    c = failed_by_operator(ComponentState("compute2/ovs-vswitchd", "up", pid=42), "drill")
    assert (c.state, c.pid, c.last_exit, c.retry_at) == ("failed", 0, "failed by operator: drill", float("inf"))
    fence(tmp_path, "compute2", "drill")
    assert fenced_hosts(tmp_path) == {"compute2": "drill"}
    unfence(tmp_path, "compute2")
    unfence(tmp_path, "compute2")   # idempotent
    assert fenced_hosts(tmp_path) == {} and fenced_hosts(tmp_path / "none") == {}


class _Vnfm:
    def __init__(self, hosts):
        self._hosts, self.calls, self.failed, self.vim = hosts, [], {}, self

    def hosts(self):
        return self._hosts


class _Ops(HostOps):
    def fail(self, name: str, why: str = ""):
        self.service.vnfm.calls.append((name, why))
        self.service.vnfm.vim.failed = {name: why}


class _Service:
    def __init__(self, hosts):
        self.vnfm = _Vnfm(hosts)


def test_the_detector_fails_a_host_silent_past_the_grace_period_once(tmp_path: Path) -> None:
    hosts = (host(1), host(2), host(3))
    ops = _Ops(_Service(hosts), tmp_path, grace=10.0)
    ops.service.vnfm.vim.failed = {}
    doc = status_document(1, 0.0, [ComponentState("compute2/ovsdb-server", "up"),
                                   ComponentState("compute2/ovs-vswitchd", "restarting", last_exit="killed")])
    (tmp_path / STATUS_FILE).write_text(json.dumps(doc))
    assert ops.check_once(100.0) == []          # the supervisor restarts it: give it the grace period
    assert ops.check_once(105.0) == []
    assert ops.check_once(110.5) == ["compute2"]
    assert ops.service.vnfm.calls == [("compute2", "did not answer for 10 s: compute2/ovs-vswitchd restarting")]
    assert ops.check_once(130.0) == []          # failed already
    # the VIM's own verdict counts too; the hub (compute1: DHCP, probes) is failed like the others
    ops.service.vnfm._hosts = (replace(host(1), up=False, reason="namespace gone"), host(2),
                               replace(host(3), up=False, reason="namespace x is gone"))
    (tmp_path / STATUS_FILE).write_text(json.dumps(status_document(1, 0.0, [])))
    ops.service.vnfm.vim.failed = {}
    assert ops.check_once(200.0) == [] and ops.check_once(211.0) == ["compute1", "compute3"]
    # ... but never the last host up: nothing would take its VDUs nor the hub's role
    ops.service.vnfm._hosts = (replace(host(1), up=False, reason="failed"), replace(host(2), up=False, reason="gone"))
    ops.service.vnfm.vim.failed, ops._since = {}, {}
    assert ops.check_once(300.0) == [] and ops.check_once(311.0) == []


class _Sdn:
    """The controller as HostOps sees it: ``disconnect`` drops a switch (or cannot be asked)."""

    def __init__(self, order: list, dpids: set[int], reachable: bool = True) -> None:
        self.order, self.dpids, self.reachable = order, dpids, reachable

    def disconnect(self, dpid: int) -> bool:
        if not self.reachable:
            raise ConnectionError("controller restarting")
        self.order.append(("disconnect", dpid))
        was = dpid in self.dpids
        self.dpids.discard(dpid)
        return was

    def connected(self) -> set[int]:
        return set(self.dpids)


class _FailingVnfm:
    def __init__(self, hosts, order: list) -> None:
        self._hosts, self.order, self.vim = hosts, order, self
        self.failed: dict[str, str] = {}

    def hosts(self):
        return self._hosts

    def mark_host_lost(self, host: str, why: str) -> int:
        self.order.append(("mark_host_lost", host))
        return 1

    def fail_host(self, host: str, why: str):
        from vnfm.evacuation import EvacuationPlan

        self.order.append(("fail_host", host))
        return EvacuationPlan(host, ())


class _Chains:
    def __init__(self, order: list) -> None:
        self.order = order

    def list(self):
        return [type("R", (), {"name": "udp"})()]

    def rerender(self, names, why) -> None:
        self.order.append(("rerender", tuple(names)))


def test_a_failed_host_s_switch_is_dropped_by_the_controller_before_the_chains_rerender(tmp_path: Path) -> None:
    """Not at its echo timeout: until then every re-render leaving the switch out waited for it
    and failed. A controller that cannot be asked drops it at its timeout: waited for."""
    order: list = []
    service = type("S", (), {})()
    service.vnfm, service.vnffgs = _FailingVnfm((host(1), host(2), host(3)), order), _Chains(order)
    doc = status_document(1, 0.0, [ComponentState("compute2/ovsdb-server", "failed"),
                                   ComponentState("compute2/ovs-vswitchd", "failed")])
    (tmp_path / STATUS_FILE).write_text(json.dumps(doc))
    ops = HostOps(service, tmp_path, _Sdn(order, {0xC1, 0xC2, 0xC3}))
    ops.fail("compute2")
    assert order == [("disconnect", 0xC2), ("mark_host_lost", "compute2"), ("rerender", ("udp",)),
                     ("fail_host", "compute2"), ("rerender", ("udp",))]
    assert fenced_hosts(tmp_path) == {"compute2": "failed by operator (nfv host fail)"}
    order.clear()
    ops.sdn = _Sdn(order, {0xC1, 0xC3}, reachable=False)       # its echo timeout dropped it already
    ops.fail("compute2", "again")
    assert order == [("mark_host_lost", "compute2"), ("rerender", ("udp",)), ("fail_host", "compute2"),
                     ("rerender", ("udp",))]
