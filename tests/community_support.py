"""Helpers for the community tests: papers on a day, accounts with tokens and signed-in browsers, and a
replay of arXiv's real answer for one paper (its publication date moved to `published`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from dailypapers.accounts.model import Account
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.accounts import AccountStore
from dailypapers.store.papers import SqlStore
from ingest_replay import API, Replay, Reply, fixture

SESSION_COOKIE = "dp_session"
RECORDED_ID = "2104.12255"  # a real arXiv API answer in tests/fixtures
EMPTY_FEED = fixture(API, "2026_id_0000.0000_*.xml")


def today() -> date:
    return datetime.now(UTC).date()


def paper(
    arxiv_id: str, *, day: date | None = None, votes: int = 0, days_old: int = 2, **fields
) -> PaperRecord:
    defaults = {
        "title": f"Title of {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "published_at": datetime.now(UTC) - timedelta(days=days_old),
    }
    return PaperRecord(
        arxiv_id=arxiv_id,
        daily_date=day,
        upvotes=votes if day else None,
        submitter=Submitter("hf_person") if day else None,
        **{**defaults, **fields},
    )


def account(store: SqlStore, username: str, role: str = "user") -> Account:
    """A verified account with no password (tests sign it in with a session or a token)."""
    return AccountStore(store).create(
        email=f"{username.lower()}@example.org",
        username=username,
        password_hash=None,
        role=role,
        verified=True,
    )


def token(store: SqlStore, user: Account) -> dict[str, str]:
    raw, _ = AccountStore(store).create_api_token(user.id, "test")
    return {"Authorization": f"Bearer {raw}"}


class Browser:
    """A TestClient signed in with a real session (as the sign-in form makes one); `csrf` for its forms."""

    def __init__(self, app, store: SqlStore, user: Account) -> None:
        accounts = AccountStore(store)
        raw = accounts.start_session(user.id, timedelta(days=1))
        self.csrf = accounts.session(raw)[1]
        self.client = TestClient(app, follow_redirects=False)
        self.client.cookies.set(SESSION_COOKIE, raw)
        self.user = user

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form, **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)


def arxiv_replay(published: datetime) -> Replay:
    """arXiv's API for id lists: the recorded entry of RECORDED_ID, published at `published`; for any
    other id an empty feed (what arXiv answers for an id it does not have)."""
    recorded = fixture(API, "2026_id_2104.12255v1_*.xml").decode()
    moved = re.sub(
        r"<published>[^<]+</published>", f"<published>{published:%Y-%m-%dT%H:%M:%SZ}</published>", recorded
    )

    def route(path: str, query: dict[str, str]) -> Reply:
        wanted = query.get("id_list", "")
        if wanted.split("v")[0] == RECORDED_ID:
            return Reply(moved.encode())
        return Reply(EMPTY_FEED)

    return Replay(route)
