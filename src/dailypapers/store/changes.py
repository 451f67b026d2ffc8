"""Has the database changed since I last looked? A counter that moves with every commit by anyone (this
process, `dailypapers import` in a cron job, another web worker), for caches that must never serve a page
built before a change (dailypapers.web.cache):

- SQLite: `PRAGMA data_version` on a connection of our own that never writes; it changes whenever any other
  connection commits (about 8 µs a request).
- PostgreSQL: a count of this database's commits, heard without a round trip: statement-level triggers on
  every table (`install_change_triggers`, run by `dailypapers db upgrade`) `NOTIFY dailypapers_changes`,
  delivered at commit and only to listeners of this database; one listening connection per process counts
  them in a thread (`PostgresNotifications`). This process's own commits count the moment their connection
  goes back to the pool, so a reader never gets the page from before its own write. While the listener is not
  listening (starting, or its connection lost) every call returns a new value: nothing is served from the
  cache then, rather than something stale. A database upgraded without the triggers falls back to the
  server's snapshot (`PostgresSnapshot`: one round trip a request, and any database of the server counts).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections.abc import Hashable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, event, inspect, text

from dailypapers.store.engine import read_connection


class ChangeSignal(Protocol):
    """Calling it returns the database's change counter: equal values, no commit in between."""

    blocking: bool  # True: it waits on the network, call it off the event loop

    def __call__(self) -> Hashable: ...

    def close(self) -> None: ...


class SqliteDataVersion:
    """`PRAGMA data_version` of a read-only connection that is ours alone."""

    blocking = False  # a few microseconds: read on the event loop

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            if self._conn is None:
                uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_SNAPSHOT = text("SELECT pg_current_snapshot()::text")


class PostgresSnapshot:
    """The server's current snapshot: it changes with every commit, and with nothing that only reads."""

    blocking = True  # a network round trip: read in a worker thread

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> str:
        with read_connection(self.engine) as conn:
            return conn.execute(_SNAPSHOT).scalar_one()

    def close(self) -> None:
        pass


CHANNEL = "dailypapers_changes"
# Tables whose writes change no page: a rate limit's counter moves on every sign-in attempt.
QUIET_TABLES = frozenset({"rate_limits", "alembic_version"})
_TRIGGER = "dailypapers_changes"
_FUNCTION = text(
    "CREATE OR REPLACE FUNCTION dailypapers_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$"
)
# Tables that lack the trigger (a database upgraded some other way): the listener will not trust NOTIFY then.
# (psycopg's own placeholders: the listener speaks to the driver directly, off the pool.)
_UNWATCHED = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname <> ALL(%(quiet)s) "
    "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %(trigger)s)"
)
log = logging.getLogger(__name__)


def install_change_triggers(conn: Connection) -> int:
    """On PostgreSQL, make every table (but the quiet ones) notify CHANNEL when a statement writes it.
    Alembic's environment runs it in the transaction of every upgrade, so tables that later migrations add are
    covered too. Idempotent. Returns the number of tables covered (0 on SQLite, whose data_version needs no
    help)."""
    if conn.dialect.name != "postgresql":
        return 0
    conn.execute(_FUNCTION)
    names = [n for n in inspect(conn).get_table_names() if n not in QUIET_TABLES]
    for name in names:
        table = conn.dialect.identifier_preparer.quote(name)
        conn.execute(
            text(
                f"CREATE OR REPLACE TRIGGER {_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_notify_change()"
            )
        )
    return len(names)


class PostgresNotifications:
    """This database's commits, counted from NOTIFY by a listening thread: reading it costs no round trip."""

    # Each connection we listen on gets a new generation: what was counted before it cannot be trusted.
    def __init__(self, engine: Engine, health_seconds: float = 5.0) -> None:
        self.engine = engine
        self.health_seconds = health_seconds
        self._snapshot = PostgresSnapshot(engine)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening = False
        self._untrusted = False  # the triggers are missing: use the snapshot
        self._generation = 0
        self._heard = 0
        self._ours = 0
        # A channel of this listener alone: `close` notifies it so the thread stops now rather than at the end
        # of its wait (a process stopping, a test's app closing: seconds each otherwise).
        self._wake_channel = f"dailypapers_wake_{uuid.uuid4().hex[:16]}"
        event.listen(engine, "commit", self._committing)
        event.listen(engine, "checkin", self._returned)

    @property
    def blocking(self) -> bool:
        return self._untrusted  # only the snapshot's fallback waits on the network

    @property
    def listening(self) -> bool:
        return self._listening

    def __call__(self) -> Hashable:
        if self._thread is None:
            self._start()
        if self._untrusted:
            return self._snapshot()
        with self._lock:
            if not self._listening:
                return object()  # equal to nothing: no page is kept or served meanwhile
            return (self._generation, self._heard, self._ours)

    def _committing(self, conn) -> None:
        conn.connection.info["dp_committed"] = True

    def _returned(self, _dbapi_connection, record) -> None:
        # After the commit has reached the server, before the writer's response leaves: read-your-writes.
        if record.info.pop("dp_committed", False):
            with self._lock:
                self._ours += 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="dp-change-listener", daemon=True)
                self._thread.start()

    def _dsn(self) -> str:
        """The engine's database as psycopg takes it (the listener speaks to the driver, off the pool)."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _connect(self):
        import psycopg

        # Keepalives: a cut network is noticed in about 20 s rather than never (the page cache trusts us).
        return psycopg.connect(
            self._dsn(),
            autocommit=True,
            application_name="dailypapers-changes",  # what pg_stat_activity shows for it
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=5,
            keepalives_count=3,
        )

    def _listen(self) -> None:
        import psycopg

        backoff = 0.2
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    unwatched = [
                        r[0]
                        for r in conn.execute(_UNWATCHED, {"quiet": list(QUIET_TABLES), "trigger": _TRIGGER})
                    ]
                    if unwatched:
                        log.warning(
                            "tables without the change trigger (%s): the page cache asks the server instead; "
                            "run `dailypapers db upgrade`",
                            ", ".join(sorted(unwatched)[:5]),
                        )
                        self._untrusted = True
                        return
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {self._wake_channel}")
                    with self._lock:
                        self._generation += 1
                        self._listening = True
                    backoff = 0.2
                    while not self._stop.is_set():
                        heard = False
                        # Counted as each arrives: a page cached before another process's commit must not
                        # be served after it.
                        for note in conn.notifies(timeout=self.health_seconds):
                            if note.channel != CHANNEL:
                                break  # woken by `close`
                            heard = True
                            with self._lock:
                                self._heard += 1
                        if not heard and not self._stop.is_set():
                            conn.execute("SELECT 1")  # a quiet minute, or a dead server? Ask.
            except psycopg.Error as exc:
                log.warning("change listener: %s; listening again in %.1f s", exc, backoff)
            finally:
                with self._lock:
                    self._listening = False
                    self._generation += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _wake(self) -> None:
        """Interrupt the listener's wait; if the server cannot be reached the join below waits it out."""
        import psycopg

        try:
            with psycopg.connect(self._dsn(), autocommit=True, connect_timeout=2) as conn:
                conn.execute(f"NOTIFY {self._wake_channel}")
        except psycopg.Error as exc:
            log.debug("could not wake the change listener: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            if self._thread.is_alive() and self._listening:
                self._wake()
            self._thread.join(timeout=self.health_seconds + 1)
        for name, fn in (("commit", self._committing), ("checkin", self._returned)):
            if event.contains(self.engine, name, fn):
                event.remove(self.engine, name, fn)


def change_signal(engine: Engine) -> ChangeSignal | None:
    """How to tell that this engine's database changed; None when there is no such thing (an in-memory or
    URI-named SQLite database)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return SqliteDataVersion(url.database)
    if url.get_backend_name() == "postgresql":
        return PostgresNotifications(engine)
    return None
