"""Rate-limit counters kept in the database, so that they hold across every web process of a deployment.

Fixed windows: `(bucket, key)` counts hits in the window of `per_seconds` that started at `window_start`;
one atomic upsert per check both counts the hit and says how many there were (PostgreSQL and SQLite both do
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so two processes never both see "one left". A fixed window
lets a burst straddling its edge reach twice the limit; for sign-in and mail limits that is fine.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import NamedTuple, Protocol

from sqlalchemy import Connection, Engine, bindparam, case, delete

from dailypapers.store.engine import DIALECTS, conflict_insert, write_transaction
from dailypapers.store.schema import rate_limits

# Rows older than this are swept now and then; no limit should have a longer window.
SWEEP_AFTER_SECONDS = 2 * 86_400
SWEEP_CHANCE = 0.01


class WindowCount(NamedTuple):
    hits: int  # in the current window, this one included
    retry_after: int  # seconds until the window ends


class RateLimits(Protocol):
    def hit(self, bucket: str, key: str, per_seconds: int, now: float | None = None) -> WindowCount:
        """Count one hit on `(bucket, key)` in its own transaction."""


def _counting_upsert(dialect: str):
    """The counting upsert for a dialect: one statement counts the hit and says how many there were."""
    insert = conflict_insert(dialect, rate_limits)
    same_window = rate_limits.c.window_start == insert.excluded.window_start
    return (
        insert.values(
            bucket=bindparam("bucket"), key=bindparam("key"), window_start=bindparam("window"), hits=1
        )
        .on_conflict_do_update(
            index_elements=["bucket", "key"],
            set_={
                "hits": case((same_window, rate_limits.c.hits + 1), else_=1),
                "window_start": insert.excluded.window_start,
            },
        )
        .returning(rate_limits.c.hits)
    )


# Built once: it runs on every rate-limited write, and building and hashing a fresh statement (with its
# `excluded` alias) each time cost more than running it.
_UPSERTS = {dialect: _counting_upsert(dialect) for dialect in DIALECTS}
_SWEEP = delete(rate_limits).where(rate_limits.c.window_start < bindparam("before"))


def count_hit(
    conn: Connection, bucket: str, key: str, per_seconds: int, now: float | None = None
) -> WindowCount:
    """`hit` inside the caller's write transaction: a write that is itself rate limited (an upvote, a
    comment) counts its hit in its own transaction instead of paying for a second one."""
    now = time.time() if now is None else now
    window = int(now) - int(now) % per_seconds
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    values = {"bucket": bucket[:64], "key": digest, "window": window}
    hits = conn.execute(_UPSERTS[conn.dialect.name], values).scalar_one()
    if random.random() < SWEEP_CHANCE:
        # Now and then, forget counters nobody has hit lately: the table stays as small as the traffic.
        conn.execute(_SWEEP, {"before": now - SWEEP_AFTER_SECONDS})
    return WindowCount(hits, max(1, window + per_seconds - int(now)))


class SqlRateLimits:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hit(self, bucket: str, key: str, per_seconds: int, now: float | None = None) -> WindowCount:
        with write_transaction(self.engine) as conn:
            return count_hit(conn, bucket, key, per_seconds, now)
