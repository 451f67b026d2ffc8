"""Authors, organizations, claims of authorship and follows, on SQLAlchemy Core (SQLite and PostgreSQL).

An author is a folded name (dailypapers.names.key) over `paper_authors`; an organization a folded name over
`papers.organization_key`. Neither is a person or a legal entity: one name may be several people, which the
author page says when the papers under it fall apart into groups with no co-author in common, or when
different accounts claimed it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import bindparam, func, select, union
from sqlalchemy.exc import IntegrityError

from dailypapers import names
from dailypapers.papers import UserView, as_utc
from dailypapers.store.community import Actor, Conflict, Forbidden, NotFound
from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import (
    author_claims,
    feed_entries,
    follows,
    moderation_log,
    paper_authors,
    paper_categories,
    papers,
    users,
)

FollowKind = Literal["author", "org", "category"]
FOLLOW_KINDS: tuple[str, ...] = ("author", "org", "category")
MAX_FOLLOWS = 500
# Papers with more authors than this say nothing about who an author works with (a collaboration of
# thousands lists everyone): they are left out of the co-author groups (still listed, still counted).
GROUP_MAX_AUTHORS = 50
MIN_GROUP = 3  # groups of at least this many papers count as a possible separate person
MIN_SCATTERED = 5  # fewer papers than this say too little to call them scattered
CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?$")
MAX_NAME_CHARS = 500


class NotOnPaper(ValueError):
    """The name claimed is not among the paper's authors."""


@dataclass(slots=True)
class PaperLine:
    """A paper as the author, organization and following pages list it: no abstract, one line."""

    id: int
    arxiv_id: str
    title: str
    published_at: datetime | None
    upvotes: int
    categories: list[str]
    organization: str | None
    trend_key: float | None
    day: date | None = None  # its first live day on the feed
    name: str | None = None  # the spelling of the author on this paper (author pages)
    position: int | None = None
    n_authors: int = 0
    group: int | None = None  # the co-author group it falls in (author pages), from 1
    claimed_by: str | None = None  # the account confirmed for this name on this paper (author pages)


@dataclass(slots=True)
class NameCount:
    key: str
    name: str  # the most frequent spelling
    count: int


@dataclass(slots=True)
class AuthorPage:
    key: str
    name: str  # the most frequent spelling
    spellings: dict[str, int]
    papers: list[PaperLine]  # newest first
    coauthors: list[NameCount]
    categories: list[tuple[str, int]]
    total_upvotes: int
    groups: list[int]  # when the papers look like several people: their co-author groups' sizes
    accounts: list[str]  # usernames with an approved claim of this name

    @property
    def first(self) -> PaperLine | None:
        return self.papers[-1] if self.papers else None

    @property
    def last(self) -> PaperLine | None:
        return self.papers[0] if self.papers else None

    @property
    def ambiguous(self) -> bool:
        return bool(self.groups) or len(self.accounts) > 1


@dataclass(slots=True)
class OrgPage:
    key: str
    name: str
    spellings: dict[str, int]
    papers: list[PaperLine]  # by day on the feed, newest first (papers never on it last)
    trending: list[PaperLine]
    authors: list[NameCount]
    total_upvotes: int


@dataclass(slots=True)
class ClaimView:
    id: int
    paper_id: int
    arxiv_id: str
    title: str
    position: int
    name: str
    status: str
    user: UserView
    created_at: datetime
    decided_at: datetime | None


@dataclass(slots=True)
class Follow:
    kind: str
    key: str
    label: str
    created_at: datetime | None


@dataclass(slots=True)
class Followed:
    """What a reader follows, by key: author name keys, organization keys and arXiv categories."""

    authors: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.authors or self.orgs or self.categories)


def _now() -> datetime:
    return datetime.now(UTC)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_LINE = (
    papers.c.id,
    papers.c.arxiv_id,
    papers.c.title,
    papers.c.published_at,
    papers.c.upvotes,
    papers.c.categories,
    papers.c.organization,
    papers.c.trend_key,
)


# An author page's statements, built once, each keyed by the one name (no list of ids to bind).
_MINE = paper_authors.alias("mine")
_AUTHOR_PAPERS = (
    select(*_LINE, paper_authors.c.position, paper_authors.c.name)
    .select_from(paper_authors.join(papers, papers.c.id == paper_authors.c.paper_id))
    .where(paper_authors.c.key == bindparam("key"))
)
_MY_PAPERS = select(paper_authors.c.paper_id).where(paper_authors.c.key == bindparam("key")).distinct()
_TEAM = paper_authors.alias("team")
_TEAMS = (
    select(_TEAM.c.paper_id, _TEAM.c.key, _TEAM.c.name)
    .select_from(_MINE.join(_TEAM, _TEAM.c.paper_id == _MINE.c.paper_id))
    .where(_MINE.c.key == bindparam("key"), _TEAM.c.key != bindparam("key"))
)
_AUTHOR_DAYS = (
    select(feed_entries.c.paper_id, func.min(feed_entries.c.day))
    .select_from(_MINE.join(feed_entries, feed_entries.c.paper_id == _MINE.c.paper_id))
    .where(_MINE.c.key == bindparam("key"), feed_entries.c.removed_at.is_(None))
    .group_by(feed_entries.c.paper_id)
)
_AUTHOR_CLAIMS = (
    select(author_claims.c.paper_id, users.c.username)
    .select_from(author_claims.join(users, users.c.id == author_claims.c.user_id))
    .where(author_claims.c.key == bindparam("key"), author_claims.c.status == "approved")
)


def _line(row) -> PaperLine:
    return PaperLine(
        id=row.id,
        arxiv_id=row.arxiv_id,
        title=row.title,
        published_at=as_utc(row.published_at),
        upvotes=row.upvotes,
        categories=list(row.categories or []),
        organization=row.organization,
        trend_key=row.trend_key,
    )


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _newest_first(line: PaperLine) -> tuple:
    moment = line.published_at or datetime.min.replace(tzinfo=UTC)
    return (moment, line.id)


class _Groups:
    """Union-find over papers."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        self.parent.setdefault(item, item)
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


class AuthorStore:
    """Author and organization pages, claims of authorship, and what readers follow."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # -- reads shared ----------------------------------------------------------------------------------

    def _first_days(self, conn, ids: Sequence[int]) -> dict[int, date]:
        days: dict[int, date] = {}
        for start in range(0, len(ids), 900):
            chunk = list(ids[start : start + 900])
            query = (
                select(feed_entries.c.paper_id, func.min(feed_entries.c.day))
                .where(feed_entries.c.paper_id.in_(chunk), feed_entries.c.removed_at.is_(None))
                .group_by(feed_entries.c.paper_id)
            )
            days.update({pid: _as_date(day) for pid, day in conn.execute(query)})
        return days

    # -- authors ---------------------------------------------------------------------------------------

    def author_exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(paper_authors.c.paper_id).where(paper_authors.c.key == key).limit(1)
                ).first()
                is not None
            )

    def author(self, key: str, *, coauthors: int = 40) -> AuthorPage | None:
        """Every paper under the folded name `key`, with what the page says about them; None if none."""
        if not key:
            return None
        params = {"key": key}
        with self.engine.connect() as conn:
            lines: dict[int, PaperLine] = {}
            for row in conn.execute(_AUTHOR_PAPERS, params):
                if row.id in lines:  # the same name twice on one paper: its first place
                    continue
                line = _line(row)
                line.name, line.position = row.name, row.position
                lines[row.id] = line
            if not lines:
                return None
            ids = sorted(lines)
            teams = conn.execute(_TEAMS, params).all()
            days = {pid: _as_date(day) for pid, day in conn.execute(_AUTHOR_DAYS, params)}
            claim_rows = conn.execute(_AUTHOR_CLAIMS, params).all()
        claimed = {pid: username for pid, username in claim_rows}
        by_paper: dict[int, list[str]] = {}  # the others on each paper
        spelled: dict[str, str] = {}  # a co-author's key -> the first spelling met
        for pid, other, name in teams:
            by_paper.setdefault(pid, []).append(other)
            if other not in spelled:
                spelled[other] = name
        together: Counter = Counter()
        # Groups: papers joined by a co-author they share, on papers of at most GROUP_MAX_AUTHORS authors.
        groups = _Groups()
        first_with: dict[str, int] = {}
        for pid, others in by_paper.items():
            distinct = set(others)
            together.update(distinct)
            if len(others) >= GROUP_MAX_AUTHORS:
                continue
            for other in distinct:
                if other in first_with:
                    groups.join(pid, first_with[other])
                else:
                    first_with[other] = pid
        sizes_of = {pid: len(others) for pid, others in by_paper.items()}
        for pid in ids:
            line = lines[pid]
            line.day = days.get(pid)
            line.n_authors = sizes_of.get(pid, 0) + 1
            line.claimed_by = claimed.get(pid)
        coauthor_list = [
            NameCount(other, spelled[other], count)
            for other, count in sorted(together.items(), key=_by_count)[:coauthors]
        ]
        ordered = sorted(lines.values(), key=_newest_first, reverse=True)
        sizes = Counter(groups.find(line.id) for line in ordered)
        roots = [root for root, _ in sizes.most_common()]
        big = [root for root in roots if sizes[root] >= MIN_GROUP]
        # Several sizeable groups with no co-author in common, or papers mostly scattered (the largest group
        # holds under half of them): more likely several people than one.
        scattered = len(big) > 1 or (len(ordered) >= MIN_SCATTERED and sizes[roots[0]] * 2 < len(ordered))
        if scattered:
            number = {root: index + 1 for index, root in enumerate(roots)}
            for line in ordered:
                line.group = number[groups.find(line.id)]
        spellings = Counter(line.name for line in ordered)
        categories = Counter(c for line in ordered for c in line.categories)
        return AuthorPage(
            key=key,
            name=spellings.most_common(1)[0][0],
            spellings=dict(spellings.most_common()),
            papers=ordered,
            coauthors=coauthor_list,
            categories=categories.most_common(),
            total_upvotes=sum(line.upvotes for line in ordered),
            groups=[sizes[root] for root in roots] if scattered else [],
            accounts=sorted(set(claimed.values())),
        )

    # -- organizations ---------------------------------------------------------------------------------

    def organizations(self) -> list[NameCount]:
        """Every organization named on a paper, most papers first."""
        query = (
            select(papers.c.organization_key, func.min(papers.c.organization), func.count())
            .where(papers.c.organization_key.is_not(None))
            .group_by(papers.c.organization_key)
            .order_by(func.count().desc(), papers.c.organization_key)
        )
        with self.engine.connect() as conn:
            return [NameCount(k, name, n) for k, name, n in conn.execute(query)]

    def org_exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(papers.c.id).where(papers.c.organization_key == key).limit(1))
            return found.first() is not None

    def organization(self, key: str, *, trending: int = 10, authors: int = 50) -> OrgPage | None:
        if not key:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_LINE).where(papers.c.organization_key == key)).all()
            if not rows:
                return None
            lines = {row.id: _line(row) for row in rows}
            ids = sorted(lines)
            days = self._first_days(conn, ids)
            counted = (
                select(paper_authors.c.key, func.min(paper_authors.c.name), func.count().label("n"))
                .select_from(paper_authors.join(papers, papers.c.id == paper_authors.c.paper_id))
                .where(papers.c.organization_key == key)
                .group_by(paper_authors.c.key)
                .order_by(func.count().desc(), paper_authors.c.key)
                .limit(authors)
            )
            people = [NameCount(k, name, n) for k, name, n in conn.execute(counted)]
        for pid, line in lines.items():
            line.day = days.get(pid)
        on_feed = sorted(
            (x for x in lines.values() if x.day), key=lambda x: (x.day, x.upvotes, x.id), reverse=True
        )
        off_feed = sorted((x for x in lines.values() if not x.day), key=_newest_first, reverse=True)
        hot = sorted(
            (x for x in lines.values() if x.trend_key is not None), key=lambda x: (x.trend_key, x.id)
        )
        spellings = Counter(line.organization for line in lines.values() if line.organization)
        return OrgPage(
            key=key,
            name=spellings.most_common(1)[0][0],
            spellings=dict(spellings.most_common()),
            papers=on_feed + off_feed,
            trending=list(reversed(hot))[:trending],
            authors=people,
            total_upvotes=sum(line.upvotes for line in lines.values()),
        )

    # -- claims ----------------------------------------------------------------------------------------

    def claim(self, actor: Actor, arxiv_id: str, name: str, *, now: datetime | None = None) -> ClaimView:
        """Claim the author name `name` (as the paper writes it, up to case and accents) on the paper, for a
        moderator to approve. NotFound (no paper), NotOnPaper, Conflict (claimed already)."""
        wanted = names.key(name[:MAX_NAME_CHARS])
        if not wanted:
            raise NotOnPaper("Give the author name you claim, as the paper writes it")
        now = now or _now()
        try:
            with write_transaction(self.engine) as conn:
                paper = conn.execute(
                    select(papers.c.id, papers.c.arxiv_id)
                    .where(papers.c.arxiv_id == arxiv_id)
                    .with_for_update(key_share=True)
                ).first()
                if paper is None:
                    raise NotFound("Paper not found")
                places = conn.execute(
                    select(paper_authors.c.position, paper_authors.c.name)
                    .where(paper_authors.c.paper_id == paper.id, paper_authors.c.key == wanted)
                    .order_by(paper_authors.c.position)
                ).all()
                if not places:
                    raise NotOnPaper(f"{name.strip()[:200]!r} is not among the authors of {arxiv_id}")
                live = conn.execute(
                    select(author_claims.c.position, author_claims.c.user_id, author_claims.c.name).where(
                        author_claims.c.paper_id == paper.id, author_claims.c.status != "rejected"
                    )
                ).all()
                mine = [c for c in live if c.user_id == actor.id]
                if mine:
                    raise Conflict(f"You have already claimed {mine[0].name!r} on this paper")
                taken = {c.position for c in live}
                free = [p for p in places if p.position not in taken]
                if not free:
                    raise Conflict(f"{places[0].name!r} on this paper is already claimed by another account")
                position, written = free[0]
                claim_id = conn.execute(
                    author_claims.insert()
                    .values(
                        paper_id=paper.id,
                        user_id=actor.id,
                        position=position,
                        name=written,
                        key=wanted,
                        status="pending",
                        created_at=now,
                    )
                    .returning(author_claims.c.id)
                ).scalar_one()
        except IntegrityError:  # a concurrent claim of the same name (or by the same account) won
            raise Conflict("That name on this paper has just been claimed") from None
        return self.claim_view(claim_id)

    def claim_view(self, claim_id: int) -> ClaimView:
        with self.engine.connect() as conn:
            row = conn.execute(_claims_query().where(author_claims.c.id == claim_id)).first()
        if row is None:
            raise NotFound("No such claim")
        return _claim_view(row)

    def claims(
        self, *, status: str | None = None, user_id: int | None = None, offset: int = 0, limit: int = 50
    ) -> list[ClaimView]:
        query = _claims_query().order_by(author_claims.c.id.desc()).offset(offset).limit(limit)
        if status is not None:
            query = query.where(author_claims.c.status == status)
        if user_id is not None:
            query = query.where(author_claims.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_claim_view(row) for row in conn.execute(query)]

    def decide(
        self, moderator: Actor, claim_id: int, approve: bool, *, reason: str = "", recount=None
    ) -> ClaimView:
        """Approve or reject a pending claim; logged. `recount(conn, paper_id)` redoes the paper's
        "an author takes part" flag in the same transaction (CommunityStore.recount_discussion)."""
        if not moderator.is_moderator:
            raise Forbidden("Moderators only")
        now = _now()
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(author_claims).where(author_claims.c.id == claim_id).with_for_update()
            ).first()
            if row is None:
                raise NotFound("No such claim")
            if row.status != "pending":
                raise Conflict(f"This claim was {row.status} already")
            status = "approved" if approve else "rejected"
            conn.execute(
                author_claims.update()
                .where(author_claims.c.id == claim_id)
                .values(status=status, decided_at=now, decided_by_id=moderator.id)
            )
            conn.execute(
                moderation_log.insert().values(
                    at=now,
                    moderator_id=moderator.id,
                    moderator=moderator.username,
                    action="approve_claim" if approve else "reject_claim",
                    target_type="claim",
                    target_id=claim_id,
                    paper_id=row.paper_id,
                    subject_user_id=row.user_id,
                    reason=reason or None,
                    details={"name": row.name, "position": row.position},
                )
            )
            if approve and recount is not None:
                recount(conn, row.paper_id)
        return self.claim_view(claim_id)

    def withdraw(self, actor: Actor, claim_id: int, *, recount=None) -> None:
        """Take back one's own claim (pending or approved)."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(author_claims.c.user_id, author_claims.c.paper_id, author_claims.c.status).where(
                    author_claims.c.id == claim_id
                )
            ).first()
            if row is None or row.user_id != actor.id or row.status == "rejected":
                raise NotFound("No such claim of yours")
            conn.execute(author_claims.delete().where(author_claims.c.id == claim_id))
            if row.status == "approved" and recount is not None:
                recount(conn, row.paper_id)

    # -- follows ---------------------------------------------------------------------------------------

    def target_exists(self, kind: str, key: str) -> bool:
        if kind == "author":
            return self.author_exists(key)
        if kind == "org":
            return self.org_exists(key)
        with self.engine.connect() as conn:
            query = select(paper_categories.c.paper_id).where(paper_categories.c.category == key).limit(1)
            return conn.execute(query).first() is not None

    def follow(self, user_id: int, kind: str, key: str, label: str, *, now: datetime | None = None) -> bool:
        """Follow (idempotent); True if it is new. Conflict past MAX_FOLLOWS."""
        with write_transaction(self.engine) as conn:
            count = conn.execute(
                select(func.count()).select_from(follows).where(follows.c.user_id == user_id)
            ).scalar_one()
            if count >= MAX_FOLLOWS:
                raise Conflict(
                    f"You follow {count} names and categories, the most allowed; unfollow some first"
                )
            statement = conflict_insert(self.dialect, follows).on_conflict_do_nothing(
                index_elements=["user_id", "kind", "key"]
            )
            added = conn.execute(
                statement.values(
                    user_id=user_id, kind=kind, key=key, label=label[:500], created_at=now or _now()
                ).returning(follows.c.key)
            ).first()
            return added is not None

    def unfollow(self, user_id: int, kind: str, key: str) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                follows.delete().where(
                    follows.c.user_id == user_id, follows.c.kind == kind, follows.c.key == key
                )
            )
            return bool(result.rowcount)

    def follows_of(self, user_id: int) -> list[Follow]:
        query = (
            select(follows.c.kind, follows.c.key, follows.c.label, follows.c.created_at)
            .where(follows.c.user_id == user_id)
            .order_by(follows.c.kind, follows.c.label)
        )
        with self.engine.connect() as conn:
            return [Follow(k, key, label, as_utc(at)) for k, key, label, at in conn.execute(query)]

    def is_following(self, user_id: int, kind: str, key: str) -> bool:
        query = select(follows.c.key).where(
            follows.c.user_id == user_id, follows.c.kind == kind, follows.c.key == key
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def followed(self, user_id: int) -> Followed:
        """What the user follows, by key (the For-you ranking reads these as likes)."""
        result = Followed()
        for item in self.follows_of(user_id):
            {"author": result.authors, "org": result.orgs, "category": result.categories}[item.kind].append(
                item.key
            )
        return result

    def following_paper_ids(
        self, user_id: int, *, since: datetime | None = None, offset: int = 0, limit: int = 50
    ) -> list[int]:
        """Papers by followed authors, of followed organizations or in followed categories, newest first."""
        mine = follows.c.user_id == user_id
        by_author = select(paper_authors.c.paper_id.label("pid")).where(
            paper_authors.c.key.in_(select(follows.c.key).where(mine, follows.c.kind == "author"))
        )
        by_org = select(papers.c.id.label("pid")).where(
            papers.c.organization_key.in_(select(follows.c.key).where(mine, follows.c.kind == "org"))
        )
        by_category = select(paper_categories.c.paper_id.label("pid")).where(
            paper_categories.c.category.in_(select(follows.c.key).where(mine, follows.c.kind == "category"))
        )
        matched = union(by_author, by_org, by_category).subquery()
        query = select(papers.c.id).where(papers.c.id.in_(select(matched.c.pid)))
        if since is not None:
            query = query.where(papers.c.published_at >= since)
        query = (
            query.order_by(papers.c.published_at.desc().nulls_last(), papers.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())


def _claims_query():
    return select(
        author_claims.c.id,
        author_claims.c.paper_id,
        author_claims.c.position,
        author_claims.c.name,
        author_claims.c.status,
        author_claims.c.created_at,
        author_claims.c.decided_at,
        papers.c.arxiv_id,
        papers.c.title,
        users.c.id.label("user_id"),
        users.c.username,
        users.c.fullname,
        users.c.avatar_url,
        users.c.type,
    ).select_from(
        author_claims.join(papers, papers.c.id == author_claims.c.paper_id).join(
            users, users.c.id == author_claims.c.user_id
        )
    )


def _claim_view(row) -> ClaimView:
    return ClaimView(
        id=row.id,
        paper_id=row.paper_id,
        arxiv_id=row.arxiv_id,
        title=row.title,
        position=row.position,
        name=row.name,
        status=row.status,
        user=UserView(row.user_id, row.username, row.fullname, row.avatar_url, row.type or "user"),
        created_at=as_utc(row.created_at),
        decided_at=as_utc(row.decided_at),
    )
