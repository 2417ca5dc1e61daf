"""Flow install of N two-hop paths on one compute host vs spread over three (also with one SF spanning
two hosts), same run, same controller.

A rack of three compute hosts (``dataplane.hosts.Cluster``), each br-int connected to the
controller on the rack (tests/integration/sdn/overlay_lab.py). Per N: the document's N paths
(one 5-tuple classifier each, on compute1) go through SFs ``a`` and ``b``; first both SFs on
compute1 (one switch holds everything), then ``a`` on compute2 and ``b`` on compute3 (paths
across SFFs: sdn.overlay), then ``a`` with an instance on compute2 and one on compute3 (one SF
spanning hosts: its slot table on compute1, compute2 and compute3, sdn.spread) and ``b`` on
compute3. Timed: ``SfcController.apply_document`` until every switch worker has settled; each
layout's time is also given as a ratio to the one-SFF layout's at the same N, in the same run;
checked: each switch holds exactly the flows rendered for it. Run as root:

    .venv/bin/python bench/bench_overlay_install.py [--paths 1000 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dataplane.hosts import Cluster  # noqa: E402
from dataplane.lab import new_prefix  # noqa: E402
from dataplane.underlay import GPE_PORT  # noqa: E402
from sdn.docfile import parse_document  # noqa: E402
from sdn.document import SfcDocument  # noqa: E402
from sdn.render import compute_switch_states  # noqa: E402
from tests.integration.sdn.overlay_lab import controller_on_rack  # noqa: E402

SUBNET, RACK_IP = "172.31.252.0/24", "172.31.252.254"


# layout label -> where each SF's instances are (a host each)
LAYOUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "a, b @ c1 (one SFF)": {"a": ("compute1",), "b": ("compute1",)},
    "a@c2, b@c3 (overlay)": {"a": ("compute2",), "b": ("compute3",)},
    "a@c2+c3, b@c3 (spread)": {"a": ("compute2", "compute3"), "b": ("compute3",)},
}
BASELINE = next(iter(LAYOUTS))


def document(cluster: Cluster, ports: dict[str, str], paths: int, where: dict[str, tuple[str, ...]]) -> SfcDocument:
    switches = [{"name": h.name, "dpid": h.plan.datapath_id, "host_id": h.plan.host_id,
                 "tunnel_ip": h.plan.underlay_ip, "gpe_port": GPE_PORT} for h in cluster.hosts.values()]
    return parse_document({
        "switches": switches,
        "service_functions": [{"name": sf, "instances": [{"switch": host, "port": ports[f"{sf}@{host}"]}
                                                         for host in hosts]}
                              for sf, hosts in where.items()],
        "service_function_paths": [
            {"name": f"p{i}", "spi": i + 1, "hops": ["a", "b"], "classifiers": [
                {"name": f"c{i}", "switch": "compute1", "in_port": ports["client"],
                 "match": {"nw_proto": 6, "nw_src": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                           "nw_dst": "10.200.0.1", "tcp_src": 1024 + i % 50000, "tcp_dst": 80}}]}
            for i in range(paths)],
    })


def flow_count(host) -> int:
    return int(host.ofctl("dump-aggregate", "br-int").split("flow_count=")[1].split()[0])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args()
    with Cluster(3, prefix=new_prefix(), subnet=SUBNET) as cluster, controller_on_rack(cluster, RACK_IP, 600) as rack:
        c1, c2, c3 = (cluster[f"compute{i}"] for i in (1, 2, 3))
        eps = {"client": c1.plug("10.99.0.1/24"), "a@compute1": c1.plug("10.99.1.1/24"),
               "b@compute1": c1.plug("10.99.1.2/24"), "a@compute2": c2.plug("10.99.1.3/24"),
               "b@compute3": c3.plug("10.99.1.4/24"), "a@compute3": c3.plug("10.99.1.5/24")}
        ports = {k: ep.port for k, ep in eps.items()}
        rack.wait_for_switches({"compute1": {ports["client"], ports["a@compute1"], GPE_PORT},
                                "compute2": {ports["a@compute2"]},
                                "compute3": {ports["b@compute3"], ports["a@compute3"]}})
        print(f"{'paths':>6} {'layout':<24} {'flows c1/c2/c3':<22} {'seconds':>8} {'flows/s':>9} {'x one SFF':>9}")
        for n in args.paths:
            baseline = 0.0
            for layout, where in LAYOUTS.items():
                doc = document(cluster, ports, n, where)
                t0 = time.perf_counter()
                rack.controller.apply_document(doc)
                if not rack.controller.settle(600):
                    raise SystemExit("the controller did not settle")
                elapsed = time.perf_counter() - t0
                want = compute_switch_states(doc, {d: i.ports for d, i in rack.driver.switches().items()})
                counts = [flow_count(h) for h in (c1, c2, c3)]
                assert counts == [len(want[h.plan.datapath_id].flows) for h in (c1, c2, c3)], counts
                baseline = elapsed if layout == BASELINE else baseline
                print(f"{n:>6} {layout:<24} {'/'.join(map(str, counts)):<22} {elapsed:>8.2f} "
                      f"{sum(counts) / elapsed:>9.0f} {elapsed / baseline:>9.2f}", flush=True)
                rack.controller.apply_document(SfcDocument(doc.switches))
                rack.controller.settle(600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
