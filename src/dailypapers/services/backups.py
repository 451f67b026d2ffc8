"""Restoring a site from a backup: the database, then what is derived from it (the search indexes)."""

from __future__ import annotations

from pathlib import Path

from dailypapers.search.indexer import SyncReport
from dailypapers.services.search_sync import Progress, rebuild_search
from dailypapers.settings import Settings
from dailypapers.store.backup import restore
from dailypapers.store.engine import make_engine, upgrade


def _quiet(_stage: str, _done: int, _total: int | None) -> None:
    pass


def restore_site(
    settings: Settings, source: Path, *, replace: bool = False, on_progress: Progress = _quiet
) -> SyncReport:
    """Restore `source` into the configured database, migrate it to this release, then rebuild the search
    indexes from it (embeddings are in the database and come back with it; the index files are derived)."""
    restore(source, settings.database_url, replace=replace)
    upgrade(settings)  # a backup from an older release comes up to this one's schema
    engine = make_engine(settings)
    try:
        return rebuild_search(settings, engine, on_progress=on_progress)
    finally:
        engine.dispose()
