"""The ``local`` VIM: this host as a tiny compute/network/storage cloud.

A server is a runc container (the VDU's "VM": its own mount, PID, UTS, IPC namespaces, a
copy-on-write root filesystem from its image, first boot with user_data: ``vnfm.vim.boot``)
joined to a network namespace whose ports are veth pairs with host ends as access ports (a local
VLAN tag per network, as Neutron's OVS agent does) on an existing integration bridge; its volume
is a sparse file. Everything is named from the server key, which starts with the deployment
prefix, so the VIM can find all of it again after a restart and tell its own leftovers from
anyone else's.

One VIM drives one compute host (an existing bridge, ports in our namespace) or several
(:mod:`vnfm.vim.sites`: each a namespace with its own OVS): a server goes on ``req.host``, its
ports' host ends into that host's namespace and onto its bridge; VLs span the hosts in VXLAN, and
the DHCP servers and monitoring probes sit on the *hub* (the first host, until it fails or
leaves: ``fail_site``/``remove_site`` move the role to the first host up, ``vnfm.vim.hub``).
Hosts join and leave a running VIM (``add_site``/``remove_site``: ``nfv host add|remove``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dataplane import netns
from dataplane.ovsdb import Ovsdb, OvsdbError, PortSpec
from dataplane.underlay import VXLAN_PORT
from vnfm.errors import VimError
from vnfm.lifecycle import probe_ip
from vnfm.model import IpForwarding, Network
from vnfm.vim import container, hostio, process, sites, star
from vnfm.vim.base import ComputeHostInfo, DhcpHost, ProbesUnavailable, Server, ServerRequest
from vnfm.vim.boot import boot
from vnfm.vim.dhcp import DhcpAgent
from vnfm.vim.hub import ProbePorts, read_hub, write_hub
from vnfm.vim.sites import HostSite

KEY_SUFFIX = 5          # code(3) + vdu(1) + instance(1)
BOOT_TIMEOUT = 20.0     # a user_data still running then is cut; the VNF goes ACTIVE anyway
PROBES_SETTLE = 10.0    # s after the hub moved that a failed probe is no verdict (ARP, MACs being learnt)
ROOT_DISK_BYTES = 128 * 2**20   # tmpfs cap of a VDU's writable layer
SERVERS = "servers"  # under the VIM's state directory: one workdir per VDU
log = logging.getLogger(__name__)


class LocalVim:
    """``ovsdb``/``bridge``: the one compute host's; ``hosts``: several instead (the hub, where
    DHCP and probes live, is the first unless ``state_dir`` records another: :mod:`vnfm.vim.hub`;
    ``ovsdb``/``bridge`` are then unused), see :meth:`on_hosts`."""

    def __init__(self, ovsdb: Ovsdb, bridge: str, prefix: str, state_dir: Path, *,
                 mtu: int = netns.NSH_MTU, boot_timeout: float = BOOT_TIMEOUT,
                 root_disk_bytes: int = ROOT_DISK_BYTES, host_name: str = "compute1",
                 hosts: Sequence[HostSite] = ()) -> None:
        if not prefix or len(prefix) > 9 or "-" in prefix:
            raise ValueError("prefix must be 1..9 characters without '-'")
        self.sites = tuple(hosts) or (HostSite(host_name, ovsdb, bridge),)
        if len({s.name for s in self.sites}) != len(self.sites):
            raise ValueError(f"compute host names repeat: {[s.name for s in self.sites]}")
        sites.check_mtu(self.sites, mtu)
        self.state_dir = Path(state_dir)
        recorded = read_hub(self.state_dir)    # the hub moved before this NFVO start: it stays moved
        self.hub = next((s for s in self.sites if s.name == recorded), self.sites[0])
        self.prefix, self.mtu = prefix, mtu
        self.boot_timeout, self.root_disk_bytes = boot_timeout, root_disk_bytes
        self.servers_dir = self.state_dir / SERVERS
        self.volumes_dir = self.state_dir / "volumes"
        self.images_dir = self.state_dir / "images"     # the built-in cirros rootfs
        self.runc = container.Runc(self.state_dir / "runc")
        self.cgroup_parent = f"nfvchain-{prefix}"       # under runc's (our) own cgroup
        self.probes = ProbePorts(prefix, mtu)
        self.probe_ns = self.probes.namespace
        self.dhcp = DhcpAgent(self.hub.db, self.hub.bridge, prefix, self.state_dir / "dhcp", mtu=mtu,
                              link_ns=self.hub.netns)
        self._segments: dict[int, Network] = {}    # VLs (by VLAN) whose cross-host VXLAN ports are in place
        self._sites_lock = threading.RLock()          # hosts joining or leaving vs. VLs joining them
        self.failed: dict[str, str] = {}     # host -> why it is failed (Masakari: fenced), whatever it answers
        self._probes_settle = 0.0            # until when a failed probe says nothing (the hub moved: _move_hub)

    @property
    def db(self) -> Ovsdb:
        return self.hub.db

    @property
    def bridge(self) -> str:
        return self.hub.bridge

    @property
    def host_name(self) -> str:
        return self.hub.name

    @classmethod
    def on_hosts(cls, hosts: Sequence[HostSite], prefix: str, state_dir: Path, **kwargs: Any) -> "LocalVim":
        """A VIM over several compute hosts (``hosts[0]`` carries DHCP and probes)."""
        if not hosts:
            raise ValueError("a VIM needs at least one compute host")
        return cls(hosts[0].db, hosts[0].bridge, prefix, state_dir, hosts=hosts, **kwargs)

    def hosts(self) -> tuple[ComputeHostInfo, ...]:
        """Every compute host: this machine's cores, memory and state disk each (they share them),
        what is placed there, and where its SFF is (for a single host: switch = the bridge's name)."""
        placed: dict[str, list[tuple[str, dict[str, Any]]]] = {s.name: [] for s in self.sites}
        for key in sorted(self.server_keys()):
            info = hostio.read_json(self.servers_dir / key / "server.json")
            host = str(info.get("host") or "")
            placed[host if host in placed else self.sites[0].name].append((key, info))   # unknown: the first host's
        disk = shutil.disk_usage(self.state_dir if self.state_dir.exists() else "/")
        cpus, mem = os.cpu_count() or 1, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        out = []
        for s in self.sites:
            used = [u for _, u in placed[s.name]]
            reason = self.failed.get(s.name) or (self._down(s) if s.netns is not None else "")   # one host: up
            out.append(ComputeHostInfo(
                s.name, not reason, cpus, mem, disk.total, sum(int(u.get("cpus") or 1) for u in used),
                sum(int(u.get("mem_bytes") or 0) for u in used), sum(int(u.get("volume_bytes") or 0) for u in used),
                tuple(k for k, _ in placed[s.name]), reason, switch=s.switch_name, bridge=s.bridge, dpid=s.dpid,
                ovsdb=s.ovsdb, host_id=s.host_id, underlay_ip=s.underlay_ip, gpe_port=s.gpe_port,
                tunnel_ports=self._tunnel_ports(s) if len(self.sites) > 1 else (), netns=s.netns or "",
                uplink=s.uplink))
        return tuple(out)

    def purge_host(self, host: str) -> tuple[str, ...]:
        """Ports and host-side links on ``host`` of servers that are not placed there (any more):
        what an evacuation could not delete while the host's OVS was down; and, on a host that was
        the hub, its DHCP and probe ports (moved meanwhile); its VL tunnels made those of a spoke of
        the star (:meth:`_repair`). Returns the names of what went."""
        site = self.site(host)
        n = len(self.prefix) + KEY_SUFFIX
        first = self.sites[0].name
        here = {k for k in self.server_keys()
                if str(hostio.read_json(self.servers_dir / k / "server.json").get("host") or first) == host}

        def stale(name: str) -> bool:
            if site is not self.hub and (name.startswith(f"{self.prefix}-d") or self.probes.is_port(name)):
                return True     # DHCP (``-d<tag>``) and probe ports of a former hub
            return name.startswith(self.prefix) and "-" not in name and len(name) > n and name[:n] not in here

        ports = [p.name for p in self._ovs_ports(site) if stale(p.name)]
        try:
            site.db.delete_ports(site.bridge, ports)
        except OvsdbError as exc:
            raise VimError(f"cannot delete stale ports {ports} on {host}: {exc}") from exc
        links = [link for link in self._links(site) if stale(link)]
        for link in links:
            netns.delete_link(link, netns=site.netns, missing_ok=True)
        return tuple(sorted({*ports, *links, *self._repair(site)}))

    def fail_site(self, host: str, why: str) -> None:
        """``host`` is failed (fenced: down whatever it answers) and leaves the VL star (the MACs
        learned on its tunnels go with them, so NORMAL floods and learns the new paths); if it is
        the hub, its role moves to the first other host up first. VimError if none is."""
        with self._sites_lock:
            site = self.site(host)
            self.failed[host] = why
            if len(self.sites) > 1:
                self._move_hub(site) if site is self.hub else self._restar()

    def _members(self, back: HostSite | None = None) -> list[HostSite]:
        """The hosts the VL star spans: all but the failed ones (``back``: one recovering)."""
        return [s for s in self.sites if s.name not in self.failed or s is back]

    def _move_hub(self, old_hub: HostSite) -> None:
        """The hub's role leaves ``old_hub`` (:meth:`_restar`); the probes tell nothing meanwhile,
        nor fail for PROBES_SETTLE after (their new paths being learnt): ``probe``."""
        self._probes_settle = math.inf
        try:
            self._restar(old_hub=old_hub)
        finally:
            self._probes_settle = time.monotonic() + PROBES_SETTLE

    def _restar(self, old_hub: HostSite | None = None, back: HostSite | None = None) -> star.StarChange:
        """Every answering member's VL tunnels made those of the star (:func:`vnfm.vim.star.restar`).
        ``old_hub``: the hub role leaves it for the first host up (recorded; the DHCP servers, same
        hosts and lease files, and the probes start there; what cannot be removed on it now goes
        when it is back, :meth:`purge_host`). ``back``: a host recovering rejoins as a spoke."""
        t0 = time.monotonic()
        members = self._members(back)
        # a failed host is not written to (its OVSDB may be stopped, the IDL's cache of it stale)
        answering = [s for s in members if not self._down(s)]
        hub = self.hub
        if old_hub is not None:
            new_name = star.next_hub(sites.star_hosts(self.sites), {s.name for s in self.sites if s not in answering}
                                     | {old_hub.name})
            if new_name is None:
                raise VimError(f"compute host {old_hub.name} is the VIM's hub and no other host is up to take its "
                               "role (DHCP, probes, the virtual links' tunnels)")
            hub = self.site(new_name)
        present = {s.name: [p.name for p in self._ovs_ports(s) if sites.is_segment_port(p.name)] for s in answering}
        segments = {v: n.name for v, n in self._segments.items()}
        for s in answering:
            segments.update(sites.segments_of(self._ovs_ports(s)))
        change = star.restar(hub.name, sites.star_hosts(members), segments, present)
        if old_hub is not None:
            self.hub = hub
            write_hub(self.state_dir, hub.name)
        sites.apply(change, {s.name: s for s in self.sites}, self.prefix)
        if old_hub is not None:
            old_answers = old_hub in answering
            self.dhcp.move(hub.db, hub.bridge, hub.netns, old_answers=old_answers)
            self.probes.unplug(old_hub, self._links(old_hub), old_answers=old_answers)
            self.probes.ensure(hub, self.probes.networks, self._links(hub))
            log.warning("VIM hub moved from %s to %s in %.2f s: %d tunnel ports added, %d removed",
                        old_hub.name, hub.name, time.monotonic() - t0, len(change.add), len(change.remove))
        return change

    def _repair(self, site: HostSite) -> list[str]:
        """``site`` back in the VL star as a spoke (a former hub still has its tunnels to every
        spoke, the hub none to it); the tunnel ports removed on it."""
        with self._sites_lock:
            if len(self.sites) < 2 or site is self.hub:
                return []
            return [p for h, p in self._restar(back=site).remove if h == site.name]

    def add_site(self, site: HostSite) -> None:
        """A compute host joins (``nfv host add``), with every VL spanning hosts; VimError if its
        name is taken or its ports cannot be made (none are left)."""
        with self._sites_lock:
            if any(s.name == site.name for s in self.sites):
                raise VimError(f"compute host {site.name} exists already")
            sites.check_mtu([site], self.mtu)
            sites.join(self.hub, site, self._segments.values(), self.prefix)
            self.sites = (*self.sites, site)

    def remove_site(self, host: str) -> None:
        """A compute host leaves (``nfv host remove``): refused while servers are placed there; the
        hub's role moves first if it is the hub; the hub's VL tunnel ports to it go."""
        with self._sites_lock:
            site = self.site(host)
            held = next(h.servers for h in self.hosts() if h.name == host)
            if held:
                raise VimError(f"compute host {host} holds servers {', '.join(held)}")
            if site is self.hub:
                if len(self.sites) < 2:
                    raise VimError(f"compute host {host} is the VIM's only host: it stays")
                self._move_hub(site)
            sites.leave(self.hub, site)
            self.sites = tuple(s for s in self.sites if s.name != host)
            self.failed.pop(host, None)

    def site(self, host: str | None) -> HostSite:
        """The compute host named ``host`` (None: the hub)."""
        if host is None:
            return self.hub
        for s in self.sites:
            if s.name == host:
                return s
        raise VimError(f"no compute host {host!r} (hosts: {', '.join(s.name for s in self.sites)})")

    # -- servers ---------------------------------------------------------------------------------
    def create_server(self, req: ServerRequest) -> Server:
        key = req.key
        if not key.startswith(self.prefix):
            raise VimError(f"server key {key!r} lacks prefix {self.prefix!r}")
        site = self.site(req.host)
        workdir = self.servers_dir / key
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            netns.create_netns(key)
            self._ensure_segments(p.network for p in req.ports)
            for p in req.ports:
                netns.create_veth(key, p.iface, p.name, addresses=[p.ip] if p.ip else [],
                                  mac=p.mac, mtu=self.mtu, host_ns=site.netns)
            ofports = site.db.ensure_ports(site.bridge, [
                PortSpec(p.name, tag=p.network.vlan, mtu_request=self.mtu, ofport_request=p.ofport_request,
                         external_ids={"nfv-owner": self.prefix, "attached-mac": p.mac, "iface-id": p.name,
                                       **p.external_ids}) for p in req.ports])
            volume = None
            if req.volume_bytes:
                self.volumes_dir.mkdir(parents=True, exist_ok=True)
                volume = str(self.volumes_dir / f"{key}.img")
                with open(volume, "wb") as f:
                    f.truncate(req.volume_bytes)   # sparse: no blocks until written
            booted = boot(req, workdir, volume, runc=self.runc, images_dir=self.images_dir,
                          root_disk_bytes=self.root_disk_bytes, cgroup_parent=self.cgroup_parent,
                          boot_timeout=self.boot_timeout)
            pid = booted.pid
            hostio.write_json(workdir / "server.json", {"pid": pid, "started": booted.started,
                                                  "ofports": ofports, "volume": volume,
                                                  "limits": booted.limits, "boot": booted.boot,
                                                  "labels": dict(req.labels), "host": site.name,
                                                  "cpus": req.cpus, "mem_bytes": req.mem_bytes,
                                                  "volume_bytes": req.volume_bytes})
            return Server(key, key, pid, ofports, volume, booted.limits, booted.boot, site.name)
        except Exception as exc:
            self.delete_server(key)
            raise VimError(f"cannot create server {key}: {exc}") from exc

    def delete_server(self, key: str) -> None:
        if not key.startswith(self.prefix):
            raise VimError(f"refusing to delete {key!r}: not ours (prefix {self.prefix!r})")
        try:
            self.runc.remove(key)
        except container.ContainerError as exc:
            raise VimError(f"cannot delete server {key}: {exc}") from exc
        process.stop(process.pids_in_netns(key))   # strays: `ip netns exec` helpers, probes
        for site in self.sites:
            if site.netns is not None and not netns.netns_exists(site.netns):
                continue        # the host is gone, and its ports with it
            try:   # a failed host's OVS does not answer: its ports go when it is back (purge_host)
                if site.name not in self.failed:
                    site.db.delete_ports(site.bridge, [p.name for p in self._ovs_ports(site) if p.name[:len(key)] == key])
            except OvsdbError as exc:
                raise VimError(f"cannot delete ports of {key} on {site.name}: {exc}") from exc
            for link in self._links(site):
                if link[:len(key)] == key:
                    netns.delete_link(link, netns=site.netns, missing_ok=True)
        netns.delete_netns(key)
        container.remove_cgroup_parent(self.cgroup_parent)
        try:
            container.unmount_under((self.servers_dir / key).resolve())
        except container.ContainerError as exc:
            raise VimError(f"cannot delete server {key}: {exc}") from exc
        vol = self.volumes_dir / f"{key}.img"
        vol.unlink(missing_ok=True)
        shutil.rmtree(self.servers_dir / key, ignore_errors=True)
        if len(self.sites) > 1 and not self.server_keys():
            self._drop_segments()   # the last server is gone: no VL needs to span hosts

    def _drop_segments(self) -> None:
        """Remove every VL's VXLAN ports from every host (they come back with the next server)."""
        with self._sites_lock:
            for site in self.sites:
                stale = [p.name for p in self._ovs_ports(site) if sites.is_segment_port(p.name)]
                try:
                    site.db.delete_ports(site.bridge, stale)
                except OvsdbError as exc:
                    raise VimError(f"cannot delete the VL tunnel ports {stale} of {site.name}: {exc}") from exc
            self._segments.clear()

    def server_keys(self) -> set[str]:
        n = len(self.prefix) + KEY_SUFFIX

        def mine(name: str) -> bool:
            return name.startswith(self.prefix) and "-" not in name and len(name) >= n

        keys = {x for x in netns.list_netns() if mine(x)}
        for site in self.sites:
            keys |= {x[:n] for x in self._links(site) if mine(x)}
            keys |= {p.name[:n] for p in self._ovs_ports(site) if mine(p.name)}
        keys |= {k for k in self.runc.names() if mine(k)}
        real = self.servers_dir.resolve()
        keys |= {Path(m).relative_to(real).parts[0] for m in container.mounts_under(real) if Path(m) != real}
        for d in (self.servers_dir, self.volumes_dir):
            if d.is_dir():
                keys |= {p.name.split(".")[0] for p in d.iterdir() if mine(p.name)}
        return keys

    def alive(self, key: str) -> bool:
        info = hostio.read_json(self.servers_dir / key / "server.json")
        if not info or not info.get("pid") or not netns.netns_exists(key):
            return False
        return process.is_alive(info["pid"], info.get("started"))

    def exec(self, key: str, argv: Sequence[str], *,
             timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """``runc exec``: inside the VDU's container (its filesystem, PID namespace, limits)."""
        if key not in self.runc.names():
            raise VimError(f"no server {key}")
        return self.runc.exec(key, list(argv), timeout)

    def console(self, key: str) -> str:
        log = self.servers_dir / key / "console.log"
        if not log.exists():
            raise VimError(f"no server {key}")
        return log.read_text(errors="replace")

    def close(self) -> None:
        """Containers run on their own (``runc run --detach``); the DHCP agent's supervisor stops."""
        self.dhcp.close()

    # -- probes ----------------------------------------------------------------------------------
    def probe_port(self, net: Network) -> str:
        return self.probes.port(net)

    def ensure_probes(self, networks: Sequence[Network]) -> None:
        """A probe port on each of ``networks`` on the hub (vnfm.vim.hub), none elsewhere."""
        with self._sites_lock:     # not while the hub moves
            self._ensure_segments([n for n in networks if probe_ip(n)])
            self.probes.ensure(self.hub, networks, self._links(self.hub))

    def probe(self, kind: str, network: Network, ip: str, *, port: int = 80,
              timeout: float = 1.0) -> bool:
        """ProbesUnavailable while the hub is down (failed: until its role moves; its OVS not
        answering) or its role moves, and instead of a failure for PROBES_SETTLE after a move."""
        hub, settle = self.hub, self._probes_settle
        down = self.failed.get(hub.name) or (self._down(hub) if hub.netns is not None else "")
        if down or settle == math.inf:
            raise ProbesUnavailable(f"the probes' host {hub.name} is down: {down}" if down else
                                    f"the hub's role is moving to {hub.name}")
        answered = self.probes.probe(kind, ip, port=port, timeout=timeout)
        if not answered and time.monotonic() < settle:
            raise ProbesUnavailable(f"the probes moved to {hub.name} a moment ago: their paths are being learnt")
        return answered

    # -- internals -------------------------------------------------------------------------------
    def _ovs_ports(self, site: HostSite | None = None) -> list[Any]:
        site = site or self.hub
        try:
            return site.db.list_ports(site.bridge)
        except OvsdbError:
            return []

    def _links(self, site: HostSite) -> list[str]:
        """The links in the namespace of ``site``'s bridge ports ([] if that host is gone)."""
        if site.netns is not None and not netns.netns_exists(site.netns):
            return []
        return netns.list_links(netns=site.netns)

    def _down(self, site: HostSite) -> str:
        """Why ``site`` cannot take servers ("" when it can): its namespace or bridge is gone."""
        if site.netns is not None and not netns.netns_exists(site.netns):
            return f"namespace {site.netns} is gone"
        try:
            site.db.list_ports(site.bridge)
        except OvsdbError as exc:
            return f"bridge {site.bridge} does not answer: {exc}"
        return ""

    def _tunnel_ports(self, site: HostSite) -> tuple[str, ...]:
        """Ports that bring other hosts' traffic in (the VL segments' and the flow-based VXLAN
        port): the controller never classifies what arrives on them."""
        return tuple(sorted(p.name for p in self._ovs_ports(site)
                            if sites.is_segment_port(p.name) or p.name == VXLAN_PORT))

    def _ensure_segments(self, networks: Iterable[Network]) -> None:
        """Join each network's segment across the hosts (VXLAN ports, star around the hub);
        no ports for one host, a no-op for networks already joined."""
        with self._sites_lock:   # a host joining meanwhile gets the VLs recorded before it
            new = {n.vlan: n for n in networks if n.vlan not in self._segments}
            if not new:
                return
            for name, specs in sites.segment_ports(self._members(), new.values(), self.prefix, self.hub.name).items():
                site = self.site(name)   # not a failed one: its ports come with its recovery (purge_host)
                try:
                    site.db.ensure_ports(site.bridge, list(specs))
                except OvsdbError as exc:
                    raise VimError(f"cannot join networks {sorted(n.name for n in new.values())} on {name}: {exc}") from exc
            self._segments.update(new)   # also with one host: a host added later joins them

    # -- DHCP (Neutron's DHCP agent) ---------------------------------------------------------
    def ensure_dhcp(self, networks: Sequence[Network], hosts: Sequence[DhcpHost]) -> None:
        """A dnsmasq on each network with hosts, none elsewhere (vnfm.vim.dhcp), on the first host."""
        self._ensure_segments(networks)
        self.dhcp.ensure(networks, hosts)

    def ip_forwarding(self, key: str) -> IpForwarding:
        """The server's sysctls, read from inside its network namespace (``/proc/sys/net`` shows
        the reading thread's): a short-lived thread enters it, so this thread never leaves ours."""
        if not key.startswith(self.prefix) or not netns.netns_exists(key):
            raise VimError(f"no server {key}")
        found: list[IpForwarding | OSError] = []

        def read() -> None:  # the thread ends inside the server's namespace: it is never reused
            try:
                netns.enter_netns(key)
                ipv6 = Path("/proc/sys/net/ipv6/conf/all/forwarding")  # absent if IPv6 is off
                found.append(IpForwarding(Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() != "0",
                                          ipv6.exists() and ipv6.read_text().strip() != "0"))
            except OSError as exc:  # handed to the caller's thread
                found.append(exc)

        worker = threading.Thread(target=read, name=f"sysctl-{key}", daemon=True)
        worker.start()
        worker.join(5.0)
        result = found[0] if found else TimeoutError("no answer within 5 s")
        if isinstance(result, OSError):
            raise VimError(f"cannot read the IP forwarding sysctls of {key}: {result}") from result
        return result


def server_files(vim_dir: Path, name: str) -> list[Path]:
    """File ``name`` in each VDU's workdir (e.g. a counter SF's ``counter.json``). Never search
    the VIM's directory recursively: a ``host``-image VDU's root filesystem is mounted inside its
    workdir, and below it lies the whole host's, other stacks' reports included."""
    return sorted((Path(vim_dir) / SERVERS).glob(f"*/{name}"))
