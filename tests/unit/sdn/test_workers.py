"""Per-switch workers: a frozen switch holds up only itself; acks and rollbacks stay honest."""

from __future__ import annotations

import threading
import time

import pytest

from sdn.controller import SfcController
from sdn.docfile import load_document, parse_paths
from sdn.document import ServicePath
from sdn.driver import ApplyError
from sdn.render import FlowCache, compute_owned_states, compute_switch_states
from tests.unit.sdn.fake_driver import FakeDriver

PORTS = {1: {"client": 1, "fw0": 2}, 2: {"client": 1, "fw0": 2}}
DOC = """
switches: [{name: a, dpid: 1}, {name: b, dpid: 2}]
service_functions:
  - {name: fwa, instances: [{switch: a, port: fw0}]}
  - {name: fwb, instances: [{switch: b, port: fw0}]}
service_function_paths:
  - {name: pa, spi: 10, hops: [fwa], classifiers: [{name: ca, in_port: client, match: {tcp_dst: 80}}]}
  - {name: pb, spi: 20, hops: [fwb], classifiers: [{name: cb, in_port: client, match: {tcp_dst: 80}}]}
"""

B_ONLY = """
switches: [{name: b, dpid: 2}]
service_functions: [{name: fwb, instances: [{switch: b, port: fw0}]}]
service_function_paths:
  - {name: pb, spi: 20, hops: [fwb], classifiers: [{name: cb, in_port: client, match: {tcp_dst: 80}}]}
"""


def path(name: str, spi: int, hop: str, port: int) -> ServicePath:
    (parsed,) = parse_paths([{"name": name, "spi": spi, "hops": [hop],
                              "classifiers": [{"name": name, "in_port": "client", "match": {"tcp_dst": port}}]}])
    return parsed


@pytest.fixture
def two():
    driver = FakeDriver()
    controller = SfcController(driver, timeout=2.0)
    driver.connect(1, PORTS[1])
    driver.connect(2, PORTS[2])
    controller.apply_document(load_document(DOC))
    yield driver, controller
    for dpid in (1, 2):
        driver.release(dpid)
    controller.stop()
    assert not [w for w in controller._workers.values() if w._thread.is_alive()], "worker threads leaked"


def by_dpid(controller) -> dict:
    return {s.dpid: s for s in controller.status()}


def test_a_frozen_switch_holds_up_neither_other_changes_nor_status(two):
    driver, controller = two
    driver.hold(1)
    outcome: dict = {}

    def change_a():
        try:
            outcome["result"] = controller.upsert_paths([path("pa2", 11, "fwa", 81)])
        except ApplyError as exc:
            outcome["error"] = exc

    pending = threading.Thread(target=change_a)
    pending.start()
    time.sleep(0.1)  # the change on A is in flight
    t0 = time.monotonic()
    result = controller.upsert_paths([path("pb2", 21, "fwb", 81)])
    status = by_dpid(controller)
    assert time.monotonic() - t0 < 0.5, "B's change and status() must not wait for A"
    assert pending.is_alive()
    assert result.changes[2] > 0 and result.changes[1] == 0
    assert status[2].generation == result.generation, "B acknowledged the new generation"
    assert status[1].generation == 1, "A acknowledged neither pending generation"
    driver.release(1)
    pending.join(5)
    assert "result" in outcome
    assert controller.settle()
    doc = controller.document
    assert {p.name for p in doc.paths} == {"pa", "pb", "pa2", "pb2"}
    assert [s.generation for s in controller.status()] == [controller.generation] * 2, "A caught up"
    for dpid in (1, 2):
        assert driver.tables[dpid] == compute_switch_states(doc, PORTS)[dpid]


def test_timeout_rolls_back_the_switches_already_changed(two):
    driver, controller = two
    before = dict(driver.tables)
    driver.hold(1)
    doc = load_document(DOC.replace("tcp_dst: 80", "tcp_dst: 8080"))  # touches both switches
    with pytest.raises(ApplyError, match="0x1"):
        controller.apply_document(doc)
    assert controller.generation == 1 and controller.document == load_document(DOC)
    assert driver.tables[2] == before[2], "B was rolled back"
    assert controller.settle()  # A's worker reads A back: the refused generation never landed
    status = by_dpid(controller)
    assert status[2].generation == 1 and not status[2].error
    assert status[1].generation == 1 and driver.tables[1] == before[1]
    driver.release(1)
    assert controller.apply_document(load_document(DOC)).changes == {1: 0, 2: 0}


def test_a_later_change_on_top_keeps_its_document_when_the_earlier_fails(two):
    driver, controller = two
    driver.hold(1)
    errors: list = []

    def change_a():
        try:
            controller.upsert_paths([path("pa2", 11, "fwa", 81)])
        except ApplyError as exc:
            errors.append(exc)

    pending = threading.Thread(target=change_a)
    pending.start()
    time.sleep(0.1)
    later = controller.upsert_paths([path("pb2", 21, "fwb", 81)])
    pending.join(10)
    assert errors, "A timed out"
    assert controller.generation == later.generation, "the later document stays in force"
    assert {p.name for p in controller.document.paths} == {"pa", "pb", "pa2", "pb2"}
    status = by_dpid(controller)
    assert status[1].generation == 1 and status[1].error and status[2].generation == later.generation
    driver.release(1)
    controller._workers[1].notify("connected")  # the switch is back: read back, converge
    assert controller.settle()
    assert by_dpid(controller)[1].generation == later.generation
    assert driver.tables[1] == compute_switch_states(controller.document, PORTS)[1]


def test_unchanged_switch_acknowledges_without_io(two):
    driver, controller = two
    applied = len(driver.applied)
    result = controller.upsert_paths([path("pb2", 21, "fwb", 81)])
    assert [d for d, _ in driver.applied[applied:]] == [2]
    assert result.changes[1] == 0
    assert [s.generation for s in controller.status()] == [result.generation] * 2


def test_port_change_is_handled_by_the_worker(two):
    driver, controller = two
    moved = {"client": 1, "fw0": 5}
    driver.connect(1, moved, keep=True)  # connected again with the SF on another port
    assert controller.settle()
    assert driver.tables[1] == compute_switch_states(controller.document, {1: moved})[1]
    assert by_dpid(controller)[1].generation == controller.generation


def test_two_controllers_share_no_cache():
    doc = load_document(DOC)
    one, other = FlowCache(), FlowCache()
    a, b = compute_owned_states(doc, PORTS, one), compute_owned_states(doc, PORTS, other)
    assert a == b and a[1]["path:pa"] is not b[1]["path:pa"]
    assert compute_owned_states(doc, PORTS, one)[1]["path:pa"] is a[1]["path:pa"]
    assert compute_owned_states(doc, PORTS) == a, "no cache: same flows"


def test_a_switch_connected_before_the_controller_listened_converges(tmp_path):
    """A restarted controller reads its state file before it subscribes to the driver; a switch
    that reconnected meanwhile (OVS retries within a second) must still get a worker and converge
    on the held document, not wait for an event that has passed."""
    driver, state = FakeDriver(), tmp_path / "state.pb"
    first = SfcController(driver, timeout=2.0, state_file=state)
    driver.connect(1, PORTS[1])
    driver.connect(2, PORTS[2])
    first.apply_document(load_document(DOC))
    held = dict(driver.tables)
    first.stop()
    driver.callbacks.clear()
    driver.tables.clear()  # as if the switches had lost our flows: the new controller must put them back
    second = SfcController(driver, timeout=2.0, state_file=state)  # both switches are connected already
    try:
        assert second.settle(5.0)
        assert driver.tables == held
        assert {s.state for s in second.path_status()} == {"ACTIVE"}
    finally:
        second.stop()


def test_a_switch_known_dead_is_dropped_at_once_and_changes_no_longer_wait_for_it(two):
    """Its host fenced, a switch that no longer answers (held) would hold up every change that
    touches it (a document leaving it out removes our flows from it) until its echo timeout:
    ``disconnect`` drops it, its paths are DOWN, and a document without it applies at once."""
    driver, controller = two
    driver.hold(1)
    assert controller.disconnect(1) is True
    assert controller.disconnect(1) is False      # gone already
    (pa,) = controller.path_status(["pa"])
    assert pa.state == "DOWN" and "not connected" in pa.reason, pa
    t0 = time.monotonic()
    result = controller.apply_document(load_document(B_ONLY))
    assert time.monotonic() - t0 < 0.5 and set(result.changes) == {2}, result
    assert [p.name for p in controller.document.paths] == ["pb"]
