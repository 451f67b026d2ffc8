"""What may be submitted to the daily list, decided without a database: the caller brings the facts.

Hugging Face's rules are the defaults (settings `submission_*`): the paper was published on arXiv within the
last 14 days, it is not on the feed already, and one user submits at most a few papers a day.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dailypapers import arxiv_ids

MAX_SUBMISSION_COMMENT_CHARS = 2_000
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Hugging Face paper pages and our own paper pages are pasted as often as arXiv's.
_PAPER_PAGE = re.compile(
    r"^(?:https?://)?[^/?#\s]+/papers/(?P<id>[^?#\s]+?)(?:\.json|\.md)?/?(?:[?#].*)?$", re.I
)


class SubmissionRefused(Exception):
    """A rule refuses the submission. `status` is the HTTP status that says why; `code` names the rule."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class SubmissionRules:
    max_age_days: int = 14
    daily_limit: int = 5
    allow_comment: bool = True


def parse_target(value: str | None) -> str:
    """The arXiv id (without version) named by an id, an arXiv URL, or a paper page URL."""
    if not value or not value.strip():
        raise SubmissionRefused("missing_id", "give an arXiv id or URL")
    text = value.strip()
    if len(text) > 300:
        raise SubmissionRefused("invalid_id", "that is not an arXiv id or URL")
    try:
        return arxiv_ids.normalize(text)
    except arxiv_ids.InvalidArxivId:
        pass
    match = _PAPER_PAGE.match(text)
    if match and "arxiv.org" not in text.lower():
        try:
            return arxiv_ids.normalize(match.group("id"))
        except arxiv_ids.InvalidArxivId:
            pass
    raise SubmissionRefused("invalid_id", f"not an arXiv id or URL: {text[:80]!r}")


def clean_comment(value: str | None, rules: SubmissionRules) -> str | None:
    if value is None or not value.strip():
        return None
    if not rules.allow_comment:
        raise SubmissionRefused("comment_not_allowed", "submissions take no comment here")
    text = value.strip()
    if len(text) > MAX_SUBMISSION_COMMENT_CHARS:
        raise SubmissionRefused(
            "comment_too_long", f"the comment is longer than {MAX_SUBMISSION_COMMENT_CHARS} characters"
        )
    return text


def check(
    rules: SubmissionRules,
    *,
    published_at: datetime | None,
    now: datetime,
    on_feed_since: date | None,
    submitted_today: int,
) -> None:
    """Raise SubmissionRefused for the first rule broken."""
    if on_feed_since is not None:
        raise SubmissionRefused(
            "duplicate", f"this paper is already on Daily Papers (since {on_feed_since.isoformat()})", 409
        )
    if rules.max_age_days and published_at is not None:
        if published_at < now - timedelta(days=rules.max_age_days):
            raise SubmissionRefused(
                "too_old",
                f"only papers published within the last {rules.max_age_days} days can be submitted "
                f"(this one was published on {published_at.date().isoformat()})",
                422,
            )
    if submitted_today >= rules.daily_limit:
        raise SubmissionRefused(
            "daily_limit", f"you have submitted {rules.daily_limit} papers today, the most a day allows", 429
        )


def author_key(name: str) -> str:
    """A name folded for comparison: case, accents' absence, punctuation and spacing do not matter."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(_NOT_ALNUM.sub(" ", folded).split())


def author_keys(authors: list[str]) -> frozenset[str]:
    """The folded names of a paper's authors, to test many commenters against."""
    return frozenset(key for key in map(author_key, authors) if key)


def is_author(authors: list[str] | frozenset[str], *names: str | None) -> bool:
    """Whether any of a commenter's names (username, full name) is one of the paper's authors (a list of
    names, or their `author_keys`)."""
    keys = authors if isinstance(authors, frozenset) else author_keys(authors)
    return any(name and author_key(name) in keys for name in names)
