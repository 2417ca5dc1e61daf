"""The compute hosts of ``nfv up --hosts N`` (N > 1): a rack of namespaces with their own OVS.

Every name follows from the state directory and N (:func:`plan`), so the supervisor (which builds
the rack and supervises each host's ovsdb-server and ovs-vswitchd), the NFVO (which drives each
host's OVSDB through the local VIM) and ``nfv down`` agree without asking each other: the
underlay plan uses the stack's prefix (host namespaces ``<prefix>c1``.., their uplinks, the rack
``<prefix>rk``), so the sweep after a crash finds them by prefix like the VDUs'. Each host's OVS
lives under ``<state>/hosts/<host>/ovs`` (its daemons' command lines name the state directory).

The management network: the stack's namespace (controller, NFVO) has a leg on the rack too,
``<prefix>m0`` with the subnet's last usable address; the controller listens there and every
host's br-int connects to it through its br-phy, like hypervisors reaching a controller over a
management VLAN. ``--hosts 1`` is not this: it is the single bridge of the original stack.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from pyroute2 import IPRoute

from dataplane import netns
from dataplane.hosts import Cluster
from dataplane.underlay import UnderlayPlan, plan_underlay
from vnfm.vim.sites import UNDERLAY_MTU

OPENFLOW_PORT = 6653
HOSTS_DIR = "hosts"


def plan(prefix: str, count: int) -> UnderlayPlan:
    """The rack of a stack with ``prefix`` (``nfvo.allinone.stack_prefix``) and ``count`` hosts."""
    return plan_underlay(prefix, count, mtu=UNDERLAY_MTU)


def hosts_dir(state_dir: Path) -> Path:
    return Path(state_dir) / HOSTS_DIR


def host_ovsdb(state_dir: Path, host: str) -> str:
    """The OVSDB remote of ``host``'s private OVS (where :class:`Cluster` puts it)."""
    return f"unix:{hosts_dir(state_dir) / host / 'ovs' / 'db.sock'}"


def management_ip(rack: UnderlayPlan) -> str:
    """The stack's address on the rack: the subnet's last usable one (hosts count up from .1)."""
    return str(ipaddress.IPv4Network(rack.subnet).broadcast_address - 1)


def management_links(rack: UnderlayPlan) -> tuple[str, str]:
    """(the stack namespace's end, the rack's end) of the management veth."""
    return f"{rack.prefix}m0", f"{rack.prefix}rm"


def openflow_address(rack: UnderlayPlan) -> str:
    return f"{management_ip(rack)}:{OPENFLOW_PORT}"


class StackRack:
    """The rack and hosts of one stack plus its management leg, built in the calling thread's
    namespace (the stack's). ``start`` leaves nothing on failure; ``stop`` is idempotent."""

    def __init__(self, state_dir: Path, prefix: str, count: int) -> None:
        self.plan = plan(prefix, count)
        self.cluster = Cluster(count, prefix=prefix, run_root=hosts_dir(state_dir), mtu=UNDERLAY_MTU)

    def start(self) -> "StackRack":
        try:
            self.cluster.start()
            self._wire_management()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.cluster.stop()
        finally:
            netns.delete_link(management_links(self.plan)[0], missing_ok=True)

    def start_ovsdb(self, name: str) -> subprocess.Popen[bytes]:
        """ovsdb-server of ``name`` (the running one if it runs), started inside the host."""
        host = self.cluster[name]
        return host.call(host.ovs.start_db)

    def start_vswitchd(self, name: str) -> subprocess.Popen[bytes]:
        """ovs-vswitchd of ``name`` (the running one if it runs). After a restart br-phy's tap is
        new (its address gone) and tunnel neighbours are unknown: both go back; the rest comes
        back from the database (flows: the controller re-installs them when it reconnects)."""
        host = self.cluster[name]
        proc = host.call(host.ovs.start_vswitchd)
        host.rebuild()
        self.cluster.refresh_neighbours()
        return proc

    def _wire_management(self) -> None:
        ours, rack_end = management_links(self.plan)
        rack = self.plan
        net = ipaddress.IPv4Network(rack.subnet)
        with IPRoute() as ipr:
            ipr.link("add", ifname=ours, kind="veth", peer={"ifname": rack_end}, mtu=rack.mtu)
            ipr.link("set", index=ipr.link_lookup(ifname=rack_end)[0], net_ns_fd=rack.rack_netns)
            idx = ipr.link_lookup(ifname=ours)[0]
            ipr.addr("add", index=idx, address=management_ip(rack), prefixlen=net.prefixlen)
            ipr.link("set", index=idx, state="up")
        with IPRoute(netns=rack.rack_netns, flags=0) as ipr:
            idx = ipr.link_lookup(ifname=rack_end)[0]
            ipr.link("set", index=idx, mtu=rack.mtu, master=ipr.link_lookup(ifname=rack.rack_bridge)[0])
            ipr.link("set", index=idx, state="up")
        # the hosts' OVS reads frames from AF_PACKET sockets: a partial (offloaded) checksum stays wrong,
        # and every TCP segment to the controller is dropped (pitfall 6 of the GPE note; ICMP still passes)
        netns.set_tx_checksum(ours, False)
        netns.set_tx_checksum(rack_end, False, netns=rack.rack_netns)


# -- hosts failed by the operator (``nfv host fail``): a marker file per host, read by the supervisor
FENCED_DIR = "fenced"


def fence(state_dir: Path, host: str, why: str) -> None:
    """Ask the supervisor to stop ``host``'s OVS and keep it stopped (``nfv host fail``)."""
    path = Path(state_dir) / FENCED_DIR / host
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{host}.tmp")
    tmp.write_text(why)
    tmp.replace(path)


def unfence(state_dir: Path, host: str) -> None:
    """Let the supervisor start ``host``'s OVS again (``nfv host recover``)."""
    (Path(state_dir) / FENCED_DIR / host).unlink(missing_ok=True)


def fenced_hosts(state_dir: Path) -> dict[str, str]:
    """Host -> why the operator failed it."""
    folder = Path(state_dir) / FENCED_DIR
    try:
        return {p.name: p.read_text() for p in folder.iterdir() if not p.name.startswith(".")}
    except OSError:
        return {}
