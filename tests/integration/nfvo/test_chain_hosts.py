"""A service chain across three compute hosts on ``nfv up --hosts 3``, driven by the CLI.

The client sits on compute1, the web server on compute3; the symmetric chain's three NSH-aware
counter SFs on compute2, compute3 and compute1 (each pinned by ``availability_zone``). HTTP goes
both ways through every SF in order: each counter's own report says which (SPI, SI) it served.
The classifier names both ends (``network_src_port_id`` = the client, ``network_dst_port_id`` =
the server), so each direction's path ends at its destination (``sdn.document.Classifier.
destination``). A capture on the rack (the underlay), decoded by tshark, shows each leg in
VXLAN-GPE (UDP 4790, next protocol 4 = NSH) between the right hosts with the path's SPI and
decreasing SI, the end SI going from the last SF's host straight to the destination's, and no
chained frame in the VL's plain VXLAN (UDP 4789): before, the path ended on its classifier's host
and the VL carried the frame on from there. The VL still carries what no classifier takes (ping).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataplane import netns
from dataplane.lab import stop_process
from nfvo.allinone import stack_prefix
from nfvo.computehosts import plan
from tests.integration.capture import tshark
from tests.integration.nfvo.multihost import counters, mine, nfv, onboard_pinned, stack_env

pytestmark = pytest.mark.integration

WEB_PORT = 8080  # the http-server image's
PLACES = {"client": ("host.yaml", "host", "compute1"), "web": ("host.yaml", "http-server", "compute3"),
          "sf1": ("nsh-counter.yaml", "nsh-counter", "compute2"), "sf2": ("nsh-counter.yaml", "nsh-counter", "compute3"),
          "sf3": ("nsh-counter.yaml", "nsh-counter", "compute1")}


def test_symmetric_chain_across_three_hosts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    rack = plan(stack_prefix(state), 3)
    pcap = tmp_path / "underlay.pcap"
    capture = None
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(env, tmp_path, PLACES)
        shown = {n: json.loads(nfv("vnf", "show", n, "-f", "json", env=env, timeout=30).stdout) for n in PLACES}
        assert {n: s["vdus"][0]["host"] for n, s in shown.items()} == {n: p[2] for n, p in PLACES.items()}
        web_ip = next(c["ip"] for c in shown["web"]["vdus"][0]["cps"] if c["name"] == "CP2").split("/")[0]
        for argv in (("vnffg-create", "--name", "web", "--chain", "sf1,sf2,sf3", "--symmetrical"),
                     ("vnffg-classifier-create", "--name", "http", "--chain", "web",
                      "--match", f"network_src_port_id=client,network_dst_port_id=web,tcp_dst={WEB_PORT},ip_proto=6")):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr + done.stdout
        chain = json.loads(nfv("vnffg", "show", "web", "-f", "json", env=env, timeout=30).stdout)
        assert chain["status"] == "ACTIVE", chain
        (path,) = chain["paths"]
        fwd, rev = int(path["spi"]), int(path["reverse_spi"])

        capture = netns.run_in_netns(rack.rack_netns, ["tcpdump", "-i", rack.rack_bridge, "-n", "-U", "-Z", "root",
                                                       "-w", str(pcap), "udp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        get = f"import urllib.request; print(urllib.request.urlopen('http://{web_ip}:{WEB_PORT}/', timeout=5).status)"
        for _ in range(5):   # the first ARP may race the VL tunnels' learning
            done = nfv("vnf", "exec", "client", "--", sys.executable, "-c", get, env=env, timeout=60)
            if done.returncode == 0 and done.stdout.strip() == "200":
                break
            time.sleep(1.0)
        assert done.returncode == 0 and done.stdout.strip() == "200", done.stdout + done.stderr
        ping = nfv("vnf", "exec", "client", "--", sys.executable, "-m", "dataplane.ping", web_ip, "-c", "3", "-W", "1",
                   env=env, timeout=60)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        time.sleep(1.5)   # the counters write their reports periodically; the last frames reach the file
        stop_process(capture)
        capture = None

        seen = counters(state)
        served = {n: {k for k, v in seen.get(n, {}).items() if v} for n in ("sf1", "sf2", "sf3")}
        # forward: sf1 (SI 255), sf2 (254), sf3 (253); reverse: sf3 (255), sf2 (254), sf1 (253)
        assert served == {"sf1": {(fwd, 255), (rev, 253)}, "sf2": {(fwd, 254), (rev, 254)},
                          "sf3": {(fwd, 253), (rev, 255)}}, seen

        ips = {h.underlay_ip: h.name for h in rack.hosts}
        rows = tshark(pcap, "nsh && tcp", "ip.src", "ip.dst", "udp.dstport", "vxlan.next_proto", "nsh.spi", "nsh.si")
        legs = {(ips.get(r[0].split(",")[0]), ips.get(r[1].split(",")[0]), r[2].split(",")[0], r[3], int(r[4]), int(r[5]))
                for r in rows}
        assert legs == {   # forward: classified on compute1 (the client's), after sf3 (there too) the end SI to
            # the server's host compute3
            ("compute1", "compute2", "4790", "4", fwd, 255), ("compute2", "compute3", "4790", "4", fwd, 254),
            ("compute3", "compute1", "4790", "4", fwd, 253), ("compute1", "compute3", "4790", "4", fwd, 252),
            # reverse: classified on compute3 (the server's), after sf1 on compute2 straight to the client's compute1
            ("compute3", "compute1", "4790", "4", rev, 255), ("compute1", "compute3", "4790", "4", rev, 254),
            ("compute3", "compute2", "4790", "4", rev, 253), ("compute2", "compute1", "4790", "4", rev, 252),
        }, legs
        # no chained frame takes the VL's plain VXLAN (each path ends at its destination); what no
        # classifier takes (ping) still does, both ways
        def plain(display: str) -> set[tuple[str | None, str | None, str]]:
            rows = tshark(pcap, f"vxlan && !nsh && ({display})", "ip.src", "ip.dst", "udp.dstport")
            return {(ips.get(r[0].split(",")[0]), ips.get(r[1].split(",")[0]), r[2].split(",")[0]) for r in rows}

        assert plain(f"tcp.port == {WEB_PORT}") == set()
        assert {("compute1", "compute3", "4789"), ("compute3", "compute1", "4789")} <= plain("icmp")
    finally:
        if capture is not None:
            stop_process(capture)
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
