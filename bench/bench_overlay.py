"""iperf3 TCP between two namespaces, same run, interleaved rounds, five paths:

- one host: both on compute1's br-int, port to port;
- plain VXLAN: client on compute1, server on compute2, one VL segment (VNI 100);
- NSH over GPE: classified on compute1 straight to a path end on compute2 (and back, SPI 0x41);
- 2-SF chain on one host: client, both reference SFs (Python forwarders) and server on compute1;
- 2-SF chain across hosts: sf1 on compute1, sf2 on compute2, the hop between them in VXLAN-GPE;
  replies take the VL in plain VXLAN (as the chain tests do).

Why: the overlay of issue 13 must not cost much over one switch, and NSH over GPE should cost
nothing over plain VXLAN (the prototype measured 937 vs 958 Mbit/s). The same client and server
namespaces are used throughout: each has ``eth0`` on its own host (compute1 / compute2) and
``eth1`` on compute1, so only the path between them changes. Flows are installed by hand; the
NSH variants write the multi-host context (dataplane.nshcontext) as the controller will. Run as root:

    .venv/bin/python bench/bench_overlay.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the repo first

from dataplane import nshcontext  # noqa: E402
from dataplane.hosts import Cluster, ComputeHost, static_neighbour  # noqa: E402
from dataplane.lab import Host, stop_process, wait_for_line  # noqa: E402
from dataplane.underlay import VXLAN_OFPORT, gpe_in_match, gpe_out, vl_flows  # noqa: E402

PORT, VNI, SPI_FWD, SPI_REV, SPI_CHAIN = 5201, 100, 0x40, 0x41, 7
NSH = 0x894F


def iperf(client: Host, server: Host, seconds: float) -> float:
    """Mbit/s received by the server (0 if the run failed: printed, never hidden)."""
    srv = server.popen(["iperf3", "-s", "-1", "-B", server.ip, "-p", str(PORT)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        res = client.exec(["iperf3", "-c", server.ip, "-p", str(PORT), "-t", str(seconds), "-J"],
                          check=False, timeout=seconds + 30)
        try:
            return float(json.loads(res.stdout)["end"]["sum_received"]["bits_per_second"]) / 1e6
        except (ValueError, KeyError):
            print(f"  iperf3 {client.ip} -> {server.ip} failed: {res.stdout[-200:]} {res.stderr[-200:]}", file=sys.stderr)
            return 0.0
    finally:
        stop_process(srv)


def nsh_flows(c1: ComputeHost, c2: ComputeHost, a: Host, b: Host) -> tuple[list[str], list[str]]:
    """Classifier on each side (encap NSH, context C1 = ingress host+port, C2 = segment) straight to
    the other host's path end (decap, deliver): SPI 0x40 forward, 0x41 back, SI 255."""
    def classify(host: ComputeHost, port: Host, spi: int, peer: ComputeHost) -> str:
        words = nshcontext.Context(ingress_host=host.plan.host_id, ingress_port=port.ofport, segment=VNI).words()
        return (f"priority=100,in_port={port.ofport},ip,actions=encap(nsh(md_type=1)),set_field:{spi:#x}->nsh_spi,"
                f"set_field:255->nsh_si,set_field:{words[0]:#x}->nsh_c1,set_field:{words[1]:#x}->nsh_c2,"
                f"{gpe_out(peer_ip=peer.plan.underlay_ip, vni=VNI)}")

    def end(spi: int, port: Host) -> str:
        return f"priority=100,{gpe_in_match(spi=spi, si=255)},actions=decap(),output:{port.ofport}"

    return ([classify(c1, a, SPI_FWD, c2), end(SPI_REV, a)], [classify(c2, b, SPI_REV, c1), end(SPI_FWD, b)])


def chain_flows(c1: ComputeHost, c2: ComputeHost | None, a: Host, b: Host, sf1: Host, sf2: Host) -> tuple[list[str], list[str]]:
    """a -> classify (SPI 7) -> sf1 -> sf2 -> b. With ``c2`` sf2 and b sit on c2 and the sf1 -> sf2 hop
    is VXLAN-GPE; replies b -> a take the VL. Without, everything is on c1 and replies go port to port."""
    ctx = nshcontext.Context(ingress_host=c1.plan.host_id, ingress_port=a.ofport, segment=VNI).words()
    classify = (f"priority=100,in_port={a.ofport},ip,actions=encap(nsh(md_type=1)),set_field:{SPI_CHAIN}->nsh_spi,"
                f"set_field:255->nsh_si,set_field:{ctx[0]:#x}->nsh_c1,set_field:{ctx[1]:#x}->nsh_c2,"
                f"encap(ethernet),set_field:{sf1.mac}->eth_dst,output:{sf1.ofport}")
    from_sf1 = f"priority=100,in_port={sf1.ofport},dl_type={NSH:#x},nsh_spi={SPI_CHAIN},nsh_si=254"
    end = (f"priority=100,in_port={sf2.ofport},dl_type={NSH:#x},nsh_spi={SPI_CHAIN},nsh_si=253,"
           f"actions=decap(),decap(),output:{b.ofport}")
    if c2 is None:
        return ([classify, f"{from_sf1},actions=set_field:{sf2.mac}->eth_dst,output:{sf2.ofport}", end,
                 f"priority=100,in_port={b.ofport},actions=output:{a.ofport}"], [])
    return ([classify, f"{from_sf1},actions=decap(),{gpe_out(peer_ip=c2.plan.underlay_ip, vni=VNI)}",
             f"priority=100,in_port={VXLAN_OFPORT},tun_id={VNI},actions=output:{a.ofport}"],
            [f"priority=100,{gpe_in_match(spi=SPI_CHAIN, si=254)},actions=encap(ethernet),"
             f"set_field:{sf2.mac}->eth_dst,output:{sf2.ofport}", end,
             vl_flows(local_ofport=b.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip)[0]])


def start_sf(sf: Host) -> subprocess.Popen[str]:
    proc = sf.popen([sys.executable, "-m", "dataplane.sf", "forwarder", "--iface", sf.iface],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_line(proc, "ready", 10.0)
    return proc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    procs: list[subprocess.Popen[str]] = []
    with Cluster(2) as cluster:
        c1, c2 = cluster["compute1"], cluster["compute2"]
        a, b = c1.plug("10.90.0.1/24"), c2.plug("10.90.0.2/24")
        a1, b1 = c1.plug("10.91.0.1/24", into=a, iface="eth1"), c1.plug("10.91.0.2/24", into=b, iface="eth1")
        sf1, sf2_local, sf2 = (c1.plug("10.92.0.1/24", mtu=1600), c1.plug("10.92.0.2/24", mtu=1600),
                               c2.plug("10.92.0.3/24", mtu=1600))
        for x, y in ((a, b), (b, a), (a1, b1), (b1, a1)):
            static_neighbour(x, y)  # the NSH variants classify IP only: no ARP crosses
        try:
            procs += [start_sf(sf) for sf in (sf1, sf2_local, sf2)]
            fwd, rev = nsh_flows(c1, c2, a, b)
            variants = {
                "one host": ((f"priority=100,in_port={a1.ofport},actions=output:{b1.ofport}",
                              f"priority=100,in_port={b1.ofport},actions=output:{a1.ofport}"), (), a1, b1),
                "plain VXLAN": (vl_flows(local_ofport=a.ofport, vni=VNI, peer_ip=c2.plan.underlay_ip),
                                vl_flows(local_ofport=b.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip), a, b),
                "NSH over GPE": (fwd, rev, a, b),
                "2-SF chain, one host": (*chain_flows(c1, None, a1, b1, sf1, sf2_local), a1, b1),
                "2-SF chain, two hosts": (*chain_flows(c1, c2, a, b, sf1, sf2), a, b),
            }
            results: dict[str, list[float]] = {name: [] for name in variants}
            for rnd in range(args.rounds):
                for name, (flows1, flows2, client, server) in variants.items():
                    for host, flows in ((c1, flows1), (c2, flows2)):
                        host.ofctl("del-flows", "br-int")
                        host.add_flows(flows)
                    value = iperf(client, server, args.seconds)
                    if "chain" in name and "n_packets=0," in (c2 if "two" in name else c1).ofctl(
                            "dump-flows", "br-int", f"nsh_spi={SPI_CHAIN},nsh_si=253,dl_type={NSH:#x}"):
                        print(f"  {name}: the path end counted no packet, the chain was not used", file=sys.stderr)
                        value = 0.0
                    results[name].append(value)
                    print(f"round {rnd + 1} {name}: {value:.0f} Mbit/s", flush=True)
        finally:
            for proc in procs:
                stop_process(proc)
        med = {name: statistics.median(vals) for name, vals in results.items()}
        print("medians: " + ", ".join(f"{n} {v:.0f}" for n, v in med.items()) + " (Mbit/s)")

        def ratio(x: str, y: str) -> str:
            return f"{x} / {y} {med[x] / med[y]:.2f}" if med[y] else f"{x} / {y} n/a"

        print("ratios: " + "; ".join([ratio("plain VXLAN", "one host"), ratio("NSH over GPE", "plain VXLAN"),
                                      ratio("2-SF chain, two hosts", "2-SF chain, one host"),
                                      ratio("2-SF chain, two hosts", "plain VXLAN")]))
        ok = all(v > 0 for vals in results.values() for v in vals)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
