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


def read_and_diff(driver, dpid: int, want: SwitchState, raw: bool) -> tuple[float, float, SwitchState]:
    """(read_state seconds, diff seconds, what was read)."""
    gc.collect()  # don't bill a collection of the bench's own garbage to the read
    t0 = time.perf_counter()
    have = driver.read_state(dpid, timeout=60, raw=raw)
    t1 = time.perf_counter()
    plan = plan_changes(have, want)
    t2 = time.perf_counter()
    assert plan.empty, f"read-back differs from what was installed ({plan.size} changes, raw={raw})"
    return t1 - t0, t2 - t1, have


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
            runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
            states = {}
            for _ in range(args.reps):
                for raw in (True, False):  # alternate: a noisy host hurts both alike
                    read, diff, states[raw] = read_and_diff(driver, dpid, want, raw)
                    runs[raw].append((read, diff))
            assert states[True] == states[False] == want

            def ms(raw: bool, part: int | None = None) -> float:
                return 1e3 * statistics.median(sum(r) if part is None else r[part] for r in runs[raw])

            print(f"{args.paths} paths ({len(want.flows)} flows), median of {args.reps}:")
            for raw, name in ((True, "raw decoder  "), (False, "os-ken parser")):
                print(f"  {name}: read_state {ms(raw, 0):6.0f} ms + diff {ms(raw, 1):4.0f} ms = {ms(raw):6.0f} ms")
            first = sum(runs[True][0]) * 1e3
            print(f"  ratio {ms(False) / ms(True):.1f}x; raw, first read (cold cache, as after a restart): "
                  f"{first:.0f} ms (goal: < 1000 ms)")
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
