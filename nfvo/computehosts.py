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

Hosts come and go (``nfv host add|remove``): the supervisor owns the rack (a host's daemons die
with the supervisor's thread in its namespace), so the NFVO asks it through a request file and
waits for the answer (:func:`request_rack_change`); the supervisor keeps the rack's inventory
(name, id of each host) in ``<state>/rack.json``, which the NFVO reads at start instead of the
count (:func:`stack_plan`). A host's namespace and links are named from its id, never its name,
so ``nfv down`` after a crash still finds every host by the prefix.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pyroute2 import IPRoute

from dataplane import netns
from dataplane.hosts import Cluster
from dataplane.underlay import UnderlayPlan, plan_inventory, plan_underlay
from vnfm.vim.sites import UNDERLAY_MTU

log = logging.getLogger(__name__)
OPENFLOW_PORT = 6653
HOSTS_DIR = "hosts"


def plan(prefix: str, count: int) -> UnderlayPlan:
    """The rack of a stack with ``prefix`` (``nfvo.allinone.stack_prefix``) and ``count`` hosts."""
    return plan_underlay(prefix, count, mtu=UNDERLAY_MTU)


INVENTORY = "rack.json"
REQUEST, REPLY = "rack-request.json", "rack-reply.json"


def stack_plan(state_dir: Path, prefix: str, count: int) -> UnderlayPlan:
    """The rack as it is now: the supervisor's inventory once it wrote one, else compute1..count."""
    try:
        entries = json.loads((Path(state_dir) / INVENTORY).read_text())["hosts"]
    except (OSError, ValueError, KeyError, TypeError):
        return plan(prefix, count)
    return plan_inventory(prefix, [(str(e["name"]), int(e["host_id"])) for e in entries], mtu=UNDERLAY_MTU)


def write_inventory(state_dir: Path, rack: UnderlayPlan) -> None:
    _write_atomic(Path(state_dir) / INVENTORY, {"hosts": [{"name": n, "host_id": i} for n, i in rack.inventory]})


def _write_atomic(path: Path, doc: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def hosts_dir(state_dir: Path) -> Path:
    return Path(state_dir) / HOSTS_DIR


def host_ovsdb(state_dir: Path, host: str) -> str:
    """The OVSDB remote of ``host``'s private OVS (where :class:`Cluster` puts it)."""
    return f"unix:{hosts_dir(state_dir) / host / 'ovs' / 'db.sock'}"


class DeferredOvsdb:
    """The OVSDB of a host whose ovsdb-server does not answer when the NFVO starts (failed and
    fenced before, or restarting): every call raises OvsdbError, so the VIM takes the host for down,
    until one finds the server answering; that call connects (``on_connect`` first: br-int pointed
    at the controller) and from then on it is the host's ``Ovsdb``. Without it a restarted NFVO
    could not start while any host is failed."""

    def __init__(self, remote: str, on_connect: Callable[[Any], None] = lambda db: None, timeout: float = 2.0) -> None:
        self.remote, self._on_connect, self._timeout = remote, on_connect, timeout
        self._db: Any = None
        self._lock = threading.Lock()

    def connected(self) -> Any:
        from dataplane.ovsdb import Ovsdb, OvsdbError

        with self._lock:
            if self._db is None:
                try:
                    db = Ovsdb(self.remote, timeout=self._timeout)
                except OvsdbError:
                    raise
                except Exception as exc:   # the IDL's own errors: not there yet
                    raise OvsdbError(f"cannot connect to {self.remote}: {exc}") from exc
                try:
                    self._on_connect(db)
                except Exception:
                    db.close()
                    raise
                self._db = db
            return self._db

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.connected(), name)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()


def open_host_ovsdb(remote: str, controller: str) -> Any:
    """``remote``'s Ovsdb with br-int pointed at ``controller`` ("tcp:host:port"), or a
    :class:`DeferredOvsdb` if it does not answer now."""
    from dataplane.ovsdb import Ovsdb, OvsdbError
    from dataplane.underlay import INTEGRATION_BRIDGE

    def point(db: Any) -> None:
        db.set_controller(INTEGRATION_BRIDGE, controller)

    try:
        db = Ovsdb(remote)
    except OvsdbError as exc:
        log.warning("%s does not answer (%s): its host is down until it does", remote, exc)
        return DeferredOvsdb(remote, point)
    try:
        point(db)
    except Exception:
        db.close()
        raise
    return db


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
        self.state_dir = Path(state_dir)
        self.plan = stack_plan(state_dir, prefix, count)
        self.cluster = Cluster(len(self.plan.hosts), run_root=hosts_dir(state_dir), plan=self.plan)

    def start(self) -> "StackRack":
        try:
            self.cluster.start()
            self._wire_management()
            write_inventory(self.state_dir, self.plan)
        except BaseException:
            self.stop()
            raise
        return self

    def add_host(self, name: str | None = None) -> str:
        """One more host on the running rack (its daemons started, every host's neighbours
        refreshed), then the inventory; returns its name. A failure leaves nothing of it."""
        host = self.cluster.add_host(name)
        try:
            write_inventory(self.state_dir, self.cluster.plan)
        except BaseException:
            self.cluster.remove_host(host.name)
            raise
        self.plan = self.cluster.plan
        return host.name

    def remove_host(self, name: str) -> None:
        """``name`` stopped (daemons, namespace, uplink, run dir) and out of the inventory."""
        self.cluster[name]      # HostError naming the hosts if unknown
        try:
            self.cluster.remove_host(name)
        finally:
            if name not in self.cluster.hosts:
                self.plan = self.cluster.plan
                write_inventory(self.state_dir, self.plan)

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
        if netns.link_exists(ours) and netns.link_exists(rack_end, netns=rack.rack_netns):
            return      # a stack whose supervisor died, resumed: its leg is there
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


# -- hosts added and removed by the operator (``nfv host add|remove``): the NFVO asks, the supervisor does
@dataclass(frozen=True)
class RackChange:
    """One change of the rack the NFVO asks the supervisor for: ``add`` (``name`` "" = the next
    ``compute<id>``) or ``remove``."""

    id: str
    action: str
    name: str = ""


@dataclass(frozen=True)
class RackAnswer:
    id: str
    host: str = ""       # the host added or removed
    error: str = ""      # why not ("" = done)


def pending_change(state_dir: Path) -> RackChange | None:
    """The request the supervisor has not answered yet (None if none)."""
    try:
        doc = json.loads((Path(state_dir) / REQUEST).read_text())
        change = RackChange(str(doc["id"]), str(doc["action"]), str(doc.get("name", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    answered = read_answer(state_dir)
    return None if answered is not None and answered.id == change.id else change


def read_answer(state_dir: Path) -> RackAnswer | None:
    try:
        doc = json.loads((Path(state_dir) / REPLY).read_text())
        return RackAnswer(str(doc["id"]), str(doc.get("host", "")), str(doc.get("error", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def answer_change(state_dir: Path, answer: RackAnswer) -> None:
    _write_atomic(Path(state_dir) / REPLY, {"id": answer.id, "host": answer.host, "error": answer.error})


def request_rack_change(state_dir: Path, action: str, name: str = "", timeout: float = 60.0) -> RackAnswer:
    """Ask the supervisor to add or remove a host and wait for its answer (one request at a time:
    the caller serialises). TimeoutError if it does not answer within ``timeout``."""
    change = RackChange(uuid.uuid4().hex, action, name)
    path = Path(state_dir) / REQUEST
    _write_atomic(path, {"id": change.id, "action": change.action, "name": change.name})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            got = read_answer(state_dir)
            if got is not None and got.id == change.id:
                return got
            time.sleep(0.1)
    finally:
        path.unlink(missing_ok=True)
    raise TimeoutError(f"the supervisor did not {action} compute host {name or '(next)'} within {timeout:.0f} s")
