"""OVSDB (Open_vSwitch database) helpers over the python ``ovs`` IDL.

Why the IDL and not ovs-vsctl: product code must not shell out, and the IDL lets us wait for
ovs-vswitchd to apply a change (``next_cfg``/``cur_cfg``, as ovs-vsctl does) so an
``ensure_port`` returns with the OpenFlow port number already assigned. Every ``ensure_*`` is
idempotent; every method is serialized by a lock (the IDL is not thread-safe).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias, TypeVar

import ovs.db.idl
import ovs.jsonrpc
import ovs.poller
import ovs.stream

T = TypeVar("T")
_Transaction = ovs.db.idl.Transaction
Txn: TypeAlias = Any  # ovs.db.idl.Transaction (the ovs package is untyped)
Row: TypeAlias = Any  # ovs.db.idl.Row
DEFAULT_PROTOCOLS = ("OpenFlow13", "OpenFlow14", "OpenFlow15")
PROBE_OWNER = "nfvchain"  # external_ids key marking the sFlow/IPFIX/collector-set rows ensure_probes made


class OvsdbError(RuntimeError):
    """An OVSDB transaction or wait failed."""


class NotFound(OvsdbError, LookupError):
    """The named bridge/port/interface does not exist."""


class Conflict(OvsdbError):
    """The object exists but belongs elsewhere (e.g. a port on another bridge)."""


class InterfaceError(OvsdbError):
    """ovs-vswitchd could not open an interface (its ``error`` column says why)."""


@dataclass(frozen=True)
class PortSpec:
    """A port to attach: a system device if port_type is "", or "internal", "patch"...;
    ``tag`` makes it an access port of that local VLAN (as Neutron's OVS agent does)."""

    name: str
    port_type: str = ""
    tag: int | None = None
    ofport_request: int | None = None
    mtu_request: int | None = None
    options: Mapping[str, str] | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortInfo:
    """A port as seen in OVSDB (ofport is -1 when vswitchd could not open it, 0 if pending)."""

    name: str
    type: str
    ofport: int
    mac_in_use: str
    mtu: int | None
    external_ids: Mapping[str, str]


def _one(value: Any, default: Any = None) -> Any:
    """OVSDB optional columns come back as [] or [v]."""
    if isinstance(value, list):
        return value[0] if value else default
    return value


def _get(row: Row, column: str, default: Any) -> Any:
    """Read a column, also from a row inserted in this transaction (unset columns raise)."""
    try:
        value = getattr(row, column)
    except AttributeError:
        return default
    return dict(value) if isinstance(value, dict) else value


def _set(row: Row, column: str, value: Any) -> None:
    """Write only on change, so an idempotent ensure_* commits an empty (UNCHANGED) txn."""
    if _get(row, column, _MISSING) != value:
        setattr(row, column, value)


_MISSING = object()


def _fetch_schema(remote: str, timeout: float) -> Any:
    err, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote),
                                               timeout=int(timeout * 1000))
    if err:
        raise OvsdbError(f"cannot connect to {remote}: {os.strerror(err)}")
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        req = ovs.jsonrpc.Message.create_request("get_schema", ["Open_vSwitch"])
        err, resp = rpc.transact_block(req)
        if err or resp is None or resp.error:
            raise OvsdbError(f"get_schema from {remote} failed: {err or resp and resp.error}")
        return resp.result
    finally:
        rpc.close()


class Ovsdb:
    """An IDL connection to one Open_vSwitch database (e.g. ``OvsInstance.db_sock``)."""

    def __init__(self, remote: str, *, timeout: float = 10.0) -> None:
        self.remote = remote
        self.timeout = timeout
        helper = ovs.db.idl.SchemaHelper(schema_json=_fetch_schema(remote, timeout))
        helper.register_all()
        self._idl = ovs.db.idl.Idl(remote, helper)
        self._lock = threading.RLock()
        self._wait(lambda: self._idl.has_ever_connected() and self._root() is not None,
                   "initial OVSDB sync")

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._idl.close()

    def __enter__(self) -> "Ovsdb":
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- bridges -----------------------------------------------------------------------------
    def ensure_bridge(self, name: str, *, datapath_id: int | None = None,
                      controller: str | Sequence[str] | None = None, fail_mode: str = "secure",
                      protocols: Sequence[str] = DEFAULT_PROTOCOLS,
                      datapath_type: str = "netdev",
                      other_config: Mapping[str, str] | None = None,
                      external_ids: Mapping[str, str] | None = None) -> None:
        """Create the bridge (with its local port) or bring its settings to the given values."""

        def body(txn: Txn) -> None:
            br = self._find("Bridge", name)
            if br is None:
                iface = txn.insert(self._table("Interface"))
                iface.name, iface.type = name, "internal"
                port = txn.insert(self._table("Port"))
                port.name, port.interfaces = name, [iface]
                br = txn.insert(self._table("Bridge"))
                br.name, br.ports = name, [port]
                root = self._need_root()
                root.verify("bridges")
                root.bridges = list(root.bridges) + [br]
            _set(br, "fail_mode", [fail_mode] if fail_mode else [])
            _set(br, "protocols", list(protocols))
            _set(br, "datapath_type", datapath_type)
            oc = {**_get(br, "other_config", {}), **(other_config or {})}
            if datapath_id is not None:
                oc["datapath-id"] = f"{datapath_id:016x}"
            _set(br, "other_config", oc)
            if external_ids:
                _set(br, "external_ids", {**_get(br, "external_ids", {}), **external_ids})
            if controller is not None:
                self._set_controller_rows(txn, br, controller)

        self._transact(body)
        try:
            self._wait(lambda: (b := self._find("Bridge", name)) is not None
                       and bool(_one(b.datapath_id)), f"bridge {name} datapath")
        except OvsdbError as exc:
            raise OvsdbError(f"{exc} -- vswitchd did not create it; see its log (a second "
                             "netdev ovs-vswitchd in the same network namespace cannot open "
                             "the shared 'ovs-netdev' tap)") from exc

    def delete_bridge(self, name: str, *, missing_ok: bool = True) -> None:
        """Remove the bridge and everything on it (ports, controllers are garbage collected)."""

        def body(txn: Txn) -> None:
            br = self._find("Bridge", name)
            if br is None:
                if missing_ok:
                    return
                raise NotFound(f"no bridge {name!r}")
            root = self._need_root()
            root.verify("bridges")
            root.bridges = [b for b in root.bridges if b.uuid != br.uuid]

        self._transact(body)

    def list_bridges(self) -> list[str]:
        with self._lock:
            self._run()
            return sorted(b.name for b in self._table("Bridge").rows.values())

    def datapath_id(self, bridge: str) -> int:
        with self._lock:
            self._run()
            return int(_one(self._need("Bridge", bridge).datapath_id, "0"), 16)

    def set_controller(self, bridge: str, targets: str | Sequence[str]) -> None:
        """Replace the bridge's controllers (e.g. ``tcp:127.0.0.1:6653``); [] removes them."""
        self._transact(lambda txn: self._set_controller_rows(txn, self._need("Bridge", bridge),
                                                             targets))

    def controller_status(self, bridge: str) -> dict[str, bool]:
        """target -> is_connected, as reported by vswitchd."""
        with self._lock:
            self._run()
            return {c.target: bool(c.is_connected)
                    for c in self._need("Bridge", bridge).controller}

    # -- ports -------------------------------------------------------------------------------
    def ensure_port(self, bridge: str, name: str, *, port_type: str = "",
                    ofport_request: int | None = None, mtu_request: int | None = None,
                    options: Mapping[str, str] | None = None,
                    external_ids: Mapping[str, str] | None = None, tag: int | None = None) -> int:
        """Attach one port and return its ofport once vswitchd has opened it."""
        spec = PortSpec(name, port_type, tag, ofport_request, mtu_request, options, dict(external_ids or {}))
        return self.ensure_ports(bridge, [spec])[name]

    def ensure_ports(self, bridge: str, specs: Sequence[PortSpec]) -> dict[str, int]:
        """Attach (or update) several ports in one transaction; name -> ofport once vswitchd
        opened them all. If one cannot be opened, the ports this call added are removed again."""
        if not specs:
            return {}

        def body(txn: Txn) -> None:
            br = self._need("Bridge", bridge)
            added = []
            for spec in specs:
                port = self._find("Port", spec.name)
                if port is not None:
                    owner = self._port_bridge(port)
                    if owner is not None and owner.name != bridge:
                        raise Conflict(f"port {spec.name!r} is on bridge {owner.name!r}, not {bridge!r}")
                    iface = port.interfaces[0]
                else:
                    iface = txn.insert(self._table("Interface"))
                    iface.name = spec.name
                    port = txn.insert(self._table("Port"))
                    port.name, port.interfaces = spec.name, [iface]
                    added.append(port)
                _set(iface, "type", spec.port_type)
                for col, val in (("ofport_request", spec.ofport_request), ("mtu_request", spec.mtu_request)):
                    if val is not None:
                        _set(iface, col, [val])
                if spec.tag is not None:
                    _set(port, "tag", [spec.tag])
                if spec.options is not None:
                    _set(iface, "options", dict(spec.options))
                if spec.external_ids:
                    for row in (iface, port):
                        _set(row, "external_ids", {**_get(row, "external_ids", {}), **spec.external_ids})
            if added:
                br.verify("ports")
                br.ports = list(br.ports) + added

        with self._lock:
            self._idl.run()
            existed = {spec.name for spec in specs if self._find("Port", spec.name) is not None}
        self._transact(body)
        try:
            return {spec.name: self.ofport(spec.name) for spec in specs}
        except InterfaceError:
            self.delete_ports(bridge, [s.name for s in specs if s.name not in existed])  # nothing half-created
            raise

    def delete_ports(self, bridge: str, names: Sequence[str]) -> None:
        """Remove the named ports in one transaction (missing ones, or a missing bridge, are ignored)."""
        gone = set(names)
        if not gone:
            return

        def body(txn: Txn) -> None:
            br = self._find("Bridge", bridge)
            if br is None:
                return
            keep = [p for p in br.ports if p.name not in gone]
            if len(keep) != len(br.ports):
                br.verify("ports")
                br.ports = keep

        self._transact(body)

    def delete_port(self, bridge: str, name: str, *, missing_ok: bool = True) -> None:
        def body(txn: Txn) -> None:
            br = self._need("Bridge", bridge)
            keep = [p for p in br.ports if p.name != name]
            if len(keep) == len(br.ports):
                if missing_ok:
                    return
                raise NotFound(f"no port {name!r} on bridge {bridge!r}")
            br.verify("ports")
            br.ports = keep

        self._transact(body)

    def ofport(self, name: str, *, timeout: float | None = None) -> int:
        """The interface's OpenFlow port number, waiting for vswitchd to assign it."""
        found: list[int] = []

        def assigned() -> bool:
            iface = self._need("Interface", name)
            port_no = _one(iface.ofport, 0)
            if port_no == -1 or _one(iface.error):
                raise InterfaceError(f"interface {name!r}: {_one(iface.error, 'ofport -1')}")
            if port_no > 0:
                found.append(port_no)
            return bool(port_no > 0)

        self._wait(assigned, f"ofport of {name}", timeout)
        return found[-1]

    def list_ports(self, bridge: str) -> list[PortInfo]:
        """Ports of the bridge (excluding the bridge's own local port), sorted by name."""
        with self._lock:
            self._run()
            out = []
            for port in self._need("Bridge", bridge).ports:
                if port.name == bridge:
                    continue
                iface = port.interfaces[0]
                out.append(PortInfo(name=port.name, type=iface.type,
                                    ofport=_one(iface.ofport, 0),
                                    mac_in_use=_one(iface.mac_in_use, ""),
                                    mtu=_one(iface.mtu), external_ids=dict(iface.external_ids)))
            return sorted(out, key=lambda p: p.name)

    # -- telemetry ---------------------------------------------------------------------------
    def ifindexes(self, bridge: str) -> dict[str, int]:
        """Port name -> the ifIndex vswitchd gives it (sFlow's input/output interface), for
        the bridge's ports that have one (a port without a kernel device has none)."""
        with self._lock:
            self._run()
            return {str(port.name): int(idx) for port in self._need("Bridge", bridge).ports
                    if (idx := _one(port.interfaces[0].ifindex, 0)) and port.name != bridge}

    def set_sflow(self, bridge: str, targets: Sequence[str] | None, *, sampling: int = 64,
                  polling: int = 10, header: int = 128, agent: str | None = None) -> None:
        """Point the bridge's sFlow agent at ``targets`` ("ip:port"); None/[] disables it."""

        def body(txn: Txn) -> None:
            br = self._need("Bridge", bridge)
            if not targets:
                br.sflow = []
                return
            row = _one(br.sflow) or txn.insert(self._table("sFlow"))
            row.targets, row.sampling, row.polling, row.header = (
                list(targets), [sampling], [polling], [header])
            row.agent = [agent] if agent else []
            br.sflow = [row]

        self._transact(body)

    def set_ipfix(self, bridge: str, targets: Sequence[str] | None, *,
                  sampling: int | None = None, obs_domain_id: int | None = None,
                  obs_point_id: int | None = None, cache_active_timeout: int | None = None,
                  cache_max_flows: int | None = None,
                  collector_set_id: int | None = None) -> None:
        """Per-bridge IPFIX (``sampling`` set) and/or a Flow_Sample_Collector_Set with id
        ``collector_set_id`` so OpenFlow ``sample(collector_set_id=...)`` actions export there.
        None/[] targets removes both."""

        def body(txn: Txn) -> None:
            br = self._need("Bridge", bridge)
            sets = [s for s in self._table("Flow_Sample_Collector_Set").rows.values()
                    if s.bridge.uuid == br.uuid]
            for s in sets:
                s.delete()
            if not targets:
                br.ipfix = []
                return
            row = txn.insert(self._table("IPFIX"))
            row.targets = list(targets)
            for col, val in (("sampling", sampling), ("obs_domain_id", obs_domain_id),
                             ("obs_point_id", obs_point_id),
                             ("cache_active_timeout", cache_active_timeout),
                             ("cache_max_flows", cache_max_flows)):
                setattr(row, col, [] if val is None else [val])
            br.ipfix = [row] if sampling is not None else []
            if collector_set_id is not None:
                fs = txn.insert(self._table("Flow_Sample_Collector_Set"))
                fs.id, fs.bridge, fs.ipfix = collector_set_id, br, [row]

        self._transact(body)

    def bridge_of(self, datapath_id: int) -> str:
        """The name of the bridge with that datapath id; NotFound if none has it."""
        with self._lock:
            self._run()
            for br in self._table("Bridge").rows.values():
                if int(_one(br.datapath_id, "0") or "0", 16) == datapath_id:
                    return str(br.name)
        raise NotFound(f"no bridge with datapath id {datapath_id:#018x} in {self.remote}")

    def ensure_probes(self, bridge: str, *, sflow_targets: Sequence[str] = (), sampling: int = 64,
                      polling: int = 10, header: int = 128, agent: str = "", ipfix_targets: Sequence[str] = (),
                      collector_set_ids: Sequence[int] = (), cache_active_timeout: int | None = None,
                      cache_max_flows: int = 1024, owner: str = PROBE_OWNER) -> None:
        """The bridge's sFlow agent at ``sflow_targets`` and one IPFIX row at ``ipfix_targets``
        behind one Flow_Sample_Collector_Set per id in ``collector_set_ids`` (flow-based sampling:
        the bridge's own per-bridge IPFIX stays as it is). Rows are marked ``external_ids:owner``;
        empty targets remove ours and leave others' rows alone (a bridge has one sFlow row and a
        set id names one set: those we are asked for are taken over). Idempotent: equal settings
        commit nothing. ``cache_max_flows`` is set outright: unset, OVS's flow exporters cache
        nothing and send every sample as its own message (flowEndReason lackOfResources)."""

        def body(txn: Txn) -> None:
            br = self._need("Bridge", bridge)
            mark = {owner: "probes"}
            row = _one(br.sflow)
            if sflow_targets:
                if row is None:
                    row = txn.insert(self._table("sFlow"))
                    br.sflow = [row]
                for col, val in (("targets", sorted(sflow_targets)), ("sampling", [sampling]),
                                 ("polling", [polling]), ("header", [header]), ("agent", [agent] if agent else []),
                                 ("external_ids", {**_get(row, "external_ids", {}), **mark})):
                    _set(row, col, val)
            elif row is not None and owner in _get(row, "external_ids", {}):
                br.sflow = []
            wanted = set(collector_set_ids) if ipfix_targets else set()
            ours = [s for s in self._table("Flow_Sample_Collector_Set").rows.values() if s.bridge.uuid == br.uuid
                    and (s.id in wanted or owner in _get(s, "external_ids", {}))]
            ipfix = next((r for s in ours for r in s.ipfix if owner in _get(r, "external_ids", {})), None)
            for fs in ours:
                if fs.id not in wanted:
                    fs.delete()
            if not wanted:
                return
            if ipfix is None:
                ipfix = txn.insert(self._table("IPFIX"))
            for col, val in (("targets", sorted(ipfix_targets)), ("external_ids", mark),
                             ("cache_active_timeout", [] if cache_active_timeout is None else [cache_active_timeout]),
                             ("cache_max_flows", [cache_max_flows])):
                _set(ipfix, col, val)
            have = {fs.id: fs for fs in ours if fs.id in wanted}
            for set_id in sorted(wanted):
                fs = have.get(set_id) or txn.insert(self._table("Flow_Sample_Collector_Set"))
                if set_id not in have:
                    fs.id, fs.bridge = set_id, br
                if _get(fs, "ipfix", []) != [ipfix]:
                    fs.ipfix = [ipfix]
                _set(fs, "external_ids", mark)

        self._transact(body)

    def probes(self, bridge: str, owner: str = PROBE_OWNER) -> tuple[list[str], list[int]]:
        """(our sFlow targets, our Flow_Sample_Collector_Set ids) on the bridge: what ensure_probes left."""
        with self._lock:
            self._run()
            br = self._need("Bridge", bridge)
            row = _one(br.sflow)
            sflow = sorted(row.targets) if row is not None and owner in row.external_ids else []
            sets = sorted(s.id for s in self._table("Flow_Sample_Collector_Set").rows.values()
                          if s.bridge.uuid == br.uuid and owner in s.external_ids)
            return sflow, sets

    # -- internals ---------------------------------------------------------------------------
    def _table(self, name: str) -> Any:
        return self._idl.tables[name]

    def _root(self) -> Row | None:
        rows = list(self._table("Open_vSwitch").rows.values())
        return rows[0] if rows else None

    def _need_root(self) -> Row:
        root = self._root()
        if root is None:
            raise OvsdbError(f"{self.remote} has no Open_vSwitch row (database not initialised)")
        return root

    def _find(self, table: str, name: str) -> Row | None:
        return next((r for r in self._table(table).rows.values() if r.name == name), None)

    def _need(self, table: str, name: str) -> Row:
        row = self._find(table, name)
        if row is None:
            raise NotFound(f"no {table.lower()} {name!r}")
        return row

    def _port_bridge(self, port: Row) -> Row | None:
        return next((b for b in self._table("Bridge").rows.values()
                     if any(p.uuid == port.uuid for p in b.ports)), None)

    def _set_controller_rows(self, txn: Txn, br: Row, targets: str | Sequence[str]) -> None:
        wanted = [targets] if isinstance(targets, str) else list(targets)
        current = {c.target: c for c in _get(br, "controller", [])}
        if sorted(current) == sorted(wanted):
            return
        rows = []
        for target in wanted:
            row = current.get(target)
            if row is None:
                row = txn.insert(self._table("Controller"))
                row.target = target
            rows.append(row)
        br.controller = rows

    def _run(self) -> None:
        self._idl.run()

    def _wait(self, pred: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._lock:
            while True:
                self._idl.run()
                if pred():
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OvsdbError(f"timed out waiting for {what} on {self.remote}")
                poller = ovs.poller.Poller()
                self._idl.wait(poller)
                poller.timer_wait(int(min(left, 0.1) * 1000))
                poller.block()

    def _transact(self, body: Callable[[Txn], T], *, wait_applied: bool = True) -> T:
        """Run ``body`` in a transaction, retrying on TRY_AGAIN; then wait until vswitchd
        has applied it (cur_cfg catches up with next_cfg), like ovs-vsctl does."""
        deadline = time.monotonic() + self.timeout
        with self._lock:
            while True:
                self._idl.run()
                seqno = self._idl.change_seqno
                txn = _Transaction(self._idl)
                try:
                    result = body(txn)
                except BaseException:
                    txn.abort()
                    raise
                root = self._root()
                if wait_applied and root is not None:
                    root.increment("next_cfg")
                status = txn.commit_block()
                if status in (_Transaction.SUCCESS, _Transaction.UNCHANGED):
                    break
                if status != _Transaction.TRY_AGAIN or time.monotonic() > deadline:
                    raise OvsdbError(f"OVSDB transaction failed: {status}: {txn.get_error()}")
                self._wait(lambda seqno=seqno: self._idl.change_seqno != seqno, "OVSDB change")
            if wait_applied and status == _Transaction.SUCCESS:
                target = txn.get_increment_new_value()
                self._wait(lambda: (r := self._root()) is not None and r.cur_cfg >= target,
                           "ovs-vswitchd to apply the change")
            return result

