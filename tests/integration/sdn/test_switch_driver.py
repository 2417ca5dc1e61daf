"""NfvSwitchApp against a real Open vSwitch: connect, bundles, atomicity, read-back, liveness."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sdn.cookie import Role, make_cookie, make_group_id
from sdn.driver import ApplyError, SwitchEvent
from sdn.openflow import (Bucket, Decap, DecNshTtl, EncapEthernet, EncapNsh, Flow, Group, GroupEntry,
                      Output, SetField, SwitchState, make_match)
from sdn.ofcodec import ofctl_group_text, ofctl_text
from sdn.osken_runtime import start_controller
from sdn.sync import Plan, plan_changes

pytestmark = pytest.mark.integration

_dpids = itertools.count(0x5FC0_0000_0100 + (int(time.time()) % 0x1000) * 0x100)


class Recorder:
    def __init__(self) -> None:
        self.events: list[SwitchEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: SwitchEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait(self, kind: str, dpid: int, timeout: float = 10.0, after: int = 0) -> float:
        start = time.monotonic()
        with self.cond:
            ok = self.cond.wait_for(lambda: any(e == SwitchEvent(kind, dpid)
                                                for e in self.events[after:]), timeout)
        assert ok, f"no {kind} event for {dpid:#x} within {timeout}s: {self.events}"
        return time.monotonic() - start


@pytest.fixture
def controller() -> Iterator[tuple]:
    driver, stop = start_controller("127.0.0.1", 0, echo_interval=0.5, echo_timeout=2.0)
    rec = Recorder()
    driver.subscribe(rec)
    try:
        yield driver, rec
    finally:
        stop()


@pytest.fixture
def switch(controller, bridge_factory, host_factory) -> tuple:
    """A secure-mode netdev bridge with two host ports, connected to the controller."""
    driver, rec = controller
    dpid = next(_dpids)
    br = bridge_factory(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
    h1 = host_factory(br, "10.77.0.1/24")
    h2 = host_factory(br, "10.77.0.2/24")
    rec.wait("connected", dpid)
    _until(lambda: {h1.port, h2.port} <= set(driver.switches()[dpid].ports))
    return driver, rec, dpid, br, h1, h2


def _until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _chain(p1: int, p2: int, spi: int = 7) -> SwitchState:
    """One classifier -> select group hop -> egress: the NSH actions we care about."""
    classifier = Flow(10, 100, make_match(in_port=p1, eth_type=0x800, ip_proto=6,
                                          ipv4_src="10.77.0.1", tcp_dst=80),
                      (EncapNsh(), SetField("nsh_spi", spi), SetField("nsh_si", 255),
                       EncapEthernet()), goto_table=20, cookie=make_cookie(Role.CLASSIFIER, spi))
    hop = Flow(20, 100, make_match(eth_type=0x894F, nsh_spi=spi, nsh_si=255),
               (DecNshTtl(), Group(make_group_id(spi))), cookie=make_cookie(Role.HOP, spi))
    egress = Flow(30, 100, make_match(eth_type=0x894F, nsh_spi=spi, nsh_si=254),
                  (Decap(), Decap(), Output(p2)), cookie=make_cookie(Role.EGRESS, spi))
    group = GroupEntry(make_group_id(spi), "select", (Bucket((Output(p1),), 1), Bucket((Output(p2),), 1)),
                       cookie=make_cookie(Role.HOP, spi))
    return SwitchState(frozenset({classifier, hop, egress}), frozenset({group}))


def _dump(ovs, br: str) -> list[str]:
    """dump-flows without the volatile parts, sorted."""
    lines = ovs.ofctl("dump-flows", br).splitlines()[1:]
    return sorted(re.sub(r" duration=[^,]*,| n_packets=\d+,| n_bytes=\d+,| idle_age=\d+,", "",
                         ln).strip() for ln in lines if ln.strip())


def test_connect_reports_ports(switch):
    driver, rec, dpid, br, h1, h2 = switch
    info = driver.switches()[dpid]
    assert info.ports[h1.port] == h1.ofport and info.ports[h2.port] == h2.ofport
    assert info.address.startswith("127.0.0.1:")


def test_apply_shows_in_dump_flows_as_ovs_ofctl_would(switch, ovs, bridge_factory):
    driver, rec, dpid, br, h1, h2 = switch
    state = _chain(h1.ofport, h2.ofport)
    driver.apply(dpid, Plan(add_flows=tuple(state.flows), add_groups=tuple(state.groups)))
    dumped = _dump(ovs, br)
    assert any("actions=encap(nsh(md_type=1)),set_field:0x7->nsh_spi,set_field:255->nsh_si,"
               "encap(ethernet),goto_table:20" in ln for ln in dumped)
    assert any(f"actions=decap(),decap(),output:{h2.ofport}" in ln for ln in dumped)
    assert any(f"actions=dec_nsh_ttl,group:{make_group_id(7)}" in ln for ln in dumped)
    assert f"group_id={make_group_id(7)},type=select" in ovs.ofctl("dump-groups", br)
    # the same flows typed into ovs-ofctl on a bridge of its own print identically
    ref = bridge_factory()
    for g in state.groups:
        ovs.ofctl("add-group", ref, ofctl_group_text(g))
    for f in state.flows:
        ovs.ofctl("add-flow", ref, ofctl_text(f))
    assert _dump(ovs, ref) == dumped
    assert ovs.ofctl("dump-groups", ref).splitlines()[1:] == ovs.ofctl("dump-groups", br).splitlines()[1:]


def test_refused_bundle_changes_nothing(switch, ovs):
    driver, rec, dpid, br, h1, h2 = switch
    state = _chain(h1.ofport, h2.ofport)
    driver.apply(dpid, Plan(add_flows=tuple(state.flows), add_groups=tuple(state.groups)))
    before = _dump(ovs, br)
    good = Flow(0, 5, make_match(in_port=h1.ofport), (), goto_table=10, cookie=make_cookie(Role.PIPELINE))
    backwards = Flow(20, 50, make_match(in_port=h2.ofport), (), goto_table=10,
                     cookie=make_cookie(Role.PIPELINE))
    with pytest.raises(ApplyError) as err:
        driver.apply(dpid, Plan(add_flows=(good, backwards),
                                delete_flows=tuple(state.flows)[:1]))
    msg = str(err.value)
    assert f"{dpid:#x}" in msg and "BAD_TABLE_ID" in msg and "table=20,priority=50" in msg
    assert _dump(ovs, br) == before
    no_group = Flow(20, 50, make_match(in_port=h2.ofport), (Group(4242),), cookie=make_cookie(Role.HOP, 9))
    with pytest.raises(ApplyError, match="BAD_OUT_GROUP.*group:4242"):
        driver.apply(dpid, Plan(add_flows=(good, no_group)))
    assert _dump(ovs, br) == before
    driver.apply(dpid, Plan(add_flows=(good,)))  # the connection is still usable
    assert len(_dump(ovs, br)) == len(before) + 1


def test_read_state_round_trips_and_ignores_foreign_flows(switch, ovs):
    driver, rec, dpid, br, h1, h2 = switch
    ovs.ofctl("add-flow", br, "table=0,priority=1,cookie=0x1234,actions=drop")  # not ours
    state = _chain(h1.ofport, h2.ofport)
    driver.apply(dpid, Plan(add_flows=tuple(state.flows), add_groups=tuple(state.groups)))
    assert driver.read_state(dpid) == state
    # converge to a different desired state through the pure planner, then read it back
    other = _chain(h2.ofport, h1.ofport, spi=7)
    plan = plan_changes(driver.read_state(dpid), other)
    assert plan.modify_flows and plan.modify_groups
    driver.apply(dpid, plan)
    assert driver.read_state(dpid) == other
    assert plan_changes(driver.read_state(dpid), other).empty
    driver.apply(dpid, plan_changes(driver.read_state(dpid), SwitchState()))
    assert driver.read_state(dpid) == SwitchState()
    assert "cookie=0x1234" in ovs.ofctl("dump-flows", br)  # foreign flow untouched


def test_modify_updates_cookie(switch):
    driver, rec, dpid, br, h1, h2 = switch
    f = Flow(0, 10, make_match(in_port=h1.ofport), (Output(h2.ofport),), cookie=make_cookie(Role.HOP, 1))
    driver.apply(dpid, Plan(add_flows=(f,)))
    g = Flow(0, 10, f.match, (Output(h1.ofport),), cookie=make_cookie(Role.HOP, 2))
    driver.apply(dpid, Plan(modify_flows=(g,)))
    assert driver.read_state(dpid).flows == frozenset({g})


def test_disconnect_and_reconnect_events(switch, ovsdb, ovs):
    driver, rec, dpid, br, h1, h2 = switch
    mark = len(rec.events)
    ovs.vsctl("del-controller", br)
    assert rec.wait("disconnected", dpid, timeout=5.0, after=mark) < 5.0
    assert dpid not in driver.switches()
    with pytest.raises(ApplyError, match="not connected"):
        driver.apply(dpid, Plan(add_flows=(Flow(0, 1, (), ()),)))
    mark = len(rec.events)
    ovs.vsctl("set-controller", br, f"tcp:127.0.0.1:{driver.listen_port}")
    rec.wait("connected", dpid, timeout=10.0, after=mark)
    assert driver.switches()[dpid].ports[h1.port] == h1.ofport


def test_callback_may_apply_without_deadlock(controller, bridge_factory):
    driver, rec = controller
    dpid = next(_dpids)
    done = threading.Event()
    flow = Flow(0, 3, (), (), cookie=make_cookie(Role.PIPELINE))

    def on_event(event: SwitchEvent) -> None:
        if event == SwitchEvent("connected", dpid):
            driver.apply(dpid, Plan(add_flows=(flow,)), timeout=5.0)
            done.set()

    driver.subscribe(on_event)
    bridge_factory(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
    assert done.wait(10.0)
    assert driver.read_state(dpid).flows == frozenset({flow})


def test_stop_leaves_no_threads(bridge_factory):
    before = set(threading.enumerate())
    driver, stop = start_controller("127.0.0.1", 0)
    rec = Recorder()
    driver.subscribe(rec)
    dpid = next(_dpids)
    bridge_factory(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
    rec.wait("connected", dpid)
    stop()
    _until(lambda: set(threading.enumerate()) <= before, timeout=5.0)
    with pytest.raises(OSError):  # the listening socket is gone too
        import socket
        socket.create_connection(("127.0.0.1", driver.listen_port), timeout=1).close()


def _silent_switch(port: int, dpid: int, stop: threading.Event) -> None:
    """A switch that completes the OpenFlow handshake, then never answers an echo request."""
    import socket
    import struct

    sock = socket.create_connection(("127.0.0.1", port), timeout=0.2)
    sock.sendall(struct.pack("!BBHI", 4, 0, 8, 1))  # hello
    buf = b""
    try:
        while not stop.is_set():
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            buf += data
            while len(buf) >= 8:
                _v, typ, length, xid = struct.unpack_from("!BBHI", buf)
                if len(buf) < length:
                    break
                if typ == 5:  # features request
                    sock.sendall(struct.pack("!BBHIQIBB2xII", 4, 6, 32, xid, dpid, 0, 254, 0, 0, 0))
                elif typ == 18 and struct.unpack_from("!H", buf, 8)[0] == 13:  # port desc
                    sock.sendall(struct.pack("!BBHIHH4x", 4, 19, 16, xid, 13, 0))
                buf = buf[length:]
    finally:
        sock.close()


def test_silent_switch_is_dropped_by_echo_timeout(controller):
    driver, rec = controller  # echo every 0.5 s, drop after 2 s of silence
    dpid = next(_dpids)
    stop = threading.Event()
    t = threading.Thread(target=_silent_switch, args=(driver.listen_port, dpid, stop), daemon=True)
    t.start()
    try:
        rec.wait("connected", dpid)
        waited = rec.wait("disconnected", dpid, timeout=6.0)
        assert 1.0 < waited < 4.0, waited
        assert dpid not in driver.switches()
    finally:
        stop.set()
        t.join(5)


def test_ovs_ofctl_text_of_every_rendered_flow_reads_back_as_ours(switch, ovs, bridge_factory, tmp_path):
    """``ofctl_text`` (what bench_flow_install feeds ``ovs-ofctl --bundle``) must mean what our
    encoder means, for every kind of flow render makes: both bridges dump the same."""
    from sdn.docfile import load_document
    from sdn.render import compute_switch_states
    from tests.unit.sdn.test_flows import EVERY_FIELD_DOC, EVERY_FIELD_PORTS

    driver, rec, dpid, br, h1, h2 = switch
    state = compute_switch_states(load_document(EVERY_FIELD_DOC), EVERY_FIELD_PORTS)[1]
    driver.apply(dpid, Plan(add_flows=tuple(state.flows), add_groups=tuple(state.groups)))
    ref = bridge_factory()
    for g in state.groups:
        ovs.ofctl("add-group", ref, ofctl_group_text(g))
    text = tmp_path / "flows.txt"
    text.write_text("".join(ofctl_text(f) + "\n" for f in state.flows))
    ovs.ofctl("--bundle", "add-flows", ref, str(text))
    assert _dump(ovs, ref) == _dump(ovs, br)


def test_silent_switch_is_dropped_even_while_busy_with_reads(controller):
    """A dead switch a worker keeps asking (a read pending all the time) still goes: twice the
    echo timeout (a failed compute host's vswitchd never closes its connection)."""
    driver, rec = controller  # echo every 0.5 s, 2 s of silence (4 s while busy)
    dpid = next(_dpids)
    stop = threading.Event()
    t = threading.Thread(target=_silent_switch, args=(driver.listen_port, dpid, stop), daemon=True)
    t.start()
    reads: list[BaseException] = []

    def keep_reading() -> None:
        while not stop.is_set() and dpid in driver.switches():
            try:
                driver.read_state(dpid, timeout=3.0)
            except Exception as exc:  # noqa: BLE001 - no reply, or dropped meanwhile
                reads.append(exc)
    try:
        rec.wait("connected", dpid)
        reader = threading.Thread(target=keep_reading, daemon=True)
        reader.start()
        waited = rec.wait("disconnected", dpid, timeout=10.0)
        assert 3.0 < waited < 7.0 and reads, (waited, reads)
        assert dpid not in driver.switches()
        reader.join(5)
    finally:
        stop.set()
        t.join(5)
