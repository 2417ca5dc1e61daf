"""Instantiate/terminate a one-VDU ``cirros`` VNF with user_data on the local VIM, N times.

Prints the median instantiate time (ACTIVE: the container ran its user_data) and its ratio to
the same work done by hand in the same run: ``ip netns add`` + veth + ``ovs-vsctl add-port``
with a tag, tmpfs + overlay of the same cirros rootfs, and ``runc run -d`` of a bundle whose
init echoes a line (waited for in its log). Goal: median under 300 ms, ratio under 2.
Run as root: ``.venv/bin/python bench/bench_vnfm.py [N]``.
"""

from __future__ import annotations

import json
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
from vnfm.images import CIRROS_ROOTFS, Image, ImageCatalog  # noqa: E402
from vnfm.manager import VnfManager  # noqa: E402
from vnfm.sqlstore import VnfSqlStore  # noqa: E402
from vnfm.vim import rootfs  # noqa: E402
from vnfm.vim.local import LocalVim  # noqa: E402

VNFD = """
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
metadata: {template_name: bench}
topology_template:
  node_templates:
    VDU1:
      type: tosca.nodes.nfv.VDU.Tacker
      properties:
        image: cirros
        flavor: m1.tiny
        user_data_format: RAW
        user_data: |
          #!/bin/sh
          echo "booted $(hostname)"
    CP1:
      type: tosca.nodes.nfv.CP.Tacker
      properties: {order: 0}
      requirements: [{virtualLink: {node: VL1}}, {virtualBinding: {node: VDU1}}]
    VL1:
      type: tosca.nodes.nfv.VL
      properties: {network_name: net_bench, vendor: nfvchain}
"""
CATALOG = ImageCatalog({"cirros": Image("cirros", None, rootfs=CIRROS_ROOTFS)})


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def by_hand(lab, bridge: str, lower: Path, work: Path, n: int) -> list[float]:
    """The baseline: namespace + veth + tagged OVS port, overlay rootfs, ``runc run -d``."""
    work.mkdir(parents=True)
    subprocess.run(["runc", "spec", "--bundle", str(work)], check=True)
    template = json.loads((work / "config.json").read_text())
    root = work / "runc"
    times = []
    for i in range(n):
        ns, host, b = f"{lab.prefix}m{i:03d}", f"{lab.prefix}m{i:03d}p", work / f"b{i}"
        t0 = time.perf_counter()
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", host, "mtu", "1600", "type", "veth", "peer", "name", "eth0", "mtu", "1600")
        sh("ip", "link", "set", "eth0", "netns", ns)
        sh("ip", "-n", ns, "addr", "add", f"10.250.{i // 250}.{i % 250 + 2}/16", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "set", host, "up")
        lab.ovs.vsctl("add-port", bridge, host, "tag=100")
        for d in ("disk", "rootfs"):
            (b / d).mkdir(parents=True)
        sh("mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(b / "disk"))
        (b / "disk/upper").mkdir()
        (b / "disk/work").mkdir()
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir={lower},upperdir={b}/disk/upper,workdir={b}/disk/work", str(b / "rootfs"))
        cfg = {**template, "root": {"path": str(b / "rootfs"), "readonly": False}, "hostname": "VDU1"}
        cfg["process"] = {**template["process"], "terminal": False,
                          "args": ["/bin/sh", "-c", "echo booted $(hostname); exec sleep 1000"]}
        cfg["linux"] = {**template["linux"], "namespaces": [
            {"type": t} if t != "network" else {"type": t, "path": f"/var/run/netns/{ns}"}
            for t in ("pid", "network", "ipc", "uts", "mount")]}
        (b / "config.json").write_text(json.dumps(cfg))
        with open(b / "console.log", "wb") as out:
            subprocess.run(["runc", "--root", str(root), "run", "-d", "-b", str(b), ns],
                           check=True, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        while b"booted" not in (b / "console.log").read_bytes():
            time.sleep(0.002)
        times.append(time.perf_counter() - t0)
    for i in range(n):
        ns, host, b = f"{lab.prefix}m{i:03d}", f"{lab.prefix}m{i:03d}p", work / f"b{i}"
        subprocess.run(["runc", "--root", str(root), "delete", "-f", ns], capture_output=True)
        subprocess.run(["umount", str(b / "rootfs")], capture_output=True)
        subprocess.run(["umount", str(b / "disk")], capture_output=True)
        lab.ovs.vsctl("--if-exists", "del-port", bridge, host)
        netns.delete_netns(ns)
    return times


def main() -> int:
    if os.geteuid() != 0:
        print("bench_vnfm needs root", file=sys.stderr)
        return 1
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    netns.enter_private_netns()
    vnfd = load_vnfd(VNFD)
    with OvsLab() as lab, tempfile.TemporaryDirectory() as tmp:
        bridge = lab.bridge(fail_mode="standalone")
        prefix = lab.prefix + "v"
        vim = LocalVim(lab.db, bridge, prefix, Path(tmp) / "state")
        mgr = VnfManager(vim, VnfSqlStore(f"sqlite:///{tmp}/vnfm.db", prefix), prefix=prefix,
                         catalog=CATALOG, monitor=False)
        lower = rootfs.ensure_cirros(vim.images_dir)   # built once, outside the timings
        inst, term = [], []
        try:
            for i in range(n):
                t0 = time.perf_counter()
                rec = mgr.instantiate(f"b{i}", vnfd)
                inst.append(time.perf_counter() - t0)
                assert rec.vdus[0].boot.startswith("user_data ok"), rec.vdus[0].boot
            for i in range(n):
                t0 = time.perf_counter()
                mgr.terminate(f"b{i}")
                term.append(time.perf_counter() - t0)
        finally:
            for rec in mgr.list():
                mgr.terminate(rec.id)
            mgr.close()
        hand = by_hand(lab, bridge, lower, Path(tmp) / "hand", n)
        med, base = statistics.median(inst), statistics.median(hand)
        p90 = sorted(inst)[int(0.9 * (len(inst) - 1))]
        ratio = med / base
        print(f"{'VNFs':>5} {'inst median':>12} {'inst p90':>9} {'term median':>12} {'by hand':>9} {'ratio':>6}")
        print(f"{n:>5} {med * 1e3:>10.1f}ms {p90 * 1e3:>7.1f}ms {statistics.median(term) * 1e3:>10.1f}ms "
              f"{base * 1e3:>7.1f}ms {ratio:>6.2f}")
        ok = med < 0.3 and ratio < 2
        print("goal (median < 300 ms, ratio < 2):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
