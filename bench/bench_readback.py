"""Read-back + diff of a big switch: raw reply decoder (sdn.ofreply) vs os-ken's parser, same run.

A real OVS bridge gets N three-hop paths (6 flows each, bench_flow_install's document) through our
driver; then, alternating, time ``read_state`` + ``plan_changes(installed, desired)`` with the raw
decoder and with os-ken's parser (``read_state(raw=False)``). Both must read back exactly what
was installed (an empty plan). Goal: raw < 1 s for 10,000 paths (60,000 flows). Run as root:

    .venv/bin/python bench/bench_readback.py [--paths 10000] [--reps 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_flow_install import desired, flow_count, wait_connected  # noqa: E402
from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab  # noqa: E402
from sdn.openflow import SwitchState  # noqa: E402
from sdn.osken_runtime import start_controller  # noqa: E402
from sdn.sync import plan_changes  # noqa: E402


def read_and_diff(driver, dpid: int, want: SwitchState, raw: bool) -> tuple[float, SwitchState]:
    gc.collect()  # don't bill a collection of the bench's own garbage to the read
    t0 = time.perf_counter()
    have = driver.read_state(dpid, timeout=60, raw=raw)
    plan = plan_changes(have, want)
    elapsed = time.perf_counter() - t0
    assert plan.empty, f"read-back differs from what was installed ({plan.size} changes, raw={raw})"
    return elapsed, have


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=3, help="reads per decoder (median)")
    args = ap.parse_args()
    netns.enter_private_netns()
    driver, stop = start_controller("127.0.0.1", 0)
    try:
        with OvsLab() as lab:
            dpid = 0xBEAD
            want = desired(dpid, args.paths)
            bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{driver.listen_port}")
            # os-ken's parser can take longer than OVS's default 5 s probe (+5 s to answer):
            # give the slow side time to finish, or OVS drops the connection mid-read.
            lab.ovs.vsctl("set", "controller", bridge, "inactivity_probe=120000")
            wait_connected(driver, dpid)
            driver.apply(dpid, plan_changes(SwitchState(), want), timeout=600)
            assert flow_count(lab, bridge) == len(want.flows), "not every flow installed"
            times: dict[bool, list[float]] = {True: [], False: []}
            states = {}
            for _ in range(args.reps):
                for raw in (True, False):
                    elapsed, states[raw] = read_and_diff(driver, dpid, want, raw)
                    times[raw].append(elapsed)
            assert states[True] == states[False] == want
            new, old = statistics.median(times[True]), statistics.median(times[False])
            print(f"{args.paths} paths ({len(want.flows)} flows), read_state + diff, median of {args.reps}: "
                  f"raw decoder {new * 1e3:.0f} ms (first {times[True][0] * 1e3:.0f} ms), "
                  f"os-ken parser {old * 1e3:.0f} ms; ratio {old / new:.1f}x (goal: raw < 1000 ms)")
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
