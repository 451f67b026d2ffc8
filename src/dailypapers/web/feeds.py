"""RSS 2.0 and Atom feeds of the daily list and of trending, made with feedgen."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from feedgen.feed import FeedGenerator

from dailypapers.papers import PaperView
from dailypapers.web.deps import StoreDep

router = APIRouter(include_in_schema=False)

FEED_ITEMS = 100
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def _generator(request: Request, name: str, title: str, description: str, page: str) -> FeedGenerator:
    base = request.app.state.settings.base_url
    feed = FeedGenerator()
    feed.id(f"{base}/feeds/{name}")
    feed.title(f"{request.app.state.settings.site_name}: {title}")
    feed.subtitle(description)
    feed.link(href=f"{base}{page}", rel="alternate")
    feed.link(href=str(request.url.replace(query=None)), rel="self")
    feed.language("en")
    feed.generator("dailypapers")
    return feed


def _add(feed: FeedGenerator, base: str, view: PaperView) -> None:
    url = f"{base}/papers/{view.arxiv_id}"
    entry = feed.add_entry(order="append")
    entry.id(url)
    entry.guid(url, permalink=True)
    entry.title(view.title)
    entry.link(href=url, rel="alternate")
    entry.link(href=view.pdf_url, rel="related", type="application/pdf", title="PDF")
    for name in view.authors[:50]:
        entry.author(name=name)
    summary = view.abstract
    entry.summary(summary)
    entry.description(summary)
    for category in view.categories:
        entry.category(term=category)
    moment = view.submitted_at or view.published_at or datetime(1970, 1, 1, tzinfo=UTC)
    entry.published(moment)
    entry.updated(moment)
    entry.comments(f"{view.upvotes} upvotes")


def _respond(feed: FeedGenerator, fmt: str) -> Response:
    if fmt not in MEDIA_TYPES:
        raise HTTPException(404, "feeds are .rss or .atom")
    body = feed.rss_str(pretty=False) if fmt == "rss" else feed.atom_str(pretty=False)
    return Response(body, media_type=MEDIA_TYPES[fmt])


@router.get("/feeds/daily.{fmt}")
def daily_feed(fmt: str, request: Request, store: StoreDep) -> Response:
    """The papers of the latest days on the feed, newest day first, best first within a day."""
    feed = _generator(request, "daily", "Daily Papers", "Papers put on the daily feed, newest first.", "/")
    base = request.app.state.settings.base_url
    for view in store.feed(None, offset=0, limit=FEED_ITEMS):
        _add(feed, base, view)
    return _respond(feed, fmt)


@router.get("/feeds/trending.{fmt}")
def trending_feed(fmt: str, request: Request, store: StoreDep) -> Response:
    feed = _generator(
        request,
        "trending",
        "Trending papers",
        "Papers gaining upvotes now (time-decayed).",
        "/papers/trending",
    )
    base = request.app.state.settings.base_url
    for view in store.trending(offset=0, limit=request.app.state.settings.trending_limit):
        _add(feed, base, view)
    return _respond(feed, fmt)
