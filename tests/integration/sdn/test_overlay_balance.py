"""An NSH-aware SF with instances on three compute hosts, balanced by its slot table (sdn.spread),
on real OVS in three host namespaces with VXLAN-GPE between them.

SF ``lb`` has a counting instance on each of compute1 (where client and server are, so compute1 is
both the previous stop and a holder), compute2 and compute3. A symmetric pair of paths carries 40
UDP "connections" (one source port each) client -> server and the echoes back: each counter SF
says which 5-tuples it served in which direction, so each connection must be served by exactly one
instance both ways, and the three share them. Then the controller re-plans the table: compute1's
instance drains (weight 0), later a fourth instance comes on compute2. The document's slots show
only the slots the change must move moved, and the same 40 connections sent again show it on the
wire: a connection of an instance that stays keeps its instance, those of the draining one go to
the others, and after the scale-out a connection either stays or goes to the new instance.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplane.hosts import Cluster
from dataplane.lab import Host, stop_process
from dataplane.underlay import GPE_PORT
from sdn.docfile import parse_document
from sdn.document import SfcDocument
from sdn.render import compute_switch_states
from sdn.sync import plan_changes
from tests.integration.sdn.overlay_lab import RackController, controller_on_rack
from tests.integration.sdn.test_overlay_render import counter_sf, flow_packets

pytestmark = pytest.mark.integration

RACK_IP = "172.31.246.254"
SUBNET = "172.31.246.0/24"  # no other rack's (test_overlay, _render, _unaware, test_hosts, the bench)
FWD, REV = 61, 62
ECHO = 7000
SPORTS = range(41000, 41040)

ECHO_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
"""

CLIENT = """
import json, socket, sys
src, dst, port, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
got = {}
for sport in range(first, first + count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.settimeout(1.0)
    n = 0
    for _ in range(3):
        s.sendto(b"x" * 200, (dst, port))
        try:
            s.recvfrom(2048)
            n += 1
        except socket.timeout:
            pass
    s.close()
    got[sport] = n
print(json.dumps(got))
"""


@pytest.fixture(scope="module")
def overlay(run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RackController]:
    with Cluster(3, prefix=run_prefix + "b", run_root=tmp_path_factory.mktemp("overlay-balance"),
                 subnet=SUBNET) as cluster, controller_on_rack(cluster, RACK_IP) as running:
        yield running


def document(c: Cluster, client: Host, server: Host, instances: list[tuple[str, Host, int]]) -> SfcDocument:
    switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                 "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT} for h in c.hosts.values()]
    return parse_document({
        "switches": switches,
        "service_functions": [{"name": "lb", "instances": [{"switch": host, "port": ep.port, "weight": weight}
                                                           for host, ep, weight in instances]}],
        "service_function_paths": [
            {"name": "up", "spi": FWD, "hops": ["lb"], "classifiers": [
                {"name": "to-server", "switch": "compute1", "in_port": client.port, "match": {"udp_dst": ECHO}}]},
            {"name": "down", "spi": REV, "hops": ["lb"], "classifiers": [
                {"name": "to-client", "switch": "compute1", "in_port": server.port, "match": {"udp_src": ECHO}}]},
        ]})


def send(client: Host, server: Host) -> dict[int, int]:
    """Each source port's echoes (of 3)."""
    res = client.exec([sys.executable, "-c", CLIENT, client.ip, server.ip, str(ECHO), str(SPORTS[0]), str(len(SPORTS))],
                      timeout=120)
    return {int(k): v for k, v in json.loads(res.stdout).items()}


def served(reports: dict[str, Path], client: Host) -> dict[tuple[str, int, int], int]:
    """(instance, SPI, client's source port) -> packets, from every counter's report."""
    time.sleep(0.6)  # the counters' last report
    out: dict[tuple[str, int, int], int] = {}
    for name, report in reports.items():
        if not report.exists():
            continue
        for f in json.loads(report.read_text())["flows"]:
            sport = f["src_port"] if f.get("src") == client.ip else f["dst_port"]
            out[(name, f["spi"], sport)] = out.get((name, f["spi"], sport), 0) + f["packets"]
    return out


def instance_of(before: dict, after: dict, names: list[str]) -> dict[int, str]:
    """Per connection, the one instance that served it (both ways) between two snapshots."""
    out = {}
    for sport in SPORTS:
        ways = {spi: {n for n in names if after.get((n, spi, sport), 0) > before.get((n, spi, sport), 0)}
                for spi in (FWD, REV)}
        assert len(ways[FWD]) == 1 and ways[FWD] == ways[REV], f"connection {sport}: {ways}"
        out[sport] = next(iter(ways[FWD]))
    return out


def slots(rack: RackController) -> dict[str, frozenset[int]]:
    """What the controller planned, by instance (its port names it)."""
    fn = rack.controller.document.function("lb")
    size = sum(len(i.slots) for i in fn.instances)
    return {i.port: frozenset(i.slots) for i in fn.instances} | {"size": frozenset({size})}


def lifted(table: dict[str, frozenset[int]], size: int) -> dict[str, frozenset[int]]:
    """The slots of a smaller table in a table of ``size`` (slot s of S becomes s, s + S, ...)."""
    old = next(iter(table["size"]))
    return {k: frozenset(s + m * old for s in v for m in range(size // old)) for k, v in table.items() if k != "size"}


@pytest.mark.timeout(300)
def test_an_sf_on_three_hosts_keeps_each_connection_on_one_instance_and_a_change_moves_only_what_it_must(
        overlay: RackController, tmp_path: Path) -> None:
    c = overlay.cluster
    c1, c2, c3 = c["compute1"], c["compute2"], c["compute3"]
    client, server = c1.plug("10.93.0.1/24"), c1.plug("10.93.0.2/24")
    lb1, lb2, lb3 = c1.plug("10.93.1.1/24", mtu=1600), c2.plug("10.93.1.2/24", mtu=1600), \
        c3.plug("10.93.1.3/24", mtu=1600)
    lb4 = c2.plug("10.93.1.4/24", mtu=1600)
    eps = {"lb1": lb1, "lb2": lb2, "lb3": lb3, "lb4": lb4}
    reports = {name: tmp_path / f"{name}.json" for name in eps}
    procs = []
    try:
        procs = [counter_sf(ep, reports[name]) for name, ep in eps.items()]
        echo = server.popen([sys.executable, "-c", ECHO_SERVER, server.ip, str(ECHO)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
        procs.append(echo)
        overlay.wait_for_switches({"compute1": {client.port, server.port, lb1.port, GPE_PORT},
                                   "compute2": {lb2.port, lb4.port, GPE_PORT}, "compute3": {lb3.port, GPE_PORT}})
        three = [("compute1", lb1, 1), ("compute2", lb2, 1), ("compute3", lb3, 1)]
        overlay.controller.apply_document(document(c, client, server, three))
        assert overlay.controller.settle(15.0)
        assert client.ping(server.ip, count=2, timeout=2.0)  # ARP bypasses the chain
        desired = compute_switch_states(overlay.controller.document,
                                        {d: i.ports for d, i in overlay.driver.switches().items()})
        for host in (c1, c2, c3):  # what each switch reads back is what we computed (the guard's in_port too)
            assert plan_changes(overlay.driver.read_state(host.plan.datapath_id), desired[host.plan.datapath_id]).empty

        start = served(reports, client)
        got = send(client, server)
        assert all(n >= 2 for n in got.values()), got
        first = instance_of(start, after := served(reports, client), ["lb1", "lb2", "lb3"])
        spread = {n: sum(1 for v in first.values() if v == n) for n in ("lb1", "lb2", "lb3")}
        print(f"\n{len(SPORTS)} UDP connections over lb@compute1/2/3: {spread}")
        assert all(spread.values()), f"every instance takes connections: {spread}"
        tunnelled = flow_packets(c1, 22, "tun_dst")  # compute1's table sent slots of lb2/lb3 to their hosts
        assert tunnelled > 0
        table1 = slots(overlay)

        # compute1's instance drains: its slots go to the others, theirs stay
        drained = [("compute1", lb1, 0), ("compute2", lb2, 1), ("compute3", lb3, 1)]
        overlay.controller.apply_document(document(c, client, server, drained))
        assert overlay.controller.settle(15.0)
        table2 = slots(overlay)
        size2 = next(iter(table2["size"]))
        old = lifted(table1, size2)
        assert not table2[lb1.port], "a draining instance holds no slots"
        assert old[lb2.port] <= table2[lb2.port] and old[lb3.port] <= table2[lb3.port], "the others keep theirs"
        got = send(client, server)
        assert all(n >= 2 for n in got.values()), got
        second = instance_of(after, after2 := served(reports, client), ["lb1", "lb2", "lb3"])
        assert all(second[s] == first[s] for s in SPORTS if first[s] != "lb1"), "connections of staying instances stay"
        assert all(second[s] in ("lb2", "lb3") for s in SPORTS), "none goes to the draining instance"

        # a fourth instance comes on compute2: it takes slots from the others, nothing else moves
        four = [*drained, ("compute2", lb4, 1)]
        overlay.controller.apply_document(document(c, client, server, four))
        assert overlay.controller.settle(15.0)
        table3 = slots(overlay)
        size3 = next(iter(table3["size"]))
        old = lifted(table2, size3)
        assert all(table3[p] <= old[p] for p in (lb1.port, lb2.port, lb3.port)), "slots move only to the new one"
        assert table3[lb4.port] and table3[lb4.port] == frozenset(range(size3)) - table3[lb2.port] - table3[lb3.port]
        got = send(client, server)
        assert all(n >= 2 for n in got.values()), got
        third = instance_of(after2, served(reports, client), list(eps))
        moved = {s for s in SPORTS if third[s] != second[s]}
        assert all(third[s] == "lb4" for s in moved), f"a connection stays or goes to the new instance: {third}"
        assert moved, "the new instance takes connections"
        print(f"drained lb1: {sum(1 for s in SPORTS if first[s] == 'lb1')} connections moved; "
              f"lb4 added: {len(moved)} moved to it; slots {len(table1[lb1.port])}/{size2} -> 0, "
              f"lb4 {len(table3[lb4.port])}/{size3}")
    finally:
        overlay.controller.apply_document(parse_document({"switches": []}))
        for proc in procs:
            stop_process(proc)
        for host, ep in ((c1, client), (c1, server), (c1, lb1), (c2, lb2), (c3, lb3), (c2, lb4)):
            host.unplug(ep)
