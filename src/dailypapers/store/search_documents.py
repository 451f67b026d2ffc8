"""Papers as the keyword index reads them, and the watermarks of their changes (for dailypapers.search)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, exists, func, select

from dailypapers.papers import as_utc
from dailypapers.store.schema import feed_entries, papers


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What the keyword index holds of a paper."""

    paper_id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published_at: datetime | None
    daily: bool


@dataclass(frozen=True, slots=True)
class ChangeMarks:
    """How far the papers' changes go: the newest `modified_at` and the newest feed entry's id."""

    modified_at: datetime | None
    feed_entry_id: int


class SearchDocuments(Protocol):
    def marks(self) -> ChangeMarks: ...

    def after(self, last_id: int, limit: int) -> list[SearchDocument]:
        """Up to `limit` documents with ids above `last_id`, in id order (a full build, page by page)."""

    def changed_ids(self, since: datetime | None, feed_entry_floor: int) -> list[int]:
        """Papers modified at or after `since` (all of them for None) or with a feed entry above
        `feed_entry_floor`, in id order."""

    def by_ids(self, ids: Sequence[int]) -> list[SearchDocument]: ...


_ON_FEED = exists().where(feed_entries.c.paper_id == papers.c.id, feed_entries.c.removed_at.is_(None))
_DOCUMENTS = select(
    papers.c.id,
    papers.c.arxiv_id,
    papers.c.title,
    papers.c.abstract,
    papers.c.authors,
    papers.c.categories,
    papers.c.published_at,
    _ON_FEED.label("daily"),
)


def _document(row) -> SearchDocument:
    return SearchDocument(
        paper_id=row.id,
        arxiv_id=row.arxiv_id,
        title=row.title,
        abstract=row.abstract,
        authors=list(row.authors or []),
        categories=list(row.categories or []),
        published_at=as_utc(row.published_at),
        daily=bool(row.daily),
    )


class SqlSearchDocuments:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def marks(self) -> ChangeMarks:
        with self.engine.connect() as conn:
            newest_modified = conn.execute(select(func.max(papers.c.modified_at))).scalar()
            newest_entry = conn.execute(select(func.max(feed_entries.c.id))).scalar() or 0
        return ChangeMarks(as_utc(newest_modified) if newest_modified else None, int(newest_entry))

    def after(self, last_id: int, limit: int) -> list[SearchDocument]:
        query = _DOCUMENTS.where(papers.c.id > last_id).order_by(papers.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_document(r) for r in rows]

    def changed_ids(self, since: datetime | None, feed_entry_floor: int) -> list[int]:
        changed = select(papers.c.id)
        if since is not None:
            changed = changed.where(papers.c.modified_at >= since)
        with self.engine.connect() as conn:
            ids = set(conn.execute(changed).scalars())
            ids |= set(
                conn.execute(
                    select(feed_entries.c.paper_id).where(feed_entries.c.id > max(0, feed_entry_floor))
                ).scalars()
            )
        return sorted(ids)

    def by_ids(self, ids: Sequence[int]) -> list[SearchDocument]:
        with self.engine.connect() as conn:
            rows = conn.execute(_DOCUMENTS.where(papers.c.id.in_(list(ids)))).all()
        return [_document(r) for r in rows]
