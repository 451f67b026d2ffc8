"""A cache of finished feed pages, exact rather than timed: an entry lives until the database changes.

The daily page and `/api/daily_papers` are read far more often than the data under them changes, and building
one costs milliseconds of Python (queries, views, template). So anonymous GETs of those paths are answered
from memory while the database's change counter is the one they were built under. The counter moves with
every commit by anyone (this process, `dailypapers import` in a cron job, another web worker), so no
entry is ever served after a change:

- SQLite: `PRAGMA data_version` on a connection of our own that never writes; it changes whenever any other
  connection commits (about 8 µs a request).
- PostgreSQL: `pg_current_snapshot()` (xmin:xmax:in-progress ids): a commit takes its id out of the list,
  a new writer moves xmax, readers leave it alone (one round trip; any database of the server counts).

The counter is read before the page is built: a commit landing meanwhile leaves that entry under an old
counter, never a new one. Requests that carry a cookie or credentials, and every other path, go straight
through (trending scores move with the clock, a paper's similar papers with the search index).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread
from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE = re.compile(r"^/(?:index\.json)?$|^/papers/(?:date|week|month)/[^/]+$|^/api/daily_papers$")
MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
PRIVATE_HEADERS = (b"cookie", b"authorization")


class SqliteVersion:
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


class PostgresVersion:
    """The server's current snapshot: it changes with every commit, and with nothing that only reads."""

    blocking = True  # a network round trip: read in a worker thread

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> str:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()

    def close(self) -> None:
        pass


def version_source(engine: Engine) -> SqliteVersion | PostgresVersion | None:
    """How to read the change counter of this engine's database; None when there is no such thing."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return SqliteVersion(url.database)
    if url.get_backend_name() == "postgresql":
        return PostgresVersion(engine)
    return None


class PageCache:
    """ASGI middleware answering anonymous GETs of the feed pages from memory (see the module doc)."""

    def __init__(
        self, app: ASGIApp, version: Callable[[], object] | None, max_bytes: int = MAX_BYTES
    ) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[str, bytes], tuple[Message, bytes]] = OrderedDict()
        self.size = 0
        self.current: object = None
        # Pages being built, so that the requests arriving meanwhile wait for that one instead of each
        # building it again (right after a write, all 32 connections of a load test would otherwise).
        self.building: dict[tuple[str, bytes], tuple[object, anyio.Event]] = {}
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        try:
            if getattr(self.version, "blocking", True):
                version = await anyio.to_thread.run_sync(self.version)
            else:
                version = self.version()
        except Exception:  # the database is away: no cache, and the route reports the error its own way
            await self.app(scope, receive, send)
            return
        if version != self.current:
            self._clear(version)
        key = (scope["path"], scope.get("query_string", b""))
        building = self.building.get(key)
        if building is not None and building[0] == version:
            await building[1].wait()
        entry = self.entries.get(key)
        if entry is not None:
            self.hits += 1
            self.entries.move_to_end(key)
            await send(dict(entry[0]))
            await send({"type": "http.response.body", "body": entry[1]})
            return
        self.misses += 1
        done = anyio.Event()
        self.building[key] = (version, done)
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(key, version, start, b"".join(chunks))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if self.building.get(key, (None, None))[1] is done:
                del self.building[key]
            done.set()

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or self.version is None:
            return False
        if not CACHEABLE.match(scope["path"]):
            return False
        return not any(name in PRIVATE_HEADERS for name, _ in scope["headers"])

    def _clear(self, version: object) -> None:
        self.entries.clear()
        self.size = 0
        self.current = version

    def _store(self, key: tuple[str, bytes], version: object, start: Message | None, body: bytes) -> None:
        if start is None or start["status"] != 200 or version != self.current:
            return  # an error, or the database changed while this page was being built
        if any(name == b"set-cookie" for name, _ in start.get("headers", [])):
            return
        if len(body) > MAX_ENTRY_BYTES or key in self.entries:
            return
        self.entries[key] = (start, body)
        self.size += len(body)
        while self.size > self.max_bytes and self.entries:
            _, (_, dropped) = self.entries.popitem(last=False)
            self.size -= len(dropped)
