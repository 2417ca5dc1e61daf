"""Metrics alarms are evaluated on (I/O shell): where a figure comes from, behind one protocol.

A VDU is a runc container, so its figures are its cgroup's: ``cpu_util`` is the percent of one
CPU its processes used since the previous reading (cgroup v1 ``cpuacct.usage``, v2 ``cpu.stat``
``usage_usec``; else the summed utime+stime in /proc/<pid>/stat of every process in the
container's PID namespace), ``memory.usage`` its bytes in use, ``memory_util`` those as a percent
of its limit (the cgroup's, else the VNFD's mem_size). Chain and hop figures (packets per second
on a chain, loss on a hop) come from the telemetry collectors through a source the stack plugs
in (the all-in-one's ``nfvo.monitoring.ChainMetrics``); without one, ``UnavailableSource``
answers None and their alarms stay at ``insufficient data``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vnfm.vim import container

VDU_METRICS = frozenset({"cpu_util", "memory_util", "memory.usage"})
CHAIN_METRICS = frozenset({"chain.packets_rate", "hop.loss"})
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Subject:
    """What a metric is read of: a VDU instance the alarm selects (its VIM key, init pid, VNFD
    memory size). A chain/hop source answers for the chains and hops through that instance."""

    key: str
    pid: int | None = None
    mem_bytes: int | None = None


class MetricSource(Protocol):
    metrics: frozenset[str]

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        """The figure now, or None if not known (yet): None is "no sample", never zero. A figure
        over time (a rate, a loss) is taken over the last ``window`` seconds: the alarm's
        granularity, Aodh's period, so a short period reacts fast and a long one averages."""


class UnavailableSource:
    """Chain/hop figures before the telemetry collectors feed them: never a sample."""

    metrics = CHAIN_METRICS

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        return None


class CgroupSource:
    """VDU figures from the container's cgroup (v1 or v2), else /proc; ``cpu_util`` is a rate,
    so the first reading of a subject only sets the baseline."""

    metrics = VDU_METRICS

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self.proc = proc
        self._last: dict[tuple[str, int], tuple[float, float, float | None]] = {}   # (key, pid) -> (time, cpu s, %)
        self._lock = threading.Lock()

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        """``cpu_util`` spans the time since this subject's previous reading, whatever ``window``."""
        if subject.pid is None:
            return None
        if metric == "cpu_util":
            return self._cpu_util(subject, now)
        used = memory_bytes(subject.pid)
        if used is None or metric == "memory.usage":
            return None if used is None else float(used)
        limit = memory_limit(subject.pid) or subject.mem_bytes
        return 100.0 * used / limit if limit else None

    def _cpu_util(self, subject: Subject, now: float) -> float | None:
        assert subject.pid is not None
        ident = (subject.key, subject.pid)
        with self._lock:
            last = self._last.get(ident)
        if last is not None and now == last[0]:
            return last[2]           # read again in the same tick (another alarm's period): same figure
        used = cpu_seconds(subject.pid, self.proc)
        if used is None:
            return None
        value = None if last is None or now < last[0] else max(0.0, 100.0 * (used - last[1]) / (now - last[0]))
        with self._lock:
            self._last = {k: v for k, v in self._last.items() if k[0] != subject.key}   # a respawn: new pid
            self._last[ident] = (now, used, value)
        return value

    def forget(self, keep: set[str]) -> None:
        """Drop baselines of subjects gone (deleted VDUs)."""
        with self._lock:
            self._last = {k: v for k, v in self._last.items() if k[0] in keep}


def cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float | None:
    """CPU time of ``pid``'s container so far: its cgroup's counter, else its PID namespace's."""
    groups, ours = container.cgroup_dirs(pid), container.cgroup_dirs(os.getpid())
    acct = groups.get("cpuacct")   # the container's own group only: ours would count the host
    text = _read(acct / "cpuacct.usage") if acct is not None and acct != ours.get("cpuacct") else None
    if text is not None and text.isdigit():
        return int(text) / 1e9
    unified = groups.get("")
    stat = _read(unified / "cpu.stat") if unified is not None and unified != ours.get("") else None
    for line in (stat or "").splitlines():
        name, _, value = line.partition(" ")
        if name == "usage_usec" and value.strip().isdigit():
            return int(value) / 1e6
    return proc_cpu_seconds(pid, proc)


def proc_cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float | None:
    """utime+stime of every process in ``pid``'s PID namespace (its container), from /proc."""
    ns = container.pid_namespace(pid)
    if ns is None:
        return None
    total = 0
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        if int(entry) != pid and container.pid_namespace(int(entry)) != ns:
            continue
        stat = _read(proc / entry / "stat")
        if stat:
            fields = stat.rsplit(")", 1)[-1].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)
    return total / _TICK


def memory_bytes(pid: int) -> int | None:
    groups = container.cgroup_dirs(pid)
    for base, name in ((groups.get("memory"), "memory.usage_in_bytes"), (groups.get(""), "memory.current")):
        text = _read(base / name) if base is not None else None
        if text and text.isdigit():
            return int(text)
    return None


def memory_limit(pid: int) -> int | None:
    groups = container.cgroup_dirs(pid)
    for base, name in ((groups.get("memory"), "memory.limit_in_bytes"), (groups.get(""), "memory.max")):
        text = _read(base / name) if base is not None else None
        if text and text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


class Metrics:
    """Routes a metric to the source that has it (VDU figures first, then the plugged-in ones)."""

    def __init__(self, *sources: MetricSource) -> None:
        self.sources: tuple[MetricSource, ...] = sources or (CgroupSource(), UnavailableSource())

    def read(self, metric: str, subject: Subject, now: float, window: float) -> float | None:
        for src in self.sources:
            if metric in src.metrics:
                return src.read(metric, subject, now, window)
        return None

    def forget(self, keep: set[str]) -> None:
        for src in self.sources:
            forget: Callable[[set[str]], None] | None = getattr(src, "forget", None)
            if forget is not None:
                forget(keep)
