"""Several workers, one schedule: the scheduler lease, claims of scheduled runs, and arXiv's pacing held by
the database across processes (dailypapers.store.leases, .pacing; dailypapers.services.worker)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from conftest import EMPTY, make_settings
from dailypapers.ingest.schedule import Job
from dailypapers.services.worker import SCHEDULER, Worker
from dailypapers.store.engine import make_engine
from dailypapers.store.leases import SqlLeases
from dailypapers.store.pacing import DatabasePacer
from dailypapers.store.papers import SqlStore


@pytest.fixture
def leases(settings):
    engine = make_engine(settings)
    yield SqlLeases(engine)
    engine.dispose()


def test_one_holder_at_a_time_until_its_lease_runs_out(leases):
    assert leases.acquire(SCHEDULER, "a", 0.5)
    assert not leases.acquire(SCHEDULER, "b", 0.5)
    assert leases.acquire(SCHEDULER, "a", 0.5)  # renewed
    assert leases.holder(SCHEDULER).holder == "a"
    time.sleep(0.7)
    assert leases.holder(SCHEDULER).expires_in < 0
    assert leases.acquire(SCHEDULER, "b", 30)  # a is gone: b takes over
    assert not leases.acquire(SCHEDULER, "a", 30)  # and a, back from the dead, does not take it back
    leases.release(SCHEDULER, "a")  # only the holder can give it up
    assert leases.holder(SCHEDULER).holder == "b"
    leases.release(SCHEDULER, "b")
    assert leases.holder(SCHEDULER) is None
    assert leases.acquire(SCHEDULER, "a", 30)


def test_a_scheduled_run_is_claimed_exactly_once_among_racing_workers(leases):
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def race(name: str) -> None:
        barrier.wait()
        if leases.claim_run("arxiv", "2026-12-07T01:30:00Z", name):
            wins.append(name)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert leases.run_claimed("arxiv", "2026-12-07T01:30:00Z")
    assert not leases.run_claimed("arxiv", "2026-12-08T01:30:00Z")


class _Recording(Worker):
    """A worker whose jobs only say who ran them (the schedule's logic is what is under test)."""

    def __init__(self, settings, jobs: tuple[Job, ...], ran: list, **kwargs) -> None:
        self.store_ = SqlStore(make_engine(settings))
        super().__init__(settings, self.store_, None, None, stop=threading.Event(), **kwargs)
        self.jobs_ = jobs
        self.ran = ran

    def schedule(self) -> tuple[Job, ...]:
        return self.jobs_

    def run_job(self, job: Job, when: datetime) -> bool:
        self.ran.append((self.holder, job.name, when))
        return True


def _daily(name: str, moment: datetime) -> Job:
    return Job(name, moment.time().replace(microsecond=0), frozenset(range(7)), UTC)


def test_the_follower_takes_the_schedule_over_when_the_leader_dies_and_runs_nothing_twice(settings):
    now = datetime.now(UTC)
    if now.time() > datetime.strptime("23:58", "%H:%M").time():
        pytest.skip("the two planned moments would straddle midnight")
    jobs = (_daily("past", now - timedelta(seconds=30)), _daily("soon", now + timedelta(seconds=4)))
    ran: list = []
    cfg = settings.model_copy(update={"digest_schedule": False})
    a = _Recording(cfg, jobs, ran, holder="a", lease_seconds=1.5)
    b = _Recording(cfg, jobs, ran, holder="b", lease_seconds=1.5)
    ta = threading.Thread(target=a.run)
    ta.start()
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r[:2] for r in ran] == [("a", "past")]  # a planned run missed by less than the grace runs
    tb = threading.Thread(target=b.run)
    tb.start()
    time.sleep(0.5)
    assert not b.leadership.leading
    # a dies without a word (as kill -9 would: no release), before "soon" is due
    a.leases.release = lambda *_args: None
    a.stop.set()
    ta.join(10)
    deadline = time.monotonic() + 15
    while len(ran) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    b.stop.set()
    tb.join(10)
    a.store_.engine.dispose()
    b.store_.engine.dispose()
    assert [r[:2] for r in ran] == [("a", "past"), ("b", "soon")]
    assert ran[1][2] == datetime.combine(now.date(), jobs[1].at, tzinfo=UTC)


# -- pacing across processes (PostgreSQL) ----------------------------------------------------------------


@pytest.fixture
def postgres_url(tmp_path, postgresql_templates):
    url = postgresql_templates.copy(EMPTY, tmp_path)
    yield url
    postgresql_templates.drop(url)


def test_database_pacing_spaces_requests_from_several_machines(postgres_url):
    """Three "machines" (engines of their own), four requests each: one at a time, 0.3 s apart, failed
    requests counted as made."""
    delay = 0.3
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def machine(index: int) -> None:
        engine = make_engine(make_settings(postgres_url))
        pacer = DatabasePacer(engine, "arxiv.org", delay)
        try:
            for attempt in range(4):
                try:
                    with pacer.slot():
                        start = time.monotonic()
                        time.sleep(0.02)
                        with lock:
                            spans.append((start, time.monotonic()))
                        if attempt == 1:
                            raise TimeoutError("the request failed")
                except TimeoutError:
                    pass
        finally:
            engine.dispose()

    threads = [threading.Thread(target=machine, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    spans.sort()
    assert len(spans) == 12
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
    assert min(gaps) >= delay * 0.95, gaps  # the server's clock decides; ours may differ by microseconds


def test_a_dead_holder_frees_the_pacing_row(postgres_url):
    engine = make_engine(make_settings(postgres_url))
    try:
        pacer = DatabasePacer(engine, "arxiv.org", 0.05, hold_limit_seconds=1)
        entered = threading.Event()

        def stuck() -> None:  # holds the row and never finishes its request
            try:
                with pacer.slot():
                    entered.set()
                    time.sleep(5)
            except Exception:
                pass  # its session was ended under it

        threading.Thread(target=stuck, daemon=True).start()
        assert entered.wait(10)
        started = time.monotonic()
        other = DatabasePacer(engine, "arxiv.org", 0.05)
        with other.slot():
            pass
        # freed by idle_in_transaction_session_timeout (1 s), long before the stuck one's 5 s
        assert time.monotonic() - started < 4
    finally:
        engine.dispose()


def test_the_database_pacer_refuses_sqlite(tmp_path):
    engine = make_engine(make_settings(f"sqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(ValueError, match="PostgreSQL"):
        DatabasePacer(engine, "arxiv.org", 3)
    engine.dispose()
