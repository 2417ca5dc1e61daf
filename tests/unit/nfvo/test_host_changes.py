"""``nfv host add|remove`` over fakes: what the NFVO refuses and why, the order of its steps,
the rollback of an add that fails half-way, and the supervisor taking a built host's daemons
over (or removing the host again when it cannot)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from nfvo import computehosts
from nfvo.computehosts import RackAnswer, RackChange, answer_change, read_answer
from nfvo.errors import FailedPrecondition, InvalidArgument, NotFound
from nfvo.hostops import REMOVING, HostOps
from nfvo.supervisor import Supervisor
from tests.unit.nfvo.test_render_hosts import host


@dataclass
class _Vim:
    hosts: list[Any]
    failed: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def add_site(self, site: Any) -> None:
        self.calls.append(("add_site", site.name))
        self.hosts.append(host(len(self.hosts) + 1))

    def remove_site(self, name: str) -> None:
        self.calls.append(("remove_site", name))
        self.hosts[:] = [h for h in self.hosts if h.name != name]

    def site(self, name: str) -> Any:
        return _Site()

    def purge_host(self, name: str) -> tuple[str, ...]:
        self.calls.append(("purge_host", name))
        return ()


class _Site:
    class db:  # noqa: N801 - a stand-in for the site's Ovsdb
        @staticmethod
        def close() -> None:
            pass


@dataclass
class _Vdu:
    key: str
    name: str = "VDU1"
    instance: int = 0


@dataclass
class _Vnf:
    name: str
    vdus: tuple[_Vdu, ...]


class _Vnfm:
    def __init__(self, vim: _Vim) -> None:
        self.vim, self.vnfs = vim, [_Vnf("web", (_Vdu("nfxweb11"),))]

    def hosts(self) -> tuple[Any, ...]:
        out = []
        for h in self.vim.hosts:
            reason = self.vim.failed.get(h.name, "")
            out.append(replace(h, up=not reason, reason=reason))
        return tuple(out)

    def list(self) -> list[_Vnf]:
        return self.vnfs

    def fail_host(self, name: str, why: str) -> Any:
        self.vim.calls.append(("fail_host", why))
        self.vim.failed[name] = why
        self.vim.hosts[:] = [replace(h, servers=()) if h.name == name else h for h in self.vim.hosts]
        return None


class _Vnffgs:
    def __init__(self) -> None:
        self.rerenders: list[tuple[list[str], str]] = []

    def list(self) -> list[Any]:
        return []

    def rerender(self, names: list[str], why: str) -> None:
        self.rerenders.append((names, why))


class _Service:
    def __init__(self, hosts: list[Any]) -> None:
        self.vnfm, self.vnffgs = _Vnfm(_Vim(hosts)), _Vnffgs()


class _Ops(HostOps):
    connect_error: Exception | None = None

    def _connect(self, new: Any, rack: Any) -> Any:
        if self.connect_error is not None:
            raise self.connect_error
        return new


class _Calls(list):
    """The requests the fake supervisor got, and what it answers per action ("" = done)."""

    errors: dict[str, str]


@pytest.fixture
def rack_calls(monkeypatch) -> _Calls:
    """The supervisor's side: every request answered at once."""
    calls = _Calls()
    calls.errors = {}

    def request(state_dir: Path, action: str, name: str = "", timeout: float = 60.0) -> RackAnswer:
        calls.append((action, name))
        return RackAnswer("id", name, calls.errors.get(action, ""))

    monkeypatch.setattr(computehosts, "request_rack_change", request)
    return calls


def test_bad_names_are_refused_before_the_supervisor_is_asked(tmp_path: Path, rack_calls) -> None:
    ops = _Ops(_Service([host(1), host(2)]), tmp_path)
    for name, says in (("compute7", "the new host is number 3"), ("compute2", "exists already"),
                       ("Edge", "lowercase"), ("nova", "the scheduler's zone for any host")):
        with pytest.raises(InvalidArgument, match=says) as exc:
            ops.add(name)
        assert exc.value.field == "name"
    assert rack_calls == []


def test_an_added_host_joins_the_vim_after_it_is_connected_and_chains_rerender(tmp_path: Path, rack_calls) -> None:
    service = _Service([host(1), host(2)])
    result = _Ops(service, tmp_path).add()
    assert result.host == "compute3" and rack_calls == [("add", "compute3")]
    assert service.vnfm.vim.calls == [("add_site", "compute3")]
    assert service.vnffgs.rerenders == [([], "compute host compute3 added")]


def test_an_add_that_fails_half_way_is_undone(tmp_path: Path, rack_calls) -> None:
    service = _Service([host(1), host(2)])
    ops = _Ops(service, tmp_path)
    ops.connect_error = FailedPrecondition("compute host compute3: its br-int did not connect", "name")
    with pytest.raises(FailedPrecondition, match="did not connect"):
        ops.add()
    assert rack_calls == [("add", "compute3"), ("remove", "compute3")]   # built, then removed again
    assert service.vnfm.vim.calls == [] and service.vnffgs.rerenders == []
    rack_calls.clear()
    rack_calls.errors["add"] = "cannot start compute host compute3: ovsdb-server did not answer"
    with pytest.raises(FailedPrecondition, match="the supervisor could not add it: cannot start"):
        ops.add()
    assert rack_calls == [("add", "compute3")]      # the supervisor left nothing: nothing to undo


def test_removal_is_refused_for_the_last_host_up_unknown_hosts_and_hosts_with_vdus(tmp_path: Path, rack_calls) -> None:
    service = _Service([host(1), host(2)])
    service.vnfm.vim.failed["compute2"] = "failed by operator"
    with pytest.raises(FailedPrecondition, match=r"compute1 is the last one up \(compute2: failed by operator\)"):
        _Ops(service, tmp_path).remove("compute1")
    assert rack_calls == [] and service.vnfm.vim.calls == []
    service = _Service([host(1), host(2), host(3, servers=("nfxweb11", "nfxstray1"))])
    ops = _Ops(service, tmp_path)
    with pytest.raises(NotFound, match="no compute host 'compute9'"):
        ops.remove("compute9")
    with pytest.raises(FailedPrecondition, match=r"compute3 holds VDUs web/VDU1, nfxstray1: .*--evacuate"):
        ops.remove("compute3")
    assert rack_calls == [] and service.vnfm.vim.calls == []


def test_a_host_leaves_the_vim_and_the_chains_before_its_ovs_stops(tmp_path: Path, rack_calls) -> None:
    service = _Service([host(1), host(2), host(3, servers=("nfxweb11",))])
    result = _Ops(service, tmp_path).remove("compute3", evacuate=True)
    assert service.vnfm.vim.calls == [("fail_host", REMOVING), ("purge_host", "compute3"), ("remove_site", "compute3")]
    assert service.vnffgs.rerenders == [([], "compute host compute3 removed")]
    assert rack_calls == [("remove", "compute3")] and result.removed.name == "compute3"
    # the supervisor failed to remove it: the host is out of the VIM, and a second remove finishes it
    service = _Service([host(1), host(2), host(3)])
    rack_calls.clear()
    rack_calls.errors["remove"] = "teardown of compute host compute3: busy"
    ops = _Ops(service, tmp_path)
    with pytest.raises(FailedPrecondition, match="nfv host remove compute3 again finishes it"):
        ops.remove("compute3")
    computehosts.write_inventory(tmp_path, computehosts.plan("nfx", 3))
    rack_calls.errors.clear()
    ops.remove("compute3")
    assert rack_calls == [("remove", "compute3"), ("remove", "compute3")]


class _Rack:
    """The supervisor's rack: builds "hosts" whose daemons are sleeps (or fail to start)."""

    def __init__(self, fail: bool = False) -> None:
        self.plan = computehosts.plan("nfx", 1)
        self.fail, self.procs, self.removed = fail, [], []

    def add_host(self, name: str | None) -> str:
        self.plan = self.plan.with_host(name)
        return self.plan.hosts[-1].name

    def remove_host(self, name: str) -> None:
        self.removed.append(name)
        self.plan = self.plan.without_host(name)

    def _start(self, name: str) -> subprocess.Popen[bytes]:
        if self.fail:
            raise RuntimeError(f"{name}'s ovsdb-server did not answer")
        proc = subprocess.Popen(["sleep", "30"])
        self.procs.append(proc)
        return proc

    start_ovsdb = start_vswitchd = _start


def _supervisor(tmp_path: Path, rack: _Rack) -> Supervisor:
    sup = Supervisor(tmp_path, None, hosts=1)
    sup.rack = rack     # type: ignore[assignment]
    sup.children = {**{c.name: c for c in sup._host_children("compute1")},
                    **{n: c for n, c in sup.children.items() if n in ("controller", "nfvo")}}
    return sup


def test_the_supervisor_takes_an_added_hosts_daemons_over_and_drops_a_removed_ones(tmp_path: Path) -> None:
    rack = _Rack()
    sup = _supervisor(tmp_path, rack)
    try:
        (tmp_path / computehosts.REQUEST).write_text('{"id": "a", "action": "add", "name": "edge1"}')
        sup._apply_rack_change()
        assert read_answer(tmp_path) == RackAnswer("a", "edge1", "")
        assert list(sup.children) == ["compute1/ovsdb-server", "compute1/ovs-vswitchd", "edge1/ovsdb-server",
                                      "edge1/ovs-vswitchd", "controller", "nfvo"]
        assert sup.children["edge1/ovs-vswitchd"].state.state == "up"
        sup._apply_rack_change()                       # answered: not done twice
        assert len(rack.procs) == 2
        for change, says in ((RackChange("b", "remove", "compute9"), "no compute host 'compute9'"),
                             (RackChange("c", "remove", "compute9"), "no compute host 'compute9'")):
            (tmp_path / computehosts.REQUEST).write_text(f'{{"id": "{change.id}", "action": "remove", '
                                                         f'"name": "{change.name}"}}')
            sup._apply_rack_change()
            assert says in read_answer(tmp_path).error
        (tmp_path / computehosts.REQUEST).write_text('{"id": "d", "action": "remove", "name": "edge1"}')
        sup._apply_rack_change()
        assert read_answer(tmp_path) == RackAnswer("d", "edge1", "") and rack.removed == ["edge1"]
        assert not [n for n in sup.children if n.startswith("edge1/")]
    finally:
        for proc in rack.procs:
            proc.kill()
            proc.wait()


def test_a_host_whose_daemons_cannot_be_supervised_is_removed_again(tmp_path: Path) -> None:
    rack = _Rack(fail=True)
    sup = _supervisor(tmp_path, rack)
    answer_change(tmp_path, RackAnswer("old"))
    (tmp_path / computehosts.REQUEST).write_text('{"id": "a", "action": "add", "name": ""}')
    sup._apply_rack_change()
    answer = read_answer(tmp_path)
    assert answer is not None and answer.id == "a" and "compute2's ovsdb-server did not answer" in answer.error
    assert rack.removed == ["compute2"] and [h.name for h in rack.plan.hosts] == ["compute1"]
    assert not [n for n in sup.children if n.startswith("compute2/")]


def test_an_add_the_supervisor_does_not_answer_in_time_is_withdrawn(tmp_path: Path, monkeypatch) -> None:
    calls: list[tuple[str, str]] = []

    def request(state_dir: Path, action: str, name: str = "", timeout: float = 60.0) -> RackAnswer:
        calls.append((action, name))
        if action == "add":
            raise TimeoutError("the supervisor did not add compute host compute3 within 90 s")
        return RackAnswer("id", name)

    monkeypatch.setattr(computehosts, "request_rack_change", request)
    service = _Service([host(1), host(2)])
    with pytest.raises(FailedPrecondition, match="compute3 could not be built: the supervisor did not add"):
        _Ops(service, tmp_path).add()
    assert calls == [("add", "compute3"), ("remove", "compute3")] and service.vnfm.vim.calls == []
