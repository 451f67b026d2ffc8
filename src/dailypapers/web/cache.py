"""A cache of finished feed pages, exact rather than timed: an entry lives until the database changes.

The daily page, `/api/daily_papers` and a paper's comments are read far more often than the data under
them changes, and building one costs milliseconds of Python (queries, views, template). So anonymous GETs
of those paths are answered from memory while the database's change counter is the one they were built
under. The counter (dailypapers.store.changes: `PRAGMA data_version` on SQLite, about 8 µs a request; the
current snapshot on PostgreSQL) moves with every commit by anyone (this process, `dailypapers import` in a
cron job, another web worker), so no entry is ever served after a change.

The counter is read before the page is built: a commit landing meanwhile leaves that entry under an old
counter, never a new one. Every other path goes straight through (trending scores move with the clock, a
paper's similar papers with the search index).

Signed-in readers see their own upvotes and a CSRF token in the page, so their pages are their own: a request
carrying the session cookie or an `Authorization` header is cached under a hash of those headers, apart from
the anonymous pages and within its own budget (`MAX_PERSONAL_BYTES`, so many readers cannot push the shared
pages out). Only the holder of that cookie or token is ever answered from such an entry, and it is retired
with every commit like the rest (a sign-out, an upvote, a suspension are commits). Requests carrying other
cookies go straight through, as before.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.store.changes import ChangeSignal

CACHEABLE = re.compile(
    r"^/(?:index\.json)?$|^/papers/(?:date|week|month)/[^/]+$|^/api/daily_papers$|^/api/papers/.+/comments$"
)
MAX_BYTES = 32 * 1024 * 1024
MAX_PERSONAL_BYTES = 16 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
SESSION_COOKIE = b"dp_session="  # web.auth.SESSION_COOKIE


class PageCache:
    """ASGI middleware answering anonymous GETs of the feed pages from memory (see the module doc)."""

    def __init__(self, app: ASGIApp, version: ChangeSignal | None, max_bytes: int = MAX_BYTES) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple[str, bytes], tuple[Message, bytes]] = OrderedDict()
        self.size = 0
        # Signed-in readers' pages, keyed (path, query, hash of their credentials).
        self.personal: OrderedDict[tuple, tuple[Message, bytes]] = OrderedDict()
        self.personal_size = 0
        self.max_personal_bytes = min(MAX_PERSONAL_BYTES, max_bytes // 2)
        self.current: object = None
        # Pages being built, so that the requests arriving meanwhile wait for that one instead of each
        # building it again (right after a write, all 32 connections of a load test would otherwise).
        self.building: dict[tuple[str, bytes], tuple[object, anyio.Event]] = {}
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        audience = self._audience(scope)
        if audience is None:
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
        key: tuple = (scope["path"], scope.get("query_string", b""))
        if audience:
            key = (*key, audience)
        entries = self.personal if audience else self.entries
        building = self.building.get(key)
        if building is not None and building[0] == version:
            await building[1].wait()
        entry = entries.get(key)
        if entry is not None:
            self.hits += 1
            entries.move_to_end(key)
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

    def _audience(self, scope: Scope) -> bytes | None:
        """b"" for an anonymous request, a digest of the credentials for a signed-in one, None: not cached."""
        if scope["type"] != "http" or scope["method"] != "GET" or self.version is None:
            return None
        if not CACHEABLE.match(scope["path"]):
            return None
        cookie = authorization = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
            elif name == b"authorization":
                authorization = value
        if cookie is None and authorization is None:
            return b""
        if cookie is not None and SESSION_COOKIE not in cookie:
            return None  # some other cookie: we cannot tell what it changes
        return hashlib.sha256((cookie or b"") + b"\0" + (authorization or b"")).digest()

    def _clear(self, version: object) -> None:
        self.entries.clear()
        self.size = 0
        self.personal.clear()
        self.personal_size = 0
        self.current = version

    def _store(self, key: tuple, version: object, start: Message | None, body: bytes) -> None:
        if start is None or start["status"] != 200 or version != self.current:
            return  # an error, or the database changed while this page was being built
        if any(name == b"set-cookie" for name, _ in start.get("headers", [])):
            return
        if len(key) == 3:
            self._keep(self.personal, "personal_size", self.max_personal_bytes, key, start, body)
        else:
            self._keep(self.entries, "size", self.max_bytes, key, start, body)

    def _keep(
        self, entries: OrderedDict, size_name: str, budget: int, key, start: Message, body: bytes
    ) -> None:
        if len(body) > MAX_ENTRY_BYTES or key in entries:
            return
        entries[key] = (start, body)
        size = getattr(self, size_name) + len(body)
        while size > budget and entries:
            _, (_, dropped) = entries.popitem(last=False)
            size -= len(dropped)
        setattr(self, size_name, size)
