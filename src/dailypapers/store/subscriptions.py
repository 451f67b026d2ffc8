"""Digest subscriptions in the database: sign-up with double opt-in, confirmation, preferences, unsubscribing,
and the active subscribers a run sends to.

Every method is a short transaction; mail is sent by the caller after it commits. The rules for what a
reader may choose (`dailypapers.digests.subscriptions`) are checked before anything reaches here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.store.engine import write_transaction
from dailypapers.store.schema import subscriptions

DEFAULT_PAPERS = 5


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


@dataclass(slots=True)
class Subscription:
    id: int
    email: str
    key: str
    status: str  # pending, active, unsubscribed, suppressed
    preferences: Preferences
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class SignUp:
    """What a sign-up request leads to. The reader's answer is the same whatever it is."""

    action: Literal["confirm", "already", "nothing"]
    email: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriberCounts:
    active: int
    suppressed: int


class SubscriptionStore(Protocol):
    """What digests and their pages need of the subscriptions."""

    def request(self, email: str, frequency: str, *, user_id: int | None = None) -> SignUp: ...
    def confirm(self, key: str) -> Subscription | None: ...
    def save_preferences(self, key: str, preferences: Preferences) -> Subscription | None: ...
    def unsubscribe(self, key: str) -> bool: ...
    def get(self, key: str) -> Subscription | None: ...
    def by_email(self, email: str) -> Subscription | None: ...
    def expire_pending(self) -> int: ...
    def counts(self, frequency: str) -> SubscriberCounts: ...
    def active(self, frequency: str, *, batch: int = 500) -> Iterator[list[Subscription]]: ...
    def semantic_searches(self, frequency: str | None = None) -> set[str]: ...


def of_status(status: str, frequency: str | None = None) -> ColumnElement[bool]:
    """Subscriptions in `status` (of one frequency): "active subscribers of a frequency" is
    `of_status("active", frequency)`, here and in the digest runs' store."""
    where = subscriptions.c.status == status
    return where if frequency is None else and_(where, subscriptions.c.frequency == frequency)


def _now() -> datetime:
    return datetime.now(UTC)


def _subscription(row) -> Subscription:
    return Subscription(
        id=row.id,
        email=row.email,
        key=row.key,
        status=row.status,
        preferences=Preferences(
            row.frequency, row.max_papers, list(row.categories or []), list(row.searches or [])
        ),
        user_id=row.user_id,
    )


class SqlSubscriptionStore:
    def __init__(self, engine: Engine, *, confirm_hours: int = 48) -> None:
        self.engine = engine
        self.confirm_hours = confirm_hours

    def _expire(self, conn: Connection, now: datetime) -> int:
        # The window runs from the latest confirmation mail: asking again sends a link valid that long.
        cutoff = now - timedelta(hours=self.confirm_hours)
        return conn.execute(
            delete(subscriptions).where(
                subscriptions.c.status == "pending",
                subscriptions.c.confirmed_at.is_(None),
                func.coalesce(subscriptions.c.confirm_sent_at, subscriptions.c.created_at) < cutoff,
            )
        ).rowcount

    def expire_pending(self, *, now: datetime | None = None) -> int:
        """Delete sign-ups never confirmed within the confirmation window (never-active rows only)."""
        with write_transaction(self.engine) as conn:
            return self._expire(conn, now or _now())

    def request(self, email: str, frequency: str, *, user_id: int | None = None) -> SignUp:
        """Record a sign-up: new and lapsed addresses get a confirmation, active ones a reminder."""
        try:
            return self._request(email, frequency, user_id)
        except IntegrityError:  # the same new address signed up by a concurrent request (PostgreSQL)
            return self._request(email, frequency, user_id)

    def _request(self, email: str, frequency: str, user_id: int | None) -> SignUp:
        now = _now()
        with write_transaction(self.engine) as conn:
            self._expire(conn, now)
            row = conn.execute(select(subscriptions).where(subscriptions.c.email == email)).first()
            if row is None:
                key = secrets.token_urlsafe(24)  # what the signed links sign
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

    def _one(self, where) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(subscriptions).where(where)).first()
        return _subscription(row) if row is not None else None

    def get(self, key: str) -> Subscription | None:
        return self._one(subscriptions.c.key == key)

    def by_email(self, email: str) -> Subscription | None:
        return self._one(subscriptions.c.email == email)

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

    def counts(self, frequency: str) -> SubscriberCounts:
        """Active and suppressed subscribers of a frequency."""
        with self.engine.connect() as conn:
            return SubscriberCounts(
                active=conn.execute(select(func.count()).where(of_status("active", frequency))).scalar_one(),
                suppressed=conn.execute(
                    select(func.count()).where(of_status("suppressed", frequency))
                ).scalar_one(),
            )

    def active(self, frequency: str, *, batch: int = 500) -> Iterator[list[Subscription]]:
        """The active subscribers of a frequency, in batches by id (each batch one short read)."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(subscriptions)
                    .where(of_status("active", frequency), subscriptions.c.id > last)
                    .order_by(subscriptions.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            last = rows[-1].id
            yield [_subscription(row) for row in rows]

    def semantic_searches(self, frequency: str | None = None) -> set[str]:
        """The distinct semantic saved searches of active subscribers (of one frequency)."""
        query = select(subscriptions.c.searches).where(of_status("active", frequency))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for (searches,) in conn.execution_options(yield_per=2000).execute(query):
                for search in searches or ():
                    if search.get("mode") == "semantic":
                        found.add(search["q"])
        return found


def forget_user(conn: Connection, user_id: int) -> None:
    """With the account goes the digest subscription it made (its address is the account's own); run inside
    the account's deletion transaction (`AccountStore.delete(also=...)`). Anonymous sign-ups stay."""
    conn.execute(delete(subscriptions).where(subscriptions.c.user_id == user_id))
