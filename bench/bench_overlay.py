"""iperf3 TCP between two namespaces: on one host, across two hosts in plain VXLAN, and across two
hosts as NSH in VXLAN-GPE (classifier on one host, path end on the other), same run, interleaved.

Why: the overlay of issue 13 must not cost much over one switch, and NSH over GPE should cost
nothing over plain VXLAN (the prototype measured 937 vs 958 Mbit/s). The same client and server
namespaces are used throughout: each has ``eth0`` on its own host (compute1 / compute2) and
``eth1`` on compute1, so only the path between them changes. Flows are installed by hand; the
NSH variant writes the multi-host context (dataplane.nshcontext) as the controller will. Run as root:

    .venv/bin/python bench/bench_overlay.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

from dataplane import nshcontext  # noqa: E402
from dataplane.hosts import Cluster, ComputeHost, static_neighbour  # noqa: E402
from dataplane.lab import Host, stop_process  # noqa: E402
from dataplane.underlay import gpe_in_match, gpe_out, vl_flows  # noqa: E402

PORT, VNI, SPI_FWD, SPI_REV = 5201, 100, 0x40, 0x41


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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with Cluster(2) as cluster:
        c1, c2 = cluster["compute1"], cluster["compute2"]
        a, b = c1.plug("10.90.0.1/24"), c2.plug("10.90.0.2/24")
        a1, b1 = c1.plug("10.91.0.1/24", into=a, iface="eth1"), c1.plug("10.91.0.2/24", into=b, iface="eth1")
        static_neighbour(a, b)  # the NSH variant classifies IP only: no ARP crosses
        static_neighbour(b, a)
        fwd, rev = nsh_flows(c1, c2, a, b)
        variants = {
            "one host": ((f"priority=100,in_port={a1.ofport},actions=output:{b1.ofport}",
                          f"priority=100,in_port={b1.ofport},actions=output:{a1.ofport}"), (), a1, b1),
            "plain VXLAN": (vl_flows(local_ofport=a.ofport, vni=VNI, peer_ip=c2.plan.underlay_ip),
                            vl_flows(local_ofport=b.ofport, vni=VNI, peer_ip=c1.plan.underlay_ip), a, b),
            "NSH over GPE": (fwd, rev, a, b),
        }
        results: dict[str, list[float]] = {name: [] for name in variants}
        for rnd in range(args.rounds):
            for name, (flows1, flows2, client, server) in variants.items():
                for host, flows in ((c1, flows1), (c2, flows2)):
                    host.ofctl("del-flows", "br-int")
                    host.add_flows(flows)
                value = iperf(client, server, args.seconds)
                results[name].append(value)
                print(f"round {rnd + 1} {name}: {value:.0f} Mbit/s", flush=True)
        med = {name: statistics.median(vals) for name, vals in results.items()}
        print("medians: " + ", ".join(f"{n} {v:.0f} Mbit/s" for n, v in med.items()))
        local = med["one host"] or float("nan")
        vxlan = med["plain VXLAN"] or float("nan")
        print(f"ratios: plain VXLAN / one host {med['plain VXLAN'] / local:.2f}, "
              f"NSH over GPE / one host {med['NSH over GPE'] / local:.2f}, "
              f"NSH over GPE / plain VXLAN {med['NSH over GPE'] / vxlan:.2f}")
        ok = all(v > 0 for vals in results.values() for v in vals)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
