"""The compute hosts of the local VIM and the virtual links between them (Neutron's br-tun role).

A *site* is one compute host as the VIM drives it: the OVSDB of its integration bridge, the
network namespace the bridge's ports live in (``None``: the VIM's own, i.e. today's single-host
VIM on a shared OVS), and where its SFF is for the controller. A single-host VIM has exactly one
site whose switch is its bridge's name; a VIM over a rack of hosts (:class:`dataplane.hosts.Cluster`
or ``nfv up --hosts N``) has one site per host, switch = host name.

Virtual links span hosts as one L2 segment: on every host a VL's ports are access ports tagged
with the VL's local VLAN (the same tag on every host: one VIM allocates it), the controller sends
unclassified traffic to NORMAL, and VXLAN ports with a fixed ``key`` (the VL's segment id, VNI =
its VLAN tag) and a fixed ``remote_ip`` join the hosts' segments, tagged like the VL's other
ports, so NORMAL learns and floods across hosts. Those ports form a *star* around the *hub*
(:mod:`vnfm.vim.star`; where the DHCP servers and monitoring probes sit, the first host to begin
with): NORMAL has no split horizon, so a full mesh would loop broadcasts; a tree cannot.
Traffic between two other hosts hairpins through the hub.
Fixed-key ports coexist with the flow-based ``vx0`` on UDP 4789: OVS picks the most specific
tunnel port (key + remote) for what arrives, so ``vx0`` keeps whatever else uses it.

Hosts join and leave a running VIM (``nfv host add|remove``): a joining host gets a port to the
hub for every VL already spanning hosts and the hub one to it (:func:`join`); a leaving one's
ports on the hub go (:func:`leave`). When the hub fails or leaves, the star re-roots at the
first host up (:func:`apply` of a :func:`vnfm.vim.star.restar` change).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dataplane.ovsdb import Ovsdb, OvsdbError, PortInfo, PortSpec
from dataplane.underlay import GPE_PORT, INTEGRATION_BRIDGE, VXLAN_OVERHEAD, VXLAN_UDP, HostPlan
from vnfm.errors import VimError
from vnfm.model import Network
from vnfm.vim import star
from vnfm.vim.star import SEGMENT_PORT  # "vl<vlan:03x>h<peer host id>": one per (VL, peer host) on each host

UNDERLAY_MTU = 1700   # a rack for this VIM: VL frames of NSH_MTU (1600) in GPE+NSH (+74) or VXLAN (+50)


@dataclass(frozen=True, eq=False)
class HostSite:
    """One compute host as the local VIM drives it (its fields feed ``ComputeHostInfo``)."""

    name: str
    db: Ovsdb
    bridge: str
    netns: str | None = None      # where the bridge's ports (veth host ends) live; None: ours
    switch: str = ""              # the controller document's switch name ("" = the bridge's name)
    dpid: int = 0
    ovsdb: str = ""               # its OVSDB remote, for the controller's probes
    host_id: int = 0
    underlay_ip: str = ""
    underlay_mtu: int = 0         # 0: no underlay (single host)
    gpe_port: str = ""
    uplink: str = ""

    @property
    def switch_name(self) -> str:
        return self.switch or self.bridge


def site_of(plan: HostPlan, db: Ovsdb, *, ovsdb: str, underlay_mtu: int) -> HostSite:
    """The site of a planned compute host (:mod:`dataplane.underlay`) whose OVSDB is ``db``."""
    return HostSite(plan.name, db, INTEGRATION_BRIDGE, plan.netns, switch=plan.name, dpid=plan.datapath_id,
                    ovsdb=ovsdb, host_id=plan.host_id, underlay_ip=plan.underlay_ip, underlay_mtu=underlay_mtu,
                    gpe_port=GPE_PORT, uplink=plan.uplink)


def segment_id(net: Network) -> int:
    """A VL's VXLAN VNI: its local VLAN tag (1..4094), the same on every host of one VIM."""
    return net.vlan


def segment_port(net: Network, peer: HostSite) -> str:
    return star.tunnel_name(net.vlan, peer.host_id)


def is_segment_port(name: str) -> bool:
    return star.is_tunnel(name)


def check_mtu(sites: Sequence[HostSite], mtu: int) -> None:
    """A VL frame of ``mtu`` bytes must fit the underlay in VXLAN (+50 B): the drop is silent."""
    for s in sites:
        if s.underlay_mtu and s.underlay_mtu < mtu + VXLAN_OVERHEAD:
            raise ValueError(f"compute host {s.name}: underlay MTU {s.underlay_mtu} cannot carry VL frames of "
                             f"{mtu} bytes in VXLAN (needs {mtu + VXLAN_OVERHEAD})")


def star_hosts(sites: Iterable[HostSite]) -> tuple[star.StarHost, ...]:
    return tuple(star.StarHost(s.name, s.host_id, s.underlay_ip) for s in sites)


def tunnel_spec(t: star.Tunnel, prefix: str) -> PortSpec:
    """The OVS port of a star tunnel: an access port of the VL's tag, fixed key and remote."""
    return PortSpec(t.name, "vxlan", tag=t.vlan,
                    options={"remote_ip": t.remote_ip, "key": str(t.vlan), "dst_port": str(VXLAN_UDP)},
                    external_ids={"nfv-owner": prefix, "nfv-role": "segment", "nfv-network": t.network,
                                  "nfv-peer": t.peer})


def segment_ports(sites: Sequence[HostSite], networks: Iterable[Network], prefix: str,
                  hub: str | None = None) -> Mapping[str, tuple[PortSpec, ...]]:
    """Site name -> the VXLAN ports joining ``networks`` across ``sites`` (a star around ``hub``,
    default the first site; none for a single site)."""
    if len(sites) < 2:
        return {s.name: () for s in sites}
    segments = {n.vlan: n.name for n in networks}
    tunnels = star.star(hub or sites[0].name, star_hosts(sites), segments)
    return {s.name: tuple(tunnel_spec(t, prefix) for t in tunnels if t.host == s.name) for s in sites}


def segments_of(ports: Iterable[PortInfo]) -> dict[int, str]:
    """VLAN -> VL name of the star tunnels among ``ports`` (what spans hosts, read back from a
    host's bridge after a restart forgot it)."""
    out = {}
    for p in ports:
        net = p.external_ids.get("nfv-network")
        if is_segment_port(p.name) and net and p.external_ids.get("nfv-role") == "segment":
            try:
                out[int(p.name[len(SEGMENT_PORT):].split("h")[0], 16)] = net
            except ValueError:
                continue
    return out


def apply(change: star.StarChange, by_name: Mapping[str, HostSite], prefix: str) -> None:
    """Make ``change`` on the hosts' bridges (removals first: a port name is never reused for
    another remote); VimError naming the host whose OVSDB refused."""
    for host in sorted({h for h, _ in change.remove} | {t.host for t in change.add}):
        site = by_name[host]
        try:
            site.db.delete_ports(site.bridge, list(change.removed_on(host)))
            site.db.ensure_ports(site.bridge, [tunnel_spec(t, prefix) for t in change.added_on(host)])
        except OvsdbError as exc:
            raise VimError(f"cannot re-root the virtual links' tunnels at {change.hub} on {host}: {exc}") from exc


def ports_to(ports: Iterable[PortInfo], peer: str) -> list[str]:
    """The names of the VL tunnel ports among ``ports`` that lead to host ``peer``."""
    return [p.name for p in ports if is_segment_port(p.name) and p.external_ids.get("nfv-peer") == peer]


def join(hub: HostSite, new: HostSite, networks: Iterable[Network], prefix: str) -> None:
    """Join ``new`` to every VL of ``networks`` (those spanning hosts): its ports to the hub and
    the hub's to it. On failure the hub's new ports go again; VimError naming the host."""
    specs = segment_ports((hub, new), networks, prefix, hub.name)
    try:
        hub.db.ensure_ports(hub.bridge, list(specs[hub.name]))
        new.db.ensure_ports(new.bridge, list(specs[new.name]))
    except OvsdbError as exc:
        try:
            hub.db.delete_ports(hub.bridge, [p.name for p in specs[hub.name]])
        except OvsdbError:
            pass
        raise VimError(f"cannot join compute host {new.name} to the virtual links: {exc}") from exc


def leave(hub: HostSite, gone: HostSite) -> list[str]:
    """Remove the hub's VL tunnel ports to ``gone`` (its own go with its OVS); their names."""
    try:
        stale = ports_to(hub.db.list_ports(hub.bridge), gone.name)
        hub.db.delete_ports(hub.bridge, stale)
    except OvsdbError as exc:
        raise VimError(f"cannot remove the virtual links' tunnel ports to {gone.name} on {hub.name}: {exc}") from exc
    return stale
