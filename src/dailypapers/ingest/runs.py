"""The runs log and harvest checkpoints in the database.

A page's checkpoint and the run's counters are written by `page_hook` inside the transaction that stores the
page's papers (SqlStore.upsert's `also`), so after a crash the checkpoint names exactly the last page whose
papers are in the database.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from dailypapers.ingest.pages import Page, Position
from dailypapers.processes import pid_running
from dailypapers.store.engine import write_transaction
from dailypapers.store.papers import UpsertCounts
from dailypapers.store.schema import ingest_checkpoints, ingest_runs

MAX_ERRORS_KEPT = 50


class AlreadyRunning(Exception):
    """The same harvest is running in another live process."""


def _now() -> datetime:
    return datetime.now(UTC)


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

    def columns(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "fetched": self.fetched,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "skipped_reasons": dict(self.reasons) or None,
            "errors": self.errors[:MAX_ERRORS_KEPT] or None,
        }


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self):
        return write_transaction(self.engine)

    def start(
        self, source: str, key: str, args: dict, *, restart: bool = False
    ) -> tuple[int, Position | None]:
        """Open a run of this harvest; return its id and the checkpoint to resume from (None: start)."""
        me = worker_id()
        host = me.rsplit(":", 1)[0]
        with self._write() as conn:
            running = conn.execute(
                select(ingest_runs.c.id, ingest_runs.c.worker).where(
                    ingest_runs.c.harvest_key == key, ingest_runs.c.status == "running"
                )
            ).all()
            for run_id, worker in running:
                if _alive(worker, host):
                    raise AlreadyRunning(f"this harvest is already running (run {run_id}, {worker})")
                conn.execute(
                    update(ingest_runs)
                    .where(ingest_runs.c.id == run_id)
                    .values(status="interrupted", finished_at=_now())
                )
            if restart:
                conn.execute(delete(ingest_checkpoints).where(ingest_checkpoints.c.harvest_key == key))
            position = conn.execute(
                select(ingest_checkpoints.c.position).where(ingest_checkpoints.c.harvest_key == key)
            ).scalar()
            run_id = conn.execute(
                insert(ingest_runs)
                .values(
                    source=source,
                    harvest_key=key,
                    args=args,
                    worker=me,
                    status="running",
                    started_at=_now(),
                    resumed_from=position,
                    **Totals().columns(),
                )
                .returning(ingest_runs.c.id)
            ).scalar_one()
        return run_id, position

    def page_hook(self, run_id: int, source: str, key: str, args: dict, page: Page, totals: Totals):
        """What SqlStore.upsert runs in its transaction for this page: checkpoint and counters."""

        def also(conn, counts: UpsertCounts) -> None:
            after = totals.with_page(page, counts)
            if page.position is None:
                conn.execute(delete(ingest_checkpoints).where(ingest_checkpoints.c.harvest_key == key))
            else:
                self._save_checkpoint(conn, key, source, args, page.position, run_id)
            conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(**after.columns()))

        return also

    def _save_checkpoint(self, conn, key, source, args, position, run_id) -> None:
        values = {"position": position, "run_id": run_id, "updated_at": _now()}
        changed = conn.execute(
            update(ingest_checkpoints).where(ingest_checkpoints.c.harvest_key == key).values(**values)
        ).rowcount
        if not changed:
            conn.execute(
                insert(ingest_checkpoints).values(harvest_key=key, source=source, args=args, **values)
            )

    def finish(self, run_id: int, status: str, totals: Totals) -> None:
        with self._write() as conn:
            conn.execute(
                update(ingest_runs)
                .where(ingest_runs.c.id == run_id)
                .values(status=status, finished_at=_now(), **totals.columns())
            )

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        query = select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def checkpoints(self) -> list[dict[str, Any]]:
        query = select(ingest_checkpoints).order_by(ingest_checkpoints.c.updated_at.desc())
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def checkpoint(self, key: str) -> Position | None:
        query = select(ingest_checkpoints.c.position).where(ingest_checkpoints.c.harvest_key == key)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()


def _alive(worker: str | None, host: str) -> bool:
    """Whether the process that opened a run still runs. Only knowable on this host: a run left "running"
    by another machine is taken as dead (run one worker per deployment, docs/ingestion.md)."""
    if not worker or ":" not in worker:
        return False
    worker_host, _, pid = worker.rpartition(":")
    if worker_host != host or not pid.isdigit() or int(pid) == os.getpid():
        return False
    return pid_running(int(pid))
