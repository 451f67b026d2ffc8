"""Background jobs: the queue's claims and leases on both databases, and the runner's outcomes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from dailypapers.services.jobs import BackgroundJobs, JobFailed, JobRunner
from dailypapers.store.engine import make_engine
from dailypapers.store.jobs import SqlJobStore


@pytest.fixture
def jobs(settings):
    engine = make_engine(settings)
    yield SqlJobStore(engine)
    engine.dispose()


def test_a_job_is_claimed_once_and_settled_by_its_runner(jobs):
    job_id = jobs.enqueue("echo", {"n": 1})
    claimed = jobs.claim("a", kinds=frozenset({"echo"}), lease=timedelta(minutes=5))
    assert claimed.id == job_id and claimed.payload == {"n": 1} and claimed.attempts == 1
    assert jobs.claim("b", kinds=frozenset({"echo"}), lease=timedelta(minutes=5)) is None  # leased to a
    assert jobs.claim("a", kinds=frozenset({"other"}), lease=timedelta(minutes=5)) is None
    jobs.finish(job_id, "a", {"ok": True})
    done = jobs.get(job_id)
    assert done.status == "done" and done.result == {"ok": True} and done.finished_at is not None
    assert jobs.claim("b", kinds=frozenset({"echo"}), lease=timedelta(minutes=5)) is None
    assert jobs.pending() == 0


def test_a_dead_runners_job_is_taken_over_when_its_lease_ends(jobs):
    job_id = jobs.enqueue("echo", {})
    assert jobs.claim("dead", kinds=frozenset({"echo"}), lease=timedelta(seconds=-1)).id == job_id
    taken = jobs.claim("alive", kinds=frozenset({"echo"}), lease=timedelta(minutes=5))
    assert taken.id == job_id and taken.attempts == 2
    jobs.finish(job_id, "dead", {"from": "dead"})  # too late: the job is no longer its
    assert jobs.get(job_id).status == "running"
    jobs.finish(job_id, "alive", {"from": "alive"})
    assert jobs.get(job_id).result == {"from": "alive"}


def test_the_runner_records_failures_with_their_message(jobs):
    def refuse(_payload):
        raise JobFailed("arXiv has no such paper")

    def crash(_payload):
        raise RuntimeError("a bug's details stay in the log")

    runner = JobRunner(jobs, {"refuse": refuse, "crash": crash, "ok": lambda p: {"twice": p["n"] * 2}})
    ids = [jobs.enqueue("refuse", {}), jobs.enqueue("crash", {}), jobs.enqueue("ok", {"n": 21})]
    assert runner.run_pending() == 3
    refused, crashed, ok = (jobs.get(i) for i in ids)
    assert refused.status == "failed" and refused.error == "arXiv has no such paper"
    assert crashed.status == "failed" and "details" not in crashed.error
    assert ok.status == "done" and ok.result == {"twice": 42}


def test_a_background_thread_runs_what_is_enqueued(jobs):
    background = BackgroundJobs(JobRunner(jobs, {"ok": lambda p: p}), poll_seconds=30)
    background.start()
    try:
        job_id = jobs.enqueue("ok", {"x": 1})
        background.nudge()  # without it the thread would only look again after 30 s
        deadline = time.monotonic() + 10
        while jobs.get(job_id).status != "done" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert jobs.get(job_id).status == "done"
    finally:
        background.stop()


def test_the_worker_runs_background_jobs_while_it_waits_for_its_schedule(settings, monkeypatch):
    import threading
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from dailypapers.ingest.schedule import Job
    from dailypapers.services import worker as worker_module
    from dailypapers.services.worker import Worker
    from dailypapers.store.papers import SqlStore

    # One job, twelve hours from now: the real schedule's are due within the grace period at some times of
    # day (Hugging Face's from 23:30 to 23:40 UTC), and the worker would run it at once instead of waiting.
    later = (datetime.now(UTC) + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    monkeypatch.setattr(worker_module, "JOBS", (Job("hf", later, frozenset(range(7)), ZoneInfo("UTC")),))

    store = SqlStore(make_engine(settings))
    jobs = SqlJobStore(store.engine)
    stop = threading.Event()
    said: list[str] = []
    worker = Worker(
        settings.model_copy(update={"digest_schedule": False}),
        store,
        None,
        None,
        stop=stop,
        jobs=JobRunner(jobs, {"ok": lambda p: {"seen": p["n"]}}),
        say=said.append,
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        job_id = jobs.enqueue("ok", {"n": 3})
        deadline = time.monotonic() + 20
        while jobs.get(job_id).status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jobs.get(job_id).result == {"seen": 3}
        assert said and said[0].startswith("Next: ")  # waiting for its next scheduled job meanwhile
    finally:
        stop.set()
        thread.join(10)
        store.engine.dispose()
    assert not thread.is_alive()
