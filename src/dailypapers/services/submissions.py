"""Submitting a paper to today's list, as the web, the API and scripts do it.

A paper we already hold is put on the feed at once. A paper we do not hold must first be fetched from arXiv,
which takes seconds when arXiv answers (its pacing is one request per 3 s, shared with ingestion) and longer
when it does not: that is a job (`fetch_and_submit`), never work done while a reader waits. The submitter is
told "fetching from arXiv" and can watch the job; the job fetches the paper, stores it and submits it under
the same rules, on behalf of the same account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dailypapers.community.submission import SubmissionRefused, SubmissionRules, clean_comment, parse_target
from dailypapers.ingest.arxiv_api import ArxivApiSource
from dailypapers.ingest.harvest import make_client
from dailypapers.ingest.pages import HarvestError
from dailypapers.ingest.polite import FetchError, Stopped
from dailypapers.papers import PaperView
from dailypapers.services.jobs import JobFailed
from dailypapers.settings import Settings
from dailypapers.store.community import Actor, CommunityStore, NotFound
from dailypapers.store.jobs import Job, JobStore
from dailypapers.store.papers import SqlStore

FETCH_AND_SUBMIT = "fetch_and_submit"
# A submission waits on arXiv in the background, but its submitter is watching: a couple of tries, not the
# harvest's patient back-off (and no network at all fails at the first try's connection error).
FETCH_RETRIES = 1
FETCH_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Submitted:
    """On today's feed now."""

    paper: PaperView


@dataclass(frozen=True, slots=True)
class Fetching:
    """Not here yet: a job fetches it from arXiv and then submits it."""

    job_id: int
    arxiv_id: str


@dataclass(frozen=True, slots=True)
class FetchStatus:
    """What the submitter sees of a fetch job."""

    job_id: int
    arxiv_id: str
    status: str  # queued, running, done, failed
    error: str | None
    paper: PaperView | None  # once done


def rules_from(settings: Settings) -> SubmissionRules:
    return SubmissionRules(
        max_age_days=settings.submission_max_age_days, daily_limit=settings.submission_daily_limit
    )


class Submissions:
    """The submission use case over the paper, community and job stores."""

    def __init__(
        self, settings: Settings, papers: SqlStore, community: CommunityStore, jobs: JobStore
    ) -> None:
        self.settings = settings
        self.papers = papers
        self.community = community
        self.jobs = jobs

    def submit(self, actor: Actor, target: str | None, comment: str | None) -> Submitted | Fetching:
        """Put the paper on today's feed, or start fetching it. SubmissionRefused or NotFound say why not."""
        rules = rules_from(self.settings)
        arxiv_id = parse_target(target)
        note = clean_comment(comment, rules)
        paper_id = self.community.paper_id(arxiv_id)
        if paper_id is None:
            payload = {"arxiv_id": arxiv_id, "user_id": actor.id, "username": actor.username, "comment": note}
            return Fetching(self.jobs.enqueue(FETCH_AND_SUBMIT, payload, user_id=actor.id), arxiv_id)
        self.community.submit(actor, paper_id, rules, comment=note)
        return Submitted(self._view(arxiv_id))

    def _view(self, arxiv_id: str) -> PaperView:
        view = self.papers.get(arxiv_id)
        if view is None:  # deleted between the two statements
            raise NotFound("Paper not found")
        return view

    def fetch_status(self, job_id: int, user_id: int) -> FetchStatus | None:
        """The submitter's own fetch job; None for a job that is not theirs (or not a fetch)."""
        job = self.jobs.get(job_id)
        if job is None or job.kind != FETCH_AND_SUBMIT or job.user_id != user_id:
            return None
        return self._status(job)

    def _status(self, job: Job) -> FetchStatus:
        arxiv_id = job.payload["arxiv_id"]
        paper = self.papers.get(arxiv_id) if job.status == "done" else None
        return FetchStatus(job.id, arxiv_id, job.status, job.error, paper)

    # -- the job --------------------------------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        """The jobs this use case asks for, by kind, for a JobRunner (web processes and the worker alike)."""
        return {FETCH_AND_SUBMIT: self.fetch_and_submit}

    def fetch_and_submit(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The job: fetch the paper from arXiv unless someone else's job stored it meanwhile, then submit."""
        arxiv_id = payload["arxiv_id"]
        if self.community.paper_id(arxiv_id) is None:
            self.papers.upsert(self._fetch(arxiv_id))
        paper_id = self.community.paper_id(arxiv_id)
        if paper_id is None:  # pragma: no cover - upsert stores what it was given
            raise JobFailed("The paper could not be stored")
        actor = Actor(payload["user_id"], payload.get("username") or "")
        try:
            self.community.submit(actor, paper_id, rules_from(self.settings), comment=payload.get("comment"))
        except SubmissionRefused as exc:
            raise JobFailed(exc.message) from None
        except NotFound:
            raise JobFailed("The account that submitted this paper is gone") from None
        return {"arxiv_id": arxiv_id}

    def _fetch(self, arxiv_id: str):
        records = []
        try:
            with make_client(
                self.settings,
                max_retries=FETCH_RETRIES,
                timeout=FETCH_TIMEOUT_SECONDS,
                engine=self.papers.engine,
            ) as client:
                for page in ArxivApiSource(client, self.settings.arxiv_api_url, ids=[arxiv_id]).fetch(None):
                    records += page.records
        except (HarvestError, FetchError, Stopped):
            raise JobFailed(f"arXiv could not be asked about {arxiv_id} just now; try again later") from None
        records = [r for r in records if r.arxiv_id == arxiv_id]
        if not records:
            raise JobFailed(f"arXiv has no paper {arxiv_id}")
        return records
