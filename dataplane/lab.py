"""A disposable lab (private OVS + bridges + hosts in namespaces) for integration tests and benches.

Why here and not in tests/: bench/ scripts need exactly the same set-up. Every name starts with a
short per-run prefix so leaks are recognisable and nothing collides with another run.
"""

from __future__ import annotations

import ipaddress
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataplane import netns
from dataplane.ovs import OvsInstance
from dataplane.ovsdb import Ovsdb


def new_prefix() -> str:
    """A short unique prefix ('nf' + 4 hex) for this run's namespaces, links and bridges."""
    return "nf" + secrets.token_hex(2)


@dataclass(frozen=True)
class Host:
    """A namespace with one veth plugged into an OVS bridge."""

    ns: str
    iface: str       # name inside the namespace
    port: str        # host-side veth name == OVS port name
    bridge: str
    mac: str
    ip: str
    prefixlen: int
    mtu: int
    ofport: int

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefixlen}"

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        return netns.run_in_netns(self.ns, argv, **kwargs)

    def exec(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return netns.netns_exec(self.ns, argv, **kwargs)

    def ping(self, dst: str, count: int = 1, timeout: float = 1.0, check: bool = True) -> bool:
        """ICMP echo from this host (no ``ping`` binary needed); True if all were answered."""
        res = self.exec([sys.executable, "-m", "dataplane.ping", dst, "-c", str(count),
                         "-W", str(timeout)], check=check)
        return res.returncode == 0


@dataclass
class Lab:
    """Creates and remembers lab objects so ``cleanup`` removes exactly what was created."""

    ovs: OvsInstance
    db: Ovsdb
    prefix: str = field(default_factory=new_prefix)
    _count: int = 0
    _bridges: list[str] = field(default_factory=list)
    _hosts: list[Host] = field(default_factory=list)
    _procs: list[subprocess.Popen[Any]] = field(default_factory=list)

    def name(self, kind: str) -> str:
        self._count += 1
        name = f"{self.prefix}{kind}{self._count}"
        assert len(name) <= 13, name  # leaves room for a 2-char suffix within IFNAMSIZ
        return name

    def bridge(self, name: str | None = None, **kwargs: Any) -> str:
        """A netdev bridge (secure fail mode, OF1.3-1.5 by default); returns its name."""
        name = name or self.name("b")
        self._bridges.append(name)
        self.db.ensure_bridge(name, **kwargs)
        return name

    def host(self, bridge: str, ip: str, prefixlen: int | None = None, *, mac: str | None = None,
             mtu: int = netns.NSH_MTU, ofport_request: int | None = None,
             gateway: str | None = None, iface: str = "eth0") -> Host:
        """A namespace + veth (MTU on both ends, tx csum off inside) plugged into ``bridge``."""
        cidr = ip if "/" in ip else f"{ip}/{24 if prefixlen is None else prefixlen}"
        iface_addr = ipaddress.ip_interface(cidr)
        ns = self.name("h")
        port = ns + "p"
        veth = netns.create_veth(ns, iface, port, addresses=[str(iface_addr)], mac=mac,
                                 mtu=mtu, default_gw=gateway)
        try:
            ofport = self.db.ensure_port(bridge, port, ofport_request=ofport_request,
                                         mtu_request=mtu)
        except BaseException:
            netns.delete_netns(ns)
            raise
        host = Host(ns=ns, iface=iface, port=port, bridge=bridge, mac=veth.mac,
                    ip=str(iface_addr.ip), prefixlen=iface_addr.network.prefixlen, mtu=mtu,
                    ofport=ofport)
        self._hosts.append(host)
        return host

    def sf(self, host: Host, kind: str, *args: str, wait_ready: float = 10.0,
           **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start a reference SF (``python -m dataplane.sf KIND --iface IFACE ARGS``) in the
        host's namespace and wait for its ``ready`` line (its socket is bound)."""
        popen_kwargs.setdefault("stderr", subprocess.PIPE)
        proc = host.popen([sys.executable, "-m", "dataplane.sf", kind, "--iface", host.iface,
                           *args], stdout=subprocess.PIPE, text=True, **popen_kwargs)
        self._procs.append(proc)
        if wait_ready:
            wait_for_line(proc, "ready", wait_ready)
        return proc

    def track(self, proc: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        """Have ``cleanup`` terminate a process started elsewhere."""
        self._procs.append(proc)
        return proc

    def cleanup(self) -> None:
        """Terminate processes, delete hosts (ports, veths, namespaces) and bridges. Best
        effort: every step is tried even if an earlier one fails; the first error is raised."""
        errors: list[BaseException] = []

        def attempt(fn: Any, *args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:  # keep cleaning; report afterwards
                errors.append(exc)

        for proc in reversed(self._procs):
            attempt(stop_process, proc)
        for host in reversed(self._hosts):
            attempt(self.db.delete_port, host.bridge, host.port)
            attempt(netns.delete_netns, host.ns)
            attempt(netns.delete_link, host.port)
        for br in reversed(self._bridges):
            attempt(self.db.delete_bridge, br)
        self._procs.clear()
        self._hosts.clear()
        self._bridges.clear()
        if errors:
            raise errors[0]


def wait_for_line(proc: subprocess.Popen[Any], prefix: str, timeout: float) -> str:
    """Read stdout lines until one starts with ``prefix``; raise with stderr if the process dies."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith(prefix):
        err = ""
        if proc.poll() is not None and proc.stderr is not None:
            err = proc.stderr.read()
        raise RuntimeError(f"{proc.args!r} not ready within {timeout}s: {line!r} {err}")
    return line


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> int:
    """SIGTERM, wait, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()
    return int(proc.returncode)


class OvsLab:
    """Context manager for benches: private OVS in a temp run dir + a Lab; all removed on exit.

    ``private_netns=True`` first moves the calling thread into a fresh network namespace
    (see :func:`dataplane.netns.enter_private_netns`), so the lab works even while another
    userspace OVS runs on the host; the thread stays there afterwards."""

    def __init__(self, prefix: str | None = None, keep_run_dir: bool = False,
                 private_netns: bool = False) -> None:
        self.prefix = prefix or new_prefix()
        self.keep_run_dir = keep_run_dir
        self.private_netns = private_netns
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-ovs-"))
        self.ovs = OvsInstance(self.run_dir)
        self.lab: Lab | None = None

    def __enter__(self) -> Lab:
        if self.private_netns:  # one netdev OVS per netns: isolate from any other OVS here
            netns.enter_private_netns()
        self.ovs.start()
        try:
            self.lab = Lab(self.ovs, Ovsdb(self.ovs.db_sock), prefix=self.prefix)
        except BaseException:
            self.__exit__()
            raise
        return self.lab

    def __exit__(self, *exc: object) -> None:
        try:
            if self.lab is not None:
                self.lab.cleanup()
                self.lab.db.close()
        finally:
            self.ovs.stop()
            if not self.keep_run_dir:
                shutil.rmtree(self.run_dir, ignore_errors=True)
