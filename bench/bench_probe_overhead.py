"""What the probes cost a chain: iperf3 TCP through a one-SF chain with the probes on (sFlow 1 in
64 and IPFIX ``sample()`` on every classify, hop and end-of-path flow, every packet, into a
running collector + figures, as the all-in-one does) against the same chain without them, same
bridge, same run, rounds alternated (the machines are noisy). Goal: overhead under 5%
(ratio >= 0.95). Run as root:

    .venv/bin/python bench/bench_probe_overhead.py [--seconds 4] [--rounds 3] [--probability 65535]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from bench_chain_throughput import PORT, iperf  # noqa: E402  (this script's directory is on sys.path)
from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab  # noqa: E402
from sdn.controller import SfcController  # noqa: E402
from sdn.docfile import parse_document  # noqa: E402
from sdn.osken_runtime import start_controller  # noqa: E402
from sdn.telemetry.catalogue import catalogue_of  # noqa: E402
from sdn.telemetry.collector import Collector, ListenerSpec, Protocol  # noqa: E402
from sdn.telemetry.metrics import Telemetry  # noqa: E402


def document(dpid: int, ovsdb: str, client_port: str, sf_port: str, probes: dict | None) -> dict:
    doc = {"switches": [{"name": "s", "dpid": dpid, "ovsdb": ovsdb}],
           "service_functions": [{"name": "sf0", "instances": [{"switch": "s", "port": sf_port}]}],
           "service_function_paths": [{"name": "bench", "spi": 42, "hops": ["sf0"], "classifiers": [
               {"name": "iperf", "in_port": client_port, "match": {"tcp_dst": PORT}}]}]}
    if probes:
        doc["probes"] = probes
    return doc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--probability", type=int, default=65535, help="IPFIX sample() probability (65535: all)")
    ap.add_argument("--sflow-sampling", type=int, default=64, help="sFlow: 1 in N packets (0: no sFlow)")
    ap.add_argument("--no-ipfix", action="store_true", help="sFlow only")
    args = ap.parse_args()
    netns.enter_private_netns()
    telemetry = Telemetry()
    collector = Collector([ListenerSpec(Protocol.SFLOW, 0, "127.0.0.1"), ListenerSpec(Protocol.IPFIX, 0, "127.0.0.1")],
                          telemetry)
    collector.start()
    driver, stop = start_controller("127.0.0.1", 0)
    try:
        with OvsLab() as lab:
            controller = SfcController(driver)
            dpid = 0xBF
            bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
            client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
            server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
            sf = lab.host(bridge, "10.99.0.1/24")
            lab.sf(sf, "forwarder")
            deadline = time.monotonic() + 15
            while dpid not in driver.switches() and time.monotonic() < deadline:
                time.sleep(0.05)
            addrs = {p: f"127.0.0.1:{port}" for p, (_, port) in collector.addresses().items()}
            probes: dict = {"probability": args.probability}
            if args.sflow_sampling:
                probes.update(sflow_targets=[addrs[Protocol.SFLOW]], sflow_sampling=args.sflow_sampling)
            if not args.no_ipfix:
                probes.update(ipfix_targets=[addrs[Protocol.IPFIX]])
            plain = parse_document(document(dpid, lab.ovs.db_sock, client.port, sf.port, None))
            probed = parse_document(document(dpid, lab.ovs.db_sock, client.port, sf.port, probes))
            telemetry.set_catalogue(catalogue_of(probed))
            runs: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(args.rounds):
                for name, doc in (("without", plain), ("with", probed)):
                    controller.apply_document(doc)
                    time.sleep(1.0)  # the probe keeper reaches OVSDB
                    runs[name].append(iperf(client, server, args.seconds))
            controller.stop()
    finally:
        stop()
        collector.stop()
    base, probed_rate = statistics.median(runs["without"]), statistics.median(runs["with"])
    records = sum(e.records for e in collector.exporters())
    print(f"without probes: {base:.0f} Mbit/s (runs {', '.join(f'{r:.0f}' for r in runs['without'])})")
    print(f"with probes:    {probed_rate:.0f} Mbit/s (runs {', '.join(f'{r:.0f}' for r in runs['with'])}), "
          f"{records} records collected")
    ratio = probed_rate / base
    print(f"ratio {ratio:.3f}, overhead {100 * (1 - ratio):.1f}% (goal < 5%: {'met' if ratio >= 0.95 else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
