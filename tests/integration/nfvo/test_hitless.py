"""The NFVO promise "update and delete are hitless for other chains", with real traffic.

Chain A carries a steady stream of numbered UDP datagrams (client -> fw -> cnt -> server) while
another chain comes and goes (its VNFs too), and while A itself gains, changes and loses a
second classifier. Proof: no datagram of A's stream is lost, and every flow that was on the
bridge before is still there afterwards with its counters and age intact (a deleted and re-added
flow would be younger than the time that passed).
"""

from __future__ import annotations

import time

import pytest

from tests.integration.nfvo.nfvcli import SAMPLES, ok, onboard_hosts, wait_for
from tests.integration.nfvo.traffic import counter_packets, dump_flows, reinstalled, spi_flows, stream_to_server
from vnfm.vim.local import server_files

pytestmark = pytest.mark.integration

A_PORT, B_PORT, A_EXTRA_PORT = 5001, 5002, 5003
RATE = 250.0  # datagrams/s: modest, yet a 4 ms gap would show


def chain_a(capsys, stack) -> int:
    """Hosts, two SF VNFs and chain A (UDP to A_PORT through fw then cnt); returns A's SPI."""
    onboard_hosts(capsys, stack)
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter")
    ok(capsys, "nfv vnf create --vnfd-name firewall fw")
    ok(capsys, "nfv vnf create --vnfd-name counter cnt")
    ok(capsys, "nfv vnffg-create --name A --chain fw,cnt")
    ok(capsys, f"nfv vnffg-classifier-create --name a-udp --chain A --match udp_dst={A_PORT},ip_proto=17")
    chain = ok(capsys, "nfv vnffg-show A -f json")
    assert chain["status"] == "ACTIVE", chain
    return chain["paths"][0]["spi"]


def classify_packets(flows, spi: int, port: int) -> int:
    """Packets A's classify flow for UDP to ``port`` took (0 if there is none)."""
    return sum(f.packets for f in spi_flows(flows, spi).values() if f"tp_dst={port}" in f.rule)


def flows_once(ovs, bridge: str, check, what: str):
    """The bridge's flows once ``check`` holds for them (OVS updates OpenFlow counters from
    the datapath about twice a second, later on a busy box: poll, never read them once)."""
    def ready():
        flows = dump_flows(ovs, bridge)
        return flows if check(flows) else None
    return wait_for(ready, what, timeout=15)


def assert_untouched(ovs, bridge: str, before, t0: float, spi: int, received: int):
    """Every earlier flow survived unchanged and kept ageing, and A's classify flow counted the
    ``received`` datagrams of the measured window (the stream has stopped), less those that
    passed between the mark and the first dump (the receiver's progress lags up to 0.1 s)."""
    start, seen = classify_packets(before, spi, A_PORT), [0]
    try:
        after = flows_once(ovs, bridge, lambda f: (seen.append(classify_packets(f, spi, A_PORT))
                                                   or seen[-1] - start >= received - RATE * 0.3),
                           f"A's classify flow to count the {received} datagrams that arrived")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: it counted {seen[-1] - start} (from {start})") from None
    problems = reinstalled(before, after, time.monotonic() - t0)
    assert not problems, "\n".join(problems)
    return after


def test_other_chain_create_update_delete_is_hitless(nfvo_stack, ovs, tmp_path, capsys):
    stack = nfvo_stack
    spi = chain_a(capsys, stack)
    with stream_to_server(stack, A_PORT, tmp_path, rate=RATE) as stream:
        stream.mark()
        before, t0 = dump_flows(ovs, stack.bridge), time.monotonic()
        # B's own VNFs join the bridge, B appears (new SFs: a whole-document apply), changes
        # classifier and hops (path upserts), then everything of B goes again.
        ok(capsys, "nfv vnf create --vnfd-name firewall fw2")
        ok(capsys, "nfv vnf create --vnfd-name counter cnt2")
        b = ok(capsys, "nfv vnffg-create --name B --chain fw2,cnt2 -f json")
        ok(capsys, f"nfv vnffg-classifier-create --name b-udp --chain B --match udp_dst={B_PORT},ip_proto=17")
        b_spi = b["paths"][0]["spi"]
        assert any(f"tp_dst={B_PORT}" in f.rule for f in spi_flows(dump_flows(ovs, stack.bridge), b_spi).values())
        updated = ok(capsys, "nfv vnffg-update B --chain cnt2,fw2 -f json")
        assert updated["status"] == "ACTIVE" and updated["paths"][0]["hops"] == ["cnt2", "fw2"], updated
        ok(capsys, f"nfv vnffg-classifier-update b-udp --match udp_dst={B_PORT + 100},ip_proto=17")
        assert any(f"tp_dst={B_PORT + 100}" in f.rule for f in spi_flows(dump_flows(ovs, stack.bridge), b_spi).values())
        ok(capsys, "nfv vnffg-delete B")
        ok(capsys, "nfv vnf delete fw2")
        ok(capsys, "nfv vnf delete cnt2")
        assert not spi_flows(dump_flows(ovs, stack.bridge), b_spi)
        stream.wait_flowing(more_than=stream.progress()[1] + int(RATE))  # a second more of A after it all
        result, elapsed = stream.stop(), time.monotonic() - t0
    print(f"\nchain A while B was created, updated and deleted over {elapsed:.1f} s: {result.describe()}")
    assert result.lost == 0 and result.send_errors == 0, result.describe()
    assert_untouched(ovs, stack.bridge, before, t0, spi, result.received)


def test_updating_a_chain_keeps_its_classified_flow(nfvo_stack, ovs, tmp_path, capsys):
    stack = nfvo_stack
    spi = chain_a(capsys, stack)
    with stream_to_server(stack, A_PORT, tmp_path, rate=RATE) as stream:
        stream.mark()
        before, t0 = dump_flows(ovs, stack.bridge), time.monotonic()
        ok(capsys, f"nfv vnffg-classifier-create --name a-udp2 --chain A --match udp_dst={A_EXTRA_PORT},ip_proto=17")
        with stream_to_server(stack, A_EXTRA_PORT, tmp_path, rate=50) as extra:
            extra.wait_flowing(more_than=25)
        flows_once(ovs, stack.bridge, lambda f: classify_packets(f, spi, A_EXTRA_PORT) >= 25,
                   "the new classifier to take its traffic into A")
        ok(capsys, f"nfv vnffg-classifier-update a-udp2 --match udp_dst={A_EXTRA_PORT + 1},ip_proto=17")
        ok(capsys, "nfv vnffg-update A --description 'web and more'")
        ok(capsys, "nfv vnffg-classifier-delete a-udp2")
        stream.wait_flowing(more_than=stream.progress()[1] + int(RATE))
        result, elapsed = stream.stop(), time.monotonic() - t0
    print(f"\nchain A while its second classifier came and went over {elapsed:.1f} s: {result.describe()}")
    assert result.lost == 0 and result.send_errors == 0, result.describe()
    after = assert_untouched(ovs, stack.bridge, before, t0, spi, result.received)
    assert not [f for f in spi_flows(after, spi).values() if f"tp_dst={A_EXTRA_PORT}" in f.rule]
    report = next(iter(server_files(stack.state_dir, "counter.json")))
    wait_for(lambda: counter_packets(report).get((spi, 254), 0) >= result.received,
             f"cnt to report all {result.received} datagrams of A's stream")  # every one went through cnt
