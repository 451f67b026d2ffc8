"""The runs log and harvest checkpoints: a run's counters, and who may run a harvest. The rows themselves
are dailypapers.store.ingest_runs's.

A page's checkpoint and the run's counters are written by `page_hook` inside the transaction that stores the
page's papers (SqlStore.upsert's `also`), so after a crash the checkpoint names exactly the last page whose
papers are in the database.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from dataclasses import dataclass, field, replace

from dailypapers.ingest.pages import Page, Position
from dailypapers.processes import pid_running
from dailypapers.store.engine import Engine
from dailypapers.store.ingest_runs import Checkpoint, IngestRun, RunCounts, SqlIngestRuns
from dailypapers.store.papers import AlsoHook, UpsertCounts

MAX_ERRORS_KEPT = 50


def worker_id() -> str:
    return f"{socket.gethostname()[:200]}:{os.getpid()}"


@dataclass(slots=True)
class Totals:
    pages: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def with_page(self, page: Page, counts: UpsertCounts) -> Totals:
        reasons = Counter(self.reasons)
        reasons.update(skip.reason for skip in page.skipped)
        errors = list(self.errors)
        for note in page.notes:
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append(note)
        return replace(
            self,
            pages=self.pages + 1,
            fetched=self.fetched + page.fetched,
            new=self.new + counts.new,
            updated=self.updated + counts.updated,
            unchanged=self.unchanged + counts.unchanged,
            skipped=self.skipped + len(page.skipped),
            reasons=reasons,
            errors=errors,
        )

    def counts(self) -> RunCounts:
        return RunCounts(
            pages=self.pages,
            fetched=self.fetched,
            new=self.new,
            updated=self.updated,
            unchanged=self.unchanged,
            skipped=self.skipped,
            skipped_reasons=dict(self.reasons) or None,
            errors=self.errors[:MAX_ERRORS_KEPT] or None,
        )


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self.runs = SqlIngestRuns(engine)

    def start(
        self, source: str, key: str, args: dict, *, restart: bool = False
    ) -> tuple[int, Position | None]:
        """Open a run of this harvest; return its id and the checkpoint to resume from (None: start)."""
        me = worker_id()
        host = me.rsplit(":", 1)[0]
        return self.runs.start(
            source, key, args, worker=me, alive=lambda worker: _alive(worker, host), restart=restart
        )

    def page_hook(
        self, run_id: int, source: str, key: str, args: dict, page: Page, totals: Totals
    ) -> AlsoHook:
        """What SqlStore.upsert runs in its transaction for this page: checkpoint and counters."""
        return self.runs.page_hook(
            run_id, source, key, args, page.position, lambda counts: totals.with_page(page, counts).counts()
        )

    def finish(self, run_id: int, status: str, totals: Totals) -> None:
        self.runs.finish(run_id, status, totals.counts())

    def recent(self, limit: int = 20) -> list[IngestRun]:
        return self.runs.recent(limit)

    def checkpoints(self) -> list[Checkpoint]:
        return self.runs.checkpoints()

    def checkpoint(self, key: str) -> Position | None:
        return self.runs.checkpoint(key)


def _alive(worker: str | None, host: str) -> bool:
    """Whether the process that opened a run still runs. Only knowable on this host: a run left "running"
    by another machine is taken as dead (run one worker per deployment, docs/ingestion.md)."""
    if not worker or ":" not in worker:
        return False
    worker_host, _, pid = worker.rpartition(":")
    if worker_host != host or not pid.isdigit() or int(pid) == os.getpid():
        return False
    return pid_running(int(pid))
