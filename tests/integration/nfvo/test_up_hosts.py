"""``nfv up --hosts 3``: three compute hosts (namespaces with their own supervised OVS) on one
underlay, every br-int connected to the one controller over the management leg, ``nfv host
list|show`` naming them and their VDUs; a killed host vswitchd comes back with its underlay
address; ``nfv down`` (also after the supervisor was killed) leaves nothing of any host."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.ovsdb import Ovsdb
from nfvo.allinone import stack_prefix
from nfvo.computehosts import host_ovsdb, plan
from tests.integration.nfvo.multihost import SAMPLES, mine, nfv, pinned, stack_env
from tests.integration.nfvo.nfvcli import wait_for

pytestmark = pytest.mark.integration

HOST_VNFD = str(SAMPLES / "host.yaml")


def connected(state: Path, host: str) -> bool:
    with Ovsdb(host_ovsdb(state, host)) as db:
        return any(db.controller_status("br-int").values())


def test_up_three_hosts_list_restart_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    rack = plan(stack_prefix(state), 3)
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "compute hosts compute1, compute2, compute3" in up.stdout, up.stdout
        assert {h.netns for h in rack.hosts} | {rack.rack_netns} <= set(netns.list_netns())
        for h in rack.hosts:
            wait_for(lambda h=h: connected(state, h.name), f"{h.name}'s br-int to reach the controller", 20, 0.2)
        done = nfv("vnfd-create", "--vnfd-file", HOST_VNFD, "host", env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        done = nfv("vnf-create", "--vnfd-name", "host", "h1", env=env, timeout=90)
        assert done.returncode == 0, done.stderr
        listed = nfv("host", "list", "-f", "json", env=env, timeout=30)
        assert listed.returncode == 0, listed.stderr
        hosts = json.loads(listed.stdout)
        assert [h["name"] for h in hosts] == ["compute1", "compute2", "compute3"]
        for h, p in zip(hosts, rack.hosts, strict=True):
            assert (h["state"], h["switch"], h["bridge"], h["netns"], h["uplink"], h["underlay_ip"], h["gpe_port"]) == (
                "up", p.name, "br-int", p.netns, p.uplink, p.underlay_ip, "gpe0"), h
            assert int(h["dpid"]) == p.datapath_id and h["zone"] == p.name
        assert sum(len(h["vdus"]) for h in hosts) == 1 and any("h1/" in v for h in hosts for v in h["vdus"]), hosts
        shown = nfv("host", "show", "compute2", "-f", "json", env=env, timeout=30)
        assert shown.returncode == 0 and json.loads(shown.stdout)["netns"] == rack.hosts[1].netns, shown.stderr
        table = nfv("host", "list", env=env, timeout=30)
        assert table.returncode == 0 and rack.hosts[2].uplink in table.stdout, table.stderr
        missing = nfv("host", "show", "compute9", env=env, timeout=30)
        assert missing.returncode != 0 and "no compute host 'compute9'" in missing.stderr, missing.stderr
        status = nfv("status", "-f", "json", env=env, timeout=30)
        assert status.returncode == 0, status.stderr
        parts = {c["name"]: c for c in json.loads(status.stdout)["components"]}
        assert all(parts[f"{h.name}/{d}"]["state"] == "up" for h in rack.hosts for d in ("ovsdb-server", "ovs-vswitchd"))
        assert parts["ovs"]["state"] == "up" and "3 compute hosts" in parts["ovs"]["detail"], parts["ovs"]
        # compute2's vswitchd dies: the supervisor restarts it, br-phy gets its address back, it reconnects
        status = json.loads((state / "supervisor.json").read_text())
        pid = next(c["pid"] for c in status["components"] if c["name"] == "compute2/ovs-vswitchd")
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: next(c for c in json.loads((state / "supervisor.json").read_text())["components"]
                              if c["name"] == "compute2/ovs-vswitchd")["restarts"] == 1, "compute2's vswitchd restarted", 20, 0.2)
        p2 = rack.hosts[1]
        wait_for(lambda: p2.underlay_ip in netns.netns_check_output(p2.netns, ["ip", "-4", "addr", "show", "br-phy"]),
                 "br-phy's underlay address back", 20, 0.2)
        wait_for(lambda: connected(state, "compute2"), "compute2 reconnected", 20, 0.2)
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
    assert not state.exists()


def test_vnfs_pinned_to_two_hosts_talk_over_their_vls(tmp_path: Path) -> None:
    """availability_zone pins a VNF to a host; the VL spans the hosts (VXLAN), so a client on
    compute2 pings and GETs a web server on compute3 through the stack's controller, and the
    monitor on compute1 keeps both ACTIVE."""
    state = tmp_path / "state"
    env = stack_env(state)
    client = tmp_path / "client.yaml"
    client.write_text(pinned("host.yaml", "host", "compute2"))
    web = tmp_path / "web.yaml"
    web.write_text(pinned("host.yaml", "http-server", "compute3"))
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        for name, path in (("client", client), ("web", web)):
            for argv in (("vnfd-create", "--vnfd-file", str(path), name), ("vnf-create", "--vnfd-name", name, name)):
                done = nfv(*argv, env=env, timeout=90)
                assert done.returncode == 0, done.stderr
        shown = {n: json.loads(nfv("vnf", "show", n, "-f", "json", env=env, timeout=30).stdout) for n in ("client", "web")}
        assert shown["client"]["vdus"][0]["host"] == "compute2" and shown["web"]["vdus"][0]["host"] == "compute3"
        web_ip = next(c["ip"] for c in shown["web"]["vdus"][0]["cps"] if c["name"] == "CP2").split("/")[0]
        ping = nfv("vnf", "exec", "client", "--", sys.executable, "-m", "dataplane.ping", web_ip, "-c", "3", "-W", "1",
                   env=env, timeout=60)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        get = nfv("vnf", "exec", "client", "--", sys.executable, "-c",
                  f"import urllib.request; print(urllib.request.urlopen('http://{web_ip}:8080/', timeout=5).status)",
                  env=env, timeout=60)
        assert get.returncode == 0 and get.stdout.strip() == "200", get.stdout + get.stderr
        hosts = {h["name"]: h for h in json.loads(nfv("host", "list", "-f", "json", env=env, timeout=30).stdout)}
        assert hosts["compute2"]["vdus"] == ["client/VDU1"] and hosts["compute3"]["vdus"] == ["web/VDU1"]
        time.sleep(8)   # the ping monitors (delay 5 s) run from compute1: both stay ACTIVE
        listed = {v["name"]: v for v in json.loads(nfv("vnf", "list", "-f", "json", env=env, timeout=30).stdout)}
        assert listed["client"]["status"] == listed["web"]["status"] == "ACTIVE", listed
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())


def test_down_after_the_supervisor_was_killed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    try:
        up = nfv("up", "--hosts", "2", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        record = json.loads((state / "stack.json").read_text())
        os.kill(record["pid"], signal.SIGKILL)   # (nfv up would resume it: test_supervised.py)
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    rack = plan(stack_prefix(state), 2)   # the hosts' OVS died with the supervisor (PDEATHSIG); their namespaces stayed
    assert all(name in down.stdout for name in (rack.rack_netns, *(h.netns for h in rack.hosts))), down.stdout
    assert mine(state) == (set(), set())
    assert not state.exists()
