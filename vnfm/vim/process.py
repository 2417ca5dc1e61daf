"""Processes of the local VIM: find by (pid, start time), list a namespace's, stop.

Why (pid, start time): a container's init is not our child (runc starts it detached) and after
a manager restart nothing but the pid is known, which can be reused; /proc/<pid>/stat's start
time makes the identity exact. Our own children are reaped with waitpid so a dead process never
lingers as a zombie that looks alive.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from dataplane.netns import NETNS_DIR


def start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def is_alive(pid: int, started: int | None) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def pids_in_netns(ns: str) -> list[int]:
    """Every process whose network namespace is ``ns`` (stray helpers included)."""
    try:
        target = os.stat(NETNS_DIR / ns)
    except FileNotFoundError:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                st = os.stat(f"/proc/{entry}/ns/net")
            except OSError:
                continue
            if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
                out.append(int(entry))
    return out


def stop(pids: Sequence[int], timeout: float = 3.0) -> None:
    """SIGTERM, wait, SIGKILL; reaps the ones that are our children."""
    live = [p for p in pids if start_time(p) is not None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in live:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while live and time.monotonic() < deadline:
            live = [p for p in live if is_alive(p, None)]
            if live:
                time.sleep(0.01)
        if not live:
            return
