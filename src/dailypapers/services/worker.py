"""The worker: ingestion and digests on their schedule, and background jobs as they come.

`dailypapers worker` runs `Worker.run` until its stop event is set (SIGTERM). Between scheduled jobs it runs
the queued background jobs (a submitted paper to fetch from arXiv) every few seconds, so a deployment whose
web processes leave jobs alone (DAILYPAPERS_WEB_JOBS=false) still has them done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from dailypapers.ingest.polite import PoliteClient
from dailypapers.ingest.schedule import DIGEST_JOBS, JOBS, Job, next_job
from dailypapers.services.digests import RunObserver, send_digests
from dailypapers.services.ingestion import (
    BadConfiguration,
    IngestObserver,
    NothingConfigured,
    run_configured,
)
from dailypapers.services.jobs import JobRunner
from dailypapers.settings import Settings
from dailypapers.store.papers import SqlStore

log = logging.getLogger(__name__)

JOB_POLL_SECONDS = 2.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        store: SqlStore,
        arxiv: PoliteClient,
        hf: PoliteClient,
        *,
        stop: threading.Event,
        jobs: JobRunner | None = None,
        say: Callable[[str], None] = lambda _line: None,
        ingest_observer: IngestObserver | None = None,
        digest_observer: Callable[[], RunObserver | None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.arxiv = arxiv
        self.hf = hf
        self.stop = stop
        self.jobs = jobs
        self.say = say
        self.ingest_observer = ingest_observer
        self.digest_observer = digest_observer

    def schedule(self) -> tuple[Job, ...]:
        return JOBS + (DIGEST_JOBS if self.settings.digest_schedule else ())

    def run(self, *, now: bool = False) -> None:
        """Until stopped: with `now`, every ingestion job once at start; then the schedule."""
        if now:
            for job in JOBS:
                if not self.stop.is_set():
                    self.run_job(job, datetime.now(UTC))
        while not self.stop.is_set():
            job, when = next_job(self.schedule(), datetime.now(UTC))
            self.say(f"Next: {job.name} at {when:%Y-%m-%d %H:%M} UTC.")
            self._wait_until(when)
            if not self.stop.is_set():
                self.run_job(job, when)

    def _wait_until(self, when: datetime) -> None:
        """Sleep until `when`, running background jobs meanwhile; wakes at once on stop."""
        while not self.stop.is_set():
            if self.jobs is not None:
                self.jobs.run_pending()
            left = (when - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return
            self.stop.wait(min(left, JOB_POLL_SECONDS if self.jobs is not None else 60.0))

    def run_job(self, job: Job, when: datetime) -> bool:
        """One scheduled job; whatever it does, the worker keeps its schedule. True when it went well."""
        if job.name.startswith("digest-"):
            frequency = job.name.removeprefix("digest-")
            try:
                report = send_digests(
                    self.settings,
                    self.store.engine,
                    frequency,
                    when.astimezone(job.zone).date(),
                    observer=self.digest_observer(),
                )
            except ValueError as exc:  # no digest that day
                self.say(str(exc))
                return True
            except Exception as exc:
                log.exception("%s digest failed", frequency)
                self.say(f"{frequency} digest failed: {exc}")
                return False
            self.say(report.line())
            return report.status == "finished"
        try:
            return run_configured(
                self.settings, self.store, self.arxiv, self.hf, only=job.name, observer=self.ingest_observer
            )
        except NothingConfigured as exc:
            self.say(str(exc))
            return True
        except BadConfiguration as exc:
            self.say(f"Configuration error: {exc}")
            return False
