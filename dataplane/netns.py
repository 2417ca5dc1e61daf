"""Network namespaces and veth pairs through pyroute2 (no ``ip`` binary, no shell).

Namespaces are ``ip netns`` compatible (bind mounts under /var/run/netns/NAME). Ports that carry
NSH need MTU >= 1538, so veths default to MTU 1600 on both ends. Inside a namespace we turn
tx checksum offload off: a veth otherwise hands OVS's userspace datapath packets with partial
checksums (CHECKSUM_PARTIAL) that nobody completes, and TCP through the bridge silently fails.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2 import netns as _pnetns
from pyroute2.netlink.exceptions import NetlinkError

NETNS_DIR = Path("/var/run/netns")
CLONE_NEWNET = 0x40000000
SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17
NSH_MTU = 1600
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    """A namespace, link or address operation failed (message names the object)."""


@dataclass(frozen=True)
class Veth:
    """A veth pair: ``host_if`` stays in the caller's namespace, ``ns_if`` lives in ``ns``."""

    ns: str
    ns_if: str
    host_if: str
    mac: str
    mtu: int
    addresses: tuple[str, ...]  # "10.0.0.1/24" on ns_if


# -- namespaces ------------------------------------------------------------------------------
def list_netns() -> list[str]:
    return sorted(_pnetns.listnetns())


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create_netns(name: str, *, lo_up: bool = True) -> None:
    """Create a named namespace (idempotent) and bring its loopback up."""
    if not netns_exists(name):
        try:
            _pnetns.create(name)
        except OSError as exc:
            raise NetnsError(f"cannot create netns {name!r}: {exc}") from exc
    if lo_up:
        with _ipr(name) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def delete_netns(name: str) -> None:
    """Remove the namespace (idempotent). Its links are deleted first, synchronously: kernel
    namespace teardown is asynchronous, so peers would otherwise linger for a while."""
    if netns_exists(name):
        try:
            with _ipr(name) as ipr:
                for link in ipr.get_links():
                    if link.get_attr("IFLA_IFNAME") != "lo":
                        try:
                            ipr.link("del", index=link["index"])
                        except NetlinkError as exc:
                            if exc.code != errno.ENODEV:  # already gone with its peer
                                raise
            _pnetns.remove(name)
        except (OSError, NetlinkError) as exc:
            raise NetnsError(f"cannot delete netns {name!r}: {exc}") from exc


def enter_private_netns() -> None:
    """Move the calling thread into a fresh, anonymous network namespace with loopback up.

    Why: an OVS userspace datapath owns a tap named ``ovs-netdev``, so only one netdev
    ovs-vswitchd can work per network namespace; a test session or bench that moves itself into
    a private namespace cannot collide with another OVS on the host, and everything it leaves
    behind in that namespace disappears with the process. Children and threads started later
    by this thread inherit it. Named namespaces (/var/run/netns) stay global.
    """
    if _libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")
    with IPRoute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


# -- links -----------------------------------------------------------------------------------
def create_veth(ns: str, ns_if: str, host_if: str, *, addresses: Sequence[str] = (),
                mac: str | None = None, host_mac: str | None = None, mtu: int = NSH_MTU,
                default_gw: str | None = None, tx_csum_off: bool = True, host_ns: str | None = None) -> Veth:
    """Create a veth pair, move ``ns_if`` into ``ns`` (created if missing), configure both ends
    (MTU on both, MAC/addresses/route inside) and bring them up. ``host_if`` stays in ``host_ns``
    (None: ours), e.g. a compute host's namespace whose OVS takes it as a port. Rolls back on failure."""
    for name in (ns_if, host_if):
        if not 0 < len(name) <= 15:
            raise NetnsError(f"interface name {name!r} must be 1..15 characters")
    if host_ns is not None and not netns_exists(host_ns):
        raise NetnsError(f"cannot create veth {host_if}: no netns {host_ns!r}")
    created_ns = not netns_exists(ns)
    create_netns(ns)
    try:
        with _ipr(host_ns) as ipr:
            peer: dict[str, Any] = {"ifname": ns_if, "mtu": mtu}
            if mac:
                peer["address"] = mac
            kw: dict[str, Any] = {"ifname": host_if, "kind": "veth", "peer": peer, "mtu": mtu}
            if host_mac:
                kw["address"] = host_mac
            ipr.link("add", **kw)
            peer_idx = ipr.link_lookup(ifname=ns_if)[0]
            ipr.link("set", index=peer_idx, net_ns_fd=ns)
            ipr.link("set", index=ipr.link_lookup(ifname=host_if)[0], state="up")
        with _ipr(ns) as ipr:
            idx = ipr.link_lookup(ifname=ns_if)[0]
            for cidr in addresses:
                iface = ipaddress.ip_interface(cidr)
                ipr.addr("add", index=idx, address=str(iface.ip),
                         prefixlen=iface.network.prefixlen)
            ipr.link("set", index=idx, state="up")
            if default_gw:
                ipr.route("add", dst="default", gateway=default_gw)
            actual_mac = ipr.get_links(idx)[0].get_attr("IFLA_ADDRESS")
        if tx_csum_off:
            set_tx_checksum(ns_if, False, netns=ns)
    except (NetlinkError, OSError, IndexError, ValueError) as exc:
        delete_link(host_if, netns=host_ns, missing_ok=True)
        if created_ns:
            delete_netns(ns)
        raise NetnsError(f"cannot create veth {host_if}<->{ns}/{ns_if}: {exc}") from exc
    return Veth(ns=ns, ns_if=ns_if, host_if=host_if, mac=actual_mac, mtu=mtu,
                addresses=tuple(addresses))


def delete_link(ifname: str, *, netns: str | None = None, missing_ok: bool = True) -> None:
    """Delete a link (a veth takes its peer with it)."""
    try:
        with _ipr(netns) as ipr:
            idx = ipr.link_lookup(ifname=ifname)
            if not idx:
                if missing_ok:
                    return
                raise NetnsError(f"no link {ifname!r} in {netns or 'this namespace'}")
            ipr.link("del", index=idx[0])
    except NetlinkError as exc:
        if not (missing_ok and exc.code == errno.ENODEV):
            raise NetnsError(f"cannot delete {ifname!r}: {exc}") from exc


def link_exists(ifname: str, *, netns: str | None = None) -> bool:
    with _ipr(netns) as ipr:
        return bool(ipr.link_lookup(ifname=ifname))


def list_links(*, netns: str | None = None) -> list[str]:
    with _ipr(netns) as ipr:
        return sorted(link.get_attr("IFLA_IFNAME") for link in ipr.get_links())


def set_link_mtu(ifname: str, mtu: int, *, netns: str | None = None) -> None:
    with _ipr(netns) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname=ifname)[0], mtu=mtu)


def _ethtool_value(sock: socket.socket, ifname: str, cmd: int, data: int = 0) -> int:
    """SIOCETHTOOL with a struct ethtool_value {u32 cmd; u32 data}; returns data."""
    val = ctypes.create_string_buffer(struct.pack("II", cmd, data), 8)
    ifreq = struct.pack("16sP16x", ifname.encode(), ctypes.addressof(val))  # struct ifreq: 40 B
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return int(struct.unpack("II", val.raw[:8])[1])


def set_tx_checksum(ifname: str, enabled: bool, *, netns: str | None = None) -> None:
    """ethtool -K IFNAME tx on|off, done from a socket inside ``netns``."""
    sock = _socket_in(netns)
    try:
        _ethtool_value(sock, ifname, ETHTOOL_STXCSUM, int(enabled))
    except OSError as exc:
        raise NetnsError(f"cannot set tx checksum on {ifname!r}: {exc}") from exc
    finally:
        sock.close()


def get_tx_checksum(ifname: str, *, netns: str | None = None) -> bool:
    sock = _socket_in(netns)
    try:
        return bool(_ethtool_value(sock, ifname, ETHTOOL_GTXCSUM))
    finally:
        sock.close()


def packet_socket(ns: str | None, iface: str, *, ethertype: int = 0x0003,
                  ignore_outgoing: bool = True) -> socket.socket:
    """A raw AF_PACKET socket bound to ``iface`` inside ``ns`` (for probes and tests: send
    crafted frames, read what comes back) without spawning a helper process per frame."""
    if ns is None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    else:
        if not netns_exists(ns):
            raise NetnsError(f"no netns {ns!r}")
        sock = _pnetns.create_socket(ns, family=socket.AF_PACKET, socket_type=socket.SOCK_RAW,
                                     proto=socket.htons(ethertype), flags=0)
    try:
        if ignore_outgoing:
            sock.setsockopt(263, 23, 1)  # SOL_PACKET, PACKET_IGNORE_OUTGOING
        sock.bind((iface, 0))
    except OSError as exc:
        sock.close()
        raise NetnsError(f"cannot bind a packet socket to {iface!r} in {ns}: {exc}") from exc
    return sock


# -- this thread ---------------------------------------------------------------------------
def enter_netns(ns: str) -> None:
    """Move the calling thread into network namespace ``ns`` (OSError if it cannot): namespaces
    are per thread, and a process forked from this thread is born there."""
    target = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns} failed")
    finally:
        os.close(target)


def socket_in(ns: str, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
    """A socket of namespace ``ns`` (a socket keeps the namespace it was made in), made by this
    thread: setns there and straight back, no helper process as pyroute2's create_socket forks."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter_netns(ns)
        try:
            return socket.socket(family, kind, proto)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise RuntimeError("cannot return to the original network namespace")
    finally:
        os.close(own)


# -- processes -------------------------------------------------------------------------------
def _setns_preexec(fd: int) -> Any:
    def enter() -> None:  # child side, between fork and exec
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")
    return enter


def run_in_netns(ns: str, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``argv`` (no shell) inside the namespace: the child calls setns() before exec.

    /sys is not remounted (unlike ``ip netns exec``); tools that read /sys/class/net see the
    caller's namespace.
    """
    if popen_kwargs.get("shell"):
        raise ValueError("run_in_netns never uses a shell")
    if "preexec_fn" in popen_kwargs:
        raise ValueError("run_in_netns owns preexec_fn")
    try:
        fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise NetnsError(f"no netns {ns!r}") from exc
    try:
        return subprocess.Popen(list(argv), preexec_fn=_setns_preexec(fd), **popen_kwargs)
    finally:
        os.close(fd)


def netns_exec(ns: str, argv: Sequence[str], *, check: bool = True, timeout: float | None = 30,
               **popen_kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run to completion inside the namespace; text output captured; raises on failure."""
    popen_kwargs.setdefault("stdout", subprocess.PIPE)
    popen_kwargs.setdefault("stderr", subprocess.PIPE)
    popen_kwargs.setdefault("text", True)
    with run_in_netns(ns, argv, **popen_kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    res = subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
    if check and res.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} in netns {ns} failed ({res.returncode}): "
                         f"{(err or '').strip()}")
    return res


def netns_check_output(ns: str, argv: Sequence[str], **kwargs: Any) -> str:
    return str(netns_exec(ns, argv, **kwargs).stdout)


# -- internals -------------------------------------------------------------------------------
def _ipr(netns: str | None) -> IPRoute:
    if netns is None:
        return IPRoute()
    if not netns_exists(netns):
        raise NetnsError(f"no netns {netns!r}")
    return IPRoute(netns=netns, flags=0)


def _socket_in(netns: str | None) -> socket.socket:
    if netns is None:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if not netns_exists(netns):
        raise NetnsError(f"no netns {netns!r}")
    sock: socket.socket = _pnetns.create_socket(netns, family=socket.AF_INET,
                                                socket_type=socket.SOCK_DGRAM, flags=0)
    return sock
