"""``nfv up --demo`` then ``nfv down``, as separate processes: real traffic through the chain,
the CLI reaching the stack, and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dataplane import netns
from nfvo.allinone import stack_prefix

pytestmark = pytest.mark.integration


def nfv(*args: str, env: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nfvo.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_up_demo_down_leaves_nothing(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200"}
    env.pop("NFV_NFVO_ADDRESS", None)
    before = set(netns.list_netns())
    try:
        up = nfv("up", "--demo", env=env)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "20/20 answered" in up.stdout and "VNFFG demo ACTIVE" in up.stdout, up.stdout
        listed = nfv("vnffg-list", "-f", "json", env=env, timeout=30)
        assert listed.returncode == 0 and '"ACTIVE"' in listed.stdout, listed.stderr
    finally:
        down = nfv("down", env=env, timeout=90)
    assert down.returncode == 0, down.stderr
    assert {n for n in set(netns.list_netns()) - before if n.startswith(stack_prefix(state))} == set()
    assert not state.exists() and not (tmp_path / "state.log").exists()
    again = nfv("vnf", "list", "--timeout", "2", env=env, timeout=30)
    assert again.returncode == 1 and "not reachable" in again.stderr


def test_two_stacks_side_by_side(tmp_path):
    """One stack per state directory: each has its own VNF names, and stopping one leaves the
    other's VNFs running."""
    host = str(Path(__file__).resolve().parents[3] / "descriptors" / "samples" / "host.yaml")
    envs = []
    for name in ("a", "b"):
        env = {**os.environ, "NFV_STATE_DIR": str(tmp_path / name), "COLUMNS": "200"}
        env.pop("NFV_NFVO_ADDRESS", None)
        envs.append(env)
    assert stack_prefix(tmp_path / "a") != stack_prefix(tmp_path / "b")
    try:
        for env in envs:
            up = nfv("up", env=env, timeout=120)
            assert up.returncode == 0, up.stderr + up.stdout
            for argv in (("vnfd-create", "--vnfd-file", host, "host"), ("vnf-create", "--vnfd-name", "host", "h1")):
                done = nfv(*argv, env=env, timeout=60)
                assert done.returncode == 0, done.stderr
        mine = {n for n in netns.list_netns() if n.startswith(stack_prefix(tmp_path / "b"))}
        assert mine, "stack b's VDU namespace"
        down = nfv("down", env=envs[0], timeout=90)
        assert down.returncode == 0, down.stderr
        assert mine <= set(netns.list_netns())
        listed = nfv("vnf-list", "-f", "json", env=envs[1], timeout=30)
        assert listed.returncode == 0 and '"ACTIVE"' in listed.stdout, listed.stderr
    finally:
        for env in envs:
            nfv("down", env=env, timeout=90)
    assert not {n for n in netns.list_netns() if n.startswith((stack_prefix(tmp_path / "a"),
                                                                 stack_prefix(tmp_path / "b")))}
