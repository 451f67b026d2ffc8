"""Collections on SQLAlchemy Core: one implementation for both databases.

Every change to a collection (its items, their order, its metadata, its upvote count) happens in one write
transaction that first takes the collection's row lock (`FOR UPDATE` on PostgreSQL; SQLite's writers queue
on the database lock): positions stay 0..n-1 without gaps or twins, and `upvotes` equals its rows.

Visibility is decided here, once: a private collection exists only for its owner, and a collection that is
not the caller's cannot be changed; both answer CollectionNotFound, so nobody learns that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from dailypapers.curation import rules
from dailypapers.curation.model import Choice, CollectionView, ItemView
from dailypapers.curation.rules import CollectionNotFound, DuplicateCollection, DuplicateItem, ItemNotFound
from dailypapers.papers import UserView, as_utc
from dailypapers.store.engine import DIALECTS, conflict_insert, write_transaction
from dailypapers.store.papers import SqlStore
from dailypapers.store.schema import collection_items, collection_upvotes, collections, papers, users

LISTED_ITEMS = 4  # items shown per collection in lists, as Hugging Face does
TRENDING_DAYS = 7
SORTS = ("lastModified", "trending", "upvotes")
UNSET: Any = object()

_UPVOTE_INSERT = {
    dialect: conflict_insert(dialect, collection_upvotes).on_conflict_do_nothing(
        index_elements=["user_id", "collection_id"]
    )
    for dialect in DIALECTS
}
_ITEM_COUNT = (
    select(func.count())
    .select_from(collection_items)
    .where(collection_items.c.collection_id == collections.c.id)
    .correlate(collections)
    .scalar_subquery()
    .label("item_count")
)
_COLUMNS = (
    collections,
    users.c.username,
    users.c.fullname,
    users.c.avatar_url,
    users.c.type.label("owner_type"),
    _ITEM_COUNT,
)


class PaperNotHere(LookupError):
    """The paper to add is not in this database."""


def _now() -> datetime:
    return datetime.now(UTC)


def _view(row) -> CollectionView:
    m = row._mapping
    owner = UserView(m["owner_id"], m["username"], m["fullname"], m["avatar_url"], m["owner_type"])
    return CollectionView(
        id=m["id"],
        public_id=m["public_id"],
        owner=owner,
        title=m["title"],
        description=m["description"],
        private=bool(m["private"]),
        theme=m["theme"],
        position=m["position"],
        upvotes=m["upvotes"],
        created_at=as_utc(m["created_at"]),
        updated_at=as_utc(m["updated_at"]),
        item_count=m["item_count"],
    )


def _visible_to(viewer_id: int | None):
    if viewer_id is None:
        return collections.c.private.is_(False)
    return or_(collections.c.private.is_(False), collections.c.owner_id == viewer_id)


class CollectionStore:
    """Readers' collections of papers: made, filled, ordered, annotated, upvoted, listed."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine
        self._insert_upvote = _UPVOTE_INSERT[self.engine.dialect.name]

    # -- reads --------------------------------------------------------------------------------------

    def get(self, slug: rules.SlugParts, viewer_id: int | None) -> CollectionView:
        """The collection with all its items in order; CollectionNotFound unless the viewer may see it."""
        with self.engine.connect() as conn:
            row = conn.execute(self._by_slug(slug).where(_visible_to(viewer_id))).first()
            if row is None:
                raise CollectionNotFound("Collection not found")
            view = _view(row)
            items = conn.execute(
                select(collection_items)
                .where(collection_items.c.collection_id == view.id)
                .order_by(collection_items.c.position, collection_items.c.id)
            ).all()
        self._attach_items(view, items)
        return view

    def list(
        self,
        *,
        viewer_id: int | None = None,
        owners: Sequence[str] = (),
        arxiv_ids: Sequence[str] = (),
        sort: str = "lastModified",
        offset: int = 0,
        limit: int = 20,
        items_each: int = LISTED_ITEMS,
    ) -> list[CollectionView]:
        """Collections the viewer may see, filtered by owner names (any of) and by papers they hold (any
        of), each with its first `items_each` items."""
        if sort not in SORTS:
            raise rules.InvalidCollection(f"sort must be one of {', '.join(SORTS)}")
        query = (
            select(*_COLUMNS).join(users, users.c.id == collections.c.owner_id).where(_visible_to(viewer_id))
        )
        if owners:
            query = query.where(func.lower(users.c.username).in_([o.lower() for o in owners]))
        if arxiv_ids:
            holding = (
                select(collection_items.c.collection_id)
                .join(papers, papers.c.id == collection_items.c.paper_id)
                .where(papers.c.arxiv_id.in_(list(arxiv_ids)))
            )
            query = query.where(collections.c.id.in_(holding))
        if sort == "upvotes":
            order = [collections.c.upvotes.desc(), collections.c.updated_at.desc()]
        elif sort == "trending":
            recent = (
                select(func.count())
                .select_from(collection_upvotes)
                .where(
                    collection_upvotes.c.collection_id == collections.c.id,
                    collection_upvotes.c.created_at >= _now() - timedelta(days=TRENDING_DAYS),
                )
                .correlate(collections)
                .scalar_subquery()
            )
            order = [recent.desc(), collections.c.upvotes.desc(), collections.c.updated_at.desc()]
        else:
            order = [collections.c.updated_at.desc()]
        query = query.order_by(*order, collections.c.id.desc()).offset(offset).limit(limit)
        with self.engine.connect() as conn:
            views = [_view(row) for row in conn.execute(query)]
            items = self._first_items(conn, [v.id for v in views], items_each) if items_each else []
        by_collection: dict[int, list] = {}
        for item in items:
            by_collection.setdefault(item.collection_id, []).append(item)
        paper_views = self._papers(items)
        for view in views:
            view.items = self._items(by_collection.get(view.id, []), paper_views)
        return views

    def holding(self, paper_id: int, limit: int = 20) -> tuple[list[CollectionView], int]:
        """Public collections that hold the paper (most upvoted first, at most `limit`), and how many."""
        holding = select(collection_items.c.collection_id).where(collection_items.c.paper_id == paper_id)
        where = and_(collections.c.private.is_(False), collections.c.id.in_(holding))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(collections).where(where)).scalar_one()
            rows = conn.execute(
                select(*_COLUMNS)
                .join(users, users.c.id == collections.c.owner_id)
                .where(where)
                .order_by(collections.c.upvotes.desc(), collections.c.updated_at.desc())
                .limit(limit)
            ).all()
        return [_view(row) for row in rows], total

    def choices(self, owner_id: int, paper_ids: Iterable[int] = ()) -> tuple[list[Choice], set[tuple]]:
        """The owner's collections for the "Add to collection" menu (their order), and which of `paper_ids`
        each holds already, as (public_id, paper_id) pairs."""
        wanted = list(set(paper_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(collections.c.id, collections.c.public_id, collections.c.title, collections.c.private)
                .where(collections.c.owner_id == owner_id)
                .order_by(collections.c.position, collections.c.updated_at.desc())
                .limit(rules.MAX_COLLECTIONS_PER_OWNER)
            ).all()
            held: set[tuple] = set()
            if wanted and rows:
                public = {r.id: r.public_id for r in rows}
                for start in range(0, len(wanted), 500):
                    for cid, pid in conn.execute(
                        select(collection_items.c.collection_id, collection_items.c.paper_id).where(
                            collection_items.c.collection_id.in_(list(public)),
                            collection_items.c.paper_id.in_(wanted[start : start + 500]),
                        )
                    ):
                        held.add((public[cid], pid))
        return [Choice(r.public_id, r.title, bool(r.private), False) for r in rows], held

    def upvoted_among(self, user_id: int, collection_ids: Iterable[int]) -> set[int]:
        wanted = list(set(collection_ids))
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(collection_upvotes.c.collection_id).where(
                        collection_upvotes.c.user_id == user_id,
                        collection_upvotes.c.collection_id.in_(wanted),
                    )
                ).scalars()
            )

    # -- writes -------------------------------------------------------------------------------------

    def create(
        self,
        owner_id: int,
        title: str,
        *,
        description: str | None = None,
        private: bool = False,
        theme: str | None = None,
    ) -> CollectionView:
        """A new empty collection, last among its owner's; DuplicateCollection if the owner has one of that
        title already (its slug in the exception)."""
        title = rules.title(title)
        values = {
            "description": rules.description(description),
            "private": bool(private),
            "theme": rules.theme(theme),
        }
        now = _now()
        try:
            with write_transaction(self.engine) as conn:
                self._lock_owner(conn, owner_id)
                existing = conn.execute(
                    select(collections.c.public_id).where(
                        collections.c.owner_id == owner_id, collections.c.title == title
                    )
                ).scalar()
                if existing is not None:
                    raise DuplicateCollection(
                        "You have a collection of that title already", self._slug_of(conn, existing)
                    )
                count = conn.execute(
                    select(func.count(), func.max(collections.c.position)).where(
                        collections.c.owner_id == owner_id
                    )
                ).one()
                if count[0] >= rules.MAX_COLLECTIONS_PER_OWNER:
                    raise rules.InvalidCollection(
                        f"An account has at most {rules.MAX_COLLECTIONS_PER_OWNER} collections"
                    )
                public_id = rules.new_public_id()
                conn.execute(
                    collections.insert().values(
                        public_id=public_id,
                        owner_id=owner_id,
                        title=title,
                        position=(count[1] + 1) if count[1] is not None else 0,
                        upvotes=0,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
        except IntegrityError:
            # Two creations of one title at once (the owner row lock makes this rare): the other one won.
            with self.engine.connect() as conn:
                existing = conn.execute(
                    select(collections.c.public_id).where(
                        collections.c.owner_id == owner_id, collections.c.title == title
                    )
                ).scalar()
                if existing is None:
                    raise
                raise DuplicateCollection(
                    "You have a collection of that title already", self._slug_of(conn, existing)
                ) from None
        return self._own(public_id, owner_id)

    def update(
        self,
        slug: rules.SlugParts,
        actor_id: int,
        *,
        title: str | None = None,
        description: Any = UNSET,
        private: bool | None = None,
        theme: str | None = None,
        position: int | None = None,
    ) -> CollectionView:
        """Change what is given of the actor's collection (its slug's tail stays: old links keep working)."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = rules.title(title)
        if description is not UNSET:
            changes["description"] = rules.description(description)
        if private is not None:
            changes["private"] = bool(private)
        if theme is not None:
            changes["theme"] = rules.theme(theme)
        with write_transaction(self.engine) as conn:
            row = self._lock(conn, slug, actor_id)
            if "title" in changes and changes["title"] != row.title:
                clash = conn.execute(
                    select(collections.c.public_id).where(
                        collections.c.owner_id == actor_id,
                        collections.c.title == changes["title"],
                        collections.c.id != row.id,
                    )
                ).scalar()
                if clash is not None:
                    raise DuplicateCollection(
                        "You have a collection of that title already", self._slug_of(conn, clash)
                    )
            if position is not None:
                self._move_collection(conn, actor_id, row.id, position)
            conn.execute(
                collections.update().where(collections.c.id == row.id).values(updated_at=_now(), **changes)
            )
        return self._own(row.public_id, actor_id)

    def delete(self, slug: rules.SlugParts, actor_id: int) -> None:
        with write_transaction(self.engine) as conn:
            row = self._lock(conn, slug, actor_id)
            # Explicitly, not by the foreign keys' cascade: SQLite enforces them only where switched on.
            conn.execute(collection_items.delete().where(collection_items.c.collection_id == row.id))
            conn.execute(collection_upvotes.delete().where(collection_upvotes.c.collection_id == row.id))
            conn.execute(collections.delete().where(collections.c.id == row.id))

    def add_item(self, slug: rules.SlugParts, actor_id: int, arxiv_id: str, note: str | None = None) -> int:
        """Append the paper to the actor's collection with its note; the new item's id. DuplicateItem if
        it is there already, PaperNotHere if we do not hold the paper."""
        note = rules.note(note)
        with write_transaction(self.engine) as conn:
            row = self._lock(conn, slug, actor_id)
            paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar()
            if paper_id is None:
                raise PaperNotHere(f"Paper {arxiv_id} is not here")
            present = conn.execute(
                select(func.count(), func.max(collection_items.c.position)).where(
                    collection_items.c.collection_id == row.id
                )
            ).one()
            already = conn.execute(
                select(collection_items.c.id).where(
                    collection_items.c.collection_id == row.id, collection_items.c.paper_id == paper_id
                )
            ).scalar()
            if already is not None:
                raise DuplicateItem(f"Paper {arxiv_id} is in this collection already")
            if present[0] >= rules.MAX_ITEMS:
                raise rules.InvalidCollection(f"A collection holds at most {rules.MAX_ITEMS} papers")
            now = _now()
            item_id = conn.execute(
                collection_items.insert()
                .values(
                    collection_id=row.id,
                    paper_id=paper_id,
                    position=(present[1] + 1) if present[1] is not None else 0,
                    note=note,
                    added_at=now,
                )
                .returning(collection_items.c.id)
            ).scalar_one()
            conn.execute(collections.update().where(collections.c.id == row.id).values(updated_at=now))
        return item_id

    def update_item(
        self,
        slug: rules.SlugParts,
        actor_id: int,
        item_id: int,
        *,
        note: Any = UNSET,
        position: int | None = None,
    ) -> None:
        """Change an item's note (None or "" removes it) and/or move it to `position` (0 is first)."""
        values = {} if note is UNSET else {"note": rules.note(note)}
        if position is not None and position < 0:
            raise rules.InvalidCollection("position must be 0 or more")
        with write_transaction(self.engine) as conn:
            row = self._lock(conn, slug, actor_id)
            order = self._order(conn, row.id)
            if item_id not in order:
                raise ItemNotFound("No such item in this collection")
            if values:
                conn.execute(
                    collection_items.update().where(collection_items.c.id == item_id).values(**values)
                )
            if position is not None:
                self._renumber(conn, order, rules.moved(order, item_id, position))
            conn.execute(collections.update().where(collections.c.id == row.id).values(updated_at=_now()))

    def delete_item(self, slug: rules.SlugParts, actor_id: int, item_id: int) -> None:
        with write_transaction(self.engine) as conn:
            row = self._lock(conn, slug, actor_id)
            order = self._order(conn, row.id)
            if item_id not in order:
                raise ItemNotFound("No such item in this collection")
            conn.execute(collection_items.delete().where(collection_items.c.id == item_id))
            self._renumber(conn, order, [i for i in order if i != item_id])
            conn.execute(collections.update().where(collections.c.id == row.id).values(updated_at=_now()))

    def set_upvote(self, slug: rules.SlugParts, user_id: int, on: bool) -> tuple[int, bool]:
        """Upvote (or take back) a collection the user may see; its upvotes and whether they upvoted it."""
        with write_transaction(self.engine) as conn:
            row = conn.execute(self._by_slug(slug, locking=True).where(_visible_to(user_id))).first()
            if row is None:
                raise CollectionNotFound("Collection not found")
            key = {"user_id": user_id, "collection_id": row.id}
            if on:
                conn.execute(self._insert_upvote.values(created_at=_now(), **key))
            else:
                conn.execute(
                    collection_upvotes.delete().where(
                        collection_upvotes.c.user_id == user_id, collection_upvotes.c.collection_id == row.id
                    )
                )
            count = conn.execute(
                select(func.count())
                .select_from(collection_upvotes)
                .where(collection_upvotes.c.collection_id == row.id)
            ).scalar_one()
            conn.execute(collections.update().where(collections.c.id == row.id).values(upvotes=count))
        return count, on

    # -- inside ---------------------------------------------------------------------------------------

    def _by_slug(self, slug: rules.SlugParts, *, locking: bool = False):
        if locking:
            # The row lock alone (PostgreSQL will not lock the nullable side of an outer join, nor a join
            # it need not): the owner's name is checked through a subquery.
            owner = select(users.c.id).where(func.lower(users.c.username) == slug.owner.lower())
            return (
                select(collections.c.id, collections.c.public_id, collections.c.title, collections.c.owner_id)
                .where(collections.c.public_id == slug.public_id, collections.c.owner_id.in_(owner))
                .with_for_update()
            )
        return (
            select(*_COLUMNS)
            .join(users, users.c.id == collections.c.owner_id)
            .where(
                collections.c.public_id == slug.public_id,
                func.lower(users.c.username) == slug.owner.lower(),
            )
        )

    def _lock(self, conn, slug: rules.SlugParts, actor_id: int):
        row = conn.execute(
            self._by_slug(slug, locking=True).where(collections.c.owner_id == actor_id)
        ).first()
        if row is None:
            raise CollectionNotFound("Collection not found")
        return row

    def _lock_owner(self, conn, owner_id: int) -> None:
        """Queue the owner's collection creations (titles are unique per owner, positions follow)."""
        found = conn.execute(select(users.c.id).where(users.c.id == owner_id).with_for_update()).scalar()
        if found is None:
            raise CollectionNotFound("No such account")

    def _slug_of(self, conn, public_id: str) -> str:
        row = conn.execute(
            select(users.c.username, collections.c.title)
            .join(users, users.c.id == collections.c.owner_id)
            .where(collections.c.public_id == public_id)
        ).one()
        return rules.slug(row.username, row.title, public_id)

    def _own(self, public_id: str, owner_id: int) -> CollectionView:
        with self.engine.connect() as conn:
            username = conn.execute(select(users.c.username).where(users.c.id == owner_id)).scalar_one()
        return self.get(rules.SlugParts(username, public_id), owner_id)

    def _order(self, conn, collection_id: int) -> list[int]:
        return list(
            conn.execute(
                select(collection_items.c.id)
                .where(collection_items.c.collection_id == collection_id)
                .order_by(collection_items.c.position, collection_items.c.id)
            ).scalars()
        )

    def _renumber(self, conn, before: list[int], after: list[int]) -> None:
        old = {item: index for index, item in enumerate(before)}
        changed = [{"i": item, "p": index} for index, item in enumerate(after) if old.get(item) != index]
        for change in changed:
            conn.execute(
                collection_items.update()
                .where(collection_items.c.id == change["i"])
                .values(position=change["p"])
            )

    def _move_collection(self, conn, owner_id: int, collection_id: int, position: int) -> None:
        if position < 0:
            raise rules.InvalidCollection("position must be 0 or more")
        order = list(
            conn.execute(
                select(collections.c.id)
                .where(collections.c.owner_id == owner_id)
                .order_by(collections.c.position, collections.c.id)
            ).scalars()
        )
        for index, cid in enumerate(rules.moved(order, collection_id, position)):
            conn.execute(collections.update().where(collections.c.id == cid).values(position=index))

    def _first_items(self, conn, collection_ids: list[int], each: int) -> list:
        if not collection_ids:
            return []
        ranked = (
            select(
                collection_items,
                func.row_number()
                .over(
                    partition_by=collection_items.c.collection_id,
                    order_by=(collection_items.c.position, collection_items.c.id),
                )
                .label("rank"),
            )
            .where(collection_items.c.collection_id.in_(collection_ids))
            .subquery()
        )
        return conn.execute(
            select(ranked).where(ranked.c.rank <= each).order_by(ranked.c.collection_id, ranked.c.position)
        ).all()

    def _papers(self, items: list) -> dict[int, Any]:
        return {v.id: v for v in self.store.get_many([i.paper_id for i in items])}

    def _items(self, rows: list, paper_views: dict[int, Any]) -> list[ItemView]:
        return [
            ItemView(row.id, row.position, row.note, as_utc(row.added_at), paper_views[row.paper_id])
            for row in rows
            if row.paper_id in paper_views
        ]

    def _attach_items(self, view: CollectionView, rows: list) -> None:
        view.items = self._items(rows, self._papers(rows))


def forget_user(conn, user_id: int) -> None:
    """Inside the transaction that deletes a user, before the DELETE: their collections go (items and upvotes
    with them), and the collections they upvoted are recounted without their upvotes."""
    owned = select(collections.c.id).where(collections.c.owner_id == user_id)
    conn.execute(collection_items.delete().where(collection_items.c.collection_id.in_(owned)))
    conn.execute(collection_upvotes.delete().where(collection_upvotes.c.collection_id.in_(owned)))
    conn.execute(collections.delete().where(collections.c.owner_id == user_id))
    upvoted = list(
        conn.execute(
            select(collection_upvotes.c.collection_id).where(collection_upvotes.c.user_id == user_id)
        ).scalars()
    )
    conn.execute(collection_upvotes.delete().where(collection_upvotes.c.user_id == user_id))
    for collection_id in sorted(upvoted):
        count = (
            select(func.count())
            .select_from(collection_upvotes)
            .where(collection_upvotes.c.collection_id == collection_id)
            .scalar_subquery()
        )
        conn.execute(collections.update().where(collections.c.id == collection_id).values(upvotes=count))
