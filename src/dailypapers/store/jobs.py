"""Background jobs in the database: enqueued by a request, claimed by whichever process runs jobs.

A table rather than a job library: the libraries made for this (procrastinate, pgqueuer) are PostgreSQL-only,
and SQLite is the default database. A claim is a lease: the runner that claimed a job has `lease` to finish
it; a job whose runner died (kill -9, a lost machine) is claimed again when the lease has run out. Claims take
`FOR UPDATE SKIP LOCKED` on PostgreSQL (two runners never wait on each other) and SQLite's write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, and_, delete, func, or_, select, update

from dailypapers.store.engine import read_connection, write_transaction
from dailypapers.store.schema import jobs

JobStatus = Literal["queued", "running", "done", "failed"]


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    user_id: int | None
    status: JobStatus
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class JobStore(Protocol):
    def enqueue(self, kind: str, payload: dict[str, Any], *, user_id: int | None = None) -> int: ...

    def claim(self, runner: str, *, kinds: frozenset[str], lease: timedelta) -> Job | None: ...

    def finish(self, job_id: int, runner: str, result: dict[str, Any]) -> None: ...

    def fail(self, job_id: int, runner: str, error: str, *, retry_at: datetime | None = None) -> None: ...

    def get(self, job_id: int) -> Job | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for what was stored as UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _job(row) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        payload=dict(row.payload or {}),
        user_id=row.user_id,
        status=row.status,
        attempts=row.attempts,
        result=row.result,
        error=row.error,
        created_at=_as_utc(row.created_at),
        finished_at=_as_utc(row.finished_at),
    )


# Finished jobs are kept this long (a submitter may look at the outcome), then deleted by later claims.
KEEP_FINISHED = timedelta(days=7)


class SqlJobStore:
    """Jobs in the `jobs` table of SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def enqueue(self, kind: str, payload: dict[str, Any], *, user_id: int | None = None) -> int:
        now = _now()
        with write_transaction(self.engine) as conn:
            return conn.execute(
                jobs.insert()
                .values(
                    kind=kind,
                    payload=payload,
                    user_id=user_id,
                    status="queued",
                    attempts=0,
                    run_after=now,
                    created_at=now,
                )
                .returning(jobs.c.id)
            ).scalar_one()

    def claim(self, runner: str, *, kinds: frozenset[str], lease: timedelta) -> Job | None:
        """The oldest due job of these kinds (or one whose runner's lease ran out), leased to `runner`."""
        now = _now()
        due = or_(
            and_(jobs.c.status == "queued", jobs.c.run_after <= now),
            and_(jobs.c.status == "running", jobs.c.claimed_until < now),
        )
        pick = select(jobs.c.id).where(due, jobs.c.kind.in_(sorted(kinds))).order_by(jobs.c.id).limit(1)
        if self.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with write_transaction(self.engine) as conn:
            job_id = conn.execute(pick).scalar()
            if job_id is None:
                conn.execute(
                    delete(jobs).where(
                        jobs.c.status.in_(("done", "failed")), jobs.c.finished_at < now - KEEP_FINISHED
                    )
                )
                return None
            row = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    status="running",
                    claimed_by=runner,
                    claimed_until=now + lease,
                    attempts=jobs.c.attempts + 1,
                )
                .returning(*jobs.c)
            ).one()
            return _job(row)

    def _settle(self, job_id: int, runner: str, **values) -> None:
        with write_transaction(self.engine) as conn:
            # Only the runner holding the lease settles: one whose lease ran out and was taken over must not
            # overwrite the new runner's outcome.
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.claimed_by == runner, jobs.c.status == "running")
                .values(claimed_until=None, **values)
            )

    def finish(self, job_id: int, runner: str, result: dict[str, Any]) -> None:
        self._settle(job_id, runner, status="done", result=result, error=None, finished_at=_now())

    def fail(self, job_id: int, runner: str, error: str, *, retry_at: datetime | None = None) -> None:
        """Record the failure; with `retry_at` the job is queued again for then."""
        if retry_at is not None:
            self._settle(job_id, runner, status="queued", error=error, run_after=retry_at, claimed_by=None)
        else:
            self._settle(job_id, runner, status="failed", error=error, finished_at=_now())

    def get(self, job_id: int) -> Job | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def pending(self) -> int:
        """Jobs queued or running (for status pages and tests)."""
        with read_connection(self.engine) as conn:
            return conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.status.in_(("queued", "running")))
            ).scalar_one()
