"""`Search`: keyword, semantic and hybrid search, and similar papers, over the derived indexes.

Build one per process with `build_search(settings, engine)` and keep it (it caches the model and the
indexes); it is safe to share between threads. Nothing is loaded until the first search.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from dailypapers import arxiv_ids
from dailypapers.search import query as query_text
from dailypapers.search import state
from dailypapers.search.analysis import RANKINGS, TOPICAL_MAX_WORDS, Ranking, classify, mix_feedback
from dailypapers.search.embedder import EmbeddingModelUnavailable, SentenceEmbedder, document_text
from dailypapers.search.indexer import EmbedderFactory, Indexer, SyncReport
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.types import MODES, Embedder, Hit, InvalidQuery, Mode, SearchFilters
from dailypapers.search.vectors import VectorIndex, from_blob
from dailypapers.settings import Settings
from dailypapers.store.embeddings import SqlEmbeddings
from dailypapers.store.engine import Engine, search_index_dir

log = logging.getLogger(__name__)

# Hybrid ranking is a convex combination of the two normalized scores. Tuned on one labelled query set and
# checked on another (docs/search.md): it beat reciprocal rank fusion (k 10-60, any weights), which let a
# semantic near-miss at rank 1 push a paper the query names out of the top places.
KEYWORD_WEIGHT = 0.8
FUSION_CANDIDATES = 200  # from each list, for hybrid ranking
EXACT_FILTER_MAX = 20_000  # filters passing at most this many papers: exact search among them
MAX_OFFSET = 10_000
MAX_LIMIT = 1_000
QUERY_VECTORS_KEPT = 4096  # 384 floats each: 6 MB
SIMILAR_KEPT = 20_000  # papers' neighbour lists (ten hits each)


class Search:
    """The SearchService: see dailypapers.search.types."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        embedder_factory: EmbedderFactory | None = None,
        index_dir: Path | None = None,
        refresh_interval: float = 1.0,
        ranking: Ranking | None = None,
    ) -> None:
        self.engine = engine
        self.ranking = ranking or RANKINGS["now"]
        self.settings = settings
        self.index_dir = Path(index_dir or search_index_dir(settings))
        self.keyword = KeywordIndex(self.index_dir)
        self.embeddings = SqlEmbeddings(engine)
        self.refresh_interval = refresh_interval
        self._embedder_factory = embedder_factory or (
            lambda name: SentenceEmbedder.from_settings(settings, name)
        )
        self._embedders: dict[str, Embedder] = {}
        self._vectors: dict[str, VectorIndex] = {}
        self._model: str | None = None
        self._index_id: str | None = None
        self._last_refresh = 0.0
        self._last_follow = 0.0
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._stop = threading.Event()
        # The vectors of recent queries: people search for the same topics ("attention", "diffusion"), and
        # embedding a query is a third of a hybrid search's CPU. Bounded; one model's vectors at a time.
        self._query_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._similar: OrderedDict[tuple[str, int, int], tuple[tuple[int, int], list[Hit]]] = OrderedDict()

    # -- the service --------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        filters: SearchFilters = SearchFilters(),
        offset: int = 0,
        limit: int = 20,
    ) -> list[Hit]:
        if mode not in MODES:
            raise InvalidQuery(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
        parsed = query_text.parse(query)
        offset = max(0, min(int(offset), MAX_OFFSET))
        limit = max(0, min(int(limit), MAX_LIMIT))
        if limit == 0:
            return []
        self._maybe_refresh()
        if mode == "semantic":
            found = self._semantic(parsed.text, filters, offset + limit)[offset:]
            return [Hit(pid, score, semantic_rank=offset + i + 1) for i, (pid, score) in enumerate(found)]
        if mode == "keyword":
            found = self.keyword.search(parsed, filters, offset=offset, limit=limit, ranking=self.ranking)
            hits = [Hit(pid, score, keyword_rank=offset + i + 1) for i, (pid, score) in enumerate(found)]
        else:
            hits = self._hybrid(parsed, filters, offset, limit)
        expansions = self._expansions(parsed)
        if expansions:
            for hit in hits:
                hit.extra["expansions"] = expansions
        return hits

    def _expansions(self, parsed: query_text.ParsedQuery) -> list[tuple[str, str]]:
        """(typed, also meant) for the acronyms the keyword query expanded: for explaining the results."""
        if self.ranking.acronym_boost <= 0 or len(parsed.words) > TOPICAL_MAX_WORDS:
            return []
        return [
            (" ".join(parsed.words[e.start : e.end]), " ".join(e.words))
            for e in self.keyword.acronyms().expand(parsed.words)
        ]

    def similar(self, paper_id: int, *, limit: int = 10) -> list[Hit]:
        """Papers nearest to this one's embedding (itself excluded)."""
        if limit <= 0:
            return []
        self._maybe_refresh()
        model = self.model
        vectors = self.vectors(model)
        vectors.ensure_loaded()
        # A paper's neighbours change only when the vector index does (new papers, a rebuild): kept per paper
        # until then, they spare a paper page its graph search (half of the page's CPU).
        key = (model, paper_id, limit)
        stamp = (vectors.watermark, vectors.size)
        with self._lock:
            kept = self._similar.get(key)
            if kept is not None and kept[0] == stamp:
                self._similar.move_to_end(key)
                return list(kept[1])
        vector = vectors.vector(paper_id)
        if vector is None:
            vector = self._vector_of(paper_id, model)
        if vector is None:
            return []
        found = [(pid, s) for pid, s in vectors.search(vector, limit + 1) if pid != paper_id][:limit]
        hits = [Hit(pid, score, semantic_rank=i + 1) for i, (pid, score) in enumerate(found)]
        with self._lock:
            self._similar[key] = (stamp, hits)
            while len(self._similar) > SIMILAR_KEPT:
                self._similar.popitem(last=False)
        return list(hits)

    # -- rankings -------------------------------------------------------------------------------------------

    def _query_vector(self, model: str, text: str) -> np.ndarray:
        key = (model, text)
        with self._lock:
            vector = self._query_vectors.get(key)
            if vector is not None:
                self._query_vectors.move_to_end(key)
                return vector
        vector = self.embedder(model).embed_query(text)
        with self._lock:
            self._query_vectors[key] = vector
            while len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return vector

    def _semantic(
        self, text: str, filters: SearchFilters, k: int, feedback: list[int] = ()
    ) -> list[tuple[int, float]]:
        """Nearest papers to the text's embedding (moved towards the papers of `feedback`, if any)."""
        model = self.model
        vectors = self.vectors(model)
        vectors.ensure_loaded()
        if vectors.size == 0:
            return []
        vector = self._query_vector(model, text)
        if feedback:
            found = [v for v in (vectors.vector(pid) for pid in feedback) if v is not None]
            vector = mix_feedback(vector, found, self.ranking.prf_weight)
        if not _has_filters(filters):
            return vectors.search(vector, k)
        passing = self.keyword.count(filters)
        if passing == 0:
            return []
        if passing <= EXACT_FILTER_MAX:
            return vectors.exact_among(vector, self.keyword.ids_matching(filters, passing), k)
        # Oversample in proportion to how much the filters let through, widening until k pass.
        want = min(vectors.size, max(2 * k, int(k * vectors.size / passing * 1.5) + 10))
        while True:
            found = vectors.search(vector, want)
            keep = self.keyword.keep_matching((pid for pid, _ in found), filters)
            hits = [(pid, score) for pid, score in found if pid in keep]
            if len(hits) >= k or want >= vectors.size:
                return hits[:k]
            want = min(vectors.size, want * 4)

    def _hybrid(self, parsed, filters: SearchFilters, offset: int, limit: int) -> list[Hit]:
        ranking = self.ranking
        depth = max(FUSION_CANDIDATES, offset + limit)
        profile = classify(
            parsed,
            has_arxiv_id=any(_is_arxiv_id(w) for w in parsed.words),
            names_author=ranking.author_check and self.keyword.names_author(parsed),
        )
        weight = ranking.keyword_weight(profile.kind)
        keyword = self.keyword.search(parsed, filters, offset=0, limit=depth, ranking=ranking)
        # Author names and arXiv ids are for the keyword side; there is no meaning to embed in them.
        words = [w for w in parsed.words if not _is_arxiv_id(w)]
        semantic_text = " ".join(words + parsed.phrases)
        if ranking.acronyms_in_meaning and profile.kind == "topical":
            expansions = self.keyword.acronyms().expand(words)
            if expansions:
                semantic_text += " (" + "; ".join(" ".join(e.words) for e in expansions) + ")"
        semantic: list[tuple[int, float]] = []
        if semantic_text.strip() and weight < 1.0:
            feedback = []
            if ranking.prf_docs and profile.kind == "topical":
                feedback = [pid for pid, _ in keyword[: ranking.prf_docs]]
            try:
                semantic = self._semantic(semantic_text, filters, depth, feedback)
            except EmbeddingModelUnavailable as exc:
                log.warning("semantic search unavailable, keyword results only: %s", exc)
        fused = fuse(keyword, semantic, weight)
        # Ties go to the keyword match: it can be explained.
        ranked = sorted(
            fused,
            key=lambda h: (-h.score, h.keyword_rank or depth + 1, h.semantic_rank or depth + 1, h.paper_id),
        )
        return ranked[offset : offset + limit]

    def _vector_of(self, paper_id: int, model: str) -> np.ndarray | None:
        """A paper's stored embedding, or one made now from its text (a paper not embedded yet)."""
        blob = self.embeddings.vector(paper_id, model)
        if blob is not None:
            return from_blob(blob).astype(np.float32)
        row = self.embeddings.paper_text(paper_id)
        if row is None:
            return None
        try:
            return self.embedder(model).embed_documents([document_text(row.title, row.abstract)])[0]
        except EmbeddingModelUnavailable:
            return None

    # -- parts ---------------------------------------------------------------------------------------------

    @property
    def index_id(self) -> str:
        if self._index_id is None:
            self._index_id = state.index_id(self.engine)
        return self._index_id

    @property
    def model(self) -> str:
        """The model queries are embedded with: the active one (see the indexer), else the configured one."""
        if self._model is None:
            self._model = state.get(self.engine, state.ACTIVE_MODEL) or self.settings.embedding_model
        return self._model

    def embedder(self, model: str) -> Embedder:
        with self._lock:
            if model not in self._embedders:
                self._embedders[model] = self._embedder_factory(model)
            return self._embedders[model]

    def vectors(self, model: str) -> VectorIndex:
        with self._lock:
            if model not in self._vectors:
                self._vectors[model] = VectorIndex(self.index_dir, self.engine, model, index_id=self.index_id)
            return self._vectors[model]

    # -- keeping up with other processes -------------------------------------------------------------

    def _maybe_refresh(self) -> None:
        if self._background is not None:
            return
        if time.monotonic() - self._last_refresh >= self.refresh_interval:
            self.refresh()

    def refresh(self) -> None:
        """Notice a model switch, a rebuilt vector file, and new embeddings (catching up from the table).
        The keyword index reloads by itself when another process commits."""
        if not self._refresh_lock.acquire(blocking=False):
            return  # another thread is at it
        try:
            self._last_refresh = time.monotonic()
            active = state.get(self.engine, state.ACTIVE_MODEL) or self.settings.embedding_model
            if active != self._model:
                self._model = active
                with self._lock:  # vectors of the old model are no longer served
                    self._vectors = {m: v for m, v in self._vectors.items() if m == active}
            vectors = self._vectors.get(active)
            if vectors is not None:
                vectors.refresh()
            self._follow()
        except Exception:  # a refresh must never fail a search
            log.exception("search refresh failed")
        finally:
            self._refresh_lock.release()

    def _follow(self) -> None:
        """On a node with an index directory of its own, index what changed in the database since this
        node's keyword watermark (kept in its own index directory): papers another node ingested become
        searchable here within `search_follow_seconds`. A node's second process finds the index's writer
        taken and waits its turn; the first one's commit reloads both readers."""
        period = self.settings.search_follow_seconds
        if not period or time.monotonic() - self._last_follow < period:
            return
        self._last_follow = time.monotonic()
        indexed, full = self.indexer().sync_keyword()
        if indexed:
            log.info("search caught up: %d papers indexed%s", indexed, " (rebuilt)" if full else "")

    def start_background_refresh(self, interval: float | None = None) -> None:
        """Catch up in a daemon thread every `interval` seconds, keeping that work off the request path."""
        if self._background is not None:
            return
        period = interval or self.refresh_interval
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(period):
                self.refresh()

        self._background = threading.Thread(target=loop, name="search-refresh", daemon=True)
        self._background.start()

    def close(self) -> None:
        self._stop.set()
        if self._background is not None:
            self._background.join(timeout=5)
            self._background = None

    # -- writing (for the processes that ingest) ------------------------------------------------------

    def indexer(self) -> Indexer:
        return Indexer(
            self.engine,
            self.settings,
            embedder_factory=self.embedder,
            keyword=self.keyword,
            index_dir=self.index_dir,
        )

    def sync(self, **kwargs) -> SyncReport:
        """Index what changed in the database (see Indexer.sync), then serve it at once."""
        report = self.indexer().sync(**kwargs)
        self.refresh()
        return report

    def status(self) -> dict:
        indexer = self.indexer()
        model = self.model
        vectors = self.vectors(model)
        manifest = vectors.read_manifest()
        keyword_state = self.keyword.read_state()
        return {
            "index_dir": str(self.index_dir),
            "configured_model": self.settings.embedding_model,
            "active_model": state.get(self.engine, state.ACTIVE_MODEL),
            "embeddings": indexer.counts_by_model(),
            "missing": {
                m: indexer.count_missing(m) for m in dict.fromkeys([model, self.settings.embedding_model])
            },
            "keyword": {
                "documents": self.keyword.num_docs(),
                "bytes": self.keyword.size_bytes(),
                "watermark": keyword_state.modified_at.isoformat() if keyword_state.modified_at else None,
                "feed_entry_watermark": keyword_state.feed_entry_id,
                "current": keyword_state.index_id == self.index_id,
            },
            "vectors": {
                "model": model,
                "file": manifest.file if manifest else None,
                "vectors": manifest.count if manifest else 0,
                "bytes": vectors.file_size(),
                "watermark": manifest.watermark if manifest else 0,
                "lag": vectors.lag(),
            },
        }


def _is_arxiv_id(word: str) -> bool:
    return any(ch.isdigit() for ch in word) and arxiv_ids.is_valid(word.strip(".,;()[]"))


def _has_filters(filters: SearchFilters) -> bool:
    return bool(filters.published_from or filters.published_to or filters.categories or filters.daily_only)


def build_search(
    settings: Settings,
    engine: Engine,
    *,
    embedder_factory: EmbedderFactory | None = None,
    index_dir: Path | None = None,
) -> Search:
    """The search service for a deployment: cheap to call (nothing loads until first use)."""
    return Search(engine, settings, embedder_factory=embedder_factory, index_dir=index_dir)


def fuse(
    keyword: list[tuple[int, float]], semantic: list[tuple[int, float]], keyword_weight: float
) -> list[Hit]:
    """score = w * bm25 / best bm25 + (1 - w) * min-max scaled cosine; a list that misses a paper adds 0."""
    fused: dict[int, Hit] = {}
    best = max((score for _, score in keyword), default=0.0)
    for rank, (pid, score) in enumerate(keyword, start=1):
        fused[pid] = Hit(pid, keyword_weight * (score / best if best > 0 else 0.0), keyword_rank=rank)
    if semantic:
        high = max(score for _, score in semantic)
        low = min(score for _, score in semantic)
        spread = high - low
        for rank, (pid, score) in enumerate(semantic, start=1):
            part = (1.0 - keyword_weight) * ((score - low) / spread if spread > 0 else 1.0)
            hit = fused.setdefault(pid, Hit(pid, 0.0))
            hit.score += part
            hit.semantic_rank = rank
    return list(fused.values())
