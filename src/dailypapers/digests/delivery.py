"""Crash-safe delivery: one row per (run, subscriber), claimed in a transaction, settled after each send.

A run is (frequency, period). Starting it inserts a `pending` delivery for every active subscriber of that
frequency, in the same transaction as the run row, so a run either exists with all its rows or not at all.
Senders claim batches of rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` takes the
write lock first), moving them to `sending`; after each SMTP answer the row moves to `sent`, `retry` (a 4xx,
with back-off), `failed` (a 5xx, or too many 4xx) or, before sending, `empty` / `cancelled`. A sender killed
at any point leaves `sending` rows behind; the next sender finds their owner dead and sends them: at most
the messages in flight when it died go out twice, with the same Message-ID. A finished run sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Integer, and_, bindparam, func, insert, literal, or_, select, text, update

from dailypapers.digests import candidates, compose, tokens
from dailypapers.digests.subscriptions import Preferences, Subscriptions
from dailypapers.mail import Mailer, PermanentMailError, TemporaryMailError
from dailypapers.papers import as_utc
from dailypapers.processes import pid_running
from dailypapers.store.engine import _writer_lock, conflict_insert, write_transaction
from dailypapers.store.schema import digest_deliveries as deliveries
from dailypapers.store.schema import digest_received as received
from dailypapers.store.schema import digest_runs as runs
from dailypapers.store.schema import subscriptions

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)  # a claim by a process on another host is taken over after this long
WAITING = ("pending", "sending", "retry")
# The claim names (host:pid:nonce) of the senders running in this process. The nonce tells this process's
# live senders from a dead one that had the same pid: a container restarted runs its command as the same
# pid (often 1) on the same host name, and a long-lived worker runs send_run many times.
_RUNNING: set[str] = set()


def _now() -> datetime:
    return datetime.now(UTC)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def _alive(worker: str | None) -> bool:
    """Whether the sender named host:pid:nonce still runs (only knowable on this host)."""
    if not worker:
        return False
    if worker in _RUNNING:
        return True
    parts = worker.split(":")
    host, pid = (parts[0], parts[1]) if len(parts) >= 2 else (worker, "")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's sender: trust its lease
    if int(pid) == os.getpid():
        return False  # this process, but none of its running senders: an earlier one, or a previous life
    return pid_running(int(pid))


@dataclass(slots=True)
class Claimed:
    subscription_id: int
    email: str
    key: str
    preferences: Preferences
    attempts: int
    bounces: int = 0


@dataclass(slots=True)
class RunReport:
    run_id: int | None
    frequency: str
    period_key: str
    status: str = "running"
    subscribers: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    empty: int = 0
    cancelled: int = 0
    retrying: int = 0
    retries: int = 0  # 4xx answers met during this invocation
    already_finished: bool = False
    resumed: bool = False
    dry_run: bool = False
    elapsed: float = 0.0
    first_message_seconds: float | None = None
    messages: int = 0  # handed to the mailer by this invocation (a dry run counts what it would send)
    errors: int = 0  # deliveries left unsettled by an unexpected fault (the next run sends them)

    def line(self) -> str:
        what = "dry run" if self.dry_run else f"run {self.run_id}"
        return (
            f"{self.frequency} digest {self.period_key} ({what}, {self.status}): "
            f"{self.subscribers:,} subscribers, "
            f"{self.sent:,} sent, {self.failed:,} failed, {self.suppressed:,} suppressed, "
            f"{self.empty:,} skipped as empty, {self.cancelled:,} unsubscribed meanwhile"
            + (f", {self.retrying:,} waiting to retry" if self.retrying else "")
            + (f", {self.errors:,} unsettled after errors (run it again)" if self.errors else "")
            + f"; {self.elapsed:.1f}s"
        )


class RunStore:
    """The database side of runs and deliveries."""

    def __init__(self, engine: Engine, *, bounce_limit: int = 3) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.bounce_limit = bounce_limit
        self.worker = _worker_name()  # the name its claims carry
        self._writer = None
        insert_received = (
            "INSERT INTO digest_received (subscription_id, paper_id, run_id) VALUES (:s, :p, :r)"
        )
        self._insert_received = text(
            insert_received + (" ON CONFLICT DO NOTHING" if self.dialect == "postgresql" else "")
        )
        if self.dialect != "postgresql":
            self._insert_received = text(insert_received.replace("INSERT INTO", "INSERT OR IGNORE INTO"))
        self._mark_sent = text(
            "UPDATE digest_deliveries SET state = 'sent', sent_at = :now, attempts = attempts + 1, "
            "claimed_by = NULL WHERE run_id = :r AND subscription_id = :s"
        ).bindparams(bindparam("now", type_=deliveries.c.sent_at.type))

    @contextmanager
    def _write(self) -> Iterator:
        """A write transaction on one connection kept for the run (each outcome is its own commit)."""
        with _writer_lock(self.engine):  # queue behind this process's other SQLite writers, as they do
            if self._writer is None:
                self._writer = self.engine.connect()
            self._writer.info["write"] = True  # BEGIN IMMEDIATE on SQLite
            try:
                with self._writer.begin():
                    yield self._writer
            except Exception:
                self.close()
                raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _insert(self, table):
        return conflict_insert(self.dialect, table)

    def start(self, period: compose.Period) -> tuple[int, str, bool]:
        """(run id, status, created): the run of this period, made with all its deliveries if new."""
        now = _now()
        with write_transaction(self.engine) as conn:
            where = and_(runs.c.frequency == period.frequency, runs.c.period_key == period.key)
            row = conn.execute(select(runs.c.id, runs.c.status).where(where)).first()
            if row is not None:
                return row.id, row.status, False
            statement = (
                self._insert(runs)
                .values(
                    frequency=period.frequency,
                    period_key=period.key,
                    status="running",
                    started_at=now,
                    subscribers=0,
                    suppressed=0,
                )
                .on_conflict_do_nothing(index_elements=["frequency", "period_key"])
                .returning(runs.c.id)
            )
            run_id = conn.execute(statement).scalar()
            if run_id is None:  # another sender made it a moment ago (PostgreSQL)
                row = conn.execute(select(runs.c.id, runs.c.status).where(where)).one()
                return row.id, row.status, False
            chosen = select(
                literal(run_id, Integer).label("run_id"),
                subscriptions.c.id,
                literal("pending").label("state"),
                literal(0, Integer).label("attempts"),
            ).where(subscriptions.c.status == "active", subscriptions.c.frequency == period.frequency)
            conn.execute(
                insert(deliveries).from_select(["run_id", "subscription_id", "state", "attempts"], chosen)
            )
            added = conn.execute(select(func.count()).where(deliveries.c.run_id == run_id)).scalar_one()
            suppressed = conn.execute(
                select(func.count()).where(
                    subscriptions.c.status == "suppressed", subscriptions.c.frequency == period.frequency
                )
            ).scalar_one()
            conn.execute(
                update(runs).where(runs.c.id == run_id).values(subscribers=added, suppressed=suppressed)
            )
        return run_id, "running", True

    def release_dead(self, run_id: int) -> int:
        """Give back the rows of senders that died (this host) or whose lease ran out (another host)."""
        now = _now()
        with write_transaction(self.engine) as conn:
            holders = conn.execute(
                select(deliveries.c.claimed_by, func.min(deliveries.c.claimed_at))
                .where(deliveries.c.run_id == run_id, deliveries.c.state == "sending")
                .group_by(deliveries.c.claimed_by)
            ).all()
            dead = [w for w, at in holders if not _alive(w) or (as_utc(at) or now) < now - LEASE]
            if not dead:
                return 0
            return conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.run_id == run_id,
                    deliveries.c.state == "sending",
                    or_(
                        deliveries.c.claimed_by.in_([w for w in dead if w]), deliveries.c.claimed_by.is_(None)
                    ),
                )
                .values(state="pending", claimed_by=None)
            ).rowcount

    def claim(self, run_id: int, limit: int) -> list[Claimed]:
        """Take up to `limit` rows that are due; rows of subscribers who left meanwhile are cancelled."""
        now = _now()
        due = and_(
            deliveries.c.run_id == run_id,
            or_(
                deliveries.c.state == "pending",
                and_(deliveries.c.state == "retry", deliveries.c.next_attempt_at <= now),
            ),
        )
        with write_transaction(self.engine) as conn:
            pick = select(deliveries.c.subscription_id).where(due).order_by(deliveries.c.subscription_id)
            pick = pick.limit(limit)
            if self.dialect == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(ids))
                .values(state="sending", claimed_by=self.worker, claimed_at=now)
            )
            rows = conn.execute(
                select(
                    subscriptions.c.id,
                    subscriptions.c.email,
                    subscriptions.c.key,
                    subscriptions.c.status,
                    subscriptions.c.frequency,
                    subscriptions.c.max_papers,
                    subscriptions.c.categories,
                    subscriptions.c.searches,
                    subscriptions.c.bounces,
                    deliveries.c.attempts,
                )
                .select_from(
                    deliveries.join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                )
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(ids))
                .order_by(subscriptions.c.id)
            ).all()
            gone = [r.id for r in rows if r.status != "active"]
            if gone:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(gone))
                    .values(state="cancelled", claimed_by=None)
                )
        return [
            Claimed(
                r.id,
                r.email,
                r.key,
                Preferences(r.frequency, r.max_papers, list(r.categories or []), list(r.searches or [])),
                r.attempts,
                r.bounces,
            )
            for r in rows
            if r.status == "active"
        ]

    def received(self, subscription_ids: list[int], paper_ids: set[int]) -> dict[int, set[int]]:
        """The papers of the pool each of these subscribers has already had."""
        out: dict[int, set[int]] = {sid: set() for sid in subscription_ids}
        if not subscription_ids or not paper_ids:
            return out
        query = select(received.c.subscription_id, received.c.paper_id).where(
            received.c.subscription_id.in_(subscription_ids)
        )
        if len(paper_ids) <= 2000:
            query = query.where(received.c.paper_id.in_(sorted(paper_ids)))
        with self.engine.connect() as conn:
            for sid, pid in conn.execute(query):
                if pid in paper_ids:
                    out[sid].add(pid)
        return out

    def mark_sent(self, run_id: int, subscription_id: int, paper_ids: list[int], *, bounces: int = 0) -> None:
        """Record a delivery and the papers it carried, in one commit (the hot path: plain SQL)."""
        with self._write() as conn:
            conn.execute(self._mark_sent, {"now": _now(), "r": run_id, "s": subscription_id})
            if paper_ids:
                conn.execute(
                    self._insert_received, [{"s": subscription_id, "p": p, "r": run_id} for p in paper_ids]
                )
            if bounces:  # a delivery ends a run of bounces
                conn.execute(
                    update(subscriptions).where(subscriptions.c.id == subscription_id).values(bounces=0)
                )

    def mark_empty(self, run_id: int, subscription_ids: list[int]) -> None:
        if not subscription_ids:
            return
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id.in_(subscription_ids))
                .values(state="empty", claimed_by=None)
            )

    def mark_retry(
        self, run_id: int, subscription_id: int, code: int | None, error: str, at: datetime
    ) -> None:
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id == subscription_id)
                .values(
                    state="retry",
                    attempts=deliveries.c.attempts + 1,
                    next_attempt_at=at,
                    code=code,
                    error=error[:500],
                    claimed_by=None,
                )
            )

    def mark_failed(
        self, run_id: int, subscription_id: int, code: int | None, error: str, *, bounce: bool
    ) -> bool:
        """Record a failure; a hard bounce counts towards suppression. True if the address is now
        suppressed."""
        with self._write() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.run_id == run_id, deliveries.c.subscription_id == subscription_id)
                .values(
                    state="failed",
                    attempts=deliveries.c.attempts + 1,
                    code=code,
                    error=error[:500],
                    claimed_by=None,
                )
            )
            if not bounce:
                return False
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(bounces=subscriptions.c.bounces + 1)
            )
            conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.id == subscription_id,
                    subscriptions.c.bounces >= self.bounce_limit,
                    subscriptions.c.status == "active",
                )
                .values(status="suppressed")
            )
            status = conn.execute(
                select(subscriptions.c.status).where(subscriptions.c.id == subscription_id)
            ).scalar()
            return status == "suppressed"

    def next_retry(self, run_id: int) -> datetime | None:
        with self.engine.connect() as conn:
            return as_utc(
                conn.execute(
                    select(func.min(deliveries.c.next_attempt_at)).where(
                        deliveries.c.run_id == run_id, deliveries.c.state == "retry"
                    )
                ).scalar()
            )

    def finish_if_done(self, run_id: int) -> str:
        with write_transaction(self.engine) as conn:
            waiting = conn.execute(
                select(func.count()).where(deliveries.c.run_id == run_id, deliveries.c.state.in_(WAITING))
            ).scalar_one()
            if waiting:
                return "running"
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status != "finished")
                .values(status="finished", finished_at=_now())
            )
            return "finished"

    def report(self, run_id: int, report: RunReport) -> RunReport:
        with self.engine.connect() as conn:
            run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
            states = dict(
                conn.execute(
                    select(deliveries.c.state, func.count())
                    .where(deliveries.c.run_id == run_id)
                    .group_by(deliveries.c.state)
                ).all()
            )
            suppressed_now = conn.execute(
                select(func.count())
                .select_from(
                    deliveries.join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
                )
                .where(deliveries.c.run_id == run_id, subscriptions.c.status == "suppressed")
            ).scalar_one()
        report.run_id = run_id
        report.status = run.status
        report.subscribers = run.subscribers
        report.sent = states.get("sent", 0)
        report.failed = states.get("failed", 0)
        report.empty = states.get("empty", 0)
        report.cancelled = states.get("cancelled", 0)
        report.retrying = states.get("retry", 0)
        report.suppressed = run.suppressed + suppressed_now
        return report

    def recent(self, limit: int = 20) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
            out = []
            for row in rows:
                states = dict(
                    conn.execute(
                        select(deliveries.c.state, func.count())
                        .where(deliveries.c.run_id == row.id)
                        .group_by(deliveries.c.state)
                    ).all()
                )
                out.append({**row._mapping, "states": states})
        return out


class Pace:
    """A steady ceiling on sends per second, shared by all connections: no burst at the start."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(slots=True)
class Outgoing:
    subscription_id: int
    email: str
    data: bytes
    paper_ids: list[int]
    attempts: int
    bounces: int = 0


@dataclass(slots=True)
class Composer:
    """Everything a run needs to turn a claimed row into message bytes."""

    settings: object
    period: compose.Period
    pool: compose.Pool
    matcher: compose.SearchMatcher
    renderer: compose.Renderer
    maker: compose.MessageMaker | None
    tokens: tokens.Tokens
    base_url: str
    _links: dict = field(default_factory=dict)

    def links(self, key: str) -> compose.Links:
        return compose.Links(
            preferences=f"{self.base_url}/subscriptions/preferences/"
            + self.tokens.make(tokens.PREFERENCES, key),
            unsubscribe=f"{self.base_url}/unsubscribe/{self.tokens.make(tokens.UNSUBSCRIBE, key)}",
        )

    def body(self, preferences: Preferences, already: set[int], key: str):
        picks = compose.choose(preferences, already, self.pool, self.matcher)
        if not picks:
            return picks, None, None
        picks, rendered = compose.render_within(self.renderer, picks)
        links = self.links(key)
        return picks, compose.personalize(rendered, links), links

    def message(self, claimed: Claimed, already: set[int]) -> Outgoing | None:
        picks, body, links = self.body(claimed.preferences, already, claimed.key)
        if body is None:
            return None
        assert self.maker is not None
        data = self.maker.build(
            recipient=claimed.email,
            subscription_id=claimed.subscription_id,
            body=body,
            unsubscribe_url=links.unsubscribe,
            now=_now(),
        )
        return Outgoing(
            claimed.subscription_id,
            claimed.email,
            data,
            [p.paper_id for p in picks],
            claimed.attempts,
            claimed.bounces,
        )


def make_composer(
    settings, engine: Engine, period: compose.Period, run_id: int | None, *, semantic: set[str] | None = None
) -> Composer:
    """Everything a run of `period` needs; `semantic`: the saved semantic searches to prepare (default: those
    of every active subscriber of the period's frequency)."""
    pool = candidates.load_pool(engine, period)
    if semantic is None:
        semantic = candidates.semantic_queries(engine, period.frequency)
    vectors = candidates.ensure_query_vectors(settings, engine, semantic) if semantic else None
    matcher = candidates.search_matcher(settings, engine, pool, period, query_vectors=vectors)
    renderer = compose.Renderer(
        site_name=settings.site_name, base_url=settings.base_url, period=period, pool=pool
    )
    signer = None
    if settings.dkim_key_path:
        domain = settings.dkim_domain or settings.mail_from.rsplit("@", 1)[-1].strip(" >")
        signer = compose.dkim_signer(settings.dkim_key_path, settings.dkim_selector, domain)
    maker = None
    if run_id is not None:
        maker = compose.MessageMaker(
            mail_from=settings.mail_from,
            base_url=settings.base_url,
            site_name=settings.site_name,
            secret_key=settings.secret_key,
            run_id=run_id,
            subject=renderer.subject,
            signer=signer,
        )
    return Composer(
        settings, period, pool, matcher, renderer, maker, tokens.tokens_for(settings), settings.base_url
    )


Progress = Callable[[str, int], None]  # (what happened: "sent", "failed", ..., how many)


async def send_run(
    settings,
    engine: Engine,
    mailer: Mailer,
    period: compose.Period,
    *,
    on_start: Callable[[RunReport], None] | None = None,
    on_progress: Progress | None = None,
    batch_size: int = 100,
) -> RunReport:
    """Send (or resume) the run of `period`; returns its counts. Safe to run again at any time."""
    started = time.monotonic()
    store = RunStore(engine, bounce_limit=settings.digest_bounce_limit)
    _RUNNING.add(store.worker)
    try:
        return await _send_run(
            settings, engine, mailer, period, store, started, on_start, on_progress, batch_size
        )
    finally:
        _RUNNING.discard(store.worker)


async def _send_run(
    settings,
    engine: Engine,
    mailer: Mailer,
    period: compose.Period,
    store: RunStore,
    started: float,
    on_start: Callable[[RunReport], None] | None,
    on_progress: Progress | None,
    batch_size: int,
) -> RunReport:
    Subscriptions(engine, confirm_hours=settings.digest_confirm_hours).expire_pending()
    run_id, status, created = store.start(period)
    report = RunReport(run_id, period.frequency, period.key, resumed=not created)
    if status == "finished":
        report.already_finished = True
        report = store.report(run_id, report)
        report.elapsed = time.monotonic() - started
        return report
    store.release_dead(run_id)
    composer = make_composer(settings, engine, period, run_id)
    store.report(run_id, report)
    if on_start is not None:
        on_start(report)
    progress = on_progress or (lambda _what, _n: None)
    sender = composer.maker.sender if composer.maker else ""
    connections = settings.digest_smtp_connections
    queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(maxsize=connections * 4)
    pace = Pace(settings.digest_rate_per_second)
    busy = 0

    async def deliver(item: Outgoing) -> None:
        try:
            await mailer.send(sender, item.email, item.data)
        except TemporaryMailError as exc:
            attempts = item.attempts + 1
            report.retries += 1
            if attempts >= settings.digest_max_attempts:
                store.mark_failed(run_id, item.subscription_id, exc.code, str(exc), bounce=False)
                progress("failed", 1)
            else:
                delay = settings.digest_retry_seconds * 2 ** (attempts - 1)
                when = _now() + timedelta(seconds=delay)
                store.mark_retry(run_id, item.subscription_id, exc.code, str(exc), when)
                progress("retry", 1)
        except PermanentMailError as exc:
            suppressed = store.mark_failed(
                run_id, item.subscription_id, exc.code, str(exc), bounce=getattr(exc, "bounce", True)
            )
            progress("suppressed" if suppressed else "failed", 1)
        else:
            store.mark_sent(run_id, item.subscription_id, item.paper_ids, bounces=item.bounces)
            report.messages += 1
            if report.first_message_seconds is None:
                report.first_message_seconds = time.monotonic() - started
            progress("sent", 1)

    async def consume() -> None:
        nonlocal busy
        while True:
            item = await queue.get()
            if item is None:
                return
            busy += 1
            try:
                await pace.wait()
                await deliver(item)
            except Exception:  # a database or mailer fault: the row stays `sending`, the run unfinished
                log.exception("the digest to subscription %s was not settled", item.subscription_id)
                report.errors += 1
            finally:
                busy -= 1

    workers = [asyncio.create_task(consume()) for _ in range(connections)]
    try:
        while True:
            batch = store.claim(run_id, batch_size)
            if not batch:
                if busy or not queue.empty():
                    await asyncio.sleep(0.05)
                    continue
                due = store.next_retry(run_id)
                if due is None:
                    break
                await asyncio.sleep(min(max(0.0, (due - _now()).total_seconds()), 60.0) + 0.01)
                continue
            already = store.received([c.subscription_id for c in batch], set(composer.pool.papers))
            empty: list[int] = []
            for claimed in batch:
                try:
                    outgoing = composer.message(claimed, already[claimed.subscription_id])
                except compose.UnsendableAddress as exc:  # a stored address no header may carry
                    store.mark_failed(run_id, claimed.subscription_id, None, str(exc), bounce=False)
                    progress("failed", 1)
                    continue
                except Exception:  # one bad row or paper must not stop everyone's digest: left
                    # `sending`, so the run stays unfinished and the next invocation tries it again
                    report.errors += 1
                    log.error(
                        "could not compose the digest of subscription %s",
                        claimed.subscription_id,
                        exc_info=report.errors <= 3,
                    )
                    continue
                if outgoing is None:
                    empty.append(claimed.subscription_id)
                    continue
                await queue.put(outgoing)
            if empty:
                store.mark_empty(run_id, empty)
                progress("empty", len(empty))
    finally:
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers, return_exceptions=True)
        store.close()
        close = getattr(composer.matcher, "close", None)
        if callable(close):
            close()
    store.finish_if_done(run_id)
    report = store.report(run_id, report)
    report.elapsed = time.monotonic() - started
    return report


def dry_run(
    settings, engine: Engine, period: compose.Period, *, on_progress: Progress | None = None
) -> RunReport:
    """Compose every digest the run would send, without sending or recording anything."""
    started = time.monotonic()
    report = RunReport(None, period.frequency, period.key, dry_run=True, status="dry run")
    composer = make_composer(settings, engine, period, None)
    store = RunStore(engine)
    progress = on_progress or (lambda _what, _n: None)
    last = 0
    with engine.connect() as conn:
        report.subscribers = conn.execute(
            select(func.count()).where(
                subscriptions.c.status == "active", subscriptions.c.frequency == period.frequency
            )
        ).scalar_one()
        report.suppressed = conn.execute(
            select(func.count()).where(
                subscriptions.c.status == "suppressed", subscriptions.c.frequency == period.frequency
            )
        ).scalar_one()
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(subscriptions)
                .where(
                    subscriptions.c.status == "active",
                    subscriptions.c.frequency == period.frequency,
                    subscriptions.c.id > last,
                )
                .order_by(subscriptions.c.id)
                .limit(500)
            ).all()
        if not rows:
            break
        last = rows[-1].id
        already = store.received([r.id for r in rows], set(composer.pool.papers))
        for row in rows:
            prefs = Preferences(
                row.frequency, row.max_papers, list(row.categories or []), list(row.searches or [])
            )
            picks, body, _links = composer.body(prefs, already[row.id], row.key)
            if body is None:
                report.empty += 1
                progress("empty", 1)
            else:
                report.messages += 1
                progress("sent", 1)
    close = getattr(composer.matcher, "close", None)
    if callable(close):
        close()
    report.elapsed = time.monotonic() - started
    return report
