"""``nfv host add|remove`` on a running ``nfv up --hosts 2``, one stack for the whole flow.

A client VNF on compute1 puts its virtual links across the two hosts, and a chain through a
counter SF on compute2 classifies UDP to the client with a port-less classifier (on every host's
switch); ``nfv host add`` brings compute3 (namespace, supervised OVS, underlay address, br-int
connected to the controller), joins it to those links and re-renders the chain onto it. A server
pinned ``availability_zone: compute3`` lands there, pings the client across hosts both ways, and
its UDP stream to the client is classified on compute3 and crosses the SF on compute2 (counted).
``nfv host remove compute3`` is refused while the server runs
there (naming it), as for compute1 (the hub: see test_hub_failover); with ``--evacuate`` the server is rebuilt on
another host (still answering) and compute3 goes: no namespace, link, process, OVSDB socket,
tunnel port to it or row of it is left. A host added again under a name of its own reuses the
free number and, holding nothing, is removed without ``--evacuate``; bad names are refused naming
the problem; ``nfv down`` leaves nothing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dataplane import netns
from dataplane.ovsdb import Ovsdb
from nfvo.allinone import stack_prefix
from nfvo.computehosts import host_ovsdb, hosts_dir, plan
from nfvo.leftovers import stack_processes
from tests.integration.nfvo.multihost import counters, mine, nfv, onboard_pinned, stack_env
from tests.integration.nfvo.nfvcli import wait_for
from tests.integration.nfvo.traffic import UdpStream

import pytest

pytestmark = pytest.mark.integration
PORT = 5302


def as_json(env: dict, *argv: str) -> dict | list:
    done = nfv(*argv, "-f", "json", env=env, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def refused(env: dict, *argv: str) -> str:
    done = nfv(*argv, env=env, timeout=120)
    assert done.returncode != 0, done.stdout
    return done.stderr


def ping(env: dict, vnf: str, ip: str) -> None:
    done = nfv("vnf", "exec", vnf, "--", sys.executable, "-m", "dataplane.ping", ip, "-c", "3", "-W", "1",
               env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def data_ip(vnf: dict) -> str:
    return next(c["ip"] for c in vnf["vdus"][0]["cps"] if c["name"] == "CP2").split("/")[0]


def test_a_host_joins_takes_a_vnf_and_leaves_without_a_trace(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    prefix = stack_prefix(state)
    c3 = plan(prefix, 3).hosts[2]
    try:
        up = nfv("up", "--hosts", "2", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(env, tmp_path, {"client": ("host.yaml", "host", "compute1"),   # its VLs span the hosts
                                       "sf": ("nsh-counter.yaml", "nsh-counter", "compute2")})
        for argv in (("vnffg-create", "--name", "udp", "--chain", "sf"),
                     ("vnffg-classifier-create", "--name", "udp", "--chain", "udp", "--match",
                      f"udp_dst={PORT},ip_proto=17")):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr + done.stdout
        assert "names compute<N> are the hosts' own numbers" in refused(env, "host", "add", "--name", "compute7")
        assert "must be 2..32 lowercase letters" in refused(env, "host", "add", "--name", "Bad_Name")
        assert "exists already" in refused(env, "host", "add", "--name", "compute2")
        assert "compute1 holds VDUs client/VDU1" in refused(env, "host", "remove", "compute1")   # the hub too
        assert "no compute host 'compute9'" in refused(env, "host", "remove", "compute9")

        t0 = time.monotonic()
        added = as_json(env, "host", "add")
        took = time.monotonic() - t0
        assert added["host"]["name"] == "compute3" and added["host"]["state"] == "up", added
        assert (added["host"]["netns"], added["host"]["underlay_ip"]) == (c3.netns, c3.underlay_ip)
        print(f"nfv host add: {took:.1f} s")
        hosts = as_json(env, "host", "list")
        assert [(h["name"], h["state"]) for h in hosts] == [("compute1", "up"), ("compute2", "up"), ("compute3", "up")]
        with Ovsdb(host_ovsdb(state, "compute3")) as db:   # vswitchd writes its connection's status back now and then
            wait_for(lambda: any(db.controller_status("br-int").values()), "compute3's br-int connected", 15, 0.2)
        parts = {c["name"]: c["state"] for c in as_json(env, "status")["components"]}
        assert parts["compute3/ovsdb-server"] == parts["compute3/ovs-vswitchd"] == "up", parts

        onboard_pinned(env, tmp_path, {"server": ("host.yaml", "host", "compute3")})
        client, server = as_json(env, "vnf", "show", "client"), as_json(env, "vnf", "show", "server")
        assert server["vdus"][0]["host"] == "compute3"
        ping(env, "client", data_ip(server))        # compute1 -> compute3 over the VL's tunnel
        ping(env, "server", data_ip(client))
        assert as_json(env, "vnffg", "show", "udp")["status"] == "ACTIVE"
        with UdpStream(server["vdus"][0]["namespace"], client["vdus"][0]["namespace"], data_ip(client), PORT,
                       tmp_path, rate=100.0) as stream:   # classified on compute3, through the SF on compute2
            stream.mark(timeout=20)
            wait_for(lambda: sum(counters(state).get("sf", {}).values()), "the SF counting compute3's stream", 20, 0.3)

        said = refused(env, "host", "remove", "compute3")
        assert "compute host compute3 holds VDUs server/VDU1" in said and "--evacuate" in said, said
        t0 = time.monotonic()
        gone = as_json(env, "host", "remove", "compute3", "--evacuate")
        print(f"nfv host remove --evacuate: {time.monotonic() - t0:.1f} s")
        assert gone["host"]["state"] == "removed" and gone["evacuated"] == ["server/VDU1"], gone
        moved = as_json(env, "vnf", "show", "server")
        assert moved["status"] == "ACTIVE" and moved["vdus"][0]["host"] in ("compute1", "compute2"), moved
        assert data_ip(moved) == data_ip(server)
        ping(env, "client", data_ip(moved))
        wait_for(lambda: as_json(env, "vnffg", "show", "udp")["status"] == "ACTIVE", "the chain ACTIVE without compute3",
                 30, 0.3)

        # nothing of compute3 is left
        assert [h["name"] for h in as_json(env, "host", "list")] == ["compute1", "compute2"]
        assert c3.netns not in netns.list_netns()
        rack = plan(prefix, 2)
        links = set(netns.list_links(netns=rack.rack_netns)) | set(netns.list_links())
        assert not {c3.uplink, c3.rack_port} & links, links
        assert not (hosts_dir(state) / "compute3").exists()
        assert not [label for pid, label in stack_processes(state, set()).items()
                    if "compute3" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        assert not any(c["name"].startswith("compute3/") for c in as_json(env, "status")["components"])
        with Ovsdb(host_ovsdb(state, "compute1")) as db:
            assert not [p.name for p in db.list_ports("br-int") if p.external_ids.get("nfv-peer") == "compute3"]

        # a name of its own, the free number again
        again = nfv("host", "add", "--name", "edge1", env=env, timeout=120)   # the table: the host's row
        assert again.returncode == 0 and "Host edge1 added in" in again.stdout, again.stdout + again.stderr
        assert all(x in again.stdout for x in ("edge1", "up", c3.netns, c3.uplink)), again.stdout
        listed = {h["name"]: h for h in as_json(env, "host", "list")}
        assert (listed["edge1"]["state"], listed["edge1"]["zone"], listed["edge1"]["netns"]) == ("up", "edge1", c3.netns)
        removed = nfv("host", "remove", "edge1", env=env, timeout=120)    # nothing on it: no --evacuate needed
        assert removed.returncode == 0 and "Host edge1 removed in" in removed.stdout, removed.stdout + removed.stderr
        assert [h["name"] for h in as_json(env, "host", "list")] == ["compute1", "compute2"]
        assert c3.netns not in netns.list_netns()
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
    assert not state.exists()
