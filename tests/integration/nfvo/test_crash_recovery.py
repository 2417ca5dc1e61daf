"""Issue 12, point 3: no half-done work. The NFVO of ``nfv up`` dies (``os._exit(137)``, as kill -9)
at named points inside VNF create, VNFFG create/update (a classifier), a ``--no-wait`` create and
NS create; the supervisor restarts it on the same stores, and it reconciles: the records, the
bridge's flows (what the controller's document installed), the VDU namespaces and the bridge's
ports agree, nothing is PENDING, and the next change works. A numbered UDP stream runs through
an unrelated chain the whole time and is counted.

The crash is asked for through ``NFV_CRASH_FILE`` (vnfm.faults), set for the whole stack at
``nfv up``: the test writes the point's name into the file, runs the CLI command, and the NFVO
removes the file as it dies, so its next life runs normally.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.ovs import OvsInstance
from nfvo.allinone import BRIDGE, stack_prefix
from tests.integration.nfvo.nfvcli import SAMPLES, wait_for
from tests.integration.nfvo.test_supervised import PORT, QUIET, RATE, chain, must, nfv, supervised
from tests.integration.nfvo.traffic import UdpStream, dump_flows

pytestmark = pytest.mark.integration


@pytest.fixture
def crashable(tmp_path):
    state = tmp_path / "state"
    crash = tmp_path / "crash-at"
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200", "NFV_CRASH_FILE": str(crash)}
    env.pop("NFV_NFVO_ADDRESS", None)
    try:
        must("up", *QUIET, env=env, timeout=120)
        yield state, env, crash
    finally:
        down = nfv("down", env=env, timeout=180)
        assert down.returncode == 0, down.stderr
        assert not {n for n in netns.list_netns() if n.startswith(stack_prefix(state))}


def crash_during(state: Path, env: dict, crash: Path, point: str, *command: str) -> float:
    """Run ``nfv COMMAND`` with the NFVO set to die at ``point``; it must fail, the NFVO must be
    back (a new pid); returns the seconds from the command to the NFVO serving again."""
    before = supervised(state)["nfvo"]
    crash.write_text(point)
    t0 = time.monotonic()
    done = nfv(*command, env=env)
    assert done.returncode != 0, f"nfv {' '.join(command)} survived crash point {point}: {done.stdout}"
    assert not crash.exists(), f"crash point {point} never reached"
    wait_for(lambda: (c := supervised(state)["nfvo"])["pid"] != before["pid"] and c["state"] == "up",
             f"the NFVO restarted after {point}", timeout=90, every=0.05)
    return time.monotonic() - t0


def check_agreement(state: Path, env: dict) -> dict[str, dict]:
    """Records vs bridge vs host; returns the VNFs by name."""
    vnfs = {v["name"]: must("vnf-show", v["name"], "-f", "json", env=env)
            for v in must("vnf-list", "-f", "json", env=env)}
    vnffgs = {g["name"]: must("vnffg-show", g["name"], "-f", "json", env=env)
              for g in must("vnffg-list", "-f", "json", env=env)}
    nss = must("ns-list", "-f", "json", env=env)
    statuses = [*(v["status"] for v in vnfs.values()), *(g["status"] for g in vnffgs.values()),
                *(n["status"] for n in nss)]
    assert not [s for s in statuses if s.startswith("PENDING")], (vnfs, vnffgs, nss)
    # VDU namespaces and ports: exactly those of the VNF rows (the stack's own, DHCP and monitor
    # ones are PREFIX-NAME; a VDU's are PREFIX + its code)
    prefix = stack_prefix(state)
    vdus = [d for v in vnfs.values() for d in v["vdus"]]
    assert {n for n in netns.list_netns() if n.startswith(prefix) and not n.startswith(f"{prefix}-")} == \
        {d["namespace"] for d in vdus}
    ovs = OvsInstance(state / "ovs")
    ports = {p for p in ovs.vsctl("list-ports", BRIDGE).split() if not p.startswith(f"{prefix}-")}
    cps = {c["ovs_port"] for d in vdus for c in d["cps"]}
    assert ports == cps, (sorted(ports - cps), sorted(cps - ports))
    # the controller's document, as installed: every path's flows belong to a stored VNFFG's SPI
    flows = dump_flows(ovs, BRIDGE).values()
    installed = {f.cookie & 0xFFFFFF for f in flows if f.cookie >> 52 == 0x5FC} - {0}  # SPI 0: the pipeline's
    stored = {spi for g in vnffgs.values() for spi in _spis(g)}
    assert installed == stored, (installed, stored)
    owned = {vnf for n in nss for vnf in _ns_vnfs(n)}
    assert not {v for v in vnfs if v.startswith("web-")} - owned, "a VNF of a crashed NS create no NS owns"
    return vnfs


def _spis(vnffg: dict) -> list[int]:
    return [spi for p in vnffg["paths"] for spi in (p["spi"], p["reverse_spi"]) if spi]


def _ns_vnfs(ns: dict) -> list[str]:
    return list(ns["vnfs"].values())


def test_nfvo_crashes_at_named_points_and_reconciles(crashable, tmp_path):
    state, env, crash = crashable
    (src, dst, ip), _ = chain(env)   # client -> cnt -> server, chain A, classifier a-udp
    check_agreement(state, env)
    must("vnfd-create", "--vnfd-file", str(SAMPLES / "demo-ns-firewall.yaml"), "demo-ns-firewall", env=env)
    must("vnfd-create", "--vnfd-file", str(SAMPLES / "demo-ns-counter.yaml"), "demo-ns-counter", env=env)
    must("nsd-create", "--nsd-file", str(SAMPLES / "demo-ns-nsd.yaml"), "demo-ns", env=env)
    params = tmp_path / "ns-param.yaml"
    params.write_text("nsd:\n  web_ports: 8000-8000\n")
    report = []
    with UdpStream(src, dst, ip, PORT, tmp_path, rate=RATE) as stream:
        stream.wait_flowing(timeout=30)
        cases = [
            ("vnf-create.vdu-created", ("vnf-create", "--vnfd-name", "counter", "x1")),
            ("vnf-create.instantiated", ("vnf-create", "--vnfd-name", "counter", "x2")),
            ("vnffg-create.committed", ("vnffg-create", "--name", "B", "--chain", "cnt")),
            ("vnffg-update.committed", ("vnffg-classifier-create", "--name", "a-dns", "--chain", "A",
                                        "--match", "udp_dst=53,ip_proto=17")),
            ("vnffg-create.pending", ("vnffg-create", "--name", "C", "--chain", "cnt", "--no-wait")),
            ("ns-create.vnf", ("ns-create", "--nsd-name", "demo-ns", "--param-file", str(params), "web")),
            ("vnf-create.vdu-created", ("ns-create", "--nsd-name", "demo-ns", "--param-file", str(params), "web")),
        ]
        for point, command in cases:
            back = crash_during(state, env, crash, point, *command)
            vnfs = check_agreement(state, env)
            report.append(f"crash at {point} during nfv {command[0]}: NFVO serving again after {back:.2f} s")
        after = {name: v["status"] for name, v in vnfs.items()}
        vnffgs = {g["name"]: g["status"] for g in must("vnffg-list", "-f", "json", env=env)}
        classifiers = {c["name"] for c in must("vnffg-classifier-list", "-f", "json", env=env)}
        # VNF create: rolled back while a VDU was half made, kept once the VNFM had returned
        assert "x1" not in after and after.get("x2") == "ACTIVE", after
        # VNFFG create: B's paths were on the controller but never stored (gone); C was stored PENDING (pushed)
        assert "B" not in vnffgs and vnffgs.get("C") == "ACTIVE", vnffgs
        assert "a-dns" not in classifiers and "a-udp" in classifiers, classifiers
        assert must("ns-list", "-f", "json", env=env) == []
        # the next changes work
        must("vnffg-classifier-create", "--name", "a-dns", "--chain", "A", "--match", "udp_dst=53,ip_proto=17", env=env)
        must("vnf-create", "--vnfd-name", "counter", "x1", env=env)
        must("vnffg-create", "--name", "B", "--chain", "x1", env=env)
        assert must("vnffg-show", "B", "-f", "json", env=env)["status"] == "ACTIVE"
        check_agreement(state, env)
        # VNFFG delete: the controller had dropped B, the row was still there: finished at the restart
        back = crash_during(state, env, crash, "vnffg-delete.committed", "vnffg-delete", "B")
        report.append(f"crash at vnffg-delete.committed during nfv vnffg-delete: NFVO serving again after {back:.2f} s")
        assert "B" not in {g["name"] for g in must("vnffg-list", "-f", "json", env=env)}
        check_agreement(state, env)
        stream.wait_flowing(timeout=30, more_than=stream.progress()[1] + int(RATE))
        result = stream.stop()
    assert supervised(state)["nfvo"]["restarts"] == len(cases) + 1
    print("\n" + "\n".join(report) + f"\nchain A's stream across all of it: {result.describe()}")
    assert result.lost / RATE < 1.0, result.describe()
