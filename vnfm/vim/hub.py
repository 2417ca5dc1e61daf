"""What sits on the local VIM's hub besides the VLs' tunnel star: the monitoring probes, and the
record of which host the hub is.

The probes are one namespace ``{prefix}-mon`` with a veth per monitored VL whose host end is an
access port ``{prefix}-m<vlan:03x>`` on the hub's bridge (the address :func:`vnfm.lifecycle.probe_ip`
of the VL): ping and http_ping checks run from there, as an operator's monitor would. When the
hub moves (:meth:`vnfm.vim.local.LocalVim.fail_site`), the host ends are deleted in the old hub's
namespace (that needs no OVS: its OVS ports go when it is back) and made again on the new one.
Meanwhile (the hub down, its role moving, and a failed probe in the first seconds after) the
VIM's ``probe`` says ``ProbesUnavailable``: a monitor gives no verdict rather than respawn VDUs
that are fine (``vnfm.monitor``).

The hub is persisted (``hub.json`` in the VIM's state directory): the NFVO builds its VIM again
at every start, with the sites in the rack's order, and the hub must not jump back to the first.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from dataplane import netns
from dataplane.ovsdb import OvsdbError, PortSpec
from dataplane.ping import build_echo, parse_reply
from vnfm.errors import VimError
from vnfm.lifecycle import probe_ip
from vnfm.model import Network
from vnfm.vim import hostio
from vnfm.vim.sites import HostSite

HUB_FILE = "hub.json"


def read_hub(state_dir: Path) -> str:
    """The hub recorded in ``state_dir`` ("" when none was: the first host)."""
    return str(hostio.read_json(Path(state_dir) / HUB_FILE).get("hub") or "")


def write_hub(state_dir: Path, name: str) -> None:
    path = Path(state_dir) / HUB_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{HUB_FILE}.tmp")
    tmp.write_text(json.dumps({"hub": name}))
    os.replace(tmp, path)


class ProbePorts:
    """The monitoring probes of one VIM (``prefix``), on whichever site is the hub."""

    def __init__(self, prefix: str, mtu: int) -> None:
        self.prefix, self.mtu = prefix, mtu
        self.namespace = f"{prefix}-mon"
        self.networks: tuple[Network, ...] = ()     # the last ensure's: what a move makes again

    def port(self, net: Network) -> str:
        return f"{self.prefix}-m{net.vlan:03x}"

    def is_port(self, name: str) -> bool:
        return name.startswith(f"{self.prefix}-m")

    def ensure(self, hub: HostSite, networks: Sequence[Network], links: Sequence[str]) -> None:
        """A probe port on each of ``networks`` (with a probe address), none elsewhere; ``links``:
        those in the hub's bridge namespace now."""
        self.networks = tuple(networks)
        want = {self.port(n): n for n in networks if probe_ip(n)}
        try:
            ports = hub.db.list_ports(hub.bridge)
        except OvsdbError:
            ports = []
        have = {p.name for p in ports if self.is_port(p.name)} | {x for x in links if self.is_port(x)}
        stale = sorted(have - set(want))
        if stale:
            hub.db.delete_ports(hub.bridge, stale)
            for name in stale:
                netns.delete_link(name, netns=hub.netns, missing_ok=True)
        if not want:
            netns.delete_netns(self.namespace)
            return
        new = [(name, n) for name, n in want.items() if name not in have]
        for name, n in new:
            prefixlen = n.cidr.split("/")[1]
            netns.create_veth(self.namespace, f"m{n.vlan}", name,
                              addresses=[f"{probe_ip(n)}/{prefixlen}"], mtu=self.mtu, host_ns=hub.netns)
        if new:
            hub.db.ensure_ports(hub.bridge, [
                PortSpec(name, tag=n.vlan, mtu_request=self.mtu,
                         external_ids={"nfv-owner": self.prefix, "nfv-role": "monitor"})
                for name, n in new])

    def unplug(self, old: HostSite, links: Sequence[str], *, old_answers: bool) -> None:
        """The probe ports off the old hub (their veths gone with their host ends)."""
        names = [x for x in links if self.is_port(x)]
        for name in names:
            netns.delete_link(name, netns=old.netns, missing_ok=True)
        if old_answers:
            try:
                old.db.delete_ports(old.bridge, [p.name for p in old.db.list_ports(old.bridge) if self.is_port(p.name)])
            except OvsdbError as exc:
                raise VimError(f"cannot delete the probe ports on {old.name}: {exc}") from exc

    def probe(self, kind: str, ip: str, *, port: int = 80, timeout: float = 1.0) -> bool:
        addr = ip.split("/")[0]
        if not netns.netns_exists(self.namespace):
            return False
        if kind == "ping":
            return self._ping(addr, timeout)
        if kind == "http_ping":
            return self._http(addr, port, timeout)
        raise VimError(f"unknown probe {kind!r}")

    def _ping(self, addr: str, timeout: float) -> bool:
        ident = (os.getpid() ^ id(object()) ^ int(time.monotonic_ns())) & 0xFFFF
        try:
            sock = netns.socket_in(self.namespace, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        except OSError:
            return False
        with sock:
            try:
                sock.sendto(build_echo(ident, 1), (addr, 0))
            except OSError:
                return False
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    pkt, (src, _) = sock.recvfrom(2048)
                except (TimeoutError, OSError):
                    return False
                if src == addr and parse_reply(pkt) == (ident, 1):
                    return True
        return False

    def _http(self, addr: str, port: int, timeout: float) -> bool:
        try:
            sock = netns.socket_in(self.namespace, socket.AF_INET, socket.SOCK_STREAM, 0)
        except OSError:
            return False
        with sock:
            sock.settimeout(timeout)
            try:
                sock.connect((addr, port))
                sock.sendall(f"GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n".encode())
                head = sock.recv(64).split(b"\r\n", 1)[0].split()
            except OSError:
                return False
        return len(head) >= 2 and head[0].startswith(b"HTTP/") and head[1][:1] in (b"1", b"2", b"3")
