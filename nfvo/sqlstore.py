"""``nfvo.protocols.Store`` over SQLAlchemy: one JSON document per resource (SQLite file by
default, set up by ``vnfm.sqlengine``; PostgreSQL by URL), with a write-through in-memory cache.

Why documents and not one table per resource: the records are small frozen values already
serialised for the API, every query is "by kind, by name or id", and schema changes stay in the
model. The cache makes reads (the API's list/show) cost no SQL; this process is the one writer.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, UniqueConstraint, delete, select

from nfvo.errors import AlreadyExists
from vnfm.sqlengine import open_engine

_meta = MetaData()
resources = Table(
    "nfvo_resources", _meta,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", Float, nullable=False, default=0.0),
    UniqueConstraint("kind", "name", name="uq_kind_name"),
)


class SqlStore:
    """Thread-safe; ``url`` like ``sqlite:///var/nfvo.db`` or ``postgresql://...``."""

    def __init__(self, url: str = "sqlite://"):
        self._engine = open_engine(url)
        _meta.create_all(self._engine)
        self._lock = threading.RLock()
        self._cache: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}  # kind -> id -> (name, body)
        self._names: dict[str, dict[str, str]] = {}  # kind -> name -> id
        with self._engine.connect() as conn:
            for row in conn.execute(select(resources.c.kind, resources.c.id, resources.c.name, resources.c.body)):
                self._cache.setdefault(row.kind, {})[row.id] = (row.name, json.loads(row.body))
                self._names.setdefault(row.kind, {})[row.name] = row.id

    def insert(self, kind: str, id: str, name: str, body: dict[str, Any]) -> None:
        with self._lock:
            if self._find(kind, name) is not None:
                raise AlreadyExists(f"{kind} {name!r} already exists")
            with self._engine.begin() as conn:
                conn.execute(resources.insert().values(id=id, kind=kind, name=name, body=json.dumps(body),
                                                       updated_at=body.get("updated_at") or 0.0))
            self._cache.setdefault(kind, {})[id] = (name, body)
            self._names.setdefault(kind, {})[name] = id

    def update(self, kind: str, id: str, body: dict[str, Any]) -> None:
        with self._lock:
            with self._engine.begin() as conn:
                conn.execute(resources.update().where(resources.c.id == id)
                             .values(body=json.dumps(body), updated_at=body.get("updated_at") or 0.0))
            name = self._cache[kind][id][0]
            self._cache[kind][id] = (name, body)

    def _find(self, kind: str, name_or_id: str) -> dict[str, Any] | None:
        rows = self._cache.get(kind, {})
        if name_or_id in rows:
            return rows[name_or_id][1]
        id = self._names.get(kind, {}).get(name_or_id)
        return rows[id][1] if id is not None else None

    def get(self, kind: str, name_or_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._find(kind, name_or_id)

    def list(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for _, body in self._cache.get(kind, {}).values()]

    def delete(self, kind: str, id: str) -> None:
        with self._lock:
            with self._engine.begin() as conn:
                conn.execute(delete(resources).where(resources.c.id == id))
            row = self._cache.get(kind, {}).pop(id, None)
            if row is not None:
                self._names[kind].pop(row[0], None)

    def close(self) -> None:
        self._engine.dispose()

