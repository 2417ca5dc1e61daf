"""Flow-install rate through our driver vs ``ovs-ofctl --bundle add-flows``, same run, same flows.

For N three-hop paths (one classifier each; flows from sdn.render.compute_switch_states) on a
fresh bridge each: time ``driver.apply`` of the whole plan until the barrier reply, and time
``ovs-ofctl --bundle add-flows`` of the same flows rendered with ``ofctl_text``. Then, on the
switch already holding the largest N, time one more path from plan to acknowledgement.
Goals: ratio (ours / ovs-ofctl) >= 1.0; one more path < 50 ms. Run as root:

    .venv/bin/python bench/bench_flow_install.py [--paths 1000 10000] [--extra 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab  # noqa: E402
from sdn.docfile import parse_document  # noqa: E402
from sdn.openflow import SwitchState  # noqa: E402
from sdn.render import compute_switch_states  # noqa: E402
from sdn.ofcodec import ofctl_group_text, ofctl_text  # noqa: E402
from sdn.osken_runtime import start_controller  # noqa: E402
from sdn.sync import plan_changes  # noqa: E402

SFS = ("fw", "ids", "nat")
PORTS = {"client": 1, "fw": 2, "ids": 3, "nat": 4}


def desired(dpid: int, paths: int) -> SwitchState:
    """``paths`` three-hop paths, each with one 5-tuple classifier."""
    doc = {
        "switches": [{"name": "s", "dpid": dpid}],
        "service_functions": [{"name": n, "instances": [{"switch": "s", "port": n}]} for n in SFS],
        "service_function_paths": [
            {"name": f"p{i}", "spi": i + 1, "hops": list(SFS),
             "classifiers": [{"name": f"c{i}", "switch": "s", "in_port": "client",
                              "match": {"nw_proto": 6, "nw_src": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                                        "nw_dst": "10.200.0.1", "tcp_src": 1024 + i % 50000,
                                        "tcp_dst": 80}}]}
            for i in range(paths)],
    }
    return compute_switch_states(parse_document(doc), {dpid: PORTS})[dpid]


def wait_connected(driver, dpid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while dpid not in driver.switches():
        if time.monotonic() > deadline:
            raise SystemExit(f"switch {dpid:#x} did not connect")
        time.sleep(0.05)


def flow_count(lab, bridge: str) -> int:
    out = lab.ovs.ofctl("dump-aggregate", bridge)
    return int(out.split("flow_count=")[1].split()[0])


def ours(lab, driver, dpid: int, state: SwitchState) -> tuple[str, float]:
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
    wait_connected(driver, dpid)
    plan = plan_changes(SwitchState(), state)
    gc.collect()  # don't bill a full collection of the bench's own heap to the install
    t0 = time.perf_counter()
    driver.apply(dpid, plan, timeout=300)
    elapsed = time.perf_counter() - t0
    assert flow_count(lab, bridge) == len(state.flows), "not every flow installed"
    return bridge, elapsed


def theirs(lab, state: SwitchState) -> float:
    bridge = lab.bridge()
    with tempfile.NamedTemporaryFile("w", suffix=".flows", delete=False) as fh:
        fh.write("\n".join(ofctl_text(f) for f in state.flows) + "\n")
        path = fh.name
    try:
        for g in state.groups:
            lab.ovs.ofctl("add-group", bridge, ofctl_group_text(g))
        t0 = time.perf_counter()
        subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "--bundle", "add-flows",
                        lab.ovs.mgmt_socket(bridge), path], env=lab.ovs.env, check=True,
                       capture_output=True, timeout=600)
        elapsed = time.perf_counter() - t0
    finally:
        os.unlink(path)
    assert flow_count(lab, bridge) == len(state.flows), "ovs-ofctl did not install every flow"
    lab.ovs.vsctl("del-br", bridge)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--extra", type=int, default=5, help="single-path installs to time")
    ap.add_argument("--reps", type=int, default=3, help="installs per side and N (median)")
    args = ap.parse_args()
    netns.enter_private_netns()
    driver, stop = start_controller("127.0.0.1", 0)
    try:
        with OvsLab() as lab:
            ratios = []
            dpid = 0xB0
            for n in args.paths:
                state = desired(dpid, n)  # the flows do not depend on the dpid
                flows = len(state.flows)
                t_ours, t_theirs = [], []
                for rep in range(args.reps):  # alternate, fresh bridges; medians (noisy hosts)
                    t_theirs.append(theirs(lab, state))
                    dpid += 1
                    bridge, elapsed = ours(lab, driver, dpid, state)
                    t_ours.append(elapsed)
                    if not (n == args.paths[-1] and rep == args.reps - 1):
                        lab.ovs.vsctl("del-br", bridge)
                mo, mt = statistics.median(t_ours), statistics.median(t_theirs)
                ratios.append(mt / mo)
                print(f"{n} paths ({flows} flows), median of {args.reps}: ours {mo * 1e3:.0f} ms = "
                      f"{flows / mo:,.0f} flows/s; ovs-ofctl --bundle {mt * 1e3:.0f} ms = "
                      f"{flows / mt:,.0f} flows/s; ratio {mt / mo:.2f}")
            # one more path at a time on the switch holding the largest N
            times = []
            current = state
            for k in range(args.extra):
                nxt = desired(dpid, args.paths[-1] + k + 1)
                plan = plan_changes(current, nxt)
                gc.collect()
                t0 = time.perf_counter()
                driver.apply(dpid, plan)
                times.append(time.perf_counter() - t0)
                current = nxt
            print(f"one more path on a switch holding {args.paths[-1]} paths ({plan.size} flows): "
                  f"median {statistics.median(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms "
                  f"(goal < 50 ms)")
            print("ratio ours/ovs-ofctl: " + ", ".join(
                f"{n} paths {r:.2f}" for n, r in zip(args.paths, ratios, strict=True)) + " (goal >= 1.0)")
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
