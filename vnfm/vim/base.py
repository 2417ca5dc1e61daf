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

from vnfm.images import HOST_ROOTFS
from vnfm.model import IpForwarding, Network


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
        """ping/http_ping ``ip`` over the network's segment, as an operator's monitor would."""

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

    def ip_forwarding(self, key: str) -> IpForwarding:
        """Whether the server's kernel forwards IPv4 / IPv6, as its guest has it now (VimError if
        there is no such server or it cannot be read)."""
