"""Shared fixtures: real databases (SQLite files and a real PostgreSQL server), the app, a live server.

PostgreSQL: each test session (xdist worker) creates its databases on the server named by
DAILYPAPERS_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1/postgres): its own, its
templates and a copy per test, and drops them. In CI (CI=true) an unreachable server fails the run instead of
skipping those tests.

Data: recorded payloads and a slice of the real corpus in tests/fixtures (scripts/make_test_fixtures.py), the
bundled demo slice; nothing outside the repository.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dailypapers.importers.files import import_file
from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine, search_index_dir, upgrade
from dailypapers.store.papers import SqlStore

ROOT = Path(__file__).resolve().parent.parent
# Recorded payloads and the first lines of the real corpus, committed (scripts/make_test_fixtures.py).
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus" / "papers.jsonl.gz"
DEMO_DATA = ROOT / "src" / "dailypapers" / "data" / "demo.jsonl.gz"
POSTGRES_ADMIN_URL = os.environ.get(
    "DAILYPAPERS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)


@pytest.fixture(scope="session", autouse=True)
def _data_home(tmp_path_factory):
    """The user's data directory is a temporary one: derived search indexes of PostgreSQL databases (whose
    default place is `<data dir>/index/<hash of the URL>`) and the CLI's defaults never land in the real one.
    Child processes inherit it, and the search warm-up left off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
        # Apps the tests start do not load the embedding model while starting (seconds of CPU each); the
        # tests of that warm-up turn it on themselves, and the browser tests' `dailypapers demo` does it.
        patch.setenv("DAILYPAPERS_SEARCH_WARMUP", "false")
        # One thread per model: two xdist workers each running torch on every core oversubscribe two cores,
        # and a batch that takes two seconds alone then took thirty.
        patch.setenv("DAILYPAPERS_EMBEDDING_THREADS", "1")
        # An app per test: freezing the heap at each start would keep earlier tests' garbage for good.
        patch.setenv("DAILYPAPERS_WEB_GC_FREEZE", "false")
        yield


# argon2id at the library's parameters costs about 90 ms a hash here, and the suite signs people up and in
# hundreds of times. In-process tests hash with the same algorithm at its cheapest parameters (as Django's and
# Warehouse's test settings do); the test of the production parameters asks for them (`real_argon2`), and the
# demo and other commands the tests start run with the real ones.
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2():
    from argon2 import PasswordHasher

    from dailypapers.accounts import credentials

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "_hasher", PasswordHasher(**CHEAP_ARGON2))
        yield


@pytest.fixture
def real_argon2(monkeypatch):
    """The production hasher, for the test that checks its parameters."""
    from argon2 import PasswordHasher

    from dailypapers.accounts import credentials

    monkeypatch.setattr(credentials, "_hasher", PasswordHasher())


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


# -- template databases --------------------------------------------------------------------------------------
#
# Migrating a database and importing the demo slice into it take a second or more; most tests want exactly
# that as their starting point. So each such starting point is built once per session (per xdist worker) as a
# template, and every test gets a copy of its own to write to: a copied file on SQLite, `CREATE DATABASE ...
# TEMPLATE` on PostgreSQL.


def import_demo(settings: Settings) -> None:
    store = SqlStore(make_engine(settings))
    try:
        import_file(store, DEMO_DATA)
    finally:
        store.engine.dispose()


@dataclass(frozen=True)
class Template:
    """A starting point for tests: a migrated database filled by `build(settings)` (None: left empty), with
    any search indexes it builds in `settings.index_dir`. `build` disposes every engine it makes."""

    name: str
    build: Callable[[Settings], None] | None = None


EMPTY = Template("empty")
DEMO = Template("demo", import_demo)


class Templates(ABC):
    """The template databases of one kind (SQLite or PostgreSQL) of this session, built on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._built: dict[str, tuple[Template, Settings]] = {}

    def copy(self, template: Template, folder: Path, filename: str = "test.db") -> str:
        """A new database with the content of `template` (its URL); its search indexes, if it has any, are
        copied to `folder / "index"`. `filename` names the SQLite file in `folder`."""
        if template.name not in self._built:
            self._built[template.name] = (template, self._build(template))
        made_from, built = self._built[template.name]
        assert made_from == template, f"two templates named {template.name!r}"
        url = self._clone(built.database_url, folder / filename)
        if search_index_dir(built).exists():
            shutil.copytree(search_index_dir(built), folder / "index")
        return url

    def _build(self, template: Template) -> Settings:
        url = self._create(template.name)
        settings = make_settings(url, index_dir=self.folder / f"{template.name}-index")
        upgrade(settings)
        if template.build is not None:
            template.build(settings)
        self._seal(url)
        return settings

    @abstractmethod
    def _create(self, name: str) -> str:
        """A new empty database for the template `name` (its URL)."""

    @abstractmethod
    def _seal(self, url: str) -> None:
        """Make the built template ready to be copied."""

    @abstractmethod
    def _clone(self, template_url: str, path: Path) -> str:
        """A copy of the template (its URL); `path` is where a file copy goes."""

    @abstractmethod
    def drop(self, url: str) -> None:
        """Remove a copy made by `copy`."""


class SqliteTemplates(Templates):
    def _create(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"

    def _seal(self, url: str) -> None:
        # Everything into the main file (the engines are closed, so nothing is written after), so that a
        # copy of that one file is the whole database.
        path = make_url(url).database
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ("-wal", "-journal"):
            leftover = Path(path + suffix)
            assert not leftover.exists() or leftover.stat().st_size == 0, leftover

    def _clone(self, template_url: str, path: Path) -> str:
        shutil.copyfile(make_url(template_url).database, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        pass  # the copy lives in the test's own temporary folder


DROPPERS = 4


class PostgresTemplates(Templates):
    """Templates are databases named after this session's own, closed to connections once built (CREATE
    DATABASE ... TEMPLATE needs a template nobody is connected to); each copy is dropped after its test.

    Copying takes about half a second and dropping as long again (PostgreSQL checkpoints at every DROP
    DATABASE), so two helper threads do both while tests run: one keeps a copy of each template made ahead,
    the other drops the copies that tests are done with."""

    def __init__(self, folder: Path, server_url: str) -> None:
        super().__init__(folder)
        self.server_url = make_url(server_url)
        self.admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.copies = itertools.count(1)
        self.ready: dict[str, queue.Queue[str | BaseException]] = {}  # template -> copies made ahead
        self.makes: queue.SimpleQueue[str | None] = queue.SimpleQueue()  # templates to copy
        self.drops: queue.SimpleQueue[str | None] = queue.SimpleQueue()  # copies to drop
        self.failures: list[BaseException] = []
        # Several droppers: each DROP DATABASE waits for a checkpoint, and drops waiting together share one.
        work = [(self.makes, self._make_ahead)] + [(self.drops, self._drop_now)] * DROPPERS
        self.helpers = [threading.Thread(target=self._work, args=w, daemon=True) for w in work]
        for helper in self.helpers:
            helper.start()

    @staticmethod
    def _work(jobs: queue.SimpleQueue[str | None], job: Callable[[str], None]) -> None:
        while (name := jobs.get()) is not None:
            job(name)

    def _admin(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(statement)

    def _url(self, database: str) -> str:
        return self.server_url.set(database=database).render_as_string(hide_password=False)

    def _create(self, name: str) -> str:
        database = f"{self.server_url.database}_t_{name}"
        self._admin(f'CREATE DATABASE "{database}"')
        return self._url(database)

    def _seal(self, url: str) -> None:
        self._admin(f'ALTER DATABASE "{make_url(url).database}" WITH ALLOW_CONNECTIONS false')

    def _make_ahead(self, template: str) -> None:
        database = f"{self.server_url.database}_{next(self.copies)}"
        try:
            self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        except BaseException as exc:  # handed to the test waiting for this copy
            self.ready[template].put(exc)
        else:
            self.ready[template].put(database)

    def _clone(self, template_url: str, path: Path) -> str:
        template = make_url(template_url).database
        if template not in self.ready:
            self.ready[template] = queue.Queue()
            self.makes.put(template)
        made = self.ready[template].get(timeout=300)
        if isinstance(made, BaseException):
            raise made
        self.makes.put(template)  # for the next test
        return self._url(made)

    def _drop_now(self, database: str) -> None:
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        except BaseException as exc:
            self.failures.append(exc)

    def drop(self, url: str) -> None:
        self.drops.put(make_url(url).database)

    def close(self) -> None:
        for jobs in [self.makes] + [self.drops] * DROPPERS:
            jobs.put(None)
        for helper in self.helpers:
            helper.join()
        leftovers = [d for ready in self.ready.values() for d in ready.queue if isinstance(d, str)]
        for database in leftovers + [make_url(s.database_url).database for _t, s in self._built.values()]:
            self._drop_now(database)
        self.admin.dispose()
        if self.failures:
            raise self.failures[0]


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def postgresql_templates(tmp_path_factory, postgres_server_url):
    templates = PostgresTemplates(tmp_path_factory.mktemp("templates"), postgres_server_url)
    yield templates
    templates.close()


def default_template(request: pytest.FixtureRequest) -> Template:
    """The demo slice for tests that use `demo_store`, else an empty database."""
    return DEMO if "demo_store" in request.fixturenames else EMPTY


@pytest.fixture
def database_template(request) -> Template:
    """What `database_url` starts from (`default_template`). A module overrides it to start some of its tests
    from data of its own, built once."""
    return default_template(request)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, database_template):
    """A migrated database of this test's own (a copy of `database_template`): every test using it runs once
    on SQLite and once on PostgreSQL."""
    templates = request.getfixturevalue(f"{request.param}_templates")
    url = templates.copy(database_template, tmp_path)
    yield url
    templates.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request, tmp_path):
    """An empty database with no migration applied yet, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'unmigrated.db'}"
    url = request.getfixturevalue("postgres_server_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_templates):
    """A migrated, empty SQLite database of this test's own."""
    return sqlite_templates.copy(EMPTY, tmp_path)


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
    if not store.count_papers():  # a module's own `store`, not one on a copy of the demo template
        import_file(store, DEMO_DATA)
    return store


@pytest.fixture
def client(settings, demo_store):
    """An in-process client of the app over the demo slice."""
    from fastapi.testclient import TestClient

    from dailypapers.web.app import create_app

    with TestClient(create_app(settings, store=demo_store)) as test_client:
        yield test_client


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reader(request, tmp_path_factory):
    """An in-process client of the app over the demo slice, shared by the tests of a module that only read:
    one app and one database copy per module and database rather than per test (an app's first request
    prepares its 150 routes, a tenth of a second)."""
    from fastapi.testclient import TestClient

    from dailypapers.web.app import create_app

    templates = request.getfixturevalue(f"{request.param}_templates")
    url = templates.copy(DEMO, tmp_path_factory.mktemp("reader"))
    settings = make_settings(url)
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    try:
        with TestClient(create_app(settings, store=store)) as test_client:
            yield test_client
    finally:
        store.engine.dispose()
        templates.drop(url)


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
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
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
def live_demo(tmp_path_factory, sqlite_templates):
    """A real HTTP server over the demo slice on SQLite (module-scoped: it is read-only)."""
    url = sqlite_templates.copy(DEMO, tmp_path_factory.mktemp("live"), "demo.db")
    with LiveServer(make_settings(url)) as server:
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
