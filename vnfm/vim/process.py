"""Processes of the local VIM: start its own helpers (dnsmasq) in a namespace, find by (pid, start
time), list a namespace's, stop. VDUs are containers (``vnfm.vim.container``), not started here.

Why (pid, start time): a container's init is not our child (runc starts it detached) and after
a manager restart nothing but the pid is known, which can be reused; /proc/<pid>/stat's start
time makes the identity exact. A zombie never counts as alive; our own children's are reaped,
and only when the start time says the pid is still the process asked about.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from dataplane.netns import NETNS_DIR

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time in clock ticks since boot) from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) of a live, non-zombie process, else None."""
    st = _stat(pid)
    return None if st is None or st[0] in ("Z", "X") else st[2]


def is_alive(pid: int, started: int | None) -> bool:
    """Whether the process (``pid``, ``started``) runs. Its zombie is reaped if it is our child;
    a pid reused by another process (pid_max may be 32768) is never waited for: that would take
    the exit status from under the child's own ``Popen`` (e.g. a ``runc`` call's)."""
    st = _stat(pid)
    if st is None or (started is not None and st[2] != started):
        return False
    if st[0] in ("Z", "X"):
        if st[1] == os.getpid():
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        return False
    return True


def spawn(ns: str, argv: Sequence[str], *, cwd: Path, log: Path, env: Mapping[str, str],
          cgroup: Path | None) -> subprocess.Popen[bytes]:
    """Start ``argv`` (no shell) inside netns ``ns`` and cgroup, in its own session, output to
    ``log``: it does not die with the manager (restart safety)."""
    ns_fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
    procs = str(cgroup / "cgroup.procs") if cgroup else None

    def enter() -> None:  # child, between fork and exec
        if _libc.setns(ns_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
        if procs:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

    try:
        with open(log, "ab") as out:
            return subprocess.Popen(list(argv), cwd=cwd, env={**os.environ, **env},
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, preexec_fn=enter)
    finally:
        os.close(ns_fd)


def wait_ready(proc: subprocess.Popen[bytes], log: Path, prefix: str, timeout: float) -> None:
    """Wait until the program logs a line starting with ``prefix``; raise with the log tail."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if any(line.startswith(prefix) for line in text.splitlines()):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}: {text[-500:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} not ready after {timeout}s: {text[-500:]}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)


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
