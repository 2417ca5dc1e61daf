"""Process identity by (pid, start time): a zombie is not alive, our own child's zombie is reaped,
and a pid that now names another process is never waited for (its Popen keeps the exit status)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from vnfm.vim import process


def _zombie(proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 5
    while process.start_time(proc.pid) is not None:   # None once it is a zombie
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_running_child_is_alive_and_its_zombie_is_reaped():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = process.start_time(proc.pid)
    assert started is not None and process.is_alive(proc.pid, started) and process.is_alive(proc.pid, None)
    os.kill(proc.pid, signal.SIGKILL)
    _zombie(proc)
    assert not process.is_alive(proc.pid, started)
    assert proc.wait(5) == 0    # reaped by is_alive: Popen finds no child (ECHILD) and says 0


def test_a_pid_naming_another_process_is_not_waited_for():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2); raise SystemExit(3)"])
    started = process.start_time(proc.pid)
    _zombie(proc)
    assert started is not None
    # as if the recorded process had this pid before: another start time, so not ours to reap
    assert not process.is_alive(proc.pid, started - 1)
    assert proc.wait(5) == 3
