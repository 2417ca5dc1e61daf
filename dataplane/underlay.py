"""The plan of a simulated rack of compute hosts: names, underlay addresses and tunnel ports (pure).

Why a plan: every name and address of a multi-host run follows from a run prefix and a host count,
so the shell (:mod:`dataplane.hosts`), the controller and tests agree on them without asking each
other, and nothing collides with another run on the same machine. A compute host is a network
namespace with its own Open vSwitch (userspace datapath); its ``br-phy`` holds the host's underlay
address and its uplink (one end of a veth whose other end sits on the rack's Linux bridge, in a
namespace of its own: the top-of-rack switch). ``br-int`` carries two flow-based tunnel ports:

- ``gpe0`` (ofport 10): VXLAN-GPE on UDP 4790, ``packet_type=ptap``: bare NSH between SFFs (next
  protocol 4); the receiver sees ``packet_type=(1,0x894f)``.
- ``vx0`` (ofport 11): plain VXLAN on UDP 4789 for virtual links spanning hosts (Neutron's
  br-tun role); the VNI is the VL's segment id.

Both take ``remote_ip=flow key=flow``: flows set ``tun_dst`` (the peer's underlay IP) and
``tun_id``. The recipe and its pitfalls: ../shared/notes/vxlan-gpe-nsh.md.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

GPE_PORT, GPE_OFPORT, GPE_UDP = "gpe0", 10, 4790
VXLAN_PORT, VXLAN_OFPORT, VXLAN_UDP = "vx0", 11, 4789
INTEGRATION_BRIDGE, PHYSICAL_BRIDGE = "br-int", "br-phy"
UPLINK_OFPORT = 1
UNDERLAY_MTU = 1600       # carries a 1500-byte overlay in GPE+NSH (+74 B) and VXLAN (+50 B)
OVERLAY_MTU = 1500
GPE_OVERHEAD = 74         # outer IP 20 + UDP 8 + GPE 8 + NSH MD1 24 + inner Ethernet 14
VXLAN_OVERHEAD = 50       # outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
MAX_HOSTS = 250
DPID_BASE = 0xC0 << 48  # br-int of host i: 0x00c0000000000000 | i
_MAX_IFNAME = 15
_HOST_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")   # a DNS label: also a file, switch and zone name
_NUMBERED = re.compile(r"compute(\d+)")


class PlanError(ValueError):
    """A plan cannot be made (bad prefix, count or subnet); the message names the value."""


@dataclass(frozen=True)
class HostPlan:
    """One compute host: its namespace, underlay NIC and address, and the br-phy MAC peers use."""

    name: str          # "compute1": the operator's name (Nova's hypervisor_hostname)
    host_id: int       # 1..: the id carried in NSH context (see dataplane.nshcontext)
    netns: str         # per-run unique namespace name
    uplink: str        # veth end inside the host namespace, a port of br-phy
    rack_port: str     # veth end on the rack bridge
    underlay_ip: str
    prefixlen: int
    phy_mac: str       # fixed br-phy MAC: peers pre-set it as tunnel neighbour (no ARP race)

    @property
    def underlay_cidr(self) -> str:
        return f"{self.underlay_ip}/{self.prefixlen}"

    @property
    def datapath_id(self) -> int:
        """br-int's fixed datapath id: the controller knows which host a switch is before it connects."""
        return DPID_BASE | self.host_id


@dataclass(frozen=True)
class UnderlayPlan:
    """The rack: one L2 underlay segment (a Linux bridge in its own namespace) and its hosts."""

    prefix: str
    rack_netns: str
    rack_bridge: str
    subnet: str
    mtu: int
    hosts: tuple[HostPlan, ...]

    def host(self, name: str) -> HostPlan:
        for h in self.hosts:
            if h.name == name:
                return h
        raise PlanError(f"no compute host {name!r} in this plan (hosts: {', '.join(h.name for h in self.hosts)})")

    def peers(self, name: str) -> tuple[HostPlan, ...]:
        """Every other host: the tunnel neighbours ``name`` must know."""
        self.host(name)
        return tuple(h for h in self.hosts if h.name != name)

    def by_ip(self) -> Mapping[str, HostPlan]:
        return {h.underlay_ip: h for h in self.hosts}

    @property
    def inventory(self) -> tuple[tuple[str, int], ...]:
        """(name, host id) of every host: all a plan needs besides prefix, subnet and MTU
        (:func:`plan_inventory`), what a stack persists when hosts come and go."""
        return tuple((h.name, h.host_id) for h in self.hosts)

    def with_host(self, name: str | None = None) -> "UnderlayPlan":
        """The plan with one more host, numbered after the highest (``nfv host add``): existing
        hosts keep their names and addresses. ``name`` defaults to ``compute<id>``; a name of that
        form must carry the host's own number (the next default would collide otherwise)."""
        index = max((h.host_id for h in self.hosts), default=0) + 1
        name = f"compute{index}" if name is None else name
        check_host_name(name)
        if index > MAX_HOSTS:
            raise PlanError(f"no room for {name}: at most {MAX_HOSTS} hosts")
        if name in {h.name for h in self.hosts}:
            raise PlanError(f"compute host {name!r} exists already (hosts: {', '.join(h.name for h in self.hosts)})")
        numbered = _NUMBERED.fullmatch(name)
        if numbered and int(numbered.group(1)) != index:
            raise PlanError(f"compute host name {name!r}: names compute<N> are the hosts' own numbers, and the new "
                            f"host is number {index} (name it compute{index} or something else)")
        host = replace(_host_plan(self.prefix, ipaddress.IPv4Network(self.subnet), index), name=name)
        return replace(self, hosts=(*self.hosts, host))

    def without_host(self, name: str) -> "UnderlayPlan":
        """The plan without ``name`` (``nfv host remove``); the others are unchanged."""
        self.host(name)
        return replace(self, hosts=tuple(h for h in self.hosts if h.name != name))


def plan_underlay(prefix: str, count: int, *, subnet: str = "172.31.250.0/24",
                  mtu: int = UNDERLAY_MTU) -> UnderlayPlan:
    """The plan of ``count`` hosts named compute1..N: host i gets the subnet's i-th address and
    br-phy MAC 02:00:<ip bytes>; namespaces and links start with ``prefix`` (at most 7 characters,
    so every derived interface name fits the kernel's 15)."""
    if not prefix or not prefix.isalnum() or len(prefix) > 7:
        raise PlanError(f"run prefix {prefix!r} must be 1..7 alphanumeric characters")
    if not 1 <= count <= MAX_HOSTS:
        raise PlanError(f"host count {count} must be 1..{MAX_HOSTS}")
    try:
        net = ipaddress.IPv4Network(subnet)
    except ValueError as exc:
        raise PlanError(f"underlay subnet {subnet!r}: {exc}") from exc
    if net.num_addresses - 2 < MAX_HOSTS:
        raise PlanError(f"underlay subnet {subnet} has no room for {MAX_HOSTS} hosts (a /24 or larger)")
    if mtu < OVERLAY_MTU + GPE_OVERHEAD:
        raise PlanError(f"underlay MTU {mtu} cannot carry a {OVERLAY_MTU}-byte overlay in GPE+NSH "
                        f"(needs {OVERLAY_MTU + GPE_OVERHEAD})")
    return UnderlayPlan(prefix=prefix, rack_netns=f"{prefix}rk", rack_bridge="rack", subnet=str(net), mtu=mtu,
                        hosts=tuple(_host_plan(prefix, net, i) for i in range(1, count + 1)))


def check_host_name(name: str) -> None:
    """A compute host's name names its switch, availability zone, files and supervised daemons:
    2..32 lowercase letters, digits and inner hyphens, starting with a letter."""
    if not _HOST_NAME.fullmatch(name):
        raise PlanError(f"compute host name {name!r} must be 2..32 lowercase letters, digits or '-', starting with a "
                        "letter and not ending with '-'")


def plan_inventory(prefix: str, inventory: Sequence[tuple[str, int]], *, subnet: str = "172.31.250.0/24",
                   mtu: int = UNDERLAY_MTU) -> UnderlayPlan:
    """The plan of a rack whose hosts came and went (:attr:`UnderlayPlan.inventory`): each host's
    addresses and link names follow from its id as in :func:`plan_underlay`, its name is its own."""
    if not inventory:
        raise PlanError("a rack inventory needs at least one host")
    base = plan_underlay(prefix, 1, subnet=subnet, mtu=mtu)
    net = ipaddress.IPv4Network(base.subnet)
    ids = [i for _, i in inventory]
    names = [n for n, _ in inventory]
    if len(set(ids)) != len(ids) or len(set(names)) != len(names):
        raise PlanError(f"rack inventory {list(inventory)} repeats a host name or id")
    hosts = []
    for name, i in inventory:
        check_host_name(name)
        if not 1 <= i <= MAX_HOSTS:
            raise PlanError(f"compute host {name}: id {i} must be 1..{MAX_HOSTS}")
        hosts.append(replace(_host_plan(prefix, net, i), name=name))
    return replace(base, hosts=tuple(hosts))


def _host_plan(prefix: str, net: ipaddress.IPv4Network, i: int) -> HostPlan:
    ip = net.network_address + i
    names = (f"{prefix}c{i}", f"{prefix}u{i}", f"{prefix}r{i}")
    assert all(len(n) <= _MAX_IFNAME for n in names), names
    return HostPlan(name=f"compute{i}", host_id=i, netns=names[0], uplink=names[1], rack_port=names[2],
                    underlay_ip=str(ip), prefixlen=net.prefixlen, phy_mac="02:00:" + ":".join(f"{b:02x}" for b in ip.packed))


# -- flows for hand-wired tests and benches (the controller renders its own) ------------------
def vl_flows(*, local_ofport: int, vni: int, peer_ip: str, table: int = 0, priority: int = 100) -> tuple[str, ...]:
    """``ovs-ofctl`` flows joining one local port to a VL segment on one peer host over ``vx0``:
    what the port sends goes into VXLAN with VNI ``vni`` to ``peer_ip``; what arrives with that VNI
    comes out of the port. (Point-to-point only: a multi-host segment floods to every peer.)"""
    return (
        f"table={table},priority={priority},in_port={local_ofport},"
        f"actions=set_field:{vni}->tun_id,set_field:{peer_ip}->tun_dst,output:{VXLAN_OFPORT}",
        f"table={table},priority={priority},in_port={VXLAN_OFPORT},tun_id={vni},actions=output:{local_ofport}",
    )


def gpe_out(*, peer_ip: str, vni: int = 0) -> str:
    """The action tail handing a bare NSH packet (packet_type (1,0x894f)) to the next SFF's host."""
    return f"set_field:{vni}->tun_id,set_field:{peer_ip}->tun_dst,output:{GPE_OFPORT}"


def gpe_in_match(*, spi: int, si: int) -> str:
    """The match of NSH arriving over VXLAN-GPE (bare NSH, no Ethernet: packet_type must be named)."""
    return f"in_port={GPE_OFPORT},packet_type=(1,0x894f),nsh_spi={spi:#x},nsh_si={si}"
