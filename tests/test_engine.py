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


def test_a_locked_sqlite_database_is_busy_at_begin_not_a_crash(tmp_path):
    path = tmp_path / "locked.db"
    settings = Settings(
        environment="development", database_url=f"sqlite:///{path}", sqlite_busy_timeout_ms=50
    )
    engine = engines.make_engine(settings)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(engines.DatabaseBusy) as caught:
            with engines.write_transaction(engine):
                pass
        # SQLAlchemy's error (raised at BEGIN, as exec_driver_sql would) is the cause, for the logs.
        assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
        assert "locked" in str(caught.value.__cause__) and caught.value.retry_after > 0
    finally:
        holder.close()
        engine.dispose()


def test_writers_wait_a_bounded_time_and_in_bounded_numbers(tmp_path):
    import threading
    import time

    settings = Settings(
        environment="development",
        database_url=f"sqlite:///{tmp_path / 'gate.db'}",
        sqlite_write_wait_seconds=0.3,
        sqlite_max_waiting_writers=3,
    )
    engines.upgrade(settings)
    engine = engines.make_engine(settings)
    holding, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def hold() -> None:
        with engines.write_transaction(engine):
            holding.set()
            release.wait(10)

    def write() -> None:
        try:
            with engines.write_transaction(engine):
                outcomes.append("wrote")
        except engines.DatabaseBusy as exc:
            outcomes.append("many" if "too many" in str(exc) else "waited")

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    writers = [threading.Thread(target=write) for _ in range(5)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(10)
    took = time.monotonic() - started
    release.set()
    holder.join(10)
    # The holder has one seat: two more wait the bounded time, the other three are refused at once.
    assert sorted(outcomes) == ["many", "many", "many", "waited", "waited"], outcomes
    assert took < 3
    with engines.write_transaction(engine) as conn:  # the gate is free again
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()


def test_a_full_disk_or_a_read_only_database_is_unavailable_not_a_crash(tmp_path):
    path = tmp_path / "full.db"
    settings = Settings(environment="development", database_url=f"sqlite:///{path}")
    engines.upgrade(settings)
    engine = engines.make_engine(settings)

    @sa.event.listens_for(engine, "connect")
    def _no_room(dbapi_connection, _record) -> None:
        # SQLite's own "disk full" (SQLITE_FULL): the file may not grow by a page more.
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    try:
        with pytest.raises(engines.StoreUnavailable, match="disk is full"):
            with engines.write_transaction(engine) as conn:
                conn.exec_driver_sql(
                    "INSERT INTO moderation_log (at, moderator, action, target_type, target_id, reason) "
                    "VALUES ('2026-01-01', 'm', 'a', 't', 1, :r)",
                    {"r": "x" * 200_000},
                )
    finally:
        engine.dispose()
    # A database opened read-only (a file system remounted read-only after an error, say).
    read_only = Settings(environment="development", database_url=f"sqlite:///file:{path}?mode=ro&uri=true")
    engine = engines.make_engine(read_only)
    try:
        with pytest.raises(engines.StoreUnavailable, match="read-only"):
            with engines.write_transaction(engine) as conn:
                conn.exec_driver_sql("DELETE FROM papers")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "message, kind",
    [
        ("database or disk is full", engines.StoreUnavailable),
        ("attempt to write a readonly database", engines.StoreUnavailable),
        ("database is locked", engines.DatabaseBusy),
        ("disk I/O error", engines.StoreUnavailable),
    ],
)
def test_sqlite_errors_that_mean_not_now(message, kind):
    error = sa.exc.OperationalError("INSERT", None, sqlite3.OperationalError(message))
    meaning = engines.unavailable(error)
    assert type(meaning) is kind and meaning.message
    assert (
        engines.unavailable(sa.exc.IntegrityError("INSERT", None, sqlite3.IntegrityError("UNIQUE"))) is None
    )


HOLD = """
import sys, time
from dailypapers.settings import Settings
from dailypapers.store import engine as engines
settings = Settings(environment="development", database_url=sys.argv[1])
engine = engines.make_engine(settings)
with engines.write_transaction(engine) as conn:
    conn.exec_driver_sql("SELECT 1")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_writers_of_two_processes_queue_on_the_lock_file_with_a_bounded_wait(tmp_path):
    import subprocess
    import sys
    import time

    url = f"sqlite:///{tmp_path / 'two.db'}"
    engines.upgrade(Settings(environment="development", database_url=url))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url, "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert (tmp_path / "two.db.writers-lock").exists()
        impatient = engines.make_engine(
            Settings(environment="development", database_url=url, sqlite_write_wait_seconds=0.2)
        )
        started = time.monotonic()
        with pytest.raises(engines.DatabaseBusy):
            with engines.write_transaction(impatient):
                pass
        assert time.monotonic() - started < 1.0  # the bounded wait, not SQLite's busy timeout
        impatient.dispose()
        # A patient writer of this process gets in the moment the other process lets go.
        patient = engines.make_engine(
            Settings(environment="development", database_url=f"sqlite:///{tmp_path}/./two.db")
        )
        with engines.write_transaction(patient) as conn:
            conn.exec_driver_sql("SELECT 1")
        assert holder.poll() is not None or time.monotonic() - started >= 1.0
        patient.dispose()
    finally:
        holder.wait(10)


def test_a_plain_postgresql_url_uses_the_installed_driver(postgres_server_url):
    plain = postgres_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    engine = engines.make_engine(Settings(environment="development", database_url=plain))
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()
