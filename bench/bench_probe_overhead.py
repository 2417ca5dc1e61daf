"""What the probes cost a chain, and where: iperf3 TCP through a one-SF chain under several probe
configurations, same bridge, same run, rounds alternated (the order rotates every round, the
machines are noisy). Modes:

- ``off``: the chain without probes (the reference);
- ``sflow``: the bridge's sFlow agent only (1 in ``--sflow-sampling``);
- ``ipfix``: IPFIX ``sample()`` on every classify, hop and end-of-path flow only (1 in
  ``--ipfix-sampling``);
- ``both``: what the all-in-one does (its defaults: sFlow 1 in 400, OVS's own, IPFIX 1 in 256);
- ``unread``: both, but exporting to sockets nobody reads (OVS's own cost, without the
  collector's CPU competing for the 2 cores);
- ``all``: both with IPFIX on every packet (exact figures), for scale.

Each round gives every mode one short run, the order rotating (with ``off,both``: off/both,
both/off, ...), so each run has an ``off`` partner seconds away on the same chain. Two figures:

- throughput: a mode's overhead per round is 1 - its rate / the same round's ``off`` rate,
  reported as the median over rounds with its interquartile range and min..max (on a noisy
  2-core machine single runs swing +-50%; many short pairs make the median hold);
- CPU: what the probes cost in CPU seconds per GB carried -- ovs-vswitchd's extra CPU per GB
  against the paired ``off`` run plus the collector threads' CPU per GB -- as a fraction of
  the chain's forwarding CPU per GB in ``off`` (iperf3 client and server, the SF process and
  ovs-vswitchd: what moving the bytes costs). It does not depend on how fast the chain ran,
  only on the work done per byte, so it stays readable when other load makes throughput swing.

Goal: ``both`` under 5% overhead. Run as root:

    .venv/bin/python bench/bench_probe_overhead.py [--seconds 2] [--rounds 20] [--modes off,both]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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


@dataclass(frozen=True)
class Run:
    mbits: float
    seconds: float
    cpu: Counter[str]            # CPU seconds by thread kind (ovs-vswitchd's, "collector", "iperf3", "sf")
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


def _task_cpu(pid: int, tid: str) -> tuple[str, float] | None:
    """(thread name, CPU seconds) of one thread: schedstat's nanoseconds on CPU (the clock-tick
    counts of /proc/.../stat are 10 ms coarse, too coarse for a collector thread in a short run)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            name = f.read().strip()
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            return name, int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def thread_cpu(pid: int, tids: dict[int, str] | None = None) -> Counter[str]:
    """CPU seconds of ``pid``'s threads by kind (the thread's name without digits), or of the
    threads ``tids`` names."""
    out: Counter[str] = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        if tids is not None and int(tid) not in tids:
            continue
        found = _task_cpu(pid, tid)
        if found is not None:
            out[tids[int(tid)] if tids is not None else re.sub(r"\d+$", "", found[0])] += found[1]
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process, all its threads."""
    return sum(thread_cpu(pid).values())


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


FORWARDING = ("iperf3", "sf")              # the chain's own processes; every other kind but "collector" is ovs-vswitchd's


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
    ap.add_argument("--seconds", type=float, default=2.0, help="iperf3 seconds per run")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds after a mode change before its run")
    ap.add_argument("--modes", default="off,both", help=f"comma-separated, of {', '.join(MODES)}")
    ap.add_argument("--ipfix-sampling", type=int, default=256, help="IPFIX sample(): 1 in N packets (power of 2)")
    ap.add_argument("--sflow-sampling", type=int, default=400, help="sFlow: 1 in N packets (the all-in-one's default)")
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
            sf_pid = lab.sf(sf, "forwarder").pid
            deadline = time.monotonic() + 15
            while dpid not in driver.switches() and time.monotonic() < deadline:
                time.sleep(0.05)
            vswitchd = int((lab.ovs.run_dir / "ovs-vswitchd.pid").read_text())
            targets = {str(p): f"127.0.0.1:{port}" for p, (_, port) in collector.addresses().items()}
            dead = {"sflow": f"127.0.0.1:{unread[0].getsockname()[1]}", "ipfix": f"127.0.0.1:{unread[1].getsockname()[1]}"}
            docs = {m: parse_document(document(dpid, lab.ovs.db_sock, client.port, sf.port, p))
                    for m, p in modes_probes(args, targets, dead).items() if m in modes}
            telemetry.set_catalogue(catalogue_of(docs["both"] if "both" in docs else docs["off"]))

            def cpu_now() -> Counter[str]:
                got = thread_cpu(vswitchd) + thread_cpu(os.getpid(), collector_tids)
                got["sf"] += proc_cpu(sf_pid)
                got["iperf3"] += children_cpu()           # client and server, reaped by iperf()
                return got

            for r in range(args.rounds):
                for name in modes[r % len(modes):] + modes[:r % len(modes)]:   # rotate: no mode always first
                    controller.apply_document(docs[name])
                    controller.settle(10.0)
                    time.sleep(args.settle)                                # OVSDB reached, revalidators done
                    got = received(collector)
                    before = cpu_now()
                    mbits = iperf(client, server, args.seconds)
                    cpu = cpu_now()
                    cpu.subtract(before)
                    now = received(collector)
                    dp_flows = len(lab.ovs.appctl("dpctl/dump-flows").splitlines())
                    runs[name].append(Run(mbits, args.seconds, cpu, now[0] - got[0], now[1] - got[1], dp_flows))
                    print(f"round {r + 1} {name:7} {mbits:7.0f} Mbit/s", file=sys.stderr, flush=True)
            controller.stop()
    finally:
        stop()
        collector.stop()
        for s in unread:
            s.close()
    report(runs, args)
    return 0


def per_gb(run: Run) -> Counter[str]:
    """CPU seconds per GB carried, by kind (ovs-vswitchd's threads summed as "vswitchd")."""
    gbytes = run.mbits * run.seconds / 8000
    out: Counter[str] = Counter()
    for kind, seconds in run.cpu.items():
        out[kind if kind in ("collector", *FORWARDING) else "vswitchd"] += seconds / gbytes
    return out


def forwarding(cpu: Counter[str]) -> float:
    """What moving the bytes costs: the chain's processes and ovs-vswitchd (no collector)."""
    return sum(cpu[k] for k in (*FORWARDING, "vswitchd"))


def probe_cost(on: Run, off: Run) -> float:
    """The probes' CPU per GB against a paired ``off`` run, as a fraction of its forwarding CPU
    per GB: ovs-vswitchd's extra plus the collector's."""
    a, b = per_gb(on), per_gb(off)
    return (a["vswitchd"] - b["vswitchd"] + a["collector"]) / forwarding(b)


def pooled_cost(on: list[Run], off: list[Run]) -> float:
    """:func:`probe_cost` of all runs together (CPU and bytes summed over the rounds first)."""
    def total(runs: list[Run]) -> Run:
        cpu: Counter[str] = Counter()
        for r in runs:
            cpu.update(r.cpu)
        return Run(sum(r.mbits * r.seconds for r in runs), 1.0, cpu, 0, 0, 0)
    return probe_cost(total(on), total(off))


def spread(values: list[float]) -> str:
    """Median (interquartile range; min..max) of percentages."""
    if len(values) < 2:
        return f"{values[0]:5.1f}%" if values else "-"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{statistics.median(values):5.1f}% (IQR {q1:5.1f}..{q3:5.1f}; {min(values):5.1f}..{max(values):5.1f})"


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> None:
    base = runs["off"]
    print(f"{len(base)} rounds of {args.seconds:g} s, sFlow 1 in {args.sflow_sampling}, IPFIX 1 in {args.ipfix_sampling}")
    print(f"{'mode':8} {'Mbit/s':>7} {'throughput overhead, paired: median (IQR; min..max)':>54} "
          f"{'CPU cost of the probes, paired: median (IQR; min..max)':>64} {'datagrams/s':>11} {'records/s':>9}"
          f" {'dp flows':>8}   CPU s/GB")
    verdicts = []
    for name, got in runs.items():
        over = [100 * (1 - r.mbits / b.mbits) for r, b in zip(got, base, strict=True)]
        cost = [100 * probe_cost(r, b) for r, b in zip(got, base, strict=True)]
        pooled = 100 * pooled_cost(got, base)
        mean = Counter[str]()
        for r in got:
            mean.update({k: v / len(got) for k, v in per_gb(r).items()})
        shown = ", ".join(f"{k} {v:.2f}" for k, v in mean.most_common() if v >= 0.005)
        seconds = sum(r.seconds for r in got)
        print(f"{name:8} {statistics.median(r.mbits for r in got):7.0f} {spread(over) if name != 'off' else '':>54} "
              f"{spread(cost) + f' pooled {pooled:.1f}%' if name != 'off' else '':>64} "
              f"{sum(r.datagrams for r in got) / seconds:11.0f} "
              f"{sum(r.records for r in got) / seconds:9.0f} {statistics.median(r.dp_flows for r in got):8.0f}   {shown}")
        if name == "both":
            verdicts = [("throughput (paired median)", statistics.median(over)),
                        ("CPU (paired median)", statistics.median(cost)), ("CPU (pooled)", pooled)]
    for what, value in verdicts:
        print(f"defaults (both), {what}: overhead {value:.1f}% (goal < 5%: {'met' if value < 5 else 'not met'})")


if __name__ == "__main__":
    sys.exit(main())
