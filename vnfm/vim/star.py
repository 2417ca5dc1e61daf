"""The virtual links' tunnel star over the local VIM's compute hosts, and how it re-roots (pure).

Why a star: VLs span hosts as one L2 segment that NORMAL floods and learns across VXLAN ports
with a fixed key; NORMAL has no split horizon, so a full mesh would loop broadcasts, a tree
cannot. The star's centre, the *hub*, also carries the VIM's DHCP servers and monitoring probes
(Neutron's network node). When the hub fails or leaves, the role moves to the first other host
that is up (lowest host number, :func:`next_hub`) and the star is re-rooted there
(:func:`restar`): every reachable host gets the ports the new star wants and loses the ones it
does not; an unreachable host (its OVS stopped) is put right when it is back, as a spoke.

A tunnel port is named ``vl<vlan:03x>h<peer host id>``: one per (VL, peer) on each host, so its
name says all its options (key = VNI = the VL's VLAN tag, remote = the peer's underlay address)
and comparing names is comparing ports.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

SEGMENT_PORT = "vl"


@dataclass(frozen=True)
class StarHost:
    """A compute host as the star sees it."""

    name: str
    host_id: int
    underlay_ip: str


@dataclass(frozen=True)
class Tunnel:
    """One VXLAN port of a VL on ``host`` towards ``peer``."""

    host: str
    vlan: int
    network: str
    peer: str
    peer_id: int
    remote_ip: str

    @property
    def name(self) -> str:
        return tunnel_name(self.vlan, self.peer_id)


@dataclass(frozen=True)
class StarChange:
    """What re-rooting (or repairing) the star does on the reachable hosts."""

    hub: str
    add: tuple[Tunnel, ...]                  # ports to create
    remove: tuple[tuple[str, str], ...]      # (host, port name) to delete

    def added_on(self, host: str) -> tuple[Tunnel, ...]:
        return tuple(t for t in self.add if t.host == host)

    def removed_on(self, host: str) -> tuple[str, ...]:
        return tuple(p for h, p in self.remove if h == host)


def tunnel_name(vlan: int, peer_id: int) -> str:
    return f"{SEGMENT_PORT}{vlan:03x}h{peer_id}"


def is_tunnel(name: str) -> bool:
    return name.startswith(SEGMENT_PORT) and "h" in name[len(SEGMENT_PORT):]


def star(hub: str, hosts: Sequence[StarHost], segments: Mapping[int, str]) -> tuple[Tunnel, ...]:
    """Every tunnel port of the star around ``hub`` joining ``segments`` (VLAN -> VL name) over
    ``hosts``: the hub one to each other host per VL, each other host one to the hub. None for a
    single host. ValueError if ``hub`` is not among ``hosts``."""
    centre = next((h for h in hosts if h.name == hub), None)
    if centre is None:
        raise ValueError(f"hub {hub!r} is not one of the compute hosts {[h.name for h in hosts]}")
    spokes = [h for h in hosts if h.name != hub]
    out = []
    for vlan, net in sorted(segments.items()):
        out += [Tunnel(hub, vlan, net, s.name, s.host_id, s.underlay_ip) for s in spokes]
        out += [Tunnel(s.name, vlan, net, hub, centre.host_id, centre.underlay_ip) for s in spokes]
    return tuple(out)


def next_hub(hosts: Sequence[StarHost], down: Collection[str]) -> str | None:
    """The host the hub role moves to: the lowest-numbered one not ``down`` (None: there is none)."""
    up = sorted((h for h in hosts if h.name not in down), key=lambda h: (h.host_id, h.name))
    return up[0].name if up else None


def restar(hub: str, hosts: Sequence[StarHost], segments: Mapping[int, str],
           present: Mapping[str, Collection[str]]) -> StarChange:
    """The change that makes the reachable hosts (the keys of ``present``: host -> the tunnel
    ports it has now) carry exactly the star around ``hub``; a host not in ``present`` is left
    alone (its OVS does not answer) though it stays a spoke of the new star."""
    want = [t for t in star(hub, hosts, segments) if t.host in present]
    names = {(t.host, t.name) for t in want}
    add = tuple(t for t in want if t.name not in present[t.host])
    remove = tuple(sorted((h, p) for h, ports in present.items() for p in ports
                          if is_tunnel(p) and (h, p) not in names))
    return StarChange(hub, add, remove)
