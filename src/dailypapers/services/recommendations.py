"""For you: a reader's feed for a period, and the papers to ask them about (docs/foryou.md).

Reads the reader's signals and the period's candidates from the store, ranks with dailypapers.recommend, and
gives back paper views with score and reasons. A period's pool (vectors, texts, its TF-IDF) is the same for
every reader, so the last few are kept in memory, keyed by their exact list of papers: a new paper or a new
embedding makes a new key, and a reader's new signal changes nothing in it (signals are read every time).
What the reader follows (authors, organizations, categories) is read every time too and ranks as likes do.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from dailypapers.papers import PaperView
from dailypapers.recommend.profiles import KeywordFilter
from dailypapers.recommend.ranking import FollowHit, Pool, Seed, recommend, uncertain
from dailypapers.search.vectors import from_blob
from dailypapers.store.authors import AuthorStore
from dailypapers.store.papers import SqlStore
from dailypapers.store.recommend_pool import SqlRecommendPool
from dailypapers.store.signals import Profile, SignalStore

POOLS_KEPT = 8


@dataclass(frozen=True, slots=True)
class Recommended:
    view: PaperView
    score: float
    reasons: tuple[str, ...]


def _text(title: str, abstract: str) -> str:
    return f"{title}. {abstract}"


class Recommender:
    def __init__(self, store: SqlStore, signals: SignalStore, model: Callable[[], str]) -> None:
        self.store = store
        self.signals = signals
        self.pools = SqlRecommendPool(store.engine)
        self.authors = AuthorStore(store.engine)
        self.model = model
        self._kept: OrderedDict[tuple, Pool] = OrderedDict()
        self._lock = threading.Lock()

    def _pool(self, model: str, start: date, end: date, daily: bool) -> Pool:
        candidates = self.pools.candidates(model, start, end, daily=daily)
        ids = tuple(c.paper_id for c in candidates)
        key = (model, ids)
        with self._lock:
            pool = self._kept.get(key)
            if pool is not None:
                self._kept.move_to_end(key)
        if pool is None:
            rows = {r.paper_id: r for r in self.pools.vectors(model, ids)}
            ids = tuple(i for i in ids if i in rows)
            vectors = (
                np.stack([from_blob(rows[i].vector) for i in ids]).astype(np.float32)
                if ids
                else np.zeros((0, 1), dtype=np.float32)
            )
            texts = [_text(rows[i].title, rows[i].abstract) for i in ids]
            pool = Pool(ids, vectors, texts, authors=[tuple(rows[i].authors or ()) for i in ids])
            with self._lock:
                self._kept[key] = pool
                while len(self._kept) > POOLS_KEPT:
                    self._kept.popitem(last=False)
        # Popularity and categories move more often than the papers do: fresh for every request.
        by_id = {c.paper_id: c for c in candidates}
        popularity = np.array([by_id[i].upvotes for i in pool.ids], dtype=np.float32)
        categories = [by_id[i].categories for i in pool.ids]
        return Pool(
            pool.ids,
            pool.vectors,
            pool.texts,
            categories,
            popularity,
            pool.authors,
            _vectorizer=pool._vectorizer,
            _matrix=pool._matrix,
            _names=pool._names,
        )

    def _seeds(self, model: str, user_id: int, profile: Profile) -> tuple[list[Seed], set[int]]:
        training = self.signals.training(user_id, profile)
        rated = set(training.liked) | set(training.disliked)
        rows = {r.paper_id: r for r in self.pools.vectors(model, list(rated))}
        seeds = [
            Seed(
                pid,
                rows[pid].title,
                _text(rows[pid].title, rows[pid].abstract),
                from_blob(rows[pid].vector),
                signal,
                tuple(rows[pid].authors or ()),
            )
            for signal, ids in (("like", training.liked), ("dislike", training.disliked))
            for pid in ids
            if pid in rows
        ]
        return seeds, training.rated

    def _follows(self, user_id: int, pool: Pool) -> dict[int, list[FollowHit]]:
        """What the reader follows that each pool paper matches, by pool index."""
        index_of = {pid: i for i, pid in enumerate(pool.ids)}
        hits: dict[int, list[FollowHit]] = {}
        for match in self.pools.followed_among(self.authors.followed(user_id), pool.ids):
            hits.setdefault(index_of[match.paper_id], []).append(FollowHit(match.kind, match.label or ""))
        return hits

    def feed(
        self,
        user_id: int,
        profile: Profile,
        start: date,
        end: date,
        *,
        daily: bool = False,
        limit: int = 50,
        mix: float = 0.0,
    ) -> list[Recommended]:
        """The reader's best papers of [start, end] for this profile, never one they have rated."""
        model = self.model()
        pool = self._pool(model, start, end, daily)
        seeds, rated = self._seeds(model, user_id, profile)
        picks = recommend(
            pool,
            seeds,
            keywords=KeywordFilter(profile.musts, profile.excludes),
            categories=profile.categories,
            exclude=rated,
            mix=mix,
            limit=limit,
            follows=self._follows(user_id, pool),
        )
        self._keep(model, pool)
        views = {v.id: v for v in self.store.get_many([pool.ids[p.index] for p in picks])}
        return [
            Recommended(views[pool.ids[p.index]], p.score, p.reasons)
            for p in picks
            if pool.ids[p.index] in views
        ]

    def _keep(self, model: str, pool: Pool) -> None:
        """Keep the TF-IDF the ranking just fitted with the kept pool, so the next reader reuses it."""
        key = (model, tuple(pool.ids))
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept._vectorizer is None and pool._vectorizer is not None:
                kept._vectorizer, kept._matrix, kept._names = pool._vectorizer, pool._matrix, pool._names

    def to_rate(
        self, user_id: int, profile: Profile, start: date, end: date, *, limit: int = 10
    ) -> list[PaperView]:
        """Papers of the period to ask the reader about: those the ranking is least sure of."""
        model = self.model()
        pool = self._pool(model, start, end, False)
        seeds, rated = self._seeds(model, user_id, profile)
        chosen = uncertain(pool, seeds, exclude=rated, limit=limit)
        self._keep(model, pool)
        return self.store.get_many([pool.ids[i] for i in chosen])
