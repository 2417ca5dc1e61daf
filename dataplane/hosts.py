"""Compute hosts simulated faithfully on one machine: a namespace, a private OVS, br-phy, br-int, tunnels.

Why namespaces and not one OVS with many bridges: a real multi-host overlay has one ovs-vswitchd
per hypervisor, an underlay IP per host, userspace tunnelling (``tnl_push``/``tnl_pop``) through
``br-phy``, and SFFs that only see each other through UDP. Running each host's daemons *inside*
its own network namespace gives exactly that, so the same controller code later runs on real
hosts. A process inherits the network namespace of the *thread* that forks it, and OvsInstance's
daemons die with that thread (PR_SET_PDEATHSIG), so each host keeps one long-lived thread that has
setns()'d into the host namespace and starts its daemons (:class:`NetnsThread`).

The plan (names, addresses, ports) is :mod:`dataplane.underlay`; the recipe and its pitfalls
(arp off on the uplink, fixed br-phy MAC + pre-set tunnel neighbours, MTU, ptap, dst_port=4790)
are in ../shared/notes/vxlan-gpe-nsh.md.

What a controller renders per host (tests/integration/dataplane/test_hosts.py does it by hand):
a hop to an SF on another host = ``decap()`` (Ethernet off), ``tun_dst`` = that host's underlay IP,
output ``gpe0``; NSH arriving there matches ``in_port=gpe0,packet_type=(1,0x894f),nsh_spi,nsh_si``
and reaches a local SF by ``encap(ethernet)`` + ``eth_dst``; a VL spans hosts through ``vx0`` with
``tun_id`` = its segment id; a path end on another host than the ingress reads the ingress host and
segment from the context (:mod:`dataplane.nshcontext`).
"""

from __future__ import annotations

import ipaddress
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dataplane import netns
from dataplane.lab import Host, new_prefix, stop_process
from dataplane.ovs import OvsInstance
from dataplane.ovsdb import Ovsdb, PortSpec
from dataplane.underlay import (
    GPE_OFPORT, GPE_PORT, GPE_UDP, INTEGRATION_BRIDGE, OVERLAY_MTU, PHYSICAL_BRIDGE, UNDERLAY_MTU, UPLINK_OFPORT,
    VXLAN_OFPORT, VXLAN_PORT, VXLAN_UDP, HostPlan, UnderlayPlan, plan_underlay,
)

T = TypeVar("T")
IFF_NOARP = 0x80
NUD_PERMANENT = 0x80


class HostError(RuntimeError):
    """A compute host or the rack could not be built or torn down (the message names it)."""


class NetnsThread:
    """A long-lived thread inside ``ns`` that runs calls for us, one at a time.

    Why: processes forked by it start in ``ns`` (its daemons also die when it exits), and
    per-namespace files (/proc/sys/net) read as that namespace's."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._jobs: SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = SimpleQueue()
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._main, args=(ready,), name=f"netns:{ns}", daemon=True)
        self._thread.start()
        try:
            ready.result()
        except OSError as exc:
            raise HostError(f"cannot enter netns {ns!r}: {exc}") from exc

    def _main(self, ready: Future[None]) -> None:
        try:
            netns.enter_netns(self.ns)
        except OSError as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            fn, fut = job
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the caller
                fut.set_exception(exc)

    def call(self, fn: Callable[[], T]) -> T:
        if not self._thread.is_alive():
            raise HostError(f"the thread of netns {self.ns!r} has ended")
        fut: Future[T] = Future()
        self._jobs.put((fn, fut))
        return fut.result()

    def close(self) -> None:
        """End the thread (idempotent); daemons it started get SIGTERM if still running."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


def _sysctl(key: str, value: str) -> None:
    Path("/proc/sys", *key.split(".")).write_text(value)


def _quiet_link(ipr: IPRoute, ifname: str, *, mtu: int, noarp: bool = False) -> int:
    """MTU, optionally no ARP, up: returns the ifindex."""
    idx = ipr.link_lookup(ifname=ifname)[0]
    ipr.link("set", index=idx, mtu=mtu)
    if noarp:
        ipr.link("set", index=idx, flags=IFF_NOARP, change=IFF_NOARP)
    ipr.link("set", index=idx, state="up")
    return int(idx)


def static_neighbour(host: Host, peer: Host) -> None:
    """A permanent ARP entry for ``peer`` on ``host``'s interface: for paths that carry IP only
    (a classifier matching ``ip`` lets no ARP through)."""
    with IPRoute(netns=host.ns, flags=0) as ipr:
        ipr.neigh("replace", dst=peer.ip, lladdr=peer.mac, ifindex=ipr.link_lookup(ifname=host.iface)[0],
                  state=NUD_PERMANENT)


class Rack:
    """The underlay segment: a Linux bridge in its own namespace (the top-of-rack switch)."""

    def __init__(self, plan: UnderlayPlan) -> None:
        self.plan = plan

    def start(self) -> None:
        ns, br = self.plan.rack_netns, self.plan.rack_bridge
        try:
            netns.create_netns(ns)
            with IPRoute(netns=ns, flags=0) as ipr:
                if not ipr.link_lookup(ifname=br):
                    ipr.link("add", ifname=br, kind="bridge", br_stp_state=0, br_forward_delay=0)
                _quiet_link(ipr, br, mtu=self.plan.mtu, noarp=True)
        except (OSError, NetlinkError, netns.NetnsError) as exc:
            self.stop()
            raise HostError(f"cannot build the rack {ns}/{br}: {exc}") from exc

    def stop(self) -> None:
        netns.delete_netns(self.plan.rack_netns)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Run ``argv`` in the rack namespace: ``tcpdump -i rack`` sees every underlay frame."""
        return netns.run_in_netns(self.plan.rack_netns, argv, **kwargs)

    @contextmanager
    def capture(self, pcap: Path, bpf: str = "udp", *, settle: float = 0.3) -> Iterator[Path]:
        """Capture the underlay (the rack bridge) into ``pcap`` while the block runs; decode it
        afterwards with ``tshark -r`` (vxlan + nsh dissectors)."""
        argv = ["tcpdump", "-i", self.plan.rack_bridge, "-n", "-U", "--immediate-mode", "-Z", "root", "-w", str(pcap), bpf]
        proc = self.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], 10.0)
            line = proc.stderr.readline() if ready else ""
            if "listening on" not in line:
                raise HostError(f"tcpdump on {self.plan.rack_netns}/{self.plan.rack_bridge} did not start: {line!r}")
            yield pcap
            time.sleep(settle)  # the last frames reach the file
        finally:
            stop_process(proc)


class ComputeHost:
    """One hypervisor: namespace, OVS (netdev), br-phy with the underlay IP, br-int with gpe0/vx0.

    ``start`` and ``stop`` are idempotent; a failed ``start`` leaves nothing behind."""

    def __init__(self, plan: HostPlan, underlay: UnderlayPlan, run_dir: Path) -> None:
        self.plan, self.underlay, self.run_dir = plan, underlay, Path(run_dir)
        self.ovs = OvsInstance(self.run_dir / "ovs")
        self.db: Ovsdb | None = None
        self._thread: NetnsThread | None = None
        self._endpoints: list[Host] = []
        self._owned: set[str] = set()
        self._count = 0

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def running(self) -> bool:
        return self.db is not None and self.ovs.running

    @property
    def endpoints(self) -> tuple[Host, ...]:
        return tuple(self._endpoints)

    def ovsdb(self) -> Ovsdb:
        if self.db is None:
            raise HostError(f"compute host {self.name} is not running")
        return self.db

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in this host's namespace thread (forks there start inside the host)."""
        if self._thread is None:
            raise HostError(f"compute host {self.name} is not running")
        return self._thread.call(fn)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "ComputeHost":
        if self.running:
            return self
        try:
            netns.create_netns(self.plan.netns)
            self._thread = NetnsThread(self.plan.netns)
            self._wire_uplink()
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.call(self.ovs.start)
            self.db = Ovsdb(self.ovs.db_sock)
            self._build_bridges()
        except BaseException as exc:
            self.stop()
            if isinstance(exc, Exception) and not isinstance(exc, HostError):
                raise HostError(f"cannot start compute host {self.name} ({self.plan.netns}): {exc}") from exc
            raise
        return self

    def stop(self) -> None:
        """Endpoints, OVS, uplink, namespace, thread, run dir: all gone (idempotent, best effort:
        every step is tried; the first error is raised afterwards)."""
        errors: list[BaseException] = []

        def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except Exception as exc:  # keep cleaning, report afterwards
                errors.append(exc)

        for ep in reversed(self._endpoints):
            attempt(self._remove, ep.ns, ep.port, owned=ep.ns in self._owned)
        self._endpoints.clear()
        if self.db is not None:
            attempt(self.db.close)
            self.db = None
        attempt(self.ovs.stop)
        attempt(netns.delete_netns, self.plan.netns)  # the uplink veth was in it: its rack end goes too
        for link in (self.plan.uplink, self.plan.rack_port):  # left in the root namespace by a failed start
            attempt(netns.delete_link, link)
        if self._thread is not None:
            self._thread.close()
            self._thread = None
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if errors:
            raise HostError(f"teardown of compute host {self.name}: {errors[0]}") from errors[0]

    def rebuild(self) -> None:
        """After ovs-vswitchd restarted (a supervisor's job): br-phy's tap is a new device, so its
        address goes back on; bridges and ports are ensured again (idempotent)."""
        self._build_bridges()

    def _wire_uplink(self) -> None:
        """veth uplink <-> rack port: the host end joins br-phy later (no ARP, no IPv6, no tx csum).
        Already there (a host a dead supervisor left, resumed): kept as it is."""
        p, rack = self.plan, self.underlay
        if netns.link_exists(p.uplink, netns=p.netns) and netns.link_exists(p.rack_port, netns=rack.rack_netns):
            return
        with IPRoute() as ipr:
            ipr.link("add", ifname=p.uplink, kind="veth", peer={"ifname": p.rack_port}, mtu=rack.mtu)
            ipr.link("set", index=ipr.link_lookup(ifname=p.rack_port)[0], net_ns_fd=rack.rack_netns)
            ipr.link("set", index=ipr.link_lookup(ifname=p.uplink)[0], net_ns_fd=p.netns)
        with IPRoute(netns=rack.rack_netns, flags=0) as ipr:
            idx = _quiet_link(ipr, p.rack_port, mtu=rack.mtu, noarp=True)
            ipr.link("set", index=idx, master=ipr.link_lookup(ifname=rack.rack_bridge)[0])
        with IPRoute(netns=p.netns, flags=0) as ipr:
            _quiet_link(ipr, p.uplink, mtu=rack.mtu, noarp=True)  # pitfall 7: the kernel must not answer ARP
        self.call(lambda: _sysctl(f"net.ipv6.conf.{p.uplink}.disable_ipv6", "1"))
        netns.set_tx_checksum(p.uplink, False, netns=p.netns)

    def _build_bridges(self) -> None:
        p, mtu, db = self.plan, self.underlay.mtu, self.ovsdb()
        db.ensure_bridge(PHYSICAL_BRIDGE, fail_mode="standalone", other_config={"hwaddr": p.phy_mac})
        db.ensure_ports(PHYSICAL_BRIDGE, [PortSpec(PHYSICAL_BRIDGE, "internal", mtu_request=mtu),
                                          PortSpec(p.uplink, ofport_request=UPLINK_OFPORT, mtu_request=mtu)])
        with IPRoute(netns=p.netns, flags=0) as ipr:
            idx = ipr.link_lookup(ifname=PHYSICAL_BRIDGE)[0]
            ipr.addr("replace", index=idx, address=p.underlay_ip, prefixlen=p.prefixlen)
            ipr.link("set", index=idx, state="up")
        self.call(lambda: _sysctl(f"net.ipv6.conf.{PHYSICAL_BRIDGE}.disable_ipv6", "1"))
        db.ensure_bridge(INTEGRATION_BRIDGE, fail_mode="secure", datapath_id=p.datapath_id,
                         external_ids={"nfv-host": p.name, "nfv-host-id": str(p.host_id)})
        flow_based = {"remote_ip": "flow", "key": "flow"}
        db.ensure_ports(INTEGRATION_BRIDGE, [
            PortSpec(GPE_PORT, "vxlan", ofport_request=GPE_OFPORT,
                     options={**flow_based, "exts": "gpe", "packet_type": "ptap", "dst_port": str(GPE_UDP)}),
            PortSpec(VXLAN_PORT, "vxlan", ofport_request=VXLAN_OFPORT,
                     options={**flow_based, "dst_port": str(VXLAN_UDP)}),
        ])

    # -- peers and endpoints -----------------------------------------------------------------
    def set_neighbours(self, peers: Sequence[HostPlan]) -> None:
        """Pre-set every peer's br-phy MAC as tunnel neighbour (pitfall 8: never rely on snooping
        alone). Entries age: call again periodically on a long-lived host."""
        for peer in peers:
            self.ovs.appctl("tnl/neigh/set", PHYSICAL_BRIDGE, peer.underlay_ip, peer.phy_mac)

    def plug(self, ip: str, *, mac: str | None = None, mtu: int = OVERLAY_MTU, ofport_request: int | None = None,
             gateway: str | None = None, into: Host | None = None, iface: str = "eth0") -> Host:
        """A namespace (a VDU's stand-in) on br-int: veth ``iface`` inside it, the peer end in the host
        namespace as a br-int port, tx checksum off on both ends. ``into`` adds the interface to an
        existing endpoint's namespace instead (one VDU with ports on several hosts, for benches).
        Removed by ``unplug``/``stop`` (a namespace only if this call made it)."""
        self._count += 1
        port = f"{self.plan.netns}v{self._count}p"
        if len(port) + 1 > 15:
            raise HostError(f"port name {port!r} of compute host {self.name} would exceed 15 characters")
        ns = into.ns if into is not None else port[:-1]
        peer = f"{port}i"  # temporary name: unique wherever the veth is born or moved
        addr = ipaddress.ip_interface(ip if "/" in ip else f"{ip}/24")
        try:
            if into is None:
                netns.create_netns(ns)
            with IPRoute(netns=self.plan.netns, flags=0) as ipr:  # born in the host: no name clash in the root
                ipr.link("add", ifname=port, kind="veth", peer={"ifname": peer, "mtu": mtu}, mtu=mtu)
                ipr.link("set", index=ipr.link_lookup(ifname=peer)[0], net_ns_fd=ns)
                _quiet_link(ipr, port, mtu=mtu)
            with IPRoute(netns=ns, flags=0) as ipr:
                idx = ipr.link_lookup(ifname=peer)[0]
                ipr.link("set", index=idx, ifname=iface, **({"address": mac} if mac else {}))
                ipr.addr("add", index=idx, address=str(addr.ip), prefixlen=addr.network.prefixlen)
                _quiet_link(ipr, iface, mtu=mtu)
                if gateway:
                    ipr.route("add", dst="default", gateway=gateway)
                actual_mac = ipr.get_links(idx)[0].get_attr("IFLA_ADDRESS")
            netns.set_tx_checksum(iface, False, netns=ns)
            netns.set_tx_checksum(port, False, netns=self.plan.netns)
            ofport = self.ovsdb().ensure_port(INTEGRATION_BRIDGE, port, ofport_request=ofport_request, mtu_request=mtu)
        except BaseException as exc:
            self._remove(ns, port, owned=into is None)
            raise HostError(f"cannot plug {ns}/{iface} into {self.name}/{INTEGRATION_BRIDGE}: {exc}") from exc
        host = Host(ns=ns, iface=iface, port=port, bridge=INTEGRATION_BRIDGE, mac=actual_mac, ip=str(addr.ip),
                    prefixlen=addr.network.prefixlen, mtu=mtu, ofport=ofport)
        if into is None:
            self._owned.add(ns)
        self._endpoints.append(host)
        return host

    def unplug(self, host: Host) -> None:
        self.ovsdb().delete_port(INTEGRATION_BRIDGE, host.port)
        self._remove(host.ns, host.port, owned=host.ns in self._owned)
        self._endpoints = [h for h in self._endpoints if h.port != host.port]

    def _remove(self, ns: str, port: str, *, owned: bool) -> None:
        if owned:
            netns.delete_netns(ns)
            self._owned.discard(ns)
        elif netns.netns_exists(self.plan.netns):
            netns.delete_link(port, netns=self.plan.netns)

    def ofctl(self, *args: str) -> str:
        return self.ovs.ofctl(*args)

    def add_flows(self, flows: Sequence[str], bridge: str = INTEGRATION_BRIDGE) -> None:
        for flow in flows:
            self.ovs.ofctl("add-flow", bridge, flow)


class Cluster:
    """A rack of ``count`` compute hosts (compute1..N) on one underlay, each knowing every other as
    tunnel neighbour. A context manager; ``stop`` leaves no namespace, link, process or run dir."""

    def __init__(self, count: int, *, prefix: str | None = None, run_root: Path | None = None,
                 subnet: str = "172.31.250.0/24", mtu: int = UNDERLAY_MTU, plan: UnderlayPlan | None = None) -> None:
        # ``plan``: a rack whose hosts came and went (``plan_inventory``) instead of compute1..count
        self.plan = plan or plan_underlay(prefix or new_prefix(), count, subnet=subnet, mtu=mtu)
        self._own_root = run_root is None
        self.run_root = Path(run_root) if run_root else Path(tempfile.mkdtemp(prefix=f"{self.plan.prefix}-hosts-"))
        self.rack = Rack(self.plan)
        self.hosts = {p.name: ComputeHost(p, self.plan, self.run_root / p.name) for p in self.plan.hosts}

    def __getitem__(self, name: str) -> ComputeHost:
        try:
            return self.hosts[name]
        except KeyError:
            raise HostError(f"no compute host {name!r} (hosts: {', '.join(self.hosts)})") from None

    def start(self) -> "Cluster":
        try:
            self.rack.start()
            for host in self.hosts.values():
                host.start()
            self.refresh_neighbours()
        except BaseException:
            self.stop()
            raise
        return self

    def refresh_neighbours(self) -> None:
        """(Re-)install every host's tunnel neighbours: at start, after a change, and now and then
        on a long-lived rack (entries age; pitfall 8 of the GPE note)."""
        for host in self.hosts.values():
            host.set_neighbours(self.plan.peers(host.name))

    def add_host(self, name: str | None = None) -> ComputeHost:
        """Start one more host on the running rack (``nfv host add``): named ``name`` (default
        ``compute<id>``), numbered after the highest; every host learns it as tunnel neighbour.
        A failed start leaves nothing (PlanError, HostError)."""
        plan = self.plan.with_host(name)
        new = plan.hosts[-1]
        host = ComputeHost(new, plan, self.run_root / new.name).start()
        old = self.plan
        self.plan, self.hosts[new.name] = plan, host
        try:
            self.refresh_neighbours()
        except BaseException:
            del self.hosts[new.name]
            self.plan = old
            host.stop()
            raise
        return host

    def remove_host(self, name: str) -> None:
        """Stop ``name`` and everything on it (``nfv host remove``). Peers keep its neighbour entry
        until it ages out: harmless, and flushing would black-hole live tunnels (pitfall 8)."""
        self[name].stop()
        del self.hosts[name]
        self.plan = self.plan.without_host(name)

    def stop(self) -> None:
        errors: list[BaseException] = []
        for host in reversed(list(self.hosts.values())):
            try:
                host.stop()
            except Exception as exc:  # stop the others too
                errors.append(exc)
        try:
            self.rack.stop()
        except Exception as exc:
            errors.append(exc)
        if self._own_root:
            shutil.rmtree(self.run_root, ignore_errors=True)
        if errors:
            raise errors[0]

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
