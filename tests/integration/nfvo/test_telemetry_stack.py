"""Telemetry of the all-in-one, end to end: ``nfv up --demo`` (an NSH-aware chain of reference
SFs with real traffic), the bridge's own sFlow samples attributed per hop to the right SPI/SI,
the stack's OVS in ``nfv exporter list``, Prometheus text scraped from the host namespace (by us
and by a real Prometheus server), and softflowd in a namespace of ours exporting NetFlow v9 and
IPFIX to the host-side collector ports, its flows attributed to the chain by classifier."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dataplane import netns

pytestmark = pytest.mark.integration


def nfv(*args: str, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nfvo.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def nfv_json(*args: str, env: dict):
    done = nfv(*args, "-f", "json", env=env, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def until(what: str, fn, timeout: float = 30.0, every: float = 0.5):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last})")


def packets(count: dict | None) -> int:
    return int(count["packets"]) if count else 0


@pytest.fixture
def stack(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200", "NFV_SFLOW_SAMPLING": "1",
           "NFV_IPFIX_SAMPLING": "1"}  # every packet: exact figures
    env.pop("NFV_NFVO_ADDRESS", None)
    try:
        up = nfv("up", "--demo", env=env)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "collectors: sflow udp/" in up.stdout, up.stdout
        yield env
    finally:
        down = nfv("down", env=env, timeout=90)
        assert down.returncode == 0, down.stderr


def test_chain_figures_exporters_status_and_metrics(stack, tmp_path, run_prefix):
    env = stack
    chain = nfv_json("vnffg", "show", "demo", env=env)
    forward, reverse = int(chain["paths"][0]["spi"]), int(chain["paths"][0]["reverse_spi"])

    # per hop, from the bridge's own sFlow samples (1 in 1): NSH SPI/SI as the SFs saw them
    stats = nfv_json("vnffg", "stats", "demo", "--window", "300", env=env)
    by_spi = {int(p["spi"]): p for p in stats["paths"]}
    assert set(by_spi) == {forward, reverse}, stats
    for spi, hops in ((forward, ("fw", "cnt")), (reverse, ("cnt", "fw"))):
        path = by_spi[spi]
        assert [(int(h["si"]), h["name"].split(":")[0]) for h in path["hops"]] == [(255, hops[0]), (254, hops[1])]
        assert packets(path["entered"]) > 0 and packets(path["delivered"]) > 0, path
        for hop in path["hops"]:
            assert packets(hop["into"]) > 0 and packets(hop["out"]) > 0, hop
            # the exact probe of the next point wins over sFlow's hop-out estimate (counters below)
            assert hop["out"]["source"] == "probe" and hop["out"]["exact"] is True, hop
            assert hop["loss"]["exact"] is True, hop
    assert int(stats["packets"]) > 0 and stats["exact"] is True  # IPFIX sample() on every packet: exact
    watch = subprocess.Popen([sys.executable, "-m", "nfvo.cli.main", "vnffg", "stats", "demo", "--watch", "-f", "json",
                              "--interval", "0.2", "--window", "300"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = [json.loads(watch.stdout.readline()) for _ in range(3)] if watch.stdout else []
    finally:
        watch.terminate()
        watch.wait(timeout=10)
    assert [line["name"] for line in lines] == ["demo"] * 3 and lines[0]["time"] < lines[2]["time"], lines

    exporters = nfv_json("exporter", "list", env=env)
    own = [e for e in exporters if e["address"] == "127.0.0.1" and e["protocol"] == "sflow"]
    assert own and int(own[0]["datagrams"]) > 0 and int(own[0]["records"]) > 0, exporters

    status = nfv_json("status", env=env)
    names = {c["name"]: c for c in status["components"]}
    assert {"nfvo", "controller", "ovs", "collector-sflow", "collector-ipfix", "collector-netflow9",
            "metrics"} <= set(names), status
    assert all(c["state"] == "up" for c in names.values()), status
    url = status["metrics_url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics"), url

    # scraped over HTTP from the host's namespace (this process), parsed by prometheus_client
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    hop = [s for f in text_string_to_metric_families(text) for s in f.samples
           if s.name == "nfvchain_hop_packets_total" and s.labels["vnffg"] == "demo"]
    assert {(int(s.labels["spi"]), int(s.labels["si"])) for s in hop if s.value > 0} >= \
        {(forward, 255), (forward, 254), (reverse, 255), (reverse, 254)}, hop
    sampled_out = {(int(s.labels["spi"]), int(s.labels["si"])) for s in hop
                   if s.value > 0 and s.labels["direction"] == "out" and s.labels["source"] == "samples"}
    assert sampled_out >= {(forward, 255), (forward, 254), (reverse, 255), (reverse, 254)}, hop   # sFlow's NSH

    prometheus_scrapes(url, tmp_path, forward)

    # softflowd in a namespace of ours, exporting to the host-side collectors
    ports = {c["name"].removeprefix("collector-"): int(c["addresses"][0].rsplit(":", 1)[1])
             for c in status["components"] if c["name"].startswith("collector-")}
    softflowd_feeds(env, ports, forward, tmp_path, run_prefix)


def prometheus_scrapes(url: str, tmp_path: Path, spi: int) -> None:
    """Debian's Prometheus server scrapes the stack's endpoint and answers a query for the chain."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (scripts/install.sh installs it)"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        web = probe.getsockname()[1]
    target = urllib.parse.urlsplit(url)
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
                      f"scrape_configs:\n  - job_name: nfvchain\n    metrics_path: {target.path}\n"
                      f"    static_configs: [{{targets: ['{target.netloc}']}}]\n")
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{web}"], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "prometheus.log", "w"))
    try:
        query = urllib.parse.urlencode({"query": f'nfvchain_hop_packets_total{{vnffg="demo",spi="{spi}"}}'})

        def answered():
            try:
                reply = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{web}/api/v1/query?{query}",
                                                          timeout=5).read())
            except OSError:
                return None
            return [r for r in reply["data"]["result"] if float(r["value"][1]) > 0]

        result = until("Prometheus has scraped nfvchain_hop_packets_total", answered, timeout=60)
        assert {r["metric"]["si"] for r in result} >= {"255", "254"}, result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def softflowd_feeds(env: dict, ports: dict[str, int], forward: int, tmp_path: Path, prefix: str) -> None:
    assert shutil.which("softflowd"), "softflowd is not installed (scripts/install.sh installs it)"
    ns, host_if, ns_if = f"{prefix}sfd", f"{prefix}sfh", f"{prefix}sfn"
    block = random.randrange(0, 1 << 14) * 4
    host_ip = f"100.{64 + (block >> 16)}.{(block >> 8) & 0xFF}.{(block & 0xFF) + 1}"
    ns_ip = f"100.{64 + (block >> 16)}.{(block >> 8) & 0xFF}.{(block & 0xFF) + 2}"
    pcap = tmp_path / "flows.pcap"
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)  # noqa: E731
    run("ip", "netns", "add", ns)
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
        run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        for argv in (("addr", "add", f"{ns_ip}/30", "dev", ns_if), ("link", "set", ns_if, "up"),
                     ("link", "set", "lo", "up")):
            run("ip", "-n", ns, *argv)
        # softflowd reads the capture (its live capture never wakes on this kernel's packet ring)
        dump = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "--immediate-mode", "-n", "-i", ns_if,
                                 "-w", str(pcap), "tcp"], stderr=subprocess.PIPE, text=True)
        try:
            assert "listening on" in (dump.stderr.readline() if dump.stderr else ""), "tcpdump did not start"
            for _ in range(5):   # TCP to 8080 matches the demo's classifier http (tcp_dst=8080)
                subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                                f"import socket\ntry: socket.create_connection(('{host_ip}', 8080), 2)\n"
                                "except OSError: pass"], timeout=10)
            time.sleep(0.5)
        finally:
            dump.terminate()
            dump.wait(timeout=10)
        for version, protocol in (("9", "netflow9"), ("10", "ipfix")):
            done = subprocess.run(["ip", "netns", "exec", ns, "softflowd", "-d", "-r", str(pcap), "-v", version,
                                   "-n", f"{host_ip}:{ports[protocol]}"], capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr

        def heard():
            seen = {e["protocol"]: e for e in nfv_json("exporter", "list", env=env) if e["address"] == ns_ip}
            return seen if {"netflow9", "ipfix"} <= set(seen) and all(int(e["records"]) > 0 for e in seen.values()) \
                else None
        until(f"softflowd ({ns_ip}) in nfv exporter list", heard)

        def attributed():
            stats = nfv_json("vnffg", "stats", "demo", "--window", "30", env=env)
            path = {int(p["spi"]): p for p in stats["paths"]}[forward]
            entered = path["entered"]
            return path if entered and entered["source"] == "flows" and packets(entered) >= 5 else None
        path = until("softflowd's flows attributed to the demo chain", attributed)
        assert path["entered"]["exact"] is True and int(path["entered"]["flows"]) >= 5, path
    finally:
        netns.delete_netns(ns)
        if host_if in netns.list_links():
            netns.delete_link(host_if)
