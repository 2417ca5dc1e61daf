"""The all-in-one's supervisor: the process ``nfv up`` starts, parent of every other one.

It opens the collectors' and metrics' host-side sockets (in the host's namespace), moves into the
stack's network namespace (named ``<prefix>-stack``, made if missing) and starts, as independent
children, ovsdb-server, ovs-vswitchd, the SDN controller (``sdn.launcher`` with a state file in
the state directory) and the NFVO + VNFM (``nfvo.allinone``, handed the host sockets by
descriptor). Killing any one of them takes no other down: the bridge keeps its flows
(``fail_mode=secure``) while a control process is dead, and the dead one is restarted with
back-off (``nfvo.supervision``) and converges on its own: the controller from its state file
(reading the switch back, not re-installing), ovs-vswitchd from its database (the controller
re-installs its flows when it reconnects), the NFVO from its SQLite stores (adopting the running
VDUs). The controller listens on fixed ports: inside the stack's own namespace nothing else can
take them, and a restarted one is found where the bridge and the NFVO expect it.

With ``--hosts N`` (N > 1) there is no stack OVS: the supervisor first builds a rack of N compute
hosts (``nfvo.computehosts``: namespaces with their own OVS, an underlay, a management leg into
the stack's namespace where the controller listens) and supervises each host's ovsdb-server and
ovs-vswitchd as ``computeI/ovsdb-server`` and ``computeI/ovs-vswitchd``, started inside the host
(a restarted vswitchd gets its br-phy address and tunnel neighbours back). A host the operator
fails (``nfv host fail``, a drill) has both stopped and not restarted until ``nfv host recover``.
Hosts come and go while the stack runs (``nfv host add|remove``): the NFVO asks through a request
file (``nfvo.computehosts.request_rack_change``); the supervisor builds the host (or stops it and
removes everything of it), starts (or stops) supervising its two daemons, keeps the inventory the
NFVO and a restarted supervisor read, and answers with the host's name or why not.

``<state>/supervisor.json`` says what runs (pid, start time, restarts, last exit) for
``nfv status``. On SIGTERM (``nfv down``) the NFVO goes first (it terminates every VNF), then
the controller, then OVS; then the state directory and the namespace are removed. If the
supervisor dies its children die too (PDEATHSIG: SIGTERM, SIGKILL for the NFVO, whose SIGTERM
would terminate the VNFs); the VDUs and the named namespace (with the VDUs' veth ends) remain, so
a new supervisor started on the same state directory resumes the stack; ``nfv down`` removes it
instead (``nfvo.leftovers``).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from dataclasses import replace

from nfvo.supervision import (ORDER, STATUS_FILE, Backoff, ComponentState, describe_exit, exited,
                              failed_by_operator, launched, start_failed, status_document)

CONTROLLER_OPENFLOW = "127.0.0.1:6653"
CONTROLLER_GRPC = "127.0.0.1:50061"
NFVO_READY_TIMEOUT = 120.0
CONTROLLER_READY_TIMEOUT = 30.0
BACKOFF = Backoff()
FENCE_POLL = 0.2          # how often the supervisor looks for hosts failed by the operator
log = logging.getLogger("nfvo.supervisor")


class StartError(RuntimeError):
    """A component did not get ready; the message names it and carries its last words."""


class _Ready:
    """Forwards a child's stdout to ours line by line and notes its ready line."""

    def __init__(self, proc: subprocess.Popen[str], prefix: str) -> None:
        self.proc, self.prefix = proc, prefix
        self.line = ""
        self.event = threading.Event()
        threading.Thread(target=self._pump, name=f"stdout-{proc.pid}", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not self.event.is_set() and line.startswith(self.prefix):
                self.line = line.strip()
                self.event.set()
            sys.stdout.write(line)
            sys.stdout.flush()
        self.event.set()     # end of output: the child is gone (the waiter sees it exited)

    def wait(self, timeout: float, name: str) -> str:
        if not self.event.wait(timeout) or not self.line:
            gone = self.proc.poll() is not None
            if not gone:
                self.proc.kill()
            self.proc.wait()
            why = "before it was ready" if gone else f"not ready within {timeout:.0f} s"
            raise StartError(f"{name} {describe_exit(self.proc.returncode)} {why} (its output is in the stack's log)")
        return self.line


def _python_child(name: str, argv: Sequence[str], ready: str, timeout: float, pass_fds: Sequence[int] = (),
                  death_signal: int = signal.SIGTERM) -> subprocess.Popen[str]:
    """``python -m ARGV`` as a child that gets ``death_signal`` if we die; returns once it printed
    its ready line."""
    from dataplane.ovs import die_with_parent

    proc = subprocess.Popen([sys.executable, "-m", *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            text=True, pass_fds=tuple(pass_fds), preexec_fn=functools.partial(die_with_parent, death_signal))
    _Ready(proc, ready).wait(timeout, name)
    return proc


class _Child:
    def __init__(self, name: str, start: Callable[[], subprocess.Popen], stop: Callable[[subprocess.Popen], None]):
        self.name, self.start, self.stop = name, start, stop
        self.proc: subprocess.Popen | None = None
        self.state = ComponentState(name)


class Supervisor:
    """Starts the stack's components in ``ORDER``, restarts the ones that die, stops them in reverse."""

    def __init__(self, state_dir: Path, host_sockets, nfvo_argv: Sequence[str] = (), *,
                 log_level: str = "WARNING", backoff: Backoff = BACKOFF, hosts: int = 1) -> None:
        from dataplane.ovs import OvsInstance

        self.state_dir, self.host, self.backoff = state_dir, host_sockets, backoff
        self.stop_event = threading.Event()
        self.started = time.time()
        self.ovs = OvsInstance(state_dir / "ovs")
        self._nfvo_argv, self._log_level = list(nfvo_argv), log_level
        self.openflow, self.rack = CONTROLLER_OPENFLOW, None
        self._openflow_listener: socket.socket | None = None
        if hosts > 1:   # compute hosts of their own (nfvo.computehosts) instead of the one bridge
            from nfvo.allinone import stack_prefix
            from nfvo.computehosts import StackRack, openflow_address

            self.rack = StackRack(state_dir, stack_prefix(state_dir), hosts)
            self.openflow = openflow_address(self.rack.plan)
            self._nfvo_argv += ["--hosts", str(hosts)]
            daemons = [c for h in self.rack.plan.hosts for c in self._host_children(h.name)]
        else:
            daemons = [_Child("ovsdb-server", self.ovs.start_db, lambda _: None),          # stopped by ovs.stop()
                       _Child("ovs-vswitchd", self.ovs.start_vswitchd, lambda _: None)]
        self.children = {c.name: c for c in (
            *daemons,
            _Child("controller", self._start_controller, self._stop_process),
            _Child("nfvo", self._start_nfvo, functools.partial(self._stop_process, timeout=90.0)),
        )}
        assert self.rack is not None or tuple(self.children) == ORDER

    def _host_children(self, name: str) -> list[_Child]:
        """A compute host's ovsdb-server and ovs-vswitchd (stopped with the host: ``rack.stop()``)."""
        assert self.rack is not None
        return [_Child(f"{name}/{daemon}", functools.partial(start, name), lambda _: None)
                for daemon, start in (("ovsdb-server", self.rack.start_ovsdb), ("ovs-vswitchd", self.rack.start_vswitchd))]

    # -- components ---------------------------------------------------------------------------
    def _openflow_socket(self) -> socket.socket:
        """The controller's OpenFlow listener, ours (made once, in the stack's namespace, after the
        rack's management leg): every controller we start accepts on it, so while one is dead the
        switches' retries land in its backlog instead of OVS's doubling back-off."""
        if self._openflow_listener is None:
            host, _, port = self.openflow.rpartition(":")
            sock = socket.socket(socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
            sock.listen(64)
            self._openflow_listener = sock
        return self._openflow_listener

    def _start_controller(self) -> subprocess.Popen[str]:
        fd = self._openflow_socket().fileno()
        return _python_child("controller", ["sdn.launcher", "--openflow", self.openflow, "--openflow-fd", str(fd),
                                            "--grpc", CONTROLLER_GRPC, "--state-file", str(self.state_dir / "sdn-state.pb"),
                                            "--log-level", self._log_level], "nfv-sdn ready", CONTROLLER_READY_TIMEOUT,
                             (fd,))

    def _start_nfvo(self) -> subprocess.Popen[str]:
        fds, argv = [], ["nfvo.allinone", "--state-dir", str(self.state_dir), "--ovsdb", self.ovs.db_sock,
                         "--sdn", CONTROLLER_GRPC, "--openflow", self.openflow, "--log-level", self._log_level]
        for protocol, (sock, _) in self.host.udp.items():
            fds.append(sock.fileno())
            argv += ["--host-udp", f"{protocol}={sock.fileno()}"]
        if self.host.metrics is not None:
            fds.append(self.host.metrics.fileno())
            argv += ["--host-metrics", str(self.host.metrics.fileno())]
        from nfvo.allinone import READY

        # SIGKILL if we die: its SIGTERM means "nfv down" (terminate every VNF), a crash of ours must not
        return _python_child("nfvo", [*argv, *self._nfvo_argv], READY, NFVO_READY_TIMEOUT, fds, signal.SIGKILL)

    @staticmethod
    def _stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
        from dataplane.lab import stop_process

        stop_process(proc, timeout)

    # -- the loop -----------------------------------------------------------------------------
    def boot(self) -> None:
        """Start every component in order (the rack first, if any); the first that fails stops the
        boot (StartError)."""
        if self.rack is not None:
            try:
                self.rack.start()
            except Exception as exc:
                raise StartError(f"the compute hosts did not start: {exc}") from None
        for child in self.children.values():
            try:
                self._launch(child)
            except Exception as exc:
                raise StartError(f"{child.name} did not start: {exc}") from None
            self.write_status()

    def run(self) -> None:
        """Watch and restart until ``stop_event``; every change lands in the status file."""
        next_fence = 0.0
        while not self.stop_event.wait(0.02):
            if self.rack is not None and time.monotonic() >= next_fence:
                self._apply_fences()
                self._apply_rack_change()
                next_fence = time.monotonic() + FENCE_POLL
            for child in self.children.values():
                if self.stop_event.is_set():
                    return
                if child.proc is not None and child.proc.poll() is not None:
                    child.state = exited(child.state, child.proc.returncode, time.time(), time.monotonic(), self.backoff)
                    log.warning("%s (pid %d) %s; restarting in %.1f s", child.name, child.proc.pid,
                                child.state.last_exit, max(child.state.retry_at - time.monotonic(), 0))
                    child.proc = None
                    self.write_status()
                if child.proc is None and time.monotonic() >= child.state.retry_at:
                    try:
                        self._launch(child)
                        log.warning("%s restarted (pid %d, restart %d)", child.name, child.state.pid,
                                    child.state.restarts)
                    except Exception as exc:  # noqa: BLE001 - any failure to start: back off, try again
                        child.state = start_failed(child.state, str(exc).splitlines()[0], time.monotonic(), self.backoff)
                        log.error("%s did not restart: %s", child.name, exc)
                    self.write_status()

    def _apply_fences(self) -> None:
        """A host the operator failed (``nfv host fail``: a marker ``nfvo.computehosts.fence``
        writes) has its daemons stopped, vswitchd first, and not restarted: state ``failed``,
        "failed by operator". Once the marker is gone (``nfv host recover``) they start again in
        order (database first), as after a crash."""
        from nfvo.computehosts import fenced_hosts

        fenced, changed = fenced_hosts(self.state_dir), False
        for child in reversed(list(self.children.values())):
            host = child.name.partition("/")[0] if "/" in child.name else ""
            if host in fenced and child.state.state != "failed":
                proc, child.proc = child.proc, None
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
                child.state = failed_by_operator(child.state, fenced[host])
                log.warning("%s stopped: compute host %s failed by operator", child.name, host)
                changed = True
            elif host and host not in fenced and child.state.state == "failed":
                child.state = replace(child.state, state="restarting", retry_at=0.0)
                changed = True
        if changed:
            self.write_status()

    def _apply_rack_change(self) -> None:
        """The NFVO's pending ``nfv host add|remove``, done and answered (the run loop's thread:
        the children change between its rounds)."""
        from nfvo.computehosts import RackAnswer, answer_change, pending_change, unfence

        change = pending_change(self.state_dir)
        if change is None or self.rack is None:
            return
        try:
            if change.action == "add":
                host = self._add_host(change.name or None)
            elif change.action == "remove":
                host = change.name
                self._remove_host(host)
                unfence(self.state_dir, host)
            else:
                raise ValueError(f"unknown rack change {change.action!r}")
            answer = RackAnswer(change.id, host=host)
        except Exception as exc:  # noqa: BLE001 - any failure is the NFVO's answer
            log.error("compute host %s %s failed: %s", change.name or "(next)", change.action, exc)
            answer = RackAnswer(change.id, host=change.name, error=str(exc))
        self.write_status()
        answer_change(self.state_dir, answer)

    def _add_host(self, name: str | None) -> str:
        """Build the host, then supervise its daemons (started by the build: their launch only
        takes them over); a failure removes it again."""
        assert self.rack is not None
        host = self.rack.add_host(name)
        try:
            new = self._host_children(host)
            for child in new:
                self._launch(child)
        except BaseException:
            self.rack.remove_host(host)
            raise
        items = list(self.children.items())
        at = next(i for i, (n, _) in enumerate(items) if "/" not in n)   # host daemons before controller, nfvo
        self.children = dict([*items[:at], *((c.name, c) for c in new), *items[at:]])
        log.warning("compute host %s added (namespace %s)", host, self.rack.plan.host(host).netns)
        return host

    def _remove_host(self, name: str) -> None:
        """Stop supervising the host's daemons, then stop them and remove the host; the last one
        stays (the NFVO moved the VIM's hub off this one before asking)."""
        assert self.rack is not None
        names = [h.name for h in self.rack.plan.hosts]
        if name not in names:
            raise ValueError(f"no compute host {name!r} (hosts: {', '.join(names)})")
        if names == [name]:
            raise ValueError(f"compute host {name} is the rack's last host: it stays")
        self.children = {n: c for n, c in self.children.items() if not n.startswith(f"{name}/")}
        self.rack.remove_host(name)
        log.warning("compute host %s removed", name)

    def _launch(self, child: _Child) -> None:
        child.proc = child.start()
        child.state = launched(child.state, child.proc.pid, time.time())

    def shutdown(self) -> None:
        """Reverse order: the NFVO (it terminates the VNFs), the controller, then OVS."""
        for child in reversed(list(self.children.values())):
            if child.proc is not None:
                try:
                    child.stop(child.proc)
                except Exception:  # noqa: BLE001 - keep stopping the others
                    log.exception("stopping %s", child.name)
            child.state = ComponentState(child.name, "stopped", restarts=child.state.restarts)
        if self._openflow_listener is not None:
            self._openflow_listener.close()
            self._openflow_listener = None
        if self.rack is not None:
            self.rack.stop()        # every host's OVS, namespace and uplink, the rack, the management leg
        else:
            self.ovs.stop()

    def write_status(self) -> None:
        doc = status_document(os.getpid(), self.started, [c.state for c in self.children.values()])
        path = self.state_dir / STATUS_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    from nfvo.allinone import add_monitor_options

    parser = argparse.ArgumentParser(prog="nfvo.supervisor")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--hosts", type=int, default=1, help="compute hosts (namespaces with their own OVS)")
    add_monitor_options(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from dataplane import netns
    from nfvo.monitoring import MonitorConfig, MonitorError, open_host_sockets

    state_dir = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if not _lock(state_dir):
        print(f"nfvo.supervisor: another supervisor runs the stack in {state_dir}", file=sys.stderr, flush=True)
        return 1
    try:
        config = MonitorConfig.from_env(os.environ, sflow_port=args.sflow_port, ipfix_port=args.ipfix_port,
                                        netflow_port=args.netflow_port, metrics=args.metrics_address,
                                        sampling=args.sflow_sampling, ipfix_sampling=args.ipfix_sampling,
                                        strict=args.strict_ports or None)
        host = open_host_sockets(config)    # in the host's namespace: reachable from outside
    except MonitorError as exc:
        print(f"nfvo.supervisor: {exc}", file=sys.stderr, flush=True)
        return 2
    forwarded = monitor_argv(args)
    namespace = stack_netns(state_dir)
    try:
        join_netns(namespace)
        supervisor = Supervisor(state_dir, host, forwarded, log_level=args.log_level, hosts=args.hosts)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: supervisor.stop_event.set())
        try:
            supervisor.boot()
            supervisor.run()
            return 0
        except StartError as exc:
            print(f"nfvo.supervisor: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            supervisor.shutdown()
    finally:
        host.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        netns.delete_netns(namespace)


def _lock(state_dir: Path) -> bool:
    """One supervisor per state directory: an exclusive lock held (not inherited) until we exit."""
    import fcntl

    fd = os.open(state_dir / "supervisor.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    return True     # the descriptor stays open: the lock lives as long as this process


def stack_netns(state_dir: Path) -> str:
    """The stack's own network namespace: named (``<prefix>-stack``) so that it outlives a crash
    of the supervisor, with the VDUs' veth ends and the bridge's ports in it."""
    from nfvo.allinone import stack_prefix

    return f"{stack_prefix(state_dir)}-stack"


def join_netns(name: str) -> bool:
    """Move this thread (and the children it starts) into namespace ``name``, made if missing;
    True if it was there already (a supervisor resuming the stack its crashed predecessor ran)."""
    import ctypes

    from dataplane import netns

    existed = netns.netns_exists(name)
    netns.create_netns(name)
    fd = os.open(netns.NETNS_DIR / name, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, netns.CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
    finally:
        os.close(fd)
    return existed


def monitor_argv(args) -> list[str]:
    """The collector/metrics options given, passed on to the NFVO (same names as ``nfv up``'s)."""
    argv = []
    for option in ("sflow_port", "ipfix_port", "netflow_port", "metrics_address", "sflow_sampling", "ipfix_sampling"):
        value = getattr(args, option, None)
        if value is not None:
            argv += [f"--{option.replace('_', '-')}", str(value)]
    return argv + (["--strict-ports"] if getattr(args, "strict_ports", False) else [])


if __name__ == "__main__":
    sys.exit(main())
