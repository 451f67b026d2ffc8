"""What For you's ranking reads: the candidate papers of a period with their vectors, and the rated papers'.

Candidates are the papers published in [start, end] (or, `daily`, those on the feed on a day in it); withdrawn
papers and papers without an embedding by the model are left out (nothing to compare them with yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, and_, select

from dailypapers.store.authors import Followed
from dailypapers.store.schema import (
    embeddings,
    feed_entries,
    paper_authors,
    paper_categories,
    papers,
)

READ_CHUNK = 2000
MAX_CANDIDATES = 20_000  # a month has ~7,000; a longer range is cut to its newest papers


@dataclass(frozen=True, slots=True)
class Candidate:
    paper_id: int
    upvotes: int
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaperVector:
    paper_id: int
    title: str
    abstract: str
    vector: bytes
    authors: list[str]


@dataclass(frozen=True, slots=True)
class FollowMatch:
    """A paper matches what a reader follows: `kind` (author, org, category) and its name on the paper."""

    paper_id: int
    kind: str
    label: str


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class SqlRecommendPool:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def candidates(self, model: str, start: date, end: date, *, daily: bool) -> list[Candidate]:
        """The period's papers with an embedding by `model`, newest first (ids and popularity only)."""
        # A join on the (model, paper_id) unique index: one lookup per paper of the period, where an
        # IN (subquery) would read every embedding's row first.
        query = (
            select(papers.c.id, papers.c.upvotes, papers.c.categories)
            .join(embeddings, and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model))
            .where(papers.c.withdrawn_at.is_(None))
        )
        if daily:
            on_feed = select(feed_entries.c.paper_id).where(
                feed_entries.c.day >= start, feed_entries.c.day <= end, feed_entries.c.removed_at.is_(None)
            )
            query = query.where(papers.c.id.in_(on_feed))
        else:
            query = query.where(
                papers.c.published_at >= _midnight(start),
                papers.c.published_at < _midnight(end + timedelta(days=1)),
            )
        query = query.order_by(papers.c.published_at.desc(), papers.c.id.desc()).limit(MAX_CANDIDATES)
        with self.engine.connect() as conn:
            return [Candidate(r.id, r.upvotes or 0, tuple(r.categories or ())) for r in conn.execute(query)]

    def vectors(self, model: str, paper_ids: Sequence[int]) -> list[PaperVector]:
        """Text and vector of these papers (those with an embedding by `model`)."""
        found: list[PaperVector] = []
        wanted = list(dict.fromkeys(paper_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), READ_CHUNK):
                chunk = wanted[start : start + READ_CHUNK]
                query = (
                    select(
                        papers.c.id, papers.c.title, papers.c.abstract, embeddings.c.vector, papers.c.authors
                    )
                    .join(embeddings, embeddings.c.paper_id == papers.c.id)
                    .where(embeddings.c.model == model, papers.c.id.in_(chunk))
                )
                found += [PaperVector(*row) for row in conn.execute(query)]
        return found

    def followed_among(self, followed: Followed, paper_ids: Sequence[int]) -> list[FollowMatch]:
        """Which of these papers are by an author, of an organization or in a category the reader follows
        (`AuthorStore.followed`). A label is the name as the paper spells it, so a reason reads as the card
        does."""
        if not followed:
            return []  # most readers follow nothing: the pool's papers are not read for them
        keys = {"author": followed.authors, "org": followed.orgs, "category": followed.categories}
        wanted = list(dict.fromkeys(paper_ids))
        found: list[FollowMatch] = []
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), READ_CHUNK):
                chunk = wanted[start : start + READ_CHUNK]
                for kind, query in _follow_queries(keys, chunk):
                    found += [FollowMatch(pid, kind, label) for pid, label in conn.execute(query)]
        return found


def _follow_queries(keys: dict[str, list[str]], chunk: list[int]):
    """(kind, query of (paper id, label)) for each kind the reader follows something of; a paper's authors in
    their order, so a reason names them as the card does."""
    by_author, in_category = paper_authors.c, paper_categories.c
    columns = {  # paper id, label, the key a follow names, order
        "author": (by_author.paper_id, by_author.name, by_author.key, by_author.position),
        "org": (papers.c.id, papers.c.organization, papers.c.organization_key, papers.c.id),
        "category": (in_category.paper_id, in_category.category, in_category.category, in_category.category),
    }
    for kind, (paper_id, label, key, order) in columns.items():
        if keys[kind]:
            query = select(paper_id, label).where(key.in_(keys[kind]), paper_id.in_(chunk))
            yield kind, query.order_by(paper_id, order)
