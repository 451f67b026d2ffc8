"""The worker: ingestion and digests on their schedule, and background jobs as they come.

`dailypapers worker` runs `Worker.run` until its stop event is set (SIGTERM). Between scheduled jobs it runs
the queued background jobs (a submitted paper to fetch from arXiv) every few seconds, so a deployment whose
web processes leave jobs alone (DAILYPAPERS_WEB_JOBS=false) still has them done.

Any number of workers may run, on any machines sharing the database: background jobs are claimed one by one
(dailypapers.store.jobs), and the schedule is run by the one worker that holds the "scheduler" lease
(dailypapers.store.leases), renewed every LEASE_SECONDS / 3 by a thread of its own. Each scheduled run is
also claimed by (job, planned moment) before it starts, so a leader that dies and the one that takes over
never both run it; a follower that becomes leader within GRACE_SECONDS of a planned moment still runs it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

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
from dailypapers.store.leases import Leases, SqlLeases
from dailypapers.store.papers import SqlStore

log = logging.getLogger(__name__)

JOB_POLL_SECONDS = 2.0
SCHEDULER = "scheduler"
LEASE_SECONDS = 30.0  # a dead leader's schedule is taken over within this (plus a follower's poll)
GRACE_SECONDS = 600.0  # a planned run that a handover delayed by less than this still happens


def worker_identity() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class Leadership:
    """Holds the scheduler lease while it can: tries every `seconds` / 3 and renews on the same beat."""

    def __init__(
        self, leases: Leases, holder: str, stop: threading.Event, seconds: float = LEASE_SECONDS
    ) -> None:
        self.leases = leases
        self.holder = holder
        self.stop = stop
        self.seconds = seconds
        self._leading = False
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    def check(self) -> bool:
        """Take or renew the lease now: False (not leading) when another holds it or the database fails."""
        try:
            self._leading = self.leases.acquire(SCHEDULER, self.holder, self.seconds)
        except Exception:  # the database unreachable: whoever can reach it may lead
            log.exception("could not renew the scheduler lease")
            self._leading = False
        return self._leading

    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._beat, name="dp-leadership", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self.stop.wait(self.seconds / 3):
            self.check()

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=self.seconds)
        if self._leading:
            try:
                self.leases.release(SCHEDULER, self.holder)
            except Exception:
                log.exception("could not give the scheduler lease up")
        self._leading = False


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
        leases: Leases | None = None,
        holder: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
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
        self.leases = leases if leases is not None else SqlLeases(store.engine)
        self.holder = holder or worker_identity()
        self.leadership = Leadership(self.leases, self.holder, stop, lease_seconds)

    def schedule(self) -> tuple[Job, ...]:
        return JOBS + (DIGEST_JOBS if self.settings.digest_schedule else ())

    def run(self, *, now: bool = False) -> None:
        """Until stopped: with `now`, every ingestion job once at start; then the schedule, while this
        worker leads (the others run background jobs and wait to take over)."""
        self.leadership.start()
        try:
            if now and self.leadership.leading:  # another worker leads: the schedule is its to run
                for job in JOBS:
                    if not self.stop.is_set():
                        self.run_job(job, datetime.now(UTC))
            elif now:
                self.say("Another worker holds the schedule: --now leaves the ingestion to it.")
            after = datetime.now(UTC) - timedelta(seconds=GRACE_SECONDS)
            while not self.stop.is_set():
                job, when = next_job(self.schedule(), after)
                if when > datetime.now(UTC):
                    self.say(f"Next: {job.name} at {when:%Y-%m-%d %H:%M} UTC.")
                self._wait_until(when)
                self._take_turn(job, when)
                after = when
        finally:
            self.leadership.close()

    def _take_turn(self, job: Job, when: datetime) -> None:
        """Run the planned `job` if this worker leads and nobody has run it; as a follower, wait for either
        (the leader runs it, or this worker takes over) until the grace period ends."""
        slot = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        while not self.stop.is_set():
            if self.leadership.leading or self.leadership.check():
                if self.leases.claim_run(job.name, slot, self.holder):
                    self.run_job(job, when)
                return
            if self.leases.run_claimed(job.name, slot):
                return
            if (datetime.now(UTC) - when).total_seconds() > GRACE_SECONDS:
                self.say(f"{job.name} of {slot}: no worker took it within {GRACE_SECONDS:.0f} s; skipped.")
                return
            self._wait_until(datetime.now(UTC) + timedelta(seconds=self.leadership.seconds / 3))

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
