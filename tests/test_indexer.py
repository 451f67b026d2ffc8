"""Keeping search in step with the database: incremental sync, rebuilds swapped in atomically, catching up
from the embeddings table, the model-switch rule, the shipped demo embeddings, and kill -9 of a build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from dailypapers.search import state
from dailypapers.search import vectors as vectors_module
from dailypapers.search.embedder import packaged_model_path
from dailypapers.search.indexer import SHIPPED_EMBEDDINGS, Indexer
from dailypapers.search.service import Search
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL
from dailypapers.store.engine import search_index_dir
from dailypapers.store.schema import embeddings, papers
from search_support import (
    PURPOSE_PAPERS,
    build,
    demo_records,
    ids_by_arxiv,
    paper,
    search_settings,
    shared_embedder,
)


@pytest.fixture
def index_dir(tmp_path):
    """The derived indexes of one test (never the user's data directory)."""
    return tmp_path / "index"


@pytest.fixture
def settings_(database_url, index_dir):
    return search_settings(database_url, index_dir)


def embedding_rows(store, model=DEFAULT_EMBEDDING_MODEL):
    with store.engine.connect() as conn:
        return conn.execute(
            select(embeddings.c.id, embeddings.c.paper_id)
            .where(embeddings.c.model == model)
            .order_by(embeddings.c.id)
        ).all()


def hits_arxiv(search, store, hits):
    by_id = {v: k for k, v in ids_by_arxiv(store).items()}
    return [by_id[h.paper_id] for h in hits]


NEW_PAPER = paper(
    "2611.90200",
    "Glimmerwing: bioluminescent drones for cave cartography",
    "Swarms of glowing flying robots map underground caverns by lighting them as they fly.",
    categories=["cs.RO"],
)


def test_incremental_sync_makes_a_new_paper_searchable(store, settings_):
    search = build(store, settings_, PURPOSE_PAPERS + demo_records(every=40))
    assert search.search("glimmerwing", mode="keyword") == []
    store.upsert([NEW_PAPER])
    report = search.sync()
    assert report.keyword_indexed >= 1 and not report.keyword_full
    assert report.embedded == {DEFAULT_EMBEDDING_MODEL: 1}
    assert hits_arxiv(search, store, search.search("glimmerwing", mode="keyword")) == ["2611.90200"]
    found = search.search("robots that glow and map caves", mode="semantic", limit=3)
    assert "2611.90200" in hits_arxiv(search, store, found)
    # Idempotent: syncing again changes nothing and embeds nothing.
    again = search.sync()
    assert again.embedded == {} and len(embedding_rows(store)) == len(ids_by_arxiv(store))


def test_similar_papers_are_kept_until_the_vector_index_changes(store, settings_):
    search = build(store, settings_, PURPOSE_PAPERS + demo_records(every=40))
    zorblax = ids_by_arxiv(store)["2611.90001"]
    before = search.similar(zorblax, limit=5)
    assert search.similar(zorblax, limit=5) == before  # from memory
    twin = paper("2611.90201", "Zorblax networks for graph reasoning, again", PURPOSE_PAPERS[0].abstract)
    store.upsert([twin])
    search.sync()  # a new embedding: the index grows, the kept neighbours are retired
    assert ids_by_arxiv(store)["2611.90201"] in [hit.paper_id for hit in search.similar(zorblax, limit=5)]


def test_a_changed_abstract_is_reindexed_and_reembedded(store, settings_):
    search = build(store, settings_, PURPOSE_PAPERS)
    before = {pid: eid for eid, pid in embedding_rows(store)}
    changed = paper(
        "2611.90001", "Zorblax networks for graph reasoning", "Now about tidal energy harvesting.", version=2
    )
    store.upsert([changed])
    search.sync()
    pid = ids_by_arxiv(store)["2611.90001"]
    after = {p: eid for eid, p in embedding_rows(store)}
    assert after[pid] != before[pid]  # a new row: other processes catch it up
    assert {p: e for p, e in after.items() if p != pid} == {p: e for p, e in before.items() if p != pid}
    assert hits_arxiv(search, store, search.search("tidal", mode="keyword")) == ["2611.90001"]


def test_a_paper_going_on_the_feed_becomes_daily(store, settings_):
    from datetime import date

    from dailypapers.search.types import SearchFilters

    search = build(store, settings_, PURPOSE_PAPERS)
    daily = SearchFilters(daily_only=True)
    assert search.search("transmogrifier", mode="keyword", filters=daily) == []
    store.upsert([paper(**{**_fields(PURPOSE_PAPERS[5]), "daily_date": date(2026, 5, 9), "upvotes": 2})])
    search.sync()
    assert hits_arxiv(search, store, search.search("transmogrifier", mode="keyword", filters=daily)) == [
        "2611.90006"
    ]


def _fields(record):
    return {
        name: getattr(record, name) for name in ("arxiv_id", "title", "abstract", "authors", "categories")
    }


def test_a_second_process_catches_up_from_the_table(store, settings_):
    first = build(store, settings_, PURPOSE_PAPERS + demo_records(every=40))
    model = first.model
    published = first.vectors(model).read_manifest()
    assert first.search("drones", mode="semantic")  # loaded
    # A new paper is embedded (committed to the table) but the index file is not rewritten.
    store.upsert([NEW_PAPER])
    indexer = Indexer(store.engine, settings_, embedder_factory=shared_embedder(settings_))
    indexer.sync_keyword()
    assert indexer.embed_missing(model) == 1
    assert first.vectors(model).read_manifest().file == published.file
    second = Search(store.engine, settings_, embedder_factory=shared_embedder(settings_))
    hits = second.search("glowing flying robots mapping caves", mode="semantic", limit=3)
    assert second.vectors(model).loaded_from_file
    assert second.vectors(model).watermark > published.watermark
    assert "2611.90200" in hits_arxiv(second, store, hits)
    # The first one catches up on its next refresh.
    first.refresh()
    assert "2611.90200" in hits_arxiv(
        first, store, first.search("glowing robots mapping caves", mode="semantic")
    )


def test_a_rebuilt_vector_index_is_swapped_in_atomically(store, settings_, monkeypatch):
    search = build(store, settings_, PURPOSE_PAPERS + demo_records(every=40))
    model = search.model
    search.search("graphs", mode="semantic")
    vectors = search.vectors(model)
    old = vectors.read_manifest()
    assert vectors.file == old.file
    seen, stop = [], threading.Event()

    def read_manifests():
        while not stop.is_set():
            manifest = json.loads(vectors.manifest_path.read_text())  # never torn, never missing
            seen.append((vectors.directory / manifest["file"]).exists())

    reader = threading.Thread(target=read_manifests)
    reader.start()
    try:
        other = Indexer(store.engine, settings_).vector_index(model)
        for _ in range(3):
            other.rebuild()
    finally:
        stop.set()
        reader.join()
    assert seen and all(seen)
    new = vectors.read_manifest()
    assert new.file != old.file and new.count == old.count
    search.refresh()
    assert vectors.file == new.file
    assert search.search("graphs", mode="semantic")
    # Superseded files go once they are old enough: the current one and the one before it stay.
    monkeypatch.setattr(vectors_module, "STALE_FILE_SECONDS", 0.0)
    other.rebuild()
    assert len(list(vectors.directory.glob("*.usearch"))) == 2


def test_a_keyword_rebuild_never_shows_an_empty_index(store, settings_):
    search = build(store, settings_, PURPOSE_PAPERS + demo_records(every=20))
    empty, stop = [], threading.Event()

    def keep_searching():
        while not stop.is_set():
            empty.append(not search.search("zorblax", mode="keyword"))

    reader = threading.Thread(target=keep_searching)
    reader.start()
    try:
        for _ in range(2):
            Indexer(store.engine, settings_).sync_keyword(full=True)
    finally:
        stop.set()
        reader.join()
    assert empty and not any(empty)


def test_a_new_model_takes_over_only_when_every_paper_has_an_embedding(store, database_url, index_dir):
    old = search_settings(database_url, index_dir)
    search = build(store, old, PURPOSE_PAPERS + demo_records(every=80))
    assert state.get(store.engine, state.ACTIVE_MODEL) == DEFAULT_EMBEDDING_MODEL
    total = len(ids_by_arxiv(store))
    # Another model: the same weights named by their path, so a different embedding set.
    new_model = str(packaged_model_path())
    new = search_settings(database_url, index_dir, embedding_model=new_model)
    indexer = Indexer(store.engine, new, embedder_factory=shared_embedder(new))
    report = indexer.sync(embed_limit=5)  # too many lacking: nothing embedded inline
    assert report.pending[new_model] == total and report.switched_to is None
    assert state.get(store.engine, state.ACTIVE_MODEL) == DEFAULT_EMBEDDING_MODEL
    serving = Search(store.engine, new, embedder_factory=shared_embedder(new), refresh_interval=0)
    assert serving.model == DEFAULT_EMBEDDING_MODEL
    assert serving.search("graph reasoning", mode="semantic")
    # Half of the new set is not enough.
    half = indexer.embed_missing(new_model, batch_size=4)
    with store.engine.begin() as conn:
        conn.execute(
            embeddings.delete().where(embeddings.c.model == new_model, embeddings.c.paper_id % 2 == 0)
        )
    assert half == total
    assert indexer.sync(embed_limit=0).switched_to is None
    assert state.get(store.engine, state.ACTIVE_MODEL) == DEFAULT_EMBEDDING_MODEL
    # Complete: it switches, and a serving process follows.
    report = indexer.sync(embed_limit=-1)
    assert report.switched_to == new_model and report.pending[new_model] == 0
    assert state.get(store.engine, state.ACTIVE_MODEL) == new_model
    serving.refresh()
    assert serving.model == new_model
    hits = serving.search("graph reasoning", mode="semantic")
    assert hits and serving.vectors(new_model).size == total
    # The old set is kept (a switch back is instant), and counted per model.
    assert indexer.counts_by_model() == {DEFAULT_EMBEDDING_MODEL: total, new_model: total}
    search.close()


def test_the_demo_embeddings_ship_for_every_bundled_paper(demo_store, settings_):
    assert SHIPPED_EMBEDDINGS.stat().st_size < 3_000_000
    with np.load(SHIPPED_EMBEDDINGS, allow_pickle=False) as data:
        assert str(data["model"]) == DEFAULT_EMBEDDING_MODEL
        vectors = data["vectors"]
        assert vectors.dtype == np.float16 and vectors.shape == (len(data["arxiv_ids"]), 384)
        assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
    indexer = Indexer(demo_store.engine, settings_)
    assert indexer.load_shipped_embeddings() == demo_store.count_papers() == 3133
    assert indexer.count_missing(DEFAULT_EMBEDDING_MODEL) == 0
    assert indexer.load_shipped_embeddings() == 0  # only for papers lacking one


def _build_env(settings_) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(
        DAILYPAPERS_DATABASE_URL=settings_.database_url,
        DAILYPAPERS_INDEX_DIR=str(search_index_dir(settings_)),
        DAILYPAPERS_ENVIRONMENT="test",
        DAILYPAPERS_SECRET_KEY="test-secret-key-0123456789",
    )
    return env


@pytest.mark.slow
def test_index_build_killed_with_sigkill_resumes_to_exactly_one_embedding_each(store, settings_):
    store.upsert(demo_records(every=60))  # ~53 papers, none embedded
    total = store.count_papers()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from dailypapers.cli import main; main()",
            "index",
            "build",
            "--batch-size",
            "4",
        ],
        env=_build_env(settings_),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while True:
            done = len(embedding_rows(store))
            if 8 <= done < total or process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    partial = len(embedding_rows(store))
    assert 0 < partial < total
    result = subprocess.run(
        [sys.executable, "-c", "from dailypapers.cli import main; main()", "index", "build"],
        env=_build_env(settings_),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "papers/s" in result.stderr
    rows = embedding_rows(store)
    assert len(rows) == total
    assert len({pid for _, pid in rows}) == total
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == total
    search = Search(store.engine, settings_, embedder_factory=shared_embedder(settings_))
    assert search.vectors(search.model).read_manifest().count == total
    assert search.search("language models", mode="hybrid")
    status = subprocess.run(
        [sys.executable, "-c", "from dailypapers.cli import main; main()", "index", "status", "--json"],
        env=_build_env(settings_),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["embeddings"] == {DEFAULT_EMBEDDING_MODEL: total}
    assert report["keyword"]["documents"] == total and report["vectors"]["lag"] == 0


def test_search_command(store, settings_):
    build(store, settings_, PURPOSE_PAPERS)
    run = [sys.executable, "-c", "from dailypapers.cli import main; main()", "search"]
    result = subprocess.run(
        [*run, "zorblax", "--mode", "keyword", "--json", "--category", "cs.LG"],
        env=_build_env(settings_),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [r["arxiv_id"] for r in found] == ["2611.90001", "2611.90002"]
    assert found[0]["keyword_rank"] == 1
    bad = subprocess.run(
        [*run, "!!!"], env=_build_env(settings_), capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "no words" in bad.stderr


def test_a_late_commit_below_the_watermark_is_caught_up(store, settings_):
    """On PostgreSQL ids are handed out at insert but seen at commit: a row with a lower id than one already
    caught up can appear later. Simulated by committing a row into an id left unused below the watermark."""
    search = build(store, settings_, PURPOSE_PAPERS + demo_records(every=80))
    model = search.model
    vectors = search.vectors(model)
    vectors.ensure_loaded()
    indexer = Indexer(store.engine, settings_, embedder_factory=shared_embedder(settings_))
    store.upsert([NEW_PAPER, paper("2611.90201", "Tide pools", "Small ecosystems left by the sea.")])
    indexer.sync_keyword()
    ids = ids_by_arxiv(store)
    late_pid, other_pid = ids["2611.90200"], ids["2611.90201"]
    vector = indexer.embedder(model).embed_documents([f"{NEW_PAPER.title}. {NEW_PAPER.abstract}"])[0]

    def row(paper_id, **extra):
        return {
            "paper_id": paper_id,
            "model": model,
            "vector": vector.astype("<f2").tobytes(),
            "text_hash": "late",
            "created_at": datetime.now(UTC),
            **extra,
        }

    with store.engine.begin() as conn:  # the id the slow transaction was handed
        gap_id = conn.execute(embeddings.insert().values(**row(late_pid))).inserted_primary_key[0]
        conn.execute(embeddings.delete().where(embeddings.c.id == gap_id))
    with store.engine.begin() as conn:  # a later transaction commits first, and is caught up
        conn.execute(embeddings.insert().values(**row(other_pid)))
    search.refresh()
    assert vectors.vector(other_pid) is not None and vectors.watermark > gap_id
    with store.engine.begin() as conn:  # now the slow one commits, below the watermark
        conn.execute(embeddings.insert().values(**row(late_pid, id=gap_id)))
    vectors._window_checked = 0.0  # the window below the watermark is due (every WINDOW_CHECK_SECONDS)
    search.refresh()
    assert vectors.vector(late_pid) is not None
    hits = search.search("glowing flying robots mapping caves", mode="semantic", limit=3)
    assert "2611.90200" in hits_arxiv(search, store, hits)
