"""Keeping search current after papers were written (an import, an ingestion, a restore), for every caller.

Search is derived from the database: a failure here must never fail the work that wrote the papers, so it is
reported, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dailypapers.search import snapshots
from dailypapers.search.indexer import Indexer, SyncReport
from dailypapers.settings import Settings
from dailypapers.store.engine import Engine, search_index_dir

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]  # (stage, done, total): the indexer's progress callback


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    pass


@dataclass(slots=True)
class SyncOutcome:
    report: SyncReport | None = None
    error: str | None = None  # why the indexes were not updated
    pending: dict[str, int] = field(default_factory=dict)  # papers still lacking embeddings, by model

    def line(self) -> str:
        if self.report is None:
            return f"Search index not updated: {self.error}"
        embedded = sum(self.report.embedded.values())
        text = f"Search: {self.report.keyword_indexed:,} papers indexed"
        if embedded:
            text += f", {embedded:,} embedded ({self.report.papers_per_second:,.1f} papers/s)"
        return text + "."


def sync_search(
    settings: Settings, engine: Engine, *, embed_limit: int | None = None, on_progress: Progress = _quiet
) -> SyncOutcome:
    """Index what changed and embed what lacks an embedding (all of it with `embed_limit=-1`; by default at
    most DAILYPAPERS_EMBEDDING_INLINE_LIMIT papers, else `index build` is the way)."""
    try:
        report = Indexer(engine, settings).sync(embed_limit=embed_limit, on_progress=on_progress)
    except Exception as exc:  # derived data: its failure must not fail the work that succeeded
        log.exception("search sync failed")
        return SyncOutcome(error=f"{type(exc).__name__}: {exc}")
    return SyncOutcome(report, pending={model: n for model, n in report.pending.items() if n})


def rebuild_search(
    settings: Settings, engine: Engine, *, on_progress: Progress = _quiet, batch_size: int = 256
) -> SyncReport:
    """Rebuild both indexes from the database, embedding every paper that lacks it (`index build`)."""
    return Indexer(engine, settings).build(on_progress=on_progress, batch_size=batch_size)


def publish_snapshot(settings: Settings, root: Path) -> snapshots.Snapshot:
    """This node's search indexes, copied into `root` and made its current snapshot (for new nodes)."""
    return snapshots.publish(search_index_dir(settings), root)


def bootstrap_snapshot(settings: Settings, root: Path, *, replace: bool = False) -> snapshots.Snapshot:
    """The current snapshot in `root`, checked and installed as this node's search indexes."""
    return snapshots.bootstrap(root, search_index_dir(settings), replace=replace)
