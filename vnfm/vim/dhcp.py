"""DHCP on the local VIM's networks, in the role of Neutron's DHCP agent: one dnsmasq a network.

Why: VNF images configure their ports by DHCP (Tacker's cirros samples: ``iface eth1 inet
dhcp``), while the VIM allocates every CP's MAC and IP. So the server hands exactly those pairs
(``static`` range: nothing for an unknown MAC), the subnet's netmask, no gateway and no DNS the
network does not have, and a long lease.

Per network (VLAN tag ``v``, hex ``t`` = ``f"{v:03x}"``), as Neutron's ``qdhcp-<net>``: namespace
``{prefix}-dhcp-{t}`` (its own, so overlapping subnets of different networks do not meet), a veth
``dhcp`` inside (holding ``lifecycle.dhcp_ip``) <-> ``{prefix}-d{t}`` on the bridge (access port,
tag ``v``), files in ``{state_dir}/{t}/`` and one ``dnsmasq --keep-in-foreground`` found again
by (pid, start time) after a manager restart. A host change rewrites the hosts file and SIGHUPs
the server (no restart); the lease of a MAC/IP pair no longer wanted is given back with a
DHCPRELEASE (as Neutron's ``dhcp_release``): dnsmasq refuses an address "leased to" another MAC.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dataplane import netns
from dataplane.ovsdb import Ovsdb, OvsdbError, PortSpec
from vnfm.errors import VimError
from vnfm.lifecycle import dhcp_ip
from vnfm.model import Network
from vnfm.vim import hostio, process
from vnfm.vim.base import DhcpHost

DNSMASQ = "/usr/sbin/dnsmasq"
LEASE_SECONDS = 86400          # Neutron's default: clients renew daily, no expiry in a test's life
INNER_IF = "dhcp"
READY_LINE = "dnsmasq-dhcp["   # dnsmasq's first DHCP log line: sockets are bound by then
READY_TIMEOUT = 10.0
SUPERVISE_INTERVAL = 1.0       # how soon a dead server is restarted
log = logging.getLogger(__name__)


# -- the pure part: names, configuration, leases ------------------------------------------------
def tag(net: Network) -> str:
    return f"{net.vlan:03x}"


def port_name(prefix: str, net: Network) -> str:
    return f"{prefix}-d{tag(net)}"      # <= 9 + 5 characters


def namespace(prefix: str, net: Network) -> str:
    return f"{prefix}-dhcp-{tag(net)}"


@dataclass(frozen=True)
class Lease:
    """A line of dnsmasq's lease file."""

    mac: str
    ip: str
    client_id: str = ""   # "01:fa:16:..." as dnsmasq writes it, "" if the client sent none


@dataclass(frozen=True)
class DhcpServer:
    """Everything one network's DHCP server is, computed from the VIM's records."""

    network: Network
    tag: str
    namespace: str
    port: str
    address: str                     # "a.b.c.d/len" of the server's own interface
    hosts: tuple[DhcpHost, ...]      # sorted by address; ip without length
    argv: tuple[str, ...]
    hosts_text: str

    @property
    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset((h.mac, h.ip) for h in self.hosts)


def hostname(name: str) -> str:
    """A DNS label dnsmasq takes as a name (not a lease time, so it starts with a letter)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    return label if label[:1].isalpha() else (f"h-{label}"[:63].rstrip("-") if label else "")


def hosts_file(hosts: Iterable[DhcpHost]) -> str:
    """dnsmasq --dhcp-hostsfile lines ``mac,ip[,name]``; a name already given is left out."""
    seen: set[str] = set()
    lines = []
    for h in hosts:
        name = hostname(h.hostname)
        if name in seen:
            name = ""
        seen.add(name)
        lines.append(",".join(x for x in (h.mac, h.ip, name) if x))
    return "".join(f"{line}\n" for line in lines)


def dnsmasq_argv(net: Network, files: Path, gateway: str = "") -> tuple[str, ...]:
    """Foreground dnsmasq: DHCP only (``port=0``: no DNS server, so no DNS option either), static
    leases from the hosts file, the router option only for a network with a ``gateway``. It keeps
    root: its files are in the VIM's private state directory."""
    subnet = ipaddress.ip_network(net.cidr)
    return (DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
            "--port=0", "--user=root", "--group=root", "--pid-file=", "--log-facility=-",
            f"--interface={INNER_IF}", "--except-interface=lo", "--bind-interfaces",
            f"--dhcp-range=set:{tag(net)},{subnet.network_address},static,{subnet.netmask},{LEASE_SECONDS}s",
            f"--dhcp-option=tag:{tag(net)},option:router{',' + gateway if gateway else ''}",
            f"--dhcp-hostsfile={files / 'hosts'}", f"--dhcp-leasefile={files / 'leases'}",
            "--dhcp-authoritative", "--no-ping")


def plan_servers(prefix: str, networks: Sequence[Network], hosts: Sequence[DhcpHost],
                 state_dir: Path) -> dict[str, DhcpServer]:
    """The servers wanted, by tag: one for each network with hosts (and room for a server
    address); ValueError names a host off its network, outside its subnet, or clashing."""
    by_name = {n.name: n for n in networks}
    grouped: dict[str, list[DhcpHost]] = {}
    for h in hosts:
        net = by_name.get(h.network)
        if net is None:
            raise ValueError(f"DHCP host {h.mac} ({h.hostname or h.ip}) is on unknown network {h.network!r}")
        ip = h.ip.split("/")[0]
        if ipaddress.ip_address(ip) not in ipaddress.ip_network(net.cidr):
            raise ValueError(f"DHCP host {h.mac} address {ip} is not in {net.name}'s subnet {net.cidr}")
        grouped.setdefault(net.name, []).append(DhcpHost(net.name, h.mac.lower(), ip, h.hostname))
    out = {}
    for name, group in sorted(grouped.items()):
        net = by_name[name]
        server_ip = dhcp_ip(net)
        if not server_ip:
            continue            # a /30 or smaller has no address to spare: static addresses only
        group.sort(key=lambda h: ipaddress.ip_address(h.ip))
        for attr in ("mac", "ip"):
            counts = Counter([getattr(h, attr) for h in group] + ([server_ip] if attr == "ip" else []))
            dup = next((v for v, n in counts.items() if n > 1), None)
            if dup:
                raise ValueError(f"network {name}: {attr} {dup} is given to two DHCP hosts (or the server)")
        files = state_dir / tag(net)
        out[tag(net)] = DhcpServer(net, tag(net), namespace(prefix, net), port_name(prefix, net),
                                   f"{server_ip}/{ipaddress.ip_network(net.cidr).prefixlen}",
                                   tuple(group), dnsmasq_argv(net, files), hosts_file(group))
    return out


def parse_leases(text: str) -> list[Lease]:
    """dnsmasq's lease lines ``expiry mac ip name client-id`` (anything else skipped)."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", f[1]):
            out.append(Lease(f[1], f[2], "" if f[4] == "*" else f[4]))
    return out


def stale_leases(text: str, server: DhcpServer) -> list[Lease]:
    return [lease for lease in parse_leases(text) if (lease.mac, lease.ip) not in server.pairs]


def kept_leases(text: str, server: DhcpServer) -> str:
    """The lease file without stale pairs: what a restarted server may load."""
    stale = {(lease.mac, lease.ip) for lease in stale_leases(text, server)}
    return "".join(f"{line}\n" for line in text.splitlines() if tuple(line.split()[1:3]) not in stale)


def release_packet(lease: Lease, server_ip: str, xid: int) -> bytes:
    """A DHCPRELEASE (RFC 2131) of ``lease`` to ``server_ip``, as the client would send it."""
    hw = bytes.fromhex(lease.mac.replace(":", ""))
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, len(hw), 0, xid, 0, 0,
                       socket.inet_aton(lease.ip), bytes(4), bytes(4), bytes(4), hw, b"", b"")
    opts = bytes([53, 1, 7, 54, 4]) + socket.inet_aton(server_ip)
    if lease.client_id:
        cid = bytes.fromhex(lease.client_id.replace(":", ""))
        opts += bytes([61, len(cid)]) + cid
    return head + b"\x63\x82\x53\x63" + opts + b"\xff"


# -- the shell ---------------------------------------------------------------------------------
class DhcpAgent:
    """Keeps the DHCP servers of one VIM (prefix) matching what ``ensure`` is told; while any
    is wanted, a supervisor thread restarts a server that died (Neutron's ProcessMonitor)."""

    def __init__(self, db: Ovsdb, bridge: str, prefix: str, state_dir: Path, *, mtu: int,
                 supervise_interval: float = SUPERVISE_INTERVAL, link_ns: str | None = None) -> None:
        self.db, self.bridge, self.prefix, self.mtu = db, bridge, prefix, mtu
        self.link_ns = link_ns      # where the bridge's ports live (a compute host's namespace; None: ours)
        self.state_dir = Path(state_dir)
        self.interval = supervise_interval
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._port_re = re.compile(rf"{re.escape(prefix)}-d([0-9a-f]{{3}})")
        self._ns_re = re.compile(rf"{re.escape(prefix)}-dhcp-([0-9a-f]{{3}})")
        self._lock = threading.Lock()
        self._want: dict[str, DhcpServer] = {}
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def ensure(self, networks: Sequence[Network], hosts: Sequence[DhcpHost]) -> None:
        try:
            want = plan_servers(self.prefix, networks, hosts, self.state_dir)
        except ValueError as exc:
            raise VimError(str(exc)) from exc
        with self._lock:
            self._want = want
            if want and not self._closed.is_set() and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._supervise, name=f"{self.prefix}-dhcp", daemon=True)
                self._thread.start()
            self._converge(want)

    def move(self, db: Ovsdb, bridge: str, link_ns: str | None, *, old_answers: bool = True) -> None:
        """Serve from another bridge (the VIM's hub moved): every server is unplugged from the old
        one (its link and namespace go; its OVS port too if that OVSDB answers, ``old_answers``,
        else the VIM purges it when the host is back) and started again on the new one from the same hosts and
        lease files, so every VDU keeps its address and a renewal finds its lease."""
        with self._lock:
            old_db, old_bridge, old_ns = self.db, self.bridge, self.link_ns
            old_ports = self._ovs_ports() if old_answers else set()
            old_links = set(netns.list_links(netns=old_ns)) if old_ns is None or netns.netns_exists(old_ns) else set()
            for t in sorted(self._present(old_ports, old_links, set(netns.list_netns()))):
                self._stop(t)
                port = f"{self.prefix}-d{t}"
                try:
                    if old_answers:
                        old_db.delete_ports(old_bridge, [port])
                except OvsdbError:
                    log.warning("DHCP port %s stays on %s (its OVSDB does not answer) until that host is back",
                                port, old_bridge)
                if port in old_links:
                    netns.delete_link(port, netns=old_ns, missing_ok=True)
                netns.delete_netns(f"{self.prefix}-dhcp-{t}")
            self.db, self.bridge, self.link_ns = db, bridge, link_ns
            self._converge(self._want)

    @property
    def supervising(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self) -> None:
        """Stop supervising; the servers keep running (a new agent adopts them)."""
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _supervise(self) -> None:
        """Restart dead servers until none is wanted (then the thread ends) or ``close``."""
        while not self._closed.wait(self.interval):
            with self._lock:
                if not self._want:
                    self._thread = None
                    return
                dead = {t: srv for t, srv in self._want.items() if not self._running(t)}
                if dead:
                    try:
                        self._converge(dead, sweep=False)
                    except VimError as exc:
                        log.error("DHCP supervisor: %s", exc)

    def _converge(self, want: Mapping[str, DhcpServer], *, sweep: bool = True) -> None:
        ports = self._ovs_ports()
        links, spaces = set(netns.list_links(netns=self.link_ns)), set(netns.list_netns())
        for t in sorted(self._present(ports, links, spaces) - set(want) if sweep else ()):
            self._remove(t)
        if sweep and not want and self.state_dir.is_dir() and not any(self.state_dir.iterdir()):
            self.state_dir.rmdir()
        failed = []
        for t, srv in sorted(want.items()):
            try:
                self._ensure(srv, srv.port in ports and srv.port in links and srv.namespace in spaces)
            except Exception as exc:  # noqa: BLE001 - whatever failed, nothing stays half-made
                self._remove(t)         # the next ensure tries again
                failed.append(f"network {srv.network.name}: {exc}")
        if failed:
            raise VimError(f"cannot serve DHCP on {'; '.join(failed)}")

    def servers(self) -> dict[str, int]:
        """Network name -> pid of its running DHCP server (for operators and tests)."""
        out = {}
        for d in sorted(self.state_dir.glob("*/state.json")):
            state = hostio.read_json(d)
            if self._running(d.parent.name):
                out[state["network"]] = state["pid"]
        return out

    # -- internals -------------------------------------------------------------------------------
    def _running(self, t: str) -> bool:
        state = hostio.read_json(self.state_dir / t / "state.json")
        return bool(state.get("pid")) and process.is_alive(state["pid"], state.get("started"))

    def _present(self, ports: set[str], links: set[str], spaces: set[str]) -> set[str]:
        tags = {m.group(1) for x in ports | links if (m := self._port_re.fullmatch(x))}
        tags |= {m.group(1) for x in spaces if (m := self._ns_re.fullmatch(x))}
        if self.state_dir.is_dir():
            tags |= {p.name for p in self.state_dir.iterdir() if re.fullmatch(r"[0-9a-f]{3}", p.name)}
        return tags

    def _ensure(self, srv: DhcpServer, plugged: bool) -> None:
        files = self.state_dir / srv.tag
        files.mkdir(parents=True, exist_ok=True)
        if not plugged:       # (a veth's host end lives only while its peer does: no look inside)
            self._plug(srv)
        state = hostio.read_json(files / "state.json")
        if plugged and self._running(srv.tag) and state.get("argv") == list(srv.argv):
            self._release(srv, stale_leases(hostio.read_text(files / "leases"), srv))
            if hostio.read_text(files / "hosts") != srv.hosts_text:
                hostio.write_atomic(files / "hosts", srv.hosts_text)
                os.kill(int(state["pid"]), signal.SIGHUP)        # dnsmasq re-reads --dhcp-hostsfile
            return
        self._stop(srv.tag)                         # a dead, obsolete or unplugged server's leftovers
        hostio.write_atomic(files / "hosts", srv.hosts_text)
        hostio.write_atomic(files / "leases", kept_leases(hostio.read_text(files / "leases"), srv))
        console = files / "dnsmasq.log"
        console.unlink(missing_ok=True)
        proc = process.spawn(srv.namespace, srv.argv, cwd=files, log=console, env={}, cgroup=None)
        self._procs[srv.tag] = proc
        hostio.write_json(files / "state.json", {"pid": proc.pid, "started": process.start_time(proc.pid),
                                                "argv": list(srv.argv), "network": srv.network.name})
        process.wait_ready(proc, console, READY_LINE, READY_TIMEOUT)

    def _plug(self, srv: DhcpServer) -> None:
        """(Re)make the server's port: namespace, veth with the server address, tagged OVS port."""
        self._stop(srv.tag)
        self.db.delete_ports(self.bridge, [srv.port])
        netns.delete_link(srv.port, netns=self.link_ns, missing_ok=True)
        netns.delete_netns(srv.namespace)
        netns.create_veth(srv.namespace, INNER_IF, srv.port, addresses=[srv.address], mtu=self.mtu,
                          host_ns=self.link_ns)
        self.db.ensure_ports(self.bridge, [PortSpec(
            srv.port, tag=srv.network.vlan, mtu_request=self.mtu,
            external_ids={"nfv-owner": self.prefix, "nfv-role": "dhcp", "nfv-network": srv.network.name})])

    def _release(self, srv: DhcpServer, leases: Sequence[Lease]) -> None:
        """Give back stale leases (a DHCPRELEASE each, sent on the server's own interface)."""
        if not leases:
            return
        server_ip = srv.address.split("/")[0]
        with netns.socket_in(srv.namespace) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, INNER_IF.encode())
            for n, lease in enumerate(leases):
                sock.sendto(release_packet(lease, server_ip, 0x6e660000 + n), (server_ip, 67))

    def _stop(self, t: str) -> None:
        ns = f"{self.prefix}-dhcp-{t}"
        pids = process.pids_in_netns(ns)
        state = hostio.read_json(self.state_dir / t / "state.json")
        if state.get("pid") and process.is_alive(state["pid"], state.get("started")):
            pids.append(state["pid"])
        process.stop(sorted(set(pids)))
        proc = self._procs.pop(t, None)
        if proc is not None:
            proc.poll()

    def _remove(self, t: str) -> None:
        self._stop(t)
        port = f"{self.prefix}-d{t}"
        try:
            self.db.delete_ports(self.bridge, [port])
        except OvsdbError as exc:
            raise VimError(f"cannot delete DHCP port {port}: {exc}") from exc
        netns.delete_link(port, netns=self.link_ns, missing_ok=True)
        netns.delete_netns(f"{self.prefix}-dhcp-{t}")
        shutil.rmtree(self.state_dir / t, ignore_errors=True)

    def _ovs_ports(self) -> set[str]:
        try:
            return {p.name for p in self.db.list_ports(self.bridge)}
        except OvsdbError:
            return set()
