"""Tacker's alarm samples on real runc containers: a CPU-burning VDU scales out under
``tosca-vnfd-alarm-scale.yaml`` and back in when the load stops; ``-respawn.yaml`` respawns it
(a new container, a new pid); all three samples instantiate as written with their alarms armed.

The samples' granularities (60 to 600 s) and SP1's cooldown (120 s) are shortened in a copy of
the text, nothing else; the load is a busy loop started in the VDU (``runc exec``) and killed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vnfm.alarms import ALARM, INSUFFICIENT
from vnfm.manager import VnfManager
from vnfm.metrics import CgroupSource, Subject, cpu_seconds, proc_cpu_seconds
from vnfm.model import Status as S
from vnfm.sqlstore import VnfSqlStore
from vnfm.vim import container

pytestmark = pytest.mark.integration
SAMPLES = Path("/work/shared/corpus/tacker/samples/tosca-templates/vnfd")


@pytest.fixture
def amanager(vim_env, vim_prefix):
    vim, url = vim_env
    m = VnfManager(vim, VnfSqlStore(url, vim_prefix), prefix=vim_prefix)
    yield m
    m.close()


def sample(name: str, **swap: tuple[str, str]) -> str:
    text = (SAMPLES / name).read_text()
    for old, new in swap.values():
        assert old in text, old
        text = text.replace(old, new)
    return text


def burn(m: VnfManager, vnf: str, instance: int = 0) -> int:
    """Start a busy loop in the VDU (it stays in the container's cgroup); its pid there."""
    done = m.exec(vnf, ["sh", "-c", "while :; do :; done </dev/null >/dev/null 2>&1 & echo $!"],
                  "VDU1", instance=instance, timeout=10)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def wait_for(what: str, cond: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_cpu_util_of_a_burning_vdu_from_its_cgroup(amanager: VnfManager) -> None:
    rec = amanager.instantiate("cpu", sample("tosca-vnfd-alarm-respawn.yaml"))
    vdu = rec.vdu("VDU1")
    src = CgroupSource()
    subject = Subject(vdu.key, vdu.pid, 512 * 2**20)
    src.read("cpu_util", subject, time.monotonic(), 1.0)
    time.sleep(1.0)
    idle = src.read("cpu_util", subject, time.monotonic(), 1.0)
    burn(amanager, "cpu")
    src.read("cpu_util", subject, time.monotonic(), 1.0)
    time.sleep(1.5)
    busy = src.read("cpu_util", subject, time.monotonic(), 1.0)
    mem = src.read("memory.usage", subject, time.monotonic(), 1.0)
    util = src.read("memory_util", subject, time.monotonic(), 1.0)
    assert idle is not None and idle < 10, idle
    assert busy is not None and busy > 40, busy          # one busy loop: most of one CPU
    assert mem and mem > 0 and util is not None and 0 < util < 100
    ours, theirs = container.cgroup_dirs(os.getpid()), container.cgroup_dirs(vdu.pid)
    assert any(theirs.get(c) not in (None, ours.get(c)) for c in ("cpuacct", "")), theirs   # its own group
    by_cgroup, by_proc = cpu_seconds(vdu.pid), proc_cpu_seconds(vdu.pid)   # the /proc fallback agrees
    assert by_cgroup and by_proc and abs(by_cgroup - by_proc) < 0.25 * by_cgroup + 0.1, (by_cgroup, by_proc)


def test_scale_out_on_load_and_in_when_it_stops(amanager: VnfManager) -> None:
    text = sample("tosca-vnfd-alarm-scale.yaml", g=("granularity: 60", "granularity: 1"),
                  c=("cooldown: 120", "cooldown: 2"), t=("threshold: 80", "threshold: 40"),
                  k=("constraint: utilization greater_than 80%", "constraint: utilization greater_than 40%"))
    amanager.instantiate("sg", text)
    by_name = lambda: {a.spec.name: a for a in amanager.alarms("sg")}  # noqa: E731
    wait_for("both alarms evaluated", lambda: all(a.status.state != INSUFFICIENT for a in by_name().values()), 15)
    assert by_name()["vdu_lcpu_usage_scaling_in"].status.state == ALARM   # idle: < 10%, but at min already
    assert len(amanager.get("sg").vdus) == 1
    pid = burn(amanager, "sg")
    wait_for("scale out", lambda: len(amanager.get("sg").vdus) >= 2 and amanager.get("sg").status == S.ACTIVE, 30)
    out = by_name()["vdu_hcpu_usage_scaling_out"]
    assert any(h.new == ALARM for h in out.history) and out.status.value is not None
    amanager.exec("sg", ["kill", str(pid)], "VDU1", timeout=10)
    wait_for("scale in to min", lambda: len(amanager.get("sg").vdus) == 1 and amanager.get("sg").status == S.ACTIVE,
             40)
    events = amanager.events("sg")
    scaled = [e.time for e in events if e.new in (S.PENDING_SCALE_OUT, S.PENDING_SCALE_IN)]   # when each began
    assert len(scaled) >= 2 and all(b - a >= 2.0 - 0.01 for a, b in zip(scaled, scaled[1:], strict=False)), scaled   # cooldown
    reasons = [e.reason for e in events]
    assert any("alarm vdu_hcpu_usage_scaling_out: ok -> alarm" in r or
               "alarm vdu_hcpu_usage_scaling_out: insufficient data -> alarm" in r for r in reasons)
    assert any("scaled out by SP1" in r for r in reasons) and any("scaled in by SP1" in r for r in reasons)


def test_respawn_on_high_cpu(amanager: VnfManager) -> None:
    text = sample("tosca-vnfd-alarm-respawn.yaml", g=("granularity: 300", "granularity: 1"))
    rec = amanager.instantiate("rs", text)
    old_pid = rec.vdu("VDU1").pid
    alarm = lambda: amanager.alarms("rs")[0]  # noqa: E731
    wait_for("alarm ok", lambda: alarm().status.state == "ok", 15)
    burn(amanager, "rs")
    wait_for("respawn", lambda: amanager.get("rs").vdu("VDU1").pid != old_pid
             and amanager.get("rs").status == S.ACTIVE, 30)
    wait_for("alarm ok again", lambda: alarm().status.state == "ok", 15)
    states = [(h.old, h.new) for h in alarm().history]
    assert ("ok", ALARM) in states and states[-1][1] == "ok", states
    reasons = [e.reason for e in amanager.events("rs")]
    assert any(r.startswith("healed:") for r in reasons)


def test_three_samples_instantiate_as_written_with_alarms_armed(amanager: VnfManager) -> None:
    for n, name in enumerate(("respawn", "scale", "multi-actions")):
        amanager.instantiate(f"s{n}", (SAMPLES / f"tosca-vnfd-alarm-{name}.yaml").read_text())
    armed = {(a.vnf_name, a.spec.name): a for a in amanager.alarms()}
    assert set(armed) == {("s0", "vdu_hcpu_usage_respawning"), ("s1", "vdu_hcpu_usage_scaling_out"),
                          ("s1", "vdu_lcpu_usage_scaling_in"), ("s2", "vdu_hcpu_usage_respawning")}
    assert armed[("s2", "vdu_hcpu_usage_respawning")].spec.granularity == 600
    assert all(a.status.state == INSUFFICIENT for a in armed.values())   # the first period has not ended
