"""For you's rows: a reader's profiles (named interests) and their like/dislike signals. Private to the
reader: nothing here is ever read for anyone else.

Every reader has a default profile, made on the first write that needs it; reads before then see an empty one.
A signal is one row per (profile, paper); a like in two profiles is two rows. Upvotes count as likes of the
default profile (read from `upvotes`, never copied).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, select, update

from dailypapers.recommend.profiles import (
    DEFAULT_NAME,
    MAX_PROFILES,
    SIGNALS,
    InvalidProfile,
    ProfileSpec,
)
from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import papers, reader_profiles, reader_signals, upvotes


class UnknownPaper(LookupError):
    pass


class UnknownProfile(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Profile:
    id: int | None  # None: the default profile, not written yet
    name: str
    is_default: bool
    musts: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    feed_key: str | None = None


@dataclass(frozen=True, slots=True)
class SignalRow:
    profile: str
    paper_id: int
    arxiv_id: str
    title: str
    signal: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaperState:
    """A paper as one reader sees it: their signal in the profile asked about, and in every profile."""

    paper_id: int
    arxiv_id: str
    profile: str
    signal: str | None
    profiles: dict[str, str]
    upvoted: bool


@dataclass(frozen=True, slots=True)
class Training:
    """What a profile's ranking learns from, by paper id."""

    liked: list[int]
    disliked: list[int]
    rated: set[int]  # every paper the reader has rated in any profile or upvoted: never recommended


EMPTY_DEFAULT = Profile(None, DEFAULT_NAME, True)


def _now() -> datetime:
    return datetime.now(UTC)


def _profile(row) -> Profile:
    return Profile(
        row.id,
        row.name,
        bool(row.is_default),
        tuple(row.musts or ()),
        tuple(row.excludes or ()),
        tuple(row.categories or ()),
        row.feed_key,
    )


_PROFILES = select(reader_profiles)


class SignalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- profiles -----------------------------------------------------------------------------------

    def profiles(self, user_id: int) -> list[Profile]:
        """The reader's profiles, the default first (an unwritten one if they have none yet)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                _PROFILES.where(reader_profiles.c.user_id == user_id).order_by(
                    reader_profiles.c.is_default.desc(), reader_profiles.c.id
                )
            ).all()
        found = [_profile(row) for row in rows]
        if not any(p.is_default for p in found):
            found.insert(0, EMPTY_DEFAULT)
        return found

    def profile(self, user_id: int, name: str | None) -> Profile:
        """A profile by name (None or "default": the default one); UnknownProfile when there is none."""
        for found in self.profiles(user_id):
            if (name is None and found.is_default) or (
                name is not None and found.name.lower() == name.lower()
            ):
                return found
            if name is not None and found.is_default and name.lower() == DEFAULT_NAME:
                return found
        raise UnknownProfile(f'No profile named "{name}".')

    def _default_id(self, conn: Connection, user_id: int) -> int:
        query = select(reader_profiles.c.id).where(
            reader_profiles.c.user_id == user_id, reader_profiles.c.is_default.is_(True)
        )
        found = conn.execute(query).scalar()
        if found is not None:
            return found
        insert = conflict_insert(self.engine.dialect.name, reader_profiles)
        conn.execute(
            insert.values(
                user_id=user_id,
                name=DEFAULT_NAME,
                is_default=True,
                musts=[],
                excludes=[],
                categories=[],
                created_at=_now(),
            ).on_conflict_do_nothing(index_elements=["user_id", "name"])
        )
        return conn.execute(query).scalar_one()

    def _profile_id(self, conn: Connection, user_id: int, name: str | None) -> tuple[int, str]:
        if name is None or name.lower() == DEFAULT_NAME:
            return self._default_id(conn, user_id), DEFAULT_NAME
        row = conn.execute(
            select(reader_profiles.c.id, reader_profiles.c.name).where(
                reader_profiles.c.user_id == user_id, func.lower(reader_profiles.c.name) == name.lower()
            )
        ).first()
        if row is None:
            raise UnknownProfile(f'No profile named "{name}".')
        return row.id, row.name

    def create_profile(self, user_id: int, spec: ProfileSpec) -> Profile:
        """A new profile; InvalidProfile when the name is taken or the reader has MAX_PROFILES already."""
        with write_transaction(self.engine) as conn:
            self._default_id(conn, user_id)
            names = list(
                conn.execute(
                    select(reader_profiles.c.name).where(reader_profiles.c.user_id == user_id)
                ).scalars()
            )
            if len(names) >= MAX_PROFILES:
                raise InvalidProfile(f"At most {MAX_PROFILES} profiles: delete one first.")
            if spec.name.lower() in {n.lower() for n in names}:
                raise InvalidProfile(f'You have a profile named "{spec.name}" already.')
            new_id = conn.execute(
                reader_profiles.insert()
                .values(
                    user_id=user_id,
                    name=spec.name,
                    is_default=False,
                    musts=list(spec.musts),
                    excludes=list(spec.excludes),
                    categories=list(spec.categories),
                    created_at=_now(),
                )
                .returning(reader_profiles.c.id)
            ).scalar_one()
            return _profile(conn.execute(_PROFILES.where(reader_profiles.c.id == new_id)).one())

    def update_profile(self, user_id: int, name: str | None, spec: ProfileSpec) -> Profile:
        """Change a profile's filters (and its name, except the default's)."""
        with write_transaction(self.engine) as conn:
            profile_id, current = self._profile_id(conn, user_id, name)
            new_name = current if current == DEFAULT_NAME else spec.name
            if new_name.lower() != current.lower():
                clash = conn.execute(
                    select(reader_profiles.c.id).where(
                        reader_profiles.c.user_id == user_id,
                        func.lower(reader_profiles.c.name) == new_name.lower(),
                    )
                ).first()
                if clash is not None or new_name.lower() == DEFAULT_NAME:
                    raise InvalidProfile(f'You have a profile named "{new_name}" already.')
            conn.execute(
                update(reader_profiles)
                .where(reader_profiles.c.id == profile_id)
                .values(
                    name=new_name,
                    musts=list(spec.musts),
                    excludes=list(spec.excludes),
                    categories=list(spec.categories),
                )
            )
            return _profile(conn.execute(_PROFILES.where(reader_profiles.c.id == profile_id)).one())

    def delete_profile(self, user_id: int, name: str) -> None:
        """Delete a profile and its signals (the default one cannot be deleted: reset it)."""
        if name.lower() == DEFAULT_NAME:
            raise InvalidProfile("The default profile cannot be deleted; reset it instead.")
        with write_transaction(self.engine) as conn:
            profile_id, _ = self._profile_id(conn, user_id, name)
            conn.execute(delete(reader_signals).where(reader_signals.c.profile_id == profile_id))
            conn.execute(delete(reader_profiles).where(reader_profiles.c.id == profile_id))

    def reset_profile(self, user_id: int, name: str | None) -> int:
        """Forget every signal of a profile; returns how many there were."""
        with write_transaction(self.engine) as conn:
            profile_id, _ = self._profile_id(conn, user_id, name)
            return conn.execute(
                delete(reader_signals).where(reader_signals.c.profile_id == profile_id)
            ).rowcount

    def set_feed_key(self, user_id: int, name: str | None, *, on: bool) -> str | None:
        """A new secret for the profile's personal feeds (every older address stops working), or none."""
        key = secrets.token_urlsafe(24) if on else None
        with write_transaction(self.engine) as conn:
            profile_id, _ = self._profile_id(conn, user_id, name)
            conn.execute(
                update(reader_profiles).where(reader_profiles.c.id == profile_id).values(feed_key=key)
            )
        return key

    def by_feed_key(self, key: str) -> tuple[int, Profile] | None:
        """The reader and profile whose personal feed this secret opens."""
        if not key or len(key) > 64:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(_PROFILES.where(reader_profiles.c.feed_key == key)).first()
        return None if row is None else (row.user_id, _profile(row))

    # -- signals ------------------------------------------------------------------------------------

    def set_signal(
        self,
        user_id: int,
        arxiv_id: str,
        signal: str,
        profile: str | None = None,
        *,
        now: datetime | None = None,
    ) -> PaperState:
        """Like, dislike or clear ("clear") a paper in a profile; idempotent. UnknownPaper, UnknownProfile."""
        if signal not in (*SIGNALS, "clear"):
            raise ValueError("signal must be like, dislike or clear")
        with write_transaction(self.engine) as conn:
            paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar()
            if paper_id is None:
                raise UnknownPaper("Paper not found")
            profile_id, name = self._profile_id(conn, user_id, profile)
            key = {"profile_id": profile_id, "paper_id": paper_id}
            if signal == "clear":
                conn.execute(
                    delete(reader_signals).where(
                        reader_signals.c.profile_id == profile_id, reader_signals.c.paper_id == paper_id
                    )
                )
            else:
                insert = conflict_insert(self.engine.dialect.name, reader_signals)
                values = {**key, "user_id": user_id, "signal": signal, "created_at": now or _now()}
                conn.execute(
                    insert.values(values).on_conflict_do_update(
                        index_elements=["profile_id", "paper_id"],
                        set_={"signal": signal, "created_at": values["created_at"]},
                    )
                )
            return self._state(conn, user_id, paper_id, arxiv_id, name)

    def _state(self, conn: Connection, user_id: int, paper_id: int, arxiv_id: str, name: str) -> PaperState:
        rows = conn.execute(
            select(reader_profiles.c.name, reader_signals.c.signal)
            .join(reader_profiles, reader_profiles.c.id == reader_signals.c.profile_id)
            .where(reader_signals.c.user_id == user_id, reader_signals.c.paper_id == paper_id)
        ).all()
        upvoted = conn.execute(
            select(upvotes.c.paper_id).where(upvotes.c.user_id == user_id, upvotes.c.paper_id == paper_id)
        ).first()
        every = {row.name: row.signal for row in rows}
        return PaperState(paper_id, arxiv_id, name, every.get(name), every, upvoted is not None)

    def state(self, user_id: int, arxiv_id: str, profile: str | None = None) -> PaperState:
        with self.engine.connect() as conn:
            paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar()
            if paper_id is None:
                raise UnknownPaper("Paper not found")
            name = DEFAULT_NAME if profile is None else profile
            return self._state(conn, user_id, paper_id, arxiv_id, name)

    def signals_among(
        self, user_id: int, paper_ids: Iterable[int], profile_id: int | None = None
    ) -> dict[int, str]:
        """The reader's signal on each of these papers in one profile (default: the default one)."""
        wanted = list(dict.fromkeys(paper_ids))
        if not wanted:
            return {}
        query = select(reader_signals.c.paper_id, reader_signals.c.signal).where(
            reader_signals.c.user_id == user_id, reader_signals.c.paper_id.in_(wanted)
        )
        if profile_id is None:
            query = query.join(
                reader_profiles,
                and_(
                    reader_profiles.c.id == reader_signals.c.profile_id,
                    reader_profiles.c.is_default.is_(True),
                ),
            )
        else:
            query = query.where(reader_signals.c.profile_id == profile_id)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def signals(self, user_id: int, profile: str | None = None, *, limit: int = 1000) -> list[SignalRow]:
        """The reader's signals, newest first: of one profile, or (None) of all of them."""
        query = (
            select(
                reader_profiles.c.name,
                papers.c.id,
                papers.c.arxiv_id,
                papers.c.title,
                reader_signals.c.signal,
                reader_signals.c.created_at,
            )
            .join(reader_profiles, reader_profiles.c.id == reader_signals.c.profile_id)
            .join(papers, papers.c.id == reader_signals.c.paper_id)
            .where(reader_signals.c.user_id == user_id)
            .order_by(reader_signals.c.created_at.desc(), papers.c.id.desc())
            .limit(limit)
        )
        if profile is not None:
            query = query.where(func.lower(reader_profiles.c.name) == profile.lower())
        with self.engine.connect() as conn:
            return [SignalRow(*row) for row in conn.execute(query)]

    def training(self, user_id: int, profile: Profile) -> Training:
        """The profile's likes (the default one's include the reader's upvotes) and dislikes, and every paper
        the reader has rated anywhere."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reader_signals.c.profile_id, reader_signals.c.paper_id, reader_signals.c.signal).where(
                    reader_signals.c.user_id == user_id
                )
            ).all()
            voted = list(
                conn.execute(select(upvotes.c.paper_id).where(upvotes.c.user_id == user_id)).scalars()
            )
        liked = [r.paper_id for r in rows if r.profile_id == profile.id and r.signal == "like"]
        disliked = [r.paper_id for r in rows if r.profile_id == profile.id and r.signal == "dislike"]
        if profile.is_default:
            liked += [p for p in voted if p not in set(liked) and p not in set(disliked)]
        rated = {r.paper_id for r in rows} | set(voted)
        return Training(liked, disliked, rated)

    def export(self, user_id: int) -> dict[str, Any]:
        """Everything For you keeps about the reader, as JSON-ready data."""
        signals = self.signals(user_id, limit=1_000_000)
        return {
            "profiles": [
                {
                    "name": p.name,
                    "default": p.is_default,
                    "musts": list(p.musts),
                    "excludes": list(p.excludes),
                    "categories": list(p.categories),
                    "signals": [
                        {
                            "id": s.arxiv_id,
                            "title": s.title,
                            "signal": s.signal,
                            "at": s.created_at.isoformat(),
                        }
                        for s in signals
                        if s.profile == p.name
                    ],
                }
                for p in self.profiles(user_id)
            ]
        }


def forget_user(conn: Connection, user_id: int) -> None:
    """With the account go its profiles and signals; run inside the account's deletion transaction."""
    conn.execute(delete(reader_signals).where(reader_signals.c.user_id == user_id))
    conn.execute(delete(reader_profiles).where(reader_profiles.c.user_id == user_id))
