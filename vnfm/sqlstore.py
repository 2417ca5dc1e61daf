"""``vnfm.protocols.Store`` over SQLAlchemy 2 Core: VNF records, their specs, networks, events.

SQLite file by default (``vnfm.sqlengine``); any SQLAlchemy URL (PostgreSQL) works later. Rows hold JSON documents of
the frozen values (``vnfm.codec``): the schema stays tiny and the model can grow without
migrations for every field.
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine

from vnfm.codec import from_json, to_json
from vnfm.model import Network, VnfEvent, VnfRecord
from vnfm.protocols import StoredVnf
from vnfm.spec import VnfSpec
from vnfm.sqlengine import open_engine

meta = MetaData()
vnfs = Table("vnfm_vnfs", meta,
             Column("id", String(64), primary_key=True),
             Column("prefix", String(16), nullable=False, index=True),
             Column("name", String(255), nullable=False),
             Column("record", Text, nullable=False),
             Column("spec", Text, nullable=False))
networks = Table("vnfm_networks", meta,
                 Column("prefix", String(16), primary_key=True),
                 Column("name", String(255), primary_key=True),
                 Column("vlan", Integer, nullable=False),
                 Column("cidr", String(64), nullable=False))
events = Table("vnfm_events", meta,
               Column("seq", Integer, primary_key=True, autoincrement=True),
               Column("prefix", String(16), nullable=False, index=True),
               Column("vnf_id", String(64), nullable=False, index=True),
               Column("time", Float, nullable=False),
               Column("event", Text, nullable=False))


class VnfSqlStore:
    """Rows of one deployment (``prefix``); a single engine shared by the manager's threads."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.engine: Engine = open_engine(url)
        meta.create_all(self.engine)
        self._lock = threading.Lock()   # SQLite writers: one at a time from this process

    def close(self) -> None:
        self.engine.dispose()

    # -- VNFs ------------------------------------------------------------------------------------
    def put(self, rec: VnfRecord, spec: VnfSpec | None = None) -> None:
        doc = json.dumps(to_json(rec))
        with self._lock, self.engine.begin() as conn:
            if spec is None:
                n = conn.execute(update(vnfs).where(vnfs.c.id == rec.id)
                                 .values(record=doc, name=rec.name)).rowcount
                if n != 1:
                    raise KeyError(rec.id)
            elif conn.execute(select(vnfs.c.id).where(vnfs.c.id == rec.id)).first():
                conn.execute(update(vnfs).where(vnfs.c.id == rec.id)
                             .values(record=doc, name=rec.name, spec=json.dumps(to_json(spec))))
            else:
                conn.execute(insert(vnfs).values(id=rec.id, prefix=self.prefix, name=rec.name,
                                                 record=doc, spec=json.dumps(to_json(spec))))

    def delete(self, vnf_id: str) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(vnfs).where(vnfs.c.id == vnf_id))

    def all(self) -> list[StoredVnf]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(vnfs.c.record, vnfs.c.spec)
                                .where(vnfs.c.prefix == self.prefix)).all()
        out = [StoredVnf(from_json(VnfRecord, json.loads(r)), from_json(VnfSpec, json.loads(s)))
               for r, s in rows]
        return sorted(out, key=lambda v: (v.record.created_at, v.record.name))

    # -- networks --------------------------------------------------------------------------------
    def networks(self) -> dict[str, Network]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(networks.c.name, networks.c.vlan, networks.c.cidr)
                                .where(networks.c.prefix == self.prefix)).all()
        return {n: Network(n, v, c) for n, v, c in rows}

    def add_networks(self, nets: list[Network]) -> None:
        if not nets:
            return
        with self._lock, self.engine.begin() as conn:
            conn.execute(insert(networks), [{"prefix": self.prefix, "name": n.name,
                                             "vlan": n.vlan, "cidr": n.cidr} for n in nets])

    # -- events ----------------------------------------------------------------------------------
    def add_event(self, ev: VnfEvent) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(insert(events).values(prefix=self.prefix, vnf_id=ev.vnf_id,
                                               time=ev.time, event=json.dumps(to_json(ev))))

    def events(self, vnf_id: str | None = None) -> list[VnfEvent]:
        q = select(events.c.event).where(events.c.prefix == self.prefix).order_by(events.c.seq)
        if vnf_id is not None:
            q = q.where(events.c.vnf_id == vnf_id)
        with self.engine.connect() as conn:
            return [from_json(VnfEvent, json.loads(e)) for (e,) in conn.execute(q)]

