"""Helpers shared by the NFVO integration tests that drive the ``nfv`` CLI in-process against
the real stack (``nfvo_stack``): run a command and capture its output, poll with a deadline, and
take a snapshot of everything a failed request must not change (records, flows, namespaces)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest

from dataplane import netns
from nfvo.api.server import connect
from nfvo.cli.main import main
from vnfm.vim.local import server_files

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
T = TypeVar("T")

# A VNFFGD through VNFDs ``firewall`` and ``counter`` (our nsh-* samples) classifying TCP to port
# 8080: the same classifier as a chain ``web`` with ``tcp_dst=8080,ip_proto=6``, which only the
# controller (seeing both chains) can refuse.
TWIN_VNFFGD = """\
tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
description: Web traffic once more, through the same VNFs
topology_template:
  node_templates:
    twin_path:
      type: tosca.nodes.nfv.FP.TackerV2
      properties:
        policy:
          type: ACL
          criteria:
            - name: twin_web
              classifier:
                ip_proto: 6
                destination_port_range: 8080-8080
        path:
          - forwarder: firewall
            capability: CP2
          - forwarder: counter
            capability: CP2
  groups:
    twin:
      type: tosca.groups.nfv.VNFFG
      properties:
        vendor: nfvchain
        version: 1.0
        number_of_endpoints: 2
        dependent_virtual_link: [VL_data, VL_data]
        connection_point: [CP2, CP2]
        constituent_vnfs: [firewall, counter]
      members: [twin_path]
"""


@dataclass(frozen=True)
class Ran:
    rc: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], line: str) -> Ran:
    """One ``nfv`` command; its exit code and what it printed (earlier output is discarded)."""
    capsys.readouterr()
    argv = shlex.split(line)
    rc = main(argv[1:] if argv[0] == "nfv" else argv)
    got = capsys.readouterr()
    return Ran(rc, got.out, got.err)


def ok(capsys: pytest.CaptureFixture[str], line: str) -> Any:
    """Run a command that must succeed; ``-f json`` output comes back parsed."""
    ran = run(capsys, line)
    assert ran.rc == 0, f"{line}: exit {ran.rc}: {ran.err}"
    return json.loads(ran.out) if " -f json" in line else ran.out


def fails(capsys: pytest.CaptureFixture[str], line: str, *needles: str) -> str:
    """Run a command that must fail with one line on stderr naming ``needles``; returns it."""
    ran = run(capsys, line)
    assert ran.rc != 0, f"{line}: succeeded: {ran.out}"
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nfv: error: "), ran.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 30.0, every: float = 0.1,
             detail: Callable[[], object] | None = None) -> T:
    """Poll until ``check`` returns something truthy (a noisy CI box gets a generous deadline);
    ``detail`` says what things looked like when it timed out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f": {detail()}" if detail else ""))
        time.sleep(every)


def onboard_hosts(capsys: pytest.CaptureFixture[str], stack: Any) -> None:
    """The VIM (its ingress/egress ports name the client/server host VNFs) and the two hosts."""
    ok(capsys, f"nfv vim register local --bridge {stack.bridge} --dpid {stack.dpid:#x} "
       "--ingress-port client --egress-port server")
    ok(capsys, f"nfv vnfd-create --vnfd-file {SAMPLES / 'host.yaml'} host")
    ok(capsys, "nfv vnf create --vnfd-name host client")
    ok(capsys, "nfv vnf create --vnfd-name host server")


def flows(ovs: Any, bridge: str) -> set[str]:
    """The bridge's flows (no counters), one string each."""
    text = ovs.ofctl("dump-flows", bridge, "--no-stats")
    return {line.strip() for line in text.splitlines() if line.strip() and "reply" not in line}


def spi_flows(ovs: Any, bridge: str, spi: int) -> set[str]:
    return {f for f in flows(ovs, bridge) if f"nsh_spi={spi:#x}" in f or f"nsh_spi={spi}," in f}


def namespaces(stack: Any) -> set[str]:
    return {n for n in netns.list_netns() if n.startswith(stack.vnfm.prefix)}


@dataclass(frozen=True)
class Snapshot:
    """What the NFVO, the bridge and the host hold; equal before and after a refused request."""

    records: dict[str, Any]
    flows: frozenset[str]
    namespaces: frozenset[str]


def snapshot(capsys: pytest.CaptureFixture[str], stack: Any, ovs: Any) -> Snapshot:
    """Every list the NFVO serves (over one reused gRPC channel: this runs after every refused
    request), the bridge's flows and the VNFs' namespaces."""
    from nfvo.api.v1 import nfvo_pb2 as pb
    from nfvo.cli.client import to_dict

    if _stub[0] != stack.address:  # one channel per stack, dropped with the next stack
        _stub[:] = [stack.address, connect(stack.address)]
    stub = _stub[1]
    lists = {kind: stub.ListDescriptors(pb.ListRequest(kind=kind)).descriptors for kind in ("VNFD", "VNFFGD", "NSD")}
    lists.update(vnf=stub.ListVnfs(pb.ListRequest()).vnfs, vnffg=stub.ListVnffgs(pb.ListRequest()).vnffgs,
                 classifier=stub.ListClassifiers(pb.ListRequest()).classifiers, ns=stub.ListNs(pb.ListRequest()).ns,
                 vim=stub.ListVims(pb.ListRequest()).vims)
    records = {kind: [to_dict(m) for m in messages] for kind, messages in lists.items()}
    return Snapshot(records, frozenset(flows(ovs, stack.bridge)), frozenset(namespaces(stack)))


_stub: list[Any] = ["", None]


def counter_seen(state_dir: Path) -> dict[tuple[int, int], int]:
    """Packets per (SPI, SI) in every counter SF's latest report."""
    seen: dict[tuple[int, int], int] = {}
    for report in server_files(state_dir, "counter.json"):
        try:
            entries = json.loads(report.read_text()).get("flows", [])
        except (OSError, ValueError):  # being rewritten right now
            continue
        for entry in entries:
            key = (int(entry["spi"]), int(entry["si"]))
            seen[key] = seen.get(key, 0) + int(entry["packets"])
    return seen


def http_get(stack: Any, capsys: pytest.CaptureFixture[str], port: int) -> str:
    """Serve HTTP in the server VNF and fetch a page from the client VNF through the bridge."""
    server = stack.vnfm.get("server")
    ip = server.cp("CP2").ip.split("/")[0]
    web = netns.run_in_netns(server.vdus[0].namespace, [sys.executable, "-m", "http.server", str(port), "--bind", ip],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
            f"'http://{ip}:{port}/', timeout=5).read().decode())")
    try:
        # retried: the server may not listen yet and the first ARP may race the SFs coming up
        return wait_for(lambda: _fetch(capsys, code), f"HTTP from client to {ip}:{port}", timeout=30, every=0.3)
    finally:
        web.terminate()
        web.wait(5)


def _fetch(capsys: pytest.CaptureFixture[str], code: str) -> str | None:
    ran = run(capsys, f"nfv vnf exec client -- {sys.executable} -c \"{code}\"")
    return ran.out if ran.rc == 0 and "Directory listing" in ran.out else None
