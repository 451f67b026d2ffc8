"""RSS 2.0 and Atom feeds of the daily list and of trending, made with feedgen."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response
from feedgen.feed import FeedGenerator

from dailypapers.papers import PaperView
from dailypapers.settings import Settings
from dailypapers.web.deps import SettingsDep, StoreDep

router = APIRouter(include_in_schema=False)

FEED_ITEMS = 100
# Characters XML 1.0 cannot carry at all; lxml refuses the whole document if one slips into a title.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def _generator(
    settings: Settings, fmt: str, name: str, title: str, description: str, page: str
) -> FeedGenerator:
    base = settings.base_url
    feed = FeedGenerator()
    if fmt == "rss":
        # RSS <author> must be an e-mail address: authors go in <dc:creator> instead.
        feed.load_extension("dc", atom=False, rss=True)
    feed.id(f"{base}/feeds/{name}")
    feed.title(f"{settings.site_name}: {title}")
    feed.subtitle(description)
    # The self link first: feedgen makes the last link the RSS <link>, which must be the page.
    feed.link(href=f"{base}/feeds/{name}.{fmt}", rel="self")
    feed.link(href=f"{base}{page}", rel="alternate")
    feed.language("en")
    feed.generator("dailypapers")
    return feed


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(feed: FeedGenerator, base: str, view: PaperView, fmt: str):
    url = f"{base}/papers/{view.arxiv_id}"
    entry = feed.add_entry(order="append")
    entry.id(url)
    entry.guid(url, permalink=True)
    entry.title(_xml(view.title))
    # One link only: feedgen 1.0 writes Atom entry links without their rel, so a second (PDF) link would
    # read as the entry's page.
    entry.link(href=url, rel="alternate")
    names = [_xml(name) for name in view.authors[:50]]
    if fmt == "rss":
        entry.dc.dc_creator(names)
        # RSS readers take <description> as HTML: escape the abstract so `<` in it stays text.
        entry.description(html.escape(_xml(view.abstract), quote=False))
    else:
        for name in names:
            entry.author(name=name)
        entry.summary(_xml(view.abstract), type="text")
    for category in view.categories:
        entry.category(term=_xml(category))
    moment = view.submitted_at or view.published_at or datetime(1970, 1, 1, tzinfo=UTC)
    entry.published(moment)
    entry.updated(moment)
    # RSS <comments> is the URL of the discussion page, not text.
    entry.comments(url)
    return entry


def _check_format(fmt: str) -> None:
    if fmt not in MEDIA_TYPES:
        raise HTTPException(404, "feeds are .rss or .atom")


def _respond(feed: FeedGenerator, fmt: str) -> Response:
    body = feed.rss_str(pretty=False) if fmt == "rss" else feed.atom_str(pretty=False)
    return Response(body, media_type=MEDIA_TYPES[fmt])


@router.get("/feeds/daily.{fmt}")
def daily_feed(fmt: str, store: StoreDep, settings: SettingsDep) -> Response:
    """The papers of the latest days on the feed, newest day first, best first within a day."""
    _check_format(fmt)
    feed = _generator(
        settings, fmt, "daily", "Daily Papers", "Papers put on the daily feed, newest first.", "/"
    )
    for view in store.feed(None, offset=0, limit=FEED_ITEMS):
        _add(feed, settings.base_url, view, fmt)
    return _respond(feed, fmt)


@router.get("/feeds/trending.{fmt}")
def trending_feed(fmt: str, store: StoreDep, settings: SettingsDep) -> Response:
    _check_format(fmt)
    feed = _generator(
        settings,
        fmt,
        "trending",
        "Trending papers",
        "Papers gaining upvotes now (time-decayed).",
        "/papers/trending",
    )
    for view in store.trending(offset=0, limit=settings.trending_limit):
        _add(feed, settings.base_url, view, fmt)
    return _respond(feed, fmt)


# The pieces, for the personal feeds of web.foryou.
check_format = _check_format
generator = _generator
add = _add
respond = _respond
xml_text = _xml
