"""An in-memory VIM for unit tests: same contract as ``local``, with failure injection."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from vnfm.errors import VimError
from vnfm.model import IpForwarding, Network
from vnfm.vim.base import ComputeHostInfo, DhcpHost, Server, ServerRequest


@dataclass
class FakeServer:
    req: ServerRequest
    server: Server
    running: bool = True
    reachable: bool = True
    forwarding: IpForwarding = IpForwarding(True, True)  # set_forwarding() to change


@dataclass
class FakeVim:
    prefix: str = "fk"
    bridge: str = "br-int"
    servers: dict[str, FakeServer] = field(default_factory=dict)
    fail_create: set[str] = field(default_factory=set)   # keys (or "*") whose create fails
    probes: tuple[Network, ...] = ()
    dhcp: dict[str, tuple[DhcpHost, ...]] = field(default_factory=dict)   # network -> hosts served
    log: list[str] = field(default_factory=list)
    host_specs: tuple[ComputeHostInfo, ...] = ()   # hosts() reports these (default: one compute1)
    _next_ofport: int = 1
    _next_pid: int = 1000

    def create_server(self, req: ServerRequest) -> Server:
        self.log.append(f"create {req.key}")
        if req.key in self.fail_create or "*" in self.fail_create:
            raise VimError(f"injected failure creating {req.key}")
        ofports = {}
        for p in req.ports:
            if p.ofport_request:
                ofports[p.name] = p.ofport_request
            else:
                ofports[p.name] = self._next_ofport
                self._next_ofport += 1
        pid = None
        if req.argv:
            pid = self._next_pid
            self._next_pid += 1
        vol = f"/fake/{req.key}.img" if req.volume_bytes else None
        limits = "no limits requested" if not (req.cpus or req.mem_bytes) else "fake: enforced"
        server = Server(req.key, req.key, pid, ofports, vol, limits, host=req.host or "compute1")
        self.servers[req.key] = FakeServer(req, server)
        return server

    def hosts(self) -> tuple[ComputeHostInfo, ...]:
        """``host_specs`` (default: one roomy ``compute1``) with the servers placed on each."""
        specs = self.host_specs or (ComputeHostInfo("compute1", True, 64, 256 * 2**30, 2**40),)
        out = []
        for h in specs:
            reqs = [f.req for f in self.servers.values() if (f.server.host or "compute1") == h.name]
            out.append(replace(h, used_vcpus=sum(r.cpus or 1 for r in reqs),
                               used_mem_bytes=sum(r.mem_bytes or 0 for r in reqs),
                               used_disk_bytes=sum(r.volume_bytes or 0 for r in reqs),
                               servers=tuple(sorted(r.key for r in reqs))))
        return tuple(out)

    def delete_server(self, key: str) -> None:
        self.log.append(f"delete {key}")
        self.servers.pop(key, None)

    def server_keys(self) -> set[str]:
        return set(self.servers)

    def alive(self, key: str) -> bool:
        s = self.servers.get(key)
        return bool(s and s.running)

    def probe(self, kind: str, network: Network, ip: str, *, port: int = 80,
              timeout: float = 1.0) -> bool:
        addr = ip.split("/")[0]
        for s in self.servers.values():
            if any(p.ip.split("/")[0] == addr for p in s.req.ports):
                return s.reachable
        return False

    def ensure_probes(self, networks: Sequence[Network]) -> None:
        self.probes = tuple(networks)

    def ensure_dhcp(self, networks: Sequence[Network], hosts: Sequence[DhcpHost]) -> None:
        names = {n.name for n in networks}
        for h in hosts:
            if h.network not in names:
                raise VimError(f"DHCP host {h.mac} is on unknown network {h.network!r}")
        self.dhcp = {n: tuple(h for h in hosts if h.network == n)
                     for n in sorted({h.network for h in hosts})}

    def exec(self, key: str, argv: Sequence[str], *,
             timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        if key not in self.servers:
            raise VimError(f"no server {key}")
        return subprocess.CompletedProcess(list(argv), 0, f"{key}: {' '.join(argv)}", "")

    def console(self, key: str) -> str:
        if key not in self.servers:
            raise VimError(f"no server {key}")
        return f"{key}: user_data {self.servers[key].req.user_data or '(none)'}\n"

    def close(self) -> None:
        pass

    def ip_forwarding(self, key: str) -> IpForwarding:
        if key not in self.servers:
            raise VimError(f"no server {key}")
        return self.servers[key].forwarding

    # -- test helpers ------------------------------------------------------------------------
    def kill(self, key: str) -> None:
        self.servers[key].running = False

    def cut(self, key: str) -> None:
        self.servers[key].reachable = False

    def set_forwarding(self, key: str, ipv4: bool, ipv6: bool = False) -> None:
        self.servers[key].forwarding = IpForwarding(ipv4, ipv6)
