"""What a digest run chooses from, in the database: the papers of a period, their embeddings, and the vectors
of the readers' semantic saved searches (`digest_query_vectors`, one per model and query)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import Engine, or_, select

from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import digest_query_vectors, embeddings, feed_entries, papers

CHUNK = 500  # ids or queries per IN (...) list


@dataclass(frozen=True, slots=True)
class PeriodPaper:
    id: int
    arxiv_id: str
    title: str
    authors: list[str]
    abstract: str
    upvotes: int
    categories: list[str]
    on_feed: bool  # on the feed in the period (else only first published in it)
    trend_key: float | None


class CandidateStore(Protocol):
    """What a digest run reads (and, for saved searches, writes) besides its deliveries."""

    def period_papers(self, start: date, end: date) -> list[PeriodPaper]: ...
    def paper_vectors(self, model: str, paper_ids: Iterable[int]) -> list[tuple[int, bytes]]: ...
    def query_vectors(self, model: str, queries: Iterable[str]) -> dict[str, bytes]: ...
    def add_query_vectors(self, model: str, vectors: dict[str, bytes]) -> None: ...


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SqlCandidateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def period_papers(self, start: date, end: date) -> list[PeriodPaper]:
        """Papers on the feed from `start` to `end` (inclusive), and papers first published then; withdrawn
        papers left out."""
        since = datetime.combine(start, time(0), tzinfo=UTC)
        until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)
        in_period = select(feed_entries.c.paper_id).where(
            feed_entries.c.day >= start, feed_entries.c.day <= end, feed_entries.c.removed_at.is_(None)
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
            or_(
                papers.c.id.in_(in_period), (papers.c.published_at >= since) & (papers.c.published_at < until)
            )
        )
        with self.engine.connect() as conn:
            feed_ids = set(conn.execute(in_period).scalars())
            return [
                PeriodPaper(
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

    def paper_vectors(self, model: str, paper_ids: Iterable[int]) -> list[tuple[int, bytes]]:
        """(paper id, stored embedding) of these papers that have one for `model`."""
        found: list[tuple[int, bytes]] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(paper_ids)):
                rows = conn.execute(
                    select(embeddings.c.paper_id, embeddings.c.vector).where(
                        embeddings.c.model == model, embeddings.c.paper_id.in_(chunk)
                    )
                )
                found += [(paper_id, blob) for paper_id, blob in rows]
        return found

    def query_vectors(self, model: str, queries: Iterable[str]) -> dict[str, bytes]:
        """The stored vectors of these saved searches for `model`."""
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(queries)):
                rows = conn.execute(
                    select(digest_query_vectors.c.query, digest_query_vectors.c.vector).where(
                        digest_query_vectors.c.model == model, digest_query_vectors.c.query.in_(chunk)
                    )
                )
                found.update({query: blob for query, blob in rows})
        return found

    def add_query_vectors(self, model: str, vectors: dict[str, bytes]) -> None:
        """Store vectors of saved searches; one stored meanwhile (by another process) is kept."""
        if not vectors:
            return
        now = datetime.now(UTC)
        rows = [{"model": model, "query": q, "vector": v, "created_at": now} for q, v in vectors.items()]
        with write_transaction(self.engine) as conn:
            conn.execute(
                conflict_insert(self.engine.dialect.name, digest_query_vectors).on_conflict_do_nothing(), rows
            )
