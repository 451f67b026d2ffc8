"""Upvote counts stay exact under concurrency, on SQLite and PostgreSQL: 50 readers at once through a real
HTTP server, one reader's double (and quadruple) clicks, and the store alone from 50 threads.

Exact means `papers.upvotes == imported_upvotes + rows in upvotes`, and each reader counted at most once.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from community_support import SESSION_COOKIE, paper, today
from conftest import LiveServer
from dailypapers.store.accounts import AccountStore
from dailypapers.store.community import Actor, CommunityStore
from dailypapers.store.engine import DatabaseBusy
from dailypapers.store.schema import papers, upvotes

READERS = 50
IMPORTED = 5


def counts(store, arxiv_id: str) -> tuple[int, int, int]:
    """(papers.upvotes, imported_upvotes, rows in upvotes) for the paper."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(papers.c.id, papers.c.upvotes, papers.c.imported_upvotes).where(
                papers.c.arxiv_id == arxiv_id
            )
        ).one()
        rows = conn.execute(
            select(func.count()).select_from(upvotes).where(upvotes.c.paper_id == row.id)
        ).scalar_one()
    return row.upvotes, row.imported_upvotes, rows


@pytest.fixture
def crowd(settings, store):
    """The paper 2611.00001 with 5 imported upvotes, 50 accounts with tokens, one with a browser session."""
    store.upsert([paper("2611.00001", day=today(), votes=IMPORTED)])
    accounts = AccountStore(store)
    people = []
    for n in range(READERS):
        person = accounts.create(
            email=f"reader{n}@example.org", username=f"reader{n}", password_hash=None, verified=True
        )
        raw, _ = accounts.create_api_token(person.id, "bench")
        people.append((person, raw))
    return people


def _together(calls):
    """Run the calls at the same moment, each in its own thread; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        while True:
            try:
                return call()
            except DatabaseBusy:  # past the writers a process lets wait: what a client does with a 503
                time.sleep(0.01)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_fifty_readers_at_once_and_double_clicks_over_http(settings, store, crowd):
    settings = settings.model_copy(update={"rate_limit_upvote": "1000/1m"})
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        url = "/api/papers/2611.00001/upvote"

        def vote(raw, method):
            return lambda: client.request(method, url, headers={"Authorization": f"Bearer {raw}"})

        answers = _together([vote(raw, "POST") for _, raw in crowd])
        assert [a.status_code for a in answers] == [200] * READERS
        seen = sorted(a.json()["upvotes"] for a in answers)
        assert seen[-1] == IMPORTED + READERS and seen[0] >= IMPORTED + 1
        assert counts(store, "2611.00001") == (IMPORTED + READERS, IMPORTED, READERS)

        # Half take it back while the other half click again: the first half leave, the rest stay once.
        leaving = crowd[: READERS // 2]
        calls = [vote(raw, "DELETE") for _, raw in leaving] + [
            vote(raw, "POST") for _, raw in crowd[READERS // 2 :]
        ]
        assert all(a.status_code == 200 for a in _together(calls))
        assert counts(store, "2611.00001") == (
            IMPORTED + READERS - len(leaving),
            IMPORTED,
            READERS - len(leaving),
        )

        # One reader's double clicks on the form (the button says "add": both ask for the same thing).
        person, _ = crowd[0]
        accounts = AccountStore(store)
        raw_session = accounts.start_session(person.id, timedelta(days=1))
        csrf = accounts.session(raw_session)[1]
        cookies = {SESSION_COOKIE: raw_session}
        form = {"csrf_token": csrf, "action": "add"}
        with httpx.Client(base_url=server.url, timeout=60, cookies=cookies) as browser:
            for clicks in (2, 4):
                before = counts(store, "2611.00001")[0]
                answers = _together([lambda: browser.post("/papers/2611.00001/upvote", data=form)] * clicks)
                assert all(a.status_code == 303 for a in answers)
                assert counts(store, "2611.00001")[0] == before + 1
                form["action"] = "remove"
                _together([lambda: browser.post("/papers/2611.00001/upvote", data=form)] * clicks)
                assert counts(store, "2611.00001")[0] == before
                form["action"] = "add"

            # And API clients that toggle wildly: whatever order they land in, the count matches the rows.
            rng = random.Random(5)
            _, token = crowd[1]
            for _round in range(5):
                methods = [rng.choice(["POST", "DELETE"]) for _ in range(8)]
                _together([vote(token, m) for m in methods])
                total, imported, rows = counts(store, "2611.00001")
                assert total == imported + rows
        mine = client.get(
            "/api/papers/2611.00001", headers={"Authorization": f"Bearer {crowd[30][1]}"}
        ).json()
        assert mine["upvoted"] is True and mine["upvotes"] == counts(store, "2611.00001")[0]


def test_fifty_threads_on_the_store_directly(store, crowd):
    community = CommunityStore(store)
    paper_id = community.paper_id("2611.00001")
    actors = [Actor(person.id, person.username) for person, _ in crowd]
    states = _together([lambda a=a: community.set_upvote(a, paper_id, True) for a in actors])
    assert max(s.upvotes for s in states) == IMPORTED + READERS
    assert counts(store, "2611.00001") == (IMPORTED + READERS, IMPORTED, READERS)
    # Everyone clicks twice more, in any order with their "remove": each ends as their last call says.
    calls = []
    for a in actors:
        for on in (True, False) if a.id % 2 else (False, True):
            calls.append(lambda a=a, on=on: community.set_upvote(a, paper_id, on))
    _together(calls)
    total, imported, rows = counts(store, "2611.00001")
    assert total == imported + rows and 0 <= rows <= READERS
