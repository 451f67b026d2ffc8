"""Engines: a PostgreSQL connection that went away while it sat in the pool is replaced, not handed out."""

from __future__ import annotations

import sqlite3

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


def test_a_ping_that_finds_the_server_gone_empties_the_whole_pool(postgres_server_url, monkeypatch):
    # As pool_pre_ping does: the other pooled connections died with the server too, and are not handed out.
    engine = engines.make_engine(Settings(environment="development", database_url=postgres_server_url))
    try:
        first, second = engine.connect(), engine.connect()
        pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in (first, second)]
        first.close(), second.close()
        admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for pid in pids:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        admin.dispose()
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
        with engine.connect() as conn:  # pinged, found dead: the pool is emptied
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 3600.0)
        with engine.connect() as one, engine.connect() as two:  # unpinged, yet both alive
            assert (
                one.exec_driver_sql("SELECT 1").scalar_one() == two.exec_driver_sql("SELECT 1").scalar_one()
            )
    finally:
        engine.dispose()


def test_a_locked_sqlite_database_raises_sqlalchemys_error_at_begin(tmp_path):
    path = tmp_path / "locked.db"
    settings = Settings(
        environment="development", database_url=f"sqlite:///{path}", sqlite_busy_timeout_ms=50
    )
    engine = engines.make_engine(settings)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            with engines.write_transaction(engine):
                pass
    finally:
        holder.close()
        engine.dispose()
