"""The NFVO + VNFM of the all-in-one behind ``nfv up``, as one supervised process
(``nfvo.supervisor`` is its parent and starts OVS and the SDN controller beside it): SQLite
stores, the image registry (rows in the VNFM's store, root filesystems under ``<state>/images``),
and the local VIM registered as default.

It runs in the supervisor's private network namespace, reaching OVSDB and the controller at the
addresses it is given; the CLI reaches it through a unix socket in the state directory. Started
again after a crash it resumes from its stores: the VNFM adopts the running VDUs (named
namespaces, detached containers) and ``NfvoService.start()`` hands the controller the stored
chains (an unchanged document re-installs nothing); a compute host failed before (fenced) is failed
in the VIM again, and the VIM's hub stays where it moved (``vnfm.vim.hub``). On SIGTERM (``nfv down``) every VNF is
terminated (their namespaces are named, so they would outlive the stack). Several stacks can
run on one host, one per state directory: VDU namespaces are global, so each stack names them
with its own prefix (``stack_prefix``).

Telemetry (``nfvo.monitoring``): the sFlow/IPFIX/NetFlow v9 collectors' host-side sockets and
the metrics HTTP socket are opened by the supervisor in the host's namespace and inherited by
descriptor (``--host-udp``/``--host-metrics``): they stay bound across restarts of this process.
The bridge's own sFlow agent exports to a 127.0.0.1 listener inside; with ``--hosts N`` the
compute hosts' OVS (each in its host's namespace) export to listeners on the stack's management
address instead (``nfvo.computehosts.management_ip``, where the controller listens too), each
host's sFlow agent its own underlay address (``Probes.sflow_agent_tunnel_ip``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

DPID = 0xD3
BRIDGE = "nfv-br0"
PREFIX = "nfv"
DEFAULT_STATE_DIR = Path("/run/nfvchain")
READY = "nfvo ready"
log = logging.getLogger("nfvo.allinone")


def stack_prefix(state_dir: Path) -> str:
    """``nfv`` for the default stack, else ``nf`` + 4 hex digits of the state directory's path."""
    path = str(Path(state_dir).resolve())
    if path == str(DEFAULT_STATE_DIR):
        return PREFIX
    return "nf" + hashlib.sha1(path.encode()).hexdigest()[:4]


def run(state_dir: Path, stop: threading.Event, config, host_sockets, *, ovsdb: str, sdn_address: str,
        openflow: str, hosts: int = 1) -> int:
    """Serve until ``stop``; ``host_sockets`` (inherited) are closed on the way out. ``hosts`` > 1:
    the VIM drives the compute hosts the supervisor built (``nfvo.computehosts``), each br-int
    connected to the controller at ``openflow``; ``ovsdb`` is then unused."""
    from dataplane.ovsdb import Ovsdb
    from nfvo.api.server import serve
    from nfvo.monitoring import SFLOW_AGENT, ChainMetrics, StackMonitor
    from sdn.document import Probes
    from sdn.telemetry.collector import Protocol
    from nfvo.telemetry import Component
    from nfvo.sdnclient import GrpcSdn
    from nfvo.service import NfvoService
    from nfvo.sqlstore import SqlStore
    from vnfm.images import ImageCatalog
    from vnfm.imagestore import ImageRegistry
    from vnfm.manager import VnfManager
    from vnfm.sqlstore import VnfSqlStore
    from vnfm.vim.local import LocalVim

    cleanup: list = [host_sockets.close]
    try:
        prefix = stack_prefix(state_dir)
        if hosts > 1:
            sites = _compute_hosts(state_dir, prefix, hosts, openflow, cleanup)
            db, bridge, dpid, ovsdb = sites[0].db, sites[0].bridge, sites[0].dpid, sites[0].ovsdb
        else:
            sites, bridge, dpid = [], BRIDGE, DPID
            db = Ovsdb(ovsdb)
            cleanup.append(db.close)
            db.ensure_bridge(BRIDGE, datapath_id=DPID, controller=f"tcp:{openflow}")
        socket = state_dir / "nfvo.sock"
        socket.unlink(missing_ok=True)   # a crashed predecessor's
        components = _components(Component, state_dir, f"unix:{socket}", sdn_address, config.sampling, bridge, dpid,
                                 tuple(sites))
        monitor = StackMonitor(host_sockets, state_dir, components=components,
                               internal_bind=_collector_bind(prefix, hosts))
        monitor.start()
        cleanup.append(monitor.close)
        vim = LocalVim.on_hosts(sites, prefix, state_dir / "vim") if sites else LocalVim(db, BRIDGE, prefix, state_dir / "vim")
        cleanup.append(vim.close)
        if sites:   # a host failed before this start is still: fenced (its reason kept), out of the VL star
            from nfvo.computehosts import fenced_hosts

            vim.failed.update({h: why for h, why in fenced_hosts(state_dir).items() if h in {s.name for s in sites}})
        base = ImageCatalog().with_image("http-server", ["{python}", "-m", "http.server", "8080"])
        vnfm_store = VnfSqlStore(f"sqlite:///{state_dir / 'vnfm.db'}", prefix)
        images = ImageRegistry(vnfm_store, state_dir / "images")  # rows beside the VNFs that use them
        vnfm = VnfManager(vim, vnfm_store, prefix=prefix, catalog=base.with_registered(images.active()),
                          metric_sources=(ChainMetrics(monitor),))  # alarms on chain/hop figures
        cleanup.append(lambda: _terminate_all(vnfm))
        images.subscribe(lambda records: _set_catalog(vnfm, base.with_registered(records)))
        sdn = GrpcSdn(sdn_address)
        service = NfvoService(SqlStore(f"sqlite:///{state_dir / 'nfvo.db'}"), vnfm, sdn, images=images)
        if not service.catalog.vims():
            what = f"{hosts} compute hosts" if sites else "this host"
            service.catalog.register_vim("local", bridge=bridge, dpid=dpid, is_default=True,
                                         description=f"{what}: VDUs as containers on a private OVS")
        service.attach_telemetry(monitor, monitor.on_document)
        # the controller turns the bridges' probes on through their OVSDB: sFlow (NSH headers raw) and
        # IPFIX sample() actions on every classify, hop and end-of-path flow, to the collectors inside;
        # a known agent address (each host's own with several), so its samples' ifIndexes map to ports
        service.engine.probes = Probes(ipfix_targets=(monitor.internal_targets[Protocol.IPFIX],),
                                       sflow_targets=(monitor.internal_targets[Protocol.SFLOW],),
                                       sflow_sampling=config.sampling, sflow_polling=config.polling,
                                       sflow_agent="" if sites else SFLOW_AGENT, sflow_agent_tunnel_ip=bool(sites),
                                       probability=config.ipfix_probability)
        service.engine.ovsdb = {bridge: ovsdb, **{s.switch_name: s.ovsdb for s in sites}}
        service.start()  # the controller gets the stored chains and every bridge's pipeline (L2 before chains)
        host_ops = None
        if sites:   # nfv host fail|recover, and the detector of hosts whose OVS stops answering
            from nfvo.hostops import HostOps

            host_ops = HostOps(service, state_dir, sdn).start()
            cleanup.append(host_ops.close)
        server, _ = serve(service, f"unix:{socket}", host_ops=host_ops)
        cleanup.append(lambda: server.stop(2.0).wait())
        state = {"nfvo": f"unix:{socket}", "pid": os.getppid(), "nfvo_pid": os.getpid(), "sdn": sdn_address,
                 "bridge": bridge, "dpid": dpid, "ovs_run_dir": str(state_dir / "ovs"), "prefix": prefix,
                 "hosts": [s.name for s in sites] or [vim.host_name],
                 "collectors": {str(lst.protocol): list(lst.address) for lst in monitor.host_listening},
                 "metrics": monitor.metrics_url}
        tmp = state_dir / ".stack.json.tmp"
        tmp.write_text(json.dumps(state))
        tmp.replace(state_dir / "stack.json")
        print(f"{READY}: {state['nfvo']}", flush=True)
        stop.wait()
        return 0
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception:  # noqa: BLE001 - keep tearing down
                log.exception("teardown step failed")


def _collector_bind(prefix: str, hosts: int) -> str:
    """Where the switches reach the collectors inside the stack: 127.0.0.1 for its own OVS, the
    management address for compute hosts (their OVS runs in namespaces of their own)."""
    if hosts <= 1:
        return "127.0.0.1"
    from nfvo.computehosts import management_ip, plan

    return management_ip(plan(prefix, hosts))


def _compute_hosts(state_dir: Path, prefix: str, count: int, openflow: str, cleanup: list) -> list:
    """The VIM's sites: each compute host's OVSDB (opened here, or once it answers), its br-int
    pointed at the controller."""
    from nfvo.computehosts import host_ovsdb, open_host_ovsdb, stack_plan
    from vnfm.vim.sites import site_of

    rack, sites = stack_plan(state_dir, prefix, count), []   # the supervisor's inventory: hosts come and go
    for host in rack.hosts:
        remote = host_ovsdb(state_dir, host.name)
        db = open_host_ovsdb(remote, f"tcp:{openflow}")   # a failed host's: connects when it is back
        cleanup.append(db.close)
        sites.append(site_of(host, db, ovsdb=remote, underlay_mtu=rack.mtu))
    return sites


def _components(component, state_dir: Path, nfvo: str, sdn_address: str, sampling: int, bridge: str = BRIDGE,
                dpid: int = DPID, hosts: tuple = ()):
    """What ``nfv status`` lists besides the collectors and metrics: the supervisor's view of
    each process (its status file, read at each call) and the bridge (``hosts``: the compute
    hosts' sites, whose daemons are ``<host>/ovsdb-server`` and ``<host>/ovs-vswitchd``)."""
    from nfvo.supervision import STATUS_FILE, read_status

    where = {"nfvo": ((nfvo,), "gRPC API (the CLI's NFV_NFVO_ADDRESS)"),
             "controller": ((sdn_address,), "SDN controller gRPC, inside the stack's namespace"),
             "ovsdb-server": ((f"unix:{state_dir / 'ovs' / 'db.sock'}",), "the bridge's database"),
             "ovs-vswitchd": ((str(state_dir / "ovs"),), "the switch (userspace datapath)")}
    for h in hosts:
        where[f"{h.name}/ovsdb-server"] = ((h.ovsdb,), f"compute host {h.name}'s database")
        where[f"{h.name}/ovs-vswitchd"] = ((h.underlay_ip,), f"compute host {h.name}'s switch (br-int, br-phy), "
                                                             f"in namespace {h.netns}")

    def read():
        try:
            _, _, parts = read_status(json.loads((state_dir / STATUS_FILE).read_text()))
        except (OSError, ValueError):
            parts = ()
        out = [component(c.name, c.state, where.get(c.name, ((), ""))[0],   # pid, start, restarts: fields of their own
                         "; ".join(x for x in (where.get(c.name, ((), ""))[1], f"last: {c.last_exit}" if c.last_exit else "")
                                   if x),
                         pid=c.pid, started=c.started, restarts=c.restarts) for c in parts]
        if hosts:   # the hosts the supervisor supervises now (nfv host add|remove change them)
            now = [c.name.partition("/")[0] for c in parts if c.name.endswith("/ovs-vswitchd")]
            states = {c.state for c in parts if c.name.endswith("/ovs-vswitchd")}
            out.append(component("ovs", "up" if states == {"up"} else "down", tuple(h.ovsdb for h in hosts),
                                 f"{len(now)} compute hosts: {', '.join(now)} (nfv host list)"))
            return tuple(out)
        vswitchd = next((c for c in parts if c.name == "ovs-vswitchd"), None)
        out.append(component("ovs", vswitchd.state if vswitchd else "down", (str(state_dir / "ovs"),),
                             f"bridge {bridge} (dpid {dpid:#x}), sFlow 1 in {sampling} to the collector"))
        return tuple(out)
    return read


def _set_catalog(vnfm, catalog) -> None:
    """The VNFM resolves VDU images in the catalog it holds: swap in the one with the registry's
    current images (a value; an instantiate under way keeps the one it started with)."""
    vnfm.catalog = catalog


def _terminate_all(vnfm) -> None:
    for vnf in vnfm.list():
        try:
            vnfm.terminate(vnf.id)
        except Exception:  # noqa: BLE001
            log.exception("terminating %s", vnf.name)
    vnfm.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nfvo.allinone", description="the NFVO of nfv up (started by nfvo.supervisor)")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--ovsdb", required=True, help="the bridge's OVSDB (unix:PATH)")
    parser.add_argument("--sdn", required=True, help="the controller's gRPC address")
    parser.add_argument("--openflow", required=True, help="where the bridge connects to the controller (HOST:PORT)")
    parser.add_argument("--host-udp", action="append", default=[], metavar="PROTOCOL=FD",
                        help="an inherited host-side collector socket")
    parser.add_argument("--host-metrics", type=int, metavar="FD", help="the inherited host-side metrics socket")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--hosts", type=int, default=1, help="compute hosts the supervisor built (nfvo.computehosts)")
    add_monitor_options(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from nfvo.monitoring import MonitorConfig, MonitorError

    try:
        config = MonitorConfig.from_env(os.environ, sflow_port=args.sflow_port, ipfix_port=args.ipfix_port,
                                        netflow_port=args.netflow_port, metrics=args.metrics_address,
                                        sampling=args.sflow_sampling, ipfix_sampling=args.ipfix_sampling,
                                        strict=args.strict_ports or None)
    except MonitorError as exc:
        print(f"nfvo.allinone: {exc}", file=sys.stderr, flush=True)
        return 2
    host = inherited_sockets(config, dict(item.split("=", 1) for item in args.host_udp), args.host_metrics)
    return run(args.state_dir, stop, config, host, ovsdb=args.ovsdb, sdn_address=args.sdn, openflow=args.openflow,
               hosts=args.hosts)


def inherited_sockets(config, udp: dict[str, str], metrics: int | None):
    """The host-side sockets the supervisor opened, from their descriptors."""
    import socket

    from nfvo.monitoring import HostSockets, Listening
    from sdn.telemetry.collector import Protocol

    host = HostSockets(metrics_requested=config.metrics)
    for name, fd in udp.items():
        protocol = Protocol(name)
        sock = socket.socket(fileno=int(fd))
        host.udp[protocol] = (sock, Listening(protocol, config.ports.get(protocol, 0), sock.getsockname()[:2]))
    if metrics is not None:
        host.metrics = socket.socket(fileno=metrics)
    return host


def add_monitor_options(parser: argparse.ArgumentParser) -> None:
    """Where the collectors and metrics listen (shared with ``nfv up``); env NFV_SFLOW_PORT..."""
    parser.add_argument("--sflow-port", type=int, help="sFlow collector UDP port on the host (default 6343)")
    parser.add_argument("--ipfix-port", type=int, help="IPFIX collector UDP port on the host (default 4739)")
    parser.add_argument("--netflow-port", type=int, help="NetFlow v9 collector UDP port on the host (default 2055)")
    parser.add_argument("--metrics-address", metavar="HOST:PORT",
                        help="Prometheus metrics on the host (default 127.0.0.1:9464; '' for none)")
    parser.add_argument("--sflow-sampling", type=int, help="the stack's own OVS samples 1 packet in N (default 400, OVS's own)")
    parser.add_argument("--ipfix-sampling", type=int,
                        help="IPFIX sample() on the chains' flows: 1 packet in N, a power of two (default 256; "
                        "1: every packet, exact figures, at a throughput cost)")
    parser.add_argument("--strict-ports", action="store_true",
                        help="fail if a port is taken instead of falling back to an ephemeral one")


if __name__ == "__main__":
    sys.exit(main())
