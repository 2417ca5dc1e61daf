"""A chain through an NSH-unaware router VNF scaled to two instances on two hosts, on
``nfv up --hosts 3``, driven by the CLI.

The router VNFD (the ``host`` image: no NSH, one data CP with a MAC, so the NFVO makes it a
routing unaware hop) starts two instances, kept apart by a strict anti-affinity Placement policy;
client and web server sit on compute1. The symmetric chain's classifier names the server
(``network_dst_port_id``), so the forward path ends at the server's port whichever router served
it; the reverse names no destination, so it ends on the host of the router that served it (C1)
and the VL carries it on. Twenty HTTP exchanges (twenty connections) all succeed, and both
routers' kernels forwarded some of them: the SF's slot table spread them over both hosts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.nfvo.multihost import SAMPLES, mine, nfv, onboard_pinned, stack_env

pytestmark = pytest.mark.integration

WEB_PORT = 8080  # the http-server image's
PLACES = {"client": ("host.yaml", "host", "compute1"), "web": ("host.yaml", "http-server", "compute1")}
SPREAD = """
  policies:
    - SP1:
        type: tosca.policies.tacker.Scaling
        properties: {targets: [VDU1], increment: 1, cooldown: 0, min_instances: 1, max_instances: 2,
                     default_instances: 2}
    - AA:
        type: tosca.policies.tacker.Placement
        properties: {policy: anti-affinity, strict: true}
        targets: [VDU1]
"""


def in_vdu(namespace: str, *argv: str) -> str:
    """``argv`` in a VDU's network namespace (``nfv vnf exec`` reaches only a VNF's first instance)."""
    done = subprocess.run(["ip", "netns", "exec", namespace, *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def forwarded(namespace: str) -> int:
    """The namespace's kernel IPv4 forwarding counter (/proc/net/snmp Ip: ForwDatagrams)."""
    rows = [line.split() for line in in_vdu(namespace, "cat", "/proc/net/snmp").splitlines() if line.startswith("Ip:")]
    return int(dict(zip(rows[0], rows[1], strict=True))["ForwDatagrams"])


def test_a_router_scaled_over_two_hosts_carries_http_both_ways(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = stack_env(state)
    try:
        up = nfv("up", "--hosts", "3", env=env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(env, tmp_path, PLACES)
        vnfd = tmp_path / "router.yaml"
        vnfd.write_text((SAMPLES / "host.yaml").read_text().rstrip("\n") + "\n" + SPREAD)
        for argv in (("vnfd-create", "--vnfd-file", str(vnfd), "router"), ("vnf-create", "--vnfd-name", "router", "router")):
            done = nfv(*argv, env=env, timeout=120)
            assert done.returncode == 0, done.stderr
        shown = json.loads(nfv("vnf", "show", "router", "-f", "json", env=env, timeout=30).stdout)
        hosts = [v["host"] for v in shown["vdus"]]
        assert len(hosts) == 2 and len(set(hosts)) == 2, f"anti-affinity keeps the instances apart: {hosts}"
        spaces = [v["namespace"] for v in shown["vdus"]]
        for ns in spaces:
            for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0"):  # one-armed routers
                in_vdu(ns, "sysctl", "-q", "-w", key)
        web = json.loads(nfv("vnf", "show", "web", "-f", "json", env=env, timeout=30).stdout)
        web_ip = next(c["ip"] for c in web["vdus"][0]["cps"] if c["name"] == "CP2").split("/")[0]
        for argv in (("vnffg-create", "--name", "web", "--chain", "router", "--symmetrical"),
                     ("vnffg-classifier-create", "--name", "http", "--chain", "web",
                      "--match", f"network_dst_port_id=web,tcp_dst={WEB_PORT},ip_proto=6")):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr + done.stdout
        chain = json.loads(nfv("vnffg", "show", "web", "-f", "json", env=env, timeout=30).stdout)
        assert chain["status"] == "ACTIVE", chain

        before = [forwarded(ns) for ns in spaces]
        get = ("import urllib.request\n"
               f"print(sum(urllib.request.urlopen('http://{web_ip}:{WEB_PORT}/', timeout=5).status == 200 "
               "for _ in range(20)))")
        for _ in range(5):  # the first ARPs may race the VL tunnels' learning
            done = nfv("vnf", "exec", "client", "--", sys.executable, "-c", get, env=env, timeout=120)
            if done.returncode == 0 and done.stdout.strip() == "20":
                break
            time.sleep(1.0)
        assert done.returncode == 0 and done.stdout.strip() == "20", done.stdout + done.stderr
        routed = [forwarded(ns) - b for ns, b in zip(spaces, before, strict=True)]
        print(f"\nHTTP through router instances on {hosts}: forwarded {routed} datagrams")
        assert all(n >= 6 for n in routed), f"both instances route connections both ways: {routed}"
    finally:
        down = nfv("down", env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())
