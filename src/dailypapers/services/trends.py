"""Trends, kept computed: a snapshot of every topic's weeks, rebuilt in the background when papers change.

A request never waits for a rebuild once the first snapshot exists: it is answered from the one in hand while
a thread builds the next (the corpus is checked at most every `check_seconds`, and rebuilt at most every
`min_age_seconds`, so a stream of upvotes does not keep a core busy). The first request of a process builds
it (a few seconds over the whole corpus: docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from dailypapers.keyphrases.candidates import normalize
from dailypapers.trends.snapshot import PaperFact, Snapshot

log = logging.getLogger(__name__)


class TrendFacts(Protocol):
    def rows(self): ...

    def signature(self) -> tuple[Any, ...]: ...


def _facts(rows) -> list[PaperFact]:
    facts = []
    for paper_id, day, upvotes, categories, phrases, imported in rows:
        if not phrases and imported:  # Hugging Face's key words, where we have no phrases of our own
            phrases = [normalize(str(k).split()) for k in imported if str(k).strip()]
        facts.append(PaperFact(paper_id, day, upvotes, categories, phrases))
    return facts


def build_snapshot(source: TrendFacts, today: date | None = None) -> Snapshot:
    return Snapshot(_facts(source.rows()), today or datetime.now(UTC).date())


class Trends:
    def __init__(
        self,
        source: TrendFacts,
        *,
        check_seconds: float = 30.0,
        min_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.source = source
        self.check_seconds = check_seconds
        self.min_age_seconds = min_age_seconds
        self.clock = clock
        self.today = today
        self._snapshot: Snapshot | None = None
        self._signature: tuple[Any, ...] | None = None
        self._built_at = 0.0
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._rebuilding = False
        self.last_build_seconds: float | None = None

    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            with self._lock:
                if self._snapshot is None:
                    self._build()
            return self._snapshot  # type: ignore[return-value]
        now = self.clock()
        if now - self._checked_at >= self.check_seconds and now - self._built_at >= self.min_age_seconds:
            self._checked_at = now
            if not self._rebuilding and self.source.signature() != self._signature:
                self._rebuilding = True
                threading.Thread(target=self._rebuild, name="trends-rebuild", daemon=True).start()
        return self._snapshot

    def ready(self) -> Snapshot | None:
        """The snapshot when there is one, else None (and one is started in the background): for pages that
        only mention trends, which must not wait for the first build."""
        if self._snapshot is None:
            if not self._rebuilding:
                self._rebuilding = True
                threading.Thread(target=self._rebuild, name="trends-build", daemon=True).start()
            return None
        return self.snapshot()

    def _build(self) -> None:
        started = time.perf_counter()
        signature = self.source.signature()
        snapshot = build_snapshot(self.source, self.today())
        self._snapshot, self._signature = snapshot, signature
        self._built_at = self._checked_at = self.clock()
        self.last_build_seconds = time.perf_counter() - started
        log.info(
            "trends: %d papers, %d topics in %.1fs",
            snapshot.papers,
            len(snapshot.topics),
            self.last_build_seconds,
        )

    def _rebuild(self) -> None:
        try:
            with self._lock:
                self._build()
        except Exception:  # derived data: keep serving the snapshot in hand
            log.exception("trends rebuild failed")
        finally:
            self._rebuilding = False

    def refresh(self) -> Snapshot:
        """Rebuild now (after an ingestion, or in tests)."""
        with self._lock:
            self._build()
        return self._snapshot  # type: ignore[return-value]
