"""Leases and schedule claims: which of several workers runs the schedule, and each scheduled run once.

A lease row rather than an advisory lock: the same code serves SQLite (several workers on one machine) and
PostgreSQL, and a lease ends by the clock when its holder is cut off by the network (an advisory lock lives as
long as the server believes the holder's session does, minutes when nobody closes the socket). Times are the
database server's clock on PostgreSQL (machines' clocks may disagree), this machine's on SQLite.

Why not a scheduling library (APScheduler's SQLAlchemy job store, procrastinate's periodic tasks, pgqueuer):
APScheduler 3's job store does not keep two schedulers from running the same job (its documentation says to
run one scheduler), APScheduler 4 is still a pre-release, and procrastinate and pgqueuer are PostgreSQL-only
while SQLite is the default database. What is needed is small: one lease, one claim per run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, delete, func, literal, select

from dailypapers.store.engine import conflict_insert, read_connection, write_transaction
from dailypapers.store.schema import leases, schedule_runs


def db_now(dialect: str):
    """Seconds since the epoch, as the database sees them (PostgreSQL) or as this machine does (SQLite)."""
    if dialect == "postgresql":
        return func.extract("epoch", func.clock_timestamp())
    return literal(time.time())


@dataclass(frozen=True, slots=True)
class Holder:
    name: str
    holder: str
    expires_in: float  # seconds left; negative once it has run out


class Leases(Protocol):
    def acquire(self, name: str, holder: str, seconds: float) -> bool: ...

    def release(self, name: str, holder: str) -> None: ...

    def holder(self, name: str) -> Holder | None: ...

    def claim_run(self, job: str, slot: str, holder: str) -> bool: ...

    def run_claimed(self, job: str, slot: str) -> bool: ...


class SqlLeases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take the lease `name` for `seconds`, or renew it: True when `holder` holds it afterwards. It is
        taken only from nobody, from itself, or from a holder whose lease has run out."""
        now = db_now(self.dialect)
        statement = conflict_insert(self.dialect, leases).values(
            name=name, holder=holder, expires_at=now + seconds
        )
        statement = statement.on_conflict_do_update(
            index_elements=[leases.c.name],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
            where=(leases.c.holder == holder) | (leases.c.expires_at < now),
        ).returning(leases.c.holder)
        with write_transaction(self.engine) as conn:
            return conn.execute(statement).scalar_one_or_none() == holder

    def release(self, name: str, holder: str) -> None:
        """Give the lease up (a worker stopping cleanly): the next one need not wait for it to run out."""
        with write_transaction(self.engine) as conn:
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    def holder(self, name: str) -> Holder | None:
        query = select(leases.c.holder, leases.c.expires_at - db_now(self.dialect)).where(
            leases.c.name == name
        )
        with read_connection(self.engine) as conn:
            row = conn.execute(query).first()
        return None if row is None else Holder(name, row[0], float(row[1]))

    def claim_run(self, job: str, slot: str, holder: str) -> bool:
        """Claim the run of `job` planned for `slot`: True for exactly one caller, ever."""
        statement = (
            conflict_insert(self.dialect, schedule_runs)
            .values(job=job, slot=slot, holder=holder, claimed_at=db_now(self.dialect))
            .on_conflict_do_nothing(index_elements=[schedule_runs.c.job, schedule_runs.c.slot])
            .returning(schedule_runs.c.holder)
        )
        with write_transaction(self.engine) as conn:
            return conn.execute(statement).scalar_one_or_none() == holder

    def run_claimed(self, job: str, slot: str) -> bool:
        query = select(schedule_runs.c.holder).where(schedule_runs.c.job == job, schedule_runs.c.slot == slot)
        with read_connection(self.engine) as conn:
            return conn.execute(query).first() is not None
