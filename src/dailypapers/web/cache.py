"""A cache of finished pages, exact rather than timed: an entry lives until the database changes.

The feed pages, paper pages (HTML, `.json`, `.md`, and `/api/papers/{id}`), `/api/daily_papers` and a
paper's comments are read far more often than the data under them changes, and building one costs
milliseconds of Python (queries, the similar papers' vector search, views, template). So GETs of those
paths are answered from memory while the database's change counter is the one they were built under.
The counter (dailypapers.store.changes: `PRAGMA data_version` on SQLite, about 8 µs a request; on
PostgreSQL a count of this database's commits heard through LISTEN/NOTIFY, no round trip) moves with every
commit by anyone (this process, `dailypapers import` in a cron job, another web worker or node), so no entry
is served after a change (on PostgreSQL: once the change's notification has arrived, milliseconds after
another process's commit; this process's own commits count at once).

The counter is read before the page is built: a commit landing meanwhile leaves that entry under an old
counter, never a new one. A paper's similar papers come from the vector index, which follows the
`embeddings` table: a new embedding is a commit too.

Trending is the one timed entry: its order is the same at every moment and its "fresh upvotes now" figures
move with the clock, so it is kept for `TRENDING_SECONDS` whatever happens (the README says so), and its
many readers cost nothing in between. Search and everything else go straight through.

Text answers are kept gzipped too (compressed once, when stored), and sent that way to clients that accept
it: compressing the same 250 KB trending answer for every request would cost more than building it.

Signed-in readers see their own upvotes and a CSRF token in the page, so their pages are their own: a request
carrying the session cookie or an `Authorization` header is cached under a hash of those headers, apart from
the anonymous pages and within its own budget (`MAX_PERSONAL_BYTES`, so many readers cannot push the shared
pages out). Only the holder of that cookie or token is ever answered from such an entry, and it is retired
with every commit like the rest (a sign-out, an upvote, a suspension are commits). Requests carrying other
cookies go straight through, as before.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.store.changes import ChangeSignal

CACHEABLE = re.compile(
    r"^/(?:index\.json)?$|^/papers/(?:date|week|month)/[^/]+$|^/api/daily_papers$|^/api/papers/.+/comments$"
    # A paper: its page and twins, and the API's answer (old-style ids have a slash: hep-th/9901001).
    r"|^/papers/(?!submit(?:/|$)|trending|date/|week/|month/)[^/]+(?:/[^/]+)?$"
    r"|^/api/papers/(?!search$|submit(?:/|$))[^/]+(?:/[^/]+)?(?:/similar)?$"
    # Authors and organizations (web.authors).
    r"|^/authors/.+$|^/orgs(?:\.json)?$|^/orgs/[^/]+$"
)
TIMED = re.compile(r"^/papers/trending(?:\.json)?$|^/trends(?:\.json)?$|^/trends/[^/]+$")
TRENDING_SECONDS = 60.0
MAX_BYTES = 64 * 1024 * 1024
MAX_PERSONAL_BYTES = 16 * 1024 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
SESSION_COOKIE = b"dp_session="  # web.auth.SESSION_COOKIE


# Compressed when stored, for clients that accept gzip: level 6 is zlib's usual balance of size and time.
GZIP_LEVEL = 6
MIN_GZIP_BYTES = 500
_COMPRESSIBLE = (b"text/", b"application/json", b"application/xml", b"application/rss", b"application/atom")


@dataclass(slots=True)
class Entry:
    start: Message  # status and headers, as the page was built
    body: bytes
    gzipped: bytes | None  # the body gzipped, when it is text worth compressing
    expires: float | None = None  # timed entries only (monotonic clock)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


def _entry(start: Message, body: bytes, expires: float | None = None) -> Entry:
    headers = start.get("headers", [])
    kind = next((v for k, v in headers if k == b"content-type"), b"")
    packed = None
    if len(body) >= MIN_GZIP_BYTES and kind.startswith(_COMPRESSIBLE):
        if not any(k == b"content-encoding" for k, _ in headers):
            packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
    plain = [(k, v) for k, v in headers if k not in (b"content-length", b"vary")]
    vary = [(b"vary", b"Accept-Encoding")] if packed is not None else []
    return Entry({**start, "headers": [*plain, *vary]}, body, packed, expires)


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


async def _replay(entry: Entry, scope: Scope, send: Send) -> None:
    zipped = entry.gzipped is not None and _accepts_gzip(scope)
    body = entry.gzipped if zipped else entry.body
    headers = [*entry.start["headers"], (b"content-length", str(len(body)).encode())]
    if zipped:
        headers.append((b"content-encoding", b"gzip"))
    await send({**entry.start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class PageCache:
    """ASGI middleware answering GETs of the cacheable pages from memory (see the module doc)."""

    def __init__(self, app: ASGIApp, version: ChangeSignal | None, max_bytes: int = MAX_BYTES) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.size = 0
        # Signed-in readers' pages, keyed (path, query, hash of their credentials).
        self.personal: OrderedDict[tuple, Entry] = OrderedDict()
        self.personal_size = 0
        self.max_personal_bytes = min(MAX_PERSONAL_BYTES, max_bytes // 2)
        # Timed entries (trending), anonymous only: they outlive commits, until they expire.
        self.timed: dict[tuple, Entry] = {}
        self.current: object = None
        # Pages being built, so that the requests arriving meanwhile wait for that one instead of each
        # building it again (right after a write, all 32 connections of a load test would otherwise).
        self.building: dict[tuple, tuple[object, anyio.Event]] = {}
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        audience = self._audience(scope)
        if audience is None:
            await self.app(scope, receive, send)
            return
        key: tuple = (scope["path"], scope.get("query_string", b""))
        if audience == b"" and TIMED.match(scope["path"]):
            await self._timed(key, scope, receive, send)
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
            await _replay(entry, scope, send)
            return
        self.misses += 1
        await self._build(
            key, version, scope, receive, send, lambda start, body: self._store(key, version, start, body)
        )

    async def _timed(self, key: tuple, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.timed.get(key)
        if entry is not None and entry.expires > time.monotonic():
            self.hits += 1
            await _replay(entry, scope, send)
            return
        self.misses += 1

        def keep(start: Message, body: bytes) -> None:
            if start["status"] == 200 and not any(k == b"set-cookie" for k, _ in start.get("headers", [])):
                if len(self.timed) > 1000:  # pages of trending are few; many keys means odd queries
                    self.timed.clear()
                self.timed[key] = _entry(start, body, time.monotonic() + TRENDING_SECONDS)

        await self._build(key, "timed", scope, receive, send, keep)

    async def _build(self, key, version, scope: Scope, receive: Receive, send: Send, keep) -> None:
        """Build the page (the route runs), keep it with `keep(start, body)`, and let waiters in."""
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
                if not message.get("more_body", False) and start is not None:
                    keep(start, b"".join(chunks))
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
        if not CACHEABLE.match(scope["path"]) and not TIMED.match(scope["path"]):
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
        if TIMED.match(scope["path"]):
            return None  # a reader's own trending page (their upvote marks) is built for them
        return hashlib.sha256((cookie or b"") + b"\0" + (authorization or b"")).digest()

    def _clear(self, version: object) -> None:
        self.entries.clear()
        self.size = 0
        self.personal.clear()
        self.personal_size = 0
        self.current = version

    def _store(self, key: tuple, version: object, start: Message, body: bytes) -> None:
        if start["status"] != 200 or version != self.current:
            return  # an error, or the database changed while this page was being built
        if any(name == b"set-cookie" for name, _ in start.get("headers", [])):
            return
        if len(body) > MAX_ENTRY_BYTES:
            return
        if len(key) == 3:
            self._keep(self.personal, "personal_size", self.max_personal_bytes, key, _entry(start, body))
        else:
            self._keep(self.entries, "size", self.max_bytes, key, _entry(start, body))

    def _keep(self, entries: OrderedDict, size_name: str, budget: int, key, entry: Entry) -> None:
        if key in entries:
            return
        entries[key] = entry
        size = getattr(self, size_name) + entry.size
        while size > budget and entries:
            _, dropped = entries.popitem(last=False)
            size -= dropped.size
        setattr(self, size_name, size)
