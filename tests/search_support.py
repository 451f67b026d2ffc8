"""Shared pieces of the search engine tests: the real packaged model (loaded once per worker), small corpora
made of the bundled demo slice and of a few written-for-purpose papers, and a Search over them."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from conftest import DEMO_DATA, Template, import_demo, make_settings
from dailypapers.importers.formats import parse
from dailypapers.records import PaperRecord
from dailypapers.search.embedder import SentenceEmbedder
from dailypapers.search.indexer import Indexer
from dailypapers.search.service import Search
from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import papers

_EMBEDDERS: dict[str, SentenceEmbedder] = {}


def shared_embedder(settings: Settings):
    """One real model per name per test process (loading it is the slow part)."""

    def factory(name: str) -> SentenceEmbedder:
        if name not in _EMBEDDERS:
            _EMBEDDERS[name] = SentenceEmbedder.from_settings(settings, name)
        return _EMBEDDERS[name]

    return factory


def demo_records(every: int = 10, limit: int | None = None) -> list[PaperRecord]:
    """Every `every`-th paper of the bundled slice: Daily Papers and arXiv listing papers alike."""
    records = []
    with gzip.open(DEMO_DATA, "rt", encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i % every == 0:
                records.append(parse(json.loads(line)))
            if limit is not None and len(records) >= limit:
                break
    return records


def paper(arxiv_id: str, title: str, abstract: str, **fields) -> PaperRecord:
    fields.setdefault("authors", ["Ada Example"])
    fields.setdefault("published_at", datetime(2026, 5, 4, tzinfo=UTC))
    return PaperRecord(arxiv_id=arxiv_id, title=title, abstract=abstract, **fields)


# Written so that each keyword behaviour has exactly one right answer.
PURPOSE_PAPERS = [
    paper(
        "2611.90001",
        "Zorblax networks for graph reasoning",
        "We study reasoning over graphs with message passing.",
        categories=["cs.LG"],
    ),
    paper(
        "2611.90002",
        "A study of message passing on graphs",
        "We apply zorblax networks to molecules and find them wanting.",
        categories=["cs.LG"],
    ),
    paper(
        "2611.90003",
        "Quantum flux capacitor design",
        "A practical design for the quantum flux capacitor at room temperature.",
        categories=["quant-ph"],
        published_at=datetime(2025, 1, 15, tzinfo=UTC),
    ),
    paper(
        "2611.90004",
        "Capacitor arrays",
        "The flux of a capacitor array is not quantum; we measure capacitor flux in circuits.",
        categories=["physics.app-ph"],
        published_at=datetime(2025, 6, 1, tzinfo=UTC),
    ),
    paper(
        "2611.90005",
        "Sparse retrieval with learned term weights",
        "Term weighting for retrieval.",
        authors=["Xenophon Quillfeather", "Ada Example"],
        categories=["cs.IR"],
        daily_date=date(2026, 5, 5),
        upvotes=3,
    ),
    paper(
        "2611.90006",
        "Transmogrifier architectures for sequence modelling",
        "Sequence models built from transmogrifier blocks.",
        categories=["cs.CL"],
        published_at=datetime(2026, 2, 2, tzinfo=UTC),
    ),
    paper(
        "2611.90007",
        "Müller–Lyer illusions in vision transformers",
        "Do vision transformers see the Müller-Lyer illusion as people do?",
        authors=["Jürgen Müller"],
        categories=["cs.CV"],
        daily_date=date(2026, 5, 6),
        upvotes=1,
    ),
]


def ids_by_arxiv(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())


def search_settings(database_url: str, index_dir: Path, **overrides) -> Settings:
    return make_settings(database_url, index_dir=index_dir, **overrides)


def build(store: SqlStore, settings: Settings, records: list[PaperRecord]) -> Search:
    """Store the records, index and embed them (the demo ones from the shipped vectors), and a Search."""
    store.upsert(records)
    factory = shared_embedder(settings)
    Indexer(store.engine, settings, embedder_factory=factory).sync(embed_limit=-1)
    return Search(store.engine, settings, embedder_factory=factory, refresh_interval=0.0)


def _index_purpose_corpus(settings: Settings) -> None:
    store = SqlStore(make_engine(settings))
    try:
        build(store, settings, PURPOSE_PAPERS + demo_records(every=10)).close()
    finally:
        store.engine.dispose()


# The purpose-written papers and every 10th paper of the demo slice (~320 papers), indexed and embedded: the
# start of most search engine tests, built once per session (conftest.Templates).
PURPOSE_CORPUS = Template("purpose-corpus", _index_purpose_corpus)


def _index_demo(settings: Settings) -> None:
    import_demo(settings)
    engine = make_engine(settings)
    try:
        report = Indexer(engine, settings).sync(embed_limit=-1)
        assert not any(report.pending.values()), report
    finally:
        engine.dispose()


# The demo slice with both search indexes built by the indexer, from the embeddings that ship for it.
DEMO_INDEXED = Template("demo-indexed", _index_demo)
