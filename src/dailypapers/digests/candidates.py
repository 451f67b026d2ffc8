"""The papers a run chooses from (its `Pool`), and saved searches matched against them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import numpy as np
from sqlalchemy import Engine, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from dailypapers.digests.compose import Paper, Period, Pool, SearchMatcher, keyword_matcher
from dailypapers.search.vectors import from_blob, to_blob
from dailypapers.store.engine import write_transaction
from dailypapers.store.schema import digest_query_vectors, embeddings, feed_entries, papers, subscriptions

log = logging.getLogger(__name__)

SEARCH_DEPTH = 200  # hits asked of the engine per saved search, before keeping the period's papers
SEMANTIC_MIN_SCORE = 0.35  # cosine: below it a "nearest" paper is not about the query at all
SEARCH_LOOKBACK_DAYS = 30  # papers on the feed in the period may have been published this long before


def load_pool(engine: Engine, period: Period) -> Pool:
    """Papers on the feed in the period, and papers first published in it."""
    start = datetime.combine(period.start, time(0), tzinfo=UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=UTC)
    in_period = select(feed_entries.c.paper_id).where(
        feed_entries.c.day >= period.start,
        feed_entries.c.day <= period.end,
        feed_entries.c.removed_at.is_(None),
    )
    columns = [
        papers.c.id,
        papers.c.arxiv_id,
        papers.c.title,
        papers.c.authors,
        papers.c.abstract,
        papers.c.upvotes,
        papers.c.categories,
        papers.c.trend_key,
        papers.c.withdrawn_at,
    ]
    query = select(*columns).where(
        or_(papers.c.id.in_(in_period), (papers.c.published_at >= start) & (papers.c.published_at < end))
    )
    with engine.connect() as conn:
        feed_ids = set(conn.execute(in_period).scalars())
        found = [
            Paper(
                id=row.id,
                arxiv_id=row.arxiv_id,
                title=row.title,
                authors=list(row.authors or []),
                abstract=row.abstract or "",
                upvotes=row.upvotes or 0,
                categories=list(row.categories or []),
                on_feed=row.id in feed_ids,
                trend_key=row.trend_key,
            )
            for row in conn.execute(query)
            if row.withdrawn_at is None
        ]
    return Pool.of(found)


def active_model(settings, engine: Engine) -> str:
    """The model the search engine embeds with (the active set, else the configured one)."""
    from dailypapers.search import state

    return state.get(engine, state.ACTIVE_MODEL) or settings.embedding_model


def semantic_queries(engine: Engine, frequency: str | None = None) -> set[str]:
    """The distinct semantic saved searches of active subscribers (of one frequency)."""
    query = select(subscriptions.c.searches).where(subscriptions.c.status == "active")
    if frequency is not None:
        query = query.where(subscriptions.c.frequency == frequency)
    found: set[str] = set()
    with engine.connect() as conn:
        for (searches,) in conn.execution_options(yield_per=2000).execute(query):
            for search in searches or ():
                if search.get("mode") == "semantic":
                    found.add(search["q"])
    return found


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
    settings, engine: Engine, queries: set[str], *, embed: Callable[[list[str]], list] | None = None
) -> dict[str, np.ndarray]:
    """The vectors of these semantic queries for the active model: stored ones, the rest embedded now (by
    `embed`, else in a child process) and stored for the next run."""
    model = active_model(settings, engine)
    vectors: dict[str, np.ndarray] = {}
    wanted = sorted(q for q in queries if q)
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(
                select(digest_query_vectors.c.query, digest_query_vectors.c.vector).where(
                    digest_query_vectors.c.model == model, digest_query_vectors.c.query.in_(chunk)
                )
            )
            for query, blob in rows:
                vectors[query] = from_blob(blob).astype(np.float32)
    missing = [q for q in wanted if q not in vectors]
    if missing:
        try:
            made = embed(missing) if embed is not None else embed_elsewhere(settings, model, missing)
        except Exception as exc:  # no model here: those searches fall back to keywords
            log.warning("could not embed %d saved searches: %s", len(missing), exc)
            return vectors
        now = datetime.now(UTC)
        rows = [
            {"model": model, "query": q, "vector": to_blob(v), "created_at": now}
            for q, v in zip(missing, made, strict=True)
        ]
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        with write_transaction(engine) as conn:
            conn.execute(dialect.insert(digest_query_vectors).on_conflict_do_nothing(), rows)
        vectors.update({q: np.asarray(v, dtype=np.float32) for q, v in zip(missing, made, strict=True)})
    return vectors


def _pool_vectors(engine: Engine, model: str, pool: Pool) -> tuple[list[int], np.ndarray | None]:
    ids: list[int] = []
    blobs: list[bytes] = []
    wanted = sorted(pool.papers)
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            rows = conn.execute(
                select(embeddings.c.paper_id, embeddings.c.vector).where(
                    embeddings.c.model == model, embeddings.c.paper_id.in_(wanted[start : start + 500])
                )
            )
            for paper_id, blob in rows:
                ids.append(paper_id)
                blobs.append(blob)
    if not ids:
        return ids, None
    return ids, np.stack([from_blob(b) for b in blobs]).astype(np.float32)


def search_matcher(
    settings,
    engine: Engine,
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


def _keyword_engine(settings, engine: Engine, period: Period, pool: Pool):
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
