"""Engines: a PostgreSQL connection that went away while it sat in the pool is replaced, not handed out."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dailypapers.settings import Settings
from dailypapers.store import engine as engines


def _terminate_pooled(engine: sa.Engine, admin_url: str) -> None:
    """Kill the server side of the pool's one connection, as a server restart would."""
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar_one()
    admin.dispose()


@pytest.mark.parametrize("idle_seconds, survives", [(0.0, True), (3600.0, False)])
def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(
    postgres_server_url, monkeypatch, idle_seconds, survives
):
    # With a threshold of 0 every checkout counts as idle and is pinged; with an hour none is, and the dead
    # connection reaches the caller: the second case shows that the first one tests the ping.
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", idle_seconds)
    engine = engines.make_engine(Settings(environment="development", database_url=postgres_server_url))
    try:
        _terminate_pooled(engine, postgres_server_url)
        with engine.connect() as conn:
            if survives:
                assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
            else:
                with pytest.raises(sa.exc.OperationalError):
                    conn.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_server_url, monkeypatch):
    engine = engines.make_engine(Settings(environment="development", database_url=postgres_server_url))
    pings = []
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_connection: pings.append(1) or True)
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        assert pings == []  # a new connection, then the same one back within the threshold
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert pings == [1]
    finally:
        engine.dispose()
