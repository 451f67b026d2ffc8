"""`dailypapers worker`: ingestion and digests on their schedule, background jobs in between."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import console, count_progress
from dailypapers.cli.ingest import ProgressBars, _open
from dailypapers.services.jobs import JobRunner
from dailypapers.services.submissions import Submissions
from dailypapers.services.worker import Worker
from dailypapers.store.community import CommunityStore
from dailypapers.store.jobs import SqlJobStore


class _LiveBars(ProgressBars):
    """Progress bars that exist only while a run lasts (the worker waits for hours between runs)."""

    def __init__(self) -> None:
        self._bars = count_progress()
        super().__init__(self._bars)
        self._bars.start()

    def close(self) -> None:
        self._bars.stop()


def worker_command(
    now: Annotated[
        bool, typer.Option("--now", help="Run every job once at start, then keep the schedule.")
    ] = False,
) -> None:
    """Run ingestion on a schedule: arXiv at 20:30 US Eastern Sunday-Thursday, Hugging Face daily."""
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        console.print(f"Signal {signum}: stopping after the current page.")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings, store, arxiv, hf = _open(stop)
    jobs = SqlJobStore(store.engine)
    submissions = Submissions(settings, store, CommunityStore(store), jobs)
    bars = _LiveBars()
    worker = Worker(
        settings,
        store,
        arxiv,
        hf,
        stop=stop,
        jobs=JobRunner(jobs, submissions.handlers()),
        say=lambda line: console.print(escape(line), highlight=False, soft_wrap=True),
        ingest_observer=bars,
        lease_seconds=settings.worker_lease_seconds,
    )
    try:
        worker.run(now=now)
    finally:
        bars.close()
        arxiv.close()
        hf.close()
        store.engine.dispose()
    console.print("Worker stopped.")
