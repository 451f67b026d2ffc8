"""The feed-page cache never serves a page older than the database: any commit, by anyone, retires it."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.web.cache import PageCache


def _page_cache(app) -> PageCache:
    node = app.middleware_stack
    while node is not None and not isinstance(node, PageCache):
        node = getattr(node, "app", None)
    assert node is not None, "PageCache is not in the middleware stack"
    return node


def _paper(arxiv_id: str, day: date, upvotes: int) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=f"A paper added while the site runs ({arxiv_id})",
        abstract="An abstract.",
        authors=["Ann Author"],
        categories=["cs.CL"],
        published_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
        daily_date=day,
        submitted_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        submitter=Submitter("someone"),
        upvotes=upvotes,
    )


def _wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)


def _ids(client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200
    return [item["paper"]["id"] for item in response.json()]


def test_repeated_reads_are_served_from_memory_until_a_write(client, demo_store, settings):
    latest = date.fromisoformat(client.get("/index.json").json()["period"]["key"])
    path = f"/api/daily_papers?date={latest}"
    cache = _page_cache(client.app)
    first = _ids(client, path)
    hits = cache.hits
    assert _ids(client, path) == first
    assert client.get(f"/papers/date/{latest}").status_code == 200
    assert client.get(f"/papers/date/{latest}").status_code == 200
    if settings.is_sqlite:  # PostgreSQL's counter is the server's: other databases' writes move it too
        assert cache.hits == hits + 2

    # A write through the app's own store shows at once...
    demo_store.upsert([_paper("2608.99991", latest, 100_000)])
    assert _ids(client, path)[0] == "2608.99991"
    assert "2608.99991" in client.get(f"/papers/date/{latest}").text
    # ...and so does one from elsewhere, like `dailypapers import` run by cron while the site serves.
    other = SqlStore(make_engine(settings))
    try:
        other.upsert([_paper("2608.99992", latest, 200_000)])
    finally:
        other.engine.dispose()
    # (at once on SQLite; on PostgreSQL when the NOTIFY arrives, a moment after the other's commit)
    _wait_until(lambda: _ids(client, path)[:2] == ["2608.99992", "2608.99991"])
    assert "2608.99992" in client.get("/").text


def test_only_anonymous_feed_pages_that_succeeded_are_kept(client):
    cache = _page_cache(client.app)
    before = (cache.hits, cache.misses)
    client.get("/feeds/daily.rss")
    client.get("/api/papers/search?q=attention")
    assert (cache.hits, cache.misses) == before
    assert client.get("/papers/date/2099-13-45").status_code == 404
    assert client.get("/api/daily_papers?limit=0").status_code == 400
    assert all(key[0] not in ("/papers/date/2099-13-45",) for key in cache.entries)
    assert all(key[1] != b"limit=0" for key in cache.entries)
    hits = cache.hits
    client.get("/", headers={"Cookie": "session=abc"})
    client.get("/", headers={"Cookie": "session=abc"})
    assert cache.hits == hits


def test_requests_arriving_while_a_page_is_built_wait_for_it():
    import anyio

    calls = 0

    async def slow_page(scope, receive, send):
        nonlocal calls
        calls += 1
        await anyio.sleep(0.05)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
        )
        await send({"type": "http.response.body", "body": b"<p>the page</p>"})

    class Version:
        blocking = False

        def __call__(self) -> int:
            return 1

    cache = PageCache(slow_page, version=Version())
    bodies: list[bytes] = []

    async def one_request() -> None:
        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
        sent: list[dict] = []

        async def send(message) -> None:
            sent.append(message)

        await cache(scope, None, send)
        assert sent[0]["status"] == 200
        bodies.append(b"".join(m.get("body", b"") for m in sent[1:]))

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one_request)

    anyio.run(main)
    assert calls == 1 and cache.misses == 1 and cache.hits == 19
    assert bodies == [b"<p>the page</p>"] * 20


def test_trending_is_kept_a_minute_whatever_changes(client, demo_store, monkeypatch):
    from dailypapers.web import cache as page_cache

    cache = _page_cache(client.app)
    first = client.get("/papers/trending.json").json()["papers"][0]
    latest = date.fromisoformat(client.get("/index.json").json()["period"]["key"])
    demo_store.upsert([_paper("2608.99993", latest, 10_000_000)])  # would lead trending at once
    hits = cache.hits
    assert client.get("/papers/trending.json").json()["papers"][0] == first  # at most a minute stale
    assert cache.hits == hits + 1
    monkeypatch.setattr(page_cache, "TRENDING_SECONDS", 0.0)
    cache.timed.clear()
    assert client.get("/papers/trending.json").json()["papers"][0]["paper"]["id"] == "2608.99993"


def test_paper_pages_are_cached_until_their_paper_changes(client, demo_store, settings):
    from community_support import account, token

    cache = _page_cache(client.app)
    url = "/api/papers/2608.20336"
    before = client.get(url).json()
    hits = cache.hits
    assert client.get(url).json() == before and client.get("/papers/2608.20336").status_code == 200
    assert client.get("/papers/2608.20336").status_code == 200
    if settings.is_sqlite:  # PostgreSQL's counter is the server's: other databases' writes move it too
        assert cache.hits == hits + 2
    headers = token(demo_store, account(demo_store, "cachereader"))
    client.post("/api/papers/2608.20336/upvote", headers=headers)
    assert client.get(url).json()["upvotes"] == before["upvotes"] + 1  # the next read sees the vote
    client.post("/api/papers/2608.20336/comments", json={"comment": "Seen at once"}, headers=headers)
    assert "Seen at once" in client.get("/papers/2608.20336").text


def test_cached_answers_go_gzipped_to_clients_that_take_it(client):
    plain = client.get("/papers/trending.json", headers={"Accept-Encoding": "identity"})
    packed = client.get("/papers/trending.json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert packed.json() == plain.json()  # the client unpacked it
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    page = client.get("/papers/2608.20336", headers={"Accept-Encoding": "gzip"})  # an uncached build too
    assert page.headers["content-encoding"] == "gzip"
