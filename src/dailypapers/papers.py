"""Read-side views of papers, shared by pages, the JSON API, feeds and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(slots=True)
class UserView:
    id: int
    username: str
    fullname: str | None
    avatar_url: str | None
    type: str = "user"


@dataclass(slots=True)
class AuthorClaim:
    """An account a moderator confirmed as the author at some position of a paper's author list."""

    user: UserView
    at: datetime | None  # when it was approved


@dataclass(slots=True)
class PaperView:
    id: int
    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published_at: datetime | None
    updated_at: datetime | None
    comment: str | None
    doi: str | None
    journal_ref: str | None
    github_repo: str | None
    github_stars: int | None
    project_page: str | None
    organization: str | None
    ai_summary: str | None
    ai_keywords: list[str] | None
    withdrawn_at: datetime | None
    upvotes: int
    num_comments: int  # our own comments, visible to all
    trend_key: float | None
    author_participating: bool = False
    hf_comments: int = 0  # comments on Hugging Face's page of the paper, as imported
    # The feed entry this view was listed under (or the paper's first one), if it was on the feed.
    day: date | None = None
    submitted_at: datetime | None = None
    submitter: UserView | None = None
    rank: int | None = None  # 1-based position within its day, when listed by day
    claims: dict[int, AuthorClaim] = field(default_factory=dict)  # author position -> approved claim

    # Extracted at index time (dailypapers.keyphrases): none until the paper is indexed.
    key_phrases: list[str] | None = None
    key_sentence: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def keywords(self) -> list[str]:
        """The paper's key words: Hugging Face's when imported, else our extracted phrases."""
        return list(self.ai_keywords or self.key_phrases or [])

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"
