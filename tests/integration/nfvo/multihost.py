"""What the tests of ``nfv up --hosts N`` share: the CLI in a subprocess against one state
directory, VNFDs pinned to a host, what a stack left behind, the counter SFs' reports; and the
set-up most of them repeat: a stack up with pinned VNFs (``pinned_stack``), a chain with its
classifier (``create_chain``), an HTTP GET through it, the underlay captured on the rack and the
legs that crossed it, decoded by tshark (``underlay_capture``, ``nsh_legs``, ``plain_legs``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataplane import netns
from dataplane.lab import stop_process
from dataplane.underlay import UnderlayPlan
from nfvo.allinone import stack_prefix
from nfvo.computehosts import plan
from tests.integration.capture import tshark
from tests.integration.nfvo.traffic import counter_packets
from vnfm.vim.local import server_files

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"
WEB_PORT = 8080  # the http-server image's
# the HTTP tests' two ends, pinned (VNF name -> sample, image, zone): the client on compute1, the server on compute3
CLIENT_AND_WEB = {"client": ("host.yaml", "host", "compute1"), "web": ("host.yaml", "http-server", "compute3")}


def nfv(*args: str, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nfvo.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def stack_env(state: Path) -> dict:
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200"}
    env.pop("NFV_NFVO_ADDRESS", None)
    return env


def mine(state: Path) -> tuple[set[str], set[str]]:
    """The namespaces and links named with the stack's prefix (empty after ``nfv down``)."""
    prefix = stack_prefix(state)
    return ({n for n in netns.list_netns() if n.startswith(prefix)},
            {n for n in netns.list_links() if n.startswith(prefix)})


def pinned(sample: str, image: str, zone: str) -> str:
    """Sample VNFD ``sample`` with its VDU's image ``image``, pinned to ``availability_zone: zone``."""
    text = (SAMPLES / sample).read_text()
    line = next(x for x in text.splitlines() if x.startswith("        image: "))
    return text.replace(line + "\n", f"        image: {image}\n        availability_zone: {zone}\n")


def onboard_pinned(env: dict, tmp_path: Path, places: dict[str, tuple[str, str, str]]) -> None:
    """A VNFD and a VNF per name: ``places[name]`` = (sample, image, zone)."""
    for name, (sample, image, zone) in places.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(pinned(sample, image, zone))
        for argv in (("vnfd-create", "--vnfd-file", str(path), name), ("vnf-create", "--vnfd-name", name, name)):
            done = nfv(*argv, env=env, timeout=90)
            assert done.returncode == 0, done.stderr


def counters(state: Path) -> dict[str, dict[tuple[int, int], int]]:
    """VNF name -> its counter's (SPI, SI) -> packets."""
    seen = {}
    for report in server_files(state / "vim", "counter.json"):
        labels = json.loads((report.parent / "server.json").read_text()).get("labels", {})
        seen[labels.get("vnf_name", report.parent.name)] = counter_packets(report)
    return seen


def served(state: Path, names: tuple[str, ...]) -> dict[str, set[tuple[int, int]]]:
    """SF name -> the (SPI, SI) its counter served at least one packet of."""
    seen = counters(state)
    return {n: {k for k, v in seen.get(n, {}).items() if v} for n in names}


@dataclass(frozen=True)
class PinnedStack:
    """A stack up on ``nfv up --hosts N`` with its VNFs onboarded, each on the host it is pinned to."""

    state: Path
    env: dict
    rack: UnderlayPlan
    places: Mapping[str, tuple[str, str, str]]

    def run(self, *argv: str, timeout: float = 90) -> str:
        """The CLI's output, asserting it succeeded."""
        done = nfv(*argv, env=self.env, timeout=timeout)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def json(self, *argv: str, timeout: float = 60) -> Any:
        return json.loads(self.run(*argv, "-f", "json", timeout=timeout))

    def vnf(self, name: str) -> dict:
        return self.json("vnf", "show", name)

    def ip(self, vnf: str, cp: str = "CP2") -> str:
        """The address of ``vnf``'s first VDU on connection point ``cp`` (the host images' data CP)."""
        return next(c["ip"] for c in self.vnf(vnf)["vdus"][0]["cps"] if c["name"] == cp).split("/")[0]

    def hosts(self) -> dict[str, str]:
        """VNF name -> the host its first VDU runs on."""
        return {n: self.vnf(n)["vdus"][0]["host"] for n in self.places}


@contextmanager
def pinned_stack(tmp_path: Path, places: Mapping[str, tuple[str, str, str]], *up_args: str, hosts: int = 3,
                 env: Mapping[str, str] | None = None) -> Iterator[PinnedStack]:
    """``nfv up --hosts N`` (plus ``up_args``) with a VNF per ``places`` entry (sample, image, zone),
    each checked to run on its zone's host; ``nfv down`` on the way out, which must leave nothing."""
    state = tmp_path / "state"
    stack = PinnedStack(state, {**stack_env(state), **(env or {})}, plan(stack_prefix(state), hosts), places)
    try:
        up = nfv("up", "--hosts", str(hosts), *up_args, env=stack.env, timeout=180)
        assert up.returncode == 0, up.stderr + up.stdout
        onboard_pinned(stack.env, tmp_path, dict(places))
        assert stack.hosts() == {n: p[2] for n, p in places.items()}
        yield stack
    finally:
        down = nfv("down", env=stack.env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert mine(state) == (set(), set())


def create_chain(stack: PinnedStack, name: str, sfs: str, classifier: str, match: str, *,
                 symmetrical: bool = False) -> dict:
    """A VNFFG through ``sfs`` ("sf1,sf2") with one classifier; its ``vnffg show``, ACTIVE."""
    stack.run("vnffg-create", "--name", name, "--chain", sfs, *(("--symmetrical",) if symmetrical else ()))
    stack.run("vnffg-classifier-create", "--name", classifier, "--chain", name, "--match", match)
    chain = stack.json("vnffg", "show", name)
    assert chain["status"] == "ACTIVE", chain
    return chain


BOTH_ENDS = f"network_src_port_id=client,network_dst_port_id=web,tcp_dst={WEB_PORT},ip_proto=6"


def web_chain(stack: PinnedStack, sfs: str, match: str = BOTH_ENDS) -> tuple[int, int]:
    """The symmetric VNFFG ``web`` through ``sfs`` with classifier ``http`` (default: HTTP from the
    client to web, both ends named, so each direction ends at its destination); its two SPIs."""
    (path,) = create_chain(stack, "web", sfs, "http", match, symmetrical=True)["paths"]
    return int(path["spi"]), int(path["reverse_spi"])


def http_get(stack: PinnedStack, client: str, ip: str, port: int, tries: int = 5) -> None:
    """An HTTP GET from VNF ``client`` answered 200 (tried again: the first ARP may race the VL
    tunnels' learning)."""
    get = f"import urllib.request; print(urllib.request.urlopen('http://{ip}:{port}/', timeout=5).status)"
    for _ in range(tries):
        done = nfv("vnf", "exec", client, "--", sys.executable, "-c", get, env=stack.env, timeout=60)
        if done.returncode == 0 and done.stdout.strip() == "200":
            return
        time.sleep(1.0)
    assert done.returncode == 0 and done.stdout.strip() == "200", done.stdout + done.stderr


@contextmanager
def underlay_capture(rack: UnderlayPlan, pcap: Path) -> Iterator[Path]:
    """tcpdump of every UDP datagram on the rack's bridge (the underlay) into ``pcap`` while inside."""
    capture = netns.run_in_netns(rack.rack_netns, ["tcpdump", "-i", rack.rack_bridge, "-n", "-U", "-Z", "root",
                                                   "-w", str(pcap), "udp"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        yield pcap
    finally:
        stop_process(capture)


def _host(rack: UnderlayPlan, field: str) -> str | None:
    """The host an underlay address belongs to (tshark lists the outer header's first)."""
    found = rack.by_ip().get(field.split(",")[0])
    return found.name if found is not None else None


Leg = tuple[str | None, str | None, str, str, int, int]


def nsh_legs(rack: UnderlayPlan, pcap: Path, display: str = "nsh && tcp") -> set[Leg]:
    """(from host, to host, UDP port, VXLAN next protocol, SPI, SI) of the NSH frames ``display`` takes."""
    rows = tshark(pcap, display, "ip.src", "ip.dst", "udp.dstport", "vxlan.next_proto", "nsh.spi", "nsh.si")
    return {(_host(rack, r[0]), _host(rack, r[1]), r[2].split(",")[0], r[3], int(r[4]), int(r[5])) for r in rows}


def plain_legs(rack: UnderlayPlan, pcap: Path, display: str) -> set[tuple[str | None, str | None, str]]:
    """(from host, to host, UDP port) of the plain VXLAN frames (no NSH) ``display`` also takes."""
    rows = tshark(pcap, f"vxlan && !nsh && ({display})", "ip.src", "ip.dst", "udp.dstport")
    return {(_host(rack, r[0]), _host(rack, r[1]), r[2].split(",")[0]) for r in rows}
