"""A private Open vSwitch instance (ovsdb-server + ovs-vswitchd) living in one run directory.

Why private: tests, benches and the local VIM must never touch (or collide with) a system OVS in
/var/run/openvswitch, and several instances may run side by side on one machine. Every socket,
pidfile, log and bridge management socket lands in ``run_dir`` because OVS_RUNDIR/OVS_DBDIR/
OVS_LOGDIR point there. There is no kernel module here, so bridges must be ``datapath_type=netdev``.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
_PR_SET_PDEATHSIG = 1


class OvsError(RuntimeError):
    """An OVS daemon or command failed; the message carries stderr or the log tail."""


def die_with_parent(sig: int = signal.SIGTERM) -> None:  # runs in the child between fork and exec
    """Signal the daemon if the thread that started it dies (no orphaned vswitchd after a crash)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


_die_with_parent = die_with_parent


class OvsInstance:
    """Start/stop a private ovsdb-server + ovs-vswitchd pair rooted in ``run_dir``.

    Daemons are direct children (not ``--detach``) so ``stop()`` can wait for their exit. With
    ``die_with_parent`` (default) they get SIGTERM when the thread that started them exits (so a
    crashed test run leaves no vswitchd behind): start from a long-lived thread, or pass False.
    """

    def __init__(self, run_dir: Path, *, schema: Path = SCHEMA, timeout: float = 15.0,
                 die_with_parent: bool = True) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.die_with_parent = die_with_parent
        self.schema = schema
        self.timeout = timeout
        self.db_path = self.run_dir / "conf.db"
        self.db_sock = f"unix:{self.run_dir / 'db.sock'}"
        self.db_ctl = str(self.run_dir / "ovsdb-server.ctl")
        self.vswitchd_ctl = str(self.run_dir / "ovs-vswitchd.ctl")
        self._db_proc: subprocess.Popen[bytes] | None = None
        self._vs_proc: subprocess.Popen[bytes] | None = None

    # -- environment -------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment that confines every OVS tool to ``run_dir``."""
        d = str(self.run_dir)
        return {**os.environ, "OVS_RUNDIR": d, "OVS_DBDIR": d, "OVS_LOGDIR": d,
                "OVS_SYSCONFDIR": d}

    def mgmt_socket(self, bridge: str) -> str:
        """Path of the bridge's OpenFlow management socket (for ovs-ofctl / a local controller)."""
        return str(self.run_dir / f"{bridge}.mgmt")

    @property
    def pids(self) -> tuple[int, ...]:
        """PIDs of daemons still running (empty after ``stop()``)."""
        return tuple(p.pid for p in (self._db_proc, self._vs_proc) if p and p.poll() is None)

    @property
    def running(self) -> bool:
        return bool(self._vs_proc and self._vs_proc.poll() is None
                    and self._db_proc and self._db_proc.poll() is None)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "OvsInstance":
        """Create the database, start both daemons and wait until they answer."""
        if self.running:
            return self
        try:
            self.start_db()
            self.start_vswitchd()
        except BaseException:
            self.stop()
            raise
        return self

    def start_db(self) -> subprocess.Popen[bytes]:
        """(Re)start ovsdb-server alone (the database is created the first time) and wait until it
        answers: a supervisor restarts each daemon on its own, the other one keeps running."""
        if self._db_proc is not None and self._db_proc.poll() is None:
            return self._db_proc
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.db_path.exists():
            self._run(["ovsdb-tool", "create", str(self.db_path), str(self.schema)])
            txn = ["Open_vSwitch", {"op": "insert", "table": "Open_vSwitch", "row": {}}]
            self._run(["ovsdb-tool", "transact", str(self.db_path), json.dumps(txn)])
        self._db_proc = self._spawn([
            "ovsdb-server", str(self.db_path), f"--remote=p{self.db_sock}",
            f"--pidfile={self.run_dir / 'ovsdb-server.pid'}", f"--unixctl={self.db_ctl}",
            f"--log-file={self.run_dir / 'ovsdb-server.log'}", "--no-chdir",
            "-vconsole:off",
        ])
        self._ready_or_kill(self._db_proc, self.db_ctl, "ovsdb-server.log")
        return self._db_proc

    def start_vswitchd(self) -> subprocess.Popen[bytes]:
        """(Re)start ovs-vswitchd alone and wait until it answers; it rebuilds its bridges and
        ports from the database (flows are gone: the controller puts them back on reconnect)."""
        if self._vs_proc is not None and self._vs_proc.poll() is None:
            return self._vs_proc
        self._vs_proc = self._spawn([
            "ovs-vswitchd", self.db_sock, "--disable-system",
            f"--pidfile={self.run_dir / 'ovs-vswitchd.pid'}", f"--unixctl={self.vswitchd_ctl}",
            f"--log-file={self.run_dir / 'ovs-vswitchd.log'}", "--no-chdir",
            "-vconsole:off",
        ])
        self._ready_or_kill(self._vs_proc, self.vswitchd_ctl, "ovs-vswitchd.log")
        return self._vs_proc

    def _ready_or_kill(self, proc: subprocess.Popen[bytes], ctl: str, log: str) -> None:
        try:
            self._wait_ready(proc, ctl, log)
        except BaseException:
            self._reap(proc, False)
            raise

    def stop(self) -> None:
        """Stop vswitchd (cleaning up its tap devices), then ovsdb-server; wait for both. Idempotent."""
        if self._vs_proc is not None:
            asked = False
            if self._vs_proc.poll() is None:
                asked = subprocess.run(["ovs-appctl", "-t", self.vswitchd_ctl, "--timeout=5",
                                        "exit", "--cleanup"], env=self.env,
                                       capture_output=True).returncode == 0
            self._reap(self._vs_proc, asked)
            self._vs_proc = None
        if self._db_proc is not None:
            self._reap(self._db_proc, False)
            self._db_proc = None

    def __enter__(self) -> "OvsInstance":
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- command helpers (tests, benches) ----------------------------------------------------
    def ofctl(self, *args: str) -> str:
        """``ovs-ofctl -O OpenFlow13 ARGS``; bridge names resolve to ``run_dir/<br>.mgmt``."""
        return self._run(["ovs-ofctl", "-O", "OpenFlow13", *args])

    def vsctl(self, *args: str) -> str:
        """``ovs-vsctl --db=<db_sock> ARGS`` -- tests only; product code uses ``dataplane.ovsdb``."""
        return self._run(["ovs-vsctl", f"--db={self.db_sock}", "--timeout=10", *args])

    def appctl(self, *args: str) -> str:
        """``ovs-appctl -t <vswitchd unixctl> ARGS`` (ofproto/trace, dpif/show, ...)."""
        return self._run(["ovs-appctl", "-t", self.vswitchd_ctl, *args])

    def log_tail(self, name: str = "ovs-vswitchd.log", lines: int = 30) -> str:
        path = self.run_dir / name
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- internals ---------------------------------------------------------------------------
    def _run(self, argv: list[str]) -> str:
        res = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                             timeout=self.timeout)
        if res.returncode != 0:
            raise OvsError(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.strip()}")
        return res.stdout

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        # stderr to a file: an unread pipe could fill up and block the daemon.
        with open(self.run_dir / f"{argv[0]}.stderr", "ab") as err:
            return subprocess.Popen(argv, env=self.env, cwd=self.run_dir,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err,
                                    preexec_fn=_die_with_parent if self.die_with_parent else None)

    def _wait_ready(self, proc: subprocess.Popen[bytes], ctl: str, log: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                name = str(proc.args[0])  # type: ignore[index]
                raise OvsError(f"{name} exited with {proc.returncode}: "
                               f"{self.log_tail(name + '.stderr')}\n{self.log_tail(log)}")
            if os.path.exists(ctl):
                res = subprocess.run(["ovs-appctl", "-t", ctl, "--timeout=2", "version"],
                                     env=self.env, capture_output=True)
                if res.returncode == 0:
                    return
            time.sleep(0.02)
        raise OvsError(f"{proc.args!r} not ready after {self.timeout}s\n{self.log_tail(log)}")

    @staticmethod
    def _reap(proc: subprocess.Popen[bytes], asked_to_exit: bool) -> None:
        """Wait for exit; escalate to SIGTERM then SIGKILL if the daemon lingers."""
        first = (lambda: None) if asked_to_exit else proc.terminate
        steps = [first, proc.terminate, proc.kill]
        for step in steps:
            if proc.poll() is None:
                step()
            try:
                proc.wait(timeout=5.0)
                return
            except subprocess.TimeoutExpired:
                continue
        proc.wait()
