"""One broken thing breaks one thing: a missing port, a refused flow or a disconnected switch
takes out only the paths that need it; the others keep being updated, and it comes back alone."""

from __future__ import annotations

import pytest

from sdn.controller import PathState, SfcController
from sdn.docfile import load_document, parse_paths
from sdn.document import DocumentError
from sdn.driver import ApplyError
from sdn.openflow import SwitchState
from sdn.pipeline import CLASSIFY
from sdn.render import compute_switch_states
from sdn.usable import usable_on
from tests.unit.sdn.fake_driver import FakeDriver
from tests.unit.sdn.test_flows import DOC, PORTS

WITHOUT_NAT = {k: v for k, v in PORTS[1].items() if k != "nat0"}


def spis(driver: FakeDriver) -> set[int]:
    return {f.cookie & 0xFFFFFF for f in driver.tables[1].flows} - {0}


def closed(driver: FakeDriver, spi: int) -> bool:
    """Only classify flows that drop are left of path ``spi``."""
    mine = [f for f in driver.tables[1].flows if (f.cookie & 0xFFFFFF) == spi]
    return bool(mine) and all(f.table == CLASSIFY and not f.actions and f.goto_table is None for f in mine)


def states(controller: SfcController) -> dict:
    return {p.name: (p.state, p.reason) for p in controller.path_status()}


@pytest.fixture
def setup():
    driver = FakeDriver()
    controller = SfcController(driver, timeout=2.0)
    driver.connect(1, PORTS[1])
    controller.apply_document(load_document(DOC))
    assert controller.settle()
    yield driver, controller
    controller.stop()


def test_usable_leaves_out_the_paths_through_an_sf_without_ports_and_keeps_the_same_document_otherwise():
    doc = load_document(DOC)
    assert usable_on(doc, "s1", PORTS[1]).document is doc
    usable = usable_on(doc, "s1", WITHOUT_NAT)
    assert [p.name for p in usable.document.paths] == ["dns"]
    assert usable.down == {"web": "service_functions[nat].instances[0].port: switch s1 has no port 'nat0'"}
    lost_client = usable_on(doc, "s1", {k: v for k, v in PORTS[1].items() if k != "client"})
    assert set(lost_client.degraded) == {"web", "dns"} and "classifiers[http].in_port" in lost_client.degraded["web"]
    assert all(not p.classifiers for p in lost_client.document.paths)


def test_a_lost_instance_degrades_the_hop_and_keeps_it_forwarding():
    doc = load_document(DOC.replace("port: ids0}", "port: ids0}, {switch: s1, port: ids1}"))
    usable = usable_on(doc, "s1", {k: v for k, v in PORTS[1].items() if k != "ids1"})
    assert usable.down == {} and set(usable.degraded) == {"web", "dns"}
    assert len(usable.document.function("ids").instances) == 1


def test_port_lost_then_back_while_the_other_chain_takes_a_change(setup):
    driver, controller = setup
    driver.connect(1, WITHOUT_NAT, keep=True)  # the port is gone (a port event re-derives)
    assert controller.settle()
    assert states(controller)["web"][0] == PathState.DOWN and "nat0" in states(controller)["web"][1]
    assert states(controller)["dns"] == (PathState.ACTIVE, "")
    assert closed(driver, 7) and 9 in spis(driver)  # fails closed: web's classifier drops, nothing bypasses
    # the other chain still takes a change on this switch
    (dns,) = parse_paths([{"name": "dns", "spi": 9, "hops": ["ids"],
                           "classifiers": [{"name": "dns", "in_port": "client", "match": {"udp_dst": 5353}}]}])
    controller.upsert_paths([dns])
    assert any(("udp_dst", 5353) in f.match for f in driver.tables[1].flows)
    assert states(controller)["dns"] == (PathState.ACTIVE, "")
    driver.connect(1, PORTS[1], keep=True)  # the port is back: web returns by itself
    assert controller.settle()
    assert states(controller)["web"] == (PathState.ACTIVE, "")
    assert driver.tables[1] == compute_switch_states(controller.document, PORTS)[1]


def test_a_refused_flow_takes_out_its_path_only_and_is_retried(setup):
    driver, controller = setup
    driver.refuse_flow = lambda f: (f.cookie & 0xFFFFFF) == 7 and bool(f.actions)
    driver.disconnect(1)
    driver.tables[1] = SwitchState()
    driver.connect(1, PORTS[1])  # a fresh switch: everything is pushed again, web's flows are refused
    assert controller.settle()
    web, dns = states(controller)["web"], states(controller)["dns"]
    assert web[0] == PathState.DOWN and "TABLE_FULL" in web[1] and dns == (PathState.ACTIVE, "")
    assert closed(driver, 7) and 9 in spis(driver)  # its classifiers drop meanwhile (fail closed)
    driver.refuse_flow = lambda f: False
    driver.disconnect(1)
    driver.connect(1, PORTS[1], keep=True)  # a reconnect tries it again (so does the back-off)
    assert controller.settle()
    assert states(controller)["web"] == (PathState.ACTIVE, "") and spis(driver) == {7, 9}


def test_a_change_whose_own_flows_are_refused_fails_and_leaves_the_rest_alone(setup):
    driver, controller = setup
    before = driver.tables[1]
    driver.refuse_flow = lambda f: (f.cookie & 0xFFFFFF) == 11
    (ssh,) = parse_paths([{"name": "ssh", "spi": 11, "hops": ["fw"],
                           "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}])
    with pytest.raises(ApplyError, match="TABLE_FULL"):
        controller.upsert_paths([ssh])
    assert controller.settle()
    assert driver.tables[1] == before and {p.name for p in controller.document.paths} == {"web", "dns"}
    assert set(states(controller).values()) == {(PathState.ACTIVE, "")}


def test_disconnected_switch_takes_its_paths_down_until_it_reconnects(setup):
    driver, controller = setup
    driver.disconnect(1)
    assert controller.settle()
    assert states(controller)["web"] == (PathState.DOWN, "switch s1 (dpid 0x1) is not connected")
    (ssh,) = parse_paths([{"name": "ssh", "spi": 11, "hops": ["fw"],
                           "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}])
    with pytest.raises(DocumentError, match="not connected"):
        controller.upsert_paths([ssh])
    driver.connect(1, PORTS[1], keep=True)
    assert controller.settle()
    assert set(states(controller).values()) == {(PathState.ACTIVE, "")}


def test_a_change_naming_a_missing_port_is_refused_one_leaving_it_alone_is_not(setup):
    driver, controller = setup
    driver.connect(1, WITHOUT_NAT, keep=True)  # nat0 goes away at run time
    assert controller.settle()
    grown = DOC.replace("service_function_paths:", "  - {name: extra, instances: [{switch: s1, port: ids1}]}\n"
                        "service_function_paths:") + \
        "  - {name: more, spi: 11, hops: [extra], classifiers: [{name: more, in_port: client, match: {tcp_dst: 25}}]}\n"
    controller.apply_document(load_document(grown))  # web (through nat) is left alone: accepted
    assert states(controller)["more"] == (PathState.ACTIVE, "") and states(controller)["web"][0] == PathState.DOWN
    with pytest.raises(DocumentError, match=r"service_functions\[ghost\].instances\[0\].port: switch s1 has no port"):
        controller.apply_document(load_document(grown.replace(
            "service_function_paths:", "  - {name: ghost, instances: [{switch: s1, port: nope0}]}\nservice_function_paths:")))
    (bad,) = parse_paths([{"name": "dns", "spi": 9, "hops": ["ids"],
                           "classifiers": [{"name": "dns", "in_port": "nowhere", "match": {"udp_dst": 53}}]}])
    with pytest.raises(DocumentError, match=r"classifiers\[dns\].in_port: switch s1 has no port 'nowhere'"):
        controller.upsert_paths([bad])


def test_a_full_table_refuses_the_change_that_does_not_fit_and_a_path_gives_way_on_a_fresh_switch(setup):
    driver, controller = setup
    from sdn.pipeline import NEXT_HOP
    held = sum(f.table == NEXT_HOP for f in driver.tables[1].flows)
    driver.flow_limit = {NEXT_HOP: held}
    (ssh,) = parse_paths([{"name": "ssh", "spi": 11, "hops": ["fw"],
                           "classifiers": [{"name": "ssh", "in_port": "client", "match": {"tcp_dst": 22}}]}])
    before = driver.tables[1]
    with pytest.raises(ApplyError, match="TABLE_FULL"):
        controller.upsert_paths([ssh])
    assert controller.settle() and driver.tables[1] == before
    driver.flow_limit = {NEXT_HOP: held - 1}
    driver.disconnect(1)
    driver.tables[1] = SwitchState()
    driver.connect(1, PORTS[1])  # everything again, into room for less: one path gives way, fails closed
    assert controller.settle()
    got = states(controller)
    assert sorted(s for s, _ in got.values()) == [PathState.ACTIVE, PathState.DOWN], got
    (down,) = [name for name, (s, _) in got.items() if s == PathState.DOWN]
    assert "left out to make room" in got[down][1] and closed(driver, {"web": 7, "dns": 9}[down])
