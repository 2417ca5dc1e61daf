"""The NFVO on real OVS: the users' seven commands verbatim, then a symmetric chain of real SF
VNFs carrying HTTP both ways, proven by the counter VNF's own report."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataplane import netns
from nfvo.cli.main import main
from tests.corpus import TACKER_SAMPLES
from tests.unit.nfvo.test_cli import SEVEN
from vnfm.vim.local import server_files

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
TACKER = TACKER_SAMPLES / "vnffgd"
HTTP_PORT = 8080


def nfv(line: str) -> int:
    argv = shlex.split(line)
    return main(argv[1:] if argv[0] == "nfv" else argv)


def typed(file: str, node_type: str, tmp: Path) -> str:
    text = (SAMPLES / file).read_text().replace(
        "topology_template:\n", f"node_types:\n  {node_type}:\n    derived_from: tosca.nodes.Root\n\n"
        f"topology_template:\n  substitution_mappings:\n    node_type: {node_type}\n", 1)
    out = tmp / f"{node_type.rsplit('.', 1)[-1]}.yaml"
    out.write_text(text)
    return str(out)


def onboard_hosts(stack) -> None:
    assert nfv(f"nfv vim register local --bridge {stack.bridge} --dpid {stack.dpid:#x} "
               "--ingress-port client --egress-port server") == 0
    assert nfv(f"nfv vnfd-create --vnfd-file {SAMPLES / 'host.yaml'} host") == 0
    assert nfv("nfv vnf create --vnfd-name host client") == 0
    assert nfv("nfv vnf create --vnfd-name host server") == 0


def test_seven_commands_on_real_ovs(nfvo_stack, ovs, tmp_path, monkeypatch, capsys):
    onboard_hosts(nfvo_stack)
    assert nfv(f"nfv vnfd-create --vnfd-file {typed('nsh-firewall.yaml', 'tosca.nodes.nfv.VNF.firewall', tmp_path)} fwd") == 0
    assert nfv(f"nfv vnfd-create --vnfd-file {typed('nsh-counter.yaml', 'tosca.nodes.nfv.VNF.nat', tmp_path)} natd") == 0
    assert nfv("nfv vnf create --vnfd-name fwd fw1") == 0
    assert nfv("nfv vnf create --vnfd-name natd nat1") == 0
    monkeypatch.chdir(TACKER)
    for line in SEVEN.strip().splitlines():
        assert nfv(line) == 0, line
    capsys.readouterr()
    assert nfv("nfv vnffg-list -f json") == 0
    chains = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert {c["status"] for c in chains.values()} == {"ACTIVE"}
    flows = ovs.ofctl("dump-flows", nfvo_stack.bridge, "--no-stats")
    for chain in chains.values():
        for path in chain["paths"]:
            for spi in (path["spi"], path.get("reverse_spi", 0)):
                if spi:
                    assert f"nsh_spi={spi:#x}" in flows or f"nsh_spi={spi}," in flows, (spi, flows)
    assert "tp_dst=80" in flows


def test_symmetric_chain_carries_http_both_ways(nfvo_stack, tmp_path, capsys):
    onboard_hosts(nfvo_stack)
    assert nfv(f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-firewall.yaml'} firewall") == 0
    assert nfv(f"nfv vnfd-create --vnfd-file {SAMPLES / 'nsh-counter.yaml'} counter") == 0
    assert nfv("nfv vnf create --vnfd-name firewall fw") == 0
    assert nfv("nfv vnf create --vnfd-name counter cnt") == 0
    assert nfv("nfv vnffg-create --name web --chain fw,cnt --symmetrical True") == 0
    assert nfv(f"nfv vnffg-classifier-create --name http --chain web --match tcp_dst={HTTP_PORT},ip_proto=6") == 0
    web = nfvo_stack.nfvo.vnffgs.get("web")
    spi, reverse = web.spi("path"), web.spi("path~reverse")

    vnfm = nfvo_stack.vnfm
    server = vnfm.get("server")
    server_ip = server.cp("CP2").ip.split("/")[0]
    web_server = netns.run_in_netns(server.vdus[0].namespace,
                                    [sys.executable, "-m", "http.server", str(HTTP_PORT), "--bind", server_ip],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                f"'http://{server_ip}:{HTTP_PORT}/', timeout=5).read().decode())")
        capsys.readouterr()
        ok = False
        for _ in range(3):  # first ARP may race the SFs coming up
            if nfv(f"nfv vnf exec client -- {sys.executable} -c \"{code}\"") == 0:
                ok = True
                break
            time.sleep(0.5)
        assert ok and "Directory listing" in capsys.readouterr().out
    finally:
        web_server.terminate()
        web_server.wait(5)
    time.sleep(1.5)  # the counter writes its report periodically
    reports = server_files(nfvo_stack.state_dir, "counter.json")
    assert reports, "the counter VNF wrote no report"
    seen: dict[tuple[int, int], int] = {}
    for entry in json.loads(reports[0].read_text()).get("flows", []):
        seen[(int(entry["spi"]), int(entry["si"]))] = seen.get((int(entry["spi"]), int(entry["si"])), 0) + int(entry["packets"])
    # forward: client -> fw (SI 255) -> cnt (SI 254); reverse: server -> cnt (SI 255) -> fw
    assert seen.get((spi, 254), 0) > 0 and seen.get((reverse, 255), 0) > 0, seen
