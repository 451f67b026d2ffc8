"""Has the database changed since I last looked? A counter that moves with every commit by anyone (this
process, `dailypapers import` in a cron job, another web worker), for caches that must never serve a page
built before a change (dailypapers.web.cache):

- SQLite: `PRAGMA data_version` on a connection of our own that never writes; it changes whenever any other
  connection commits (about 8 µs a request).
- PostgreSQL: `pg_current_snapshot()` (xmin:xmax:in-progress ids): a commit takes its id out of the list,
  a new writer moves xmax, readers leave it alone (one round trip; any database of the server counts).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text

from dailypapers.store.engine import read_connection


class ChangeSignal(Protocol):
    """Calling it returns the database's change counter: equal values, no commit in between."""

    blocking: bool  # True: it waits on the network, call it off the event loop

    def __call__(self) -> Hashable: ...

    def close(self) -> None: ...


class SqliteDataVersion:
    """`PRAGMA data_version` of a read-only connection that is ours alone."""

    blocking = False  # a few microseconds: read on the event loop

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            if self._conn is None:
                uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_SNAPSHOT = text("SELECT pg_current_snapshot()::text")


class PostgresSnapshot:
    """The server's current snapshot: it changes with every commit, and with nothing that only reads."""

    blocking = True  # a network round trip: read in a worker thread

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> str:
        with read_connection(self.engine) as conn:
            return conn.execute(_SNAPSHOT).scalar_one()

    def close(self) -> None:
        pass


def change_signal(engine: Engine) -> ChangeSignal | None:
    """How to tell that this engine's database changed; None when there is no such thing (an in-memory or
    URI-named SQLite database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return SqliteDataVersion(url.database)
    if url.get_backend_name() == "postgresql":
        return PostgresSnapshot(engine)
    return None
