"""Every topic's papers by week, in arrays: rising lists, a topic's series, its top papers, related phrases.

Built from one read of the corpus (a paper's id, day, upvotes, categories and key phrases); a topic is a key
phrase or an arXiv category. Weeks are ISO weeks (Monday to Sunday) numbered from day one of the calendar.
Pure: the clock comes in as `today`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

from dailypapers.trends.statistics import ALPHA, MIN_MONTH, MIN_WEEK, expected, rises

Kind = Literal["phrase", "category"]
Window = Literal["week", "month"]
WINDOWS: dict[str, tuple[int, int, int]] = {
    # window weeks, baseline weeks before it, minimum papers in the window
    "week": (1, 8, MIN_WEEK),
    "month": (4, 12, MIN_MONTH),
}
SERIES_WEEKS = 26
CATEGORY = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


@dataclass(frozen=True, slots=True)
class PaperFact:
    paper_id: int
    day: date
    upvotes: int
    categories: Sequence[str]
    phrases: Sequence[str]


def week_of(day: date) -> int:
    """The week number of a day (day one, 0001-01-01, was a Monday)."""
    return (day.toordinal() - 1) // 7


def week_start(week: int) -> date:
    return date.fromordinal(week * 7 + 1)


@dataclass(frozen=True, slots=True)
class Topic:
    kind: Kind
    key: str
    id: int


@dataclass(slots=True)
class Series:
    """A topic week by week: its papers, their upvotes, and all papers of each week."""

    weeks: list[date]  # each week's Monday
    papers: list[int]
    upvotes: list[int]
    totals: list[int]

    @property
    def empty(self) -> bool:
        return not any(self.papers)


@dataclass(slots=True)
class Rise:
    topic: Topic
    window: int  # papers with the topic in the window
    baseline: int  # in the baseline weeks
    expected: float  # what the baseline's share predicts for the window
    score: float  # log2 ratio, smoothed (dailypapers.trends.statistics)
    upvotes: int  # upvotes of the window's papers with the topic
    upvote_score: float | None  # the same statistic over upvotes (None when the window has none)
    series: Series = field(default=None)  # type: ignore[assignment]
    top: list[int] = field(default_factory=list)  # paper ids


@dataclass(frozen=True, slots=True)
class Span:
    """A window and its baseline, in week numbers (inclusive)."""

    window: Window
    first: int
    last: int
    baseline_first: int
    baseline_last: int
    minimum: int

    @property
    def start(self) -> date:
        return week_start(self.first)

    @property
    def end(self) -> date:
        """The day after the window."""
        return week_start(self.last + 1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def baseline_start(self) -> date:
        return week_start(self.baseline_first)


class Snapshot:
    def __init__(self, facts: Iterable[PaperFact], today: date) -> None:
        ids, weeks, upvotes = [], [], []
        topic_index: dict[tuple[str, str], int] = {}
        pair_topic: list[int] = []
        pair_paper: list[int] = []
        for row, fact in enumerate(facts):
            ids.append(fact.paper_id)
            weeks.append(week_of(fact.day))
            upvotes.append(max(0, int(fact.upvotes)))
            seen: set[int] = set()
            for kind, keys in (("category", fact.categories), ("phrase", fact.phrases)):
                for key in keys:
                    topic = topic_index.setdefault((kind, key), len(topic_index))
                    if topic not in seen:
                        seen.add(topic)
                        pair_topic.append(topic)
                        pair_paper.append(row)
        self.today = today
        self.paper_ids = np.array(ids, dtype=np.int64)
        self.weeks = np.array(weeks, dtype=np.int64)
        self.upvotes = np.array(upvotes, dtype=np.int64)
        self.topics: list[tuple[str, str]] = [None] * len(topic_index)  # type: ignore[list-item]
        for key, index in topic_index.items():
            self.topics[index] = key
        self._index = topic_index
        self._categories_folded = {k.lower(): k for kind, k in topic_index if kind == "category"}
        self.is_category = np.array([kind == "category" for kind, _k in self.topics], dtype=bool)
        pairs_topic = np.array(pair_topic, dtype=np.int64)
        pairs_paper = np.array(pair_paper, dtype=np.int64)
        # Postings, topic by topic (CSR): the rows of a topic's papers.
        order = np.argsort(pairs_topic, kind="stable")
        self._posting_rows = pairs_paper[order]
        self._posting_ptr = np.zeros(len(self.topics) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs_topic, minlength=len(self.topics)), out=self._posting_ptr[1:])
        # And paper by paper: the topics of each row.
        order = np.argsort(pairs_paper, kind="stable")
        self._paper_topics = pairs_topic[order]
        self._paper_ptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs_paper, minlength=len(ids)), out=self._paper_ptr[1:])
        self._pair_topic = pairs_topic
        self._pair_paper = pairs_paper
        # What callers derive from this snapshot and keep as long as it lives (drawn charts, rising lists).
        self.memo: dict = {}
        self._pair_week = self.weeks[pairs_paper] if len(pairs_paper) else np.zeros(0, dtype=np.int64)
        self._pair_upvotes = self.upvotes[pairs_paper] if len(pairs_paper) else np.zeros(0, dtype=np.int64)
        self.first_week = int(self.weeks.min()) if len(ids) else week_of(today)
        self.totals = np.bincount(self.weeks - self.first_week) if len(ids) else np.zeros(0, dtype=np.int64)
        self.total_upvotes = (
            np.bincount(self.weeks - self.first_week, weights=self.upvotes)
            if len(ids)
            else np.zeros(0, dtype=np.float64)
        )
        current = week_of(today)
        present = self.weeks[self.weeks <= current]
        self.anchor = int(present.max()) if present.size else current
        self.counts = np.bincount(pairs_topic, minlength=len(self.topics))

    # -- looking topics up ------------------------------------------------------------------------------

    @property
    def papers(self) -> int:
        return int(self.paper_ids.size)

    def topic(self, id_: int) -> Topic:
        kind, key = self.topics[id_]
        return Topic(kind, key, id_)  # type: ignore[arg-type]

    def find(self, text: str) -> Topic | None:
        """A category (any case: cs.cl is cs.CL) or a key phrase (as written, or normalized)."""
        from dailypapers.keyphrases.candidates import normalize

        text = " ".join(text.split())
        if not text:
            return None
        category = self._categories_folded.get(text.lower())
        if category is not None:
            return self.topic(self._index[("category", category)])
        for key in (text, normalize(text.split()), text.lower(), normalize(text.lower().split())):
            found = self._index.get(("phrase", key))
            if found is not None:
                return self.topic(found)
        return None

    def suggest(self, text: str, limit: int = 8) -> list[Topic]:
        """Topics whose words contain all the words of `text` (else any), the most frequent first."""
        from dailypapers.keyphrases.candidates import STOPWORDS

        words = [w for w in re.split(r"[^\w.-]+", text.lower()) if len(w) > 1 and w not in STOPWORDS]
        # "rockets" finds "rocket": plurals are cut to their stem.
        words = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]
        if not words:
            return []
        scored: list[tuple[int, int, int]] = []
        for index, (_kind, key) in enumerate(self.topics):
            lower = key.lower()
            hits = sum(1 for w in words if w in lower)
            if hits:
                scored.append((hits, int(self.counts[index]), index))
        scored.sort(reverse=True)
        return [self.topic(i) for _h, _c, i in scored[:limit]]

    # -- windows ------------------------------------------------------------------------------------------

    def span(self, window: Window, anchor: int | None = None) -> Span:
        size, baseline, minimum = WINDOWS[window]
        last = self.anchor if anchor is None else anchor
        first = last - size + 1
        return Span(window, first, last, first - baseline, first - 1, minimum)

    def _total(self, first: int, last: int, upvotes: bool = False) -> float:
        source = self.total_upvotes if upvotes else self.totals
        lo, hi = max(first - self.first_week, 0), max(last - self.first_week + 1, 0)
        return float(source[lo:hi].sum())

    def rising(self, kind: Kind, window: Window, *, limit: int = 15, anchor: int | None = None) -> list[Rise]:
        """The topics of a kind whose share of the window's papers grew most against the baseline weeks."""
        span = self.span(window, anchor)
        in_window = (self._pair_week >= span.first) & (self._pair_week <= span.last)
        in_base = (self._pair_week >= span.baseline_first) & (self._pair_week <= span.baseline_last)
        size = len(self.topics)
        c_w = np.bincount(self._pair_topic[in_window], minlength=size)
        c_b = np.bincount(self._pair_topic[in_base], minlength=size)
        n_w, n_b = self._total(span.first, span.last), self._total(span.baseline_first, span.baseline_last)
        if n_w == 0 or n_b == 0:
            return []
        scores = rises(c_w, c_b, n_w, n_b)
        wanted = self.is_category if kind == "category" else ~self.is_category
        eligible = np.flatnonzero(wanted & (c_w >= span.minimum) & (scores > 0))
        order = eligible[np.lexsort((-c_w[eligible], -scores[eligible]))][:limit]
        u_w = np.bincount(self._pair_topic[in_window], weights=self._pair_upvotes[in_window], minlength=size)
        u_b = np.bincount(self._pair_topic[in_base], weights=self._pair_upvotes[in_base], minlength=size)
        un_w = self._total(span.first, span.last, upvotes=True)
        un_b = self._total(span.baseline_first, span.baseline_last, upvotes=True)
        found = []
        for index in order:
            i = int(index)
            upvote_score = None
            if un_w > 0 and un_b > 0 and u_w[i] > 0:
                upvote_score = float(rises(u_w[i : i + 1], u_b[i : i + 1], un_w, un_b)[0])
            found.append(
                Rise(
                    topic=self.topic(i),
                    window=int(c_w[i]),
                    baseline=int(c_b[i]),
                    expected=expected(float(c_b[i]), n_w, n_b),
                    score=float(scores[i]),
                    upvotes=int(u_w[i]),
                    upvote_score=upvote_score,
                    series=self.series(i, last=span.last),
                    top=self.top_papers(i, span.first, span.last, limit=3),
                )
            )
        return found

    def claim(self, topic: Topic, window: Window, anchor: int | None = None) -> Rise:
        """The statistic for one topic (whatever its count: `window < minimum` means no trend is claimed)."""
        span = self.span(window, anchor)
        rows = self._rows(topic.id)
        weeks = self.weeks[rows]
        ups = self.upvotes[rows]
        in_w = (weeks >= span.first) & (weeks <= span.last)
        in_b = (weeks >= span.baseline_first) & (weeks <= span.baseline_last)
        c_w, c_b = int(in_w.sum()), int(in_b.sum())
        n_w, n_b = self._total(span.first, span.last), self._total(span.baseline_first, span.baseline_last)
        score = math.log2((c_w + ALPHA) / (expected(c_b, n_w, n_b) + ALPHA)) if n_b > 0 else 0.0
        u_w, u_b = float(ups[in_w].sum()), float(ups[in_b].sum())
        un_w = self._total(span.first, span.last, upvotes=True)
        un_b = self._total(span.baseline_first, span.baseline_last, upvotes=True)
        upvote_score = None
        if un_w > 0 and un_b > 0 and u_w > 0:
            upvote_score = math.log2((u_w + ALPHA) / (expected(u_b, un_w, un_b) + ALPHA))
        return Rise(topic, c_w, c_b, expected(c_b, n_w, n_b), score, int(u_w), upvote_score)

    # -- one topic ----------------------------------------------------------------------------------------

    def _rows(self, topic_id: int) -> np.ndarray:
        return self._posting_rows[self._posting_ptr[topic_id] : self._posting_ptr[topic_id + 1]]

    def series(self, topic_id: int, *, last: int | None = None, weeks: int = SERIES_WEEKS) -> Series:
        """The topic's papers and upvotes in each of `weeks` weeks up to week `last` (default: the anchor);
        `weeks=0` for every week of the corpus."""
        last = self.anchor if last is None else last
        first = self.first_week if weeks == 0 else last - weeks + 1
        count = last - first + 1
        rows = self._rows(topic_id)
        offsets = self.weeks[rows] - first
        keep = (offsets >= 0) & (offsets < count)
        papers = np.bincount(offsets[keep], minlength=count)
        ups = np.bincount(offsets[keep], weights=self.upvotes[rows][keep], minlength=count)
        totals = [int(self._total(w, w)) for w in range(first, last + 1)]
        return Series(
            weeks=[week_start(w) for w in range(first, last + 1)],
            papers=[int(x) for x in papers],
            upvotes=[int(x) for x in ups],
            totals=totals,
        )

    def top_papers(self, topic_id: int, first: int, last: int, *, limit: int = 5) -> list[int]:
        """The topic's papers of weeks first..last, most upvoted first, then newest."""
        rows = self._rows(topic_id)
        weeks = self.weeks[rows]
        rows = rows[(weeks >= first) & (weeks <= last)]
        if rows.size == 0:
            return []
        order = np.lexsort((-self.paper_ids[rows], -self.upvotes[rows]))[:limit]
        return [int(self.paper_ids[rows[i]]) for i in order]

    def related(self, topic_id: int, *, limit: int = 10, minimum: int = 2) -> list[tuple[Topic, int, float]]:
        """Key phrases that go with this topic: (topic, papers with both, lift), the most shared first among
        those at least twice as frequent with it as without (lift = P(other | topic) / P(other))."""
        rows = self._rows(topic_id)
        if rows.size == 0:
            return []
        mine = np.zeros(self.papers, dtype=bool)
        mine[rows] = True
        together = np.bincount(self._pair_topic[mine[self._pair_paper]], minlength=len(self.topics))
        together[topic_id] = 0
        together[self.is_category] = 0
        candidates = np.flatnonzero(together >= minimum)
        if candidates.size == 0:
            return []
        lift = together[candidates] / rows.size / (self.counts[candidates] / max(self.papers, 1))
        keep = candidates[lift >= 2.0]
        lift = lift[lift >= 2.0]
        order = np.lexsort((-lift, -together[keep]))[:limit]
        return [(self.topic(int(keep[i])), int(together[keep[i]]), float(lift[i])) for i in order]

    def week_label(self, week: int) -> str:
        start = week_start(week)
        end = start + timedelta(days=6)
        return f"{start.strftime('%b %-d')} – {end.strftime('%b %-d, %Y')}"
