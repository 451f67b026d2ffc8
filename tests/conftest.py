"""Shared fixtures: real databases (SQLite files and a real PostgreSQL server), the app, a live server.

PostgreSQL: each test session creates its own database on the server named by
DAILYPAPERS_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1/postgres) and drops it at the
end. In CI (CI=true) an unreachable server fails the run instead of skipping those tests.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dailypapers.importers.files import import_file
from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine, upgrade
from dailypapers.store.papers import SqlStore

ROOT = Path(__file__).resolve().parent.parent
# Recorded payloads and the first lines of the real corpus, committed (scripts/make_test_fixtures.py).
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus" / "papers.jsonl.gz"
DEMO_DATA = ROOT / "src" / "dailypapers" / "data" / "demo.jsonl.gz"
POSTGRES_ADMIN_URL = os.environ.get(
    "DAILYPAPERS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)


@pytest.fixture(scope="session")
def postgres_server_url():
    """A fresh PostgreSQL database for this test session (worker), dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dailypapers_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database: every test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_server_url")
        _reset_postgres(url)
    upgrade(make_settings(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request, tmp_path):
    """An empty database with no migration applied yet, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'unmigrated.db'}"
    url = request.getfixturevalue("postgres_server_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(make_settings(url))
    return url


def make_settings(url: str, **overrides) -> Settings:
    return Settings(
        environment="test", secret_key="test-secret-key-0123456789", database_url=url, **overrides
    )


@pytest.fixture
def settings(database_url):
    return make_settings(database_url)


@pytest.fixture
def store(settings):
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    yield store
    store.engine.dispose()


@pytest.fixture
def demo_store(store):
    """The store with the bundled demo slice imported."""
    import_file(store, DEMO_DATA)
    return store


@pytest.fixture
def client(settings, demo_store):
    """An in-process client of the app over the demo slice."""
    from fastapi.testclient import TestClient

    from dailypapers.web.app import create_app

    with TestClient(create_app(settings, store=demo_store)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving the app in a background thread on a free port."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from dailypapers.web.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = settings.model_copy(update={"base_url": self.url})
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory):
    """A real HTTP server over the demo slice on SQLite (module-scoped: it is read-only)."""
    path = tmp_path_factory.mktemp("live") / "demo.db"
    settings = make_settings(f"sqlite:///{path}")
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    import_file(store, DEMO_DATA)
    store.engine.dispose()
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free loopback port; `smtp_sink.url` is a DAILYPAPERS_SMTP_URL for it."""
    from smtp_support import start_sink

    port = free_port()
    sink, controller = start_sink(port)
    sink.url = f"smtp://127.0.0.1:{port}"
    yield sink
    controller.stop()
