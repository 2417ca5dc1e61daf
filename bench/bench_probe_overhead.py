"""What the probes cost a chain, and where: iperf3 TCP through a one-SF chain under several probe
configurations, same bridge, same run, rounds alternated (the order rotates every round, the
machines are noisy). Modes:

- ``off``: the chain without probes (the reference);
- ``sflow``: the bridge's sFlow agent only (1 in ``--sflow-sampling``);
- ``ipfix``: IPFIX ``sample()`` on every classify, hop and end-of-path flow only (1 in
  ``--ipfix-sampling``);
- ``both``: what the all-in-one does (its defaults: sFlow 1 in 64, IPFIX 1 in 256);
- ``unread``: both, but exporting to sockets nobody reads (OVS's own cost, without the
  collector's CPU competing for the 2 cores);
- ``all``: both with IPFIX on every packet (exact figures), for scale.

Each round gives every mode one run; a mode's overhead per round is 1 - its rate / the ``off``
run of the same round, reported as the median over rounds with its spread (min..max) and the
median rate; beside it the CPU seconds ovs-vswitchd (per thread kind) and the collector's
threads spent per GB carried, and their sum against ``off``'s: what the probes cost in CPU,
which says where the cost is and stays readable when other work on the machine makes the
throughput swing. Goal: ``both`` under 5% overhead. Run as root:

    .venv/bin/python bench/bench_probe_overhead.py [--seconds 4] [--rounds 7] [--modes off,both]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass

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

MODES = ("off", "sflow", "ipfix", "both", "unread", "all")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    mbits: float
    cpu: Counter[str]            # CPU seconds by thread kind (ovs-vswitchd's, "collector")
    datagrams: int               # what the collector received during the run
    records: int
    dp_flows: int                # datapath flows right after it (a sample action splitting the megaflows shows here)


def document(dpid: int, ovsdb: str, client_port: str, sf_port: str, probes: dict | None) -> dict:
    doc = {"switches": [{"name": "s", "dpid": dpid, "ovsdb": ovsdb}],
           "service_functions": [{"name": "sf0", "instances": [{"switch": "s", "port": sf_port}]}],
           "service_function_paths": [{"name": "bench", "spi": 42, "hops": ["sf0"], "classifiers": [
               {"name": "iperf", "in_port": client_port, "match": {"tcp_dst": PORT}}]}]}
    if probes:
        doc["probes"] = probes
    return doc


def probability(one_in: int) -> int:
    return 65535 >> (one_in.bit_length() - 1)


def thread_cpu(pid: int, tids: dict[int, str] | None = None) -> Counter[str]:
    """CPU seconds of ``pid``'s threads by kind (the thread's name without digits), or of the
    threads ``tids`` names."""
    out: Counter[str] = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        if tids is not None and int(tid) not in tids:
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        kind = tids[int(tid)] if tids is not None else re.sub(r"\d+$", "", name)
        out[kind] += (int(fields[11]) + int(fields[12])) / _TICK
    return out


def received(collector: Collector) -> tuple[int, int]:
    stats = collector.exporters()
    return sum(e.datagrams for e in stats), sum(e.records for e in stats)


def modes_probes(args: argparse.Namespace, targets: dict[str, str], dead: dict[str, str]) -> dict[str, dict | None]:
    sflow = {"sflow_targets": [targets["sflow"]], "sflow_sampling": args.sflow_sampling}
    ipfix = {"ipfix_targets": [targets["ipfix"]], "probability": probability(args.ipfix_sampling)}
    return {"off": None, "sflow": sflow, "ipfix": ipfix, "both": {**sflow, **ipfix},
            "unread": {"sflow_targets": [dead["sflow"]], "sflow_sampling": args.sflow_sampling,
                       "ipfix_targets": [dead["ipfix"]], "probability": probability(args.ipfix_sampling)},
            "all": {**sflow, **ipfix, "probability": 65535}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--modes", default="off,sflow,ipfix,both,unread", help=f"comma-separated, of {', '.join(MODES)}")
    ap.add_argument("--ipfix-sampling", type=int, default=256, help="IPFIX sample(): 1 in N packets (power of 2)")
    ap.add_argument("--sflow-sampling", type=int, default=64, help="sFlow: 1 in N packets")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if "off" not in modes or any(m not in MODES for m in modes):
        ap.error(f"--modes: 'off' plus any of {', '.join(MODES)}")
    netns.enter_private_netns()
    telemetry = Telemetry()
    collector = Collector([ListenerSpec(Protocol.SFLOW, 0, "127.0.0.1"), ListenerSpec(Protocol.IPFIX, 0, "127.0.0.1")],
                          telemetry)
    collector.start()
    unread = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]   # bound, never read
    for s in unread:
        s.bind(("127.0.0.1", 0))
    collector_tids = {t.native_id: "collector" for t in (lst.thread for lst in collector._listeners)
                      if t is not None and t.native_id is not None}
    driver, stop = start_controller("127.0.0.1", 0)
    runs: dict[str, list[Run]] = {m: [] for m in modes}
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
            vswitchd = int((lab.ovs.run_dir / "ovs-vswitchd.pid").read_text())
            targets = {str(p): f"127.0.0.1:{port}" for p, (_, port) in collector.addresses().items()}
            dead = {"sflow": f"127.0.0.1:{unread[0].getsockname()[1]}", "ipfix": f"127.0.0.1:{unread[1].getsockname()[1]}"}
            docs = {m: parse_document(document(dpid, lab.ovs.db_sock, client.port, sf.port, p))
                    for m, p in modes_probes(args, targets, dead).items() if m in modes}
            telemetry.set_catalogue(catalogue_of(docs["both"] if "both" in docs else docs["off"]))
            for r in range(args.rounds):
                for name in modes[r % len(modes):] + modes[:r % len(modes)]:   # rotate: no mode always first
                    controller.apply_document(docs[name])
                    controller.settle(10.0)
                    time.sleep(1.0)                                        # OVSDB reached, revalidators done
                    before = thread_cpu(vswitchd) + thread_cpu(os.getpid(), collector_tids)
                    got = received(collector)
                    mbits = iperf(client, server, args.seconds)
                    cpu = thread_cpu(vswitchd) + thread_cpu(os.getpid(), collector_tids)
                    cpu.subtract(before)
                    now = received(collector)
                    dp_flows = len(lab.ovs.appctl("dpctl/dump-flows").splitlines())
                    runs[name].append(Run(mbits, cpu, now[0] - got[0], now[1] - got[1], dp_flows))
                    print(f"round {r + 1} {name:7} {mbits:7.0f} Mbit/s", file=sys.stderr, flush=True)
            controller.stop()
    finally:
        stop()
        collector.stop()
        for s in unread:
            s.close()
    report(runs, args)
    return 0


def cpu_per_gb(got: list[Run], seconds: float) -> Counter[str]:
    gbytes = sum(r.mbits for r in got) * seconds / 8000
    cpu: Counter[str] = Counter()
    for r in got:
        cpu.update(r.cpu)
    return Counter({k: v / gbytes for k, v in cpu.items()})


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> None:
    base = runs["off"]
    reference = sum(cpu_per_gb(base, args.seconds).values())
    print(f"{len(base)} rounds of {args.seconds:g} s, sFlow 1 in {args.sflow_sampling}, IPFIX 1 in {args.ipfix_sampling}")
    print(f"{'mode':8} {'Mbit/s':>8} {'overhead (median, min..max)':>30} {'datagrams/s':>11} {'records/s':>9}"
          f" {'dp flows':>8}   CPU s per GB carried")
    for name, got in runs.items():
        rates = [r.mbits for r in got]
        over = [100 * (1 - r.mbits / b.mbits) for r, b in zip(got, base, strict=True)]
        cpu = cpu_per_gb(got, args.seconds)
        shown = ", ".join(f"{k} {v:.2f}" for k, v in cpu.most_common() if v >= 0.01)
        if name != "off":
            shown += f" ({100 * (sum(cpu.values()) / reference - 1):+.1f}% against off)"
        spread = f"{statistics.median(over):5.1f}% ({min(over):5.1f}..{max(over):5.1f})" if name != "off" else ""
        seconds = args.seconds * len(got)
        print(f"{name:8} {statistics.median(rates):8.0f} {spread:>30} {sum(r.datagrams for r in got) / seconds:11.0f} "
              f"{sum(r.records for r in got) / seconds:9.0f} {statistics.median(r.dp_flows for r in got):8.0f}   {shown}")
    if "both" in runs:
        over = statistics.median(100 * (1 - r.mbits / b.mbits) for r, b in zip(runs["both"], base, strict=True))
        print(f"defaults (both): overhead {over:.1f}% (goal < 5%: {'met' if over < 5 else 'not met'})")


if __name__ == "__main__":
    sys.exit(main())
