"""The plain records that flow from importers into the store (no framework, no driver)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(slots=True)
class Submitter:
    username: str
    fullname: str | None = None
    avatar_url: str | None = None
    type: str = "user"


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source knows it. `None` means "this source does not say", never "erase"."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    version: int | None = None
    categories: list[str] | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    comment: str | None = None
    doi: str | None = None
    journal_ref: str | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] | None = None
    withdrawn: bool | None = None
    source: str | None = None
    # Daily Papers: the day it was on the feed, when and by whom it was submitted, its upvotes there.
    daily_date: date | None = None
    submitted_at: datetime | None = None
    submitter: Submitter | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    extra: dict = field(default_factory=dict)
    # Every version the source knows, with its submission date where given (arXivRaw lists them all).
    versions: dict[int, datetime | None] | None = None
