"""arXiv's pacing held by the database, for deployments whose ingesting processes live on several machines.

The file lock of `dailypapers.ingest.polite.Pacer` holds on one machine. Here a row per pacing key holds the
end of the last request by the database server's clock (machines' clocks disagree), and its row lock
serializes the requests: a process takes `SELECT ... FOR UPDATE`, waits out the delay, makes its request, and
writes the new end as it commits. A holder that dies (kill -9) closes its connection, which ends the
transaction and frees the row; one cut off by the network is ended by `idle_in_transaction_session_timeout`.
PostgreSQL only: SQLite serves one machine, where the file lock already does this.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select, text, update

from dailypapers.store.engine import conflict_insert
from dailypapers.store.schema import pacing

_NOW = func.extract("epoch", func.clock_timestamp())


class DatabasePacer:
    """One request at a time per key across every process on the database, `delay` seconds from the end of
    one to the start of the next (the same contract as the file-locked Pacer)."""

    def __init__(self, engine: Engine, key: str, delay: float, hold_limit_seconds: float = 300.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the database pacer needs PostgreSQL (SQLite deployments use the file lock)")
        self.engine = engine
        self.key = key
        self.delay = delay
        self.hold_limit_seconds = hold_limit_seconds

    @contextmanager
    def slot(self, wait: Callable[[float], None] = time.sleep) -> Iterator[None]:
        with self.engine.connect() as conn:
            conn.execute(
                conflict_insert("postgresql", pacing)
                .values(key=self.key, last_end=0.0)
                .on_conflict_do_nothing(index_elements=[pacing.c.key])
            )
            conn.commit()
            with conn.begin():
                # A holder whose machine vanished mid-request frees the row after this long.
                conn.execute(
                    text(f"SET LOCAL idle_in_transaction_session_timeout = '{int(self.hold_limit_seconds)}s'")
                )
                row = conn.execute(
                    select(pacing.c.last_end, _NOW).where(pacing.c.key == self.key).with_for_update()
                ).one()
                pause = float(row[0]) + self.delay - float(row[1])
                if pause > 0:
                    wait(min(pause, self.delay))  # a clock step back must not freeze us
                failure: BaseException | None = None
                try:
                    yield
                except BaseException as exc:  # a failed request was made too: its end counts, committed
                    failure = exc
                conn.execute(update(pacing).where(pacing.c.key == self.key).values(last_end=_NOW))
        if failure is not None:
            raise failure
