"""A compute host fails under live traffic on ``nfv up --hosts 3`` (Masakari's evacuation), by the CLI.

The client sits on compute1, the server on compute3, the chain's one counter SF on compute2 (each
pinned by ``availability_zone``). A UDP stream runs through the chain; ``nfv host fail compute2``
stops that host's OVS (the supervisor keeps it stopped): the host is listed down with the reason,
the VNFFG leaves ACTIVE (the SF's switch is gone), the SF is rebuilt on another host (its zone
given up: every host is its own) with the same addresses, the chain is ACTIVE again, the stream
flows again through the new SF (its counter counts), and nothing of the old VDU is left on
compute2: no process, no link in its namespace, no port on its bridge once it is back. The
controller drops compute2's switch as soon as it is fenced (asked, not at its echo timeout). The
outage (the longest gap in the stream) and the failure's phases are printed. ``nfv host recover compute2``: up again, the
SF stays where it went (Nova's behaviour). ``nfv down`` leaves nothing.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import grpc
import pytest

from dataplane import netns
from dataplane.ovs import OvsInstance
from nfvo.allinone import stack_prefix
from nfvo.api.server import connect
from nfvo.api.v1 import nfvo_pb2 as pb
from nfvo.computehosts import hosts_dir, plan
from tests.integration.nfvo.multihost import counters, mine, nfv, onboard_pinned, stack_env
from tests.integration.nfvo.nfvcli import wait_for
from tests.integration.nfvo.traffic import UdpStream

pytestmark = pytest.mark.integration

PORT = 5301
PLACES = {"client": ("host.yaml", "host", "compute1"), "server": ("host.yaml", "host", "compute3"),
          "sf": ("nsh-counter.yaml", "nsh-counter", "compute2")}


def show(env: dict, *what: str) -> dict:
    done = nfv(*what, "-f", "json", env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def chain_active(env: dict, timeout: float = 60.0) -> None:
    wait_for(lambda: show(env, "vnffg", "show", "udp")["status"] == "ACTIVE", "the chain ACTIVE", timeout, 0.3,
             lambda: show(env, "vnffg", "show", "udp"))


def test_host_failure_evacuates_the_sf_and_traffic_resumes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    rack = plan(stack_prefix(state), 3)
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(env, tmp_path, PLACES)
        vnfs = {n: show(env, "vnf", "show", n) for n in PLACES}
        assert {n: v["vdus"][0]["host"] for n, v in vnfs.items()} == {n: p[2] for n, p in PLACES.items()}
        server_ip = next(c["ip"] for c in vnfs["server"]["vdus"][0]["cps"] if c["name"] == "CP2").split("/")[0]
        for argv in (("vnffg-create", "--name", "udp", "--chain", "sf"),
                     ("vnffg-classifier-create", "--name", "udp", "--chain", "udp",
                      "--match", f"udp_dst={PORT},ip_proto=17")):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr + done.stdout
        assert show(env, "vnffg", "show", "udp")["status"] == "ACTIVE"
        old = vnfs["sf"]["vdus"][0]
        key, old_pid = old["namespace"], int(old["pid"])

        with UdpStream(vnfs["client"]["vdus"][0]["namespace"], vnfs["server"]["vdus"][0]["namespace"], server_ip,
                       PORT, tmp_path, rate=200.0) as stream:
            stream.mark(timeout=20)
            wait_for(lambda: sum(counters(state).get("sf", {}).values()), "the SF counting the stream", 20, 0.3)
            statuses: list[str] = []
            watching = threading.Event()

            def watch() -> None:   # over gRPC: a CLI call a poll would miss the outage's seconds
                api = connect(json.loads((state / "stack.json").read_text())["nfvo"])
                while not watching.is_set():
                    try:
                        status = api.GetVnffg(pb.GetRequest(name="udp"), timeout=10).status
                    except grpc.RpcError:
                        continue
                    if not statuses or statuses[-1] != status:
                        statuses.append(status)
                    time.sleep(0.05)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            try:
                t0 = time.monotonic()
                failed = nfv("host", "fail", "compute2", "-f", "json", env=env, timeout=180)
                took = time.monotonic() - t0
                assert failed.returncode == 0, failed.stderr + failed.stdout
                action = json.loads(failed.stdout)
                assert action["evacuated"] == ["sf/VDU1"], action   # before its monitor respawns it
                host = show(env, "host", "show", "compute2")
                assert host["state"] == "down" and "failed by operator" in host["reason"], host
                sf = wait_for(lambda: (v := show(env, "vnf", "show", "sf"))["status"] == "ACTIVE" and v, "sf ACTIVE", 60, 0.3)
                new = sf["vdus"][0]
                assert new["host"] in ("compute1", "compute3") and new["namespace"] == key, new
                assert {c["ip"] for c in new["cps"]} == {c["ip"] for c in old["cps"]}
                assert {c["mac"] for c in new["cps"]} == {c["mac"] for c in old["cps"]}
                chain_active(env)
                before = stream.progress()[1]
                stream.wait_flowing(timeout=30, more_than=before + 200)
                time.sleep(1.0)
            finally:
                watching.set()
                watcher.join(35)
            wait_for(lambda: sum(counters(state).get("sf", {}).values()), "the new SF counting the stream", 20, 0.3)
            result = stream.stop()
        gap = max((b - a + 1 for a, b in result.missing), default=0) / result.rate
        print(f"\nhost failure: nfv host fail took {took:.1f} s; outage {gap:.2f} s ({result.describe()}); "
              f"VNFFG states {' -> '.join(statuses)}")
        (phases,) = [line for line in (tmp_path / "state.log").read_text().splitlines() if "failed (" in line]
        print(phases)
        # the controller dropped the dead switch when asked, not at its echo timeout
        fenced, dropped = (float(re.search(f"{what} at ([0-9.]+) s", phases)[1]) for what in ("fenced", "switch dropped"))
        assert dropped - fenced < 2.0, phases
        assert statuses[0] == "ACTIVE" and statuses[-1] == "ACTIVE" and len(statuses) >= 3, statuses
        assert set(statuses[1:-1]) <= {"DEGRADED", "ERROR", "PENDING_UPDATE"}, statuses

        # nothing of the evacuated VDU on compute2: no process, no link in its namespace
        assert not os.path.exists(f"/proc/{old_pid}") or old_pid == int(new["pid"]), old_pid
        compute2 = rack.hosts[1]
        assert not [n for n in netns.list_links(netns=compute2.netns) if n.startswith(key)]

        recovered = nfv("host", "recover", "compute2", "-f", "json", env=env, timeout=120)
        assert recovered.returncode == 0, recovered.stderr + recovered.stdout
        host = show(env, "host", "show", "compute2")
        assert host["state"] == "up" and not host.get("vdus"), host
        assert show(env, "vnf", "show", "sf")["vdus"][0]["host"] == new["host"]   # nothing moved back
        ovs = OvsInstance(hosts_dir(state) / "compute2" / "ovs")
        ports = ovs.vsctl("list-ports", "br-int").split()
        assert not [p for p in ports if p.startswith(key)], ports
        chain_active(env)
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
