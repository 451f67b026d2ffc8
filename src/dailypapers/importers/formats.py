"""Parsers from one decoded JSON object to a PaperRecord. Pure: no I/O, no database.

Each raises BadRecord with a reason a person can act on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from dailypapers import arxiv_ids
from dailypapers.records import PaperRecord, Submitter

MAX_TEXT = 100_000
MAX_AUTHORS = 5_000
MAX_INT = 2**31 - 1  # the columns are 32-bit integers on PostgreSQL

# Control characters other than whitespace (which is collapsed): PostgreSQL refuses NUL in text at all.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


class BadRecord(ValueError):
    pass


def detect(obj: Any) -> str:
    """Which format an object is in: 'jsonl' (our corpus), 'kaggle' or 'hf'."""
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {type(obj).__name__}")
    if "arxiv_id" in obj:
        return "jsonl"
    if "paper" in obj and isinstance(obj["paper"], dict):
        return "hf"
    if "id" in obj and ("versions" in obj or "authors_parsed" in obj or "update_date" in obj):
        return "kaggle"
    raise BadRecord("unknown format: no arxiv_id, paper or id/versions key")


def parse(obj: Any) -> PaperRecord:
    kind = detect(obj)
    return {"jsonl": parse_jsonl, "hf": parse_hf, "kaggle": parse_kaggle}[kind](obj)


# -- helpers ------------------------------------------------------------------------------------------


def clean(value: str) -> str:
    """Collapse whitespace and drop control characters."""
    # Most text is already clean; this test is ~3x cheaper than the rewrite and gives the same result, because
    # every control and every whitespace character but the ASCII space is non-printable.
    if value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " ":
        return value
    return " ".join(_CONTROL.sub("", value).split())


def _text(obj: dict, key: str, *, required: bool = False, limit: int | None = None) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRecord(f"{key} must be a string")
    if value is not None and len(value) > MAX_TEXT:
        raise BadRecord(f"{key} is longer than {MAX_TEXT} characters")
    value = clean(value) if value is not None else None
    if not value:
        if required:
            raise BadRecord(f"missing {key}")
        return None
    return value[:limit] if limit else value


def _optional(value: Any, limit: int) -> str | None:
    """A cleaned string cut to `limit` characters, or None for an empty one or one of another type."""
    if not isinstance(value, str):
        return None
    return clean(value)[:limit] or None


def _int(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_INT:
        raise BadRecord(f"{key} must be a number from 0 to {MAX_INT}")
    return int(value)


def _timestamp(value: Any, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{key} must be a timestamp string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            moment = None
    if moment is None:
        raise BadRecord(f"{key} is not a timestamp: {value[:40]!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before the first representable moment
        raise BadRecord(f"{key} is out of range: {value[:40]!r}") from None


def _date(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{key} must be a date string")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise BadRecord(f"{key} is not a date: {value[:40]!r}") from None


def _authors(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise BadRecord("authors must be a non-empty list")
    if len(value) > MAX_AUTHORS:
        raise BadRecord(f"more than {MAX_AUTHORS} authors")
    names = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            raise BadRecord("an author is not a name")
        name = clean(name)
        if name:
            names.append(name[:500])
    if not names:
        raise BadRecord("authors are all empty")
    return names


def _id(value: Any) -> tuple[str, int | None]:
    if not isinstance(value, str):
        raise BadRecord("the arXiv id must be a string")
    try:
        return arxiv_ids.parse(value)
    except arxiv_ids.InvalidArxivId as exc:
        raise BadRecord(str(exc)) from None


def _categories(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise BadRecord("categories must be a list of strings")
    return [c[:64] for c in map(clean, value) if c] or None


def _url(value: Any, key: str) -> str | None:
    """A link, or None: a malformed link loses the link, not the paper."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not re.fullmatch(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", value) or len(value) > 500:
        return None
    return value


# -- formats ------------------------------------------------------------------------------------------


def parse_jsonl(obj: dict) -> PaperRecord:
    """A row of shared/data/papers.jsonl.gz (see its README for the fields)."""
    arxiv_id, version = _id(obj.get("arxiv_id"))
    daily_date = _date(obj.get("daily_date"), "daily_date")
    submitted_at = _timestamp(obj.get("submitted_on_daily_at"), "submitted_on_daily_at")
    if daily_date is None and submitted_at is not None:
        daily_date = submitted_at.date()
    submitter = obj.get("submitted_by")
    if submitter is not None and not isinstance(submitter, str):
        raise BadRecord("submitted_by must be a username")
    submitter = clean(submitter) if submitter else None
    upvotes = _int(obj, "upvotes")  # without a feed day they stay on the paper, on no day
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=_text(obj, "title", required=True),
        abstract=_text(obj, "abstract", required=True),
        authors=_authors(obj.get("authors")),
        categories=_categories(obj.get("categories")),
        published_at=_timestamp(obj.get("published_at"), "published_at"),
        comment=_text(obj, "arxiv_comment"),
        github_repo=_url(obj.get("github_repo"), "github_repo"),
        github_stars=_int(obj, "github_stars"),
        project_page=_url(obj.get("project_page"), "project_page"),
        organization=_text(obj, "organization", limit=255),
        source=_text(obj, "source", limit=500),
        daily_date=daily_date,
        submitted_at=submitted_at,
        submitter=Submitter(username=submitter[:64]) if submitter else None,
        upvotes=upvotes,
        num_comments=_int(obj, "num_comments"),
    )


def _kaggle_author(parts: Any) -> str:
    if not isinstance(parts, list) or not parts:
        raise BadRecord("authors_parsed entries must be lists")
    last, first, suffix = (list(parts) + ["", "", ""])[:3]
    return " ".join(p for p in (first, last, suffix) if isinstance(p, str) and p.strip())


def _kaggle_version(value: Any) -> int | None:
    """`"v3"` -> 3 (None for anything else)."""
    if isinstance(value, str):
        match = re.fullmatch(r"v([0-9]{1,4})", value.strip())
        if match:
            return int(match.group(1))
    return None


def parse_kaggle(obj: dict) -> PaperRecord:
    """A line of the Kaggle `arxiv-metadata-oai-snapshot.json`."""
    arxiv_id, version = _id(obj.get("id"))
    versions = obj.get("versions") or []
    if not isinstance(versions, list):
        raise BadRecord("versions must be a list")
    versions = [v for v in versions if isinstance(v, dict)]
    moments = [_timestamp(v.get("created"), "versions.created") for v in versions]
    created = [t for t in moments if t]
    numbers = [_kaggle_version(v.get("version")) for v in versions]
    latest = max((n for n in numbers if n), default=None) or len(versions) or None
    known = {n: t for n, t in zip(numbers, moments, strict=True) if n}
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = _authors([_kaggle_author(p) for p in parsed])
    else:
        raw = _text(obj, "authors", required=True)
        authors = _authors([a for a in re.split(r",\s*|\s+and\s+", raw) if a.strip()])
    comment = _text(obj, "comments")
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version or latest,
        title=_text(obj, "title", required=True),
        abstract=_text(obj, "abstract", required=True),
        authors=authors,
        categories=_categories(obj.get("categories")),
        published_at=min(created) if created else None,
        updated_at=max(created) if created else None,
        comment=comment,
        doi=_text(obj, "doi", limit=255),
        journal_ref=_text(obj, "journal-ref"),
        withdrawn=bool(comment and re.search(r"\bwithdrawn\b", comment, re.I)) or None,
        source="kaggle",
        versions=known or None,
    )


def _hf_user(value: Any) -> Submitter | None:
    if not isinstance(value, dict):
        return None
    username = value.get("user") or value.get("name")
    username = clean(username) if isinstance(username, str) else None
    if not username:
        return None
    fullname = value.get("fullname")
    avatar = value.get("avatarUrl")
    return Submitter(
        username=username[:64],
        fullname=_optional(fullname, 255),
        avatar_url=_optional(avatar, 500),
        type=value.get("type") if value.get("type") in ("user", "org") else "user",
    )


def parse_hf(obj: dict) -> PaperRecord:
    """An item of Hugging Face's `GET /api/daily_papers` (or of its search, which shares the shape)."""
    paper = obj["paper"]
    arxiv_id, version = _id(paper.get("id"))
    submitted_at = _timestamp(
        paper.get("submittedOnDailyAt") or obj.get("submittedOnDailyAt"), "submittedOnDailyAt"
    )
    submitter = _hf_user(paper.get("submittedOnDailyBy") or obj.get("submittedBy"))
    org = paper.get("organization") or obj.get("organization")
    organization = None
    if isinstance(org, dict):
        organization = org.get("fullname") or org.get("name")
    elif isinstance(org, str):
        organization = org
    organization = _optional(organization, 255)
    keywords = paper.get("ai_keywords")
    if keywords is not None and not (
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords)
    ):
        raise BadRecord("ai_keywords must be a list of strings")
    if keywords is not None:
        keywords = [k for k in map(clean, keywords) if k] or None
    num_comments = _int(obj, "numComments")
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=_text(paper, "title", required=True),
        abstract=_text(paper, "summary", required=True),
        authors=_authors(paper.get("authors")),
        published_at=_timestamp(paper.get("publishedAt"), "publishedAt"),
        github_repo=_url(paper.get("githubRepo"), "githubRepo"),
        github_stars=_int(paper, "githubStars"),
        project_page=_url(paper.get("projectPage"), "projectPage"),
        organization=organization,
        ai_summary=_text(paper, "ai_summary"),
        ai_keywords=keywords,
        withdrawn=True if paper.get("withdrawnAt") else None,
        source="huggingface",
        daily_date=submitted_at.date() if submitted_at else None,
        submitted_at=submitted_at,
        submitter=submitter,
        upvotes=_int(paper, "upvotes"),
        num_comments=num_comments,
    )
