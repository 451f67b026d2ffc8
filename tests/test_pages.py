"""HTML pages: lists with working navigation, the paper page, JSON twins that agree, and escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from markupsafe import escape

from dailypapers.names import author_path
from dailypapers.records import PaperRecord, Submitter
from demo_facts import EMPTY_DAY, LATEST_DAY, RICH_ID, by_day, feed_days, records

CARD_ID = re.compile(r'<article\b[^>]*\bdata-arxiv-id="([^"]+)"')
LINK_TAG = re.compile(r"<a\b[^>]*>")
BADGE = "#1 Paper of the day"


def _html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _twin(client, path: str) -> dict:
    response = client.get("/index.json" if path == "/" else _json_path(path))
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _json_path(path: str) -> str:
    bare, _, query = path.partition("?")
    return f"{bare}.json" + (f"?{query}" if query else "")


def _card_ids(html: str) -> list[str]:
    return CARD_ID.findall(html)


def _nav(html: str, rel: str) -> str | None:
    """The href of the page's `rel=prev` or `rel=next` link, if it has one."""
    for tag in LINK_TAG.findall(html):
        if re.search(rf'\brel="{rel}"', tag):
            return re.search(r'\bhref="([^"]+)"', tag).group(1)
    return None


def test_home_is_the_latest_day(reader):
    html = _html(reader, "/")
    twin = _twin(reader, "/")
    latest = feed_days()[0]
    assert twin["period"]["key"] == latest.isoformat() == LATEST_DAY
    ids = [item["paper"]["id"] for item in twin["papers"]]
    assert _card_ids(html) == ids
    assert set(ids) == {r.arxiv_id for r in by_day()[latest]}
    assert ids == [item["paper"]["id"] for item in _twin(reader, f"/papers/date/{LATEST_DAY}")["papers"]]
    assert twin["next"] is None
    assert twin["previous"] == f"/papers/date/{feed_days()[1].isoformat()}"


def test_every_list_page_has_the_papers_of_its_json_twin_in_order(reader):
    for path in (
        "/",
        f"/papers/date/{LATEST_DAY}",
        "/papers/date/2026-08-06",
        f"/papers/date/{EMPTY_DAY}",
        "/papers/week/2026-W34",
        "/papers/week/2026-W27",
        "/papers/month/2026-07",
        "/papers/month/2026-07?p=1",
        "/papers/trending",
        "/papers/trending?p=1",
    ):
        html = _html(reader, path)
        twin = _twin(reader, path)
        assert _card_ids(html) == [item["paper"]["id"] for item in twin["papers"]], path
        for item in twin["papers"]:
            assert item["url"] == f"/papers/{item['paper']['id']}"


def test_day_navigation_walks_every_feed_day_and_skips_empty_ones(reader):
    expected = [d.isoformat() for d in feed_days()]
    assert EMPTY_DAY not in expected
    path, walked = f"/papers/date/{LATEST_DAY}", []
    while path:
        twin = _twin(reader, path)
        walked.append(twin["period"]["key"])
        assert twin["papers"], path
        previous = twin["previous"]
        if previous:
            # Following a link gives a page whose opposite link leads back.
            assert _twin(reader, previous)["next"] == path
        path = previous
        assert len(walked) <= len(expected)
    assert walked == expected


def test_day_navigation_links_in_html(reader):
    html = _html(reader, "/papers/date/2026-07-06")
    assert _nav(html, "prev") == "/papers/date/2026-07-04"  # 2026-07-05 had no papers
    assert _nav(html, "next") == "/papers/date/2026-07-07"
    assert _nav(_html(reader, "/papers/date/2026-07-04"), "next") == "/papers/date/2026-07-06"
    assert _nav(_html(reader, "/papers/date/2026-07-07"), "prev") == "/papers/date/2026-07-06"
    # The first day has no previous, the latest no next; a day without papers links to its neighbours.
    first = _html(reader, f"/papers/date/{feed_days()[-1].isoformat()}")
    assert _nav(first, "prev") is None
    assert _nav(_html(reader, f"/papers/date/{LATEST_DAY}"), "next") is None
    empty = _html(reader, f"/papers/date/{EMPTY_DAY}")
    assert "No papers" in empty and _card_ids(empty) == []
    assert _nav(empty, "prev") == "/papers/date/2026-07-04"
    assert _nav(empty, "next") == "/papers/date/2026-07-06"


def _walk(reader, start: str, direction: str) -> list[str]:
    path, keys = start, []
    while path:
        twin = _twin(reader, path)
        keys.append(twin["period"]["key"])
        following = twin[direction]
        if following:
            html = _html(reader, path)
            assert _nav(html, "prev" if direction == "previous" else "next") == following
            back = _twin(reader, following)["next" if direction == "previous" else "previous"]
            assert back == path, (path, following, back)
        path = following
        assert len(keys) < 30
    return keys


def test_week_navigation_covers_the_feed(reader):
    keys = _walk(reader, "/papers/week/2026-W34", "previous")
    assert keys == [f"2026-W{n}" for n in range(34, 25, -1)]
    assert _walk(reader, "/papers/week/2026-W26", "next") == keys[::-1]
    # Each week lists exactly its days' papers, over as many pages as it takes.
    monday = date(2026, 7, 6)
    expected = {r.arxiv_id for d in range(7) for r in by_day().get(monday + timedelta(days=d), [])}
    listed, page = [], 0
    while True:
        twin = _twin(reader, f"/papers/week/2026-W28?p={page}")
        listed += [item["paper"]["id"] for item in twin["papers"]]
        if not twin["hasMore"]:
            break
        page += 1
    assert page == 2 and len(listed) == len(set(listed))
    assert set(listed) == expected


def test_month_navigation_covers_the_feed(reader):
    assert _walk(reader, "/papers/month/2026-08", "previous") == ["2026-08", "2026-07", "2026-06"]
    assert _walk(reader, "/papers/month/2026-06", "next") == ["2026-06", "2026-07", "2026-08"]


def test_pages_of_a_long_list_do_not_overlap(reader):
    first = _twin(reader, "/papers/month/2026-07")
    second = _twin(reader, "/papers/month/2026-07?p=1")
    assert first["hasMore"] and len(first["papers"]) == 50
    ids = [i["paper"]["id"] for i in first["papers"]] + [i["paper"]["id"] for i in second["papers"]]
    assert len(ids) == len(set(ids))
    html = _html(reader, "/papers/month/2026-07")
    assert 'href="?p=1"' in html
    votes = [i["upvotes"] for i in first["papers"] + second["papers"]]
    assert votes == sorted(votes, reverse=True)


def test_the_top_paper_of_a_day_is_marked(reader):
    html = _html(reader, f"/papers/date/{LATEST_DAY}")
    twin = _twin(reader, f"/papers/date/{LATEST_DAY}")
    best = max(by_day()[date.fromisoformat(LATEST_DAY)], key=lambda r: r.upvotes or 0)
    assert twin["papers"][0]["paper"]["id"] == best.arxiv_id
    assert [item["isTopOfDay"] for item in twin["papers"]] == [True] + [False] * (len(twin["papers"]) - 1)
    assert html.count(BADGE) == 1
    first_card = html[html.index("<article") : html.index("</article>")]
    assert BADGE in first_card and best.arxiv_id in first_card
    # On a week page, each day's best paper is marked once.
    week = _twin(reader, "/papers/week/2026-W34")
    tops = [item for item in week["papers"] if item["isTopOfDay"]]
    assert len({item["day"] for item in tops}) == len(tops)
    for item in tops:
        day = date.fromisoformat(item["day"])
        assert item["upvotes"] == max(r.upvotes or 0 for r in by_day()[day])


def test_trending_page(reader):
    html = _html(reader, "/papers/trending")
    twin = _twin(reader, "/papers/trending")
    ids = [item["paper"]["id"] for item in twin["papers"]]
    assert _card_ids(html) == ids and len(ids) == 50
    scores = [item["trendingScore"] for item in twin["papers"]]
    assert scores == sorted(scores, reverse=True)
    api = reader.get("/api/daily_papers", params={"sort": "trending", "limit": 50}).json()
    assert [item["paper"]["id"] for item in api] == ids


def test_paper_page_has_everything(reader):
    record = records()[RICH_ID]
    assert record.categories and record.github_repo and record.project_page and record.organization
    html = _html(reader, f"/papers/{RICH_ID}")
    assert f"<h1>{escape(record.title)}</h1>" in html
    # Each name links to its author page (web.authors).
    authors = re.findall(r'<span class="author"><a href="([^"]*)" dir="auto">([^<]*)</a>', html)
    assert authors == [(str(escape(author_path(name))), str(escape(name))) for name in record.authors]
    assert str(escape(record.abstract)) in html
    for category in record.categories:
        # Each category links to its trend (web.trends).
        assert f'<a class="tag" href="/trends/{category}" title="Trend of {category}">{category}</a>' in html
    assert f'href="https://arxiv.org/abs/{RICH_ID}"' in html
    assert f'href="https://arxiv.org/pdf/{RICH_ID}"' in html
    assert f'href="{escape(record.github_repo)}"' in html
    assert f'href="{escape(record.project_page)}"' in html
    assert f'<span class="count">{record.upvotes}</span>' in html
    assert str(escape(record.organization)) in html
    assert f'href="/papers/date/{record.daily_date.isoformat()}"' in html
    twin = _twin(reader, f"/papers/{RICH_ID}")
    assert twin["title"] == record.title and twin["categories"] == record.categories
    assert twin["upvotes"] == record.upvotes and twin["githubRepo"] == record.github_repo
    # A versioned id shows the same paper; a paper never on the feed has a page too.
    assert _html(reader, f"/papers/{RICH_ID}v1").count(f"<h1>{escape(record.title)}</h1>") == 1
    off_feed = next(r for r in records().values() if r.daily_date is None)
    assert str(escape(off_feed.title)) in _html(reader, f"/papers/{off_feed.arxiv_id}")


HOSTILE_TITLE = "<script>alert(1)</script>"


def test_titles_and_links_from_the_data_are_escaped(client, demo_store):
    demo_store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.99999",
                title=HOSTILE_TITLE,
                abstract='An abstract with <img src=x onerror="alert(2)"> & an ampersand',
                authors=["Ann <b>Author</b>", "Bo"],
                categories=["cs.CL"],
                published_at=datetime(2026, 8, 21, tzinfo=UTC),
                daily_date=date.fromisoformat(LATEST_DAY),
                submitted_at=datetime(2026, 8, 21, 9, tzinfo=UTC),
                submitter=Submitter("mallory<x>"),
                upvotes=10_000,
                github_repo="javascript:alert(3)",
                project_page='https://example.org/"><script>alert(4)</script>',
            )
        ]
    )
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in (
        "/",
        f"/papers/date/{LATEST_DAY}",
        "/papers/week/2026-W34",
        "/papers/trending",
        "/papers/2608.99999",
    ):
        html = _html(client, path)
        assert "<script" not in html, path
        assert "<img" not in html and "<b>Author" not in html, path
        assert escaped in html, path
        assert "javascript:" not in html, path
    home = _twin(client, "/")
    assert home["papers"][0]["title"] == HOSTILE_TITLE and home["papers"][0]["isTopOfDay"]
    page = _html(client, "/papers/2608.99999")
    assert f"<title>{escaped}" in page and f"<h1>{escaped}</h1>" in page
    assert "submitted by mallory&lt;x&gt;" in page
