"""The VIM's hub fails under live traffic on ``nfv up --hosts 3``, and comes back as a spoke.

compute1 is the hub: every VL's tunnels star around it, the DHCP servers and monitoring probes sit
there. Host VNFs ``a`` (compute2) and ``b`` (compute3) talk over net_data (their traffic hairpins
through the hub) while a chain a -> sf -> b runs through a counter SF on compute1. ``nfv host fail
compute1``: the star re-roots at compute2 (tunnel ports compute2<->compute3 made, those to
compute1 gone), the DHCP servers restart there with the same leases and the probes move; the SF
is rebuilt on compute2 or compute3; the a -> b VL stream resumes (its gap printed), the chain is
ACTIVE again and carries its stream through the new SF. A VNF made after the failover (``c``, on
compute3) gets its addresses by DHCP and reaches a and b; a and b are not respawned (their ping
monitors' probes say nothing while the hub is down, and work from the new hub). The NFVO killed
and started again by the supervisor: compute1 is still failed, the hub still compute2
(``hub.json``), leases and VLs work. ``nfv host recover compute1``: up as a spoke (its tunnels to
compute2 only, compute2's to it back, no DHCP or probe port left on it, no second re-rooting), and
a VDU placed there (``d``) gets its lease and reaches the others. ``nfv host remove compute2 --evacuate`` (the hub
now) moves the role to compute1, and the rebuilt ``a`` gets its lease there; with compute3 failed
too, compute1 is the last host up and is not removed. ``nfv down`` leaves nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.ovs import OvsInstance
from nfvo.allinone import stack_prefix
from nfvo.computehosts import hosts_dir, plan
from tests.integration.nfvo.multihost import counters, mine, nfv, onboard_pinned, stack_env
from tests.integration.nfvo.nfvcli import wait_for
from tests.integration.nfvo.test_supervised import supervised
from tests.integration.nfvo.traffic import UdpStream

pytestmark = pytest.mark.integration

CHAIN_PORT, VL_PORT = 5311, 5312
PLACES = {"a": ("host.yaml", "host", "compute2"), "b": ("host.yaml", "host", "compute3"),
          "sf": ("nsh-counter.yaml", "nsh-counter", "compute1")}
SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "lease ip=$ip server=$serverid"\nexit 0\n'


def show(env: dict, *what: str) -> dict:
    done = nfv(*what, "-f", "json", env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ip_of(vnf: dict, cp: str) -> str:
    return next(c["ip"] for c in vnf["vdus"][0]["cps"] if c["name"] == cp).split("/")[0]


def lease(ns: str, iface: str, script: Path) -> dict[str, str]:
    """What the DHCP server offers ``ns``'s ``iface`` (busybox udhcpc; nothing is configured)."""
    done = subprocess.run(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", iface, "-n", "-q", "-f",
                           "-t", "4", "-T", "1", "-s", str(script)], capture_output=True, text=True, timeout=30)
    line = next((x for x in done.stdout.splitlines() if x.startswith("lease ")), "")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def pings(ns: str, ip: str) -> bool:
    return subprocess.run(["ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "1", ip],
                          capture_output=True).returncode == 0


def ports(state: Path, host: str) -> list[str]:
    return OvsInstance(hosts_dir(state) / host / "ovs").vsctl("list-ports", "br-int").split()


def tunnels(state: Path, host: str) -> list[str]:
    return sorted(p for p in ports(state, host) if p.startswith("vl"))


def peers(names: list[str]) -> set[str]:
    return {p.rsplit("h", 1)[1] for p in names}


def has_lease_and_talks(vnf: dict, others: list[dict], script: Path) -> None:
    ns = vnf["vdus"][0]["namespace"]
    for iface, cp in (("eth0", "CP1"), ("eth1", "CP2")):
        got = wait_for(lambda i=iface: lease(ns, i, script), f"a DHCP lease on {vnf['name']}'s {iface}", 30, 0.5)
        assert got["ip"] == ip_of(vnf, cp), got
    for other in others:
        wait_for(lambda o=other: pings(ns, ip_of(o, "CP2")), f"{vnf['name']} reaching {other['name']}", 30, 0.3)


def diagnose(state: Path, tmp_path: Path) -> None:
    """What the spokes' bridges hold when the VL stream does not resume (flows, ports, MACs)."""
    for host in ("compute2", "compute3"):
        ovs = OvsInstance(hosts_dir(state) / host / "ovs")
        for what in (("ofctl", "dump-flows", "br-int"), ("ofctl", "show", "br-int"), ("appctl", "fdb/show", "br-int")):
            try:
                print(f"--- {host}: {' '.join(what)}\n" + getattr(ovs, what[0])(*what[1:]))
            except Exception as exc:  # noqa: BLE001 - diagnostics only
                print(f"--- {host}: {' '.join(what)}: {exc}")
    import sqlite3
    with sqlite3.connect(state / "vnfm.db") as db:
        for (event,) in db.execute("select event from vnfm_events order by seq"):
            print("event", event[:300])
    print((tmp_path / "state.log").read_text()[-20000:])


def test_the_hub_fails_its_role_moves_and_it_comes_back_as_a_spoke(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    rack = plan(stack_prefix(state), 3)
    prefix = stack_prefix(state)
    script = tmp_path / "udhcpc.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(env, tmp_path, PLACES)
        vnfs = {n: show(env, "vnf", "show", n) for n in PLACES}
        assert {n: v["vdus"][0]["host"] for n, v in vnfs.items()} == {n: p[2] for n, p in PLACES.items()}
        for argv in (("vnffg-create", "--name", "udp", "--chain", "sf"),
                     ("vnffg-classifier-create", "--name", "udp", "--chain", "udp",
                      "--match", f"udp_dst={CHAIN_PORT},ip_proto=17")):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr + done.stdout
        assert show(env, "vnffg", "show", "udp")["status"] == "ACTIVE"
        assert peers(tunnels(state, "compute1")) == {"2", "3"} and peers(tunnels(state, "compute3")) == {"1"}
        a_ns, b_ns, b_ip = vnfs["a"]["vdus"][0]["namespace"], vnfs["b"]["vdus"][0]["namespace"], ip_of(vnfs["b"], "CP2")

        with UdpStream(a_ns, b_ns, b_ip, VL_PORT, tmp_path, rate=200.0) as vl, \
                UdpStream(a_ns, b_ns, b_ip, CHAIN_PORT, tmp_path, rate=200.0) as chain:
            vl.mark(timeout=20)
            chain.mark(timeout=20)
            wait_for(lambda: sum(counters(state).get("sf", {}).values()), "the SF counting the chain's stream", 20, 0.3)
            t0 = time.monotonic()
            failed = nfv("host", "fail", "compute1", "-f", "json", env=env, timeout=180)
            took = time.monotonic() - t0
            assert failed.returncode == 0, failed.stderr + failed.stdout
            assert json.loads(failed.stdout)["evacuated"] == ["sf/VDU1"], failed.stdout
            host = show(env, "host", "show", "compute1")
            assert host["state"] == "down" and "failed by operator" in host["reason"], host
            # the star re-rooted at compute2 over the hosts up: compute3's tunnels lead there, compute2's
            # to compute3 (those to compute1 gone, and the MACs NORMAL had learned behind them)
            assert peers(tunnels(state, "compute2")) == {"3"}, tunnels(state, "compute2")
            assert peers(tunnels(state, "compute3")) == {"2"}, tunnels(state, "compute3")
            # the DHCP servers and probes are on compute2 now, nothing of them in compute1's namespace
            on2 = ports(state, "compute2")
            assert [p for p in on2 if p.startswith(f"{prefix}-d")] and [p for p in on2 if p.startswith(f"{prefix}-m")], on2
            left = [x for x in netns.list_links(netns=rack.hosts[0].netns) if x.startswith(f"{prefix}-")]
            assert not left, left
            try:
                vl.wait_flowing(timeout=30, more_than=vl.progress()[1] + 200)
            except AssertionError:
                diagnose(state, tmp_path)
                raise
            sf = wait_for(lambda: (v := show(env, "vnf", "show", "sf"))["status"] == "ACTIVE" and v, "sf ACTIVE", 60, 0.3)
            assert sf["vdus"][0]["host"] in ("compute2", "compute3"), sf["vdus"][0]
            wait_for(lambda: show(env, "vnffg", "show", "udp")["status"] == "ACTIVE", "the chain ACTIVE", 60, 0.3)
            chain.wait_flowing(timeout=30, more_than=chain.progress()[1] + 200)
            vl_result, chain_result = vl.stop(), chain.stop()
        wait_for(lambda: sum(counters(state).get("sf", {}).values()), "the new SF counting", 20, 0.3)

        def gap(r) -> float:
            return max((b - a + 1 for a, b in r.missing), default=0) / r.rate

        print(f"\nhub failover: nfv host fail compute1 took {took:.1f} s; VL a->b outage {gap(vl_result):.2f} s "
              f"({vl_result.describe()}); chain outage {gap(chain_result):.2f} s ({chain_result.describe()})")
        print(*[x for x in (tmp_path / "state.log").read_text().splitlines() if "hub moved" in x or "failed (" in x
                 or "its evacuation rebuilds it" in x],
              sep="\n")

        # a VNF made after the failover gets its leases from the moved servers and talks to a and b
        pids = {n: vnfs[n]["vdus"][0]["pid"] for n in ("a", "b")}    # not respawned: their probes said nothing
        assert {n: show(env, "vnf", "show", n)["vdus"][0]["pid"] for n in ("a", "b")} == pids
        onboard_pinned(env, tmp_path, {"c": ("host.yaml", "host", "compute3")})
        c = show(env, "vnf", "show", "c")
        has_lease_and_talks(c, [show(env, "vnf", "show", n) for n in ("a", "b")], script)
        time.sleep(8)   # the ping monitors' probes, from compute2 now, keep finding a and b
        assert {n: show(env, "vnf", "show", n)["vdus"][0]["pid"] for n in ("a", "b")} == pids

        # the NFVO killed (the supervisor starts it again): the hub stays moved (hub.json), compute1
        # stays failed, the star and the DHCP servers stay on compute2, VLs and leases work, nothing respawns
        pids["c"] = c["vdus"][0]["pid"]
        before = supervised(state)["nfvo"]["pid"]
        os.kill(int(before), signal.SIGKILL)
        wait_for(lambda: (n := supervised(state)["nfvo"])["pid"] != before and n["state"] == "up", "the NFVO restarted",
                 90, 0.1)
        host = show(env, "host", "show", "compute1")
        assert host["state"] == "down" and "failed by operator" in host["reason"], host
        assert json.loads((state / "vim" / "hub.json").read_text()) == {"hub": "compute2"}
        assert peers(tunnels(state, "compute2")) == {"3"} and peers(tunnels(state, "compute3")) == {"2"}
        assert [p for p in ports(state, "compute2") if p.startswith(f"{prefix}-d")]
        has_lease_and_talks(c, [show(env, "vnf", "show", n) for n in ("a", "b")], script)
        wait_for(lambda: show(env, "vnffg", "show", "udp")["status"] == "ACTIVE", "the chain ACTIVE", 60, 0.3)
        time.sleep(6)   # the ping monitors start again (monitoring_delay 5 s), from compute2
        assert {n: show(env, "vnf", "show", n)["vdus"][0]["pid"] for n in ("a", "b", "c")} == pids

        recovered = nfv("host", "recover", "compute1", "-f", "json", env=env, timeout=120)
        assert recovered.returncode == 0, recovered.stderr + recovered.stdout
        assert show(env, "host", "show", "compute1")["state"] == "up"
        on1 = ports(state, "compute1")
        assert not [p for p in on1 if p.startswith(f"{prefix}-")], on1        # no DHCP, probe or VDU port
        assert peers(tunnels(state, "compute1")) == {"2"}, tunnels(state, "compute1")   # a spoke
        assert peers(tunnels(state, "compute2")) == {"1", "3"} and peers(tunnels(state, "compute3")) == {"2"}
        onboard_pinned(env, tmp_path, {"d": ("host.yaml", "host", "compute1")})
        d = show(env, "vnf", "show", "d")
        assert d["vdus"][0]["host"] == "compute1"
        has_lease_and_talks(d, [show(env, "vnf", "show", n) for n in ("a", "b", "c")], script)
        assert [p for p in ports(state, "compute2") if p.startswith(f"{prefix}-d")]   # no second re-rooting

        # the hub now (compute2) removed with its VDUs: the role moves to compute1, the lowest up
        assert "holds VDUs a/VDU1" in nfv("host", "remove", "compute2", env=env, timeout=60).stderr
        gone = nfv("host", "remove", "compute2", "--evacuate", "-f", "json", env=env, timeout=180)
        assert gone.returncode == 0, gone.stderr + gone.stdout
        assert "a/VDU1" in json.loads(gone.stdout)["evacuated"], gone.stdout
        assert [h["name"] for h in show(env, "host", "list")] == ["compute1", "compute3"]
        assert peers(tunnels(state, "compute1")) == {"3"} and peers(tunnels(state, "compute3")) == {"1"}
        assert [p for p in ports(state, "compute1") if p.startswith(f"{prefix}-d")]
        moved = wait_for(lambda: (v := show(env, "vnf", "show", "a"))["status"] == "ACTIVE" and v, "a ACTIVE", 60, 0.3)
        assert moved["vdus"][0]["host"] in ("compute1", "compute3")
        has_lease_and_talks(moved, [show(env, "vnf", "show", n) for n in ("b", "c", "d")], script)
        # the last host up cannot go: nothing would take its VDUs nor the hub's role
        assert nfv("host", "fail", "compute3", env=env, timeout=120).returncode == 0
        said = nfv("host", "remove", "compute1", "--evacuate", env=env, timeout=60).stderr
        assert "compute1 is the last one up (compute3: failed by operator" in said, said
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
