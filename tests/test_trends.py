"""Trends: the rise statistic, the snapshot of every topic's weeks, and the pages `/trends` and
`/trends/{topic}` with their JSON twins over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dailypapers.services.trends import Trends
from dailypapers.store.keyphrases import NewKeyPhrases, SqlKeyPhrases
from dailypapers.store.trends import SqlTrendFacts
from dailypapers.trends.snapshot import PaperFact, Snapshot, week_of, week_start
from dailypapers.trends.statistics import ALPHA, rise
from dailypapers.web.app import create_app
from search_support import paper

# -- the statistic ---------------------------------------------------------------------------------------


def test_a_topic_keeping_its_share_does_not_rise():
    assert rise(10, 80, 100, 800) == pytest.approx(0.0)


def test_rise_is_log2_of_observed_over_expected_smoothed():
    # 30 papers of 1,000 in the window; 40 of 8,000 before: 5 expected.
    assert rise(30, 40, 1000, 8000) == pytest.approx(math.log2((30 + ALPHA) / (5 + ALPHA)))


def test_smoothing_ranks_forty_to_a_hundred_and_twenty_above_nothing_to_two():
    small = rise(2, 0, 100, 800)
    big = rise(120, 320, 1000, 8000)  # 40 expected
    assert big > small > 0


def test_no_baseline_at_all_expects_nothing():
    assert rise(6, 0, 100, 0) == pytest.approx(math.log2((6 + ALPHA) / ALPHA))


# -- the snapshot ----------------------------------------------------------------------------------------

ANCHOR = date(2026, 5, 4)  # a Monday


def _corpus() -> list[PaperFact]:
    """Twelve weeks of 50 papers; "steady thing" in 10% of every week, "rocket" 1 a week then 15 in the last,
    "tiny" in 3 papers of the last week only, cs.RO rising, cs.CL steady."""
    facts, pid = [], 0
    for back in range(11, -1, -1):
        monday = ANCHOR - timedelta(weeks=back)
        for i in range(50):
            pid += 1
            phrases, categories = [], ["cs.CL"]
            if i % 10 == 5:
                phrases.append("steady thing")
            rocket = 15 if back == 0 else 1
            if i < rocket:
                phrases.append("rocket")
                categories.append("cs.RO")
                if i < 4:
                    phrases.append("rocket fuel")
            if back == 0 and 20 <= i < 23:
                phrases.append("tiny")
            facts.append(PaperFact(pid, monday + timedelta(days=i % 7), upvotes=i, categories=categories,
                                   phrases=phrases))  # fmt: skip
    return facts


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return Snapshot(_corpus(), today=ANCHOR + timedelta(days=30))


def test_the_anchor_is_the_latest_week_with_papers(snapshot):
    assert snapshot.anchor == week_of(ANCHOR)
    assert week_start(snapshot.anchor) == ANCHOR


def test_the_rising_phrase_comes_first_and_the_steady_one_not_at_all(snapshot):
    found = snapshot.rising("phrase", "week")
    keys = [r.topic.key for r in found]
    assert keys[0] == "rocket"
    assert "steady thing" not in keys
    assert "tiny" not in keys  # 3 papers: under the minimum of 5
    top = found[0]
    assert top.window == 15 and top.baseline == 8
    assert top.expected == pytest.approx(8 * 50 / 400)
    assert top.score == pytest.approx(math.log2((15 + ALPHA) / (1 + ALPHA)))
    assert len(top.series.papers) == 26 and top.series.papers[-1] == 15
    # Most upvoted first: upvotes are the position in the week, so the 15th rocket paper leads.
    assert len(top.top) == 3


def test_categories_rise_apart_from_phrases(snapshot):
    found = snapshot.rising("category", "week")
    assert [r.topic.key for r in found] == ["cs.RO"]


def test_below_the_minimum_no_trend_is_claimed_but_the_numbers_are_there(snapshot):
    claim = snapshot.claim(snapshot.find("tiny"), "week")
    assert claim.window == 3 and claim.window < 5


def test_find_folds_category_case_and_phrase_plurals(snapshot):
    assert snapshot.find("CS.ro").key == "cs.RO"
    assert snapshot.find("rockets").key == "rocket"
    assert snapshot.find("  rocket   fuel ").key == "rocket fuel"
    assert snapshot.find("nothing like it") is None
    assert snapshot.find("") is None
    assert [t.key for t in snapshot.suggest("rocket")][:2] == ["rocket", "rocket fuel"]


def test_related_phrases_go_with_the_topic(snapshot):
    related = snapshot.related(snapshot.find("rocket").id)
    assert [t.key for t, _n, _lift in related] == ["rocket fuel"]


def test_an_empty_window_rises_nothing():
    snap = Snapshot(_corpus(), today=ANCHOR + timedelta(days=30))
    assert snap.rising("phrase", "week", anchor=snap.anchor + 10) == []


def test_series_of_the_whole_corpus_counts_every_paper(snapshot):
    series = snapshot.series(snapshot.find("rocket").id, weeks=0)
    assert sum(series.papers) == 11 + 15
    assert sum(series.totals) == 600


# -- the pages -------------------------------------------------------------------------------------------


def _fill(store):
    """Papers on 12 weeks up to a recent Monday, with key phrases as index time would store them."""
    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday() + 7)
    records, phrases = [], {}
    n = 0
    for back in range(11, -1, -1):
        for i in range(20):
            n += 1
            arxiv_id = f"2605.{n:05d}"
            rocket = 8 if back == 0 else (1 if i == 0 else 0)
            rows = ["steady thing"] if i % 5 == 0 else ["filler words"]
            cats = ["cs.CL"]
            if i < rocket:
                rows.append("rocket")
                cats = ["cs.RO"]
            if back == 3 and i == 2:
                rows.append("lonely phrase")
            day = monday - timedelta(weeks=back) + timedelta(days=i % 5)
            records.append(
                paper(
                    arxiv_id,
                    f"Paper {n} about {' and '.join(rows)}",
                    "An abstract.",
                    categories=cats,
                    published_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
                )
            )
            phrases[arxiv_id] = rows
    store.upsert(records)
    ids = {v.arxiv_id: v.id for v in store.get_many(list(range(1, n + 10)))}
    SqlKeyPhrases(store.engine).add(
        "test", [NewKeyPhrases(ids[a], p, None, "hash") for a, p in phrases.items()]
    )
    return monday


@pytest.fixture
def client(settings, store):
    _fill(store)
    with TestClient(create_app(settings, store=store)) as client:
        yield client


def test_trends_json_names_the_rising_phrase_with_its_numbers(client):
    body = client.get("/trends.json").json()
    week = body["windows"]["week"]
    assert week["papers"] == 20 and week["baselinePapers"] == 160
    top = week["phrases"][0]
    assert top["key"] == "rocket" and top["papers"] == 8
    assert top["expectedPapers"] == pytest.approx(1.0)
    assert top["rise"] == pytest.approx(math.log2((8 + ALPHA) / (1 + ALPHA)), abs=1e-3)
    assert len(top["weeks"]) == 26 and top["weeks"][-1]["papers"] == 8
    assert top["url"] == "/trends/rocket"
    assert [c["key"] for c in week["categories"]] == ["cs.RO"]
    assert all(p["key"] != "steady thing" for p in week["phrases"])


def test_trends_page_draws_charts_without_script_and_with_their_numbers(client):
    page = client.get("/trends")
    assert page.status_code == 200
    html = page.text
    assert '<a class="rising-topic" href="/trends/rocket">rocket</a>' in html
    assert re.search(r'<svg role="img" aria-label="Papers a week with “rocket”', html)
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0] if "<main" in html else True
    assert ' style="' not in html  # the CSP allows no inline style: pygal's are dropped


def test_a_topic_page_charts_its_weeks_and_claims_its_rise(client):
    body = client.get("/trends/rocket.json").json()
    assert body["kind"] == "phrase" and body["papersInCorpus"] == 8 + 11
    assert body["trend"]["week"]["claimed"] is True
    assert body["weeks"][-1]["papers"] == 8
    html = client.get("/trends/rocket").text
    assert "Papers a week" in html and "<details" in html and "The numbers" in html
    assert html.count('role="img"') >= 2


def test_a_category_has_a_page_too_in_any_case(client):
    assert client.get("/trends/cs.ro.json").json()["key"] == "cs.RO"
    assert client.get("/trends/cs.RO").status_code == 200


def test_one_paper_is_no_trend(client):
    body = client.get("/trends/lonely%20phrase.json").json()
    assert body["papersInCorpus"] == 1
    assert body["trend"]["week"]["claimed"] is False and body["trend"]["month"]["claimed"] is False
    html = client.get("/trends/lonely%20phrase").text
    assert "No papers with it in these weeks." in html


def test_an_unknown_topic_is_a_404_with_suggestions(client):
    response = client.get("/trends/rockets%20and%20moons.json")
    assert response.status_code == 404
    body = response.json()
    assert "rockets and moons" in body["error"]
    assert body["suggestions"][0]["key"] == "rocket"
    html = client.get("/trends/zzzz%20nothing")
    assert html.status_code == 404 and "No such topic" in html.text


def test_a_bad_week_is_a_400_and_an_empty_week_says_so(client):
    assert client.get("/trends.json?week=2026-W99").status_code == 400
    far = client.get("/trends/rocket.json?week=9999-W10")
    assert far.status_code == 400 and "the corpus runs from" in far.json()["error"]
    assert client.get("/trends.json?week=2020-W10").status_code == 400
    first = client.get("/trends.json").json()["latestWeek"]
    year, number = first.split("-W")
    early = f"{year}-W{int(number) - 11:02d}" if int(number) > 11 else None
    if early:  # the first week of the data: no baseline before it, nothing rises
        body = client.get(f"/trends.json?week={early}").json()
        assert body["windows"]["week"]["phrases"] == []
        html = client.get(f"/trends?week={early}").text
        assert "Nothing rose enough to call it a trend" in html


def test_the_service_rebuilds_when_the_corpus_changes(settings, store):
    _fill(store)
    ticks = iter(range(0, 10_000, 400))
    trends = Trends(
        SqlTrendFacts(store.engine), check_seconds=0, min_age_seconds=0, clock=lambda: next(ticks)
    )
    first = trends.snapshot()
    assert trends.snapshot() is first  # nothing changed
    store.upsert([paper("2605.99999", "A new one", "Text.", categories=["cs.CL"])])
    trends.snapshot()  # starts the rebuild in a thread
    for _ in range(200):
        if trends.snapshot() is not first:
            break
        import time

        time.sleep(0.02)
    assert trends.snapshot() is not first and trends.snapshot().papers == first.papers + 1


def test_a_paper_page_draws_its_upvotes_day_by_day(settings, store):
    from community_support import account
    from dailypapers.store.community import Actor, CommunityStore

    store.upsert([paper("2605.70001", "Momentum", "Text.", categories=["cs.CL"])])
    community = CommunityStore(store)
    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    for i, days in enumerate((0, 0, 1, 3)):
        user = account(store, f"voter{i}")
        community.set_upvote(
            Actor(user.id, user.username), "2605.70001", True, now=start + timedelta(days=days)
        )
    with TestClient(create_app(settings, store=store)) as client:
        html = client.get("/papers/2605.70001").text
    assert "Momentum" in html and "4 upvotes here over 4 days" in html
    assert re.search(r'<svg role="img" aria-label="Upvotes a day, May 4 to May 7: 4 in all"', html)


def test_one_day_of_upvotes_draws_no_momentum(settings, store):
    store.upsert([paper("2605.70002", "Still", "Text.")])
    with TestClient(create_app(settings, store=store)) as client:
        assert "Momentum" not in client.get("/papers/2605.70002").text
