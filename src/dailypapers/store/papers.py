"""The paper store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import Engine, and_, bindparam, exists, func, or_, select, tuple_

from dailypapers import trending
from dailypapers.papers import AuthorClaim, PaperView, UserView, as_utc
from dailypapers.periods import Period
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.merge import merge_all, record_to_row, text
from dailypapers.store.paper_links import sync as sync_links
from dailypapers.store.schema import (
    author_claims,
    feed_entries,
    key_phrases,
    paper_versions,
    papers,
    upvotes,
    users,
)

FeedSort = Literal["day", "publishedAt", "upvotes"]
AlsoHook = Callable[[Any, "UpsertCounts"], None]  # (connection, counts so far) inside upsert's transaction
MAX_VERSION = 10_000
_LINKED = ("authors", "categories", "organization")  # fields with derived rows (store.paper_links)


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
    *(c for c in papers.c if c.name not in ("created_at", "modified_at", "source", "imported_upvotes")),
    # The paper's extracted key phrases (dailypapers.keyphrases), looked up by primary key.
    select(key_phrases.c.phrases)
    .where(key_phrases.c.paper_id == papers.c.id)
    .scalar_subquery()
    .label("key_phrases"),
    select(key_phrases.c.key_sentence)
    .where(key_phrases.c.paper_id == papers.c.id)
    .scalar_subquery()
    .label("key_sentence"),
]


class SqlStore:
    """Papers, feed entries, submitters and upvotes in a relational database."""

    def __init__(self, engine: Engine, trending_half_life_hours: float = 48.0) -> None:
        self.engine = engine
        self.half_life = trending_half_life_hours
        self.dialect = engine.dialect.name

    # -- writes -------------------------------------------------------------------------------------

    def _insert(self, table):
        return conflict_insert(self.dialect, table)

    def _write(self):
        return write_transaction(self.engine)

    def upsert(self, records: Sequence[PaperRecord], *, also: AlsoHook | None = None) -> UpsertCounts:
        """Insert or merge a batch of records in one transaction: all of it lands or none of it.

        `also(conn, counts)` runs last in that same transaction (ingestion writes its checkpoint there).
        """
        counts = UpsertCounts()
        if not records:
            if also is not None:
                with self._write() as conn:
                    also(conn, counts)
            return counts
        # Records of one id in a batch apply one after the other (and each of their feed days counts), so
        # the outcome does not depend on where the batches happen to be cut.
        incoming: dict[str, list[dict[str, Any]]] = defaultdict(list)
        feed_records: list[PaperRecord] = []
        for record in records:
            incoming[record.arxiv_id].append(record_to_row(record))
            if record.daily_date is not None:
                feed_records.append(record)
        now = _now()
        with self._write() as conn:
            stored = self._load_for_update(conn, sorted(incoming))
            # In id order, so that two importers of overlapping files take the row locks in the same order.
            to_insert = []
            for arxiv_id, rows in sorted(incoming.items()):
                if arxiv_id not in stored:
                    row = merge_all(None, rows)
                    to_insert.append(
                        {**row, "upvotes": row["imported_upvotes"], "created_at": now, "modified_at": now}
                    )
            if to_insert:
                statement = (
                    self._insert(papers)
                    .on_conflict_do_nothing(index_elements=["arxiv_id"])
                    .returning(papers.c.arxiv_id)
                )
                inserted = set(conn.execute(statement, to_insert).scalars())
                counts.new = len(inserted)
                # Papers another writer inserted since we looked (PostgreSQL: a concurrent import) are merged
                # into like any stored paper, not dropped.
                lost = sorted({row["arxiv_id"] for row in to_insert} - inserted)
                if lost:
                    stored.update(self._load_for_update(conn, lost))
            touched_votes: set[int] = set()
            linked: dict[str, dict[str, Any]] = {}  # arXiv id -> authors/categories/organization written
            for arxiv_id, rows in sorted(incoming.items()):
                if arxiv_id not in stored:
                    continue
                current = stored[arxiv_id]
                changes = merge_all(current, rows)
                if not changes:
                    counts.unchanged += 1
                    continue
                if "imported_upvotes" in changes:
                    touched_votes.add(current["id"])
                changes["modified_at"] = now
                conn.execute(papers.update().where(papers.c.id == current["id"]).values(**changes))
                counts.updated += 1
                linked[arxiv_id] = {k: changes[k] for k in _LINKED if k in changes}
            ids = self._ids(conn, list(incoming))
            for row in to_insert:
                if row["arxiv_id"] not in stored:
                    linked[row["arxiv_id"]] = {k: row.get(k) for k in _LINKED}
            sync_links(conn, {ids[a]: fields for a, fields in linked.items() if fields})
            new_ids = {
                ids[row["arxiv_id"]]
                for row in to_insert
                if row["arxiv_id"] not in stored and row["imported_upvotes"]
            }
            added = self._add_feed_entries(conn, feed_records, ids)
            counts.feed_new = len(added)
            # New papers with imported upvotes, and papers whose votes or feed days changed, get a new key.
            self.refresh_votes(conn, touched_votes | new_ids | {row["paper_id"] for row in added})
            self._record_versions(conn, records, ids, now)
            if also is not None:
                also(conn, counts)
        return counts

    def _record_versions(self, conn, records: Sequence[PaperRecord], ids: dict[str, int], now) -> None:
        """Note every version the records name in `paper_versions`; a known submission date fills in."""
        wanted: dict[tuple[int, int], datetime | None] = {}
        for record in records:
            versions = dict(record.versions or {})
            if record.version and record.version not in versions:
                versions[record.version] = None
            for number, created in versions.items():
                if number and 0 < number <= MAX_VERSION:
                    key = (ids[record.arxiv_id], number)
                    wanted[key] = wanted.get(key) or (as_utc(created) if created else None)
        if not wanted:
            return
        rows = [
            {"paper_id": pid, "version": number, "seen_at": now, "created_at": created}
            for (pid, number), created in sorted(wanted.items())
        ]
        statement = self._insert(paper_versions)
        statement = statement.on_conflict_do_update(
            index_elements=["paper_id", "version"],
            set_={"created_at": statement.excluded.created_at},
            where=paper_versions.c.created_at.is_(None) & statement.excluded.created_at.is_not(None),
        )
        conn.execute(statement, rows)

    def _load_for_update(self, conn, arxiv_ids: list[str]) -> dict[str, dict[str, Any]]:
        query = select(papers).where(papers.c.arxiv_id.in_(arxiv_ids))
        if self.dialect == "postgresql":
            query = query.order_by(papers.c.arxiv_id).with_for_update()
        return {row.arxiv_id: dict(row._mapping) for row in conn.execute(query)}

    def _ids(self, conn, arxiv_ids: list[str]) -> dict[str, int]:
        query = select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(arxiv_ids))
        return {a: i for a, i in conn.execute(query)}

    def _user_ids(self, conn, submitters: Iterable[Submitter]) -> dict[str, int]:
        """The ids of these submitters' users, by username: created once, their missing names filled."""
        now = _now()
        wanted: dict[str, dict[str, Any]] = {}
        for submitter in submitters:
            # As if one after the other: the first one creates the user, later ones fill what it lacks.
            row = wanted.setdefault(
                _username(submitter),
                {
                    "username": _username(submitter),
                    "fullname": None,
                    "avatar_url": None,
                    "type": submitter.type if submitter.type in ("user", "org") else "user",
                    "origin": "hf",
                    "created_at": now,
                },
            )
            row["fullname"] = row["fullname"] or text(submitter.fullname, 255) or None
            row["avatar_url"] = row["avatar_url"] or text(submitter.avatar_url, 500) or None
        if not wanted:
            return {}
        rows = [wanted[name] for name in sorted(wanted)]
        statement = self._insert(users)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["username"],
            set_={
                "fullname": func.coalesce(users.c.fullname, excluded.fullname),
                "avatar_url": func.coalesce(users.c.avatar_url, excluded.avatar_url),
            },
            # Only when it fills something: an import that brings nothing new writes nothing. Never a local
            # account's row: a local name that Hugging Face also has is not the same person.
            where=and_(
                users.c.origin == "hf",
                or_(
                    and_(users.c.fullname.is_(None), excluded.fullname.is_not(None)),
                    and_(users.c.avatar_url.is_(None), excluded.avatar_url.is_not(None)),
                ),
            ),
        )
        conn.execute(statement, rows)
        # Submissions go to imported names only: a local account holding the same name does not get them.
        query = select(users.c.username, users.c.id).where(
            users.c.username.in_(list(wanted)), users.c.origin == "hf"
        )
        return {name: uid for name, uid in conn.execute(query)}

    def _add_feed_entries(self, conn, records: list[PaperRecord], ids: dict[str, int]) -> list[dict]:
        """Add the feed entries not there yet (and fill a known submitter into one without); return the
        rows added."""
        if not records:
            return []
        user_ids = self._user_ids(conn, (r.submitter for r in records if r.submitter))
        wanted: dict[tuple[int, date], dict[str, Any]] = {}
        for record in records:
            key = (ids[record.arxiv_id], record.daily_date)
            # As if one after the other: the first record of a day makes the entry, later ones only fill
            # in a submitter it lacks.
            row = wanted.setdefault(
                key,
                {
                    "paper_id": key[0],
                    "day": key[1],
                    "submitted_at": as_utc(record.submitted_at) or _midnight(record.daily_date),
                    "submitted_by_id": None,
                },
            )
            if row["submitted_by_id"] is None and record.submitter:
                row["submitted_by_id"] = user_ids.get(_username(record.submitter))
        entry = feed_entries.c
        existing = {
            (pid, _as_date(day)): (entry_id, by_id)
            for entry_id, pid, day, by_id in conn.execute(
                select(entry.id, entry.paper_id, entry.day, entry.submitted_by_id).where(
                    tuple_(entry.paper_id, entry.day).in_(list(wanted))
                )
            )
        }
        rows, fill = [], []
        for key, row in wanted.items():
            if key in existing:
                entry_id, by_id = existing[key]
                if by_id is None and row["submitted_by_id"] is not None:
                    fill.append({"entry_id": entry_id, "user_id": row["submitted_by_id"]})
                continue
            rows.append(row)
        if rows:
            statement = self._insert(feed_entries).on_conflict_do_nothing(index_elements=["paper_id", "day"])
            conn.execute(statement, rows)
        if fill:
            conn.execute(
                feed_entries.update()
                .where(feed_entries.c.id == bindparam("entry_id"), feed_entries.c.submitted_by_id.is_(None))
                .values(submitted_by_id=bindparam("user_id")),
                fill,
            )
        return rows

    def refresh_votes(self, conn, paper_ids: set[int]) -> None:
        """Recount upvotes and recompute the trending key of these papers from the stored rows, in the
        caller's transaction (the community and account stores call it after changing votes)."""
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
            self._attach_claims(conn, [view])
            return view

    def get_many(self, ids: Sequence[int]) -> list[PaperView]:
        """Papers by internal id, in the order given (search hits), with their feed entries; unknown ids
        are skipped."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        found: dict[int, PaperView] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in conn.execute(select(*_PAPER_COLUMNS).where(papers.c.id.in_(chunk))):
                    found[row.id] = _paper_view(row._mapping)
            views = [found[i] for i in wanted if i in found]
            self._attach_entries(conn, views)
            self._attach_claims(conn, views)
        return views

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
            # NULLS LAST spelled out: PostgreSQL puts NULLs first in a descending order, SQLite last.
            order = [papers.c.published_at.desc().nulls_last(), papers.c.id.desc()]
        elif sort == "upvotes" or (period is not None and period.kind != "date"):
            # Ties break as within a day (earliest submitted first), so a day's #1 stays above its runner-up.
            order = [
                papers.c.upvotes.desc(),
                feed_entries.c.day.desc(),
                feed_entries.c.submitted_at,
                papers.c.id,
            ]
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
            self._attach_claims(conn, views)
        return views

    def trending(self, *, offset: int = 0, limit: int = 50) -> list[PaperView]:
        # A paper moderators took off the feed (and not put back on another day) leaves trending too.
        entry = feed_entries.c
        removed = exists().where(entry.paper_id == papers.c.id, entry.removed_at.is_not(None))
        live = exists().where(entry.paper_id == papers.c.id, entry.removed_at.is_(None))
        query = (
            select(*_PAPER_COLUMNS)
            .where(papers.c.trend_key.is_not(None), or_(~removed, live))
            .order_by(papers.c.trend_key.desc(), papers.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            views = [_paper_view(row._mapping) for row in conn.execute(query)]
            self._attach_entries(conn, views)
            self._mark_day_ranks(conn, views)
            self._attach_claims(conn, views)
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

    def _attach_claims(self, conn, views: list[PaperView]) -> None:
        """Give each view the accounts a moderator confirmed as its authors (dailypapers.store.authors)."""
        if not views:
            return
        by_id = {v.id: v for v in views}
        query = (
            select(
                author_claims.c.paper_id,
                author_claims.c.position,
                author_claims.c.decided_at,
                *_CLAIMANT_COLUMNS,
            )
            .select_from(author_claims.join(users, users.c.id == author_claims.c.user_id))
            .where(author_claims.c.paper_id.in_(list(by_id)), author_claims.c.status == "approved")
        )
        for row in conn.execute(query):
            user = UserView(row.user_id, row.username, row.fullname, row.avatar_url, row.user_type or "user")
            by_id[row.paper_id].claims[row.position] = AuthorClaim(user, as_utc(row.decided_at))

    def _mark_day_ranks(self, conn, views: list[PaperView]) -> None:
        """Mark each listed paper that tops its day (rank 1); others get no rank.

        The top of a day is the first paper of that day's listing (most upvotes, then earliest submitted,
        then lowest id), whatever order or page these views come from.
        """
        days = {v.day for v in views if v.day is not None}
        if not days:
            return
        position = (
            func.row_number()
            .over(
                partition_by=feed_entries.c.day,
                order_by=[papers.c.upvotes.desc(), feed_entries.c.submitted_at, papers.c.id],
            )
            .label("position")
        )
        ranked = (
            select(feed_entries.c.day, feed_entries.c.paper_id, position)
            .select_from(feed_entries.join(papers, papers.c.id == feed_entries.c.paper_id))
            .where(feed_entries.c.day.in_(days), feed_entries.c.removed_at.is_(None))
            .subquery()
        )
        query = select(ranked.c.day, ranked.c.paper_id).where(ranked.c.position == 1)
        top = {_as_date(day): paper_id for day, paper_id in conn.execute(query)}
        for view in views:
            if view.day is not None and top.get(view.day) == view.id:
                view.rank = 1


_ENTRY_COLUMNS = [
    feed_entries.c.day,
    feed_entries.c.submitted_at,
    users.c.id.label("user_id"),
    users.c.username,
    users.c.fullname,
    users.c.avatar_url,
    users.c.type.label("user_type"),
]


_CLAIMANT_COLUMNS = [
    users.c.id.label("user_id"),
    users.c.username,
    users.c.fullname,
    users.c.avatar_url,
    users.c.type.label("user_type"),
]


def _username(submitter: Submitter) -> str:
    return text(submitter.username, 64)


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
        hf_comments=row["hf_comments"],
        trend_key=row["trend_key"],
        author_participating=bool(row["author_participating"]),
        key_phrases=row["key_phrases"],
        key_sentence=row["key_sentence"],
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
