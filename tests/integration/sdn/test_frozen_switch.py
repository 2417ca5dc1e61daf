"""A frozen switch (SIGSTOP'd ovs-vswitchd) holds up only itself.

Two private OVS instances, each in its own network namespace (one userspace datapath per
namespace), reach one in-process controller over a veth each. While a change touching switch A
waits for A's barrier, a change touching only B and a GetState both answer within a second, and
`nfv sfc show` reports B at the new generation and A at its old one. After SIGCONT, A converges.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from pyroute2 import IPRoute

from dataplane import netns
from dataplane.ovs import OvsInstance
from sdn.api.server import connect
from sdn.api.v1 import sfc_pb2
from sdn.docfile import parse_document, parse_paths
from sdn.driver import ApplyError
from sdn.render import compute_switch_states
from tests.integration.sdn.chain_lab import new_dpid, running_controller

pytestmark = pytest.mark.integration
TIMEOUT = 8.0  # the controller's barrier timeout: long enough to observe, short enough to fail


class NetnsOvs(OvsInstance):
    """A private OVS whose daemons run inside the named namespace ``ns``."""

    def __init__(self, run_dir: Path, ns: str) -> None:
        super().__init__(run_dir, die_with_parent=False)
        self.ns = ns

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.run_dir / f"{argv[0]}.stderr", "ab") as err:
            return netns.run_in_netns(self.ns, argv, env=self.env, cwd=self.run_dir, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=err)

    @property
    def vswitchd_pid(self) -> int:
        assert self._vs_proc is not None
        return self._vs_proc.pid


@contextlib.contextmanager
def ovs_in_netns(prefix: str, index: int) -> Iterator[tuple[NetnsOvs, str]]:
    """(OVS, the controller-side address it reaches us on); everything removed on exit."""
    ns, link = f"{prefix}fz{index}", f"{prefix}fc{index}"
    here, there = f"10.254.{index}.1", f"10.254.{index}.2"
    run_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-fz{index}-"))
    ovs = NetnsOvs(run_dir, ns)
    try:
        netns.create_veth(ns, "ctl0", link, addresses=[f"{there}/30"], mtu=1500)
        with IPRoute() as ipr:
            ipr.addr("add", index=ipr.link_lookup(ifname=link)[0], address=here, prefixlen=30)
        ovs.start()
        yield ovs, here
    finally:
        if ovs._vs_proc is not None and ovs._vs_proc.poll() is None:
            os.kill(ovs.vswitchd_pid, signal.SIGCONT)
        ovs.stop()
        netns.delete_netns(ns)
        netns.delete_link(link)
        shutil.rmtree(run_dir, ignore_errors=True)


def path(name: str, spi: int, hop: str, tcp_dst: int) -> dict:
    return {"name": name, "spi": spi, "hops": [hop],
            "classifiers": [{"name": name, "in_port": "client", "match": {"tcp_dst": tcp_dst}}]}


def test_frozen_switch_holds_up_only_itself(run_prefix):
    with running_controller(timeout=TIMEOUT, listen_host="0.0.0.0") as running, \
            ovs_in_netns(run_prefix, 1) as (ovs_a, addr_a), ovs_in_netns(run_prefix, 2) as (ovs_b, addr_b):
        dpids = {"a": new_dpid(), "b": new_dpid()}
        for name, ovs, addr in (("a", ovs_a, addr_a), ("b", ovs_b, addr_b)):
            bridge = f"{run_prefix}br{name}"
            ovs.vsctl("add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev", "fail_mode=secure",
                      "protocols=OpenFlow13", f"other_config:datapath-id={dpids[name]:016x}")
            for port, number in (("client", 1), ("fw", 2)):
                ovs.vsctl("add-port", bridge, f"{run_prefix}{name}{port}", "--", "set", "Interface",
                          f"{run_prefix}{name}{port}", "type=internal", f"ofport_request={number}")
            ovs.vsctl("set-controller", bridge, f"tcp:{addr}:{running.openflow_port}")
        for name in dpids:
            running.wait_for_switch(dpids[name], {f"{run_prefix}{name}client", f"{run_prefix}{name}fw"})
        doc = {"switches": [{"name": n, "dpid": d} for n, d in dpids.items()],
               "service_functions": [{"name": f"fw{n}", "instances": [{"switch": n, "port": f"{run_prefix}{n}fw"}]}
                                     for n in dpids],
               "service_function_paths": [
                   {**path(f"p{n}", 10 + i, f"fw{n}", 80),
                    "classifiers": [{"name": f"c{n}", "in_port": f"{run_prefix}{n}client", "match": {"tcp_dst": 80}}]}
                   for i, n in enumerate(dpids)]}
        controller = running.controller
        first = controller.apply_document(parse_document(doc))
        stub = connect(running.grpc_address)

        os.kill(ovs_a.vswitchd_pid, signal.SIGSTOP)
        outcome: dict = {}

        def change_a() -> None:
            try:
                outcome["result"] = controller.upsert_paths(parse_paths(
                    [{**path("pa2", 30, "fwa", 81), "classifiers": [
                        {"name": "ca2", "in_port": f"{run_prefix}aclient", "match": {"tcp_dst": 81}}]}]))
            except ApplyError as exc:
                outcome["error"] = exc

        pending = threading.Thread(target=change_a, name="change-a")
        try:
            pending.start()
            time.sleep(0.3)
            assert pending.is_alive(), "the change on frozen A must be waiting"
            change_b = parse_paths([{**path("pb2", 40, "fwb", 81), "classifiers": [
                {"name": "cb2", "in_port": f"{run_prefix}bclient", "match": {"tcp_dst": 81}}]}])
            t0 = time.monotonic()
            on_b = controller.upsert_paths(change_b)
            b_seconds = time.monotonic() - t0
            t0 = time.monotonic()
            state = stub.GetState(sfc_pb2.GetStateRequest(), timeout=5)
            get_seconds = time.monotonic() - t0
            assert b_seconds < 1.0, f"a change on B took {b_seconds:.2f}s while A is frozen"
            assert get_seconds < 1.0, f"GetState took {get_seconds:.2f}s while A is frozen"
            acked = {s.dpid: s.generation for s in state.switches}
            assert acked[dpids["b"]] == on_b.generation and acked[dpids["a"]] == first.generation

            res = subprocess.run([sys.executable, "-m", "nfvo.cli.main", "sfc", "--controller",
                                  running.grpc_address, "show", "-f", "json"],
                                 capture_output=True, text=True, timeout=30)
            assert res.returncode == 0, res.stderr
            shown = {int(s["dpid"]): s for s in json.loads(res.stdout)["switches"]}
            assert int(shown[dpids["b"]]["generation"]) == on_b.generation
            assert int(shown[dpids["a"]].get("generation", 0)) == first.generation
            assert pending.is_alive(), "A is still frozen"
        finally:
            os.kill(ovs_a.vswitchd_pid, signal.SIGCONT)
            pending.join(TIMEOUT * 3)
        assert not pending.is_alive()
        print(f"B change {b_seconds:.3f}s, GetState {get_seconds:.3f}s, pending change on A: {outcome}")

        # A is back: either the pending change completed, or it failed and A's worker converges
        # on the document in force (the later change on B was built on it) by reading A back.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            status = {s.dpid: s for s in controller.status()}
            if status[dpids["a"]].generation == controller.generation and status[dpids["a"]].connected:
                break
            time.sleep(0.2)
        status = {s.dpid: s for s in controller.status()}
        assert status[dpids["a"]].generation == controller.generation, (outcome, status)
        assert status[dpids["b"]].generation == controller.generation
        assert {p.name for p in controller.document.paths} == {"pa", "pb", "pa2", "pb2"}
        ports = {d: dict(running.driver.switches()[d].ports) for d in dpids.values()}
        want = compute_switch_states(controller.document, ports)
        for d in dpids.values():
            held = running.driver.read_state(d, 10)
            assert held == want[d], "flows on the switch are what the reported state says"
            assert status[d].flows == len(held.flows)
