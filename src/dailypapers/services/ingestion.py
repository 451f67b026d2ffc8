"""Ingesting from sources: run each to its end or a clean stop, then bring search up to date.

`dailypapers ingest ...` and the worker call `run_sources` / `run_configured`; what they show as it goes
(progress bars, log lines) comes through an `IngestObserver`.
"""

from __future__ import annotations

from typing import Protocol

from dailypapers.ingest.harvest import RunReport, configured_sources, harvest
from dailypapers.ingest.pages import Page, Source
from dailypapers.ingest.polite import PoliteClient
from dailypapers.ingest.runs import Totals
from dailypapers.services.search_sync import SyncOutcome, sync_search
from dailypapers.settings import Settings
from dailypapers.store.ingest_runs import AlreadyRunning
from dailypapers.store.papers import SqlStore


class IngestObserver(Protocol):
    def page(self, source: Source, page: Page, totals: Totals) -> None:
        """A page of `source` landed (its papers and checkpoint committed)."""

    def finished(self, report: RunReport) -> None:
        """`source` ran to its end, or stopped cleanly, or failed: the run's report."""

    def refused(self, source: Source, reason: str) -> None:
        """`source` did not run (the same harvest runs elsewhere)."""

    def searched(self, outcome: SyncOutcome) -> None:
        """Search was brought up to date after new papers (or could not be)."""


class NothingConfigured(Exception):
    """No source is configured: nothing to do, which is not an error."""


class BadConfiguration(Exception):
    """The sources' settings are wrong: the message says which."""


def run_sources(
    settings: Settings,
    store: SqlStore,
    sources: list[Source],
    *,
    restart: bool = False,
    observer: IngestObserver | None = None,
) -> bool:
    """Run each source; then, if papers changed, sync search. True when every source ended well."""
    all_ok, changed = True, 0
    for source in sources:

        def on_page(page: Page, totals: Totals, source=source) -> None:
            if observer is not None:
                observer.page(source, page, totals)

        try:
            report = harvest(store, source, restart=restart, on_page=on_page)
        except AlreadyRunning as exc:
            if observer is not None:
                observer.refused(source, str(exc))
            all_ok = False
            continue
        if observer is not None:
            observer.finished(report)
        all_ok &= report.status == "ok"
        changed += report.changed
    if changed:
        outcome = sync_search(settings, store.engine)
        if observer is not None:
            observer.searched(outcome)
    return all_ok


def run_configured(
    settings: Settings,
    store: SqlStore,
    arxiv: PoliteClient,
    hf: PoliteClient,
    *,
    only: str | None = None,
    observer: IngestObserver | None = None,
) -> bool:
    """The sources the settings follow (`ingest run`, and the worker on its schedule)."""
    try:
        sources = configured_sources(settings, arxiv, hf, only=only)
    except ValueError as exc:
        raise BadConfiguration(str(exc)) from None
    if not sources:
        raise NothingConfigured(
            "Nothing configured: set DAILYPAPERS_INGEST_CATEGORIES and/or DAILYPAPERS_INGEST_HF."
        )
    return run_sources(settings, store, sources, observer=observer)
