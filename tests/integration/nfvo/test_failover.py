"""Fast failover (issue 12, point 5), with real containers, OVS and numbered UDP traffic.

The VIM watches every VDU's program with a pidfd, so a ``kill -9`` reaches the VNFM at once: a
load-balanced hop drops the dead instance at once (the loss under 100 ms is
bench/bench_failover.py's figure), the chain says DEGRADED (and why) until the instance is
healed, then ACTIVE by itself. A hop with its only instance dead follows the chain's failure
policy: ``fail-closed`` drops its traffic until the VNF is healed, ``fail-open`` lets it bypass
the hop meanwhile; after the heal it passes the SF again.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, ok, onboard_hosts, wait_for
from tests.integration.nfvo.test_rerender import counted, generation, report
from tests.integration.nfvo.traffic import counter_packets, stream_to_server

pytestmark = pytest.mark.integration

PORT = 5001
RATE = 1000.0  # datagrams/s: 1 ms resolution
FLOWS = 16     # source ports: both instances get some (the chance they do not is 2**-15)
# Seconds of the stream lost at most: the exit seen at once (a pidfd), not by a monitor's ping
# (seconds). How fast (the goal, under 100 ms) is bench/bench_failover.py's figure, not a timed
# test's: a loaded CI box's scheduling broke a 0.1 s bound here (two renders: the drop, the heal;
# fail-open's bypass and return).
BOUND = 0.5


def counter_vnfd(tmp_path, sample: str, action: str) -> str:
    """``sample`` with its monitoring policy's action set (ping checks start late: the exit is
    what must be noticed, not a failed ping)."""
    path = tmp_path / f"{sample}-{action}.yaml"
    path.write_text((SAMPLES / sample).read_text().replace("failure: respawn", f"failure: {action}"))
    return str(path)


def chain(capsys, policy: str = "") -> dict:
    extra = f" --failure-policy {policy}" if policy else ""
    ok(capsys, f"nfv vnffg-create --name A --chain cnt{extra}")
    ok(capsys, f"nfv vnffg-classifier-create --name a-udp --chain A --match udp_dst={PORT},ip_proto=17")
    record = ok(capsys, "nfv vnffg-show A -f json")
    assert record["status"] == "ACTIVE", record
    return record


def status_of(capsys, wanted: str, after: int = 0) -> dict:
    return wait_for(lambda: (c := ok(capsys, "nfv vnffg-show A -f json"))["status"] == wanted
                    and generation(c) > after and c, f"chain A {wanted} after generation {after}", timeout=60,
                    every=0.02)


def test_killing_one_of_two_instances_drops_it_at_once(monitored_nfvo_stack, tmp_path, capsys):
    stack = monitored_nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {counter_vnfd(tmp_path, 'nsh-counter-scalable.yaml', 'vdu_autoheal')} "
       "counter")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnf scale --scaling-policy-name SP1 --scaling-type out cnt")
    record = chain(capsys)
    spi = record["paths"][0]["spi"]
    with stream_to_server(stack, PORT, tmp_path, rate=RATE, sports=FLOWS) as stream:
        stream.mark()
        counted(stack, "cnt", (spi, 255), 20, instance=1)   # the instance to be killed carries flows
        counted(stack, "cnt", (spi, 255), 20, instance=0)
        victim = stack.vnfm.get("cnt").vdu("VDU1", 1)
        t0 = time.monotonic()
        os.kill(victim.pid, 9)
        degraded = status_of(capsys, "DEGRADED", generation(record))
        took = time.monotonic() - t0
        assert degraded["reason"] == "hop cnt: 1 of 2 instances dead", degraded
        healed = status_of(capsys, "ACTIVE", generation(degraded))
        assert stack.vnfm.get("cnt").vdu("VDU1", 1).pid != victim.pid
        resumed = stream.wait_flowing(more_than=stream.progress()[1])
        stream.wait_flowing(more_than=resumed + int(RATE))   # a second more over both instances
        before = counter_packets(report(stack, "cnt", 1)).get((spi, 255), 0)
        counted(stack, "cnt", (spi, 255), before + 20, instance=1)   # the new instance takes flows again
        result = stream.stop()
    events = [(e.old, e.new) for e in stack.vnfm.events("cnt")]
    assert ("ACTIVE", "DEAD") in events and ("DEAD", "PENDING_HEAL") in events, events
    print(f"\nkill -9 of cnt#1 (2-instance hop): DEGRADED after {took * 1000:.0f} ms, ACTIVE again at generation "
          f"{generation(healed)}; {result.describe()}")
    assert result.lost / RATE < BOUND, result.describe()


@pytest.mark.parametrize("policy", ["fail-closed", "fail-open"])
def test_single_instance_hop_follows_the_failure_policy(monitored_nfvo_stack, tmp_path, capsys, policy):
    stack = monitored_nfvo_stack
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {counter_vnfd(tmp_path, 'nsh-counter.yaml', 'log')} counter")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    record = chain(capsys, policy)
    assert record["failure_policy"] == policy, record
    spi = record["paths"][0]["spi"]
    rate = 250.0
    with stream_to_server(stack, PORT, tmp_path, rate=rate) as stream:
        stream.mark()
        counted(stack, "cnt", (spi, 255), 10)
        os.kill(stack.vnfm.get("cnt").vdus[0].pid, 9)
        degraded = status_of(capsys, "DEGRADED", generation(record))
        assert stack.vnfm.get("cnt").status == "DEAD"   # "log": it stays dead until healed
        time.sleep(0.3)
        top = stream.progress()[1]
        time.sleep(1.0)
        moved = stream.progress()[1] - top   # datagrams that arrived in one second with the SF dead
        healed_at = stream.progress()[1]
        ok(capsys, "nfv vnf heal cnt")
        active = status_of(capsys, "ACTIVE", generation(degraded))
        resumed = stream.wait_flowing(more_than=healed_at)
        counted(stack, "cnt", (spi, 255), 10)   # the new counter: through the SF again
        stream.wait_flowing(more_than=resumed + int(rate))
        result = stream.stop()
    print(f"\n{policy}: {degraded['reason']!r}; {moved} datagrams arrived in 1 s with cnt dead; ACTIVE again at "
          f"generation {generation(active)}; {result.describe()}")
    if policy == "fail-open":
        assert degraded["reason"] == "hop cnt bypassed (fail-open): VNF cnt DEAD", degraded
        assert moved >= rate * 0.9, moved
        assert result.lost / rate < BOUND, result.describe()
    else:
        assert degraded["reason"].startswith("hop cnt: every instance dead") and "fail-closed" in degraded["reason"]
        assert moved == 0, moved
        assert result.lost / rate > 1.0, result.describe()
