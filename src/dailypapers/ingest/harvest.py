"""Run a source to its end or to a clean stop: every page's papers, checkpoint and counters land together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from dailypapers.ingest.arxiv_api import ArxivApiSource
from dailypapers.ingest.hf import HfDailySource
from dailypapers.ingest.pages import HarvestError, Page, Position, Source, harvest_key
from dailypapers.ingest.polite import PoliteClient, Stopped, user_agent
from dailypapers.ingest.rss import RssSource
from dailypapers.ingest.runs import RunLog, Totals
from dailypapers.settings import Settings
from dailypapers.store.engine import Engine
from dailypapers.store.pacing import DatabasePacer
from dailypapers.store.papers import SqlStore

log = logging.getLogger(__name__)

PageHook = Callable[[Page, Totals], None]


@dataclass
class RunReport:
    run_id: int
    source: str
    key: str
    args: dict
    status: str = "running"  # ok, failed, interrupted
    totals: Totals = field(default_factory=Totals)
    resumed_from: Position | None = None
    error: str | None = None
    elapsed: float = 0.0

    @property
    def changed(self) -> int:
        return self.totals.new + self.totals.updated


def harvest(
    store: SqlStore,
    source: Source,
    *,
    restart: bool = False,
    on_page: PageHook = lambda page, totals: None,
) -> RunReport:
    """Fetch `source` from its checkpoint (or the start) to the end; return what happened.

    A page that stays bad, or an error the server will repeat, ends the run as "failed" with the checkpoint
    at the last page that landed; the worker's stop request ends it as "interrupted" the same way.
    """
    runs = RunLog(store.engine)
    key = harvest_key(source)
    args = source.args()
    run_id, position = runs.start(source.name, key, args, restart=restart)
    report = RunReport(run_id=run_id, source=source.name, key=key, args=args, resumed_from=position)
    started = time.perf_counter()
    totals = Totals()
    try:
        for page in source.fetch(position):
            hook = runs.page_hook(run_id, source.name, key, args, page, totals)
            counts = store.upsert(page.records, also=hook)
            totals = totals.with_page(page, counts)
            for skip in page.skipped:
                log.info("skipped %s", skip)
            on_page(page, totals)
        report.status = "ok"
    except HarvestError as exc:
        report.status, report.error = "failed", str(exc)
    except (Stopped, KeyboardInterrupt) as exc:
        report.status, report.error = "interrupted", "stopped on request"
        if isinstance(exc, KeyboardInterrupt):
            _finish(runs, report, totals, started)
            raise
    except Exception as exc:
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        _finish(runs, report, totals, started)
        raise
    _finish(runs, report, totals, started)
    return report


def _finish(runs: RunLog, report: RunReport, totals: Totals, started: float) -> None:
    if report.error:
        totals.errors.append(report.error[:1000])
    report.totals = totals
    report.elapsed = time.perf_counter() - started
    try:
        runs.finish(report.run_id, report.status, totals)
    except Exception:  # the database itself failing: the run stays "running" and is marked later
        log.exception("could not record the end of run %s", report.run_id)


def make_client(
    settings: Settings,
    *,
    hf: bool = False,
    stop: threading.Event | None = None,
    max_retries: int | None = None,
    timeout: float = 60.0,
    engine: Engine | None = None,
) -> PoliteClient:
    """The shared HTTP client for arXiv (or, with hf=True, Hugging Face) from settings; `max_retries` at most
    the setting's (someone waiting wants fewer than a harvest). Given a PostgreSQL `engine`, its pacing holds
    across every process and machine on that database; otherwise across the processes of this machine."""
    retries = settings.ingest_max_retries
    pacer_for = None
    if engine is not None and engine.dialect.name == "postgresql":
        pacer_for = partial(DatabasePacer, engine)
    return PoliteClient(
        user_agent=user_agent(settings.base_url, settings.contact_email),
        delay=settings.hf_delay_seconds if hf else settings.arxiv_delay_seconds,
        max_retries=retries if max_retries is None else min(retries, max_retries),
        timeout=timeout,
        stop=stop,
        pacer_for=pacer_for,
    )


def configured_sources(
    settings: Settings,
    arxiv: PoliteClient,
    hf: PoliteClient,
    *,
    only: str | None = None,
    now: datetime | None = None,
) -> list[Source]:
    """What `ingest run` and the worker fetch: for the followed categories, the daily listing (new,
    cross-lists, replacements) and the search API's recent submissions; Hugging Face's lists of today and
    yesterday (its day fills up, and upvotes grow, after the day starts)."""
    now = now or datetime.now(UTC)
    sources: list[Source] = []
    categories = settings.ingest_category_list
    if categories and only in (None, "arxiv"):
        sources.append(RssSource(arxiv, settings.arxiv_rss_url, categories))
        since = now.date() - timedelta(days=settings.ingest_lookback_days)
        sources.append(
            ArxivApiSource(
                arxiv, settings.arxiv_api_url, categories=categories, since=since, until=now.date()
            )
        )
    if settings.ingest_hf and only in (None, "hf"):
        today = now.date()
        sources.append(HfDailySource(hf, settings.hf_api_url, since=today - timedelta(days=1), until=today))
    return sources
