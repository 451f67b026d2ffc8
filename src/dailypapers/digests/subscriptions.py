"""Subscriptions in the database: sign-up with double opt-in, confirmation, preferences, unsubscribing.

Every function here is a short transaction; mail is sent by the caller after it commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.digests.tokens import new_key
from dailypapers.store.engine import write_transaction
from dailypapers.store.schema import subscriptions

FREQUENCIES = ("daily", "weekly")
SEARCH_MODES = ("keyword", "semantic")
MIN_PAPERS, MAX_PAPERS, DEFAULT_PAPERS = 1, 20, 5
MAX_CATEGORIES = 20
MAX_SEARCHES = 5
MAX_SEARCH_CHARS = 200
# Used with fullmatch: "$" would also match before a final "\n", letting a line break into an address.
_CATEGORY = re.compile(r"^[a-z][a-z-]{0,15}(\.[A-Za-z][A-Za-z-]{0,15})?$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class InvalidInput(ValueError):
    """Bad input from a reader: the message says what to change."""


def normalize_email(raw: Any) -> str:
    """A plain ASCII address, lower-cased; raises `InvalidInput`."""
    if not isinstance(raw, str):
        raise InvalidInput("email must be a string")
    value = raw.strip()
    if not value or len(value) > 254 or value.count("@") != 1:
        raise InvalidInput("That is not an e-mail address.")
    local, domain = value.rsplit("@", 1)
    labels = domain.split(".")
    if (
        not _LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput("That is not an e-mail address.")
    return value.lower()


def check_frequency(value: Any) -> str:
    if value not in FREQUENCIES:
        raise InvalidInput("frequency must be daily or weekly")
    return value


@dataclass(slots=True)
class Preferences:
    frequency: Literal["daily", "weekly"] = "daily"
    max_papers: int = DEFAULT_PAPERS
    categories: list[str] = field(default_factory=list)
    searches: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "frequency": self.frequency,
            "maxPapers": self.max_papers,
            "categories": list(self.categories),
            "searches": [dict(s) for s in self.searches],
        }


def parse_preferences(data: dict) -> Preferences:
    """Preferences from a form or JSON body; raises `InvalidInput` naming what is wrong."""
    frequency = check_frequency(data.get("frequency"))
    raw_count = data.get("maxPapers", data.get("max_papers", DEFAULT_PAPERS))
    try:
        count = int(raw_count)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 in JSON is infinity
        raise InvalidInput("the number of papers must be a whole number") from None
    if not MIN_PAPERS <= count <= MAX_PAPERS:
        raise InvalidInput(f"the number of papers must be between {MIN_PAPERS} and {MAX_PAPERS}")
    raw_categories = data.get("categories") or []
    if isinstance(raw_categories, str):
        raw_categories = raw_categories.replace(",", " ").split()
    if not isinstance(raw_categories, list) or not all(isinstance(c, str) for c in raw_categories):
        raise InvalidInput("categories must be a list of arXiv categories")
    categories = list(dict.fromkeys(c.strip() for c in raw_categories if c.strip()))
    if len(categories) > MAX_CATEGORIES:
        raise InvalidInput(f"at most {MAX_CATEGORIES} categories")
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise InvalidInput(f"{category[:40]!r} is not an arXiv category (like cs.CL or hep-th)")
    raw_searches = data.get("searches") or []
    if not isinstance(raw_searches, list):
        raise InvalidInput("searches must be a list")
    searches: list[dict[str, str]] = []
    for item in raw_searches:
        if isinstance(item, str):
            item = {"q": item, "mode": "keyword"}
        if not isinstance(item, dict) or not isinstance(item.get("q", ""), str):
            raise InvalidInput('each saved search is {"q": ..., "mode": "keyword" or "semantic"}')
        query = " ".join(item.get("q", "").split())
        if not query:
            continue
        if len(query) > MAX_SEARCH_CHARS:
            raise InvalidInput(f"a saved search has at most {MAX_SEARCH_CHARS} characters")
        mode = item.get("mode") or "keyword"
        if mode not in SEARCH_MODES:
            raise InvalidInput("a saved search's mode is keyword or semantic")
        if not any(ch.isalnum() for ch in query):
            raise InvalidInput("a saved search needs letters or digits")
        if {"q": query, "mode": mode} not in searches:
            searches.append({"q": query, "mode": mode})
    if len(searches) > MAX_SEARCHES:
        raise InvalidInput(f"at most {MAX_SEARCHES} saved searches")
    return Preferences(frequency, count, categories, searches)


@dataclass(slots=True)
class Subscription:
    id: int
    email: str
    key: str
    status: str
    preferences: Preferences
    user_id: int | None = None

    @classmethod
    def from_row(cls, row) -> Subscription:
        m = row._mapping
        return cls(
            id=m["id"],
            email=m["email"],
            key=m["key"],
            status=m["status"],
            preferences=Preferences(
                m["frequency"], m["max_papers"], list(m["categories"] or []), list(m["searches"] or [])
            ),
            user_id=m["user_id"],
        )


@dataclass(frozen=True, slots=True)
class SignUp:
    """What a sign-up request leads to. The reader's answer is the same whatever it is."""

    action: Literal["confirm", "already", "nothing"]
    email: str
    key: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class Subscriptions:
    def __init__(self, engine: Engine, *, confirm_hours: int = 48) -> None:
        self.engine = engine
        self.confirm_hours = confirm_hours

    def expire_pending(self, conn=None, *, now: datetime | None = None) -> int:
        """Delete sign-ups never confirmed within the confirmation window (never-active rows only).

        The window runs from the latest confirmation mail: asking again sends a link valid that long."""
        cutoff = (now or _now()) - timedelta(hours=self.confirm_hours)
        statement = delete(subscriptions).where(
            subscriptions.c.status == "pending",
            subscriptions.c.confirmed_at.is_(None),
            func.coalesce(subscriptions.c.confirm_sent_at, subscriptions.c.created_at) < cutoff,
        )
        if conn is not None:
            return conn.execute(statement).rowcount
        with write_transaction(self.engine) as conn:
            return conn.execute(statement).rowcount

    def request(self, email: str, frequency: str, *, user_id: int | None = None) -> SignUp:
        """Record a sign-up: new and lapsed addresses get a confirmation, active ones a reminder."""
        try:
            return self._request(email, frequency, user_id)
        except IntegrityError:  # the same new address signed up by a concurrent request (PostgreSQL)
            return self._request(email, frequency, user_id)

    def _request(self, email: str, frequency: str, user_id: int | None) -> SignUp:
        now = _now()
        with write_transaction(self.engine) as conn:
            self.expire_pending(conn, now=now)
            row = conn.execute(select(subscriptions).where(subscriptions.c.email == email)).first()
            if row is None:
                key = new_key()
                conn.execute(
                    insert(subscriptions).values(
                        email=email,
                        key=key,
                        status="pending",
                        frequency=frequency,
                        max_papers=DEFAULT_PAPERS,
                        categories=[],
                        searches=[],
                        user_id=user_id,
                        bounces=0,
                        created_at=now,
                        confirm_sent_at=now,
                    )
                )
                return SignUp("confirm", email, key)
            if row.status == "active":
                return SignUp("already", email, row.key)
            # Pending, unsubscribed or suppressed: confirming (again) is what turns it on.
            values: dict[str, Any] = {"status": "pending", "confirm_sent_at": now}
            if row.status == "pending":
                values["frequency"] = frequency
            conn.execute(update(subscriptions).where(subscriptions.c.id == row.id).values(**values))
            return SignUp("confirm", email, row.key)

    def get(self, key: str) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(subscriptions).where(subscriptions.c.key == key)).first()
        return Subscription.from_row(row) if row is not None else None

    def by_email(self, email: str) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(subscriptions).where(subscriptions.c.email == email)).first()
        return Subscription.from_row(row) if row is not None else None

    def confirm(self, key: str) -> Subscription | None:
        """Activate a pending subscription (idempotent for an active one)."""
        now = _now()
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(subscriptions).where(subscriptions.c.key == key)).first()
            if row is None:
                return None
            if row.status != "active":
                conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == row.id)
                    .values(status="active", confirmed_at=now, unsubscribed_at=None, bounces=0)
                )
        return self.get(key)

    def save_preferences(self, key: str, preferences: Preferences) -> Subscription | None:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                update(subscriptions)
                .where(subscriptions.c.key == key)
                .values(
                    frequency=preferences.frequency,
                    max_papers=preferences.max_papers,
                    categories=preferences.categories,
                    searches=preferences.searches,
                )
            )
            if result.rowcount == 0:
                return None
        return self.get(key)

    def unsubscribe(self, key: str) -> bool:
        """Stop every digest to this subscription at once; True if the key was known."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(subscriptions.c.id, subscriptions.c.status).where(subscriptions.c.key == key)
            ).first()
            if row is None:
                return False
            if row.status != "unsubscribed":
                conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == row.id)
                    .values(status="unsubscribed", unsubscribed_at=_now())
                )
        return True


def forget_user(conn, user_id: int) -> None:
    """With the account goes the digest subscription it made (its address is the account's own); run inside
    the account's deletion transaction (`AccountStore.delete(also=...)`). Anonymous sign-ups stay."""
    conn.execute(delete(subscriptions).where(subscriptions.c.user_id == user_id))
