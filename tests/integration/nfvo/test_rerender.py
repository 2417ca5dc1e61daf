"""The NFVO promise "when a VNF heals or scales, every chain through it is re-rendered
automatically", with real traffic.

A stream of numbered UDP datagrams crosses a chain through a counter VNF while that VNF is
healed (by the operator, or by the VNFM's monitor after its process died or its data port was
cut) or scaled out and in. Proof: the chain turns ACTIVE again with a newer controller
generation without anyone touching it, the (new) counter process reports the chain's SPI, no
datagram is lost once the chain is ACTIVE again. Scaled out, every instance's own report sees
some of the stream's flows (the controller spreads flows over instances by a symmetric L3/L4
hash); scaled in, the leaving instance drains first (no new flows, its port still admitted), so
neither step loses any.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dataplane import netns
from tests.integration.nfvo.nfvcli import SAMPLES, ok, onboard_hosts, wait_for
from tests.integration.nfvo.traffic import StreamResult, UdpStream, counter_packets, stream_to_server

pytestmark = pytest.mark.integration

PORT = 5001
RATE = 250.0
FLOWS = 16  # source ports: the chance that all hash to one of two instances is 2**-15


def udp_chain(capsys, stack, hops: str) -> dict:
    """Chain ``A`` through ``hops`` for UDP to PORT; returns ``vnffg-show A``."""
    ok(capsys, f"nfv vnffg-create --name A --chain {hops}")
    ok(capsys, f"nfv vnffg-classifier-create --name a-udp --chain A --match udp_dst={PORT},ip_proto=17")
    chain = ok(capsys, "nfv vnffg-show A -f json")
    assert chain["status"] == "ACTIVE" and generation(chain) > 0, chain
    return chain


def generation(chain: dict) -> int:
    """The controller generation that made the chain live (JSON carries uint64 as a string)."""
    return int(chain.get("generation", 0))


def rerendered(capsys, after: int) -> dict:
    """Wait until chain A is ACTIVE again at a generation newer than ``after``."""
    return wait_for(lambda: (c := ok(capsys, "nfv vnffg-show A -f json"))["status"] == "ACTIVE"
                    and generation(c) > after and c, f"chain A re-rendered after generation {after}")


def report(stack, vnf: str, instance: int = 0) -> Path:
    """The counter VDU instance's own report (each instance has its own work directory)."""
    return Path(stack.state_dir) / "servers" / stack.vnfm.get(vnf).vdu("VDU1", instance).key / "counter.json"


def counted(stack, vnf: str, key: tuple[int, int], at_least: int, instance: int = 0) -> int:
    """Wait until that instance's report counts ``at_least`` packets at (SPI, SI)."""
    return int(wait_for(lambda: (n := counter_packets(report(stack, vnf, instance)).get(key, 0)) >= at_least and n,
                        f"{vnf}#{instance} to count {at_least} packets at SPI/SI {key}"))


def lost_after(result: StreamResult, seq: int) -> list[tuple[int, int]]:
    return [(a, b) for a, b in result.missing if b >= seq]


def heal_and_check(capsys, stack, stream: UdpStream, spi: int, si: int, heal) -> tuple[StreamResult, float]:
    """Run ``heal`` (which returns once the VNF is being healed) under traffic; then the chain
    must be re-rendered, the new counter count the chain and nothing be lost from then on."""
    chain = ok(capsys, "nfv vnffg-show A -f json")
    old_pid = stack.vnfm.get("cnt").vdus[0].pid
    stream.mark()
    t0 = time.monotonic()
    heal()
    wait_for(lambda: (v := stack.vnfm.get("cnt")).status == "ACTIVE" and v.vdus[0].pid != old_pid,
             "cnt ACTIVE again with a new process")
    rerendered(capsys, generation(chain))
    took = time.monotonic() - t0
    resumed = stream.wait_flowing(more_than=stream.progress()[1])
    stream.wait_flowing(more_than=resumed + int(RATE))  # a second of traffic after the re-render
    counted(stack, "cnt", (spi, si), int(RATE * 0.5))
    result = stream.stop()
    assert not lost_after(result, resumed), result.describe()
    return result, took


def test_operator_heal_rerenders_chain_and_traffic_passes_again(nfvo_stack, tmp_path, capsys):
    stack = nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    spi = udp_chain(capsys, stack, "fw,cnt")["paths"][0]["spi"]
    with stream_to_server(stack, PORT, tmp_path, rate=RATE) as stream:
        stream.mark()
        counted(stack, "cnt", (spi, 254), 10)

        def heal() -> None:
            healed = ok(capsys, "nfv vnf heal cnt -f json")
            assert healed["status"] == "ACTIVE", healed
        result, took = heal_and_check(capsys, stack, stream, spi, 254, heal)
    print(f"\noperator heal of cnt, chain re-rendered in {took:.1f} s: {result.describe()}")


@pytest.mark.parametrize("fault", ["kill", "cut"])
def test_monitor_respawn_rerenders_chain(monitored_nfvo_stack, tmp_path, capsys, fault):
    """The VNFM's monitor finds the counter dead (process killed, or its data port cut so that
    it exits) and respawns it; the NFVO re-renders the chain on its own."""
    stack = monitored_nfvo_stack
    onboard_hosts(capsys, stack)
    vnfd = tmp_path / "counter.yaml"  # check every 0.5 s from the start, not after 5 s
    vnfd.write_text((SAMPLES / "nsh-counter.yaml").read_text().replace("monitoring_delay: 5", "monitoring_delay: 0")
                    .replace("interval: 1", "interval: 0.5"))
    ok(capsys, f"nfv vnfd-create --vnfd-file {vnfd} counter")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    spi = udp_chain(capsys, stack, "cnt")["paths"][0]["spi"]
    with stream_to_server(stack, PORT, tmp_path, rate=RATE) as stream:
        stream.mark()
        counted(stack, "cnt", (spi, 255), 10)
        cnt = stack.vnfm.get("cnt")

        def fail() -> None:
            if fault == "kill":
                os.kill(cnt.vdus[0].pid, 9)
            else:
                netns.delete_link(cnt.cp("CP2").ovs_port)  # the veth pair goes; the SF exits
        result, took = heal_and_check(capsys, stack, stream, spi, 255, fail)
    events = [(e.old, e.new) for e in stack.vnfm.events("cnt")]
    assert ("DEAD", "PENDING_HEAL") in events and ("PENDING_HEAL", "ACTIVE") in events, events
    print(f"\nmonitor respawn of cnt after {fault}, chain re-rendered in {took:.1f} s: {result.describe()}")


def test_scale_out_and_in_rerenders_chain_over_every_instance(nfvo_stack, tmp_path, capsys):
    stack = nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter-scalable.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    chain = udp_chain(capsys, stack, "cnt")
    spi = chain["paths"][0]["spi"]
    with stream_to_server(stack, PORT, tmp_path, rate=RATE, sports=FLOWS) as stream:
        stream.mark()
        counted(stack, "cnt", (spi, 255), 10)
        t0 = time.monotonic()
        out = ok(capsys, "nfv vnf scale --scaling-policy-name SP1 --scaling-type out cnt -f json")
        assert out["status"] == "ACTIVE", out
        chain = rerendered(capsys, generation(chain))
        took_out = time.monotonic() - t0
        assert len(stack.vnfm.get("cnt").vdus) == 2
        counted(stack, "cnt", (spi, 255), 10, instance=1)  # the new instance takes flows...
        first = counter_packets(report(stack, "cnt")).get((spi, 255), 0)
        counted(stack, "cnt", (spi, 255), first + 10)      # ...and the first keeps some
        gone = stack.vnfm.get("cnt").vdu("VDU1", 1).namespace
        t1 = time.monotonic()
        ok(capsys, "nfv vnf scale --scaling-policy-name SP1 --scaling-type in cnt")
        rerendered(capsys, generation(chain))
        took_in = time.monotonic() - t1
        assert len(stack.vnfm.get("cnt").vdus) == 1 and not netns.netns_exists(gone)
        resumed = stream.wait_flowing(more_than=stream.progress()[1])
        stream.wait_flowing(more_than=resumed + int(RATE))
        before = counter_packets(report(stack, "cnt")).get((spi, 255), 0)
        counted(stack, "cnt", (spi, 255), before + int(RATE * 0.5))  # all flows on the one left
        result = stream.stop()
    print(f"\nscale out ({took_out:.1f} s) and in ({took_in:.1f} s) of cnt under {FLOWS} flows: {result.describe()}")
    assert not lost_after(result, resumed), result.describe()
    # Scale in drains first: the leaving instance gets weight 0 (its flows move to the one that
    # stays) while its port is still admitted, and is dropped only after a grace, so what is
    # inside it at the switch-over comes out and goes on; nothing is sent to a vanished port.
    assert result.lost == 0, result.describe()
