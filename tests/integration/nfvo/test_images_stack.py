"""``nfv image ...`` against ``nfv up`` (separate processes, the local VIM on a real OVS): a
busybox rootfs uploaded and unpacked in the stack's state, a VNF booting it, delete refused
while that VNF runs, a bad archive refused with nothing left, and ``nfv down`` removing it all."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dataplane import netns
from nfvo.allinone import stack_prefix
from tests.unit.vnfm.rootfs_tar import entry, rootfs_tar

pytestmark = pytest.mark.integration
HOST = Path(__file__).resolve().parents[3] / "descriptors" / "samples" / "host.yaml"


def nfv(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nfvo.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def ok(*args: str, env: dict) -> str:
    done = nfv(*args, env=env)
    assert done.returncode == 0, f"nfv {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


def test_images_on_the_all_in_one_stack(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "NFV_STATE_DIR": str(state), "COLUMNS": "200"}
    env.pop("NFV_NFVO_ADDRESS", None)
    tarball = rootfs_tar(tmp_path / "tiny.tar.gz")
    vnfd = tmp_path / "boxed.yaml"
    vnfd.write_text(HOST.read_text().replace("image: host", "image: tiny").replace("template_name: host",
                                                                                   "template_name: boxed"))
    bad = rootfs_tar(tmp_path / "bad.tar.gz", extra=[entry("../../escape", data=b"x")])
    try:
        ok("up", env=env)
        made = json.loads(ok("image", "create", "--file", str(tarball), "--property", "nsh_aware=false",
                             "-f", "json", "tiny", env=env))
        assert made["checksum"] == hashlib.sha256(tarball.read_bytes()).hexdigest() and made["status"] == "active"
        rootfs = Path(made["rootfs"])
        assert rootfs == state / "images" / made["id"] / "rootfs" and (rootfs / "bin/busybox").is_file()
        listed = {i["name"]: i for i in json.loads(ok("image", "list", "-f", "json", env=env))}
        assert {"tiny", "cirros", "host", "nsh-firewall"} <= set(listed) and listed["cirros"]["builtin"]
        ok("vnf", "descriptor", "create", "--vnfd-file", str(vnfd), "boxed", env=env)
        vnf = json.loads(ok("vnf", "create", "--vnfd-name", "boxed", "-f", "json", "box1", env=env))
        assert vnf["status"] == "ACTIVE" and vnf["vdus"][0]["image"] == "tiny"
        refused = nfv("image", "delete", "tiny", env=env)
        assert refused.returncode == 1 and "image tiny is in use by VNF box1" in refused.stderr
        denied = nfv("image", "create", "--file", str(bad), "bad", env=env)
        assert denied.returncode == 1 and "member '../../escape': '..' in its path" in denied.stderr
        assert sorted(os.listdir(state / "images")) == [made["id"]] and not (tmp_path.parent / "escape").exists()
        ok("vnf", "delete", "box1", env=env)
        ok("image", "delete", "tiny", env=env)
        assert os.listdir(state / "images") == []
        assert "tiny" not in ok("image", "list", env=env)
    finally:
        down = nfv("down", env=env, timeout=90)
    assert down.returncode == 0, down.stderr
    assert not state.exists()
    assert not {n for n in netns.list_netns() if n.startswith(stack_prefix(state))}
