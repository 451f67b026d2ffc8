"""What the trends are computed from: each paper's day, upvotes, categories and key phrases, in one read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from dailypapers.papers import as_utc
from dailypapers.store.schema import feed_entries, key_phrases, papers, upvotes

READ_CHUNK = 20_000

_FACTS = (
    select(
        papers.c.id,
        func.coalesce(papers.c.published_at, papers.c.created_at).label("day"),
        papers.c.upvotes,
        papers.c.categories,
        papers.c.ai_keywords,
        key_phrases.c.phrases,
    )
    .select_from(papers.outerjoin(key_phrases, key_phrases.c.paper_id == papers.c.id))
    .where(papers.c.withdrawn_at.is_(None))
)


class SqlTrendFacts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self) -> Iterator[tuple[int, date, int, list[str], list[str], list[str]]]:
        """(paper id, day, upvotes, categories, extracted phrases, imported key words) of every paper not
        withdrawn, in id order."""
        last = 0
        while True:
            query = _FACTS.where(papers.c.id > last).order_by(papers.c.id).limit(READ_CHUNK)
            with self.engine.connect() as conn:
                chunk = conn.execute(query).all()
            if not chunk:
                return
            for row in chunk:
                yield (
                    row.id,
                    _day(row.day),
                    row.upvotes or 0,
                    list(row.categories or []),
                    list(row.phrases or []),
                    list(row.ai_keywords or []),
                )
            last = chunk[-1].id

    def signature(self) -> tuple[Any, ...]:
        """Changes when papers, their upvotes or their phrases do: a cheap check before recomputing."""
        with self.engine.connect() as conn:
            corpus = conn.execute(
                select(func.count(), func.max(papers.c.modified_at), func.sum(papers.c.upvotes)).select_from(
                    papers
                )
            ).one()
            phrases = conn.execute(
                select(func.count(), func.max(key_phrases.c.created_at)).select_from(key_phrases)
            ).one()
        return (*corpus, *phrases)


def _day(value: Any) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    moment = as_utc(value)
    return moment.date() if moment is not None else date(1970, 1, 1)


class SqlPaperDays:
    """Each paper's arXiv id and day (its day on the feed when it was on it, else its publication day)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def days(self) -> dict[int, tuple[str, date]]:
        first_day = (
            select(feed_entries.c.paper_id, func.min(feed_entries.c.day).label("day"))
            .where(feed_entries.c.removed_at.is_(None))
            .group_by(feed_entries.c.paper_id)
            .subquery()
        )
        query = select(
            papers.c.id,
            papers.c.arxiv_id,
            first_day.c.day,
            func.coalesce(papers.c.published_at, papers.c.created_at).label("published"),
        ).select_from(papers.outerjoin(first_day, first_day.c.paper_id == papers.c.id))
        with self.engine.connect() as conn:
            return {
                row.id: (row.arxiv_id, _day(row.day) if row.day is not None else _day(row.published))
                for row in conn.execute(query)
            }


def upvotes_by_day(engine: Engine, paper_id: int) -> list[tuple[date, int]]:
    """The paper's own upvotes (cast here, so with a time) counted by day, oldest first."""
    day = func.date(upvotes.c.created_at)  # SQLite's date() and PostgreSQL's date(): the UTC day
    query = (
        select(day.label("day"), func.count())
        .where(upvotes.c.paper_id == paper_id)
        .group_by(day)
        .order_by(day)
    )
    with engine.connect() as conn:
        return [(_day(d), int(n)) for d, n in conn.execute(query)]
