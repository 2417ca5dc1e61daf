"""``vnfm.protocols.Store`` and ``ImageStore`` over SQLAlchemy 2 Core: VNF records, their specs,
networks, events, and registered images (beside the VNFs whose VDUs use them).

SQLite file by default (``vnfm.sqlengine``); any SQLAlchemy URL (PostgreSQL) works later. Rows hold JSON documents of
the frozen values (``vnfm.codec``): the schema stays tiny and the model can grow without
migrations for every field.
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint, delete, insert, select,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine

from vnfm.codec import from_json, to_json
from vnfm.errors import AlreadyExists
from vnfm.images import ImageRecord
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
images = Table("vnfm_images", meta,
               Column("id", String(64), primary_key=True),
               Column("prefix", String(16), nullable=False, index=True),
               Column("name", String(255), nullable=False),
               Column("record", Text, nullable=False),
               UniqueConstraint("prefix", "name", name="uq_vnfm_image_name"))


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


    # -- images ----------------------------------------------------------------------------------
    def images(self) -> list[ImageRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(images.c.record).where(images.c.prefix == self.prefix)).all()
        return sorted((from_json(ImageRecord, json.loads(r)) for (r,) in rows), key=lambda i: (i.created_at, i.name))

    def put_image(self, rec: ImageRecord, *, new: bool = False) -> None:
        doc = json.dumps(to_json(rec))
        with self._lock, self.engine.begin() as conn:
            if not new:
                if conn.execute(update(images).where(images.c.id == rec.id).values(record=doc)).rowcount != 1:
                    raise KeyError(rec.id)
                return
            try:
                conn.execute(insert(images).values(id=rec.id, prefix=self.prefix, name=rec.name, record=doc))
            except IntegrityError:
                raise AlreadyExists(f"image {rec.name!r} exists already") from None

    def delete_image(self, image_id: str) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(images).where(images.c.id == image_id))
