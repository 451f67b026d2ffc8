"""The papers a run chooses from (its `Pool`), and saved searches matched against them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import numpy as np

from dailypapers.digests.compose import Paper, Period, Pool, SearchMatcher, keyword_matcher
from dailypapers.search.vectors import from_blob, to_blob
from dailypapers.store.digest_candidates import SqlCandidateStore
from dailypapers.store.subscriptions import SqlSubscriptionStore

log = logging.getLogger(__name__)

SEARCH_DEPTH = 200  # hits asked of the engine per saved search, before keeping the period's papers
SEMANTIC_MIN_SCORE = 0.35  # cosine: below it a "nearest" paper is not about the query at all
SEARCH_LOOKBACK_DAYS = 30  # papers on the feed in the period may have been published this long before


def load_pool(engine, period: Period) -> Pool:
    """Papers on the feed in the period, and papers first published in it."""
    found = SqlCandidateStore(engine).period_papers(period.start, period.end)
    return Pool.of(
        Paper(
            id=p.id,
            arxiv_id=p.arxiv_id,
            title=p.title,
            authors=p.authors,
            abstract=p.abstract,
            upvotes=p.upvotes,
            categories=p.categories,
            on_feed=p.on_feed,
            trend_key=p.trend_key,
        )
        for p in found
    )


def active_model(settings, engine) -> str:
    """The model the search engine embeds with (the active set, else the configured one)."""
    from dailypapers.search import state

    return state.get(engine, state.ACTIVE_MODEL) or settings.embedding_model


def semantic_queries(engine, frequency: str | None = None) -> set[str]:
    """The distinct semantic saved searches of active subscribers (of one frequency)."""
    return SqlSubscriptionStore(engine).semantic_searches(frequency)


def _embed_in_child(settings, model: str, queries: list[str]) -> list[bytes]:
    from dailypapers.search.embedder import SentenceEmbedder

    embedder = SentenceEmbedder.from_settings(settings, model)
    return [to_blob(embedder.embed_query(q)) for q in queries]


def embed_elsewhere(settings, model: str, queries: list[str]) -> list[np.ndarray]:
    """Embed queries in a short-lived process, so the sender never holds the model (hundreds of MB)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        blobs = pool.submit(_embed_in_child, settings, model, queries).result()
    return [from_blob(b).astype(np.float32) for b in blobs]


def ensure_query_vectors(
    settings, engine, queries: set[str], *, embed: Callable[[list[str]], list] | None = None
) -> dict[str, np.ndarray]:
    """The vectors of these semantic queries for the active model: stored ones, the rest embedded now (by
    `embed`, else in a child process) and stored for the next run."""
    model = active_model(settings, engine)
    store = SqlCandidateStore(engine)
    wanted = {q for q in queries if q}
    vectors = {
        q: from_blob(blob).astype(np.float32) for q, blob in store.query_vectors(model, wanted).items()
    }
    missing = sorted(wanted - vectors.keys())
    if missing:
        try:
            made = embed(missing) if embed is not None else embed_elsewhere(settings, model, missing)
        except Exception as exc:  # no model here: those searches fall back to keywords
            log.warning("could not embed %d saved searches: %s", len(missing), exc)
            return vectors
        store.add_query_vectors(model, {q: to_blob(v) for q, v in zip(missing, made, strict=True)})
        vectors.update({q: np.asarray(v, dtype=np.float32) for q, v in zip(missing, made, strict=True)})
    return vectors


def _pool_vectors(engine, model: str, pool: Pool) -> tuple[list[int], np.ndarray | None]:
    found = SqlCandidateStore(engine).paper_vectors(model, pool.papers)
    if not found:
        return [], None
    return [paper_id for paper_id, _ in found], np.stack([from_blob(b) for _, b in found]).astype(np.float32)


def search_matcher(
    settings,
    engine,
    pool: Pool,
    period: Period,
    *,
    query_vectors: dict[str, np.ndarray] | None = None,
) -> SearchMatcher:
    """Saved searches against the period's papers, each distinct (query, mode) once per run.

    Keyword searches go through the keyword index when it exists (else every word must be in the title or
    abstract); semantic ones compare the query's stored vector with the papers' embeddings (cosine at least
    SEMANTIC_MIN_SCORE), falling back to keywords for a query or paper without one.
    """
    fallback = keyword_matcher(pool)
    keyword = _keyword_engine(settings, engine, period, pool)
    paper_ids, matrix = (
        _pool_vectors(engine, active_model(settings, engine), pool) if query_vectors else ([], None)
    )
    cache: dict[tuple[str, str], list[int]] = {}

    def match(query: str, mode: str) -> list[int]:
        key = (query, mode)
        if key not in cache:
            vector = (query_vectors or {}).get(query) if mode == "semantic" else None
            if vector is not None and matrix is not None:
                scores = matrix @ vector
                order = np.argsort(-scores, kind="stable")[:SEARCH_DEPTH]
                cache[key] = [paper_ids[i] for i in order if scores[i] >= SEMANTIC_MIN_SCORE]
            elif keyword is not None:
                cache[key] = keyword(query)
            else:
                cache[key] = fallback(query, "keyword")
        return cache[key]

    match.close = getattr(keyword, "close", lambda: None)  # type: ignore[attr-defined]
    return match


def _keyword_engine(settings, engine, period: Period, pool: Pool):
    """Keyword search through the tantivy index (no embedding model), or None without an index."""
    from dailypapers.store.engine import search_index_dir

    if not search_index_dir(settings).exists():
        return None
    try:
        from dailypapers.search.service import build_search
        from dailypapers.search.types import InvalidQuery, SearchFilters

        service = build_search(settings, engine)
        if not service.keyword.exists():
            return None
    except Exception as exc:  # a broken index: digests still go out
        log.warning("keyword index unavailable for saved searches: %s", exc)
        return None
    filters = SearchFilters(
        published_from=period.start - timedelta(days=SEARCH_LOOKBACK_DAYS), published_to=period.end
    )

    def search(query: str) -> list[int]:
        try:
            hits = service.search(query, mode="keyword", filters=filters, limit=SEARCH_DEPTH)
        except InvalidQuery:
            return []
        except Exception as exc:
            log.warning("saved search %r failed: %s", query[:40], exc)
            return []
        return [h.paper_id for h in hits if h.paper_id in pool.papers]

    search.close = service.close  # type: ignore[attr-defined]
    return search
