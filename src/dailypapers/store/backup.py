"""Backups of the database, taken while the site runs, and their restore.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the database in one step, inside one read
transaction: in WAL mode writers go on meanwhile, and the copy is the database as of one moment, every
transaction in it whole or absent. PostgreSQL: `pg_dump --format=custom` (one snapshot, like the above) and
`pg_restore`, the server's own tools; they must be installed where the command runs (Debian package
postgresql-client).

What is derived from the database (the search indexes) is not backed up: after a restore it is rebuilt.
A backup file is written under a temporary name and renamed when complete, so a file with the final name is
always a whole backup.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from dailypapers.store.engine import parse_url


class BackupError(Exception):
    """A backup or restore that cannot be done, with a message for the operator."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(url.database).expanduser()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq (pg_dump, pg_restore) reads it, without SQLAlchemy's `+driver`, and the environment
    to run them in: the password goes in PGPASSWORD, never on a command line other users can list."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed here; install the PostgreSQL client tools (Debian: postgresql-client) "
            "of the server's major version or newer"
        )
    return path


def _run(command: list[str], what: str, env: dict[str, str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        # The tools' own message; the URL (with its password) is never part of it.
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def default_name(database_url: str, stamp: str) -> str:
    """The file name of a backup taken at `stamp` (YYYYmmddTHHMMSS): `.db` for SQLite, `.dump` otherwise."""
    backend = parse_url(database_url).get_backend_name()
    return f"dailypapers-{stamp}.{'db' if backend == 'sqlite' else 'dump'}"


def backup(database_url: str, dest: Path) -> Path:
    """Write a backup of the database to the file `dest`; returns it. Refuses to overwrite a file."""
    url = parse_url(database_url)
    if dest.exists():
        raise BackupError(f"{dest} exists; give a new file name (a backup never overwrites one)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            source_path = _sqlite_path(url)
            if not source_path.exists():
                raise BackupError(f"there is no database at {source_path}")
            source = _read_only(source_path)
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # pages=-1: all at once, one consistent snapshot
                if target.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise BackupError("the copy failed its integrity check")
            finally:
                target.close()
                source.close()
        elif url.get_backend_name() == "postgresql":
            target, env = _libpq(url)
            _run(
                [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), target],
                "pg_dump",
                env,
            )
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def restore(source: Path, database_url: str, *, replace: bool = False) -> None:
    """Restore the backup file `source` into the database. An existing SQLite file, or a PostgreSQL database
    holding tables, is replaced only with `replace=True` (stop the site first)."""
    url = parse_url(database_url)
    if not source.is_file():
        raise BackupError(f"there is no backup file at {source}")
    if url.get_backend_name() == "sqlite":
        target_path = _sqlite_path(url)
        try:
            backup_db = _read_only(source)
            ok = backup_db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        if not ok:
            backup_db.close()
            raise BackupError(f"{source} fails SQLite's integrity check")
        if target_path.exists() and not replace:
            backup_db.close()
            raise BackupError(f"{target_path} exists; restore into a new location, or pass --replace")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        partial = target_path.with_name(f".{target_path.name}.restoring")
        partial.unlink(missing_ok=True)
        try:
            target = sqlite3.connect(partial)
            try:
                backup_db.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
            finally:
                target.close()
                backup_db.close()
            for stale in ("-wal", "-shm"):  # the old file's journal must not be replayed onto the new one
                Path(f"{target_path}{stale}").unlink(missing_ok=True)
            os.replace(partial, target_path)
        finally:
            partial.unlink(missing_ok=True)
        return
    if url.get_backend_name() == "postgresql":
        from sqlalchemy import create_engine, inspect

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
        finally:
            engine.dispose()
        if tables and not replace:
            raise BackupError("the database holds tables; restore into an empty database, or pass --replace")
        command = [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
        if tables:
            command += ["--clean", "--if-exists"]
        target, env = _libpq(url)
        _run([*command, "--dbname", target, str(source)], "pg_restore", env)
        return
    raise BackupError(f"cannot restore into a {url.get_backend_name()} database")
