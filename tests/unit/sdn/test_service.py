"""The controller core against an in-memory driver: generations, diffs, failures, reconnects.

Switch events are handled on each switch's worker thread: ``settle()`` waits for them."""

from __future__ import annotations

import pytest

from sdn.docfile import load_document, parse_paths
from sdn.document import DocumentError
from sdn.driver import ApplyError
from sdn.render import compute_switch_states
from sdn.controller import SfcController
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import DOC, PORTS


@pytest.fixture
def setup():
    driver = FakeDriver()
    controller = SfcController(driver)
    driver.connect(1, PORTS[1])
    assert controller.settle()
    yield driver, controller
    controller.stop()


def test_apply_installs_exactly_the_computed_state(setup):
    driver, controller = setup
    result = controller.apply_document(load_document(DOC))
    assert result.generation == 1 and result.changes[1] > 0
    assert driver.tables[1] == compute_switch_states(load_document(DOC), PORTS)[1]
    assert [s.generation for s in controller.status()] == [1]


def test_same_document_twice_sends_nothing(setup):
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    count = len(driver.applied)
    result = controller.apply_document(load_document(DOC))
    assert result.changes == {1: 0} and len(driver.applied) == count


def test_missing_port_changes_nothing(setup):
    """A port the change itself names (here: nat's new port) must be there: refused, naming it."""
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    before = driver.tables[1]
    bad = DOC.replace("port: nat0", "port: nat9")
    with pytest.raises(DocumentError, match="nat9"):
        controller.apply_document(load_document(bad))
    assert driver.tables[1] == before and controller.generation == 1


def test_disconnected_switch_is_refused(setup):
    driver, controller = setup
    driver.disconnect(1)
    with pytest.raises(DocumentError, match="not connected"):
        controller.apply_document(load_document(DOC))


def test_refused_bundle_keeps_previous_state(setup):
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    before = driver.tables[1]
    driver.refuse.add(1)
    with pytest.raises(ApplyError):
        controller.apply_document(load_document(DOC.replace("tcp_dst: 80", "tcp_dst: 81")))
    driver.refuse.clear()
    assert driver.tables[1] == before and controller.generation == 1
    assert controller.apply_document(load_document(DOC)).changes == {1: 0}


def test_reconnect_with_flows_kept_converges_without_flush(setup):
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    driver.disconnect(1)
    applied = len(driver.applied)
    driver.connect(1, PORTS[1], keep=True)
    assert controller.settle()
    assert len(driver.applied) == applied, "nothing to change: no flush, no re-install"


def test_restarted_controller_converges_from_what_the_switch_holds(setup):
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    controller.stop()  # the first controller is gone
    driver.callbacks.clear()
    fresh = SfcController(driver)
    fresh.apply_document(load_document(DOC.replace("tcp_dst: 80", "tcp_dst: 8080")))
    # a fresh controller reads nothing until the switch reconnects; the reconnect event fixes it
    driver.connect(1, PORTS[1], keep=True)
    assert fresh.settle()
    fresh.stop()
    assert driver.tables[1] == compute_switch_states(load_document(DOC.replace("tcp_dst: 80", "tcp_dst: 8080")), PORTS)[1]


def test_upsert_and_remove_paths(setup):
    driver, controller = setup
    controller.apply_document(load_document(DOC))
    controller.upsert_paths(parse_paths([{"name": "ssh", "spi": 11, "hops": ["fw"],
                              "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}]))
    assert {p.name for p in controller.document.paths} == {"web", "dns", "ssh"}
    last_plan = driver.applied[-1][1]
    assert not last_plan.delete_flows and all((f.cookie & 0xFFFFFF) == 11 for f in last_plan.add_flows)
    controller.upsert_paths([], remove=["web", "ssh"])
    assert driver.tables[1] == compute_switch_states(load_document(DOC), PORTS)[1].__class__(
        *[frozenset(x) for x in (
            {f for f in compute_switch_states(load_document(DOC), PORTS)[1].flows if (f.cookie & 0xFFFFFF) != 7},
            set())])
    with pytest.raises(DocumentError, match="no such path"):
        controller.upsert_paths([], remove=["web"])


def test_restart_with_state_file_keeps_the_document(tmp_path):
    from sdn.render import compute_switch_states as css
    driver = FakeDriver()
    state = tmp_path / "state.json"
    first = SfcController(driver, state_file=state)
    driver.connect(1, PORTS[1])
    first.apply_document(load_document(DOC))
    first.stop()
    driver.callbacks.clear()  # the first controller is gone
    second = SfcController(driver, state_file=state)
    assert second.generation == 1 and [p.name for p in second.document.paths] == ["web", "dns"]
    applied = len(driver.applied)
    driver.connect(1, PORTS[1], keep=True)
    assert second.settle()
    second.stop()
    assert len(driver.applied) == applied, "restart converges without touching live flows"
    assert driver.tables[1] == css(load_document(DOC), PORTS)[1]
