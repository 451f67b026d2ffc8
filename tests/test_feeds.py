"""RSS and Atom feeds of the daily list and of trending, read back with feedparser."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime

import feedparser
import pytest

from dailypapers.records import PaperRecord, Submitter
from demo_facts import LATEST_DAY, records

FEEDS = ["/feeds/daily.rss", "/feeds/daily.atom", "/feeds/trending.rss", "/feeds/trending.atom"]
MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def _parse(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith(MEDIA_TYPES[path.rsplit(".", 1)[1]])
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    return response, parsed


def _expected(client, demo_store, path: str):
    settings = client.app.state.settings
    if "daily" in path:
        return demo_store.feed(None, offset=0, limit=100)
    return demo_store.trending(offset=0, limit=settings.trending_limit)


def _moment(struct) -> datetime:
    return datetime(*struct[:6], tzinfo=UTC)


def test_feeds_list_the_store_in_order(client, demo_store):
    base = client.app.state.settings.base_url
    for path in FEEDS:
        _, parsed = _parse(client, path)
        views = _expected(client, demo_store, path)
        assert len(parsed.entries) == len(views) > 0, path
        assert parsed.feed.title.endswith("Daily Papers" if "daily" in path else "Trending papers")
        for entry, view in zip(parsed.entries, views, strict=True):
            url = f"{base}/papers/{view.arxiv_id}"
            assert entry.link == url, (path, entry.link)
            assert entry.id == url
            assert entry.title == view.title
            assert _moment(entry.published_parsed) == view.submitted_at
            if path.endswith(".atom"):
                assert _moment(entry.updated_parsed) == view.submitted_at
            assert [a.name for a in entry.authors] == view.authors[:50]
            # RSS carries the abstract as escaped HTML, Atom as text.
            summary = html.unescape(entry.summary) if path.endswith(".rss") else entry.summary
            assert summary == view.abstract
            assert [tag.term for tag in entry.get("tags", [])] == view.categories


def test_daily_feed_starts_with_the_latest_day_best_first(client):
    _, parsed = _parse(client, "/feeds/daily.rss")
    latest = [r for r in records().values() if r.daily_date == date.fromisoformat(LATEST_DAY)]
    best = max(latest, key=lambda r: r.upvotes or 0)
    assert parsed.entries[0].title == best.title
    firsts = {entry.link.rsplit("/", 1)[1] for entry in parsed.entries[: len(latest)]}
    assert firsts == {r.arxiv_id for r in latest}


@pytest.mark.parametrize("name", ["daily", "trending"])
def test_feed_links_point_at_the_site(client, name):
    base = client.app.state.settings.base_url
    _, atom = _parse(client, f"/feeds/{name}.atom")
    links = {link.rel: link.href for link in atom.feed.links}
    assert links["self"] == f"{base}/feeds/{name}.atom"
    assert links["alternate"] == (f"{base}/" if name == "daily" else f"{base}/papers/trending")
    _, rss = _parse(client, f"/feeds/{name}.rss")
    assert rss.feed.link == links["alternate"]


def test_unknown_feeds_are_404(client):
    for path in ("/feeds/daily.xml", "/feeds/trending.rdf", "/feeds/daily", "/feeds/nope.rss", "/feeds/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
    response = client.get("/feeds/daily.json")
    assert response.status_code == 404 and "error" in response.json()


def test_feeds_escape_what_the_data_holds(client, demo_store):
    title = "<script>alert(1)</script> & <b>more</b>"
    abstract = 'Abstract with <img src=x onerror="alert(2)"> and $a<b$ & c, plus a \x01control character.'
    demo_store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.99999",
                title=title + "\x0b",
                abstract=abstract,
                authors=["Ann <b>Author</b>"],
                categories=["cs.CL"],
                published_at=datetime(2026, 8, 21, tzinfo=UTC),
                daily_date=date.fromisoformat(LATEST_DAY),
                submitted_at=datetime(2026, 8, 21, 9, tzinfo=UTC),
                submitter=Submitter("mallory"),
                upvotes=10_000,
            )
        ]
    )
    clean_abstract = abstract.replace("\x01", "")
    for path in FEEDS:
        response, parsed = _parse(client, path)
        assert "<script" not in response.text and "<img" not in response.text and "<b>" not in response.text
        entry = parsed.entries[0]
        assert entry.title == title, path
        if path.endswith(".rss"):
            # <description> is HTML: the abstract arrives as escaped text, nothing a reader would run.
            assert "<img" not in entry.summary
            assert html.unescape(entry.summary) == clean_abstract
        else:
            assert entry.summary == clean_abstract
        assert entry.authors[0].name == "Ann <b>Author</b>"
