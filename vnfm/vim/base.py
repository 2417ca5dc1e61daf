"""The VIM port: what the manager asks of a compute/network/storage provider.

Shaped after what an OpenStack driver would do with openstacksdk (a server with ports and a
volume, created and deleted as one unit, found again by name), so ``local`` is not the only
possible answer. Every name a VIM creates starts with its ``prefix``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vnfm.errors import VimError
from vnfm.images import HOST_ROOTFS
from vnfm.model import IpForwarding, Network


class ProbesUnavailable(VimError):
    """The probes cannot tell now: the host they run on is down (a failed hub, its role not moved
    yet). No answer from them says nothing of the VDU, so a monitor gives no verdict."""


@dataclass(frozen=True)
class PortRequest:
    name: str            # OVS port / host-side link name (<= 15 chars)
    iface: str           # interface name inside the server
    mac: str
    ip: str              # "a.b.c.d/len" or ""
    network: Network
    ofport_request: int | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerRequest:
    """One VDU instance: image, first-boot data, program, ports, volume, limits. ``argv`` may
    use placeholders the VIM fills: {workdir} {volume} (plus whatever the manager put in
    ``values``). ``rootfs`` is the image's (``Image.rootfs``); ``user_data`` a RAW script run
    once at first boot, ``config`` Tacker's VDU config text, handed to the VDU as a file."""

    key: str
    argv: tuple[str, ...] | None
    ready: str | None
    ports: tuple[PortRequest, ...]
    volume_bytes: int | None = None
    cpus: int | None = None
    mem_bytes: int | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    image: str = "host"             # the image's name (for messages)
    rootfs: str = HOST_ROOTFS
    user_data: str | None = None
    config: str | None = None
    host: str | None = None         # the compute host the scheduler chose (None: the VIM's only host)


@dataclass(frozen=True)
class ComputeHostInfo:
    """One compute host of a VIM as the scheduler and ``nfv host list|show`` see it (Nova's
    hypervisor): its state, capacity and what runs on it, and where its SFF is (the integration
    bridge the controller programs, its underlay address and tunnel ports for the overlay).

    Every host is its own availability zone (``zone`` == ``name``); Nova's default zone ``nova``
    means any host. Capacity is physical (cores, bytes); allocation ratios are the scheduler's."""

    name: str
    up: bool
    vcpus: int
    mem_bytes: int
    disk_bytes: int
    used_vcpus: int = 0             # sum over its servers' requests (a request without cpus counts 1)
    used_mem_bytes: int = 0
    used_disk_bytes: int = 0
    servers: tuple[str, ...] = ()   # server keys placed here
    reason: str = ""                # why it is down ("" when up)
    # where its SFF is: the switch name the controller's document uses, its bridge and dpid, ...
    switch: str = ""
    bridge: str = ""
    dpid: int = 0
    ovsdb: str = ""                 # the controller's OVSDB remote for the bridge's probes
    host_id: int = 0                # NSH C1's host bits (0 = no overlay: a single-host VIM)
    underlay_ip: str = ""           # its tunnel endpoint ("" = single host)
    gpe_port: str = ""              # flow-based VXLAN-GPE (ptap) port on its bridge
    tunnel_ports: tuple[str, ...] = ()  # ports that carry VLs to other hosts (never classified)
    netns: str = ""                 # the host's network namespace (capture the underlay there)
    uplink: str = ""                # its underlay NIC inside ``netns``

    @property
    def zone(self) -> str:
        return self.name


@dataclass(frozen=True)
class DhcpHost:
    """One fixed lease the VIM hands out on a network (Neutron's port -> dhcp-host entry)."""

    network: str         # the Network's name
    mac: str
    ip: str              # "a.b.c.d" or "a.b.c.d/len" (the length is the network's)
    hostname: str = ""   # sent as option 12; made a valid DNS label by the VIM


@dataclass(frozen=True)
class Server:
    key: str
    namespace: str
    pid: int | None
    ofports: Mapping[str, int]      # port name -> OpenFlow port number
    volume: str | None
    limits: str
    boot: str = ""                  # how first boot went: "user_data ok (...)", "no user_data", ...
    host: str = ""                  # the compute host it runs on (ComputeHostInfo.name)


class Vim(Protocol):
    prefix: str
    bridge: str

    def create_server(self, req: ServerRequest) -> Server:
        """All or nothing: on failure everything made for ``req.key`` is removed (VimError)."""

    def delete_server(self, key: str) -> None:
        """Remove the process, ports, links, namespace, cgroup, volume of ``key``; idempotent."""

    def server_keys(self) -> set[str]:
        """Keys of every server this VIM (prefix) has anything of, complete or not."""

    def alive(self, key: str) -> bool:
        """The server's program runs (True for a server without program that exists)."""

    def probe(self, kind: str, network: Network, ip: str, *, port: int = 80,
              timeout: float = 1.0) -> bool:
        """ping/http_ping ``ip`` over the network's segment, as an operator's monitor would.
        ProbesUnavailable when the probes cannot tell now (the host they run on is down)."""

    def ensure_probes(self, networks: Sequence[Network]) -> None:
        """Be attached to exactly these networks for probing (level-triggered)."""

    def ensure_dhcp(self, networks: Sequence[Network], hosts: Sequence[DhcpHost]) -> None:
        """Serve DHCP on exactly the networks that have hosts, handing exactly these MAC -> IP
        pairs (nothing to an unknown MAC); level-triggered and idempotent (Neutron's DHCP agent).
        Every host's network must be in ``networks`` (VimError otherwise)."""

    def exec(self, key: str, argv: Sequence[str], *,
             timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run a command inside the server (no shell); output captured as text."""

    def console(self, key: str) -> str:
        """The server's console log: first boot (user_data) output, then its program's."""

    def close(self) -> None:
        """Drop connections/caches; servers keep running."""

    def hosts(self) -> tuple[ComputeHostInfo, ...]:
        """Every compute host, by name, with its state and what is placed on it now."""

    def ip_forwarding(self, key: str) -> IpForwarding:
        """Whether the server's kernel forwards IPv4 / IPv6, as its guest has it now (VimError if
        there is no such server or it cannot be read)."""
