"""Instantiate/terminate 1, 10 and 50 single-VDU VNFs on the local VIM.

Prints the median instantiate time and its ratio to the same work done by hand in the same run
(``ip netns add`` + ``ip link add veth`` + move/address/up + ``ovs-vsctl add-port`` with a tag).
Goal: median under 300 ms, ratio under 3. Run as root: ``.venv/bin/python bench/bench_vnfm.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataplane import netns  # noqa: E402
from dataplane.lab import OvsLab  # noqa: E402
from descriptors import load_vnfd  # noqa: E402
from tests.unit.vnfm.conftest import SCALE_VNFD as ONE_CP_VNFD  # noqa: E402
from vnfm.manager import VnfManager  # noqa: E402
from vnfm.sqlstore import VnfSqlStore  # noqa: E402
from vnfm.vim.local import LocalVim  # noqa: E402

# One VDU with one CP on one VL (its scaling policy plays no part in instantiate).
VNFD = ONE_CP_VNFD


def by_hand(lab, bridge: str, n: int) -> list[float]:
    """The baseline: the same namespace + veth + tagged OVS port with ip and ovs-vsctl."""
    times = []
    for i in range(n):
        ns, host = f"{lab.prefix}m{i:03d}", f"{lab.prefix}m{i:03d}p"
        t0 = time.perf_counter()
        for argv in (["ip", "netns", "add", ns],
                     ["ip", "link", "add", host, "mtu", "1600", "type", "veth", "peer", "name",
                      "eth0", "mtu", "1600"],
                     ["ip", "link", "set", "eth0", "netns", ns],
                     ["ip", "-n", ns, "addr", "add", f"10.250.{i // 250}.{i % 250 + 2}/16",
                      "dev", "eth0"],
                     ["ip", "-n", ns, "link", "set", "eth0", "up"],
                     ["ip", "-n", ns, "link", "set", "lo", "up"],
                     ["ip", "link", "set", host, "up"]):
            subprocess.run(argv, check=True, capture_output=True)
        lab.ovs.vsctl("add-port", bridge, host, "tag=100")
        times.append(time.perf_counter() - t0)
    for i in range(n):
        ns, host = f"{lab.prefix}m{i:03d}", f"{lab.prefix}m{i:03d}p"
        lab.ovs.vsctl("--if-exists", "del-port", bridge, host)
        netns.delete_netns(ns)
    return times


def main() -> int:
    if os.geteuid() != 0:
        print("bench_vnfm needs root", file=sys.stderr)
        return 1
    netns.enter_private_netns()
    vnfd = load_vnfd(VNFD)
    with OvsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        bridge = lab.bridge(fail_mode="standalone")
        prefix = lab.prefix + "v"
        vim = LocalVim(lab.db, bridge, prefix, Path(tmp) / "state")
        mgr = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp}/vnfm.db", prefix), prefix=prefix)
        print(f"{'VNFs':>5} {'inst median':>12} {'inst p90':>9} {'term median':>12} "
              f"{'by hand':>9} {'ratio':>6}")
        ok = True
        try:
            for n in (1, 10, 50):
                inst, term = [], []
                for i in range(n):
                    t0 = time.perf_counter()
                    mgr.instantiate(f"b{n}-{i}", vnfd)
                    inst.append(time.perf_counter() - t0)
                for i in range(n):
                    t0 = time.perf_counter()
                    mgr.terminate(f"b{n}-{i}")
                    term.append(time.perf_counter() - t0)
                hand = by_hand(lab, bridge, n)
                med, base = statistics.median(inst), statistics.median(hand)
                p90 = sorted(inst)[int(0.9 * (len(inst) - 1))]
                ratio = med / base
                ok &= med < 0.3 and ratio < 3
                print(f"{n:>5} {med * 1e3:>10.1f}ms {p90 * 1e3:>7.1f}ms "
                      f"{statistics.median(term) * 1e3:>10.1f}ms {base * 1e3:>7.1f}ms "
                      f"{ratio:>6.2f}")
        finally:
            for rec in mgr.list():
                mgr.terminate(rec.id)
            mgr.close()
        print("goal (median < 300 ms, ratio < 3):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
