"""Engines for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL, the database URL (shown without its
password, the default search index dir), and migrations."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, Table, create_engine, event

# Re-exported: code outside store/ passes an engine around and names its type from here, never from
# SQLAlchemy (only store/ looks inside one).
from sqlalchemy import Engine as Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError, OperationalError

from dailypapers.settings import Settings, default_data_dir

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # As many pooled connections as the web server has worker threads (anyio's 40): with SQLAlchemy's
        # default of 5 + 10 overflow, busy moments opened and closed connections (and ran the pragmas below)
        # on every request.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=40, max_overflow=10
        )
        busy_ms = settings.sqlite_busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no branch
            # Let SQLAlchemy's BEGIN govern transactions; pysqlite's own implicit ones fight it.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
            # one failing with "database is locked" when it upgrades a read lock.
            # Straight to the driver: this runs on every transaction, and exec_driver_sql's trip through
            # SQLAlchemy's execution machinery cost more than the BEGIN itself.
            begin = "BEGIN IMMEDIATE" if conn.info.pop("write", False) else "BEGIN"
            try:
                conn.connection.driver_connection.execute(begin)
            except sqlite3.Error as exc:
                # What exec_driver_sql would have raised ("database is locked" after the busy timeout).
                raise OperationalError(begin, None, exc) from exc

        return engine
    if url.get_backend_name() == "postgresql":
        # A pool smaller than the requests in flight closed and reopened connections all the time under load
        # (a new server process each); the overflow is for bursts.
        size = settings.db_pool_size
        engine = create_engine(url, pool_size=size, max_overflow=max(1, size // 2))
        _ping_when_idle(engine)
        return engine
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql+psycopg")


# A pooled connection that came back this recently is not pinged again when it is next taken out.
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for connections that sat idle: pre_ping pings on every checkout,
    and under load (two checkouts per API write) those round trips were a fifth of an upvote's database time.
    A connection returned a moment ago has just proved itself; one that sat idle (through a server restart,
    say) is pinged with the dialect's own ping. A ping that finds the server gone empties the whole pool, as
    pool_pre_ping does (InvalidatePoolError; the pool then connects afresh, SQLAlchemy's documented
    checkout-event recipe). The price: right after a restart, connections returned within the last second are
    handed out unpinged, and the first statement on one of them fails (and empties the pool in turn)."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("returned_at", float("-inf")) < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"the database server went away: {exc}") from exc
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


# One lock per SQLite file for the writers of this process. SQLite's own busy handler makes a waiting writer
# poll with sleeps that grow to 100 ms, so under contention (20 clients upvoting at once) a write that needs a
# millisecond waited tens or hundreds; threads queued on a lock are woken the moment it is free. Writers of
# other processes still meet at SQLite's lock, with the busy timeout.
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine):
    if engine.dialect.name != "sqlite":
        return nullcontext()
    name = engine.url.database or ":memory:"
    lock = _SQLITE_WRITERS.get(name)
    if lock is None:
        with _SQLITE_WRITERS_GUARD:
            # Two spellings of one file share a lock: resolved once, not on every write.
            real = str(Path(name).expanduser().resolve())
            lock = _SQLITE_WRITERS.setdefault(real, _SQLITE_WRITERS.get(name) or threading.RLock())
            _SQLITE_WRITERS[name] = lock
    return lock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for writes: commits on success, rolls back on error, always closes.

    On SQLite it takes the write lock up front (BEGIN IMMEDIATE, see the "begin" listener above), after
    queueing behind this process's other writers of the same file.
    """
    with _writer_lock(engine):
        conn = engine.connect()
        conn.info["write"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.close()


@contextmanager
def write_transaction_on(conn: Connection) -> Iterator[Connection]:
    """`write_transaction` on a connection the caller keeps open across many of them (and closes): a digest
    sender commits every message's outcome on its own, and sparing a pool checkout each time is worth it.

    As `write_transaction`: queued behind this process's other writers of the same SQLite file, BEGIN
    IMMEDIATE there, committed on success, rolled back on error; the connection stays open either way.
    """
    with _writer_lock(conn.engine):
        conn.info["write"] = True
        with conn.begin():
            yield conn


def read_connection(engine: Engine) -> Connection:
    """A connection for a single-statement read (use it in a `with`): on PostgreSQL in autocommit, which
    spares the BEGIN and ROLLBACK round trips around the statement. For the lookups behind every request
    (the session or API token, the page cache's snapshot); several statements that must agree with one
    another want a transaction: `engine.connect()`."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


# The databases make_engine serves, by SQLAlchemy dialect name.
DIALECTS = ("sqlite", "postgresql")


def conflict_insert(dialect: str, table: Table):
    """An INSERT into `table` that takes ON CONFLICT clauses: SQLAlchemy has one construct per dialect, and
    the two spell the clauses alike."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def display_url(url: str) -> str:
    """The database URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def search_index_dir(settings: Settings) -> Path:
    """`index_dir`, or its default for this database (never shared by two databases): beside a SQLite file,
    else under the data directory, named by a hash of the URL without its password (so an existing
    deployment's index stays where it is)."""
    if settings.index_dir is not None:
        return Path(settings.index_dir).expanduser()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database).expanduser()
        return database.with_name(f"{database.stem}-index")
    digest = hashlib.sha256(display_url(settings.database_url).encode()).hexdigest()[:12]
    return default_data_dir() / "index" / digest


def alembic_config(settings: Settings):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to `revision` (a deploy step: never done silently at import)."""
    from alembic import command

    command.upgrade(alembic_config(settings), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
