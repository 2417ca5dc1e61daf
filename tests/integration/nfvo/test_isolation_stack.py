"""One broken thing breaks one thing, seen through the NFVO (issue 12, points 2 and 4).

Two chains on one bridge, each through its own counter VNF, each carrying numbered UDP. The SF
port of chain B's VNF is deleted from the bridge: the controller takes out only B's path (B fails
closed: its traffic stops, it never bypasses the SF), the NFVO's status watch turns VNFFG B
ERROR with the port named, and A stays ACTIVE, keeps carrying its stream and still takes a
classifier change (checked with traffic). The port comes back: B turns ACTIVE by itself and its
traffic passes its SF again.
"""

from __future__ import annotations

import time

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, ok, onboard_hosts, wait_for
from tests.integration.nfvo.test_rerender import counted, report
from tests.integration.nfvo.traffic import counter_packets, stream_to_server

pytestmark = pytest.mark.integration
A_PORT, B_PORT = 5001, 5002


def show(capsys, name: str) -> dict:
    return ok(capsys, f"nfv vnffg-show {name} -f json")


def test_a_lost_sf_port_breaks_only_its_chain(nfvo_stack, ovsdb, tmp_path, capsys):
    stack = nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    for vnf in ("ca", "cb"):
        ok(capsys, f"nfv vnf create --vnfd-name counter {vnf}")
    for chain, vnf, port in (("A", "ca", A_PORT), ("B", "cb", B_PORT)):
        ok(capsys, f"nfv vnffg-create --name {chain} --chain {vnf}")
        ok(capsys, f"nfv vnffg-classifier-create --name {chain.lower()}-udp --chain {chain} "
           f"--match udp_dst={port},ip_proto=17")
        assert show(capsys, chain)["status"] == "ACTIVE"
    spi_a, spi_b = (show(capsys, c)["paths"][0]["spi"] for c in ("A", "B"))
    lost = stack.vnfm.get("cb").cp("CP2").ovs_port
    with stream_to_server(stack, A_PORT, tmp_path, rate=100) as a, stream_to_server(stack, B_PORT, tmp_path, rate=100) as b:
        a.mark(), b.mark()
        counted(stack, "ca", (spi_a, 255), 20)
        counted(stack, "cb", (spi_b, 255), 20)

        watch = stack.nfvo.bus.subscribe()
        ovsdb.delete_port(stack.bridge, lost)  # chain B's SF port is gone from the bridge
        t0 = time.monotonic()
        broken = wait_for(lambda: (r := show(capsys, "B"))["status"] == "ERROR" and r, "VNFFG B ERROR", timeout=20)
        took = time.monotonic() - t0
        assert f"has no port '{lost}'" in broken["reason"] and "cb" in broken["reason"], broken
        assert show(capsys, "A")["status"] == "ACTIVE"
        time.sleep(0.5)
        stalled = b.progress()[1]
        seen_a = a.progress()[1]
        time.sleep(1.5)
        assert b.progress()[1] == stalled, "B's traffic went on without its SF (must fail closed)"
        assert a.wait_flowing(more_than=seen_a + 100) > seen_a, "A stopped carrying traffic"

        # A still takes a change: its classifier moves to another UDP port; the stream to the old one leaves A
        ok(capsys, f"nfv vnffg-classifier-update a-udp --match udp_dst={A_PORT + 100},ip_proto=17")
        assert show(capsys, "A")["status"] == "ACTIVE"
        with stream_to_server(stack, A_PORT + 100, tmp_path, rate=100) as moved:
            moved.mark()
            before = counter_packets(report(stack, "ca")).get((spi_a, 255), 0)
            counted(stack, "ca", (spi_a, 255), before + 50)  # the new port's datagrams pass A's SF
            moved.stop()

        ovsdb.ensure_port(stack.bridge, lost, mtu_request=netns.NSH_MTU)  # the port is back
        back = wait_for(lambda: (r := show(capsys, "B"))["status"] == "ACTIVE" and r, "VNFFG B ACTIVE", timeout=20)
        assert back["reason"] == ""
        before = counter_packets(report(stack, "cb")).get((spi_b, 255), 0)
        counted(stack, "cb", (spi_b, 255), before + 20)
        assert b.wait_flowing(more_than=stalled) > stalled
        b.stop(), a.stop()
    events = []
    while not watch.empty():
        event = watch.get_nowait()
        events += [(event.old, event.new)] if event.name == "B" else []
    stack.nfvo.bus.unsubscribe(watch)
    assert ("ACTIVE", "ERROR") in events and ("ERROR", "ACTIVE") in events, events
    print(f"\nVNFFG B ERROR {took * 1000:.0f} ms after its SF port was deleted ({broken['reason']}); "
          f"ACTIVE again by itself; events {events}")


def test_a_switch_without_its_controller_is_not_reported_active(nfvo_stack, controller, ovs, tmp_path, capsys):
    """The bridge loses its controller: the chain turns ERROR saying so (its flows keep forwarding,
    fail_mode secure), and ACTIVE by itself once the bridge is back."""
    stack = nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name counter ca")
    ok(capsys, "nfv vnffg-create --name A --chain ca")
    ok(capsys, f"nfv vnffg-classifier-create --name a-udp --chain A --match udp_dst={A_PORT},ip_proto=17")
    assert show(capsys, "A")["status"] == "ACTIVE"
    spi = show(capsys, "A")["paths"][0]["spi"]
    with stream_to_server(stack, A_PORT, tmp_path, rate=100) as a:
        a.mark()
        counted(stack, "ca", (spi, 255), 10)
        ovs.vsctl("set-controller", stack.bridge, "tcp:127.0.0.1:1")  # the controller is out of its reach
        down = wait_for(lambda: (r := show(capsys, "A"))["status"] == "ERROR" and r, "VNFFG A ERROR", timeout=20)
        assert "is not connected" in down["reason"], down
        seen = counter_packets(report(stack, "ca")).get((spi, 255), 0)
        counted(stack, "ca", (spi, 255), seen + 50)  # the data plane goes on through the SF meanwhile
        ovs.vsctl("set-controller", stack.bridge, f"tcp:127.0.0.1:{controller.openflow_port}")
        wait_for(lambda: show(capsys, "A")["status"] == "ACTIVE", "VNFFG A ACTIVE again", timeout=20)
        a.stop()
