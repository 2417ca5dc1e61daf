"""What the all-in-one's supervisor decides, as values: restart back-off, each component's
state, the status file's content, and how ``nfv status`` / ``nfv down`` describe them.

Pure (no processes, no clock of its own): ``nfvo.supervisor`` feeds it exit codes and times.
Why a back-off: a component that crashes at once on every start (a broken state file, a taken
port) must not spin the host; one that ran for a while and then died is restarted at once.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

# start order: each needs the ones before it (vswitchd its database, the NFVO the controller and OVSDB)
ORDER = ("ovsdb-server", "ovs-vswitchd", "controller", "nfvo")
STATUS_FILE = "supervisor.json"


@dataclass(frozen=True)
class Backoff:
    """Delay before restart number ``failures`` in a row (1, 2...): ``first`` * ``factor``**(n-1),
    at most ``cap``. A run of ``stable`` seconds or more resets the count."""

    first: float = 0.1
    factor: float = 2.0
    cap: float = 30.0
    stable: float = 30.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.first * self.factor ** (failures - 1), self.cap)


@dataclass(frozen=True)
class ComponentState:
    """One supervised process as ``nfv status`` shows it. ``started`` is wall-clock (epoch) time,
    ``restarts`` counts starts after the first, ``failures`` crashes in a row (for the back-off)."""

    name: str
    state: str = "starting"      # starting | up | restarting | stopped | failed (by the operator)
    pid: int = 0
    started: float = 0.0
    restarts: int = 0
    failures: int = 0
    last_exit: str = ""
    retry_at: float = 0.0        # monotonic time of the next start attempt (restarting only)

    def uptime(self, now: float) -> float:
        return max(now - self.started, 0.0) if self.state == "up" and self.started else 0.0


def launched(c: ComponentState, pid: int, wall: float) -> ComponentState:
    """``c`` is running as ``pid`` since ``wall`` (a restart if it ran before)."""
    again = c.pid != 0 or c.last_exit != ""
    return replace(c, state="up", pid=pid, started=wall, restarts=c.restarts + (1 if again else 0), retry_at=0.0)


def exited(c: ComponentState, returncode: int, wall: float, mono: float, backoff: Backoff) -> ComponentState:
    """``c`` died with ``returncode`` at ``wall``/``mono``: schedule the next start."""
    ran = wall - c.started if c.started else 0.0
    failures = 1 if ran >= backoff.stable else c.failures + 1
    return replace(c, state="restarting", failures=failures, last_exit=describe_exit(returncode),
                   retry_at=mono + backoff.delay(failures))


def failed_by_operator(c: ComponentState, why: str) -> ComponentState:
    """``c`` stopped on purpose (its compute host failed by the operator): never restarted until
    the operator recovers the host."""
    return replace(c, state="failed", pid=0, last_exit=f"failed by operator: {why}" if why else "failed by operator",
                   retry_at=float("inf"))


def start_failed(c: ComponentState, why: str, mono: float, backoff: Backoff) -> ComponentState:
    """A start attempt that never got ready counts as a crash in a row."""
    failures = c.failures + 1
    return replace(c, state="restarting", pid=0, failures=failures, last_exit=why,
                   retry_at=mono + backoff.delay(failures))


def stack_up(components: Sequence[ComponentState]) -> bool:
    """Every supervised component is up (the controller and the NFVO among them): ``ORDER``'s
    four for one host, each compute host's ovsdb-server and ovs-vswitchd for several."""
    names = {c.name for c in components}
    return {"controller", "nfvo"} <= names and len(names) >= len(ORDER) and all(c.state == "up" for c in components)


def describe_exit(returncode: int) -> str:
    """``killed by SIGKILL`` for a negative Popen return code, else ``exited N``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited {returncode}"


def status_document(pid: int, started: float, components: Sequence[ComponentState]) -> dict[str, Any]:
    """The status file's content (the supervisor's own pid first, then each component)."""
    return {"pid": pid, "started": started,
            "components": [{"name": c.name, "state": c.state, "pid": c.pid, "started": c.started,
                            "restarts": c.restarts, "last_exit": c.last_exit} for c in components]}


def read_status(doc: Mapping[str, Any]) -> tuple[int, float, tuple[ComponentState, ...]]:
    """(supervisor pid, its start time, components) from a status document."""
    parts = tuple(ComponentState(str(c["name"]), str(c.get("state", "")), int(c.get("pid", 0)),
                                 float(c.get("started", 0.0)), int(c.get("restarts", 0)),
                                 last_exit=str(c.get("last_exit", ""))) for c in doc.get("components", ()))
    return int(doc.get("pid", 0)), float(doc.get("started", 0.0)), parts


def format_uptime(seconds: float) -> str:
    """``3.2s``, ``4m05s``, ``2h03m``: short enough for a table column."""
    if seconds <= 0:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass(frozen=True)
class Found:
    """One thing of a stack ``nfv down`` found (and removed): ``kind`` process, container,
    namespace, mount, cgroup, directory; ``what`` names it."""

    kind: str
    what: str


def summary(found: Sequence[Found]) -> list[str]:
    """One line per kind, in a fixed order: ``3 namespaces: nf1a2b..., ...``."""
    order = ("process", "container", "namespace", "link", "mount", "cgroup", "directory")
    lines = []
    for kind in sorted({f.kind for f in found}, key=lambda k: (order.index(k) if k in order else len(order), k)):
        names = [f.what for f in found if f.kind == kind]
        plural = kind + ("es" if kind.endswith("s") else "s") if len(names) != 1 else kind
        lines.append(f"{len(names)} {plural}: {', '.join(names)}")
    return lines


def systemd_unit(python: str, state_dir: str, argv: Sequence[str], pythonpath: str = "") -> str:
    """A unit running the supervisor, restarted by systemd whatever way it ends (``Restart=always``).
    ``KillMode=process``: a restart or stop signals the supervisor alone, so the VDUs (in this
    unit's cgroup) survive its crash and it stops its children itself, in order, on SIGTERM."""
    command = " ".join([python, "-m", "nfvo.supervisor", "--state-dir", state_dir, *argv])
    env = f"Environment=PYTHONPATH={pythonpath}\n" if pythonpath else ""
    return (f"[Unit]\nDescription=nfvchain all-in-one (state {state_dir}): OVS, SDN controller, NFVO, supervised\n"
            "After=network.target\n\n"
            f"[Service]\nType=simple\nExecStart={command}\n{env}Restart=always\nRestartSec=1\n"
            "KillMode=process\nTimeoutStopSec=180\n\n"
            "[Install]\nWantedBy=multi-user.target\n")
