"""Digest runs in the database: one row per (frequency, period), one delivery per (run, subscriber), and the
papers each subscriber has received.

Starting a run inserts a `pending` delivery for every active subscriber of that frequency, in the same
transaction as the run row, so a run either exists with all its rows or not at all. A sender claims batches
of rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` takes the write lock first),
moving them to `sending` under its name; each message's outcome is then its own commit, on one connection
the sender keeps (`write_transaction_on`). Who may take over a `sending` row is the sender's rule
(`dailypapers.digests.delivery`): `release` asks it about each claimant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)

from dailypapers.papers import as_utc
from dailypapers.store.engine import conflict_insert, write_transaction, write_transaction_on
from dailypapers.store.schema import digest_deliveries as deliveries
from dailypapers.store.schema import digest_received as received
from dailypapers.store.schema import digest_runs as runs
from dailypapers.store.schema import subscriptions
from dailypapers.store.subscriptions import Preferences, of_status

WAITING = ("pending", "sending", "retry")  # a run with a delivery in one of these is not finished


class RunPeriod(Protocol):
    frequency: str
    key: str  # what makes a run unique with the frequency: 2026-11-27 or 2026-W48


class StartedRun(NamedTuple):
    run_id: int
    status: str  # running, finished
    created: bool


@dataclass(slots=True)
class Claimed:
    subscription_id: int
    email: str
    key: str
    preferences: Preferences
    attempts: int
    bounces: int = 0


@dataclass(frozen=True, slots=True)
class RunCounts:
    status: str
    subscribers: int
    suppressed: int  # left out at the start, and suppressed since among the run's subscribers
    states: dict[str, int]  # deliveries by state


@dataclass(slots=True)
class RunSummary:
    id: int
    frequency: str
    period_key: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    subscribers: int
    suppressed: int
    states: dict[str, int] = field(default_factory=dict)


# (claimant, when its oldest claim was taken) -> whether its `sending` rows may be given back
IsDead = Callable[[str | None, datetime | None], bool]


class DigestRunStore(Protocol):
    """What a digest sender needs of its runs and deliveries."""

    worker: str  # the name this store's claims carry

    def start(self, period: RunPeriod) -> StartedRun: ...
    def release(self, run_id: int, is_dead: IsDead) -> int: ...
    def claim(self, run_id: int, limit: int) -> list[Claimed]: ...
    def received(self, subscription_ids: list[int], paper_ids: set[int]) -> dict[int, set[int]]: ...
    def mark_sent(
        self, run_id: int, subscription_id: int, paper_ids: list[int], *, bounces: int = 0
    ) -> None: ...
    def mark_empty(self, run_id: int, subscription_ids: list[int]) -> None: ...
    def mark_retry(
        self, run_id: int, subscription_id: int, code: int | None, error: str, at: datetime
    ) -> None: ...
    def mark_failed(
        self, run_id: int, subscription_id: int, code: int | None, error: str, *, bounce: bool
    ) -> bool: ...
    def next_retry(self, run_id: int) -> datetime | None: ...
    def finish_if_done(self, run_id: int) -> str: ...
    def counts(self, run_id: int) -> RunCounts: ...
    def recent(self, limit: int = 20) -> list[RunSummary]: ...
    def close(self) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _states(conn: Connection, run_id: int) -> dict[str, int]:
    return dict(
        conn.execute(
            select(deliveries.c.state, func.count())
            .where(deliveries.c.run_id == run_id)
            .group_by(deliveries.c.state)
        ).all()
    )


class SqlDigestRunStore:
    def __init__(self, engine: Engine, *, worker: str, bounce_limit: int = 3) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.worker = worker
        self.bounce_limit = bounce_limit
        self._writer: Connection | None = None
        # The hot path (one per message sent): statements built once.
        self._insert_received = conflict_insert(self.dialect, received).on_conflict_do_nothing()
        self._mark_sent = text(
            "UPDATE digest_deliveries SET state = 'sent', sent_at = :now, attempts = attempts + 1, "
            "claimed_by = NULL WHERE run_id = :r AND subscription_id = :s"
        ).bindparams(bindparam("now", type_=deliveries.c.sent_at.type))

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction on the one connection kept for the run (each outcome is its own commit)."""
        if self._writer is None:
            self._writer = self.engine.connect()
        try:
            with write_transaction_on(self._writer) as conn:
                yield conn
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def start(self, period: RunPeriod) -> StartedRun:
        """The run of this period, made with all its deliveries if new."""
        now = _now()
        with write_transaction(self.engine) as conn:
            where = and_(runs.c.frequency == period.frequency, runs.c.period_key == period.key)
            row = conn.execute(select(runs.c.id, runs.c.status).where(where)).first()
            if row is not None:
                return StartedRun(row.id, row.status, False)
            statement = (
                conflict_insert(self.dialect, runs)
                .values(
                    frequency=period.frequency,
                    period_key=period.key,
                    status="running",
                    started_at=now,
                    subscribers=0,
                    suppressed=0,
                )
                .on_conflict_do_nothing(index_elements=["frequency", "period_key"])
                .returning(runs.c.id)
            )
            run_id = conn.execute(statement).scalar()
            if run_id is None:  # another sender made it a moment ago (PostgreSQL)
                row = conn.execute(select(runs.c.id, runs.c.status).where(where)).one()
                return StartedRun(row.id, row.status, False)
            chosen = select(
                literal(run_id, Integer).label("run_id"),
                subscriptions.c.id,
                literal("pending").label("state"),
                literal(0, Integer).label("attempts"),
            ).where(of_status("active", period.frequency))
            conn.execute(
                insert(deliveries).from_select(["run_id", "subscription_id", "state", "attempts"], chosen)
            )
            added = conn.execute(select(func.count()).where(deliveries.c.run_id == run_id)).scalar_one()
            suppressed = conn.execute(
                select(func.count()).where(of_status("suppressed", period.frequency))
            ).scalar_one()
            conn.execute(
                update(runs).where(runs.c.id == run_id).values(subscribers=added, suppressed=suppressed)
            )
        return StartedRun(run_id, "running", True)

    def release(self, run_id: int, is_dead: IsDead) -> int:
        """Give back (to `pending`) the `sending` rows of every claimant `is_dead` says is gone."""
        with write_transaction(self.engine) as conn:
            holders = conn.execute(
                select(deliveries.c.claimed_by, func.min(deliveries.c.claimed_at))
                .where(deliveries.c.run_id == run_id, deliveries.c.state == "sending")
                .group_by(deliveries.c.claimed_by)
            ).all()
            dead = [worker for worker, at in holders if is_dead(worker, as_utc(at))]
            if not dead:
                return 0
            return conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.run_id == run_id,
                    deliveries.c.state == "sending",
                    or_(
                        deliveries.c.claimed_by.in_([w for w in dead if w]), deliveries.c.claimed_by.is_(None)
                    ),
                )
                .values(state="pending", claimed_by=None)
            ).rowcount

    def claim(self, run_id: int, limit: int) -> list[Claimed]:
        """Take up to `limit` rows that are due; rows of subscribers who left meanwhile are cancelled."""
        now = _now()
        due = and_(
            deliveries.c.run_id == run_id,
            or_(
                deliveries.c.state == "pending",
                and_(deliveries.c.state == "retry", deliveries.c.next_attempt_at <= now),
            ),
        )
        with write_transaction(self.engine) as conn:
            pick = select(deliveries.c.subscription_id).where(due).order_by(deliveries.c.subscription_id)
            pick = pick.limit(limit)
            if self.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(ids))
                .values(state="sending", claimed_by=self.worker, claimed_at=now)
            )
            rows = conn.execute(
                select(
                    subscriptions.c.id,
                    subscriptions.c.email,
                    subscriptions.c.key,
                    subscriptions.c.status,
                    subscriptions.c.frequency,
                    subscriptions.c.max_papers,
                    subscriptions.c.categories,
                    subscriptions.c.searches,
                    subscriptions.c.bounces,
                    deliveries.c.attempts,
                )
                .select_from(
                    deliveries.join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                )
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(ids))
                .order_by(subscriptions.c.id)
            ).all()
            gone = [r.id for r in rows if r.status != "active"]
            if gone:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(gone))
                    .values(state="cancelled", claimed_by=None)
                )
        return [
            Claimed(
                r.id,
                r.email,
                r.key,
                Preferences(r.frequency, r.max_papers, list(r.categories or []), list(r.searches or [])),
                r.attempts,
                r.bounces,
            )
            for r in rows
            if r.status == "active"
        ]

    def received(self, subscription_ids: list[int], paper_ids: set[int]) -> dict[int, set[int]]:
        """The papers of the pool each of these subscribers has already had."""
        out: dict[int, set[int]] = {sid: set() for sid in subscription_ids}
        if not subscription_ids or not paper_ids:
            return out
        query = select(received.c.subscription_id, received.c.paper_id).where(
            received.c.subscription_id.in_(subscription_ids)
        )
        if len(paper_ids) <= 2000:
            query = query.where(received.c.paper_id.in_(sorted(paper_ids)))
        with self.engine.connect() as conn:
            for sid, pid in conn.execute(query):
                if pid in paper_ids:
                    out[sid].add(pid)
        return out

    def mark_sent(self, run_id: int, subscription_id: int, paper_ids: list[int], *, bounces: int = 0) -> None:
        """Record a delivery and the papers it carried, in one commit."""
        with self._write() as conn:
            conn.execute(self._mark_sent, {"now": _now(), "r": run_id, "s": subscription_id})
            if paper_ids:
                conn.execute(
                    self._insert_received,
                    [
                        {"subscription_id": subscription_id, "paper_id": p, "run_id": run_id}
                        for p in paper_ids
                    ],
                )
            if bounces:  # a delivery ends a run of bounces
                conn.execute(
                    update(subscriptions).where(subscriptions.c.id == subscription_id).values(bounces=0)
                )

    def mark_empty(self, run_id: int, subscription_ids: list[int]) -> None:
        if not subscription_ids:
            return
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(subscription_ids))
                .values(state="empty", claimed_by=None)
            )

    def mark_retry(
        self, run_id: int, subscription_id: int, code: int | None, error: str, at: datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id == subscription_id)
                .values(
                    state="retry",
                    attempts=deliveries.c.attempts + 1,
                    next_attempt_at=at,
                    code=code,
                    error=error[:500],
                    claimed_by=None,
                )
            )

    def mark_failed(
        self, run_id: int, subscription_id: int, code: int | None, error: str, *, bounce: bool
    ) -> bool:
        """Record a failure; a hard bounce counts towards suppression. True if the address is now
        suppressed."""
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id == subscription_id)
                .values(
                    state="failed",
                    attempts=deliveries.c.attempts + 1,
                    code=code,
                    error=error[:500],
                    claimed_by=None,
                )
            )
            if not bounce:
                return False
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(bounces=subscriptions.c.bounces + 1)
            )
            conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.id == subscription_id,
                    subscriptions.c.bounces >= self.bounce_limit,
                    subscriptions.c.status == "active",
                )
                .values(status="suppressed")
            )
            status = conn.execute(
                select(subscriptions.c.status).where(subscriptions.c.id == subscription_id)
            ).scalar()
            return status == "suppressed"

    def next_retry(self, run_id: int) -> datetime | None:
        with self.engine.connect() as conn:
            return as_utc(
                conn.execute(
                    select(func.min(deliveries.c.next_attempt_at)).where(
                        deliveries.c.run_id == run_id, deliveries.c.state == "retry"
                    )
                ).scalar()
            )

    def finish_if_done(self, run_id: int) -> str:
        with write_transaction(self.engine) as conn:
            waiting = conn.execute(
                select(func.count()).where(deliveries.c.run_id == run_id, deliveries.c.state.in_(WAITING))
            ).scalar_one()
            if waiting:
                return "running"
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status != "finished")
                .values(status="finished", finished_at=_now())
            )
            return "finished"

    def counts(self, run_id: int) -> RunCounts:
        with self.engine.connect() as conn:
            run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
            states = _states(conn, run_id)
            suppressed_since = conn.execute(
                select(func.count())
                .select_from(
                    deliveries.join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                )
                .where(deliveries.c.run_id == run_id, subscriptions.c.status == "suppressed")
            ).scalar_one()
        return RunCounts(run.status, run.subscribers, run.suppressed + suppressed_since, states)

    def recent(self, limit: int = 20) -> list[RunSummary]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
            return [RunSummary(**row._mapping, states=_states(conn, row.id)) for row in rows]
