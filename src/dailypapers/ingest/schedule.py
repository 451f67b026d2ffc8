"""When the worker runs what. Pure: `next_run(job, after)` is all the clock logic, tested on its own.

arXiv announces at 20:00 US Eastern, Sunday to Thursday; the worker asks at 20:30 Eastern those days (its
search API has the new papers then; the listings are rebuilt around midnight and are read at the same time,
which catches the previous announcement's cross-lists and replacements). Hugging Face's list is read daily.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # what `ingest run --only` takes: "arxiv" or "hf"
    at: time  # wall-clock time in `zone`
    weekdays: frozenset[int]  # Monday = 0
    zone: ZoneInfo


ARXIV_JOB = Job("arxiv", time(20, 30), frozenset({6, 0, 1, 2, 3}), EASTERN)  # Sunday..Thursday
HF_JOB = Job("hf", time(23, 30), frozenset(range(7)), UTC)
JOBS = (ARXIV_JOB, HF_JOB)
# Digests (dailypapers.digests) go out after Hugging Face's list of the day is in: the daily one on weekdays,
# the weekly one on Fridays. `dailypapers worker` runs them when DAILYPAPERS_DIGEST_SCHEDULE is on.
DIGEST_DAILY_JOB = Job("digest-daily", time(23, 45), frozenset(range(5)), UTC)
DIGEST_WEEKLY_JOB = Job("digest-weekly", time(23, 50), frozenset({4}), UTC)
DIGEST_JOBS = (DIGEST_DAILY_JOB, DIGEST_WEEKLY_JOB)


def next_run(job: Job, after: datetime) -> datetime:
    """The first moment strictly after `after` (aware) at which `job` runs, as an aware UTC datetime.

    Computed on the local calendar of the job's zone, so 20:30 Eastern stays 20:30 across DST changes.
    """
    local = after.astimezone(job.zone)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in job.weekdays:
            continue
        candidate = datetime.combine(day, job.at, tzinfo=job.zone)
        # A wall time that does not exist (DST gap) or exists twice resolves by zoneinfo's fold rules.
        if candidate.astimezone(UTC) > after.astimezone(UTC):
            return candidate.astimezone(UTC)
    raise ValueError(f"job {job.name} has no weekday")


def next_job(jobs: tuple[Job, ...], after: datetime) -> tuple[Job, datetime]:
    return min(((job, next_run(job, after)) for job in jobs), key=lambda pair: pair[1])
