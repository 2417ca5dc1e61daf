"""Telemetry of a chain across three compute hosts on ``nfv up --hosts 3``, driven by the CLI.

Each host's OVS runs in a namespace of its own and reaches the stack's collectors over the rack's
management network; each host's sFlow agent reports under its own underlay address. The client
sits on compute1, the web server on compute3, the chain's three NSH-aware counter SFs on
compute2, compute3 and compute1 (``availability_zone`` pins). After real UDP through the chain
(IPFIX sample() on every packet: exact figures), ``nfv exporter list`` shows every host's OVS as
an sFlow and an IPFIX exporter, named by its switch, and ``nfv vnffg stats`` shows per hop the
packets into it that the sample() flows on that hop's host counted (``ovs-ofctl dump-flows``
n_packets), and what the counter SFs themselves saw; the sFlow samples, each host's ifIndexes
mapped under its own agent address, count the entry and each hop's way back once.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dataplane.ovs import OvsInstance
from dataplane.underlay import INTEGRATION_BRIDGE
from nfvo.computehosts import hosts_dir
from sdn.telemetry.observation import Role, decode
from tests.integration.nfvo.multihost import counters, create_chain, nfv, pinned_stack
from tests.integration.nfvo.nfvcli import wait_for

pytestmark = pytest.mark.integration

PORT = 9999
PACKETS = 600
PLACES = {"client": ("host.yaml", "host", "compute1"), "web": ("host.yaml", "host", "compute3"),
          "sf1": ("nsh-counter.yaml", "nsh-counter", "compute2"), "sf2": ("nsh-counter.yaml", "nsh-counter", "compute3"),
          "sf3": ("nsh-counter.yaml", "nsh-counter", "compute1")}
HOPS = {255: ("sf1", "compute2"), 254: ("sf2", "compute3"), 253: ("sf3", "compute1")}
SENDER = ("import socket, sys, time\n"
          "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
          "for i in range(int(sys.argv[3])):\n"
          "    s.sendto(i.to_bytes(8, 'big') + bytes(56), (sys.argv[1], int(sys.argv[2])))\n"
          "    time.sleep(0.004)\n")
SAMPLE = re.compile(r"sample\(probability=\d+,collector_set_id=\d+,obs_domain_id=(\d+),obs_point_id=(\d+)\)")


def sampled_packets(state: Path, host: str) -> Counter:
    """(spi, si, role) -> n_packets of the flows on ``host``'s bridge whose sample() is that point."""
    out: Counter = Counter()
    for line in OvsInstance(hosts_dir(state) / host / "ovs").ofctl("dump-flows", INTEGRATION_BRIDGE).splitlines():
        packets = re.search(r"n_packets=(\d+)", line)
        for domain, point in SAMPLE.findall(line):
            found = decode(int(domain), int(point))
            if found is not None and packets is not None:
                out[(found.spi, found.si, found.role)] += int(packets.group(1))
    return out


def sflow_totals(url: str, spi: int) -> dict[tuple[str, int], float]:
    """(entered|in|out, SI) -> packets the stack's Prometheus totals give ``spi`` from sFlow samples."""
    out: dict[tuple[str, int], float] = {}
    for family in text_string_to_metric_families(urllib.request.urlopen(url, timeout=10).read().decode()):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("source") != "samples" or labels.get("spi") != str(spi):
                continue
            if sample.name == "nfvchain_path_packets_total":
                out[("entered", 255)] = sample.value
            elif sample.name == "nfvchain_hop_packets_total":
                out[(labels["direction"], int(labels["si"]))] = sample.value
    return out


def test_per_hop_figures_of_a_chain_across_three_hosts(tmp_path: Path) -> None:
    with pinned_stack(tmp_path, PLACES, "--ipfix-sampling", "1", env={"NFV_SFLOW_SAMPLING": "4"}) as stack:
        state, env, hosts = stack.state, stack.env, {h.name: h for h in stack.rack.hosts}
        web_ip = stack.ip("web")
        chain = create_chain(stack, "udp", "sf1,sf2,sf3", "to-web", f"udp_dst={PORT},ip_proto=17")
        spi = int(chain["paths"][0]["spi"])

        sent = nfv("vnf", "exec", "client", "--", sys.executable, "-c", SENDER, web_ip, str(PORT), str(PACKETS),
                   env=env, timeout=60)
        assert sent.returncode == 0, sent.stderr + sent.stdout

        # what each host's sample() flows counted, and the counter SFs' own reports
        # the datapath's flow statistics reach the OpenFlow flows when the revalidators next run
        # (every ~0.5 s, later on a loaded machine): read until two reads a second apart agree
        reads: list[dict[str, Counter[tuple[int, int, Role]]]] = []

        def settled() -> dict[str, Counter[tuple[int, int, Role]]] | None:
            reads.append({name: sampled_packets(state, name) for name in hosts})
            return reads[-1] if len(reads) > 1 and reads[-1] == reads[-2] else None

        flows = wait_for(settled, "the sample() flows' n_packets to settle", timeout=20, every=1.0,
                         detail=lambda: reads[-2:])
        classified = flows["compute1"][(spi, 255, Role.CLASSIFY)]
        assert 0.99 * PACKETS <= classified <= PACKETS, flows   # the first few may wait for ARP
        for si, (_, host) in HOPS.items():
            assert flows[host][(spi, si, Role.HOP_IN)] == classified, (si, flows)
            assert not any(flows[h][(spi, si, Role.HOP_IN)] for h in hosts if h != host), (si, flows)

        def figures_agree():
            stats = stack.json("vnffg", "stats", "udp", "--window", "300")
            (path,) = stats["paths"]
            into = {int(h["si"]): h.get("into") or {} for h in path["hops"]}
            got = {si: int(c.get("packets", 0)) for si, c in into.items()}
            want = {si: flows[host][(spi, si, Role.HOP_IN)] for si, (_, host) in HOPS.items()}
            entered = int((path.get("entered") or {}).get("packets", 0))
            return (stats, path) if got == want and entered == classified else None

        stats, path = wait_for(figures_agree, "per-hop figures equal to the sample() flows' n_packets", timeout=30,
                               every=1.0, detail=lambda: nfv(
            "vnffg", "stats", "udp", "--window", "300", "-f", "json", env=env, timeout=60).stdout)
        assert stats["exact"] is True and int(stats["packets"]) == classified, stats
        for hop in path["hops"]:
            assert hop["into"]["source"] == "probe" and hop["into"]["exact"] is True, hop
            assert int(hop["into"]["bytes"]) > 0, hop   # NSH frames: OVS's layer2 octets
            assert hop["loss"]["exact"] is True and float(hop["loss"]["margin"]) == 0.0, hop
        wanted = {sf: classified for si, (sf, _) in HOPS.items()}
        wait_for(lambda: {sf: counters(state).get(sf, {}).get((spi, si), 0) for si, (sf, _) in HOPS.items()} == wanted,
                 "the counter SFs' reports", timeout=15, every=0.5, detail=lambda: counters(state))

        # every host's OVS an exporter of both protocols, from its underlay address, named by its switch
        exporters = stack.json("exporter", "list")
        rows = {(e["address"], e["protocol"]): e for e in exporters}
        for name, host in hosts.items():
            for protocol in ("sflow", "ipfix"):
                row = rows.get((host.underlay_ip, protocol))
                assert row is not None and row["switch"] == name and int(row["records"]) > 0, (name, exporters)
        table = nfv("exporter", "list", env=env, timeout=60)
        assert all(name in table.stdout for name in hosts), table.stdout
        shown_stats = nfv("vnffg", "stats", "udp", "--window", "300", env=env, timeout=60)
        assert shown_stats.returncode == 0 and "sf2" in shown_stats.stdout, shown_stats.stdout + shown_stats.stderr

        # sFlow (1 in 4) of every host, each sample's ifIndex read as that host's port: the entry
        # once (on the client's host, not again where the overlay or the VL delivers the frames),
        # what came back from each SF once, all within the sampling error (~150 samples: 8%)
        sflow = sflow_totals(json.loads((state / "stack.json").read_text())["metrics"], spi)
        want = {("entered", 255): classified, **{("out", si): classified for si in HOPS}}
        assert set(sflow) == set(want) and all(abs(sflow[k] - v) <= 0.35 * v for k, v in want.items()), sflow
