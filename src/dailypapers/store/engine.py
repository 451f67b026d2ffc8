"""Engines for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL, the database URL (shown without its
password, the default search index dir), and migrations."""

from __future__ import annotations

import fcntl
import hashlib
import os
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
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidatePoolError, OperationalError

from dailypapers.settings import Settings, default_data_dir

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def parse_url(database_url: str):
    """The settings' database URL, with `postgresql://` meaning the psycopg driver (the one installed;
    SQLAlchemy's own default for that scheme is psycopg2)."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(settings: Settings) -> Engine:
    url = parse_url(settings.database_url)
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
        _configure_writers(engine, settings)

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


class StoreUnavailable(Exception):
    """The database cannot take this write now: it is full, read-only, gone, or (DatabaseBusy) held by
    another writer for longer than we wait. Callers answer 503 with `retry_after` and keep serving reads."""

    retry_after = 30

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseBusy(StoreUnavailable):
    retry_after = 2


# SQLite's messages and PostgreSQL's SQLSTATE classes that say "not now" rather than "wrong".
_SQLITE_BUSY = ("database is locked", "database table is locked")
_SQLITE_UNAVAILABLE = {
    "database or disk is full": "The database's disk is full: nothing can be saved until space is freed.",
    "readonly database": "The database is read-only just now: nothing can be saved.",
    "disk i/o error": "The database's disk failed to write: nothing was saved.",
    "unable to open database file": "The database file cannot be opened for writing.",
}
_PG_BUSY = ("55P03", "40001", "40P01")  # lock not available, serialization failure, deadlock
_PG_UNAVAILABLE = ("53", "57", "08", "25006")  # resources (disk full), shutdown, connection, read-only


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """What a driver error means for whoever waits, when it is a "not now" (busy, full, read-only, gone);
    None for errors that are bugs or bad input."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if not isinstance(exc, DBAPIError):
        return None
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code:
        if code in _PG_BUSY:
            return DatabaseBusy("The database is busy; try again in a moment.")
        if code.startswith(_PG_UNAVAILABLE):
            return StoreUnavailable("The database cannot save anything just now; try again later.")
        return None
    text = str(original).lower()
    if any(marker in text for marker in _SQLITE_BUSY):
        return DatabaseBusy("The database is busy; try again in a moment.")
    for marker, message in _SQLITE_UNAVAILABLE.items():
        if marker in text:
            return StoreUnavailable(message)
    return None


class _WriterGate:
    """The writers of one SQLite file in this process, queued on a lock of their own before SQLite's.

    SQLite's busy handler makes a waiting writer poll with sleeps that grow to 100 ms, so under contention
    (20 clients upvoting at once) a write that needs a millisecond waited tens or hundreds; threads queued on
    a lock are woken the moment it is free. Writers of other processes still meet at SQLite's lock, with the
    busy timeout. The wait is bounded twice: at most `max_waiting` writers queue (the others fail at once),
    and none waits longer than `wait_seconds`; so when something holds the database for long (another
    process's long transaction), writers fail fast with DatabaseBusy and the web server's threads stay free
    for readers, which WAL never makes wait."""

    def __init__(self, wait_seconds: float, max_waiting: int, lock_path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.wait_seconds = wait_seconds
        self.seats = threading.BoundedSemaphore(max_waiting)
        self.depth = threading.local()  # a thread already holding the lock re-enters without a seat
        self.across = _FileLock(lock_path) if lock_path is not None else None

    @contextmanager
    def held(self) -> Iterator[None]:
        depth = getattr(self.depth, "n", 0)
        if depth:
            self.depth.n = depth + 1
            try:
                yield
            finally:
                self.depth.n = depth
            return
        if not self.seats.acquire(blocking=False):
            raise DatabaseBusy("The database is busy (too many writes waiting); try again in a moment.")
        try:
            deadline = time.monotonic() + self.wait_seconds
            if not self.lock.acquire(timeout=self.wait_seconds):
                raise DatabaseBusy("The database is busy; try again in a moment.")
            try:
                if self.across is not None and not self.across.acquire(deadline):
                    raise DatabaseBusy("The database is busy; try again in a moment.")
                self.depth.n = 1
                try:
                    yield
                finally:
                    self.depth.n = 0
                    if self.across is not None:
                        self.across.release()
            finally:
                self.lock.release()
        finally:
            self.seats.release()


class _FileLock:
    """The writers of all processes of one machine on one SQLite file, queued on a lock file beside it.

    Without it two web processes (`serve --workers 2`) meet at SQLite's own lock, whose busy handler sleeps
    1, 2, 5 ... 100 ms between tries: a write of a millisecond waited tens. Here one thread per process (the
    gate's holder) tries an flock every fraction of a millisecond instead. Best effort: where the lock file
    cannot be made (a read-only folder), SQLite's lock alone decides, as before."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def _open(self) -> int | None:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                return None
        return self.fd

    def acquire(self, deadline: float) -> bool:
        fd = self._open()
        if fd is None:
            return True
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


_SQLITE_WRITERS: dict[str, _WriterGate] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _configure_writers(engine: Engine, settings: Settings) -> None:
    """The gate of this engine's SQLite file, made (or re-tuned) from settings."""
    name = engine.url.database or ":memory:"
    real = str(Path(name).expanduser().resolve()) if name != ":memory:" else name
    with _SQLITE_WRITERS_GUARD:
        gate = _SQLITE_WRITERS.get(real)
        if gate is None:
            plain_file = real != ":memory:" and not name.startswith("file:")  # not a URI with options
            lock_path = Path(f"{real}.writers-lock") if plain_file else None
            gate = _WriterGate(
                settings.sqlite_write_wait_seconds, settings.sqlite_max_waiting_writers, lock_path
            )
            _SQLITE_WRITERS[real] = gate
        else:  # one process, one deployment's settings: the latest engine's wait applies
            gate.wait_seconds = settings.sqlite_write_wait_seconds
        # Two spellings of one file share a gate: resolved once here, not on every write.
        _SQLITE_WRITERS[name] = gate


def _writer_gate(engine: Engine):
    if engine.dialect.name != "sqlite":
        return nullcontext()
    name = engine.url.database or ":memory:"
    gate = _SQLITE_WRITERS.get(name)
    if gate is None:  # an engine not made by make_engine (a test's, a migration's): default bounds
        with _SQLITE_WRITERS_GUARD:
            gate = _SQLITE_WRITERS.setdefault(name, _WriterGate(DEFAULT_WRITE_WAIT_SECONDS, DEFAULT_WAITING))
    return gate.held()


DEFAULT_WRITE_WAIT_SECONDS = 5.0
DEFAULT_WAITING = 64


@contextmanager
def _translated() -> Iterator[None]:
    """Driver errors that mean "not now" become StoreUnavailable / DatabaseBusy; the rest pass unchanged."""
    try:
        yield
    except DBAPIError as exc:
        meaning = unavailable(exc)
        if meaning is None:
            raise
        raise meaning from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for writes: commits on success, rolls back on error, always closes.

    On SQLite it takes the write lock up front (BEGIN IMMEDIATE, see the "begin" listener above), after
    queueing (boundedly: DatabaseBusy) behind this process's other writers of the same file. A full disk, a
    read-only database or a lost server raise StoreUnavailable.
    """
    with _translated(), _writer_gate(engine):
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
    with _translated(), _writer_gate(conn.engine):
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
