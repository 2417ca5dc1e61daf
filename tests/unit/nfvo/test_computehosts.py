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


def test_the_inventory_replaces_the_count_once_written(tmp_path) -> None:
    from nfvo.computehosts import stack_plan, write_inventory

    assert stack_plan(tmp_path, "nf1a2b", 2) == plan("nf1a2b", 2)
    grown = plan("nf1a2b", 2).with_host("edge1")
    write_inventory(tmp_path, grown)
    assert stack_plan(tmp_path, "nf1a2b", 2) == grown
    (tmp_path / "rack.json").write_text("{broken")
    assert stack_plan(tmp_path, "nf1a2b", 2) == plan("nf1a2b", 2)


def test_a_rack_change_is_answered_once(tmp_path) -> None:
    import threading

    import pytest

    from nfvo.computehosts import RackAnswer, answer_change, pending_change, request_rack_change

    assert pending_change(tmp_path) is None

    def supervisor() -> None:
        while (change := pending_change(tmp_path)) is None:
            pass
        assert (change.action, change.name) == ("add", "edge1")
        answer_change(tmp_path, RackAnswer(change.id, host="edge1"))

    worker = threading.Thread(target=supervisor)
    worker.start()
    got = request_rack_change(tmp_path, "add", "edge1", timeout=10)
    worker.join()
    assert (got.host, got.error) == ("edge1", "")
    assert pending_change(tmp_path) is None and not (tmp_path / "rack-request.json").exists()
    with pytest.raises(TimeoutError, match="did not remove compute host compute3 within 0 s"):
        request_rack_change(tmp_path, "remove", "compute3", timeout=0.2)
    assert pending_change(tmp_path) is None     # a request nobody answered in time is withdrawn


def test_a_host_whose_ovsdb_does_not_answer_at_start_is_down_until_it_does(monkeypatch, tmp_path) -> None:
    """A restarted NFVO with a failed (fenced) host: its OVSDB is opened once the host is back, and
    br-int pointed at the controller then; meanwhile every call says OvsdbError (the VIM: down)."""
    import pytest

    from dataplane import ovsdb
    from nfvo.computehosts import DeferredOvsdb, open_host_ovsdb

    answering: list[bool] = [False]
    calls: list[tuple] = []

    class FakeOvsdb:
        def __init__(self, remote: str, *, timeout: float = 10.0) -> None:
            if not answering[0]:
                raise ovsdb.OvsdbError(f"cannot connect to {remote}: Connection refused")

        def set_controller(self, bridge: str, target: str) -> None:
            calls.append(("set_controller", bridge, target))

        def list_ports(self, bridge: str) -> list:
            calls.append(("list_ports", bridge))
            return []

        def close(self) -> None:
            calls.append(("close",))

    monkeypatch.setattr(ovsdb, "Ovsdb", FakeOvsdb)
    db = open_host_ovsdb("unix:/nowhere/db.sock", "tcp:10.0.0.1:6653")
    assert isinstance(db, DeferredOvsdb)
    with pytest.raises(ovsdb.OvsdbError, match="Connection refused"):
        db.list_ports("br-int")
    assert calls == []
    answering[0] = True
    assert db.list_ports("br-int") == [] and db.list_ports("br-int") == []
    assert calls == [("set_controller", "br-int", "tcp:10.0.0.1:6653"), ("list_ports", "br-int"), ("list_ports", "br-int")]
    db.close()
    assert calls[-1] == ("close",)
    assert not isinstance(open_host_ovsdb("unix:/here/db.sock", "tcp:10.0.0.1:6653"), DeferredOvsdb)
