"""The paper store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from dailypapers import trending
from dailypapers.papers import PaperView, UserView, as_utc
from dailypapers.periods import Period
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.merge import merge, record_to_row
from dailypapers.store.schema import feed_entries, papers, upvotes, users

FeedSort = Literal["day", "publishedAt", "upvotes"]


@dataclass(slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    feed_new: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.feed_new += other.feed_new


def _now() -> datetime:
    return datetime.now(UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


_PAPER_COLUMNS = [
    c for c in papers.c if c.name not in ("created_at", "modified_at", "source", "imported_upvotes")
]


class SqlStore:
    """Papers, feed entries, submitters and upvotes in a relational database."""

    def __init__(self, engine: Engine, trending_half_life_hours: float = 48.0) -> None:
        self.engine = engine
        self.half_life = trending_half_life_hours
        self.dialect = engine.dialect.name

    # -- writes -------------------------------------------------------------------------------------

    def _insert(self, table):
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _write(self):
        """A transaction that takes SQLite's write lock up front (see store.engine)."""
        conn = self.engine.connect()
        conn.info["write"] = True
        return _WriteTx(conn)

    def upsert(self, records: Sequence[PaperRecord]) -> UpsertCounts:
        """Insert or merge a batch of records in one transaction: all of it lands or none of it."""
        counts = UpsertCounts()
        if not records:
            return counts
        # The last record of an id in a batch wins, as if they had come one after the other.
        incoming: dict[str, dict[str, Any]] = {}
        by_id: dict[str, PaperRecord] = {}
        for record in records:
            row = record_to_row(record)
            if record.arxiv_id in incoming:
                row = {**incoming[record.arxiv_id], **merge(incoming[record.arxiv_id], row)}
            incoming[record.arxiv_id] = row
            by_id[record.arxiv_id] = record
        now = _now()
        with self._write() as conn:
            stored = self._load_for_update(conn, list(incoming))
            to_insert = [
                {**row, "upvotes": row["imported_upvotes"], "created_at": now, "modified_at": now}
                for arxiv_id, row in incoming.items()
                if arxiv_id not in stored
            ]
            if to_insert:
                statement = self._insert(papers).on_conflict_do_nothing(index_elements=["arxiv_id"])
                conn.execute(statement, to_insert)
                counts.new = len(to_insert)
            touched_votes: set[int] = set()
            for arxiv_id, row in incoming.items():
                if arxiv_id not in stored:
                    continue
                current = stored[arxiv_id]
                changes = merge(current, row)
                if not changes:
                    counts.unchanged += 1
                    continue
                if "imported_upvotes" in changes:
                    touched_votes.add(current["id"])
                changes["modified_at"] = now
                conn.execute(papers.update().where(papers.c.id == current["id"]).values(**changes))
                counts.updated += 1
            ids = self._ids(conn, list(incoming))
            new_ids = {ids[a] for a in incoming if a not in stored}
            feed_records = [r for r in by_id.values() if r.daily_date is not None]
            counts.feed_new = self._add_feed_entries(conn, feed_records, ids)
            # New papers with imported upvotes, and papers whose votes or feed day changed, get a new key.
            refresh = touched_votes | {
                ids[r.arxiv_id] for r in by_id.values() if (r.upvotes or 0) > 0 and ids[r.arxiv_id] in new_ids
            }
            if counts.feed_new:
                refresh |= {ids[r.arxiv_id] for r in feed_records}
            self._refresh_votes(conn, refresh)
        return counts

    def _load_for_update(self, conn, arxiv_ids: list[str]) -> dict[str, dict[str, Any]]:
        query = select(papers).where(papers.c.arxiv_id.in_(arxiv_ids))
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return {row.arxiv_id: dict(row._mapping) for row in conn.execute(query)}

    def _ids(self, conn, arxiv_ids: list[str]) -> dict[str, int]:
        query = select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(arxiv_ids))
        return {a: i for a, i in conn.execute(query)}

    def _user_ids(self, conn, submitters: Iterable[Submitter]) -> dict[str, int]:
        wanted = {s.username: s for s in submitters}
        if not wanted:
            return {}
        rows = [
            {
                "username": s.username,
                "fullname": s.fullname,
                "avatar_url": s.avatar_url,
                "type": s.type or "user",
                "origin": "hf",
                "created_at": _now(),
            }
            for s in wanted.values()
        ]
        statement = self._insert(users).on_conflict_do_nothing(index_elements=["username"])
        conn.execute(statement, rows)
        query = select(users.c.username, users.c.id).where(users.c.username.in_(list(wanted)))
        return {name: uid for name, uid in conn.execute(query)}

    def _add_feed_entries(self, conn, records: list[PaperRecord], ids: dict[str, int]) -> int:
        if not records:
            return 0
        user_ids = self._user_ids(conn, (r.submitter for r in records if r.submitter))
        pairs = [(ids[r.arxiv_id], r.daily_date) for r in records]
        existing = {
            (pid, _as_date(day))
            for pid, day in conn.execute(
                select(feed_entries.c.paper_id, feed_entries.c.day).where(
                    tuple_(feed_entries.c.paper_id, feed_entries.c.day).in_(pairs)
                )
            )
        }
        rows = []
        for record in records:
            key = (ids[record.arxiv_id], record.daily_date)
            if key in existing:
                continue
            existing.add(key)
            rows.append(
                {
                    "paper_id": key[0],
                    "day": record.daily_date,
                    "submitted_at": record.submitted_at or _midnight(record.daily_date),
                    "submitted_by_id": user_ids.get(record.submitter.username) if record.submitter else None,
                }
            )
        if rows:
            statement = self._insert(feed_entries).on_conflict_do_nothing(index_elements=["paper_id", "day"])
            conn.execute(statement, rows)
        return len(rows)

    def _refresh_votes(self, conn, paper_ids: set[int]) -> None:
        """Recount upvotes and recompute the trending key of these papers from the stored rows."""
        if not paper_ids:
            return
        ids = list(paper_ids)
        baseline = {
            pid: (n or 0, None)
            for pid, n in conn.execute(
                select(papers.c.id, papers.c.imported_upvotes).where(papers.c.id.in_(ids))
            )
        }
        first_day = select(feed_entries.c.paper_id, func.min(feed_entries.c.submitted_at)).where(
            feed_entries.c.paper_id.in_(ids)
        )
        for pid, at in conn.execute(first_day.group_by(feed_entries.c.paper_id)):
            baseline[pid] = (baseline[pid][0], as_utc(at))
        votes: dict[int, list[datetime]] = defaultdict(list)
        for pid, at in conn.execute(
            select(upvotes.c.paper_id, upvotes.c.created_at).where(upvotes.c.paper_id.in_(ids))
        ):
            votes[pid].append(as_utc(at))
        updates = []
        for pid, (count, at) in baseline.items():
            own = votes.get(pid, [])
            key = trending.key_for(count, at, own, self.half_life)
            updates.append({"pid": pid, "upvotes": count + len(own), "trend_key": key})
        statement = (
            papers.update()
            .where(papers.c.id == bindparam("pid"))
            .values(upvotes=bindparam("upvotes"), trend_key=bindparam("trend_key"))
        )
        conn.execute(statement, updates)

    # -- reads --------------------------------------------------------------------------------------

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers)).scalar_one()

    def get(self, arxiv_id: str) -> PaperView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_PAPER_COLUMNS).where(papers.c.arxiv_id == arxiv_id)).first()
            if row is None:
                return None
            view = _paper_view(row._mapping)
            self._attach_entries(conn, [view])
            return view

    def feed(
        self,
        period: Period | None = None,
        *,
        submitter: str | None = None,
        sort: FeedSort = "day",
        offset: int = 0,
        limit: int = 50,
    ) -> list[PaperView]:
        """Papers on the feed: in a period (ranked by upvotes) or all of it (newest day first)."""
        query = (
            select(*_PAPER_COLUMNS, *_ENTRY_COLUMNS)
            .select_from(feed_entries.join(papers, papers.c.id == feed_entries.c.paper_id))
            .outerjoin(users, users.c.id == feed_entries.c.submitted_by_id)
            .where(feed_entries.c.removed_at.is_(None))
        )
        if period is not None:
            query = query.where(feed_entries.c.day >= period.start, feed_entries.c.day < period.end)
        if submitter is not None:
            query = query.where(users.c.username == submitter)
        if sort == "publishedAt":
            order = [papers.c.published_at.desc(), papers.c.id.desc()]
        elif sort == "upvotes" or (period is not None and period.kind != "date"):
            order = [papers.c.upvotes.desc(), feed_entries.c.day.desc(), papers.c.id.desc()]
        else:
            order = [
                feed_entries.c.day.desc(),
                papers.c.upvotes.desc(),
                feed_entries.c.submitted_at,
                papers.c.id,
            ]
        query = query.order_by(*order).offset(offset).limit(limit)
        with self.engine.connect() as conn:
            views = [_entry_view(row._mapping) for row in conn.execute(query)]
            self._mark_day_ranks(conn, views)
        return views

    def trending(self, *, offset: int = 0, limit: int = 50) -> list[PaperView]:
        query = (
            select(*_PAPER_COLUMNS)
            .where(papers.c.trend_key.is_not(None))
            .order_by(papers.c.trend_key.desc(), papers.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            views = [_paper_view(row._mapping) for row in conn.execute(query)]
            self._attach_entries(conn, views)
            self._mark_day_ranks(conn, views)
        return views

    def latest_day(self) -> date | None:
        query = select(func.max(feed_entries.c.day)).where(feed_entries.c.removed_at.is_(None))
        with self.engine.connect() as conn:
            return _as_date(conn.execute(query).scalar())

    def neighbour_days(self, day: date) -> tuple[date | None, date | None]:
        """The nearest days before and after `day` that have papers on the feed."""
        live = feed_entries.c.removed_at.is_(None)
        before = select(func.max(feed_entries.c.day)).where(live, feed_entries.c.day < day)
        after = select(func.min(feed_entries.c.day)).where(live, feed_entries.c.day > day)
        with self.engine.connect() as conn:
            return _as_date(conn.execute(before).scalar()), _as_date(conn.execute(after).scalar())

    def feed_bounds(self) -> tuple[date | None, date | None]:
        query = select(func.min(feed_entries.c.day), func.max(feed_entries.c.day)).where(
            feed_entries.c.removed_at.is_(None)
        )
        with self.engine.connect() as conn:
            first, last = conn.execute(query).one()
        return _as_date(first), _as_date(last)

    def _attach_entries(self, conn, views: list[PaperView]) -> None:
        """Give each view its first feed entry (day, submitter)."""
        if not views:
            return
        by_id = {v.id: v for v in views}
        query = (
            select(feed_entries.c.paper_id, *_ENTRY_COLUMNS)
            .select_from(feed_entries.outerjoin(users, users.c.id == feed_entries.c.submitted_by_id))
            .where(feed_entries.c.paper_id.in_(list(by_id)), feed_entries.c.removed_at.is_(None))
            .order_by(feed_entries.c.day.desc())
        )
        for row in conn.execute(query):
            _apply_entry(by_id[row.paper_id], row._mapping)

    def _mark_day_ranks(self, conn, views: list[PaperView]) -> None:
        """Mark each listed paper that tops its day (rank 1); others get no rank."""
        days = {v.day for v in views if v.day is not None}
        if not days:
            return
        query = (
            select(feed_entries.c.day, func.max(papers.c.upvotes))
            .select_from(feed_entries.join(papers, papers.c.id == feed_entries.c.paper_id))
            .where(feed_entries.c.day.in_(days), feed_entries.c.removed_at.is_(None))
            .group_by(feed_entries.c.day)
        )
        best = {_as_date(day): top for day, top in conn.execute(query)}
        seen_top: set[date] = set()
        for view in views:
            if view.day in best and view.upvotes == best[view.day] and view.day not in seen_top:
                view.rank = 1
                seen_top.add(view.day)


_ENTRY_COLUMNS = [
    feed_entries.c.day,
    feed_entries.c.submitted_at,
    users.c.id.label("user_id"),
    users.c.username,
    users.c.fullname,
    users.c.avatar_url,
    users.c.type.label("user_type"),
]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _paper_view(row) -> PaperView:
    return PaperView(
        id=row["id"],
        arxiv_id=row["arxiv_id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=list(row["authors"] or []),
        categories=list(row["categories"] or []),
        published_at=as_utc(row["published_at"]),
        updated_at=as_utc(row["updated_at"]),
        comment=row["comment"],
        doi=row["doi"],
        journal_ref=row["journal_ref"],
        github_repo=row["github_repo"],
        github_stars=row["github_stars"],
        project_page=row["project_page"],
        organization=row["organization"],
        ai_summary=row["ai_summary"],
        ai_keywords=row["ai_keywords"],
        withdrawn_at=as_utc(row["withdrawn_at"]),
        upvotes=row["upvotes"],
        num_comments=row["num_comments"],
        trend_key=row["trend_key"],
    )


def _apply_entry(view: PaperView, row) -> None:
    view.day = _as_date(row["day"])
    view.submitted_at = as_utc(row["submitted_at"])
    if row["user_id"] is not None:
        view.submitter = UserView(
            id=row["user_id"],
            username=row["username"],
            fullname=row["fullname"],
            avatar_url=row["avatar_url"],
            type=row["user_type"] or "user",
        )


def _entry_view(row) -> PaperView:
    view = _paper_view(row)
    _apply_entry(view, row)
    return view


class _WriteTx:
    """`with store._write() as conn:` commits on success, rolls back on error, always closes."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def __enter__(self):
        self.conn.begin()
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()
