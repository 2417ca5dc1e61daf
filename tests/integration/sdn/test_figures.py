"""Per-hop figures from OVS's own IPFIX: sample() actions carrying our observation ids on the
flows of two hops (added by hand with ovs-ofctl), a Flow_Sample_Collector_Set pointing at a
Collector on 127.0.0.1, ICMP between two namespaced hosts. After OVS's cache flush the figures'
per-hop packet counts equal the flows' n_packets, and the Prometheus text served on a socket
shows the same numbers."""

from __future__ import annotations

import http.client
import re
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sdn.document import Classifier, ServiceFunction, ServicePath, SfcDocument, SfInstance, Switch, check_document
from sdn.match import parse_match
from sdn.telemetry.catalogue import catalogue_of
from sdn.telemetry.collector import Protocol
from sdn.telemetry.metrics import Telemetry, registry, serve
from sdn.telemetry.observation import Role, sample_params
from tests.integration.sdn.probe_lab import hand_ipfix, start_collector, wait_until

pytestmark = pytest.mark.integration

SPI, SET_ID, PINGS = 77, 7, 25


def n_packets(ovs, bridge: str, cookie: int) -> int:
    dump = ovs.ofctl("dump-flows", bridge, f"cookie={cookie:#x}/-1")
    return sum(int(m) for m in re.findall(r"n_packets=(\d+)", dump))


def test_ipfix_sample_actions_give_per_hop_counts_equal_to_the_flows(lab, ovs, ovsdb, request):
    bridge = lab.bridge()
    h1 = lab.host(bridge, "10.78.0.1/24")
    h2 = lab.host(bridge, "10.78.0.2/24")
    doc = check_document(SfcDocument(
        (Switch(bridge, 1),),
        (ServiceFunction("fw", (SfInstance(bridge, h2.port),)), ServiceFunction("ids", (SfInstance(bridge, "ids0"),))),
        (ServicePath("demo/ping", SPI, ("fw", "ids"),
                     (Classifier("demo/ping/icmp", h1.port, parse_match({"ip_proto": 1, "ip_src": h1.ip}),),)),)))
    telemetry = Telemetry(catalogue_of(doc))
    col, targets = start_collector(request, telemetry, (Protocol.IPFIX,))
    hand_ipfix(request, ovs, ovsdb, bridge, targets[Protocol.IPFIX], collector_set_base=SET_ID)

    def sample(si: int, role: Role) -> str:
        return sample_params(SPI, si, role, collector_set_base=SET_ID, switch=1).ofctl()

    # hop fw: the requests h1 -> h2 (classified, then into fw); hop ids: the replies h2 -> h1
    ovs.ofctl("add-flow", bridge, f"cookie=0x1,priority=100,in_port={h1.ofport},icmp,actions="
              f"{sample(255, Role.CLASSIFY)},{sample(255, Role.HOP_IN)},output:{h2.ofport}")
    ovs.ofctl("add-flow", bridge, f"cookie=0x2,priority=100,in_port={h2.ofport},icmp,actions="
              f"{sample(254, Role.HOP_IN)},output:{h1.ofport}")
    ovs.ofctl("add-flow", bridge, "cookie=0x3,priority=0,actions=NORMAL")
    assert h1.ping(h2.ip, count=PINGS, timeout=2.0)
    # the datapath's flow statistics reach the OpenFlow flows when the revalidators next run
    wait_until(lambda: n_packets(ovs, bridge, 1) >= PINGS and n_packets(ovs, bridge, 2) >= PINGS,
               what="the flows' n_packets")
    fw_flow, ids_flow = n_packets(ovs, bridge, 1), n_packets(ovs, bridge, 2)

    def counted() -> dict[tuple[int, Role], int]:
        return {(t.si, t.role): t.packets for t in telemetry.totals()[0] if t.spi == SPI}

    wait_until(lambda: counted() == {(255, Role.CLASSIFY): fw_flow, (255, Role.HOP_IN): fw_flow,
                                     (254, Role.HOP_IN): ids_flow}, what=f"IPFIX counts {fw_flow}/{ids_flow}")
    time.sleep(2.5)                                # another flush: nothing counted twice
    assert counted()[(255, Role.HOP_IN)] == n_packets(ovs, bridge, 1) == fw_flow

    snap = telemetry.snapshot(60.0)
    path = snap.path(SPI)
    assert (path.vnffg, path.path) == ("demo", "ping")
    assert path.entered.packets == fw_flow and path.entered.exact and path.entered.flows == 1
    fw, ids = path.hops
    assert (fw.name, fw.into.packets, ids.name, ids.into.packets) == ("fw", fw_flow, "ids", ids_flow)
    assert fw.loss is not None and fw.loss.exact and fw.loss.packets == fw_flow - ids_flow
    assert path.top[0].flow.src == h1.ip and path.top[0].packets == fw_flow
    assert col.drops().total == 0, col.drops()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    with serve(registry(telemetry, col), sock=sock) as server:
        conn = http.client.HTTPConnection(*server.address[:2], timeout=5)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    hops = {(s.labels["hop"], s.labels["direction"]): s.value for s in families["nfvchain_hop_packets"]
            if s.name == "nfvchain_hop_packets_total" and s.labels["spi"] == str(SPI)}
    assert hops == {("fw", "in"): fw_flow, ("ids", "in"): ids_flow}
    (entered,) = [s.value for s in families["nfvchain_path_packets"] if s.name == "nfvchain_path_packets_total"]
    assert entered == fw_flow
    datagrams = [s for s in families["nfvchain_collector_datagrams"] if s.labels["protocol"] == "ipfix"]
    assert datagrams and datagrams[0].value >= 1
