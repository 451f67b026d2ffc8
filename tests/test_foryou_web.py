"""For you on the web: feedback (API and forms), recommendations, pages, cold start, profiles, feeds.

On the demo slice with its shipped embeddings (search_support.DEMO_INDEXED), on SQLite and PostgreSQL."""

from __future__ import annotations

import feedparser
import numpy as np
import pytest
from fastapi.testclient import TestClient

from community_support import Browser, account, token
from dailypapers.recommend.ranking import W_FOLLOW
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.web.app import create_app
from search_support import DEMO_INDEXED

LATEST = "2026-08-21"


@pytest.fixture
def database_template():
    return DEMO_INDEXED


@pytest.fixture
def app(settings):
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    application = create_app(settings, store=store)
    with TestClient(application):
        yield application


@pytest.fixture
def client(app):
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def reader(app):
    user = account(app.state.store, "reader")
    return user, token(app.state.store, user)


def week_papers(client, headers, **query):
    params = {"from": "2026-08-15", "to": LATEST, "limit": 50, **query}
    response = client.get("/api/recommendations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def latest_ids(app, n=200):
    return [v.arxiv_id for v in app.state.store.feed(None, offset=0, limit=n)]


def test_feedback_api(client, reader, app):
    user, headers = reader
    paper = latest_ids(app, 1)[0]
    r = client.post(f"/api/papers/{paper}/feedback", json={"signal": "like"}, headers=headers)
    assert r.status_code == 200
    assert r.json() == {
        "id": paper,
        "profile": "default",
        "signal": "like",
        "profiles": {"default": "like"},
        "upvoted": False,
    }
    r = client.post(f"/api/papers/{paper}/feedback", json={"signal": "clear"}, headers=headers)
    assert r.json()["signal"] is None and r.json()["profiles"] == {}
    assert (
        client.post(f"/api/papers/{paper}/feedback", json={"signal": "meh"}, headers=headers).status_code
        == 400
    )
    assert (
        client.post("/api/papers/2999.99999/feedback", json={"signal": "like"}, headers=headers).status_code
        == 404
    )
    r = client.post(
        f"/api/papers/{paper}/feedback", json={"signal": "like", "profile": "nope"}, headers=headers
    )
    assert r.status_code == 404 and "nope" in r.json()["error"]
    assert client.post(f"/api/papers/{paper}/feedback", json={"signal": "like"}).status_code == 401
    assert app.state.signals.signals(user.id) == []  # nothing half-stored by the refusals


def test_feedback_forms_need_csrf_and_work_without_javascript(app):
    user = account(app.state.store, "formuser")
    browser = Browser(app, app.state.store, user)
    paper = latest_ids(app, 1)[0]
    assert browser.post(f"/papers/{paper}/feedback", {"signal": "like"}, csrf=False).status_code == 403
    r = browser.post(f"/papers/{paper}/feedback", {"signal": "like", "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = browser.get(f"/papers/{paper}").text
    assert 'data-feedback="like"' in page and 'aria-pressed="true"' in page
    # The session's JSON API needs the CSRF header.
    r = browser.client.post(f"/api/papers/{paper}/feedback", json={"signal": "dislike"})
    assert r.status_code == 403
    r = browser.client.post(
        f"/api/papers/{paper}/feedback", json={"signal": "dislike"}, headers={"X-CSRF-Token": browser.csrf}
    )
    assert r.status_code == 200 and r.json()["signal"] == "dislike"


def test_recommendations_shape_and_errors(client, reader, app):
    _, headers = reader
    assert client.get("/api/recommendations").status_code == 401
    for bad in ({"from": "2026-08-21", "to": "2026-08-01"}, {"limit": "0"}, {"daily": "2"}, {"from": "x"}):
        assert client.get("/api/recommendations", params=bad, headers=headers).status_code == 400, bad
    assert client.get("/api/recommendations", params={"profile": "nope"}, headers=headers).status_code == 404
    ids = latest_ids(app, 3)
    for paper in ids:
        client.post(f"/api/papers/{paper}/feedback", json={"signal": "like"}, headers=headers)
    papers = week_papers(client, headers)
    assert papers and len(papers) <= 50
    detail = client.get(f"/api/papers/{papers[0]['id']}").json()
    assert set(detail) - {"upvoted"} <= set(papers[0])
    assert all(isinstance(p["score"], float) and p["reasons"] for p in papers)
    assert any("like your 👍 on" in reason for p in papers for reason in p["reasons"])
    assert not set(ids) & {p["id"] for p in papers}  # never a rated paper
    scores = [p["score"] for p in papers]
    assert scores == sorted(scores, reverse=True)
    daily = week_papers(client, headers, daily=1)
    assert all(p["id"] in set(latest_ids(app, 400)) for p in daily)


# -- follows: authors, organizations and categories rank as likes do ----------------------------------------

WEEK = {"from": "2026-08-17", "to": LATEST, "limit": 100}  # ISO week 2026-W34, as its page shows it


def like_all(client, headers, arxiv_ids):
    for arxiv_id in arxiv_ids:
        response = client.post(f"/api/papers/{arxiv_id}/feedback", json={"signal": "like"}, headers=headers)
        assert response.status_code == 200


def follow(client, headers, kind, name):
    response = client.post("/api/follows", json={"kind": kind, "name": name}, headers=headers)
    assert response.status_code == 201, response.text


def unfollow(client, headers, kind, name):
    assert client.delete(f"/api/follows/{kind}/{name}", headers=headers).status_code == 204


def ranked(papers):
    return [p["id"] for p in papers]


def follow_reasons(paper):
    return [r for r in paper["reasons"] if "you follow" in r]


def test_a_followed_authors_new_paper_rises_with_the_reason_until_unfollowed(client, reader, app):
    _, headers = reader
    popular = ranked(week_papers(client, headers, **WEEK))
    like_all(client, headers, popular[:3])  # the week's most popular (no like yet)
    before = week_papers(client, headers, **WEEK)
    middle = before[len(before) // 2]
    author = app.state.store.get(middle["id"]).authors[-1]
    follow(client, headers, "author", author)
    after = week_papers(client, headers, **WEEK)
    lifted = ranked(after).index(middle["id"])
    assert lifted < 5, (lifted, len(before) // 2)
    assert follow_reasons(after[lifted]) == [f"by {author}, whom you follow"]
    assert after[lifted]["reasons"][0] == f"by {author}, whom you follow"  # the strongest reason first
    unfollow(client, headers, "author", author)
    assert week_papers(client, headers, **WEEK) == before


def test_a_followed_category_is_a_bounded_term(client, reader, app):
    """cs.CV holds a third of the window's papers: following it adds the same modest term to each of them, and
    the feed stays on what the reader likes."""
    _, headers = reader
    window = {"from": "2026-05-25", "to": LATEST, "limit": 100}
    language = [
        v.arxiv_id for v in app.state.store.feed(None, offset=0, limit=1500) if v.categories[:1] == ["cs.CL"]
    ]
    like_all(client, headers, language[:4])
    before = {p["id"]: p for p in week_papers(client, headers, **window)}
    follow(client, headers, "category", "cs.CV")
    after = week_papers(client, headers, **window)
    vision = {p["id"] for p in after if "cs.CV" in app.state.store.get(p["id"]).categories}
    assert vision and len(vision) < len(after) / 2
    for paper in after:
        followed = paper["id"] in vision
        assert follow_reasons(paper) == (["in cs.CV, which you follow"] if followed else [])
        if paper["id"] in before:
            lift = paper["score"] - before[paper["id"]]["score"]
            assert lift == pytest.approx(W_FOLLOW["category"] if followed else 0.0, abs=1e-3)
    assert sum(p["id"] in vision for p in after[:20]) <= 10
    unfollow(client, headers, "category", "cs.CV")
    assert {p["id"]: p for p in week_papers(client, headers, **window)} == before


def test_a_reader_who_only_follows_gets_a_feed(app, client, reader):
    user, headers = reader
    browser = Browser(app, app.state.store, user)
    popular = week_papers(client, headers, **WEEK)
    assert not any(follow_reasons(p) for p in popular)
    assert "Nothing to go on yet" in browser.get("/foryou/week/2026-W34").text
    paper = popular[-1]["id"]  # the least popular: only the follow can lift it
    author = app.state.store.get(paper).authors[0]
    follow(client, headers, "author", author)
    got = week_papers(client, headers, **WEEK)
    followed = [p for p in got if follow_reasons(p)]
    assert paper in ranked(followed)
    assert ranked(got)[: len(followed)] == ranked(followed)  # the followed papers lead
    assert all(follow_reasons(p) == [f"by {author}, whom you follow"] for p in followed)
    page = browser.get("/foryou/week/2026-W34").text
    assert "Nothing to go on yet" not in page and "whom you follow" in page
    unfollow(client, headers, "author", author)
    assert week_papers(client, headers, **WEEK) == popular
    assert "Nothing to go on yet" in browser.get("/foryou/week/2026-W34").text


def test_a_followed_organizations_papers_lead_a_feed_without_likes(client, reader, app):
    _, headers = reader
    window = {"from": "2026-05-25", "to": LATEST, "limit": 50}
    follow(client, headers, "org", "nvidia")
    got = week_papers(client, headers, **window)
    theirs = [p for p in got if follow_reasons(p)]
    assert theirs and ranked(got)[: len(theirs)] == ranked(theirs)
    assert all(p["organization"]["name"] == "NVIDIA" for p in theirs)
    assert all(follow_reasons(p) == ["from NVIDIA, which you follow"] for p in theirs)


def _vectors(app, arxiv_ids):
    from dailypapers.search.vectors import from_blob

    recommender = app.state.recommender
    by_id = {app.state.store.get(a).id: a for a in arxiv_ids}
    rows = recommender.pools.vectors(recommender.model(), list(by_id))
    return {by_id[r.paper_id]: from_blob(r.vector).astype(np.float32) for r in rows}


def test_likes_and_dislikes_change_the_feed_at_once(client, reader, app):
    _, headers = reader
    seed = latest_ids(app, 1)[0]
    client.post(f"/api/papers/{seed}/feedback", json={"signal": "like"}, headers=headers)
    first = week_papers(client, headers)
    top = first[0]["id"]
    client.post(f"/api/papers/{top}/feedback", json={"signal": "dislike"}, headers=headers)
    second = week_papers(client, headers)
    assert top not in {p["id"] for p in second}
    # Its nearest neighbours drop too.
    near = first[1]["id"]
    rank_before = [p["id"] for p in first].index(near)
    after = [p["id"] for p in second]
    assert near not in after[:rank_before] or after.index(near) >= rank_before - 1


def test_two_profiles_stay_apart(client, reader, app):
    """Vision papers liked in one profile, language papers in another: each profile's feed is near its own
    likes (each paper's nearest liked paper, among all eight, is one of its profile's); they share none."""
    user, headers = reader
    views = app.state.store.feed(None, offset=0, limit=1500)
    vision = [v.arxiv_id for v in views if (v.categories or [""])[0] == "cs.CV"][:4]
    language = [v.arxiv_id for v in views if (v.categories or [""])[0] == "cs.CL"][:4]
    assert len(vision) == len(language) == 4
    from dailypapers.recommend.profiles import spec

    for name, ids in (("vision", vision), ("language", language)):
        app.state.signals.create_profile(user.id, spec(name))
        for paper in ids:
            r = client.post(
                f"/api/papers/{paper}/feedback", json={"signal": "like", "profile": name}, headers=headers
            )
            assert r.status_code == 200
    window = {"from": "2026-05-25", "to": LATEST, "limit": 10}
    got = {name: week_papers(client, headers, profile=name, **window) for name in ("vision", "language")}
    seeds = _vectors(app, vision + language)
    own = {"vision": set(vision), "language": set(language)}
    for name, papers in got.items():
        vectors = _vectors(app, [p["id"] for p in papers])
        nearest = [max(seeds, key=lambda s: float(seeds[s] @ vectors[p["id"]])) for p in papers]
        assert sum(n in own[name] for n in nearest) >= 9, (name, nearest)
    assert not {p["id"] for p in got["vision"]} & {p["id"] for p in got["language"]}


def test_pages_and_twins(app):
    user = account(app.state.store, "pageuser")
    browser = Browser(app, app.state.store, user)
    assert TestClient(app, follow_redirects=False).get("/foryou").status_code == 303
    assert TestClient(app).get("/foryou.json").status_code == 401
    page = browser.get("/foryou")
    assert page.status_code == 200 and "Nothing to go on yet" in page.text
    paper = latest_ids(app, 1)[0]
    browser.post(f"/papers/{paper}/feedback", {"signal": "like"})
    page = browser.get("/foryou/week/2026-W34")
    assert page.status_code == 200 and "Why this paper" in page.text and "like your 👍 on" in page.text
    twin = browser.get("/foryou/week/2026-W34.json").json()
    assert twin["period"]["key"] == "2026-W34" and twin["papers"] and twin["papers"][0]["reasons"]
    mixed = browser.get("/foryou/week/2026-W34.json?mix=1").json()
    assert mixed["mix"] is True
    assert browser.get(f"/foryou/date/{LATEST}").status_code == 200
    assert browser.get("/foryou/month/2026-08").status_code == 200
    assert browser.get("/foryou/year/2026").status_code == 404
    assert browser.get("/foryou/week/2026-W99").status_code == 404
    assert browser.get("/foryou?profile=nope").status_code == 404


def test_cold_start_paste_upload_and_rate(app):
    user = account(app.state.store, "coldstart")
    browser = Browser(app, app.state.store, user)
    ids = latest_ids(app, 3)
    r = browser.post("/foryou/start", {"ids": f"{ids[0]}\nhttps://arxiv.org/abs/{ids[1]}v1"})
    assert r.status_code == 303 and r.headers["location"] == "/foryou/rate"
    assert {s.arxiv_id for s in app.state.signals.signals(user.id)} == set(ids[:2])
    rate = browser.get("/foryou/rate")
    assert rate.status_code == 200 and rate.text.count('data-feedback="like"') >= 5
    bib = (
        f"@article{{good, eprint={{{ids[2]}}}}}\n@misc{{broken, title={{oops\n@book{{nobody, title={{Z}}}}\n"
    )
    r = browser.post("/foryou/start", {}, files={"file": ("library.bib", bib.encode(), "text/plain")})
    assert r.status_code == 200, r.text
    assert "line 2:" in r.text and "line 3: entry nobody" in r.text, r.text[r.text.find("<main") :]
    assert ids[2] in {s.arxiv_id for s in app.state.signals.signals(user.id)}
    r = browser.post(
        "/foryou/start", {}, files={"file": ("z.json", b'[{"URL": "x"},\n{', "application/json")}
    )
    assert r.status_code == 400 and "line 2" in r.text
    huge = b"@misc{a, title={" + b"x" * (2 * 1024 * 1024 + 10) + b"}}"
    r = browser.post("/foryou/start", {}, files={"file": ("big.bib", huge, "text/plain")})
    assert r.status_code == 413
    r = browser.post("/foryou/start", {"ids": "hello world"})
    assert r.status_code == 400 and "not an arXiv id" in r.text


def test_profiles_page_reset_export_and_personal_feed(app):
    user = account(app.state.store, "profiler")
    browser = Browser(app, app.state.store, user)
    paper = latest_ids(app, 1)[0]
    browser.post(f"/papers/{paper}/feedback", {"signal": "like"})
    r = browser.post("/foryou/profiles", {"name": "gen", "musts": "diffusion", "excludes": "diffusion"})
    assert r.status_code == 400 and "both required and excluded" in r.text
    assert [p.name for p in app.state.signals.profiles(user.id)] == ["default"]
    r = browser.post("/foryou/profiles", {"name": "", "musts": ""})
    assert r.status_code == 400
    r = browser.post("/foryou/profiles", {"name": "x" * 61})
    assert r.status_code == 400
    assert browser.post("/foryou/profiles", {"name": "gen", "musts": "diffusion"}).status_code == 303
    exported = browser.get("/foryou/export.json").json()
    assert [p["name"] for p in exported["profiles"]] == ["default", "gen"]
    assert exported["profiles"][0]["signals"][0]["id"] == paper
    page = browser.get("/foryou/profiles")
    assert paper in page.text and "Undo" in page.text
    assert (
        browser.post("/foryou/profiles/action", {"profile": "default", "action": "feed-on"}).status_code
        == 303
    )
    key = app.state.signals.profile(user.id, None).feed_key
    anonymous = TestClient(app)
    rss = anonymous.get(f"/feeds/foryou/{key}.rss")
    assert rss.status_code == 200
    parsed = feedparser.parse(rss.text)
    assert parsed.entries and "Why: like your 👍 on" in parsed.entries[0].description
    assert anonymous.get(f"/feeds/foryou/{key}.atom").status_code == 200
    browser.post("/foryou/profiles/action", {"profile": "default", "action": "feed-on"})
    assert anonymous.get(f"/feeds/foryou/{key}.rss").status_code == 404
    browser.post("/foryou/profiles/action", {"profile": "default", "action": "reset"})
    assert app.state.signals.signals(user.id) == []
    assert (
        browser.post("/foryou/profiles/action", {"profile": "default", "action": "delete"}).status_code == 400
    )
    assert browser.post("/foryou/profiles/action", {"profile": "gen", "action": "delete"}).status_code == 303


def test_api_over_http_with_httpx(tmp_path, sqlite_templates):
    """The API as a program meets it: a real server, a plain httpx client with a personal token."""
    import httpx

    from conftest import LiveServer, make_settings

    settings = make_settings(sqlite_templates.copy(DEMO_INDEXED, tmp_path))
    store = SqlStore(make_engine(settings))
    user = account(store, "httpx")
    headers = token(store, user)
    papers = [v.arxiv_id for v in store.feed(None, offset=0, limit=3)]
    store.engine.dispose()
    with (
        LiveServer(settings) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=120) as http,
    ):
        assert httpx.get(f"{server.url}/api/recommendations").status_code == 401
        for paper in papers:
            r = http.post(f"/api/papers/{paper}/feedback", json={"signal": "like"})
            assert r.status_code == 200 and r.json()["signal"] == "like"
        r = http.get("/api/recommendations", params={"from": "2026-08-01", "to": LATEST, "limit": 5})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert isinstance(body, list) and len(body) == 5
        assert {"id", "title", "summary", "authors", "upvotes", "score", "reasons"} <= set(body[0])
        schema = http.get("/openapi.json").json()
        assert "/api/recommendations" in schema["paths"]
        assert "/api/papers/{arxiv_id}/feedback" in schema["paths"]
