"""The ingestion runs log and harvest checkpoints (dailypapers.ingest.runs keeps the counting and the rules).

A page's checkpoint and the run's counters are written by `page_hook` inside the transaction that stores the
page's papers (SqlStore.upsert's `also`), so after a crash the checkpoint names exactly the last page whose
papers are in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, insert, select, update

from dailypapers.store.engine import write_transaction
from dailypapers.store.papers import AlsoHook, UpsertCounts
from dailypapers.store.schema import ingest_checkpoints, ingest_runs

Position = dict[str, Any]  # where a harvest resumes: JSON, the source's own
Args = dict[str, Any]  # what a harvest fetches (categories, dates...): JSON


class AlreadyRunning(Exception):
    """The same harvest is running in another live process."""


@dataclass(frozen=True, slots=True)
class RunCounts:
    """A run's counters so far."""

    pages: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] | None = None
    errors: list[str] | None = None


@dataclass(frozen=True, slots=True)
class IngestRun:
    """A row of the runs log (fields in the table's order: `ingest status --json` prints them so)."""

    id: int
    source: str
    harvest_key: str
    args: Args
    worker: str | None
    status: str  # running, ok, failed, interrupted
    started_at: datetime
    finished_at: datetime | None
    pages: int
    fetched: int
    new: int
    updated: int
    unchanged: int
    skipped: int
    skipped_reasons: dict[str, int] | None
    errors: list[str] | None
    resumed_from: Position | None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where an unfinished harvest resumes."""

    harvest_key: str
    source: str
    args: Args
    position: Position
    run_id: int | None
    updated_at: datetime


class IngestRuns(Protocol):
    def start(
        self,
        source: str,
        key: str,
        args: Args,
        *,
        worker: str,
        alive: Callable[[str | None], bool],
        restart: bool = False,
    ) -> tuple[int, Position | None]:
        """Open a run of harvest `key` for `worker`; return its id and the checkpoint to resume from (None:
        from the start). Runs of this harvest left "running" are marked interrupted, unless `alive(their
        worker)`: then AlreadyRunning. `restart` forgets the checkpoint."""

    def page_hook(
        self,
        run_id: int,
        source: str,
        key: str,
        args: Args,
        position: Position | None,
        counts: Callable[[UpsertCounts], RunCounts],
    ) -> AlsoHook:
        """What SqlStore.upsert runs in its transaction for a page: the checkpoint moves to `position` (None:
        the harvest is done, the checkpoint goes) and the run's counters become `counts(the page's)`."""

    def finish(self, run_id: int, status: str, counts: RunCounts) -> None: ...

    def recent(self, limit: int = 20) -> list[IngestRun]: ...

    def checkpoints(self) -> list[Checkpoint]:
        """The unfinished harvests, the latest first."""

    def checkpoint(self, key: str) -> Position | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class SqlIngestRuns:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        source: str,
        key: str,
        args: Args,
        *,
        worker: str,
        alive: Callable[[str | None], bool],
        restart: bool = False,
    ) -> tuple[int, Position | None]:
        with write_transaction(self.engine) as conn:
            running = conn.execute(
                select(ingest_runs.c.id, ingest_runs.c.worker).where(
                    ingest_runs.c.harvest_key == key, ingest_runs.c.status == "running"
                )
            ).all()
            for run_id, other in running:
                if alive(other):
                    raise AlreadyRunning(f"this harvest is already running (run {run_id}, {other})")
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
                    worker=worker,
                    status="running",
                    started_at=_now(),
                    resumed_from=position,
                    **asdict(RunCounts()),
                )
                .returning(ingest_runs.c.id)
            ).scalar_one()
        return run_id, position

    def page_hook(
        self,
        run_id: int,
        source: str,
        key: str,
        args: Args,
        position: Position | None,
        counts: Callable[[UpsertCounts], RunCounts],
    ) -> AlsoHook:
        def also(conn: Connection, upserted: UpsertCounts) -> None:
            after = counts(upserted)
            if position is None:
                conn.execute(delete(ingest_checkpoints).where(ingest_checkpoints.c.harvest_key == key))
            else:
                _save_checkpoint(conn, key, source, args, position, run_id)
            conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(**asdict(after)))

        return also

    def finish(self, run_id: int, status: str, counts: RunCounts) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(ingest_runs)
                .where(ingest_runs.c.id == run_id)
                .values(status=status, finished_at=_now(), **asdict(counts))
            )

    def recent(self, limit: int = 20) -> list[IngestRun]:
        query = select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [IngestRun(**row._mapping) for row in conn.execute(query)]

    def checkpoints(self) -> list[Checkpoint]:
        query = select(ingest_checkpoints).order_by(ingest_checkpoints.c.updated_at.desc())
        with self.engine.connect() as conn:
            return [Checkpoint(**row._mapping) for row in conn.execute(query)]

    def checkpoint(self, key: str) -> Position | None:
        query = select(ingest_checkpoints.c.position).where(ingest_checkpoints.c.harvest_key == key)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()


def _save_checkpoint(conn: Connection, key: str, source: str, args: Args, position: Position, run_id: int):
    values = {"position": position, "run_id": run_id, "updated_at": _now()}
    changed = conn.execute(
        update(ingest_checkpoints).where(ingest_checkpoints.c.harvest_key == key).values(**values)
    ).rowcount
    if not changed:
        conn.execute(insert(ingest_checkpoints).values(harvest_key=key, source=source, args=args, **values))
