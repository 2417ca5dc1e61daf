"""A restarted controller process converges on what the switch holds, without a flush."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest
import yaml

from dataplane.lab import stop_process
from sdn.api.convert import document_message
from sdn.api.v1 import sfc_pb2 as pb
from sdn.state import load_saved
from tests.integration.sdn.chain_lab import new_dpid

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(of_port: int, state_file) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sdn.launcher", "--openflow", f"127.0.0.1:{of_port}",
                             "--grpc", "127.0.0.1:0", "--state-file", str(state_file), "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("nfv-sdn ready"), line
    return proc, line.split()[-1]


def show(address: str) -> dict:
    res = subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller", address, "show", "-f", "json"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def our_flows(ovs, bridge: str) -> dict[str, float]:
    """Our flows (stats stripped) -> their age in seconds."""
    out = {}
    for line in ovs.ofctl("dump-flows", bridge, "cookie=0x5fc0000000000000/0xfff0000000000000").splitlines():
        age = re.search(r"duration=([0-9.]+)s", line)
        if not age:
            continue
        key = re.sub(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^ ,]+,? ?", "", line).strip()
        out[key] = float(age.group(1))
    return out


@pytest.mark.parametrize("state_form", ["fast", "version 1"])
def test_restarted_controller_keeps_live_flows(lab, ovs, tmp_path, state_form):
    """From the state file as written (its cache section: checked document, rendered flows) and
    from the same state as a version 1 file (parsed, checked and rendered anew) alike."""
    of_port, state = free_port(), tmp_path / "state.pb"
    first, address = start(of_port, state)
    lab.track(first)
    dpid = new_dpid()
    bridge = lab.bridge(datapath_id=dpid, controller=f"tcp:127.0.0.1:{of_port}")
    client = lab.host(bridge, "10.0.0.1/24", mtu=1500)
    sf = lab.host(bridge, "10.99.0.1/24")
    doc = {"switches": [{"name": "s", "dpid": dpid}],
           "service_functions": [{"name": "fw", "instances": [{"switch": "s", "port": sf.port}]}],
           "service_function_paths": [{"name": "p", "spi": 5, "hops": ["fw"], "classifiers": [
               {"name": "c", "in_port": client.port, "match": {"tcp_dst": 80}}]}]}
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(doc))
    deadline = time.monotonic() + 20
    while True:
        res = subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller", address, "apply", str(path)],
                             capture_output=True, text=True, timeout=30)
        if res.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert res.returncode == 0, res.stderr
    before = our_flows(ovs, bridge)
    assert len(before) > 5

    stop_process(first)
    saved = load_saved(state)
    assert saved.fast and list(saved.renders) == [dpid], "the state file carries the flows it rendered"
    if state_form == "version 1":
        state.write_bytes(pb.PersistedState(generation=saved.generation,
                                            document=document_message(saved.document)).SerializeToString())
        assert not load_saved(state).fast
    time.sleep(1.5)
    second, address = start(of_port, state)
    lab.track(second)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        switches = show(address).get("switches", [])
        if switches and switches[0].get("connected") and int(switches[0].get("generation", 0)) == 1:
            break
        time.sleep(0.2)
    state_now = show(address)
    assert [p["name"] for p in state_now["paths"]] == ["p"]
    assert state_now["switches"][0]["connected"] and not state_now["switches"][0].get("error")
    after = our_flows(ovs, bridge)
    assert set(after) == set(before), "same flows after the restart"
    for key, age in before.items():
        assert after[key] >= age + 1.0, f"flow was re-installed by the restarted controller: {key}"
    stop_process(second)
