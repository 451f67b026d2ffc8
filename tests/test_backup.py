"""Backups taken during a burst of writes, restored into a new location: every row there, each transaction
whole, and search working again once the indexes are rebuilt. On SQLite and on PostgreSQL (pg_dump)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from conftest import POSTGRES_ADMIN_URL, make_settings
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.backup import BackupError, backup, restore
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import feed_entries, metadata, paper_authors, paper_categories, papers
from search_support import PURPOSE_PAPERS, build

BATCH = 5  # papers per write transaction, each with its day on the feed


def _batch(n: int) -> list[PaperRecord]:
    return [
        PaperRecord(
            arxiv_id=f"2612.{n * BATCH + i:05d}",
            title=f"Burst paper {n}-{i}",
            abstract="Written while the backup ran.",
            authors=["Ada Burst"],
            published_at=datetime(2026, 12, 1, tzinfo=UTC),
            daily_date=date(2026, 12, 2),
            upvotes=n,
            submitter=Submitter("burster"),
        )
        for i in range(BATCH)
    ]


def _rows(engine, table) -> dict:
    with engine.connect() as conn:
        return {row[0]: tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key))}


def _all_rows(engine, table) -> set:
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(sa.select(table))}


@pytest.fixture
def new_location(database_url, tmp_path):
    """An empty place to restore into: a new SQLite path, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'site.db'}"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"dailypapers_restore_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_backup_during_writes_then_restore_elsewhere(store, settings, new_location, tmp_path):
    search = build(store, make_settings(settings.database_url, index_dir=tmp_path / "index"), PURPOSE_PAPERS)
    search.close()
    stop = threading.Event()
    written: list[int] = []

    def burst():
        n = 0
        while not stop.is_set() and n < 400:
            store.upsert(_batch(n))
            written.append(n)
            n += 1

    writer = threading.Thread(target=burst)
    writer.start()
    try:
        while len(written) < 3:  # the backup starts in the middle of the burst
            stop.wait(0.01)
        dest = backup(settings.database_url, tmp_path / "backups" / "site.backup")
    finally:
        stop.set()
        writer.join()
    assert dest.is_file() and not list(dest.parent.glob(".*partial"))
    with pytest.raises(BackupError, match="exists"):
        backup(settings.database_url, dest)  # never overwrites

    restore(dest, new_location)
    restored = make_engine(make_settings(new_location))
    try:
        got = _rows(restored, papers)
        source = _rows(store.engine, papers)
        arxiv_id = papers.c.keys().index("arxiv_id")
        burst_papers = [k for k, row in got.items() if row[arxiv_id].startswith("2612.")]
        # Taken mid-burst: some but not all of it, and whole transactions only (each paper with its feed day).
        assert 3 * BATCH <= len(burst_papers) < len(written) * BATCH + BATCH
        assert len(burst_papers) % BATCH == 0
        assert all(got[k] == source[k] for k in got)  # every row restored is the row as written
        assert set(_rows(restored, feed_entries)) <= set(_rows(store.engine, feed_entries))
        with restored.connect() as conn:
            burst_days = conn.execute(
                sa.select(sa.func.count())
                .select_from(feed_entries.join(papers))
                .where(papers.c.arxiv_id.like("2612.%"))
            ).scalar_one()
        assert burst_days == len(burst_papers)
        # The rows derived from each paper (its names and categories) are taken with their paper.
        for derived in (paper_authors, paper_categories):
            taken = _all_rows(restored, derived)
            assert taken and taken <= _all_rows(store.engine, derived)
        for table in metadata.sorted_tables:  # every other table whole, too
            if table.name not in (
                "papers",
                "feed_entries",
                "paper_versions",
                "paper_authors",
                "paper_categories",
            ):
                assert _rows(restored, table) == _rows(store.engine, table), table.name
        # Search works on the restored database once its indexes are rebuilt from it.
        restored_search = build(
            SqlStore(restored), make_settings(new_location, index_dir=tmp_path / "index-restored"), []
        )
        try:
            hits = restored_search.search("zorblax", mode="keyword", limit=5)
            zorblax = next(k for k, row in got.items() if row[arxiv_id] == "2611.90001")
            assert [h.paper_id for h in hits][:1] == [zorblax]
        finally:
            restored_search.close()
    finally:
        restored.dispose()

    with pytest.raises(BackupError, match="restore into"):
        restore(dest, new_location)  # the place is taken now
    with pytest.raises(BackupError, match="no backup file"):
        restore(tmp_path / "missing.backup", new_location)


def test_backup_and_restore_commands(sqlite_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dailypapers.cli import app

    store = SqlStore(make_engine(make_settings(sqlite_url)))
    store.upsert(_batch(0))
    store.engine.dispose()
    monkeypatch.setenv("DAILYPAPERS_ENVIRONMENT", "development")
    monkeypatch.setenv("DAILYPAPERS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DAILYPAPERS_EMBEDDING_INLINE_LIMIT", "0")
    runner = CliRunner()
    folder = tmp_path / "backups"
    folder.mkdir()
    made = runner.invoke(app, ["backup", str(folder)])
    assert made.exit_code == 0, made.output
    (written,) = folder.glob("dailypapers-*.db")
    restored_url = f"sqlite:///{tmp_path / 'elsewhere' / 'site.db'}"
    monkeypatch.setenv("DAILYPAPERS_DATABASE_URL", restored_url)
    monkeypatch.setenv("DAILYPAPERS_INDEX_DIR", str(tmp_path / "elsewhere-index"))
    back = runner.invoke(app, ["restore", str(written)])
    assert back.exit_code == 0, back.output
    assert "Restored" in back.output and "search rebuilt" in back.output
    again = runner.invoke(app, ["restore", str(written)])
    assert again.exit_code == 1 and "--replace" in again.output  # never overwrites by surprise
    assert runner.invoke(app, ["restore", str(written), "--replace"]).exit_code == 0
    engine = make_engine(make_settings(restored_url))
    assert len(_rows(engine, papers)) == BATCH
    engine.dispose()
    missing = runner.invoke(app, ["restore", str(tmp_path / "nothing.db")])
    assert missing.exit_code == 1 and "no backup file" in missing.output
