"""The store modules that search, ingestion, the rate limits and the page cache ask, on SQLite and PostgreSQL:
the search state, embeddings and search documents, the ingestion runs log, rate-limit counters, the change
signal, and the database URL's display and index directory."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from conftest import EMPTY, make_settings
from dailypapers.records import PaperRecord
from dailypapers.settings import default_data_dir
from dailypapers.store.changes import (
    QUIET_TABLES,
    PostgresNotifications,
    SqliteDataVersion,
    change_signal,
)
from dailypapers.store.embeddings import NewEmbedding, SqlEmbeddings
from dailypapers.store.engine import display_url, make_engine, search_index_dir, write_transaction
from dailypapers.store.ingest_runs import AlreadyRunning, RunCounts, SqlIngestRuns
from dailypapers.store.papers import SqlStore
from dailypapers.store.rate_limits import SqlRateLimits, count_hit
from dailypapers.store.search_documents import SqlSearchDocuments
from dailypapers.store.search_state import SqlSearchState


def paper(arxiv_id: str, title: str = "A title", day: date | None = None) -> PaperRecord:
    return PaperRecord(
        arxiv_id=arxiv_id,
        title=title,
        abstract=f"The abstract of {arxiv_id}.",
        authors=["Ann Author"],
        categories=["cs.CL"],
        published_at=datetime(2026, 3, 2, tzinfo=UTC),
        daily_date=day,
    )


def ids_of(store: SqlStore, *arxiv_ids: str) -> list[int]:
    return [store.get(a).id for a in arxiv_ids]


# -- search state ------------------------------------------------------------------------------------------


def test_search_state_put_replaces_put_if_absent_keeps_the_first(store):
    state = SqlSearchState(store.engine)
    assert state.get("active_model") is None
    state.put("active_model", "a")
    state.put("active_model", "b")
    assert state.get("active_model") == "b"
    state.put_if_absent("index_id", "first")
    state.put_if_absent("index_id", "second")
    assert state.get("index_id") == "first"


# -- embeddings ----------------------------------------------------------------------------------------------


def test_embeddings_missing_added_and_kept_by_model(store):
    store.upsert([paper(f"2603.0000{n}") for n in range(1, 6)])
    first, second, third, *_ = ids_of(store, *(f"2603.0000{n}" for n in range(1, 6)))
    vectors = SqlEmbeddings(store.engine)
    assert vectors.count_missing("m") == 5
    assert [t.paper_id for t in vectors.missing("m", 0, 2)] == [first, second]
    assert [t.paper_id for t in vectors.missing("m", second, 10)][0] == third

    vectors.add("m", [NewEmbedding(first, b"\x01\x02", "h1"), NewEmbedding(second, b"\x03\x04", "h2")])
    vectors.add("m", [NewEmbedding(first, b"\xff\xff", "other")])  # another process got there first
    vectors.add("m", [])
    assert vectors.vector(first, "m") == b"\x01\x02"
    assert vectors.vector(first, "other model") is None
    assert vectors.count_missing("m") == 3 and vectors.count_missing("other model") == 5
    assert vectors.counts_by_model() == {"m": 2}
    assert vectors.has_any(first) and not vectors.has_any(third)
    lacking = vectors.lacking("m", ["2603.00001", "2603.00003", "2699.99999"])
    assert [(t.arxiv_id, t.paper_id) for t in lacking] == [("2603.00003", third)]
    text = vectors.paper_text(third)
    assert (text.title, text.abstract) == ("A title", "The abstract of 2603.00003.")
    assert vectors.paper_text(10**9) is None


def test_embeddings_of_a_changed_text_are_dropped(store):
    store.upsert([paper("2603.00001"), paper("2603.00002")])
    first, second = ids_of(store, "2603.00001", "2603.00002")
    vectors = SqlEmbeddings(store.engine)
    vectors.add("m", [NewEmbedding(first, b"\x00\x00", "same"), NewEmbedding(second, b"\x00\x00", "old")])
    assert vectors.drop_stale({first: "same", second: "new"}) == 1
    assert vectors.has_any(first) and not vectors.has_any(second)
    assert vectors.drop_stale({first: "same"}) == 0


def test_vectors_are_read_after_a_watermark_and_late_ones_below_it(store):
    store.upsert([paper(f"2603.0000{n}") for n in range(1, 5)])
    pids = ids_of(store, *(f"2603.0000{n}" for n in range(1, 5)))
    vectors = SqlEmbeddings(store.engine)
    vectors.add("m", [NewEmbedding(pid, bytes([n, 0]), f"h{n}") for n, pid in enumerate(pids)])
    vectors.add("other", [NewEmbedding(pids[0], b"\x09\x09", "h")])
    rows = vectors.vectors_after("m", 0, 10)
    assert [r.paper_id for r in rows] == pids and rows[2].vector == bytes([2, 0])
    assert [r.id for r in vectors.vectors_after("m", rows[1].id, 1)] == [rows[2].id]
    assert vectors.count_after("m", rows[1].id) == 2 and vectors.count_after("other", 0) == 1
    # A row the index does not know below its watermark (a late commit) is found again; known ones are not.
    known = {rows[0].id, rows[2].id}
    late = vectors.late_vectors("m", 0, rows[2].id, known)
    assert sorted(r.id for r in late) == [rows[1].id]
    assert vectors.late_vectors("m", 0, rows[-1].id, {r.id for r in rows}) == []


# -- search documents ---------------------------------------------------------------------------------------


def test_search_documents_pages_changes_and_marks(store):
    documents = SqlSearchDocuments(store.engine)
    assert documents.marks().modified_at is None and documents.marks().feed_entry_id == 0
    store.upsert([paper("2603.00001"), paper("2603.00002", day=date(2026, 3, 3)), paper("2603.00003")])
    first, second, third = ids_of(store, "2603.00001", "2603.00002", "2603.00003")
    marks = documents.marks()
    assert marks.modified_at is not None and marks.feed_entry_id > 0
    page = documents.after(0, 2)
    assert [d.paper_id for d in page] == [first, second]
    assert [d.paper_id for d in documents.after(second, 2)] == [third]
    on_feed = {d.paper_id: d.daily for d in documents.by_ids([first, second])}
    assert on_feed == {first: False, second: True}
    assert page[0].authors == ["Ann Author"] and page[0].categories == ["cs.CL"]
    assert documents.changed_ids(None, 0) == [first, second, third]
    later = marks.modified_at + timedelta(seconds=1)
    assert documents.changed_ids(later, marks.feed_entry_id) == []
    assert documents.changed_ids(later, marks.feed_entry_id - 1) == [second]  # a new feed entry


# -- the ingestion runs log ---------------------------------------------------------------------------------


def test_a_run_resumes_from_the_checkpoint_written_with_its_papers(store):
    runs = SqlIngestRuns(store.engine)
    run_id, position = runs.start("arxiv", "k", {"q": 1}, worker="here:1", alive=lambda w: False)
    assert position is None
    counts = RunCounts(pages=1, fetched=2, skipped_reasons={"bad": 1}, errors=["a note"])
    hook = runs.page_hook(run_id, "arxiv", "k", {"q": 1}, {"start": 2}, lambda upserted: counts)
    store.upsert([paper("2603.00001")], also=hook)
    assert runs.checkpoint("k") == {"start": 2}
    (checkpoint,) = runs.checkpoints()
    assert (checkpoint.harvest_key, checkpoint.source, checkpoint.run_id) == ("k", "arxiv", run_id)
    assert (checkpoint.args, checkpoint.position) == ({"q": 1}, {"start": 2})

    # A failing page rolls its checkpoint back with its papers.
    failing = runs.page_hook(run_id, "arxiv", "k", {"q": 1}, {"start": 4}, lambda upserted: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        store.upsert([paper("2603.00002")], also=failing)
    assert runs.checkpoint("k") == {"start": 2} and store.get("2603.00002") is None

    runs.finish(run_id, "interrupted", counts)
    again, position = runs.start("arxiv", "k", {"q": 1}, worker="here:2", alive=lambda w: False)
    assert position == {"start": 2}
    done = runs.page_hook(again, "arxiv", "k", {"q": 1}, None, lambda upserted: RunCounts(pages=1))
    store.upsert([], also=done)
    assert runs.checkpoint("k") is None
    latest, first = runs.recent(2)
    assert (latest.id, latest.status, latest.resumed_from, latest.worker) == (
        again,
        "running",
        {"start": 2},
        "here:2",
    )
    assert (first.status, first.fetched, first.skipped_reasons, first.errors) == (
        "interrupted",
        2,
        {"bad": 1},
        ["a note"],
    )
    assert first.finished_at is not None


def test_a_live_run_refuses_a_second_a_dead_one_is_marked_interrupted(store):
    runs = SqlIngestRuns(store.engine)
    first, _ = runs.start("hf", "k", {}, worker="here:1", alive=lambda w: False)
    with pytest.raises(AlreadyRunning, match=f"run {first}, here:1"):
        runs.start("hf", "k", {}, worker="here:2", alive=lambda w: w == "here:1")
    second, _ = runs.start("hf", "k", {}, worker="here:2", alive=lambda w: False)
    statuses = {run.id: run.status for run in runs.recent()}
    assert statuses == {first: "interrupted", second: "running"}


def test_restart_forgets_the_checkpoint(store):
    runs = SqlIngestRuns(store.engine)
    run_id, _ = runs.start("rss", "k", {}, worker="here:1", alive=lambda w: False)
    store.upsert([], also=runs.page_hook(run_id, "rss", "k", {}, {"at": 1}, lambda upserted: RunCounts()))
    runs.finish(run_id, "failed", RunCounts())
    _, position = runs.start("rss", "k", {}, worker="here:1", alive=lambda w: False, restart=True)
    assert position is None and runs.checkpoint("k") is None


# -- rate limits ---------------------------------------------------------------------------------------------


def test_a_hit_counted_inside_a_rolled_back_write_does_not_count(store):
    limits = SqlRateLimits(store.engine)
    assert limits.hit("b", "key", 60, now=120.0) == (1, 60)
    with pytest.raises(RuntimeError), write_transaction(store.engine) as conn:
        assert count_hit(conn, "b", "key", 60, now=121.0).hits == 2
        raise RuntimeError("the write it limits failed")
    count = limits.hit("b", "key", 60, now=150.5)
    assert (count.hits, count.retry_after) == (2, 30)


# -- the change signal ---------------------------------------------------------------------------------------


def _settled(signal, seconds: float = 5.0):
    """The signal's value once its listener listens and has heard what was already sent."""
    deadline = time.monotonic() + seconds
    value = signal()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        again = signal()
        if again == value and getattr(signal, "listening", True):
            return value
        value = again
    raise AssertionError("the change signal never settled")


def _moved_after_another_commit(signal, before, url: str, arxiv_id: str, *, seconds: float) -> bool:
    """Another engine (another process, as `dailypapers import` would be) commits a paper; whether the signal
    has moved from `before` within `seconds` (NOTIFY arrives a moment after the commit)."""
    other = SqlStore(make_engine(make_settings(url)))
    try:
        other.upsert([paper(arxiv_id)])
    finally:
        other.engine.dispose()
    deadline = time.monotonic() + seconds
    while signal() == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return signal() != before


def test_the_change_signal_moves_with_a_commit_and_not_with_a_read(store, settings):
    signal = change_signal(store.engine)
    assert isinstance(signal, SqliteDataVersion if settings.is_sqlite else PostgresNotifications)
    assert signal.blocking is False  # read on the event loop: no round trip on either database
    try:
        before = _settled(signal)
        store.latest_day()
        assert signal() == before
        assert _moved_after_another_commit(signal, before, settings.database_url, "2603.00001", seconds=5)
    finally:
        signal.close()


@pytest.fixture
def postgres_store(tmp_path, postgresql_templates):
    url = postgresql_templates.copy(EMPTY, tmp_path)
    store = SqlStore(make_engine(make_settings(url)))
    yield store
    store.engine.dispose()
    postgresql_templates.drop(url)


def test_postgres_a_process_sees_its_own_commit_at_once(postgres_store):
    """No wait for the notification: the commit counts when the writer's connection returns to the pool."""
    signal = change_signal(postgres_store.engine)
    try:
        before = _settled(signal)
        postgres_store.upsert([paper("2603.00002")])
        assert signal() != before
    finally:
        signal.close()


def test_postgres_another_process_commit_counts_when_it_is_heard_not_at_the_end_of_a_wait(postgres_store):
    """The listener waits for notifications in windows of `health_seconds`; a commit heard in the middle of
    one counts at once (a window of a minute: pages built before it are not served for that minute), and
    closing wakes the wait instead of sitting it out."""
    signal = PostgresNotifications(postgres_store.engine, health_seconds=60)
    try:
        before = _settled(signal)
        url = postgres_store.engine.url.render_as_string(hide_password=False)
        assert _moved_after_another_commit(signal, before, url, "2603.00005", seconds=20)
    finally:
        started = time.monotonic()
        signal.close()
        assert time.monotonic() - started < 20  # not the 61 s join of a window sat out


def test_postgres_other_databases_commits_do_not_count(postgres_store, postgresql_templates, tmp_path):
    """Another site on the same server (its own database, its own triggers) leaves our pages alone."""
    signal = change_signal(postgres_store.engine)
    (tmp_path / "other").mkdir()
    url = postgresql_templates.copy(EMPTY, tmp_path / "other")
    try:
        before = _settled(signal)
        other = SqlStore(make_engine(make_settings(url)))
        other.upsert([paper("2603.00004")])
        other.engine.dispose()
        time.sleep(0.3)
        assert signal() == before
    finally:
        signal.close()
        postgresql_templates.drop(url)


def test_postgres_a_lost_listener_serves_nothing_until_it_listens_again(postgres_store):
    signal = PostgresNotifications(postgres_store.engine, health_seconds=0.2)
    try:
        before = _settled(signal)
        with postgres_store.engine.connect() as conn:  # the server drops the listener's connection
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'dailypapers-changes'"
                )
            )
        deadline = time.monotonic() + 5
        while signal.listening and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not signal.listening
        assert signal() != signal()  # meanwhile every call differs: no cached page is served
        after = _settled(signal)  # it listens again, under a new generation
        assert after != before
    finally:
        signal.close()


def test_postgres_without_the_triggers_the_signal_asks_the_server(postgres_store):
    with postgres_store.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER dailypapers_changes ON papers"))
    signal = PostgresNotifications(postgres_store.engine)
    try:
        signal()
        deadline = time.monotonic() + 5
        while not signal.blocking and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signal.blocking  # the cache now calls it off the event loop
        before = signal()
        postgres_store.upsert([paper("2603.00003")])
        assert signal() != before
    finally:
        signal.close()


def test_every_table_but_the_quiet_ones_notifies(postgres_store):
    with postgres_store.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        watched = set(
            conn.execute(
                sa.text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = 'dailypapers_changes'"
                )
            ).scalars()
        )
    assert "papers" in watched and "upvotes" in watched and "sessions" in watched
    assert watched == tables - QUIET_TABLES


def test_no_change_signal_for_a_database_that_has_no_file():
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:papers?uri=true"):
        engine = sa.create_engine(url)
        assert change_signal(engine) is None
        engine.dispose()


# -- the database URL ----------------------------------------------------------------------------------------


def test_display_url_hides_the_password():
    url = "postgresql+psycopg://dp:s%40cret@db.example:5432/dailypapers?sslmode=require"
    assert display_url(url) == "postgresql+psycopg://dp:***@db.example:5432/dailypapers?sslmode=require"
    assert display_url("sqlite:////srv/dp/papers.db") == "sqlite:////srv/dp/papers.db"


@pytest.mark.parametrize(
    "url, folder",
    [
        # Values from before the URL handling moved to the store: an existing deployment's index stays put.
        (
            "postgresql+psycopg://dp:s%40cret@db.example:5432/dailypapers?sslmode=require&application_name=dp",
            "7ee28b291e3f",
        ),
        ("postgresql+psycopg://postgres@127.0.0.1/postgres", "331f6ba6c73a"),
        ("sqlite://", "28c0c0bf9f53"),
        ("sqlite:///:memory:", "0a144c0d0495"),
    ],
)
def test_the_default_index_dir_of_a_server_database_is_named_by_its_url(url, folder):
    assert search_index_dir(make_settings(url)) == default_data_dir() / "index" / folder


def test_the_default_index_dir_of_a_sqlite_file_is_beside_it(tmp_path):
    assert search_index_dir(make_settings(f"sqlite:///{tmp_path}/papers.db")) == tmp_path / "papers-index"
    assert search_index_dir(make_settings("sqlite://", index_dir=tmp_path / "x")) == tmp_path / "x"
