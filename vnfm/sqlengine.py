"""The one SQLite/SQLAlchemy set-up both stores use (vnfm's and nfvo's; nfvo may import vnfm).

SQLite file by default, any SQLAlchemy URL (PostgreSQL) otherwise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def open_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite connections are shared across the owner's threads (each
    store serialises its own writes) and get the pragmas below."""
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log, synced at checkpoints rather than on every commit: a write costs no
    fsync. A power cut may lose the last commits but never corrupts the file; a crash of the
    process loses nothing. Readers wait for a writer of another process instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
