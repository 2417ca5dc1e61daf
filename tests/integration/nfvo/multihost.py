"""What the tests of ``nfv up --hosts N`` share: the CLI in a subprocess against one state
directory, VNFDs pinned to a host, what a stack left behind, the counter SFs' reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dataplane import netns
from nfvo.allinone import stack_prefix
from tests.integration.nfvo.traffic import counter_packets
from vnfm.vim.local import server_files

SAMPLES = Path(__file__).resolve().parents[3] / "descriptors" / "samples"


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
