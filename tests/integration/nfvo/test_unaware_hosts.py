"""A chain through an NSH-unaware VNF on another host than its classifier, on ``nfv up --hosts 3``,
driven by the CLI (issue 13, point 4).

The client sits on compute1, the web server on compute3; the symmetric chain is an NSH-aware
counter SF on compute1, a plain namespace (the ``host`` image: no NSH, so the NFVO makes it an
NSH-unaware, one-armed hop) routing with ``net.ipv4.ip_forward=1`` on compute2, and a counter SF
on compute3, each pinned by ``availability_zone``. HTTP goes both ways through all three: the
counters say which (SPI, SI) they served, the router's kernel says it forwarded. The underlay
capture shows the legs in VXLAN-GPE: compute2 re-classifies what the router sends back and sends
it on with the next SI, and each direction ends on compute2 (C1 = the router's host and port),
from where the VL carries the frame on in plain VXLAN.
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
          "sf1": ("nsh-counter.yaml", "nsh-counter", "compute1"), "router": ("host.yaml", "host", "compute2"),
          "sf2": ("nsh-counter.yaml", "nsh-counter", "compute3")}


def forwarded(env: dict) -> int:
    """The router VDU's kernel IPv4 forwarding counter (/proc/net/snmp Ip: ForwDatagrams)."""
    done = nfv("vnf", "exec", "router", "--", "cat", "/proc/net/snmp", env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("Ip:")]
    return int(dict(zip(rows[0], rows[1], strict=True))["ForwDatagrams"])


def test_symmetric_chain_through_an_unaware_router_on_another_host(tmp_path: Path) -> None:
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
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0"):  # a one-armed router
            done = nfv("vnf", "exec", "router", "--", "sysctl", "-q", "-w", key, env=env, timeout=30)
            assert done.returncode == 0, done.stderr
        for argv in (("vnffg-create", "--name", "web", "--chain", "sf1,router,sf2", "--symmetrical"),
                     ("vnffg-classifier-create", "--name", "http", "--chain", "web",
                      "--match", f"tcp_dst={WEB_PORT},ip_proto=6")):
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
        before = forwarded(env)
        get = f"import urllib.request; print(urllib.request.urlopen('http://{web_ip}:{WEB_PORT}/', timeout=5).status)"
        for _ in range(5):   # the first ARPs may race the VL tunnels' learning
            done = nfv("vnf", "exec", "client", "--", sys.executable, "-c", get, env=env, timeout=60)
            if done.returncode == 0 and done.stdout.strip() == "200":
                break
            time.sleep(1.0)
        assert done.returncode == 0 and done.stdout.strip() == "200", done.stdout + done.stderr
        routed = forwarded(env) - before
        time.sleep(1.5)   # the counters write their reports periodically; the last frames reach the file
        stop_process(capture)
        capture = None

        assert routed >= 6, f"the router's kernel forwarded the HTTP exchange both ways ({routed})"
        seen = counters(state)
        served = {n: {k for k, v in seen.get(n, {}).items() if v} for n in ("sf1", "sf2")}
        # forward: sf1 (SI 255), router (254), sf2 (253); reverse: sf2 (255), router (254), sf1 (253)
        assert served == {"sf1": {(fwd, 255), (rev, 253)}, "sf2": {(fwd, 253), (rev, 255)}}, seen

        ips = {h.underlay_ip: h.name for h in rack.hosts}
        rows = tshark(pcap, "nsh && tcp", "ip.src", "ip.dst", "udp.dstport", "vxlan.next_proto", "nsh.spi", "nsh.si")
        legs = {(ips.get(r[0].split(",")[0]), ips.get(r[1].split(",")[0]), r[2].split(",")[0], r[3], int(r[4]), int(r[5]))
                for r in rows}
        assert legs == {   # forward: classified on compute1, re-classified on compute2 after the router, ends there
            ("compute1", "compute2", "4790", "4", fwd, 254), ("compute2", "compute3", "4790", "4", fwd, 253),
            ("compute3", "compute2", "4790", "4", fwd, 252),
            # reverse: classified on compute3 (the server's), re-classified on compute2, ends there too
            ("compute3", "compute2", "4790", "4", rev, 254), ("compute2", "compute1", "4790", "4", rev, 253),
            ("compute1", "compute2", "4790", "4", rev, 252),
        }, legs
        # from the path's end on compute2 on to the destination: the VL's plain VXLAN (a star around compute1)
        plain = tshark(pcap, "vxlan && !nsh && tcp.port == 8080", "ip.src", "ip.dst", "udp.dstport")
        crossing = {(ips.get(r[0].split(",")[0]), ips.get(r[1].split(",")[0]), r[2].split(",")[0]) for r in plain}
        assert ("compute2", "compute1", "4789") in crossing, crossing
    finally:
        if capture is not None:
            stop_process(capture)
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
