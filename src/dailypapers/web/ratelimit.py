"""Rate limits kept in the database, so that they hold across every web process of a deployment.

Fixed windows: `(bucket, key)` counts hits in the window of `per_seconds` that started at `window_start`;
one atomic upsert per check both counts the hit and says how many there were (PostgreSQL and SQLite both do
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so two processes never both see "one left". A fixed window
lets a burst straddling its edge reach twice the limit; for sign-in and mail limits that is fine.
"""

from __future__ import annotations

import hashlib
import random
import time

from fastapi import HTTPException, Request
from sqlalchemy import Engine, bindparam, case, delete

from dailypapers.store.engine import DIALECTS, conflict_insert, write_transaction
from dailypapers.store.schema import rate_limits

# Rows older than this are swept now and then; no limit should have a longer window.
SWEEP_AFTER_SECONDS = 2 * 86_400
SWEEP_CHANCE = 0.01


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


def count_hit(conn, bucket: str, key: str, per_seconds: int, now: float | None = None) -> tuple[int, int]:
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
    return hits, max(1, window + per_seconds - int(now))


def hit(engine: Engine, bucket: str, key: str, per_seconds: int, now: float | None = None) -> tuple[int, int]:
    """Count one hit; return (hits in the current window, seconds until that window ends)."""
    with write_transaction(engine) as conn:
        return count_hit(conn, bucket, key, per_seconds, now)


def _refuse(retry_after: int) -> HTTPException:
    minutes = (retry_after + 59) // 60
    wait = f"{retry_after} seconds" if retry_after < 120 else f"{minutes} minutes"
    return HTTPException(
        429, f"Too many attempts; try again in {wait}.", headers={"Retry-After": str(retry_after)}
    )


def check_rate(request: Request, bucket: str, key: str, *, limit: int, per_seconds: int) -> None:
    """Count a hit on `(bucket, key)`; past `limit` in the window, refuse with 429 and Retry-After.

    Does nothing when the deployment turned rate limits off (`DAILYPAPERS_RATE_LIMIT_ENABLED=false`).
    """
    if not request.app.state.settings.rate_limit_enabled:
        return
    hits, retry_after = hit(request.app.state.store.engine, bucket, key, per_seconds)
    if hits > limit:
        raise _refuse(retry_after)


def check_setting(request: Request, bucket: str, key: str, setting: str) -> None:
    """`check_rate` with the limit of setting `rate_limit_<setting>` (e.g. "signin")."""
    limit, per_seconds = request.app.state.settings.rate(setting)
    check_rate(request, bucket, key, limit=limit, per_seconds=per_seconds)


def setting_in(request: Request, bucket: str, key: str, setting: str):
    """`check_setting` to run inside the write it limits: a function of the transaction's connection (None
    when limits are off). Over the limit it raises 429, which also rolls back the write."""
    settings = request.app.state.settings
    if not settings.rate_limit_enabled:
        return None
    limit, per_seconds = settings.rate(setting)

    def check(conn) -> None:
        hits, retry_after = count_hit(conn, bucket, key, per_seconds)
        if hits > limit:
            raise _refuse(retry_after)

    return check


def client_ip(request: Request) -> str:
    """The client's address (uvicorn puts the proxy's X-Forwarded-For here when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"
