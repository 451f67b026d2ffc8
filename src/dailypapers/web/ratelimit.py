"""Rate limits on the web: 429 with Retry-After past a setting's limit. The counters are kept in the database
(dailypapers.store.rate_limits), so that they hold across every web process of a deployment."""

from __future__ import annotations

from fastapi import HTTPException, Request

from dailypapers.store.engine import Engine
from dailypapers.store.rate_limits import SqlRateLimits, WindowCount, count_hit


def hit(engine: Engine, bucket: str, key: str, per_seconds: int, now: float | None = None) -> WindowCount:
    """Count one hit; return (hits in the current window, seconds until that window ends)."""
    return SqlRateLimits(engine).hit(bucket, key, per_seconds, now)


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
