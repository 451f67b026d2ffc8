"""Submissions, upvotes, comments and moderation on SQLAlchemy Core: one implementation for both databases.

Counts are kept exact by recounting inside the transaction that changes them, after taking the paper's row
lock: on PostgreSQL (READ COMMITTED) `SELECT ... FOR NO KEY UPDATE` makes writers of one paper queue, and each
recount then sees every change committed before it; on SQLite `write_transaction` begins IMMEDIATE, so
writers queue on the database lock and the recount sees everything. `papers.upvotes` is always
`imported_upvotes + rows in upvotes`; `papers.num_comments` the comments neither deleted nor hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select

from dailypapers import trending
from dailypapers.community import markdown
from dailypapers.community.submission import (
    SubmissionRefused,
    SubmissionRules,
    author_keys,
    check,
    is_author,
)
from dailypapers.papers import UserView, as_utc
from dailypapers.store.engine import DIALECTS, conflict_insert, write_transaction
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import (
    author_claims,
    comments,
    feed_entries,
    moderation_log,
    papers,
    upvotes,
    users,
)

MAX_PAGE_SIZE = 100


def _locking(*columns):
    """SELECT these columns of a paper, named by id or by arXiv id (the key: "id", "arxiv_id"), taking its
    row lock."""
    return {
        by: select(*columns).where(papers.c[by] == bindparam("paper")).with_for_update(key_share=True)
        for by in ("id", "arxiv_id")
    }


# The statements of the busiest writes (an upvote, a comment), built once: each write is a handful of indexed
# statements, and building and hashing them anew on every request cost about as much as running them.
# FOR NO KEY UPDATE (PostgreSQL; SQLite has no row locks) queues a paper's writers, who change no key of it,
# without blocking inserts elsewhere that merely point at the paper (their foreign keys take key-share locks).
_UPVOTE_LOCK = _locking(papers.c.id, papers.c.upvotes, papers.c.trend_key)
_PAPER_LOCK = _locking(papers.c.id, papers.c.arxiv_id, papers.c.authors, papers.c.author_participating)
_COMMENT_PARENT = select(
    comments.c.paper_id, comments.c.parent_id, comments.c.deleted_at, comments.c.hidden_at
).where(comments.c.id == bindparam("id"))
_COMMENT_INSERT = comments.insert().returning(comments.c.id, comments.c.html)
_COMMENT_WRITER = select(users.c.username, users.c.fullname, users.c.avatar_url, users.c.type).where(
    users.c.id == bindparam("id")
)
_COMMENT_COUNTED = (
    papers.update()
    .where(papers.c.id == bindparam("paper_id"))
    .values(num_comments=papers.c.num_comments + 1, author_participating=bindparam("participating"))
)
_UPVOTE_DELETE = (
    upvotes.delete()
    .where(upvotes.c.user_id == bindparam("user_id"), upvotes.c.paper_id == bindparam("paper_id"))
    .returning(upvotes.c.created_at)
)
_UPVOTE_RECOUNT = (
    papers.update()
    .where(papers.c.id == bindparam("paper_id"))
    .values(
        upvotes=papers.c.imported_upvotes
        + select(func.count())
        .select_from(upvotes)
        .where(upvotes.c.paper_id == bindparam("paper_id"))
        .scalar_subquery(),
        trend_key=bindparam("key"),
    )
    .returning(papers.c.upvotes)
)
_UPVOTE_INSERT = {
    dialect: conflict_insert(dialect, upvotes)
    .on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
    .returning(upvotes.c.created_at)
    for dialect in DIALECTS
}


class NotFound(LookupError):
    """The paper, comment, entry or user does not exist (or is not visible to the caller)."""


class Forbidden(PermissionError):
    """The caller may not do this to that (someone else's comment, say)."""


class Conflict(ValueError):
    """The request makes no sense in the current state (replying to a deleted comment, say)."""


class InvalidComment(ValueError):
    """A comment's text that cannot be posted (empty, too long): the writer fixes it and posts again."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: enough of an account for the store (web.auth's Account has these fields too)."""

    id: int
    username: str
    role: str = "user"
    # How comments show them, when the caller already knows it (not part of the actor's identity).
    profile: UserView | None = field(default=None, compare=False, hash=False)

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")


@dataclass(slots=True)
class UpvoteState:
    paper_id: int
    upvotes: int
    upvoted: bool


@dataclass(slots=True)
class CommentView:
    id: int
    paper_id: int
    parent_id: int | None
    author: UserView
    body: str
    html: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    is_paper_author: bool = False
    replies: list[CommentView] = field(default_factory=list)
    claimed_author: bool = False  # a moderator confirmed the writer as one of the paper's authors


@dataclass(slots=True)
class CommentsPage:
    comments: list[CommentView]
    total: int  # top-level threads the caller can see
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.comments) < self.total


@dataclass(slots=True)
class Submission:
    paper_id: int
    arxiv_id: str
    day: date
    submitted_at: datetime
    comment: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _visible():
    return and_(comments.c.deleted_at.is_(None), comments.c.hidden_at.is_(None))


class CommunityStore:
    """What people do with papers: submit them to a day, upvote them, discuss them; what moderators undo."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine

    # -- shared -------------------------------------------------------------------------------------

    def _lock_paper(self, conn, paper: int | str) -> dict[str, Any]:
        """Lock the paper's row (by id, or by arXiv id) and return what the comment writers need of it."""
        row = conn.execute(
            _PAPER_LOCK["id" if isinstance(paper, int) else "arxiv_id"], {"paper": paper}
        ).first()
        if row is None:
            raise NotFound("Paper not found")
        return dict(row._mapping)

    def paper_id(self, arxiv_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar()

    # -- submissions --------------------------------------------------------------------------------

    def feed_day_of(self, paper_id: int) -> tuple[date | None, bool]:
        """The first day the paper is on the feed (None if never), and whether a moderator removed it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feed_entries.c.day, feed_entries.c.removed_at)
                .where(feed_entries.c.paper_id == paper_id)
                .order_by(feed_entries.c.day)
            ).all()
        live = [_as_date(day) for day, removed in rows if removed is None]
        return (live[0] if live else None), any(removed is not None for _, removed in rows)

    def submit(
        self,
        actor: Actor,
        paper_id: int,
        rules: SubmissionRules,
        *,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> Submission:
        """Put the paper on today's feed (UTC), submitted by `actor`; SubmissionRefused says which rule
        forbids it. The rules are checked under the paper's and the user's row locks: two submissions of
        one paper, or one user's submissions past the daily cap, cannot both pass."""
        now = now or _now()
        day = now.date()
        with write_transaction(self.engine) as conn:
            paper = self._lock_paper(conn, paper_id)
            conn.execute(select(users.c.id).where(users.c.id == actor.id).with_for_update()).first()
            entries = conn.execute(
                select(feed_entries.c.day, feed_entries.c.removed_at).where(
                    feed_entries.c.paper_id == paper_id
                )
            ).all()
            if any(removed is not None for _, removed in entries) and not any(r is None for _, r in entries):
                raise SubmissionRefused("removed", "moderators removed this paper from Daily Papers", 409)
            live = sorted(_as_date(d) for d, removed in entries if removed is None)
            start = datetime.combine(day, time(0), tzinfo=UTC)
            today_count = conn.execute(
                select(func.count())
                .select_from(feed_entries)
                .where(feed_entries.c.submitted_by_id == actor.id, feed_entries.c.submitted_at >= start)
            ).scalar_one()
            published = conn.execute(select(papers.c.published_at).where(papers.c.id == paper_id)).scalar()
            check(
                rules,
                published_at=as_utc(published),
                now=now,
                on_feed_since=live[0] if live else None,
                submitted_today=today_count,
            )
            conn.execute(
                feed_entries.insert().values(
                    paper_id=paper_id, day=day, submitted_at=now, submitted_by_id=actor.id, comment=comment
                )
            )
            # Its trending weight counts from its first day on the feed.
            self.store.refresh_votes(conn, {paper_id})
        return Submission(paper_id, paper["arxiv_id"], day, now, comment)

    def submission_note(self, paper_id: int) -> dict[str, Any] | None:
        """The submitter's note of the paper's first live feed entry, with who wrote it, if there is one."""
        query = (
            select(feed_entries.c.comment, feed_entries.c.day, users.c.username)
            .select_from(feed_entries.outerjoin(users, users.c.id == feed_entries.c.submitted_by_id))
            .where(
                feed_entries.c.paper_id == paper_id,
                feed_entries.c.removed_at.is_(None),
                feed_entries.c.comment.is_not(None),
            )
            .order_by(feed_entries.c.day)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return {"comment": row.comment, "day": _as_date(row.day), "username": row.username}

    # -- upvotes ------------------------------------------------------------------------------------

    def set_upvote(
        self,
        actor: Actor,
        paper: int | str,
        on: bool,
        *,
        now: datetime | None = None,
        first: Callable[[Any], None] | None = None,
    ) -> UpvoteState:
        """Upvote (on) or take back (off) the paper (by id, or by arXiv id); idempotent, so a double click
        changes nothing the second time.

        The count is recounted from the rows; the trending key moves by the one vote (log-add-exp, or its
        inverse when that stays well-conditioned, else a recount from every vote: see dailypapers.trending).
        """
        now = now or _now()
        by = "id" if isinstance(paper, int) else "arxiv_id"
        with write_transaction(self.engine) as conn:
            if first is not None:
                first(conn)  # the rate limit's counter: one transaction, not two
            row = conn.execute(_UPVOTE_LOCK[by], {"paper": paper}).first()
            if row is None:
                raise NotFound("Paper not found")
            paper_id, key = row.id, row.trend_key
            vote = {"user_id": actor.id, "paper_id": paper_id}
            if on:
                changed = conn.execute(
                    _UPVOTE_INSERT[self.store.dialect], {**vote, "created_at": now}
                ).first()
                if changed is not None:
                    key = trending.add_votes(key, 1, now, self.store.half_life)
            else:
                changed = conn.execute(_UPVOTE_DELETE, vote).first()
                if changed is not None:
                    key = trending.remove_vote(key, as_utc(changed.created_at), self.store.half_life)
            if changed is None:
                return UpvoteState(paper_id, row.upvotes, on)
            if on or key is not None:
                count = conn.execute(_UPVOTE_RECOUNT, {"paper_id": paper_id, "key": key}).scalar_one()
            else:  # the sum would lose its precision: recount it from every vote
                self.store.refresh_votes(conn, {paper_id})
                count = conn.execute(select(papers.c.upvotes).where(papers.c.id == paper_id)).scalar_one()
        return UpvoteState(paper_id, count, on)

    def upvoted_among(self, user_id: int, paper_ids: Iterable[int]) -> set[int]:
        """Which of these papers the user has upvoted (one indexed query)."""
        wanted = list(dict.fromkeys(paper_ids))
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(upvotes.c.paper_id).where(
                        upvotes.c.user_id == user_id, upvotes.c.paper_id.in_(wanted)
                    )
                ).scalars()
            )

    def recent_upvotes(self, paper_ids: Iterable[int], since: datetime) -> dict[int, int]:
        """Upvotes that count as cast at `since` or later, by paper (papers with none are left out): our own
        rows by their time, and a paper's imported Hugging Face upvotes by the moment they count from in the
        trending key (its first day on the feed, see dailypapers.trending)."""
        wanted = list(dict.fromkeys(paper_ids))
        if not wanted:
            return {}
        own = (
            select(upvotes.c.paper_id, func.count())
            .where(upvotes.c.paper_id.in_(wanted), upvotes.c.created_at >= since)
            .group_by(upvotes.c.paper_id)
        )
        first_day = (
            select(feed_entries.c.paper_id, func.min(feed_entries.c.submitted_at).label("first_at"))
            .where(feed_entries.c.paper_id.in_(wanted))
            .group_by(feed_entries.c.paper_id)
            .subquery()
        )
        imported = (
            select(papers.c.id, papers.c.imported_upvotes)
            .join(first_day, first_day.c.paper_id == papers.c.id)
            .where(papers.c.imported_upvotes > 0, first_day.c.first_at >= since)
        )
        counts: dict[int, int] = {}
        with self.engine.connect() as conn:
            for rows in (conn.execute(own), conn.execute(imported)):
                for paper_id, count in rows:
                    counts[paper_id] = counts.get(paper_id, 0) + count
        return counts

    def upvoters(self, paper_id: int, *, limit: int = 100) -> tuple[list[UserView], int]:
        """The most recent upvoters of a paper (up to `limit`) and how many there are in all."""
        query = (
            select(users.c.id, users.c.username, users.c.fullname, users.c.avatar_url, users.c.type)
            .select_from(upvotes.join(users, users.c.id == upvotes.c.user_id))
            .where(upvotes.c.paper_id == paper_id)
            .order_by(upvotes.c.created_at.desc(), users.c.id)
            .limit(limit)
        )
        total = select(func.count()).select_from(upvotes).where(upvotes.c.paper_id == paper_id)
        with self.engine.connect() as conn:
            views = [
                UserView(r.id, r.username, r.fullname, r.avatar_url, r.type) for r in conn.execute(query)
            ]
            return views, conn.execute(total).scalar_one()

    # -- comments -----------------------------------------------------------------------------------

    def recount_discussion(self, conn, paper_id: int) -> None:
        """Redo the paper's comment count and "an author takes part" in the caller's transaction (after a
        claim of authorship is approved or withdrawn)."""
        self._refresh_comments(conn, self._lock_paper(conn, paper_id))

    def _refresh_comments(self, conn, paper: dict[str, Any]) -> None:
        """Recount the paper's visible comments, and whether one of its authors is among their writers (after
        an edit, a deletion or a moderation; a new comment counts itself in: see add_comment)."""
        keys = author_keys(list(paper["authors"] or []))
        writers = conn.execute(
            select(users.c.id, users.c.username, users.c.fullname)
            .distinct()
            .select_from(comments.join(users, users.c.id == comments.c.user_id))
            .where(comments.c.paper_id == paper["id"], _visible())
        ).all()
        claimants = claimant_ids(conn, paper["id"])
        participating = any(uid in claimants for uid, _, _ in writers) or (
            bool(keys) and any(is_author(keys, name, full) for _, name, full in writers)
        )
        visible = (
            select(func.count())
            .select_from(comments)
            .where(comments.c.paper_id == paper["id"], _visible())
            .scalar_subquery()
        )
        conn.execute(
            papers.update()
            .where(papers.c.id == paper["id"])
            .values(num_comments=visible, author_participating=participating)
        )

    def add_comment(
        self,
        actor: Actor,
        paper: int | str,
        body: str,
        *,
        parent_id: int | None = None,
        now: datetime | None = None,
        first: Callable[[Any], None] | None = None,
    ) -> CommentView:
        """A new comment on the paper (by id, or by arXiv id), or a reply: a reply to a reply joins the thread
        of its top-level comment.

        `first(conn)` runs first in the write transaction (the rate limit's counter)."""
        body = clean_body(body)
        now = now or _now()
        html = markdown.render(body)  # before the transaction: on SQLite the write lock is everyone's
        with write_transaction(self.engine) as conn:
            if first is not None:
                first(conn)
            paper = self._lock_paper(conn, paper)
            paper_id = paper["id"]
            if parent_id is not None:
                parent = conn.execute(_COMMENT_PARENT, {"id": parent_id}).first()
                if parent is None or parent.paper_id != paper_id:
                    raise NotFound("The comment you reply to is not on this paper")
                if parent.deleted_at is not None or parent.hidden_at is not None:
                    raise Conflict("The comment you reply to was removed")
                parent_id = parent.parent_id or parent_id
            row = {"paper_id": paper_id, "user_id": actor.id, "parent_id": parent_id, "body": body}
            inserted = conn.execute(_COMMENT_INSERT, {**row, "html": html, "created_at": now}).one()
            writer = actor.profile or conn.execute(_COMMENT_WRITER, {"id": actor.id}).one()
            claimed = actor.id in claimant_ids(conn, paper_id)
            by_author = claimed or is_author(
                author_keys(list(paper["authors"] or [])), writer.username, writer.fullname
            )
            # A new comment is visible: one more, under the paper's row lock, instead of a recount whose cost
            # grows with the discussion (edits, deletions and moderation recount: _refresh_comments); and only
            # its writer can turn "an author takes part" from no to yes.
            conn.execute(
                _COMMENT_COUNTED,
                {"paper_id": paper_id, "participating": bool(paper["author_participating"]) or by_author},
            )
        return CommentView(
            id=inserted.id,
            paper_id=paper_id,
            parent_id=parent_id,
            author=UserView(
                actor.id, writer.username, writer.fullname, writer.avatar_url, writer.type or "user"
            ),
            body=body,
            html=inserted.html,
            created_at=now,
            edited_at=None,
            deleted=False,
            hidden=False,
            is_paper_author=by_author,
            claimed_author=claimed,
        )

    def edit_comment(
        self, actor: Actor, comment_id: int, body: str, *, now: datetime | None = None
    ) -> CommentView:
        """Change one's own comment (moderators included: they hide others' comments, never rewrite them)."""
        body = clean_body(body)
        with write_transaction(self.engine) as conn:
            row = self._own_comment(conn, actor, comment_id)
            paper = self._lock_paper(conn, row.paper_id)
            conn.execute(
                comments.update()
                .where(comments.c.id == comment_id)
                .values(body=body, html=markdown.render(body), edited_at=now or _now())
            )
            self._refresh_comments(conn, paper)
        return self.comment(comment_id, viewer=actor)

    def delete_comment(self, actor: Actor, comment_id: int, *, now: datetime | None = None) -> None:
        """Delete one's own comment: its text goes, its replies stay under a "deleted" placeholder."""
        with write_transaction(self.engine) as conn:
            row = self._own_comment(conn, actor, comment_id)
            paper = self._lock_paper(conn, row.paper_id)
            conn.execute(
                comments.update()
                .where(comments.c.id == comment_id)
                .values(body="", html="", deleted_at=now or _now())
            )
            self._refresh_comments(conn, paper)

    def _own_comment(self, conn, actor: Actor, comment_id: int):
        row = conn.execute(
            select(
                comments.c.paper_id, comments.c.user_id, comments.c.deleted_at, comments.c.hidden_at
            ).where(comments.c.id == comment_id)
        ).first()
        if row is None or row.deleted_at is not None:
            raise NotFound("Comment not found")
        if row.user_id != actor.id:
            raise Forbidden("You can only change your own comments")
        if row.hidden_at is not None:
            raise Conflict("A moderator hid this comment; it can no longer be changed")
        return row

    def comment(self, comment_id: int, *, viewer: Actor | None = None) -> CommentView:
        with self.engine.connect() as conn:
            row = conn.execute(_comment_query().where(comments.c.id == comment_id)).first()
            if row is None:
                raise NotFound("Comment not found")
            authors = conn.execute(select(papers.c.authors).where(papers.c.id == row.paper_id)).scalar()
            claimants = claimant_ids(conn, row.paper_id)
        view = _comment_view(row, author_keys(list(authors or [])), viewer, claimants=claimants)
        if view is None:
            raise NotFound("Comment not found")
        return view

    def comments_page(
        self, paper_id: int, *, offset: int = 0, limit: int = 50, viewer: Actor | None = None
    ) -> CommentsPage:
        """Top-level comments, oldest first, each with all its replies (oldest first).

        Deleted and hidden comments are left out, unless they have replies that are not: then they stay as a
        placeholder without their text. Moderators see hidden comments with their text, marked hidden.
        """
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        moderator = viewer is not None and viewer.is_moderator
        reply = _REPLY
        shown = _visible() if not moderator else comments.c.deleted_at.is_(None)
        live_reply = exists().where(
            reply.c.parent_id == comments.c.id,
            reply.c.deleted_at.is_(None),
            *([] if moderator else [reply.c.hidden_at.is_(None)]),
        )
        tops = and_(comments.c.paper_id == paper_id, comments.c.parent_id.is_(None), or_(shown, live_reply))
        with self.engine.connect() as conn:
            authors = conn.execute(select(papers.c.authors).where(papers.c.id == paper_id)).scalar()
            claimants = claimant_ids(conn, paper_id)
            total = conn.execute(select(func.count()).select_from(comments).where(tops)).scalar_one()
            top_rows = conn.execute(
                _comment_query().where(tops).order_by(comments.c.id).offset(offset).limit(limit)
            ).all()
            reply_rows = []
            if top_rows:
                reply_rows = conn.execute(
                    _comment_query()
                    .where(comments.c.parent_id.in_([r.id for r in top_rows]))
                    .order_by(comments.c.id)
                ).all()
        authors = author_keys(list(authors or []))
        threads = []
        by_id: dict[int, CommentView] = {}
        for row in top_rows:
            view = _comment_view(row, authors, viewer, keep_placeholder=True, claimants=claimants)
            by_id[row.id] = view
            threads.append(view)
        for row in reply_rows:
            view = _comment_view(row, authors, viewer, claimants=claimants)
            if view is not None:
                by_id[row.parent_id].replies.append(view)
        return CommentsPage(threads, total, offset, limit)

    # -- moderation ---------------------------------------------------------------------------------

    def _log(self, conn, moderator: Actor, action: str, target_type: str, target_id: int, **fields) -> None:
        conn.execute(
            moderation_log.insert().values(
                at=_now(),
                moderator_id=moderator.id,
                moderator=moderator.username,
                action=action,
                target_type=target_type,
                target_id=target_id,
                **fields,
            )
        )

    def hide_comment(
        self, moderator: Actor, comment_id: int, *, hidden: bool = True, reason: str = ""
    ) -> None:
        _require_moderator(moderator)
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(comments.c.paper_id, comments.c.user_id, comments.c.body, comments.c.hidden_at).where(
                    comments.c.id == comment_id
                )
            ).first()
            if row is None:
                raise NotFound("Comment not found")
            paper = self._lock_paper(conn, row.paper_id)
            if (row.hidden_at is not None) == hidden:
                return  # already so: nothing to do, nothing to log
            conn.execute(
                comments.update()
                .where(comments.c.id == comment_id)
                .values(hidden_at=_now() if hidden else None, hidden_by_id=moderator.id if hidden else None)
            )
            self._refresh_comments(conn, paper)
            self._log(
                conn,
                moderator,
                "hide_comment" if hidden else "unhide_comment",
                "comment",
                comment_id,
                paper_id=row.paper_id,
                subject_user_id=row.user_id,
                reason=reason or None,
                details={"excerpt": markdown.plain_excerpt(row.body)},
            )

    def remove_entry(
        self,
        moderator: Actor,
        paper_id: int,
        day: date | None = None,
        *,
        reason: str = "",
        restore: bool = False,
    ) -> int:
        """Take the paper off the feed (of `day`, or of every day); `restore` puts it back. Returns how many
        entries changed."""
        _require_moderator(moderator)
        with write_transaction(self.engine) as conn:
            self._lock_paper(conn, paper_id)
            base = [feed_entries.c.paper_id == paper_id]
            if day is not None:
                base.append(feed_entries.c.day == day)
            where = [*base]
            where.append(
                feed_entries.c.removed_at.is_not(None) if restore else feed_entries.c.removed_at.is_(None)
            )
            rows = conn.execute(
                select(feed_entries.c.id, feed_entries.c.day, feed_entries.c.submitted_by_id).where(*where)
            ).all()
            if not rows:
                if not conn.execute(select(feed_entries.c.id).where(*base)).first():
                    raise NotFound("That paper is not on the feed of that day")
                return 0
            conn.execute(
                feed_entries.update()
                .where(feed_entries.c.id.in_([r.id for r in rows]))
                .values(removed_at=None if restore else _now())
            )
            for row in rows:
                self._log(
                    conn,
                    moderator,
                    "restore_entry" if restore else "remove_entry",
                    "feed_entry",
                    row.id,
                    paper_id=paper_id,
                    subject_user_id=row.submitted_by_id,
                    reason=reason or None,
                    details={"day": _as_date(row.day).isoformat()},
                )
        return len(rows)

    def suspend(self, moderator: Actor, user_id: int, *, suspended: bool = True, reason: str = "") -> None:
        """Suspend an account (it can still read, not act) or lift the suspension. Admins cannot be
        suspended by moderators, nor anyone by themselves."""
        _require_moderator(moderator)
        if user_id == moderator.id:
            raise Conflict("You cannot suspend yourself")
        with write_transaction(self.engine) as conn:
            row = conn.execute(
                select(users.c.username, users.c.role, users.c.suspended_at)
                .where(users.c.id == user_id)
                .with_for_update()
            ).first()
            if row is None:
                raise NotFound("No such user")
            if row.role == "admin" and moderator.role != "admin":
                raise Forbidden("Only an admin can suspend an admin")
            if (row.suspended_at is not None) == suspended:
                return
            conn.execute(
                users.update().where(users.c.id == user_id).values(suspended_at=_now() if suspended else None)
            )
            self._log(
                conn,
                moderator,
                "suspend_user" if suspended else "unsuspend_user",
                "user",
                user_id,
                subject_user_id=user_id,
                reason=reason or None,
                details={"username": row.username},
            )

    def moderation_entries(self, *, offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        query = (
            select(moderation_log, papers.c.arxiv_id, users.c.username.label("subject"))
            .select_from(
                moderation_log.outerjoin(papers, papers.c.id == moderation_log.c.paper_id).outerjoin(
                    users, users.c.id == moderation_log.c.subject_user_id
                )
            )
            .order_by(moderation_log.c.id.desc())
            .offset(offset)
            .limit(max(1, min(limit, MAX_PAGE_SIZE)))
        )
        with self.engine.connect() as conn:
            rows = [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(query)]
        for row in rows:
            row["at"] = as_utc(row["at"])
        return rows

    def user_id(self, username: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.id).where(users.c.username == username)).scalar()

    # -- accounts -----------------------------------------------------------------------------------

    def forget_user(self, conn, user_id: int) -> None:
        """Call inside the transaction that deletes a user, before the DELETE: their upvotes and comments go
        with the account (foreign keys cascade), so the counts of the papers they touched are redone after.

        Removes their rows itself, then recounts, so the counts are exact when the transaction commits."""
        voted = set(conn.execute(select(upvotes.c.paper_id).where(upvotes.c.user_id == user_id)).scalars())
        discussed = set(
            conn.execute(select(comments.c.paper_id).where(comments.c.user_id == user_id)).scalars()
        )
        conn.execute(upvotes.delete().where(upvotes.c.user_id == user_id))
        # Replies by others to their comments go with them (cascade): recount those papers too.
        conn.execute(comments.delete().where(comments.c.user_id == user_id))
        self.store.refresh_votes(conn, voted)
        for paper_id in sorted(discussed):
            paper = self._lock_paper(conn, paper_id)
            self._refresh_comments(conn, paper)


def claimant_ids(conn, paper_id: int) -> set[int]:
    """The accounts a moderator confirmed as authors of the paper (dailypapers.store.authors)."""
    query = select(author_claims.c.user_id).where(
        author_claims.c.paper_id == paper_id, author_claims.c.status == "approved"
    )
    return set(conn.execute(query).scalars())


def clean_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidComment("A comment needs some text")
    if len(text) > markdown.MAX_COMMENT_CHARS:
        raise InvalidComment(f"A comment is at most {markdown.MAX_COMMENT_CHARS:,} characters")
    if "\x00" in text:
        raise InvalidComment("A comment cannot contain NUL characters")
    return text


def _require_moderator(actor: Actor) -> None:
    if not actor.is_moderator:
        raise Forbidden("Moderators only")


def _comment_query():
    return _COMMENT_QUERY


_COMMENT_QUERY = select(
    comments.c.id,
    comments.c.paper_id,
    comments.c.parent_id,
    comments.c.user_id,
    comments.c.body,
    comments.c.html,
    comments.c.created_at,
    comments.c.edited_at,
    comments.c.deleted_at,
    comments.c.hidden_at,
    users.c.username,
    users.c.fullname,
    users.c.avatar_url,
    users.c.type,
).select_from(comments.join(users, users.c.id == comments.c.user_id))
_REPLY = comments.alias("reply")


def _comment_view(
    row,
    authors: frozenset[str],
    viewer: Actor | None,
    *,
    keep_placeholder: bool = False,
    claimants: frozenset[int] | set[int] = frozenset(),
):
    deleted = row.deleted_at is not None
    hidden = row.hidden_at is not None
    moderator = viewer is not None and viewer.is_moderator
    if (deleted or (hidden and not moderator)) and not keep_placeholder:
        return None
    show_text = not deleted and (not hidden or moderator)
    author = UserView(row.user_id, row.username, row.fullname, row.avatar_url, row.type or "user")
    return CommentView(
        id=row.id,
        paper_id=row.paper_id,
        parent_id=row.parent_id,
        author=author,
        body=row.body if show_text else "",
        html=row.html if show_text else "",
        created_at=as_utc(row.created_at),
        edited_at=as_utc(row.edited_at),
        deleted=deleted,
        hidden=hidden,
        is_paper_author=row.user_id in claimants or is_author(authors, row.username, row.fullname),
        claimed_author=row.user_id in claimants,
    )


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
