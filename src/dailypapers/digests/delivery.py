"""Crash-safe delivery: one row per (run, subscriber), claimed in a transaction, settled after each send.

A run is (frequency, period). Starting it inserts a `pending` delivery for every active subscriber of that
frequency, in the same transaction as the run row (`dailypapers.store.digest_runs`), so a run either exists
with all its rows or not at all. Senders claim batches of rows, moving them to `sending` under their name;
after each SMTP answer the row moves to `sent`, `retry` (a 4xx, with back-off), `failed` (a 5xx, or too many
4xx) or, before sending, `empty` / `cancelled`. A sender killed at any point leaves `sending` rows behind; the
next sender finds their owner dead (`_alive`) and sends them: at most the messages in flight when it died go
out twice, with the same Message-ID. A finished run sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dailypapers.digests import candidates, compose, tokens
from dailypapers.mail import Mailer, PermanentMailError, TemporaryMailError
from dailypapers.mail.builder import UnsendableAddress
from dailypapers.processes import pid_running
from dailypapers.store.digest_runs import Claimed, DigestRunStore, SqlDigestRunStore
from dailypapers.store.subscriptions import Preferences, SqlSubscriptionStore, SubscriptionStore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)  # a claim by a process on another host is taken over after this long
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


def _is_dead(worker: str | None, claimed_at: datetime | None) -> bool:
    """Whether a claimant's `sending` rows may be given back: it died (this host) or its lease ran out."""
    now = _now()
    return not _alive(worker) or (claimed_at or now) < now - LEASE


def run_store(engine, *, bounce_limit: int = 3) -> DigestRunStore:
    """The runs' store for a sender of this process: its claims carry a fresh host:pid:nonce name."""
    return SqlDigestRunStore(engine, worker=_worker_name(), bounce_limit=bounce_limit)


def _fill(report: RunReport, store: DigestRunStore, run_id: int) -> RunReport:
    counts = store.counts(run_id)
    report.run_id = run_id
    report.status = counts.status
    report.subscribers = counts.subscribers
    report.sent = counts.states.get("sent", 0)
    report.failed = counts.states.get("failed", 0)
    report.empty = counts.states.get("empty", 0)
    report.cancelled = counts.states.get("cancelled", 0)
    report.retrying = counts.states.get("retry", 0)
    report.suppressed = counts.suppressed
    return report


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
    settings, engine, period: compose.Period, run_id: int | None, *, semantic: set[str] | None = None
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
    engine,
    mailer: Mailer,
    period: compose.Period,
    *,
    on_start: Callable[[RunReport], None] | None = None,
    on_progress: Progress | None = None,
    batch_size: int = 100,
) -> RunReport:
    """Send (or resume) the run of `period`; returns its counts. Safe to run again at any time."""
    started = time.monotonic()
    store = run_store(engine, bounce_limit=settings.digest_bounce_limit)
    subscriptions = SqlSubscriptionStore(engine, confirm_hours=settings.digest_confirm_hours)
    _RUNNING.add(store.worker)
    try:
        return await _send_run(
            settings,
            engine,
            mailer,
            period,
            store,
            subscriptions,
            started,
            on_start,
            on_progress,
            batch_size,
        )
    finally:
        _RUNNING.discard(store.worker)


async def _send_run(
    settings,
    engine,
    mailer: Mailer,
    period: compose.Period,
    store: DigestRunStore,
    subscriptions: SubscriptionStore,
    started: float,
    on_start: Callable[[RunReport], None] | None,
    on_progress: Progress | None,
    batch_size: int,
) -> RunReport:
    subscriptions.expire_pending()
    run_id, status, created = store.start(period)
    report = RunReport(run_id, period.frequency, period.key, resumed=not created)
    if status == "finished":
        report.already_finished = True
        report = _fill(report, store, run_id)
        report.elapsed = time.monotonic() - started
        return report
    store.release(run_id, _is_dead)
    composer = make_composer(settings, engine, period, run_id)
    _fill(report, store, run_id)
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
                except UnsendableAddress as exc:  # a stored address no header may carry
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
    report = _fill(report, store, run_id)
    report.elapsed = time.monotonic() - started
    return report


def dry_run(
    settings,
    engine,
    period: compose.Period,
    *,
    on_start: Callable[[RunReport], None] | None = None,
    on_progress: Progress | None = None,
) -> RunReport:
    """Compose every digest the run would send, without sending or recording anything."""
    started = time.monotonic()
    report = RunReport(None, period.frequency, period.key, dry_run=True, status="dry run")
    composer = make_composer(settings, engine, period, None)
    store = run_store(engine)
    subscriptions = SqlSubscriptionStore(engine)
    progress = on_progress or (lambda _what, _n: None)
    counts = subscriptions.counts(period.frequency)
    report.subscribers, report.suppressed = counts.active, counts.suppressed
    if on_start is not None:
        on_start(report)
    for batch in subscriptions.active(period.frequency):
        already = store.received([s.id for s in batch], set(composer.pool.papers))
        for subscription in batch:
            _picks, body, _links = composer.body(
                subscription.preferences, already[subscription.id], subscription.key
            )
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
