"""Running background jobs: any process may (a web process between requests, the worker), one job at a time.

A handler gets the job's payload and returns a JSON-able result; `JobFailed` ends the job with a message for
the person who asked; any other exception ends it as failed with a generic message (logged in full). The
queue is the `jobs` table (dailypapers.store.jobs), so a job asked for on one machine can run on another.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from dailypapers.store.jobs import Job, JobStore

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
# Longer than any job takes (a paper fetch is a few paced requests); a runner killed mid-job leaves it
# "running" until then, when another runner takes it over.
LEASE = timedelta(minutes=5)


class JobFailed(Exception):
    """A job that cannot succeed: its message is shown to whoever asked for it."""


def runner_name() -> str:
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


class JobRunner:
    """Claims and runs jobs of the kinds it has handlers for."""

    def __init__(self, store: JobStore, handlers: Mapping[str, Handler], *, name: str | None = None) -> None:
        self.store = store
        self.handlers = dict(handlers)
        self.name = name or runner_name()

    def run_one(self) -> Job | None:
        """Claim and run one due job; the job as claimed, or None when there was none."""
        job = self.store.claim(self.name, kinds=frozenset(self.handlers), lease=LEASE)
        if job is None:
            return None
        try:
            result = self.handlers[job.kind](job.payload)
        except JobFailed as exc:
            self.store.fail(job.id, self.name, str(exc))
        except Exception:
            log.exception("job %d (%s) failed", job.id, job.kind)
            self.store.fail(job.id, self.name, "Something went wrong on our side; try again later.")
        else:
            self.store.finish(job.id, self.name, result)
        return job

    def run_pending(self, limit: int = 100) -> int:
        """Run due jobs until none is left (or `limit`); how many ran."""
        ran = 0
        while ran < limit and self.run_one() is not None:
            ran += 1
        return ran


class BackgroundJobs:
    """A thread that runs jobs as they come: woken at once by `nudge()` (a request that just enqueued one in
    this process), else polling every `poll_seconds` (jobs enqueued by other processes)."""

    def __init__(self, runner: JobRunner, *, poll_seconds: float = 2.0) -> None:
        self.runner = runner
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, after a stop: an app's lifespan may run more than once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dailypapers-jobs", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.runner.run_pending()
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("running background jobs failed")
            self._wake.wait(self.poll_seconds)
