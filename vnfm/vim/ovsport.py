"""Access ports with a local VLAN tag, in one OVSDB transaction per server.

Why here: ``dataplane.ovsdb.Ovsdb.ensure_port`` has no ``tag`` column and one transaction per
port (each waits for vswitchd); this helper uses the same IDL connection and lock (the Ovsdb
internals it calls are the ones ensure_port uses) and should move into dataplane as
``ensure_ports(..., tag=)`` when that module next changes hands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Mapping

from dataplane.ovsdb import Conflict, InterfaceError, Ovsdb


@dataclass(frozen=True)
class AccessPort:
    name: str
    tag: int
    mtu: int | None = None
    ofport_request: int | None = None
    external_ids: Mapping[str, str] = field(default_factory=dict)


def ensure_access_ports(db: Ovsdb, bridge: str, ports: Sequence[AccessPort]) -> dict[str, int]:
    """Add/update the ports (tag, ofport_request, external_ids) and return name -> ofport once
    vswitchd has opened them; on InterfaceError the ports are removed again."""
    if not ports:
        return {}

    def body(txn: Any) -> None:
        br = db._need("Bridge", bridge)
        added = []
        for p in ports:
            row = db._find("Port", p.name)
            if row is not None:
                owner = db._port_bridge(row)
                if owner is not None and owner.name != bridge:
                    raise Conflict(f"port {p.name!r} is on bridge {owner.name!r}")
                iface = row.interfaces[0]
            else:
                iface = txn.insert(db._table("Interface"))
                iface.name = p.name
                row = txn.insert(db._table("Port"))
                row.name, row.interfaces = p.name, [iface]
                added.append(row)
            iface.type = ""
            row.tag = [p.tag]
            if p.mtu is not None:
                iface.mtu_request = [p.mtu]
            if p.ofport_request:
                iface.ofport_request = [p.ofport_request]
            if p.external_ids:
                iface.external_ids = dict(p.external_ids)
                row.external_ids = dict(p.external_ids)
        if added:
            br.verify("ports")
            br.ports = list(br.ports) + added

    db._transact(body)
    try:
        return {p.name: db.ofport(p.name) for p in ports}
    except InterfaceError:
        delete_ports(db, bridge, [p.name for p in ports])
        raise


def delete_ports(db: Ovsdb, bridge: str, names: Sequence[str]) -> None:
    """Remove the named ports in one transaction (missing ones are ignored)."""
    gone = set(names)
    if not gone:
        return

    def body(txn: Any) -> None:
        br = db._find("Bridge", bridge)
        if br is None:
            return
        keep = [p for p in br.ports if p.name not in gone]
        if len(keep) != len(br.ports):
            br.verify("ports")
            br.ports = keep

    db._transact(body)
