"""Shared by the benchmark scripts: the corpus, throw-away databases, subprocess environments, tables."""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DAILYPAPERS_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "data" / "papers.jsonl.gz"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The caller's environment without any DAILYPAPERS_*, plus a production configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["DAILYPAPERS_ENVIRONMENT"] = "production"
    env["DAILYPAPERS_SECRET_KEY"] = secrets.token_urlsafe(32)
    if database_url is not None:
        env["DAILYPAPERS_DATABASE_URL"] = database_url
    env.update(extra)
    return env


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    """A SQLite URL to a file in a new temporary folder, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def fresh_postgres(server_url: str, prefix: str = "dailypapers_bench") -> Iterator[str]:
    """A new, empty database on the server of `server_url` (any of its databases will do); dropped after."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
