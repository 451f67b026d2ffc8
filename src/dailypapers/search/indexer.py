"""Keeping the search indexes in step with the database: incremental sync, full build, embedding in batches.

Every batch of embeddings is one transaction, so a run killed at any moment (even kill -9) loses at most one
batch, and running it again continues where it stopped. The keyword index is caught up from
`papers.modified_at` (and new feed entries) since the watermark it records, with an overlap: re-indexing a
paper is idempotent (delete by paper id, add).
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from dailypapers.keyphrases import extract as extract_phrases
from dailypapers.search import state
from dailypapers.search.acronyms import Learner
from dailypapers.search.embedder import SentenceEmbedder, document_text, text_hash
from dailypapers.search.keyword import KeywordIndex, KeywordState
from dailypapers.search.types import Embedder
from dailypapers.search.vectors import VectorIndex, to_blob
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL, Settings
from dailypapers.store.embeddings import NewEmbedding, SqlEmbeddings
from dailypapers.store.engine import Engine, search_index_dir
from dailypapers.store.keyphrases import NewKeyPhrases, SqlKeyPhrases
from dailypapers.store.papers import SqlStore
from dailypapers.store.search_documents import SearchDocument, SqlSearchDocuments

log = logging.getLogger(__name__)

MODIFIED_OVERLAP = timedelta(minutes=2)  # longer than any write transaction of the store
FEED_OVERLAP_IDS = 4096
READ_CHUNK = 2000
EMBED_BATCH = 256
# An incremental sync republishes the vector file once this many embeddings are not in it (until then,
# processes catch up from the table when they load it).
PUBLISH_LAG = 20_000
SHIPPED_EMBEDDINGS = Path(__file__).resolve().parent.parent / "data" / "demo-embeddings.npz"
SHIPPED_PHRASES = Path(__file__).resolve().parent.parent / "data" / "demo-keyphrases.json.gz"

Progress = Callable[[str, int, int | None], None]  # (stage, done, total)
EmbedderFactory = Callable[[str], Embedder]


def _learn(learner: Learner, docs: list[SearchDocument]) -> None:
    for doc in docs:
        learner.add(doc.title or "", doc.abstract or "")


def _no_progress(stage: str, done: int, total: int | None) -> None:
    pass


@dataclass(slots=True)
class SyncReport:
    keyword_indexed: int = 0
    keyword_full: bool = False
    embedded: dict[str, int] = field(default_factory=dict)  # model -> papers embedded in this run
    pending: dict[str, int] = field(default_factory=dict)  # model -> papers still lacking an embedding
    active_model: str | None = None
    switched_to: str | None = None
    embed_seconds: float = 0.0
    phrases: int = 0  # papers given key phrases in this run
    phrases_pending: int = 0  # papers still lacking them
    phrase_seconds: float = (
        0.0  # the separate pass for papers embedded before (fused ones are in embed_seconds)
    )
    seconds: float = 0.0

    @property
    def papers_per_second(self) -> float:
        done = sum(self.embedded.values())
        return done / self.embed_seconds if self.embed_seconds > 0 else 0.0


class Indexer:
    """Writes the derived search data: the keyword index, embeddings, vector index files."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        embedder_factory: EmbedderFactory | None = None,
        keyword: KeywordIndex | None = None,
        index_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.index_dir = Path(index_dir or search_index_dir(settings))
        self.keyword = keyword or KeywordIndex(self.index_dir)
        self.documents = SqlSearchDocuments(engine)
        self.embeddings = SqlEmbeddings(engine)
        self.phrases = SqlKeyPhrases(engine)
        self._embedder_factory = embedder_factory or (
            lambda name: SentenceEmbedder.from_settings(settings, name)
        )
        self._embedders: dict[str, Embedder] = {}
        self._index_id: str | None = None

    @property
    def index_id(self) -> str:
        if self._index_id is None:
            self._index_id = state.index_id(self.engine)
        return self._index_id

    def embedder(self, model: str) -> Embedder:
        if model not in self._embedders:
            self._embedders[model] = self._embedder_factory(model)
        return self._embedders[model]

    def vector_index(self, model: str) -> VectorIndex:
        return VectorIndex(self.index_dir, self.engine, model, index_id=self.index_id)

    # -- keyword --------------------------------------------------------------------------------------

    def sync_keyword(self, *, full: bool = False, on_progress: Progress = _no_progress) -> tuple[int, bool]:
        """Index papers changed since the watermark (or all, rebuilding); returns (papers indexed, full)."""
        previous = self.keyword.read_state()
        full = full or previous.index_id != self.index_id or not self.keyword.exists()
        marks = self.documents.marks()
        new_state = KeywordState(
            index_id=self.index_id,
            modified_at=marks.modified_at or previous.modified_at,
            feed_entry_id=marks.feed_entry_id,
        )
        indexed = 0
        known = None if full else self.keyword.read_acronym_counts()
        learner = Learner(Counter(known or {}))
        with self.keyword.writer(threads=2 if full else 1) as writer:
            if full:
                total = SqlStore(self.engine).count_papers()
                writer.clear()
                for docs in self._all_docs():
                    indexed += writer.add(docs)
                    _learn(learner, docs)
                    on_progress("keyword", indexed, total)
            else:
                since = previous.modified_at - MODIFIED_OVERLAP if previous.modified_at else None
                for docs in self._changed_docs(since, previous.feed_entry_id - FEED_OVERLAP_IDS):
                    indexed += writer.upsert(docs)
                    self._drop_stale_embeddings(docs)
                    if known is not None:
                        _learn(learner, docs)
                    on_progress("keyword", indexed, None)
        if known is None and not full:
            # An index from before acronyms were learned: one pass over every paper's text.
            for docs in self._all_docs():
                _learn(learner, docs)
        if full or known is None or indexed:
            # (A paper indexed again counts again: a slight overcount, for papers whose text changed.)
            self.keyword.write_acronyms(learner.counts, learner.table())
        self.keyword.write_state(new_state)
        return indexed, full

    def _all_docs(self) -> Iterator[list[SearchDocument]]:
        last = 0
        while True:
            docs = self.documents.after(last, READ_CHUNK)
            if not docs:
                return
            yield docs
            last = docs[-1].paper_id

    def _changed_docs(self, since: datetime | None, feed_entry_floor: int) -> Iterator[list[SearchDocument]]:
        ordered = self.documents.changed_ids(since, feed_entry_floor)
        for start in range(0, len(ordered), READ_CHUNK):
            yield self.documents.by_ids(ordered[start : start + READ_CHUNK])

    def _drop_stale_embeddings(self, docs: list[SearchDocument]) -> None:
        """A paper whose title or abstract changed loses its embeddings and key phrases, so the embedding step
        redoes them."""
        hashes = {d.paper_id: text_hash(document_text(d.title, d.abstract)) for d in docs}
        self.embeddings.drop_stale(hashes)
        self.phrases.drop_stale(hashes)

    # -- embeddings ---------------------------------------------------------------------------------------

    def count_missing(self, model: str) -> int:
        return self.embeddings.count_missing(model)

    def embed_missing(
        self,
        model: str,
        *,
        batch_size: int = EMBED_BATCH,
        on_progress: Progress = _no_progress,
        total: int | None = None,
    ) -> int:
        """Embed every paper lacking an embedding for `model`, one committed batch at a time."""
        embedder = self.embedder(model)
        # The configured model's forward pass gives the key phrases too, for the cost of reading its tokens.
        fused = model == self.settings.embedding_model and hasattr(embedder, "embed_documents_with_tokens")
        done, last = 0, 0
        while True:
            rows = self.embeddings.missing(model, last, batch_size)
            if not rows:
                return done
            texts = [document_text(r.title, r.abstract) for r in rows]
            if fused:
                vectors, tokens = embedder.embed_documents_with_tokens(texts)  # type: ignore[attr-defined]
                self.store_embeddings(model, [r.paper_id for r in rows], texts, vectors)
                self._store_phrases(model, rows, texts, vectors, tokens)
            else:
                vectors = embedder.embed_documents(texts)
                self.store_embeddings(model, [r.paper_id for r in rows], texts, vectors)
            done += len(rows)
            last = rows[-1].paper_id
            on_progress(f"embed:{model}", done, total)

    def store_embeddings(
        self, model: str, paper_ids: list[int], texts: list[str], vectors: np.ndarray
    ) -> None:
        """One transaction; a row already there (another process got to it first) is left alone."""
        rows = [
            NewEmbedding(int(pid), to_blob(vector), text_hash(text))
            for pid, text, vector in zip(paper_ids, texts, vectors, strict=True)
        ]
        self.embeddings.add(model, rows)

    def counts_by_model(self) -> dict[str, int]:
        return self.embeddings.counts_by_model()

    # -- key phrases ----------------------------------------------------------------------------------

    def _store_phrases(self, model: str, rows, texts: list[str], vectors: np.ndarray, tokens) -> None:
        found = [
            NewKeyPhrases(r.paper_id, kp.phrases, kp.key_sentence, text_hash(text))
            for r, text, vector, token in zip(rows, texts, vectors, tokens, strict=True)
            for kp in (extract_phrases(r.title.strip(), text, vector, token),)
        ]
        self.phrases.add(model, found)

    def can_extract_phrases(self) -> bool:
        return hasattr(self.embedder(self.settings.embedding_model), "embed_documents_with_tokens")

    def extract_missing_phrases(
        self, *, batch_size: int = EMBED_BATCH, on_progress: Progress = _no_progress, total: int | None = None
    ) -> int:
        """Key phrases for every paper lacking them (papers embedded before phrases existed, or by another
        model): one forward pass of the configured model each, one committed batch at a time."""
        model = self.settings.embedding_model
        if not self.can_extract_phrases():
            return 0
        embedder = self.embedder(model)
        done, last = 0, 0
        while True:
            rows = self.phrases.missing(last, batch_size)
            if not rows:
                return done
            texts = [document_text(r.title, r.abstract) for r in rows]
            vectors, tokens = embedder.embed_documents_with_tokens(texts)  # type: ignore[attr-defined]
            self._store_phrases(model, rows, texts, vectors, tokens)
            done += len(rows)
            last = rows[-1].paper_id
            on_progress("phrases", done, total)

    def _phrase_step(self, report: SyncReport, limit: int, batch_size: int, on_progress: Progress) -> None:
        missing = self.phrases.count_missing()
        if missing and self.settings.embedding_model == DEFAULT_EMBEDDING_MODEL:
            missing -= self.load_shipped_phrases()
        if missing and (limit < 0 or missing <= limit) and self.can_extract_phrases():
            started = time.perf_counter()
            report.phrases += self.extract_missing_phrases(
                batch_size=batch_size, on_progress=on_progress, total=missing
            )
            report.phrase_seconds += time.perf_counter() - started
            missing = self.phrases.count_missing()
        report.phrases_pending = missing

    def load_shipped_phrases(self) -> int:
        """Key phrases that ship with dailypapers for the demo papers (same text, same model)."""
        if not SHIPPED_PHRASES.exists():
            return 0
        with gzip.open(SHIPPED_PHRASES, "rt", encoding="utf-8") as f:
            shipped = json.load(f)
        if shipped.get("model") != DEFAULT_EMBEDDING_MODEL:
            return 0
        by_id = {item["arxiv_id"]: item for item in shipped["papers"]}
        rows = []
        for paper in self.phrases.lacking(list(by_id)):
            item = by_id[paper.arxiv_id]
            if text_hash(document_text(paper.title, paper.abstract)) == item["text_hash"]:
                rows.append(
                    NewKeyPhrases(paper.paper_id, item["phrases"], item["key_sentence"], item["text_hash"])
                )
        for start in range(0, len(rows), READ_CHUNK):
            self.phrases.add(DEFAULT_EMBEDDING_MODEL, rows[start : start + READ_CHUNK])
        return len(rows)

    # -- models ---------------------------------------------------------------------------------------

    def active_model(self) -> str | None:
        return state.get(self.engine, state.ACTIVE_MODEL)

    def _maybe_switch(self, report: SyncReport, publish: bool = True) -> None:
        """Make the configured model active once every paper has an embedding from it."""
        target = self.settings.embedding_model
        active = self.active_model()
        if active != target and self.count_missing(target) == 0:
            if publish:
                self.vector_index(target).rebuild()
            state.put(self.engine, state.ACTIVE_MODEL, target)
            report.switched_to = target
            active = target
        report.active_model = active

    def _models_to_fill(self) -> list[str]:
        # The serving model first: new papers must stay findable while a new model's set is being filled.
        return list(dict.fromkeys(m for m in (self.active_model(), self.settings.embedding_model) if m))

    # -- the two entry points -------------------------------------------------------------------------

    def sync(
        self,
        *,
        embed_limit: int | None = None,
        on_progress: Progress = _no_progress,
        batch_size: int = EMBED_BATCH,
    ) -> SyncReport:
        """After an import: index what changed; embed what lacks an embedding when there are at most
        `embed_limit` such papers (default: the `embedding_inline_limit` setting; negative: no limit)."""
        started = time.perf_counter()
        report = SyncReport()
        limit = self.settings.embedding_inline_limit if embed_limit is None else embed_limit
        report.keyword_indexed, report.keyword_full = self.sync_keyword(on_progress=on_progress)
        for model in self._models_to_fill():
            missing = self.count_missing(model)
            if missing and model == DEFAULT_EMBEDDING_MODEL:
                missing -= self.load_shipped_embeddings()
            if missing and (limit < 0 or missing <= limit):
                embed_started = time.perf_counter()
                report.embedded[model] = self.embed_missing(
                    model, batch_size=batch_size, on_progress=on_progress, total=missing
                )
                report.embed_seconds += time.perf_counter() - embed_started
                missing = self.count_missing(model)
            report.pending[model] = missing
        self._phrase_step(report, limit, batch_size, on_progress)
        self._maybe_switch(report)
        for model in self._models_to_fill():
            vectors = self.vector_index(model)
            if vectors.read_manifest() is None or vectors.lag() >= PUBLISH_LAG:
                vectors.ensure_loaded()
                vectors.publish()
        report.seconds = time.perf_counter() - started
        return report

    def build(self, *, on_progress: Progress = _no_progress, batch_size: int = EMBED_BATCH) -> SyncReport:
        """Everything from the database: the keyword index rebuilt, every missing embedding made, the
        vector index rebuilt and swapped in atomically. Resumable: embeddings already stored are kept."""
        started = time.perf_counter()
        report = SyncReport()
        report.keyword_indexed, report.keyword_full = self.sync_keyword(full=True, on_progress=on_progress)
        for model in self._models_to_fill():
            missing = self.count_missing(model)
            embed_started = time.perf_counter()
            report.embedded[model] = self.embed_missing(
                model, batch_size=batch_size, on_progress=on_progress, total=missing
            )
            report.embed_seconds += time.perf_counter() - embed_started
            report.pending[model] = self.count_missing(model)
        self._phrase_step(report, -1, batch_size, on_progress)
        for model in self._models_to_fill():
            vectors = self.vector_index(model)
            vectors.rebuild(on_progress=lambda done, v=vectors: on_progress(f"vectors:{v.model}", done, None))
        self._maybe_switch(report, publish=False)
        report.seconds = time.perf_counter() - started
        return report

    def load_shipped_embeddings(self) -> int:
        """Embeddings that ship with dailypapers (the demo papers, by the packaged model), for those of its
        papers whose text is the same: importing the bundled slice needs no embedding at all."""
        if not SHIPPED_EMBEDDINGS.exists():
            return 0
        with np.load(SHIPPED_EMBEDDINGS, allow_pickle=False) as data:
            model = str(data["model"])
            if model != DEFAULT_EMBEDDING_MODEL:
                return 0
            arxiv_ids = [str(a) for a in data["arxiv_ids"]]
            hashes = [str(h) for h in data["text_hashes"]]
            vectors = data["vectors"]
        return self.load_embeddings(model, arxiv_ids, vectors, hashes)

    def load_embeddings(
        self, model: str, arxiv_ids: list[str], vectors: np.ndarray, hashes: list[str]
    ) -> int:
        """Store precomputed embeddings for the papers they were made from (same id, same text)."""
        rows = self.embeddings.lacking(model, arxiv_ids)
        position = {a: i for i, a in enumerate(arxiv_ids)}
        ids, texts, chosen = [], [], []
        for row in rows:
            i = position[row.arxiv_id]
            text = document_text(row.title, row.abstract)
            if text_hash(text) == hashes[i]:
                ids.append(row.paper_id)
                texts.append(text)
                chosen.append(i)
        for start in range(0, len(ids), READ_CHUNK):
            part = slice(start, start + READ_CHUNK)
            self.store_embeddings(model, ids[part], texts[part], vectors[chosen[part]])
        return len(ids)
