"""Crashes inside VNF create, VNFFG create/update/delete, classifier changes and NS create,
in-process: a named crash point raises SystemExit (as ``os._exit`` would, nothing below it runs
and no rollback), then a new NFVO starts on the same stores. After ``start()`` the store, the
controller's document and the VIM agree, no intent or PENDING record is left, and the next
change works. (tests/integration/nfvo/test_crash_recovery.py does it with kill -9 for real.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from nfvo.intents import BACK, FORWARD
from tests.unit.nfvo.conftest import SAMPLES, make_stack, onboard_demo
from vnfm import faults


@pytest.fixture
def crash(monkeypatch):
    """``crash(point)``: the next time ``point`` is reached the "process" dies (SystemExit)."""
    def die(name: str) -> None:
        raise SystemExit(137)
    monkeypatch.setattr(faults, "_die", die)
    return lambda point: monkeypatch.setenv("NFV_CRASH_AT", point)


def restart(stack, monkeypatch):
    """A new NFVO on the same stores, VIM and controller; (stack, the reconciliation's events)."""
    monkeypatch.delenv("NFV_CRASH_AT", raising=False)
    stack.vnfm.close()
    again = make_stack(Path(stack.store_url.removeprefix("sqlite:///")).parent, store_url=stack.store_url,
                       vim=stack.vim, driver=stack.driver, controller=stack.controller, sdn_address=stack.sdn_address)
    events = again.nfvo.bus.subscribe()
    again.nfvo.start()
    seen = []
    while not events.empty():
        seen.append(events.get_nowait())
    return again, [e for e in seen if e.old.startswith("INTERRUPTED")]


def agree(stack) -> None:
    """No intent, nothing PENDING; controller paths = the rows' SPIs; VIM servers = the VNFs' VDUs."""
    nfvo = stack.nfvo
    assert nfvo.store.list("INTENT") == []
    statuses = [*(v.status for v in nfvo.list_vnfs()), *(r.status for r in nfvo.vnffgs.list()),
                *(n.status for n in nfvo.list_ns())]
    assert not [s for s in statuses if str(s).startswith("PENDING")], statuses
    assert {p.spi for p in stack.controller.document.paths} == {spi for r in nfvo.vnffgs.list() for _, spi in r.spis}
    assert set(stack.vim.servers) == {d.key for v in nfvo.list_vnfs() for d in v.vdus}
    owned = {vnf for ns in nfvo.list_ns() for _, vnf in ns.vnfs} | {"client", "server", "fw1", "cnt1"}
    assert {v.name for v in nfvo.list_vnfs()} <= owned | {"x"}, "a VNF nobody made or owns"


def base(stack):
    onboard_demo(stack.nfvo)
    stack.nfvo.create_vnf("fw1", "fw")
    stack.nfvo.create_vnf("cnt1", "counter")
    stack.nfvo.create_vnffg("A", chain="fw1")
    stack.nfvo.create_classifier("a-web", "A", "tcp_dst=80")


VNF_CASES = [("vnf-create.started", None), ("vnf-create.vdu-created", None), ("vnf-create.instantiated", "ACTIVE")]


@pytest.mark.parametrize(("point", "after"), VNF_CASES)
def test_crash_in_vnf_create(stack, crash, monkeypatch, point, after):
    base(stack)
    crash(point)
    with pytest.raises(SystemExit):
        stack.nfvo.create_vnf("x", "counter")
    again, events = restart(stack, monkeypatch)
    assert [(e.kind, e.name, e.new) for e in events] == [("VNF", "x", FORWARD if after else BACK)]
    assert {v.name: v.status for v in again.nfvo.list_vnfs()}.get("x") == after
    agree(again)
    again.nfvo.create_vnffg("B", chain="cnt1")   # the next change works
    agree(again)
    again.vnfm.close()


@pytest.mark.parametrize(("point", "wait", "kept"), [
    ("vnffg-create.started", True, False), ("vnffg-create.committed", True, False),
    ("vnffg-create.stored", True, True), ("vnffg-create.pending", False, True)])
def test_crash_in_vnffg_create(stack, crash, monkeypatch, point, wait, kept):
    base(stack)
    crash(point)
    with pytest.raises(SystemExit):
        stack.nfvo.create_vnffg("B", chain="cnt1,fw1", wait=wait)
    again, _ = restart(stack, monkeypatch)
    names = {r.name: r.status for r in again.nfvo.vnffgs.list()}
    assert ("B" in names) == kept and names.get("B", "ACTIVE") == "ACTIVE", names
    agree(again)
    again.nfvo.create_classifier("b-dns", "B" if kept else "A", "udp_dst=53")
    agree(again)
    again.vnfm.close()


@pytest.mark.parametrize(("point", "kept"), [("vnffg-update.committed", False), ("vnffg-update.stored", True),
                                             ("vnffg-update.pending", True)])
def test_crash_in_classifier_create(stack, crash, monkeypatch, point, kept):
    base(stack)
    crash(point)
    with pytest.raises(SystemExit):
        stack.nfvo.create_classifier("a-dns", "A", "udp_dst=53", wait=point != "vnffg-update.pending")
    again, _ = restart(stack, monkeypatch)
    record = again.nfvo.vnffgs.get("A")
    assert record.status == "ACTIVE"
    assert ("a-dns" in {c.name for p in record.spec.paths for c in p.classifiers}) == kept
    agree(again)
    again.nfvo.update_classifier("a-web", "tcp_dst=8080")
    assert again.nfvo.vnffgs.get("A").status == "ACTIVE"
    agree(again)
    again.vnfm.close()


def test_crash_in_vnffg_delete_finishes_it(stack, crash, monkeypatch):
    base(stack)
    crash("vnffg-delete.committed")
    with pytest.raises(SystemExit):
        stack.nfvo.delete_vnffg("A")
    again, _ = restart(stack, monkeypatch)
    assert again.nfvo.vnffgs.list() == [] and stack.controller.document.paths == ()
    agree(again)
    again.vnfm.close()


def onboard_ns(nfvo):
    nfvo.catalog.create_descriptor("VNFD", "demo-ns-firewall", (SAMPLES / "demo-ns-firewall.yaml").read_text())
    nfvo.catalog.create_descriptor("VNFD", "demo-ns-counter", (SAMPLES / "demo-ns-counter.yaml").read_text())
    nfvo.catalog.create_descriptor("NSD", "demo-ns", (SAMPLES / "demo-ns-nsd.yaml").read_text())


@pytest.mark.parametrize(("point", "verdict"), [
    ("ns-create.started", BACK), ("ns-create.vnf", BACK), ("vnf-create.vdu-created", BACK),
    ("vnffg-create.committed", BACK), ("ns-create.vnffg", FORWARD), ("ns-create.stored", FORWARD)])
def test_crash_in_ns_create_leaves_nothing_no_ns_owns(stack, crash, monkeypatch, point, verdict):
    base(stack)
    onboard_ns(stack.nfvo)
    crash(point)
    with pytest.raises(SystemExit):
        stack.nfvo.create_ns("web", "demo-ns", {"web_ports": "8000-8000"})
    again, events = restart(stack, monkeypatch)
    assert [(e.name, e.new) for e in events if e.kind == "NS"] == [("web", verdict)]
    ns = {n.name: n.status for n in again.nfvo.list_ns()}
    vnfs = {v.name for v in again.nfvo.list_vnfs()}
    if verdict == FORWARD:
        assert ns == {"web": "ACTIVE"} and {"web-firewall", "web-counter"} <= vnfs
        assert again.nfvo.vnffgs.get("web-web_chain").status == "ACTIVE"
    else:
        assert ns == {} and not {v for v in vnfs if v.startswith("web-")}
        assert "web-web_chain" not in {r.name for r in again.nfvo.vnffgs.list()}
    agree(again)
    if verdict == BACK:   # the next change works: the same NS again
        assert again.nfvo.create_ns("web", "demo-ns", {"web_ports": "8000-8000"}).status == "ACTIVE"
    again.nfvo.delete_ns("web")
    agree(again)
    again.vnfm.close()


def test_a_background_push_that_dies_of_anything_leaves_error_not_pending(stack, monkeypatch):
    """Not only an NfvoError: whatever the push raises, the record says ERROR and why."""
    base(stack)

    def broken(*_args, **_kwargs):
        raise RuntimeError("controller client blew up")
    monkeypatch.setattr(stack.nfvo.engine, "commit", broken)
    stack.nfvo.create_vnffg("B", chain="cnt1", wait=False)
    record = stack.nfvo.vnffgs.get("B")
    assert record.status == "ERROR" and "blew up" in record.reason
    assert stack.nfvo.store.list("INTENT") == []


def test_pending_records_without_an_intent_are_resolved_at_start(stack, monkeypatch):
    """A PENDING row with no intent (e.g. from before intents existed): rendered at start, and
    its status is what the controller then holds."""
    base(stack)
    record = stack.nfvo.vnffgs.get("A")
    stack.nfvo.store.update("VNFFG", record.id, {**record.to_dict(), "status": "PENDING_UPDATE"})
    again, events = restart(stack, monkeypatch)
    assert events == [] and again.nfvo.vnffgs.get("A").status == "ACTIVE"
    agree(again)
    again.vnfm.close()


def test_crash_point_is_one_shot_with_a_file_and_a_no_op_otherwise(tmp_path):
    import subprocess
    import sys

    marker = tmp_path / "crash-at"
    marker.write_text("here\n")
    code = "from vnfm.faults import crash_point; crash_point('elsewhere'); crash_point('here'); print('lived')"
    env = {"NFV_CRASH_FILE": str(marker), "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 137 and "crash point here" in first.stderr and not marker.exists()
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.strip() == "lived"


@pytest.mark.parametrize("point", ["ns-delete.started", "ns-delete.vnffg", "ns-delete.vnf"])
def test_crash_in_ns_delete_finishes_it(stack, crash, monkeypatch, point):
    base(stack)
    onboard_ns(stack.nfvo)
    stack.nfvo.create_ns("web", "demo-ns", {"web_ports": "8000-8000"})
    crash(point)
    with pytest.raises(SystemExit):
        stack.nfvo.delete_ns("web")
    again, events = restart(stack, monkeypatch)
    assert [(e.name, e.new) for e in events if e.kind == "NS"] == [("web", FORWARD)]
    assert again.nfvo.list_ns() == [] and not {v.name for v in again.nfvo.list_vnfs() if v.name.startswith("web-")}
    agree(again)
    assert again.nfvo.create_ns("web", "demo-ns", {"web_ports": "8000-8000"}).status == "ACTIVE"
    agree(again)
    again.vnfm.close()
