"""The web edge's parameter rules (dailypapers.web.params), through the real app on SQLite and PostgreSQL:
ids beyond PostgreSQL's `integer` are 404 everywhere, and the moderation log's twin leaves the store's rows
alone."""

from __future__ import annotations

import copy

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from community_support import Browser, account, paper, today, token
from dailypapers.web import params
from dailypapers.web.app import create_app

BEYOND = 2**31  # one past PostgreSQL's integer
PAPER = "2611.00001"


@pytest.fixture
def site(settings, store):
    store.upsert([paper(PAPER, day=today(), votes=2)])
    app = create_app(settings, store=store)
    with TestClient(app, follow_redirects=False) as client:
        yield app, client, store


@pytest.mark.parametrize(
    "raw, expected",
    [(None, 7), ("", 7), (" ", 7), ("0", 0), ("12", 12), ("+3", 3), ("100", 100), ("0007", 7)],
)
def test_integer_reads_digits_within_bounds(raw, expected):
    assert params.integer(raw, "limit", 0, 100, 7) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("abc", "limit must be an integer"),
        (" 12", "limit must be an integer"),
        ("\n", "limit must be an integer"),
        ("1.5", "limit must be an integer"),
        ("1e3", "limit must be an integer"),
        ("1_0", "limit must be an integer"),
        ("\uff11", "limit must be an integer"),  # a full-width digit: int() would take it
        ("-1", "limit must be between 0 and 100"),
        ("101", "limit must be between 0 and 100"),
        ("9" * 5000, "limit must be between 0 and 100"),
    ],
)
def test_integer_refuses_with_a_400_that_names_the_parameter(raw, message):
    with pytest.raises(HTTPException) as refused:
        params.integer(raw, "limit", 0, 100, 7)
    assert refused.value.status_code == 400 and refused.value.detail == message


@pytest.mark.parametrize("value", [0, -1, BEYOND, 2**63, 10**30])
def test_ids_out_of_range_are_404(value):
    with pytest.raises(HTTPException) as refused:
        params.id_or_404(value, "Comment not found")
    assert refused.value.status_code == 404 and refused.value.detail == "Comment not found"
    assert params.id_or_404(BEYOND - 1) == BEYOND - 1


def test_ids_beyond_a_postgresql_integer_are_404_not_500(site):
    app, client, store = site
    alice = account(store, "alice")
    headers = token(store, alice)
    for big in (BEYOND, 2**62, 10**20):
        assert client.delete(f"/api/comments/{big}", headers=headers).status_code == 404
        edit = client.patch(f"/api/comments/{big}", json={"comment": "x"}, headers=headers)
        assert edit.status_code == 404 and edit.json() == {"error": "Comment not found"}
        reply = client.post(
            f"/api/papers/{PAPER}/comments", json={"comment": "x", "parentId": big}, headers=headers
        )
        assert reply.status_code == 404, reply.text
        assert client.get(f"/api/papers/submit/jobs/{big}", headers=headers).status_code == 404
    browser = Browser(app, store, alice)
    moderator = Browser(app, store, account(store, "mod", role="moderator"))
    for big in (BEYOND, 2**62):
        assert browser.post(f"/comments/{big}/edit", {"body": "x"}).status_code == 404
        assert browser.post(f"/comments/{big}/delete").status_code == 404
        form_reply = browser.post(f"/papers/{PAPER}/comments", {"body": "x", "parent_id": str(big)})
        assert form_reply.status_code == 404
        assert browser.post(f"/settings/tokens/{big}/revoke").status_code == 400  # its bounds are declared
        assert moderator.post(f"/moderation/comments/{big}", {"action": "hide"}).status_code == 404
    # Nothing was written meanwhile, and ids in range still work.
    made = client.post(f"/api/papers/{PAPER}/comments", json={"comment": "kept"}, headers=headers)
    assert made.status_code == 201
    assert client.get(f"/api/papers/{PAPER}/comments").json()["total"] == 1


def test_moderation_twin_names_the_paper_once_and_leaves_the_store_rows_alone(site):
    app, client, store = site
    moderator = account(store, "mod", role="moderator")
    alice = account(store, "alice")
    cid = client.post(
        f"/api/papers/{PAPER}/comments", json={"comment": "spam"}, headers=token(store, alice)
    ).json()["id"]
    mod = Browser(app, store, moderator)
    assert mod.post(f"/moderation/comments/{cid}", {"action": "hide", "reason": "spam"}).status_code == 303

    community = app.state.community
    returned: list[list[dict]] = []
    original = community.moderation_entries

    def spy(**kwargs):
        rows = original(**kwargs)
        returned.append((rows, copy.deepcopy(rows)))
        return rows

    community.moderation_entries = spy
    body = mod.get("/moderation.json").json()
    (entry,) = body["entries"]
    assert entry["paper"] == PAPER and "arxiv_id" not in entry
    assert entry["action"] == "hide_comment" and entry["at"].endswith("Z")
    rows, before = returned[0]
    assert rows == before  # the twin built its answer without changing what the store gave it
    assert mod.get("/moderation").status_code == 200
    assert returned[1][0] == returned[1][1]
