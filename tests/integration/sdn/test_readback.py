"""Read-back of a big switch through the raw reply decoder: exactly what was installed, on real OVS."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from sdn.cookie import Role, make_cookie, make_group_id
from sdn.docfile import load_document
from sdn.openflow import Bucket, DecNshTtl, Flow, Group, GroupEntry, Output, SwitchState, make_match
from sdn.osken_runtime import start_controller
from sdn.render import compute_switch_states
from sdn.sync import plan_changes
from tests.unit.sdn.test_flows import EVERY_FIELD_DOC, EVERY_FIELD_PORTS

pytestmark = pytest.mark.integration

_dpids = itertools.count(0x5FC0_0000_8000 + (int(time.time()) % 0x1000) * 0x100)
PATHS = 3000  # 18,000 flows: many 64 KB reply messages
PORTS = {"client": 1, "fw0": 2, "ids0": 3, "ids1": 4, "nat0": 5}


def many_paths(n: int) -> str:
    paths = "".join(f"""
  - name: p{i}
    spi: {i + 100}
    hops: [fw, ids, nat]
    classifiers: [{{name: c{i}, in_port: client, match: {{nw_proto: 6, nw_src: 10.{i >> 8 & 255}.{i & 255}.0/24,
                    tcp_dst: {1 + i % 60000}}}}}]"""
                    for i in range(n))
    return f"""
switches: [{{name: s1, dpid: 1}}]
service_functions:
  - {{name: fw, instances: [{{switch: s1, port: fw0}}]}}
  - {{name: ids, instances: [{{switch: s1, port: ids0}}, {{switch: s1, port: ids1}}]}}
  - {{name: nat, instances: [{{switch: s1, port: nat0}}]}}
service_function_paths:{paths}
"""


@pytest.fixture
def driver() -> Iterator:
    drv, stop = start_controller("127.0.0.1", 0)
    try:
        yield drv
    finally:
        stop()


def _connect(driver, bridge_factory, ovs) -> int:
    dpid = next(_dpids)
    bridge = bridge_factory(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
    ovs.vsctl("set", "controller", bridge, "inactivity_probe=60000")  # os-ken's slow parse below
    deadline = time.monotonic() + 15
    while dpid not in driver.switches():
        assert time.monotonic() < deadline, f"switch {dpid:#x} did not connect"
        time.sleep(0.05)
    return dpid


def test_many_paths_read_back_exactly_as_installed(driver, bridge_factory, ovs):
    dpid = _connect(driver, bridge_factory, ovs)
    big = compute_switch_states(load_document(many_paths(PATHS)), {1: PORTS})[1]
    every = compute_switch_states(load_document(EVERY_FIELD_DOC), EVERY_FIELD_PORTS)[1]
    hop = make_cookie(Role.HOP, 9)
    group = GroupEntry(make_group_id(9), "select", (Bucket((DecNshTtl(), Output(2)), 1),
                                                    Bucket((DecNshTtl(), Output(3)), 2)), hop)
    to_group = Flow(20, 100, make_match(eth_type=0x894F, nsh_spi=9, nsh_si=255), (Group(group.group_id),),
                    cookie=hop)
    desired = SwitchState(big.flows | every.flows | {to_group}, frozenset({group}))
    assert len(desired.flows) > 6 * PATHS
    driver.apply(dpid, plan_changes(SwitchState(), desired), timeout=120)
    assert hasattr(driver._conn(dpid).dp.socket, "claim_replies")  # the raw path is the one taken

    started = time.monotonic()
    raw = driver.read_state(dpid)
    took = time.monotonic() - started
    assert raw == desired
    assert plan_changes(raw, desired).empty
    assert driver.read_state(dpid, timeout=60, raw=False) == raw  # os-ken's parser agrees
    assert took < 10, f"read-back of {len(raw.flows)} flows took {took:.1f}s"

    # the connection carries on as before: one more change, read back again
    extra = Flow(20, 100, make_match(eth_type=0x894F, nsh_spi=9, nsh_si=254), (Output(5),), cookie=hop)
    after = SwitchState(desired.flows | {extra}, desired.groups)
    plan = plan_changes(raw, after)
    assert plan.add_flows == (extra,) and plan.size == 1
    driver.apply(dpid, plan)
    assert driver.read_state(dpid) == after
