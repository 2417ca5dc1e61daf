"""iperf3 TCP between two namespaces through our pipeline with 0, 1 and 2 reference SFs.

Each figure is a ratio against plain NORMAL forwarding on the same bridge in the same run
(the machines are noisy). Goals: 0 SFs >= 0.95, 2 SFs >= 0.6. Run as root:

    .venv/bin/python bench/bench_chain_throughput.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the repo first

from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab, stop_process  # noqa: E402
from sdn.docfile import parse_document  # noqa: E402
from sdn.osken_runtime import start_controller  # noqa: E402
from sdn.controller import SfcController  # noqa: E402

PORT = 5201


def iperf(client, server, seconds: float) -> float:
    """Mbit/s received by the server."""
    srv = server.popen(["iperf3", "-s", "-1", "-B", server.ip, "-p", str(PORT)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        res = client.exec(["iperf3", "-c", server.ip, "-p", str(PORT), "-t", str(seconds), "-J"],
                          check=False, timeout=seconds + 30)
        data = json.loads(res.stdout)
        return data["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        stop_process(srv)


def document(dpid: int, client_port: str, sf_ports: list[str]) -> dict:
    paths = []
    if sf_ports:
        paths.append({"name": "bench", "spi": 42, "hops": [f"sf{i}" for i in range(len(sf_ports))],
                      "classifiers": [{"name": "iperf", "in_port": client_port, "match": {"tcp_dst": PORT}}]})
    return {"switches": [{"name": "s", "dpid": dpid}],
            "service_functions": [{"name": f"sf{i}", "instances": [{"switch": "s", "port": p}]}
                                  for i, p in enumerate(sf_ports)],
            "service_function_paths": paths}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    netns.enter_private_netns()
    driver, stop = start_controller("127.0.0.1", 0)
    try:
        with OvsLab() as lab:
            controller = SfcController(driver)
            dpid = 0xBE
            bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
            client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
            server = lab.host(bridge, "10.0.0.2/24", mtu=1500)
            sfs = [lab.host(bridge, f"10.99.0.{i + 1}/24") for i in range(2)]
            for sf in sfs:
                lab.sf(sf, "forwarder")
            deadline = time.monotonic() + 15
            while dpid not in driver.switches() and time.monotonic() < deadline:
                time.sleep(0.05)
            results: dict[str, float] = {}
            # baseline: plain NORMAL on the same bridge (our flows out of the way)
            controller.apply_document(parse_document({}))
            lab.ovs.ofctl("add-flow", bridge, "priority=0,actions=NORMAL")
            results["normal"] = iperf(client, server, args.seconds)
            lab.ovs.ofctl("del-flows", bridge)
            for count in (0, 1, 2):
                controller.apply_document(parse_document(document(dpid, client.port, [s.port for s in sfs[:count]])))
                results[f"{count} SFs"] = iperf(client, server, args.seconds)
            base = results["normal"]
            print(f"NORMAL forwarding: {base:.0f} Mbit/s")
            for count in (0, 1, 2):
                value = results[f"{count} SFs"]
                print(f"{count} SFs: {value:.0f} Mbit/s, ratio {value / base:.2f}")
            print(f"ratios vs NORMAL: 0 SFs {results['0 SFs'] / base:.2f} (goal >= 0.95), "
                  f"1 SF {results['1 SFs'] / base:.2f}, 2 SFs {results['2 SFs'] / base:.2f} (goal >= 0.6)")
            controller.stop()
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
